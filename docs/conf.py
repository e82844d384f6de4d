"""Sphinx configuration of the asyncz_like documentation."""

import sys
from typing import Any

from sphinx.errors import PycodeError
from sphinx.pycode import ModuleAnalyzer

project = "asyncz_like"
author = "asyncz_like contributors"
copyright = "asyncz_like contributors"

extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

html_theme = "furo"
html_title = "asyncz_like"

# The API reference (docs/reference/) is generated from the docstrings.
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_default_options = {"show-inheritance": True}
napoleon_numpy_docstring = False


def _data_comment(
    app: object, what: str, name: str, obj: object, options: object, lines: list[str]
) -> None:
    """A constant re-exported by a package keeps the ``#:`` comment of the module that
    defines it (autodoc reads only the package's own source, then falls back to the docstring
    of the value's type, such as int's)."""
    if what != "data":
        return
    package, _, attr = name.rpartition(".")
    lines[:] = []
    for modname, module in sorted(sys.modules.items()):
        if modname != package and not modname.startswith(package + "."):
            continue
        if getattr(module, attr, None) is not obj:
            continue
        try:
            comment = ModuleAnalyzer.for_module(modname).find_attr_docs().get(("", attr))
        except PycodeError:
            continue
        if comment:
            lines[:] = [*comment, ""]
            return


def setup(app: Any) -> None:
    app.connect("autodoc-process-docstring", _data_comment)

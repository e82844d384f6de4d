"""Sphinx configuration of the asyncz_like documentation."""

project = "asyncz_like"
author = "asyncz_like contributors"
copyright = "asyncz_like contributors"

extensions = ["myst_parser"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

html_theme = "furo"
html_title = "asyncz_like"

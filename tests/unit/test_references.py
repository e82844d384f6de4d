"""``ref_to_obj``: a ``module:qualname`` reference to its object, remembered for module-level
names while the module still holds that very object."""

from __future__ import annotations

import sys
import types

import pytest

from asyncz_like.utils import ref_to_obj


def _module(name: str, **attributes: object) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__dict__.update(attributes)
    return module


def first() -> str:
    return "first"


def second() -> str:
    return "second"


class Holder:
    @staticmethod
    def method() -> str:
        return "method"


def test_a_name_replaced_in_its_module_is_found_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "refs_probe", _module("refs_probe", job=first))
    assert ref_to_obj("refs_probe:job") is first
    assert ref_to_obj("refs_probe:job") is first  # remembered
    monkeypatch.setattr(sys.modules["refs_probe"], "job", second)  # a patch, a reload
    assert ref_to_obj("refs_probe:job") is second


def test_a_module_imported_anew_is_read_anew(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "refs_probe", _module("refs_probe", job=first))
    assert ref_to_obj("refs_probe:job") is first
    monkeypatch.setitem(sys.modules, "refs_probe", _module("refs_probe", job=second))
    assert ref_to_obj("refs_probe:job") is second


def test_a_name_gone_from_its_module_is_a_lookup_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "refs_probe", _module("refs_probe", job=first))
    assert ref_to_obj("refs_probe:job") is first
    monkeypatch.delattr(sys.modules["refs_probe"], "job")
    with pytest.raises(LookupError, match="error looking up object"):
        ref_to_obj("refs_probe:job")


def test_dotted_names_resolve_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    holder = _module("refs_probe", Holder=Holder)
    monkeypatch.setitem(sys.modules, "refs_probe", holder)
    assert ref_to_obj("refs_probe:Holder.method")() == "method"
    monkeypatch.setattr(Holder, "method", staticmethod(second))
    assert ref_to_obj("refs_probe:Holder.method") is second


def test_bad_references_get_clear_errors() -> None:
    with pytest.raises(TypeError, match="must be strings"):
        ref_to_obj(["not", "a", "string"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="expected 'module:qualname'"):
        ref_to_obj("no_colon")

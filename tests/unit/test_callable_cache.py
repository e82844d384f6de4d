"""The caches of facts about callables keep no callable, nor what it holds, alive."""

from __future__ import annotations

import gc
import inspect
import weakref
from typing import Any

import pytest

from asyncz_like.callable_cache import CallableCache, held_by_its_module
from asyncz_like.schedulers import BackgroundScheduler
from asyncz_like.utils import check_callable_args, is_coroutine_callable


class Resource:
    """Stands for what a user's callable may hold: a request, a connection."""

    def work(self, amount: int) -> int:
        return amount


def module_function(a: int, b: int = 0) -> int:
    return a + b


def _closure_over(resource: Resource) -> Any:
    def run() -> Resource:
        return resource

    return run


def _is_gone(ref: weakref.ref[Any]) -> bool:
    gc.collect()
    return ref() is None


def test_a_closure_checked_and_asked_about_is_let_go_with_what_it_holds() -> None:
    resource = Resource()
    gone = weakref.ref(resource)
    run = _closure_over(resource)
    check_callable_args(run, (), {})
    assert is_coroutine_callable(run) is False
    del run, resource
    assert _is_gone(gone)


def test_the_object_of_a_bound_method_is_let_go() -> None:
    resource = Resource()
    gone = weakref.ref(resource)
    check_callable_args(resource.work, (1,), {})
    del resource
    assert _is_gone(gone)


def test_a_task_of_a_bound_method_added_and_removed_leaves_its_object_free() -> None:
    scheduler = BackgroundScheduler()
    resource = Resource()
    gone = weakref.ref(resource)
    task = scheduler.add_task(resource.work, "interval", seconds=5, args=(1,))
    scheduler.remove_task(task.id)
    del task, resource
    assert _is_gone(gone)


def test_a_module_function_s_signature_is_inspected_once(monkeypatch: pytest.MonkeyPatch) -> None:
    def module_level_copy(a: int, b: int = 0) -> int:  # a fresh function: nothing cached yet
        return a + b

    module_level_copy.__qualname__ = "module_level_copy"
    globals()["module_level_copy"] = module_level_copy
    calls: list[object] = []
    real = inspect.signature
    monkeypatch.setattr(
        inspect, "signature", lambda fn, **options: calls.append(fn) or real(fn, **options)
    )
    try:
        for _ in range(3):
            check_callable_args(module_level_copy, (1,), {"b": 2})
            check_callable_args(module_level_copy, (1, 2), {})
    finally:
        del globals()["module_level_copy"]
    assert calls == [module_level_copy]


def test_bound_methods_of_one_class_share_their_function_s_entry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Local:  # a class of its own, so that nothing is cached for it yet
        def work(self, amount: int) -> int:
            return amount

    calls: list[object] = []
    real = inspect.signature
    monkeypatch.setattr(
        inspect, "signature", lambda fn, **options: calls.append(fn) or real(fn, **options)
    )
    for _ in range(3):
        check_callable_args(Local().work, (1,), {})
    assert calls == [Local.work]


def test_a_bound_method_called_with_the_wrong_arguments_is_refused() -> None:
    with pytest.raises(ValueError, match="positional arguments is longer"):
        check_callable_args(Resource().work, (1, 2), {})
    with pytest.raises(ValueError, match="have not been supplied: amount"):
        check_callable_args(Resource().work, (), {})


def test_module_functions_and_methods_are_held_by_their_module() -> None:
    assert held_by_its_module(module_function)
    assert held_by_its_module(Resource.work)  # type: ignore[arg-type]
    assert not held_by_its_module(_closure_over(Resource()))


def test_what_cannot_be_held_weakly_or_hashed_is_not_cached() -> None:
    class Unhashable:
        __hash__ = None  # type: ignore[assignment]

        def __call__(self) -> None: ...

    class NoWeakReference:
        __slots__ = ()

        def __call__(self) -> None: ...

    cache: CallableCache[int] = CallableCache()
    unhashable, no_weak_reference = Unhashable(), NoWeakReference()
    cache.put(unhashable, 1)
    cache.put(no_weak_reference, 2)
    assert (cache.get(unhashable), cache.get(no_weak_reference), len(cache)) == (None, None, 0)
    check_callable_args(unhashable, (), {})  # checked all the same
    with pytest.raises(ValueError, match="positional arguments is longer"):
        check_callable_args(no_weak_reference, (1,), {})


def test_entries_of_module_functions_are_lasting_and_others_go_with_their_callable() -> None:
    cache: CallableCache[str] = CallableCache()
    cache.put(module_function, "module")
    run = _closure_over(Resource())
    cache.put(run, "closure")
    assert cache.lasting == {module_function: "module"}
    assert (cache.get(module_function), cache.get(run), len(cache)) == ("module", "closure", 2)
    del run
    gc.collect()
    assert len(cache) == 1

"""Why a call does not fit a signature, in asyncz's words (``check_callable_args``)."""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["call_mismatch"]


def call_mismatch(
    signature: inspect.Signature, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]
) -> str | None:
    """What is wrong with calling ``signature`` so, in asyncz's words, every argument at
    fault named (None when nothing is found)."""
    Kind = inspect.Parameter
    positional, keywords = list(args), dict(kwargs)
    conflicting: list[str] = []
    keyword_given_positional_only: list[str] = []
    missing: list[str] = []
    missing_keyword: list[str] = []
    var_positional = var_keyword = False
    allowed = 0
    for name, parameter in signature.parameters.items():
        required = parameter.default is Kind.empty
        if parameter.kind is Kind.POSITIONAL_ONLY:
            allowed += 1
            if name in keywords:
                keywords.pop(name)
                keyword_given_positional_only.append(name)
            if positional:
                positional.pop(0)
            elif required and name not in keyword_given_positional_only:
                missing.append(name)
        elif parameter.kind is Kind.POSITIONAL_OR_KEYWORD:
            allowed += 1
            if name in keywords and positional:
                conflicting.append(name)
                positional.pop(0)
                keywords.pop(name)
            elif positional:
                positional.pop(0)
            elif name in keywords:
                keywords.pop(name)
            elif required:
                missing.append(name)
        elif parameter.kind is Kind.KEYWORD_ONLY:
            if name in keywords:
                keywords.pop(name)
            elif required:
                missing_keyword.append(name)
        elif parameter.kind is Kind.VAR_POSITIONAL:
            var_positional = True
        else:
            var_keyword = True
    if conflicting:
        names = ", ".join(conflicting)
        return f"The following arguments are supplied in both args and kwargs: {names}"
    if keyword_given_positional_only:
        names = ", ".join(keyword_given_positional_only)
        return f"The following arguments cannot be given as keyword arguments: {names}"
    if positional and not var_positional:
        return (
            "The list of positional arguments is longer than the target callable can handle "
            f"(allowed: {allowed}, given in args: {len(args)})"
        )
    if keywords and not var_keyword:
        names = ", ".join(keywords)
        return f"The target callable does not accept the following keyword arguments: {names}"
    if missing:
        return f"The following arguments have not been supplied: {', '.join(missing)}"
    if missing_keyword:
        names = ", ".join(missing_keyword)
        return f"The following keyword-only arguments have not been supplied in kwargs: {names}"
    return None

"""Runs one scenario for one library and prints its figures as JSON.

Usage (inside the library's virtualenv): ``python worker.py LIBRARY SCENARIO PARAMS_JSON
[--profile FILE]``. The last line of output is ``RESULT {...}``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import importlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import harness
from adapters import load_adapter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("library")
    parser.add_argument("scenario")
    parser.add_argument("params", type=json.loads)
    parser.add_argument("--profile", type=Path, help="write a cProfile dump of the measured part")
    args = parser.parse_args(argv)
    if args.profile is not None:
        harness.PROFILER = cProfile.Profile()
        harness.PASS_PROFILER = cProfile.Profile()
    result = run(args.library, args.scenario, args.params)
    if harness.PROFILER is not None:
        harness.PROFILER.dump_stats(args.profile)
    if harness.PASS_PROFILER is not None and harness.PASS_PROFILER.getstats():
        harness.PASS_PROFILER.dump_stats(f"{args.profile}.passes")
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def run(library: str, scenario: str, params: dict[str, Any]) -> dict[str, Any]:
    module = importlib.import_module(f"scenarios.{scenario}")
    adapter = load_adapter(library)
    gc.collect()
    try:
        if inspect.iscoroutinefunction(module.run):
            result: dict[str, Any] = asyncio.run(module.run(adapter, params))
        else:
            result = module.run(adapter, params)
    finally:  # a failed run leaves nothing behind either (dropping twice is harmless)
        adapter.drop_store()
    return result


if __name__ == "__main__":
    sys.exit(main())

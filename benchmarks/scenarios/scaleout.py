"""Scenario 7: several scheduler processes sharing one persistent store.

This process adds N date tasks (due now) to the store through a paused scheduler and shuts it
down; then it starts ``processes`` schedulers (``scaleout_node.py``, each in a process of its
own), waits until every one is ready, and tells them all to resume at the same instant G.
Fires/s in total is the distinct runs made over the time from G to the start of the last;
duplicates are runs beyond the first of a task (a library that cannot share a store shows
them here).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from adapters import Adapter
from adapters.base import utc
from harness import drain_loop

from scenarios.scaleout_node import job

WORKER = Path(__file__).resolve().parent.parent / "worker.py"
START_TIMEOUT = 60.0


async def run(adapter: Adapter, params: dict[str, Any]) -> dict[str, Any]:
    n, store = params["n"], params["store"]
    adapter.owns_store = False  # kept for the nodes; dropped at the end
    adapter.make_async(store)
    adapter.start(paused=True)
    run_at = utc(time.time())
    for index in range(n):
        adapter.add_date(job, run_at, args=(index,), id=f"t{index}")
    await drain_loop()
    await adapter.close()
    try:
        fires, go = _run_nodes(adapter, params)
    finally:
        adapter.owns_store = True
        adapter.drop_store()
    return _figures(fires, go, n)


def _run_nodes(adapter: Adapter, params: dict[str, Any]) -> tuple[list[list[Any]], float]:
    library = type(adapter).__module__.rsplit(".", 1)[-1]
    node_params = json.dumps({**params, "store_name": adapter.store_name})
    command = [sys.executable, str(WORKER), library, "scaleout_node", node_params]
    with tempfile.TemporaryDirectory() as tmp:
        logs = [Path(tmp) / f"node{i}.log" for i in range(params["processes"])]
        nodes = []
        for log in logs:
            with log.open("w") as stderr:
                pipe = subprocess.PIPE
                node = subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=stderr, text=True)
                nodes.append(node)
        try:
            for node, log in zip(nodes, logs, strict=True):
                assert node.stdout is not None
                if node.stdout.readline().strip() != "READY":
                    raise RuntimeError(f"a node did not start: {log.read_text()[-500:]}")
            go = time.time() + 0.2
            for node in nodes:
                assert node.stdin is not None
                node.stdin.write(f"GO {go}\n")
                node.stdin.flush()
            fires: list[list[Any]] = []
            for node, log in zip(nodes, logs, strict=True):
                out, _ = node.communicate(timeout=params["timeout"] + START_TIMEOUT)
                lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
                if node.returncode != 0 or not lines:
                    raise RuntimeError(f"a node failed: {log.read_text()[-500:]}")
                fires.append(json.loads(lines[-1].removeprefix("RESULT "))["fires"])
        finally:
            for node in nodes:
                if node.poll() is None:
                    node.kill()
                    node.wait()
    return fires, go


def _figures(per_node: list[list[Any]], go: float, n: int) -> dict[str, Any]:
    all_fires = [fire for fires in per_node for fire in fires]
    if not all_fires:
        raise RuntimeError(f"none of the {n} runs started")
    distinct = {index for index, _ in all_fires}
    last = max(started for _, started in all_fires)
    first = min(started for _, started in all_fires)
    return {
        "fires": len(all_fires),
        "runs": len(distinct),
        "runs_ratio": len(distinct) / n,
        "duplicates": len(all_fires) - len(distinct),
        "fires_per_s": len(distinct) / (last - go),
        "first_fire_ms": (first - go) * 1e3,
        "per_process": [len(fires) for fires in per_node],
    }

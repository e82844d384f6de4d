"""Scenario modules: each has ``run(adapter, params) -> dict`` (sync or async)."""

# The two commands of the README. Each builds .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test

CHROMIUM := /usr/bin/chromium
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo -n )env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: demo test lint typecheck docs bench clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[all,test,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff check asyncz_like tests examples benchmarks
	$(BIN)/ruff format --check asyncz_like tests examples benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# Debian's chromium for the dashboard's browser test (Playwright drives it; no download).
# Without it (no root, no sudo) the browser test skips locally and fails with CI=true.
browser:
	@test -x $(CHROMIUM) || $(APT_GET) install -y chromium chromium-driver \
		|| ($(APT_GET) update && $(APT_GET) install -y chromium chromium-driver) \
		|| echo "chromium is not installed: the dashboard's browser test will skip"

test: lint typecheck browser
	$(BIN)/python -m pytest -q
	$(BIN)/python -m sphinx -W -q -b html docs docs/_build/html

docs: $(STAMP)
	$(BIN)/python -m sphinx -W -b html docs docs/_build/html

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache docs/_build

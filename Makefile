# The two commands of the README. Each builds .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-test

CHROMIUM := /usr/bin/chromium
APT_GET := $(if $(filter 0,$(shell id -u)),,sudo -n )env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: demo test lint typecheck docs bench clean browser mysqlclient

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

# mysqlclient (mysql+mysqldb://), the C driver for MariaDB, built from source: Debian's
# libmariadb-dev and pkg-config first. Without them (no root, no sudo) its broker tests skip
# locally and fail with CI=true; PyMySQL (the `mysql` extra) stays the default either way.
mysqlclient: $(STAMP)
	@$(BIN)/python -c 'import MySQLdb' 2>/dev/null || { \
		pkg-config --exists libmariadb 2>/dev/null \
		|| $(APT_GET) install -y libmariadb-dev pkg-config \
		|| ($(APT_GET) update && $(APT_GET) install -y libmariadb-dev pkg-config); \
		$(BIN)/python -m pip install --quiet -e '.[mysqlclient]'; \
	} || echo "mysqlclient is not installed: its broker tests will skip"

test: lint typecheck browser mysqlclient
	$(BIN)/python -m pytest -q
	$(BIN)/python -m sphinx -W -q -b html docs docs/_build/html

docs: $(STAMP)
	$(BIN)/python -m sphinx -W -b html docs docs/_build/html

bench: mysqlclient
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache docs/_build

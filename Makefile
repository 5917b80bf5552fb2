# Everything a new machine needs: `make demo` and `make test` create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(INSTALLED): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

demo: $(INSTALLED)
	rm -f dongne-demo.db dongne-demo.db-wal dongne-demo.db-shm
	DONGNE_DATABASE_URL=sqlite:///dongne-demo.db $(BIN)/dongne demo

lint: $(INSTALLED)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -n 2

# The HTTP bench drives its load with wrk (Debian's package); without it, its Python client.
bench: $(INSTALLED)
	@command -v wrk >/dev/null || { echo "installing wrk for the HTTP bench's load" >&2; \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; } \
		|| echo "wrk could not be installed: the HTTP bench uses its Python client" >&2; }
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) dongne-demo.db* .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Everything a new machine needs: `make demo` and `make test` create .venv when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint bench clean ha ha-down ha-netns ha-netns-down chaos

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

# The suite starts dozens of CLI and server processes; where PYTHONDONTWRITEBYTECODE is set
# (as on the CI machines) each would compile the package from source again, about a third of
# a second of CPU apiece, so its bytecode is compiled once first.
test: lint
	$(BIN)/python -m compileall -q src
	$(BIN)/pytest -n 2

# The HTTP bench drives its load with wrk (Debian's package); without it, its Python client.
bench: $(INSTALLED)
	@command -v wrk >/dev/null || { echo "installing wrk for the HTTP bench's load" >&2; \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; } \
		|| echo "wrk could not be installed: the HTTP bench uses its Python client" >&2; }
	$(BIN)/python -m bench

# A pg_auto_failover monitor, primary and synchronous secondary on loopback (docs/ha.md).
ha:
	ops/ha/ha.sh up

ha-down:
	ops/ha/ha.sh down

# The same, each node in a network namespace of its own, for the partition test.
ha-netns:
	HA_NETNS=1 ops/ha/ha.sh up

ha-netns-down:
	HA_NETNS=1 ops/ha/ha.sh down

# Kill things under load: the server (on the test PostgreSQL), the primary database node when
# `make ha` is up, and its network when `make ha-netns` is. `make test` runs the same tests;
# this prints their figures.
chaos: $(INSTALLED)
	DONGNE_TEST_POSTGRES_URL=$${DONGNE_TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test} \
		$(BIN)/pytest -p no:randomly -q -rs tests/chaos

clean:
	rm -rf $(VENV) dongne-demo.db* .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Two commands on a fresh machine: `make demo` and `make test`. Each creates .venv and
# installs what it needs the first time (again whenever pyproject.toml changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DB := demo.duckdb

.PHONY: install demo test lint format bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	@rm -f $(DEMO_DB) $(DEMO_DB).wal
	$(BIN)/triage ingest examples/fleet --db $(DEMO_DB)
	$(BIN)/triage query --db $(DEMO_DB) \
	  "SELECT host, kind, format, count(*) AS files, sum(lines) AS lines FROM files GROUP BY ALL ORDER BY host, kind"
	$(BIN)/triage query --db $(DEMO_DB) \
	  "SELECT host, strftime(ts, '%Y-%m-%d %H:%M:%S') AS ts_utc, message FROM events \
	   WHERE message LIKE '%Xid%' OR message LIKE '%AER:%' OR message LIKE '%lost carrier%' ORDER BY host, ts LIMIT 25"

test: $(STAMP)
	$(BIN)/ruff check triage tests benchmarks examples
	$(BIN)/ruff format --check triage tests benchmarks examples
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check triage tests benchmarks examples

format: $(STAMP)
	$(BIN)/ruff format triage tests benchmarks examples
	$(BIN)/ruff check --fix triage tests benchmarks examples

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py --mb 500

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB).wal .pytest_cache .ruff_cache

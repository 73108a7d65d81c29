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
	  "SELECT host, coalesce(strftime(ts, '%Y-%m-%d %H:%M:%S'), printf('uptime %.1f s', uptime_s)) AS time, message \
	   FROM events WHERE regexp_matches(message, 'NVRM: Xid|AER: Uncorrected|AER: Corrected|[Ll]ost carrier') \
	   ORDER BY host, file_id, line_no"

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

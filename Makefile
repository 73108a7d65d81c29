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
	$(BIN)/triage ingest datasets/sample-fleet/hosts --db $(DEMO_DB)
	$(BIN)/triage analyze --db $(DEMO_DB) --baseline rules/baselines/h100-80gb-hbm3.yaml
	$(BIN)/triage query --db $(DEMO_DB) --limit 100 \
	  "SELECT f.host, f.device, a.serial, f.rule_id, f.severity, f.root_cause, f.action, f.count \
	   FROM findings f LEFT JOIN (SELECT host, device, any_value(serial) AS serial FROM assets \
	                              WHERE serial IS NOT NULL GROUP BY ALL) a ON a.host = f.host AND a.device = f.device \
	   WHERE f.severity IN ('critical', 'error') \
	   ORDER BY f.host, list_position(['critical', 'error'], f.severity), f.rule_id"
	$(BIN)/triage query --db $(DEMO_DB) --limit 100 \
	  "SELECT host, test, status, count(*) AS runs, \
	          CASE WHEN count(DISTINCT device) > 2 THEN count(DISTINCT device) || ' GPUs' \
	               ELSE string_agg(DISTINCT coalesce(device, 'node'), ' ') END AS devices, \
	          left(any_value(detail), 70) AS detail \
	   FROM test_runs WHERE status <> 'pass' GROUP BY host, test, status ORDER BY host, test"
	$(BIN)/triage anomalies --db $(DEMO_DB) --level investigate --limit 60

test: $(STAMP)
	$(BIN)/ruff check triage tests benchmarks examples datasets
	$(BIN)/ruff format --check triage tests benchmarks examples datasets
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check triage tests benchmarks examples datasets

format: $(STAMP)
	$(BIN)/ruff format triage tests benchmarks examples datasets
	$(BIN)/ruff check --fix triage tests benchmarks examples datasets

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py --mb 500
	$(BIN)/python benchmarks/parsers.py
	$(BIN)/python benchmarks/fleet.py --hosts 1000
	$(BIN)/python benchmarks/detect.py --hosts 1000 --baseline rules/baselines/h100-80gb-hbm3.yaml

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB).wal .pytest_cache .ruff_cache

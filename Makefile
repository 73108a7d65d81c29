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
	$(BIN)/triage fleet --db $(DEMO_DB)
	$(BIN)/triage report --db $(DEMO_DB) --format csv -o demo-rma.csv
	$(BIN)/triage report --db $(DEMO_DB) --format md -o demo-report.md
	$(BIN)/triage report --db $(DEMO_DB) --format html -o demo-report.html --title "Sample fleet burn-in"
	@echo "next: open demo-report.html in a browser; $(BIN)/triage host node0006 --db $(DEMO_DB); $(BIN)/triage rma --db $(DEMO_DB)"

test: $(STAMP)
	$(BIN)/ruff check triage tests benchmarks examples datasets notebooks
	$(BIN)/ruff format --check triage tests benchmarks examples datasets notebooks
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check triage tests benchmarks examples datasets notebooks

format: $(STAMP)
	$(BIN)/ruff format triage tests benchmarks examples datasets notebooks
	$(BIN)/ruff check --fix triage tests benchmarks examples datasets notebooks

bench: $(STAMP)
	$(BIN)/python benchmarks/ingest.py --mb 500
	$(BIN)/python benchmarks/parsers.py
	$(BIN)/python benchmarks/fleet.py --hosts 1000
	$(BIN)/python benchmarks/detect.py --hosts 1000 --baseline rules/baselines/h100-80gb-hbm3.yaml
	$(BIN)/python benchmarks/verdicts.py --hosts 1000
	$(BIN)/python benchmarks/verdicts.py --scan-mb 50
	$(BIN)/python benchmarks/report.py --hosts 1000

clean:
	rm -rf $(VENV) $(DEMO_DB) $(DEMO_DB).wal demo-report.md demo-report.html demo-rma.csv .pytest_cache .ruff_cache

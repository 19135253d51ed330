# Every target runs inside the project's own virtual environment (.venv) and keeps state in var/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_ARGS ?= --days 3 --scale 0.01 --seed 7

.PHONY: install jars demo test docs lint clean distclean bench-quality bench-conformance

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

# The pinned jars of SPEC §1, fetched once from Maven Central; afterwards everything works offline.
jars: var/jars/.complete

var/jars/.complete: $(VENV)/.installed lib/coretelecoms/platform/jars.py
	$(BIN)/coretelecoms jars
	@touch $@

demo: jars
	$(BIN)/coretelecoms demo $(DEMO_ARGS)

test: jars
	$(BIN)/python -m pytest

# The Great Expectations Data Docs site from the kept validation results.
docs: jars
	$(BIN)/coretelecoms docs

# Cleaning throughput on one day of scale-1 call logs (inputs cached under var/bench/).
bench-quality: jars
	$(BIN)/coretelecoms bench quality

# A full scale-1 day, and the PostgreSQL load of its complaints next to a plain COPY.
bench-conformance: jars
	$(BIN)/coretelecoms bench conformance

lint: install
	$(BIN)/ruff check lib jobs tests

# Generated state goes; the jar cache stays (it is a download, not state).
clean:
	-@[ -x $(BIN)/coretelecoms ] && $(BIN)/coretelecoms db stop
	rm -rf var/landing var/lake var/pg var/runs var/test var/spark-warehouse var/derby

distclean: clean
	rm -rf var $(VENV) lib/*.egg-info

# Every target runs inside the project's own virtual environment (.venv) and keeps state in var/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_ARGS ?= --days 3 --scale 0.01 --seed 7

.PHONY: install jars browser demo test docs lint clean distclean bench dist

install: $(VENV)/.installed

# The package with its dev tools and the embedded PostgreSQL (`local`), and the dev package (dev/).
$(VENV)/.installed: setup.py dev/setup.py
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e '.[dev,local]' -e ./dev
	@touch $@

# The pinned jars (lib/coretelecoms/platform/jars.py), fetched once from Maven Central; afterwards everything works offline.
jars: var/jars/.complete

var/jars/.complete: $(VENV)/.installed lib/coretelecoms/platform/jars.py
	$(BIN)/coretelecoms jars
	@touch $@

demo: jars
	$(BIN)/coretelecoms-dev demo $(DEMO_ARGS)

test: jars browser
	$(BIN)/python -m pytest

# The report pages are tested the way users see them: in Debian's headless chromium, installed when missing.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y --no-install-recommends chromium >/dev/null; } \
		|| { echo "chromium is needed by the tests: apt-get install chromium (as root)"; exit 1; }

# The Great Expectations Data Docs site from the kept validation results.
docs: jars
	$(BIN)/coretelecoms docs

# At real volume (scale 1; inputs generated once into var/bench/scale-1/): the dimension load, a daily
# run and the next day end to end, each next to its floor; then the cleaners native vs pandas_udf vs udf.
# Results: var/bench/latest.json. About 21 minutes on 2 cores the first time (inputs generated, then
# kept): run it on an otherwise idle machine.
bench: jars
	$(BIN)/coretelecoms-dev bench

# Deployment artifacts (README: Deployment): the wheel, the entry script, the JDBC driver, what each
# platform installs, and MANIFEST.txt. Offline: no build isolation, the jar from the cache.
dist: jars
	rm -rf dist build
	$(BIN)/pip wheel --quiet --no-deps --no-build-isolation . -w dist
	rm -rf build
	mkdir -p dist/jobs
	cp jobs/run_pipeline.py dist/jobs/
	$(BIN)/python -m coretelecoms.dist dist

lint: install
	$(BIN)/ruff check lib jobs tests dev

# Generated state goes; the jar cache stays (it is a download, not state).
clean:
	-@[ -x $(BIN)/coretelecoms ] && $(BIN)/coretelecoms db stop
	rm -rf var/landing var/lake var/pg var/runs var/test var/spark-warehouse var/derby

distclean: clean
	rm -rf var $(VENV) lib/*.egg-info dev/*.egg-info dist

# MTL Studio developer commands. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.requirements.stamp
EXTRAS := $(VENV)/.extras.stamp
PORT   ?= 8501
# The slowest tests are listed at the end, to keep the suite inside its time budget.
PYTEST_ARGS ?= --durations=20
# Test processes (pytest-xdist; each file stays in one process, so a file's module fixtures
# start once). PYTEST_WORKERS=0 runs everything in this process.
PYTEST_WORKERS ?= 2
# Tests and benches use one thread each: reproducible numbers, no oversubscription on small CI boxes.
THREADS := OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: help venv extras run test lint format bench chromium clean distclean

help:
	@echo "venv      create .venv and install requirements-dev.txt (skipped when unchanged)"
	@echo "extras    also install the optional Ray and MLflow extras (make test does)"
	@echo "run       start the dashboard on http://127.0.0.1:$(PORT) (PORT=... to change)"
	@echo "test      lint, then pytest (browser tests need /usr/bin/chromium; installed if root)"
	@echo "lint      ruff check . and ruff format --check . (Python files and Markdown code blocks)"
	@echo "format    ruff format . and ruff check --fix ."
	@echo "bench     run every bench/*.py"
	@echo "clean     remove caches and screenshots (distclean also removes .venv)"

venv: $(STAMP)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when a requirements file is newer than the last successful install.
$(STAMP): requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

# The optional extras (Ray backend, MLflow export): their tests run under make test; the
# dashboard (make run) and the local worker pool never need them.
extras: $(EXTRAS)

$(EXTRAS): requirements-ray.txt requirements-mlflow.txt $(STAMP)
	$(BIN)/python -m pip install -q -r requirements-ray.txt -r requirements-mlflow.txt
	touch $@

run: venv
	@echo "MTL Studio: http://127.0.0.1:$(PORT)"
	$(BIN)/python -m streamlit run dashboard/app.py --server.headless true \
		--server.address 127.0.0.1 --server.port $(PORT) --browser.gatherUsageStats false

# Browser tests drive Debian's chromium; install it when we can, else they skip (fail under CI=true).
chromium:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing chromium with apt-get for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "NOTE: /usr/bin/chromium missing and not root with apt-get: browser tests will be skipped"; \
	fi

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# pytest exits 5 when it collects no test; that is not a failure here, every other code is.
test: venv extras lint chromium
	@echo "pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)"; \
	$(THREADS) $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests (exit 5): treated as success"; exit 0; fi; \
	exit $$rc

bench: venv
	@for f in bench/*.py; do \
		[ -e "$$f" ] || { echo "no bench/*.py"; break; }; \
		echo "== $$f"; $(THREADS) PYTHONPATH=. $(BIN)/python "$$f" || exit 1; \
	done

clean:
	rm -rf .pytest_cache .ruff_cache tests/screenshots .hypothesis
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -exec rm -rf {} +

distclean: clean
	rm -rf $(VENV)

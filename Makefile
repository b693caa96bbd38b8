# Everyday commands. `make demo` and `make test` install what they need first (pinned by uv.lock).
UV_VERSION := 0.13.9
UV := .tools/bin/uv
export UV_PYTHON_DOWNLOADS := never
export PREFECT_SERVER_ANALYTICS_ENABLED := false

.PHONY: demo check test system-deps lint format typecheck run templates serve bench reliability scaleout-postgres clean

$(UV):
	python3 -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

.venv/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --python python3
	touch $@

demo: .venv/.synced  ## write the demo inbox (if empty), run the nightly flow, print Phụ lục 4
	.venv/bin/ictstat demo

check: .venv/.synced  ## the edit-test loop: lint, type-check and the unit tests (the fast lane, about a minute)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest -m "not full"

# tests/test_printing.py prints the workbooks through LibreOffice (headless) and reads the PDFs with poppler;
# Liberation Serif stands in for Times New Roman. Installed only when missing, and only where apt-get exists.
system-deps:
	@command -v soffice >/dev/null || ! command -v apt-get >/dev/null || { \
	  sudo=""; [ "$$(id -u)" -eq 0 ] || sudo="sudo"; \
	  $$sudo apt-get update -qq && \
	  $$sudo apt-get install -y -qq libreoffice-calc poppler-utils fonts-liberation >/dev/null; }

test: .venv/.synced system-deps  ## lint, type-check and run the tests (what CI runs)
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/pytest

lint: .venv/.synced
	.venv/bin/ruff check .

format: .venv/.synced
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

typecheck: .venv/.synced
	.venv/bin/mypy

run: .venv/.synced
	.venv/bin/ictstat run

templates: .venv/.synced
	.venv/bin/ictstat templates

bench: .venv/.synced  ## the national-scale benchmark (bench/README.md): raw read, ictstat, naive baseline
	$(UV) sync --frozen --group bench --python python3
	.venv/bin/python -m bench.run --workbooks 1000 20000

# The fault and fuzz campaign (docs/reliability.md): real runs killed at every stage, raced, starved of disk,
# fed rotted archives and hostile workbooks. `make test` runs the same checks with a small fixed budget.
RELIABILITY_RUNS ?= 5
RELIABILITY_FUZZ ?= 400
reliability: .venv/.synced  ## the long fault/fuzz campaign; rewrites docs/reliability.md (~20 min)
	.venv/bin/python -m faults.run --runs $(RELIABILITY_RUNS) --fuzz-examples $(RELIABILITY_FUZZ)

# The production path on PostgreSQL (before a release): tests/test_scaleout.py with a PostgreSQL cluster the test
# starts on a free port (Debian's postgresql: apt-get install postgresql) and two prefect workers racing.
scaleout-postgres: .venv/.synced  ## the scale-out test on PostgreSQL, two workers racing (~20 min)
	ICTSTAT_SCALEOUT_POSTGRES=1 .venv/bin/pytest -x -v tests/test_scaleout.py

serve: .venv/.synced  ## local Prefect server + UI on http://127.0.0.1:4200, nightly schedule and backfill form
	.venv/bin/ictstat serve

clean:
	rm -rf .venv .tools .pytest_cache .mypy_cache .ruff_cache

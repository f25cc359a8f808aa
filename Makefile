# The desk's commands. `make run` serves the demo; `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
TEST_DATABASE_URL ?= $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/supportdesk)
TEST_REDIS_URL ?= $(or $(REDIS_URL),redis://127.0.0.1:6379/0)
export PYTHONUNBUFFERED := 1

.PHONY: install run demo serve worker beat services test screenshots bench lint \
	lint-ruff lint-imports lint-migrations lint-types format migrate seed clean

$(BIN)/.installed: requirements.txt requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

# The demo desk and its logins: always when embedded; with DATABASE_URL and REDIS_URL
# set only in demo mode (DEMO=1, or `make demo`), else seed_demo leaves the desk as
# it is and says so.
seed: migrate
	$(BIN)/python manage.py seed_demo

# Embedded without DATABASE_URL/REDIS_URL; with both set, web + worker + beat.
run: seed
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	@if [ -n "$$DATABASE_URL" ] && [ -n "$$REDIS_URL" ]; then \
		$(MAKE) --no-print-directory services; \
	else \
		$(MAKE) --no-print-directory serve; \
	fi

# `make run` in demo mode, also with DATABASE_URL and REDIS_URL set.
demo:
	$(MAKE) --no-print-directory run DEMO=1

serve: install
	@echo "Serving the desk at http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(BIN)/daphne -b 127.0.0.1 -p $(PORT) supportdesk.asgi:application

worker: install
	$(BIN)/celery -A supportdesk worker --loglevel=INFO --concurrency=$${CELERY_CONCURRENCY:-2} -Q $${CELERY_TASK_DEFAULT_QUEUE:-desk}

beat: install
	$(BIN)/celery -A supportdesk beat --loglevel=INFO --schedule=$${TMPDIR:-/tmp}/supportdesk-beat-schedule

# Web, worker and beat under supervisord (supportdesk/supervisord.conf), in the
# foreground: a process that dies is started again, Ctrl-C stops them all. Its pid
# file and control socket go in SUPERVISOR_RUN_DIR, one per PORT.
SUPERVISOR_RUN_DIR ?= $(or $(TMPDIR),/tmp)/supportdesk-$(PORT)
services: install
	@mkdir -p $(SUPERVISOR_RUN_DIR)
	PORT=$(PORT) SUPERVISOR_RUN_DIR=$(SUPERVISOR_RUN_DIR) \
	$(BIN)/supervisord -c supportdesk/supervisord.conf

# One test process per core (pytest-xdist), each with its own test database and
# Redis names (tests/parallel.py). A module's tests stay in one process, which starts
# its desk server, worker and browser once; modules that start processes are handed
# out first (tests/conftest.py). TEST_WORKERS=0 runs the suite in one process.
# With DEBUG off the desk needs a strong SECRET_KEY: a run makes one of its own.
TEST_WORKERS ?= auto
test: install
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) \
	SECRET_KEY=$${SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')} \
	CHANNEL_LAYER_PREFIX=test-asgi-$$$$ CACHE_KEY_PREFIX=test-cache-$$$$ \
	CELERY_TASK_ALWAYS_EAGER=1 \
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder \
	--durations=25 $(PYTEST_ARGS)

# The README's pictures in docs/, taken by the browser tests.
screenshots: install
	$(MAKE) --no-print-directory test DOCS_SCREENSHOTS=1 PYTEST_ARGS="tests/browser $(PYTEST_ARGS)"

# Load figures against their own database; tests/bench/ is tooling, not an app.
bench: install
	DATABASE_URL=$${BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/supportdesk_bench} \
	REDIS_URL=$(TEST_REDIS_URL) CHANNEL_LAYER_PREFIX=bench-asgi CACHE_KEY_PREFIX=bench-cache \
	SECRET_KEY=$${SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')} \
	$(BIN)/python -m tests.bench $(BENCH_ARGS)

# What CI and the pre-commit hook hold the tree to. Each check has a target of its own
# so a hook or a person can run one; `make lint` runs them all and stops at the first
# that fails. Migrations and types are read in embedded mode, with no server to reach.
lint: lint-ruff lint-imports lint-migrations lint-types

lint-ruff: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lint-imports: install
	$(BIN)/lint-imports

lint-migrations: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/python manage.py makemigrations --check --dry-run

lint-types: install
	env -u DATABASE_URL -u REDIS_URL $(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 db.sqlite3-wal db.sqlite3-shm

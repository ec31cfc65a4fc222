# RiskOps. `make demo` and `make test` need nothing but python3 (3.11+): they build .venv themselves.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
DEMO_CUSTOMERS ?= 500
# Days of history the demo book lives through (replayed day by day up to today).
DEMO_HISTORY_DAYS ?= 180
BENCH_CUSTOMERS ?= 100000
BENCH_DB ?= postgres://postgres@127.0.0.1:5432/riskops_bench
BENCH_BROKER ?= redis://127.0.0.1:6379/13
# The Makefile is the development workflow, so it asks for the development profile (DEBUG=true:
# a dev-only key, any host, plain static files); riskops/settings.py alone defaults to production.
# The production-profile steps (check-deploy, the benchmarks' timed runs) say DEBUG=false on their line.
export DEBUG = true

.PHONY: install messages demo serve migrate seed recompute bootstrap test check-deploy worker workers beat bench-seed bench bench-model demo-models screenshots docs docs-build lint-imports clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

install: $(VENV)/.installed messages

# The Chinese catalogue: locale/*.po is in git, the compiled .mo is built here (GNU gettext's
# msgfmt when installed, else polib: see riskops/core/management/commands/compile_catalogues.py).
messages: $(VENV)/.installed
	$(MANAGE) compile_catalogues

migrate: install
	$(MANAGE) migrate --noinput

seed: migrate
	$(MANAGE) seed_demo --customers $(DEMO_CUSTOMERS) --seed 1 --history-days $(DEMO_HISTORY_DAYS) --skip-if-seeded

recompute: seed
	$(MANAGE) recompute --all
	@# Matured outcomes per customer and month (the profile shows them; nightly by beat too).
	$(MANAGE) outcomes --no-progress
	@# Tonight's model health (/models/health/): the scorecard's drift against its frozen reference.
	$(MANAGE) model_monitor

bootstrap: migrate
	$(MANAGE) bootstrap

demo: recompute bootstrap
	$(MANAGE) collectstatic --noinput -v0
	@echo ""
	@echo "RiskOps demo: open http://127.0.0.1:8000/ and log in with a user printed above (Ctrl-C stops)."
	$(MANAGE) runserver 127.0.0.1:8000

# The model pages need outcomes that have matured (12 months after an observation date): a second
# demo database, models-demo.sqlite3, with 1,000 customers replayed over two years (nightly over the
# last 30 days, month-end runs before), outcomes, a scorecard fitted from them and the night's
# monitoring; then the server on it. About 2½ minutes the first time; again, it reuses the book.
MODELS_DEMO_DB ?= sqlite:///models-demo.sqlite3
demo-models: install
	DATABASE_URL=$(MODELS_DEMO_DB) $(MANAGE) migrate --noinput -v0
	DATABASE_URL=$(MODELS_DEMO_DB) $(MANAGE) seed_demo --customers 1000 --seed 3 --history-days 730 --daily-runs-last-days 30 --skip-if-seeded
	DATABASE_URL=$(MODELS_DEMO_DB) $(MANAGE) outcomes
	DATABASE_URL=$(MODELS_DEMO_DB) $(MANAGE) bootstrap
	DATABASE_URL=$(MODELS_DEMO_DB) $(MANAGE) scorecard_fit --from-book --as riskadmin --skip-if-fitted
	DATABASE_URL=$(MODELS_DEMO_DB) $(MANAGE) model_monitor
	$(MANAGE) collectstatic --noinput -v0
	@echo ""
	@echo "RiskOps model demo: log in as riskadmin at http://127.0.0.1:8000/models/ (Ctrl-C stops)."
	DATABASE_URL=$(MODELS_DEMO_DB) $(MANAGE) runserver 127.0.0.1:8000

serve: install
	$(MANAGE) runserver 127.0.0.1:8000

test: install
	$(PY) -m pytest

# The documentation (MkDocs, Material theme): served on :8001, or built with --strict as CI does.
docs: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs serve -a 127.0.0.1:8001

docs-build: install
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --quiet

# The layers of the house (.importlinter); tests/core/test_layers.py runs the same check.
lint-imports: install
	$(VENV)/bin/lint-imports

check-deploy: install
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	ALLOWED_HOSTS=riskops.example.com $(MANAGE) check --deploy --fail-level WARNING

# One worker for every queue, highest priority first (riskops/queues.py): `high` (events), `sweeps`,
# `bulk` (a run's chunks). With prefetch 1 an event still waits for a process to finish its chunk;
# `make workers` runs a dedicated high worker beside the bulk one (docs/operations.md).
worker: install
	$(VENV)/bin/celery -A riskops worker --loglevel=info --concurrency=2 -Q high,sweeps,bulk

# The Procfile under honcho: a dedicated `high` worker, a `sweeps,bulk` worker and beat.
workers: install
	$(VENV)/bin/honcho start -f Procfile

beat: install
	$(VENV)/bin/celery -A riskops beat --loglevel=info

# Seeds BENCH_CUSTOMERS customers into a fresh PostgreSQL database with 12 months of history
# (recomputed at each month's end, nightly over the last 30 days) and prints where the time went.
BENCH_HISTORY_DAYS ?= 365
bench-seed: install
	psql "$(dir $(BENCH_DB))postgres" -q -c "DROP DATABASE IF EXISTS $(notdir $(BENCH_DB))" -c "CREATE DATABASE $(notdir $(BENCH_DB))"
	DATABASE_URL=$(BENCH_DB) $(MANAGE) migrate --noinput -v0
	@# seed_demo ends with ANALYZE of the tables it loaded, so the first recompute is planned on real figures.
	DATABASE_URL=$(BENCH_DB) $(MANAGE) seed_demo --customers $(BENCH_CUSTOMERS) --seed 7 --history-days $(BENCH_HISTORY_DAYS) --daily-runs-last-days 30

# Full recompute of the bench book through a real worker vs the naive path, and event latency.
# Seeds the book first if it is not there (reuses it otherwise: make bench-seed starts afresh).
bench: install
	psql "$(dir $(BENCH_DB))postgres" -tc "SELECT 1 FROM pg_database WHERE datname = '$(notdir $(BENCH_DB))'" | grep -q 1 \
	  || psql "$(dir $(BENCH_DB))postgres" -q -c "CREATE DATABASE $(notdir $(BENCH_DB))"
	DATABASE_URL=$(BENCH_DB) $(MANAGE) migrate --noinput -v0
	DATABASE_URL=$(BENCH_DB) $(MANAGE) seed_demo --customers $(BENCH_CUSTOMERS) --seed 7 --skip-if-seeded
	@# The production profile (DEBUG off): DEBUG's query log costs ~40% on the event path.
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	DATABASE_URL=$(BENCH_DB) CELERY_BROKER_URL=$(BENCH_BROKER) $(MANAGE) bench_recompute --during-full
	DEBUG=false SECRET_KEY=bench-only-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') DATABASE_URL=$(BENCH_DB) CELERY_BROKER_URL=$(BENCH_BROKER) $(MANAGE) bench_simulation
	@# Staff pages, logged in, in the same profile (hashed static files need collectstatic first).
	DEBUG=false SECRET_KEY=bench-only-$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') $(MANAGE) collectstatic --noinput -v0
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') \
	DATABASE_URL=$(BENCH_DB) $(MANAGE) bench_pages
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') DATABASE_URL=$(BENCH_DB) $(MANAGE) bench_audit_export
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') DATABASE_URL=$(BENCH_DB) $(MANAGE) bench_draws
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') DATABASE_URL=$(BENCH_DB) CELERY_BROKER_URL=$(BENCH_BROKER) $(MANAGE) bench_webhooks
	DEBUG=false SECRET_KEY=$$($(PY) -c 'import secrets; print(secrets.token_urlsafe(50))') DATABASE_URL=$(BENCH_DB) CELERY_BROKER_URL=$(BENCH_BROKER) $(MANAGE) bench_api_ingest
	@# The demo book's replayed history (500 customers × 180 days) on fresh SQLite databases, three runs.
	$(MANAGE) bench_replay --runs 3

# The scorecard targets (docs/benchmarks.md#scorecards): quality on a replayed synthetic book with
# matured outcomes (2 years: a 12-month horizon needs a year behind each observation date), against
# optbinning's defaults on the public German credit file, and fitting speed on 100,000 customers ×
# 12 observation dates. Each on a fresh PostgreSQL database.
BENCH_MODEL_DB ?= postgres://postgres@127.0.0.1:5432/riskops_bench_model
BENCH_MODEL_CUSTOMERS ?= 5000
bench-model: install
	psql "$(dir $(BENCH_MODEL_DB))postgres" -q -c "DROP DATABASE IF EXISTS $(notdir $(BENCH_MODEL_DB))" -c "CREATE DATABASE $(notdir $(BENCH_MODEL_DB))"
	DATABASE_URL=$(BENCH_MODEL_DB) $(MANAGE) migrate --noinput -v0
	DATABASE_URL=$(BENCH_MODEL_DB) $(MANAGE) seed_demo --customers $(BENCH_MODEL_CUSTOMERS) --seed 7 --history-days 730 --daily-runs-last-days 30 --no-progress
	DATABASE_URL=$(BENCH_MODEL_DB) $(MANAGE) outcomes --no-progress
	DATABASE_URL=$(BENCH_MODEL_DB) $(MANAGE) bench_scorecard --book --runs 3 --german-credit --splits 20
	psql "$(dir $(BENCH_MODEL_DB))postgres" -q -c "DROP DATABASE IF EXISTS $(notdir $(BENCH_MODEL_DB))_speed" -c "CREATE DATABASE $(notdir $(BENCH_MODEL_DB))_speed"
	DATABASE_URL=$(BENCH_MODEL_DB)_speed $(MANAGE) migrate --noinput -v0
	DATABASE_URL=$(BENCH_MODEL_DB)_speed $(MANAGE) bench_scorecard --fit-speed --customers 100000 --dates 12 --runs 3

# Full-page PNGs of staff pages from the demo book, as the demo analyst, into docs/screenshots/.
# Needs Chromium (/usr/bin/chromium). A page that is not built yet is skipped with a message.
# Each set in English and in Chinese (NAME-zh.png); the compliance pages as the demo compliance officer.
SCREENSHOT_PAGES ?= overview=/ queue=/queue/ customer=customer runs=/runs/
SCREENSHOT_COMPLIANCE_PAGES ?= compliance=/compliance/ audit=/compliance/audit/ consents=/compliance/consents/ disclosures=/compliance/disclosures/ subject-report=subject-report
SCREENSHOT_DIR ?= docs/screenshots
screenshots: recompute bootstrap
	$(PY) scripts/screenshots.py --out $(SCREENSHOT_DIR) $(SCREENSHOT_PAGES)
	$(PY) scripts/screenshots.py --out $(SCREENSHOT_DIR) --lang zh-hans --suffix=-zh $(SCREENSHOT_PAGES)
	$(PY) scripts/screenshots.py --out $(SCREENSHOT_DIR) --username compliance --password compliance-demo $(SCREENSHOT_COMPLIANCE_PAGES)
	$(PY) scripts/screenshots.py --out $(SCREENSHOT_DIR) --username compliance --password compliance-demo --lang zh-hans --suffix=-zh $(SCREENSHOT_COMPLIANCE_PAGES)

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-wal db.sqlite3-shm models-demo.sqlite3 models-demo.sqlite3-wal models-demo.sqlite3-shm staticfiles .pytest_cache

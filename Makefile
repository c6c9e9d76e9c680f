# The two commands a newcomer needs: `make run` and `make test`.
# Everything else here is what those two stand on.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
S3VENV := .venv-s3
export FLASK_APP := wsgi.py

.PHONY: run test setup assets browser s3server lint migrate-check clean

# $(call APT_INSTALL,package): apt-get as root, or through sudo.
APT_INSTALL = if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(1); \
  else sudo apt-get update -qq && sudo apt-get install -y -qq $(1); fi
# Debian ships `venv` without pip until python3-venv is installed: install it then.
MAKE_VENV = $(PYTHON) -m venv $(1) || { rm -rf $(1); \
  { $(call APT_INSTALL,python3-venv); } && $(PYTHON) -m venv $(1); }

$(BIN)/python:
	$(call MAKE_VENV,$(VENV))
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/govuk/.installed: node_modules/.installed
	rm -rf static/govuk
	mkdir -p static/govuk
	cp node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.css \
	   node_modules/govuk-frontend/dist/govuk/govuk-frontend.min.js static/govuk/
	cp -r node_modules/govuk-frontend/dist/govuk/assets static/govuk/assets
	touch $@

assets: static/govuk/.installed

setup: $(VENV)/.installed assets

run: setup
	./scripts/dev-run.sh

# Debian's Chromium for the browser tests (never `playwright install`).
browser:
	@command -v chromium >/dev/null 2>&1 || { $(call APT_INSTALL,chromium); }

# ministack (a real S3-compatible server that checks signatures) pins its own
# botocore, so it lives in a virtual environment of its own.
$(S3VENV)/.installed:
	$(call MAKE_VENV,$(S3VENV))
	$(S3VENV)/bin/pip install --quiet ministack==1.5.33
	touch $@

s3server: $(S3VENV)/.installed

# Two workers: one per core of the machines this runs on. PYTEST_WORKERS=0 runs serially.
PYTEST_WORKERS ?= 2

test: setup browser s3server
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) $(S3VENV) node_modules static/govuk

# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test fuzz deploy-check chaos-short install checkov browser migrate demo-data demo-reset check-broker unit integration e2e chaos bench bench-registry bench-ocr bench-payments bench-load bench-bills clean lock lint image base-image image-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24"

# Exactly the versions of requirements-dev.lock (every transitive dependency), the project
# itself editable; `make lock` writes the lock files again from pyproject.toml (uv pip compile).
$(STAMP): pyproject.toml requirements-dev.lock | $(BIN)/python
	PYTHONWARNINGS=ignore $(BIN)/pip install --quiet -c requirements-dev.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# checkov, the manifests' policy scan (tests/deploy/test_manifests.py), in a venv of its own:
# its many pinned dependencies would fight the project's.
CHECKOV := .venv-checkov/bin/checkov
$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet checkov==3.3.30
checkov: $(CHECKOV)

# Versions already in a lock file are kept (uv prefers them); `make lock UPGRADE=1` takes the
# newest that pyproject.toml allows. requirements.lock: what the image installs (extra `all`).
UV_COMPILE = UV_NATIVE_TLS=1 $(BIN)/uv pip compile pyproject.toml --quiet --universal \
	--python-version 3.11 --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade)
lock: install
	$(UV_COMPILE) --extra all -o requirements.lock
	$(UV_COMPILE) --extra dev -o requirements-dev.lock

# ruff and mypy on the code, hadolint on the Containerfile (all from the dev extra; config in
# pyproject.toml and deploy/.hadolint.yaml). mypy's cache (.mypy_cache) makes a rerun a few seconds.
lint: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/hadolint --config deploy/.hadolint.yaml deploy/Containerfile

# One image for every process (deploy/Containerfile, README "Images"), built with buildah where
# it is installed, else docker. BASE_IMAGE=local: a Debian base made here by mmdebstrap, for a
# machine that reaches Debian's packages but no image registry.
IMAGE ?= localhost/nesk-portal:dev
LOCAL_BASE := localhost/nesk-base:bookworm
BUILD_BASE = $(if $(filter local,$(BASE_IMAGE)),$(LOCAL_BASE),$(BASE_IMAGE))
BUILD = $(if $(shell command -v buildah),buildah bud --isolation chroot --layers,docker build)
image: $(if $(filter local,$(BASE_IMAGE)),base-image)
	$(BUILD) $(if $(BUILD_BASE),--build-arg BASE_IMAGE=$(BUILD_BASE)) \
	  -f deploy/Containerfile -t $(IMAGE) .

base-image:
	@command -v mmdebstrap >/dev/null && command -v podman >/dev/null || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap buildah podman >/dev/null; }
	@buildah inspect --type image $(LOCAL_BASE) >/dev/null 2>&1 || { \
	  mkdir -p var && mmdebstrap --quiet --variant=minbase \
	    --include=python3,python3-venv,ca-certificates \
	    --customize-hook='copy-in /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/' \
	    bookworm var/base.tar && \
	  podman import --quiet var/base.tar $(LOCAL_BASE) && rm var/base.tar; }

# Builds the image (on the local base unless BASE_IMAGE is given) and runs the smoke test in it.
image-test: install
	$(MAKE) image BASE_IMAGE=$(or $(BASE_IMAGE),local)
	NESK_IMAGE=$(IMAGE) $(BIN)/python -m pytest -q tests/deploy/test_image.py \
	  tests/deploy/test_containerfile.py

# The browser tests drive Debian's Chromium (Playwright downloads no browser of its own).
CHROMIUM ?= $(shell command -v chromium || echo /usr/bin/chromium)
browser:
	@test -x "$(CHROMIUM)" || { echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } \
	  || { echo "Chromium is missing: apt-get install chromium (as root)"; exit 1; }

check-broker: install
	@$(BIN)/python -c "import sys; from shared import settings; from shared.runner import check_broker, BROKER_HELP; \
	c = settings.load(); e = check_broker(c['AMQP_URI']); \
	e and sys.exit(BROKER_HELP.format(uri=c['AMQP_URI'], error=e))"

migrate: install
	$(BIN)/python -m shared.migrate

# The demo registry (with the manual's sample bill, account 123456789 in Мостэнергосбыт) and
# that account's year of readings, bills and payments (shared/demo.py), each written by its
# service's own CLI: idempotent, so every `make run` may load it again.
DEMO_ACCOUNT = $(BIN)/python -m services.accounts.cli demo
demo-data: migrate
	$(BIN)/python -m services.accounts.cli import-registry services/accounts/demo_registry.csv --quiet
	@account="$$($(DEMO_ACCOUNT))" && \
	  $(BIN)/python -m services.readings.cli demo --account "$$account" && \
	  $(BIN)/python -m services.payments.cli demo --account "$$account"

# The demo account's readings, charges and payments removed and loaded again (customers'
# links to it stay); fine while the portal runs.
demo-reset: migrate
	$(BIN)/python -m services.accounts.cli import-registry services/accounts/demo_registry.csv --quiet
	@account="$$($(DEMO_ACCOUNT))" && \
	  $(BIN)/python -m services.readings.cli demo --reset --account "$$account" && \
	  $(BIN)/python -m services.payments.cli demo --reset --account "$$account"

run: install check-broker migrate demo-data
	@echo "Личный кабинет: http://$${WEB_BIND:-127.0.0.1:8000}/"
	@echo "API:            http://$${GATEWAY_BIND:-127.0.0.1:8080}/api/v1/docs"
	@echo "SMS and e-mail land in var/outbox/ (the SMS code, the confirmation link)"
	@echo "A process that dies is restarted (shared/supervise.py); Ctrl-C stops them all"
	$(BIN)/python -m shared.supervise Procfile

# The suites as pytest processes two at a time (tests/run_suites.py): the service suites under
# eventlet, one process per integration module; the browser suite without it.
test: install browser lint
	$(BIN)/python -m tests.run_suites

# What CI (.ci/run) runs besides `make test`: the manifests' policy scan, the short
# fault-injection run and the image's smoke test (each also a target of its own).
deploy-check: install checkov
	$(BIN)/python -m pytest -q tests/deploy/test_manifests.py

chaos-short: install
	$(BIN)/python -m tests.chaos --short

e2e: install browser
	NESK_E2E=1 $(BIN)/python -m pytest -q tests/e2e

# Fault injection (tests/chaos): a private RabbitMQ node and PostgreSQL databases, a load of
# readings and payments, the broker stopped 20 s, services killed, database connections cut;
# prints its figures. `make test` runs the short version (tests/chaos/test_chaos.py).
chaos: install
	$(BIN)/python -m tests.chaos

# The OpenAPI document fuzzed at length (tests/integration/test_fuzz.py; `make test` runs it
# with 2 examples, derandomized, on SQLite). FUZZ_EXAMPLES per operation and mode,
# FUZZ_STEPS stateful scenarios, FUZZ_SEED (new each run, printed: give it to repeat a run),
# FUZZ_DATABASES=sqlite,postgresql for both; failures also in var/fuzz-failures.txt.
FUZZ_EXAMPLES ?= 50
FUZZ_STEPS ?= 50
FUZZ_DATABASES ?= sqlite
FUZZ_SEED ?= $(shell date +%s)
fuzz: install check-broker
	@mkdir -p var && rm -f var/fuzz-failures.txt
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_STEPS=$(FUZZ_STEPS) FUZZ_DATABASES=$(FUZZ_DATABASES) \
	  FUZZ_SEED=$(FUZZ_SEED) FUZZ_REPORT=var/fuzz-failures.txt \
	  $(BIN)/python -m pytest -q -p no:cacheprovider tests/integration/test_fuzz.py

unit: install
	$(BIN)/python -m pytest -q tests/unit

bench: install
	$(BIN)/python bench/auth_gateway.py

bench-registry: install
	$(BIN)/python bench/import_registry.py

# Bill-photo OCR per degradation and category (bench/ocr_bills.py; ~15 min on 2 cores).
# OCR_BENCH_ARGS=--short: 8 degradations, one photo each (~3 min).
OCR_BENCH_ARGS ?=
bench-ocr: install
	$(BIN)/python -m bench.ocr_bills $(OCR_BENCH_ARGS)

bench-bills: install
	$(BIN)/python -m bench.bills_pdf

bench-payments: install
	$(BIN)/python -m bench.payments

# Reading submissions and card payments at 1, 8 and 32 clients on SQLite and PostgreSQL, 1 and 2
# replicas of readings and payments, GET /auth/me at 32; CPU per request by process, event delay
# and lost/duplicated events at a billing subscriber, beside a plain baseline of the same domain
# code (bench/README.md). ~15 min; LOAD_ARGS="--short" for a one-minute smoke check,
# LOAD_ARGS="--profile" for py-spy's top functions of readings.
bench-load: install
	$(BIN)/python -m bench.load $(LOAD_ARGS)

clean:
	rm -rf var .pytest_cache

# A PNG of every screen of the cabinet, desktop 1280 px and phone 360 px, in var/screenshots/
# (bench/screenshots.py: its own stack with the demo data, like the browser tests).
screenshots: install
	$(BIN)/python -m bench.screenshots

# Server-side render time of the cabinet's pages against the API calls they make.
bench-web: install
	$(BIN)/python -m bench.web_pages

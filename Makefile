# REX: the commands the README promises. Everything installs what it needs on first use.
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell command -v uv 2>/dev/null || echo "$(HOME)/.local/bin/uv")
RUN := $(UV) run --frozen
export UV_PYTHON_DOWNLOADS := never
# `make install` puts uv in ~/.local/bin: every command make runs (tests that call `uv run`
# included) finds it there on a fresh machine, not only when the caller set PATH.
export PATH := $(HOME)/.local/bin:$(PATH)

.PHONY: help install up down status demo test lint unit wiring integration e2e token contracts bench clean faults

help: ## list the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN{FS=":.*## "}{printf "  make %-12s %s\n",$$1,$$2}'

install: ## install uv, the Python packages and the Kafka jars
	@command -v uv >/dev/null 2>&1 || test -x "$(UV)" || python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --break-system-packages uv
	@$(UV) sync --frozen --quiet
	@bash deploy/local/rexinfra.sh install

up: install ## start Kafka, PostgreSQL, the four services and the local sinks
	@$(RUN) rexctl up

down: ## stop what `make up` started
	@$(RUN) rexctl down

status: ## show what runs where
	@$(RUN) rexctl status

demo: install ## run an evaluation end to end and print its costs, budget and alerts
	@$(RUN) rexctl demo

token: ## mint a local token: make token ORG=acme USER_ID=alice ROLE=admin
	@$(RUN) rexctl token --org "$(or $(ORG),demo-org)" --user "$(or $(USER_ID),demo-user)" --role "$(or $(ROLE),admin)"

test: install ## lint, then every test tier on real Kafka and PostgreSQL
	@bash deploy/local/run-tests.sh

lint: ## ruff, strict mypy (bench/ included) and an import of every benchmark
	@$(RUN) ruff check .
	@$(RUN) ruff format --check .
	@$(RUN) mypy shared/src libs/*/src services/*/src tools/*/src bench
	@$(RUN) python bench/run_all.py --import-only

unit wiring integration e2e: install ## one test tier
	@bash deploy/local/run-tests.sh $@

contracts: ## rewrite the JSON Schema, AsyncAPI and docs/events.md snapshots after a contract change
	@$(RUN) python -m rex_shared.contracts
	@$(RUN) python -m rex_shared.asyncapi
	@$(RUN) python -m rex_shared.eventdocs

bench: install ## run every benchmark and print the summary table
	@$(RUN) python bench/run_all.py

clean: down ## stop and remove the local data in .rex (Kafka jars are kept)
	@rm -rf .rex/pg .rex/kafka/data .rex/logs .rex/run .rex/mail .rex/slack

faults: install ## the fault suite on a private Kafka and PostgreSQL; writes bench/results/faults.md
	@REX_FAULTS_REPORT=bench/results/faults.md $(RUN) pytest tests/e2e/test_faults.py -q -p no:cacheprovider
	@cat bench/results/faults.md

.PHONY: deploy-check
deploy-check: install ## helm lint/template + Kubernetes schemas, compose config, dashboard and alert rules
	@bash deploy/tools/deploy-check.sh

# ---- the web app (web/): one origin with the APIs behind nginx on :8000 --------------------
.PHONY: web web-test screenshots

web: ## build the web app (npm ci, type check, unit tests, vite build into web/dist)
	@cd web && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npm test --silent && npm run build

web-test: install web ## browser tests: Debian's chromium drives the app against the real stack
	@$(RUN) pytest tests/web -q -p no:cacheprovider

screenshots: install web ## the browser tests, saving a screenshot of each page in bench/results/screenshots
	@REX_SCREENSHOTS=bench/results/screenshots $(RUN) pytest tests/web -q -p no:cacheprovider
	@ls bench/results/screenshots/*.png

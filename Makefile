# The whole set-up on a fresh Debian/Ubuntu machine: `make run`, `make test`.
# With AMQP_URI / MONGO_URI set, the services use those and nothing local
# starts for that part.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RABBIT := /usr/lib/rabbitmq/bin/rabbitmq-server
# The web app's browser assets (htmx; axe-core for the tests), from the npm
# registry into services/web/node_modules, exactly as package-lock.json says.
ASSETS := services/web/node_modules/.installed-$(shell cat services/web/package-lock.json | cksum | cut -d' ' -f1)

.PHONY: run test unit chaos bench deps docs system broker compose-check clean

run: deps
	$(BIN)/python -m tools.run

# The type check first (pyproject.toml [tool.mypy]: shared/ and services/,
# zero errors), then the whole suite.
test: WITH_BROWSER := 1
test: deps
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -p no:cacheprovider --durations=30 $(PYTEST_ARGS)

# Nothing lost, nothing twice, under SIGKILLs and broker/database restarts:
# 10,000 reports, reconciled; prints a table and writes var/chaos/result.json.
CHAOS_REPORTS ?= 10000
CHAOS_RATE ?= 3
chaos: deps
	$(BIN)/python -m tools.chaos --reports $(CHAOS_REPORTS) --rate $(CHAOS_RATE) \
	  --kill-every 20 --settle 900 --json var/chaos/result.json

# The benchmark of issue 7 on its own ports (var/bench/); see README "Benchmarks".
# FASTTRACK_BENCH_SCALE=0.1 for a ~2 minute run; BENCH_ARGS=--profile for py-spy.
# BASE=<git rev>: the same steps against that revision too, interleaved, each
# figure for both and their ratio (bench/ab.py).
bench: deps
ifeq ($(BASE),)
	$(BIN)/python -m bench.run $(BENCH_ARGS)
else
	$(BIN)/python -m bench.ab $(BASE) $(BENCH_ARGS)
endif

unit: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider tests/unit

deps: $(STAMP) system $(ASSETS) docs

$(ASSETS): services/web/package.json services/web/package-lock.json
	cd services/web && npm ci --no-audit --no-fund --ignore-scripts --registry=https://registry.npmjs.org/
	rm -f services/web/node_modules/.installed-* && touch $@

# The API docs page, docs/api/ (served at /api/docs/ by the front door, at
# /docs/ by each service): Swagger UI from the npm registry, installed once
# into tools/docs-ui/node_modules exactly as package-lock.json says (no
# install scripts: its analytics dependency would phone home), then the
# merged OpenAPI document and the UI's files written beside index.html.
UI := tools/docs-ui/node_modules/swagger-ui-dist/swagger-ui-bundle.js
docs: $(STAMP)
	@test -f $(UI) || { command -v npm >/dev/null || { $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; }; \
	  npm ci --prefix tools/docs-ui --ignore-scripts --no-audit --no-fund; }
	$(BIN)/python -m tools.openapi

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -e '.[embedded,test]'
	rm -f $(VENV)/.installed-* && touch $@

# Debian's packages, installed once when missing, with one `apt-get update`
# first (a fresh machine has no lists): RabbitMQ (not needed when AMQP_URI
# names a broker) and nginx, the front door, which tools/stack.py runs as a
# process of ours (the package's own service is not used); for `make test`
# also Chromium, which Playwright drives by path (its own browser download is
# never used), and a CJK font so that pages render their Chinese. The
# downloaded archives are dropped after (`apt-get clean`): Chromium's alone
# are hundreds of MB a small CI disk needs for the test run.
system:
	@missing=""; \
	if [ -z "$(AMQP_URI)" ] && [ ! -x $(RABBIT) ]; then missing="$$missing rabbitmq-server"; fi; \
	command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing="$$missing nginx"; \
	if [ -n "$(WITH_BROWSER)" ]; then \
	  [ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	  [ -d /usr/share/fonts/opentype/noto ] || missing="$$missing fonts-noto-cjk"; fi; \
	if [ -n "$$missing" ]; then $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing && \
	  $(SUDO) apt-get clean; fi

broker: system

# No Docker engine is needed to check the file: `docker compose` (or Debian's
# docker-compose) validates it.
compose-check:
	@if docker compose version >/dev/null 2>&1; then DC="docker compose"; \
	  else command -v docker-compose >/dev/null || $(SUDO) apt-get install -y -qq docker-compose; \
	  DC=docker-compose; fi; \
	FASTTRACK_ADMIN_TOKEN=check $$DC config --quiet && \
	  echo "docker-compose.yml: valid"

clean:
	rm -rf var

# socksort — the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.setup-stamp
# Debian packages the project runs: the MQTT broker and the browser its page is tested in.
APT_PACKAGES := mosquitto chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
MVN := mvn -B -q -Dmaven.repo.local=$(CURDIR)/.cache/m2

.PHONY: setup apt python java test test-python test-java bench bench-chaos demo lambda-zip clean

setup: $(STAMP)

# The connector's sources too: a worker must never run a jar older than them.
$(STAMP): pyproject.toml Makefile $(wildcard connect/pom.xml) $(shell find connect/src/main -name '*.java' 2>/dev/null)
	@$(MAKE) --no-print-directory apt python java
	@touch $@

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq; \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

python:
	@[ -x $(PY) ] || { echo "==> creating $(VENV)"; $(PYTHON) -m venv $(VENV); }
	@echo "==> installing socksort and its Python dependencies into $(VENV)"
	@$(PIP) install -q -e '.[dev]'

java:
	@if [ -f connect/pom.xml ]; then \
	  echo "==> building the MQTT source connector and fetching Kafka with Maven"; \
	  $(MVN) -f connect/pom.xml -DskipTests package; \
	fi

test: setup test-java test-python

# Two workers, the machine's two cores: much of the suite waits on brokers and real-time
# shows. Tests sharing a costly session fixture stay on one worker (tests/support/worker_groups.py).
TEST_WORKERS ?= 2
test-python:
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25

test-java:
	@if [ -f connect/pom.xml ]; then $(MVN) -f connect/pom.xml test; fi

bench: setup
	$(PY) benchmarks/run.py

# Every service killed once while a show plays (over 6 minutes; not part of `make bench`).
bench-chaos: setup
	$(PY) benchmarks/run.py chaos

demo: setup
	$(VENV)/bin/socksort demo

# The Greengrass v1 (DeepLens) deployment zip: function, vendored pure-Python deps, model, config.
MODEL ?= models/socks
LAMBDA_ZIP ?= build/socksort-edge-lambda.zip
lambda-zip: setup
	$(PY) -m socksort.edge_lambda.package --model $(MODEL) --out $(LAMBDA_ZIP) $(if $(PAHO),--paho $(PAHO))

clean:
	rm -rf $(VENV) .socksort build *.egg-info bench-results.json

# Tenure: the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME ?= demo-data
DEMO_SUBSCRIBERS ?= 20000
DEMO_MONTHS ?= 12
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test install install-test browser lint bench clean

$(BIN)/tenure: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[spark,postgres]'
	touch $(BIN)/tenure

install: $(BIN)/tenure

$(VENV)/.test-deps: $(BIN)/tenure
	$(BIN)/pip install --quiet -c constraints.txt -e '.[spark,postgres,test]'
	touch $@

install-test: $(VENV)/.test-deps

browser:
	@command -v chromium >/dev/null 2>&1 || (echo "installing Debian chromium for the browser tests" && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
	  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null))

demo: install
	bash scripts/demo.sh "$(DEMO_HOME)" "$(DEMO_SUBSCRIBERS)" "$(DEMO_MONTHS)" "$(HOST)" "$(PORT)"

test: install-test browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint:
	$(BIN)/ruff check src tests
	$(BIN)/mypy src/tenure/domain src/tenure/services

bench: install
	$(BIN)/python bench/synth_load.py --subscribers 1000000

clean:
	rm -rf $(VENV) $(DEMO_HOME) test-artifacts

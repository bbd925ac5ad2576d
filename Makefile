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

# Browser tests drive Debian's Chromium (Playwright's own browser download does not work offline);
# a CJK font makes Chinese pages render in the screenshots.
BROWSER_PACKAGES := chromium fonts-wqy-microhei
browser:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi wenquanyi; then \
	  echo "installing $(BROWSER_PACKAGES) for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(BROWSER_PACKAGES) >/dev/null; \
	fi

demo: install
	bash scripts/demo.sh "$(DEMO_HOME)" "$(DEMO_SUBSCRIBERS)" "$(DEMO_MONTHS)" "$(HOST)" "$(PORT)"

test: install-test browser lint
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: install-test
	$(BIN)/ruff check src tests
	$(BIN)/mypy src/tenure/domain src/tenure/services

bench: install
	$(BIN)/python bench/synth_load.py --subscribers 1000000

clean:
	rm -rf $(VENV) $(DEMO_HOME) test-artifacts

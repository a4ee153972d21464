# scopegate: the README's commands.
#   make demo   run scopegate locally: the authorizer and the token broker against the test IdP
#   make test   the full test suite (lint, types, template, unit, integration)
#   make bench  speed figures (ratios measured within one run)

PYENV_PY := $(shell command -v pyenv >/dev/null 2>&1 && echo "$$(pyenv root)/versions/3.13.0/bin/python3.13")
PYTHON_BOOT ?= $(shell for p in "$(PYENV_PY)" python3.13 python3; do [ -n "$$p" ] && command -v "$$p" >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := src:.
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test lint typecheck template unit bench idp clean

$(VENV)/.installed: requirements-dev.txt src/requirements.txt
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

tests/idp/node_modules/.installed: tests/idp/package.json tests/idp/package-lock.json
	cd tests/idp && npm ci --no-audit --no-fund --loglevel=error
	touch $@

idp: tests/idp/node_modules/.installed

demo: $(VENV)/.installed idp
	$(PY) tools/demo.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests tools
	$(VENV)/bin/ruff format --check src tests tools

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

template: $(VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml

test: $(VENV)/.installed idp lint typecheck template
	$(PY) -m pytest -q

bench: $(VENV)/.installed idp
	$(PY) tools/bench.py; a=$$?; $(PY) tools/bench_broker.py; b=$$?; exit $$((a | b))

clean:
	rm -rf $(VENV) tests/idp/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis

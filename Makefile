# scopegate: the README's commands.
#   make run    the whole of scopegate on 127.0.0.1 until Ctrl-C: IdP, moto, local gateway
#               (PROVIDER=cognito|entra|okta|auth0|keycloak: at that provider's tenant;
#               SHARED_CACHE=1: with the broker's shared token cache in moto's DynamoDB;
#               ARGS="--flavor http --cache-ttl 0": any other option of tools/run.py)
#   make test   the full test suite (lint, types, template, checkov, build, smoke, unit,
#               integration, e2e)
#   make smoke  the local stack, checked: the run's commands played with a table of results,
#               then the loop at each provider (PROVIDER=...: that one only)
#   make demo   authorizer events of every API type and the broker flow, in one table
#   make build  sam build for Lambda (python3.13, arm64, no Docker), then check the artifacts
#   make bench  speed figures (ratios measured within one run)

PYENV_PY := $(shell command -v pyenv >/dev/null 2>&1 && echo "$$(pyenv root)/versions/3.13.0/bin/python3.13")
PYTHON_BOOT ?= $(shell for p in "$(PYENV_PY)" python3.13 python3; do [ -n "$$p" ] && command -v "$$p" >/dev/null 2>&1 && { echo "$$p"; break; }; done)
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := src:.
export PYTHONDONTWRITEBYTECODE := 1

# SAM CLI has a venv of its own: aws-sam-cli pins boto3[crt]==1.43.x, click, pyOpenSSL and
# more, which cannot share .venv with the test pins (boto3==1.44.5), and it is a tool that
# nothing imports. Its cfn-lint is pinned to the one in requirements-dev.txt, so
# `sam validate --lint` and `cfn-lint` apply the same rules. Changing either version
# rebuilds .venv-sam (the stamp's name holds both).
SAM_CLI_VERSION := 1.170.0
CFN_LINT_VERSION := $(shell sed -n 's/^cfn-lint==//p' requirements-dev.txt)
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-$(SAM_CLI_VERSION)-cfn-lint-$(CFN_LINT_VERSION)
SAM := $(SAM_VENV)/bin/sam
# checkov (the infrastructure scanner; tests/unit/test_template_checkov.py runs it on the
# translated template) has a venv of its own too: it pins its own dependency tree and is a
# tool that nothing imports. Changing the version rebuilds it (the stamp holds it).
CHECKOV_VERSION := 3.3.30
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(CHECKOV_VERSION)
# The template uses AWS::LanguageExtensions (Fn::ForEach), which SAM CLI expands locally
# only when asked to.
SAM_TEMPLATE := --template-file template.yaml --language-extensions
# No telemetry, no AWS account: no profile, credentials or instance metadata are looked up,
# and the region is fixed so lint results do not depend on a developer's AWS config.
export SAM_CLI_TELEMETRY := 0
SAM_ENV := env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE AWS_CONFIG_FILE=/dev/null \
	AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
	AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1
# `sam validate --lint` is offline (cfn-lint with its bundled specs); the one request SAM
# CLI would still make, its weekly "newer version" look-up on PyPI, which has no switch,
# is sent to a closed local port instead and fails silently.
SAM_OFFLINE := env -u no_proxy -u NO_PROXY http_proxy=http://127.0.0.1:9 \
	https_proxy=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 HTTPS_PROXY=http://127.0.0.1:9
# The Lambda runtime's Python: sam build's Python builder looks for python3.13 on PATH and
# fetches the dependencies' wheels for arm64 with it (pip --platform, so no Docker).
LAMBDA_PY := $(shell for p in "$(PYENV_PY)" "$$(command -v python3.13)"; do [ -n "$$p" ] && [ -x "$$p" ] && "$$p" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null && { echo "$$p"; break; }; done)

.PHONY: run smoke demo test lint typecheck template validate build sam checkov unit bench idp clean \
	client-wheelhouse

$(VENV)/.installed: requirements-dev.txt src/requirements.txt
	$(PYTHON_BOOT) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

# tests/e2e/test_client_wheel.py installs the scopegate-client wheel into clean virtual
# environments with no index at all: the wheel's dependencies (botocore, the requests and
# httpx extras) and its build backend come from this wheelhouse, fetched from PyPI here at
# the versions .venv holds, so the test itself reaches nothing beyond 127.0.0.1.
CLIENT_WHEELHOUSE := $(VENV)/client-wheelhouse
$(CLIENT_WHEELHOUSE)/.downloaded: $(VENV)/.installed packages/scopegate-client/pyproject.toml
	rm -rf $(CLIENT_WHEELHOUSE)
	$(PY) -m pip freeze > $(VENV)/client-constraints.txt
	$(PY) -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
		--dest $(CLIENT_WHEELHOUSE) --constraint $(VENV)/client-constraints.txt \
		botocore requests httpx anyio hatchling
	touch $@

client-wheelhouse: $(CLIENT_WHEELHOUSE)/.downloaded

$(SAM_STAMP):
	@test -n "$(CFN_LINT_VERSION)" || { echo "requirements-dev.txt pins no cfn-lint==VERSION" >&2; exit 1; }
	rm -rf $(SAM_VENV)
	$(PYTHON_BOOT) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		aws-sam-cli==$(SAM_CLI_VERSION) cfn-lint==$(CFN_LINT_VERSION)
	touch $@

sam: $(SAM_STAMP)

$(CHECKOV_STAMP):
	rm -rf $(CHECKOV_VENV)
	$(PYTHON_BOOT) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		checkov==$(CHECKOV_VERSION)
	touch $@

checkov: $(CHECKOV_STAMP) $(VENV)/.installed
	$(PY) -m pytest -q tests/unit/test_template_checkov.py

tests/idp/node_modules/.installed: tests/idp/package.json tests/idp/package-lock.json
	cd tests/idp && npm ci --no-audit --no-fund --loglevel=error
	touch $@

idp: tests/idp/node_modules/.installed

# The identity provider `make run` stands at (generic, cognito, entra, okta, auth0, keycloak),
# SHARED_CACHE=1: the broker's shared token cache on (moto's DynamoDB and KMS), and ARGS:
# any other options of tools/run.py (ARGS="--flavor http --cache-ttl 0").
PROVIDER ?=
SHARED_CACHE ?=
ARGS ?=
RUN_FLAGS := $(if $(PROVIDER),--provider $(PROVIDER)) $(if $(filter-out 0,$(SHARED_CACHE)),--shared-cache) $(ARGS)

run: $(VENV)/.installed idp
	$(PY) -m tools.run $(RUN_FLAGS)

smoke: $(VENV)/.installed idp
	$(PY) -m tools.run --smoke $(RUN_FLAGS)

demo: $(VENV)/.installed idp
	$(PY) -m tools.demo

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests tools packages
	$(VENV)/bin/ruff format --check src tests tools packages

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy

template: $(VENV)/.installed validate
	$(VENV)/bin/cfn-lint template.yaml

validate: $(SAM_STAMP)
	$(SAM_OFFLINE) $(SAM_ENV) $(SAM) validate --lint $(SAM_TEMPLATE)

build: $(SAM_STAMP) $(VENV)/.installed
	@test -n "$(LAMBDA_PY)" || { echo "make build needs Python 3.13 (pyenv's 3.13.0 or python3.13 on PATH)" >&2; exit 1; }
	PATH="$(dir $(LAMBDA_PY)):$$PATH" $(SAM_ENV) $(SAM) build $(SAM_TEMPLATE)
	$(PY) -m tools.check_build

test: $(VENV)/.installed $(CHECKOV_STAMP) idp client-wheelhouse lint typecheck template build smoke
	$(PY) -m pytest -q

# The authorizer's benchmark runs with the packages a deployed function has
# (src/requirements.txt, and PyJWT for the cold-start floor), not .venv's test tools:
# .venv also holds aws-xray-sdk, which a deployed function does not.
BENCH_VENV := .venv-lambda
$(BENCH_VENV)/.installed: src/requirements.txt requirements-dev.txt
	@test -n "$(LAMBDA_PY)" || { echo "make bench needs Python 3.13 (pyenv's 3.13.0 or python3.13 on PATH)" >&2; exit 1; }
	rm -rf $(BENCH_VENV)
	$(LAMBDA_PY) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-r src/requirements.txt "$$(grep -E '^PyJWT==' requirements-dev.txt)"
	touch $@

bench: $(VENV)/.installed $(BENCH_VENV)/.installed idp
	$(BENCH_VENV)/bin/python -m tools.bench.authorizer; a=$$?; \
	$(PY) -m tools.bench.broker; b=$$?; \
	$(PY) -m tools.bench.fleet; c=$$?; \
	$(PY) -m tools.bench.load; d=$$?; exit $$((a | b | c | d))

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) $(BENCH_VENV) .aws-sam tests/idp/node_modules .pytest_cache .mypy_cache .ruff_cache .hypothesis

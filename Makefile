# Two commands set up and use a fresh machine: `make run` starts the local stack, `make test` runs every test.
PYTHON ?= $(shell command -v /root/.pyenv/versions/3.13.0/bin/python3.13 || command -v python3.13)
VENV := .venv
SAM_VENV := .venv-sam
# `make token ACCOUNT=<id> [SCOPES="flags/read flags/write"] [TTL=3600]` prints a token on its last line.
ACCOUNT ?=
SCOPES ?= flags/read flags/write
TTL ?= 3600
STATE_DIR ?= .local-stack

.PHONY: run test lint bench clean openapi lock

$(VENV)/.installed: requirements-dev.txt constraints-dev.txt layers/status_flags/requirements.txt
	@test -n "$(PYTHON)" || { echo "python3.13 not found; set PYTHON=/path/to/python3.13" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements-dev.txt -c constraints-dev.txt
	touch $@

$(SAM_VENV)/.installed: requirements-sam.txt constraints-sam.txt
	@test -n "$(PYTHON)" || { echo "python3.13 not found; set PYTHON=/path/to/python3.13" >&2; exit 1; }
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/pip install --quiet -r requirements-sam.txt -c constraints-sam.txt
	touch $@

run: $(VENV)/.installed
	$(VENV)/bin/python -m local_stack $(RUN_ARGS)

test: $(VENV)/.installed $(SAM_VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy layers/status_flags functions local_stack
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" SAM_CLI_TELEMETRY=0 $(VENV)/bin/pytest

token: $(VENV)/.installed
	@$(VENV)/bin/python -m local_stack.token --account "$(ACCOUNT)" --scopes "$(SCOPES)" --ttl "$(TTL)" --state-dir "$(STATE_DIR)"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy layers/status_flags functions local_stack

# Regenerate the committed OpenAPI document after changing a route or a request or response model.
openapi: $(VENV)/.installed
	PYTHONPATH=layers/status_flags:functions/api $(VENV)/bin/python scripts/generate_openapi.py

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache

bench: $(VENV)/.installed
	PYTHONPATH=layers/status_flags:functions/api:. $(VENV)/bin/python benchmarks/bench_advance.py

# Record the exact versions now installed, after a change to a requirements file has been tested.
lock: $(VENV)/.installed $(SAM_VENV)/.installed
	{ echo "# Exact versions of every package in .venv, direct and transitive. Regenerate with: make lock"; \
	  $(VENV)/bin/pip freeze --exclude-editable; } > constraints-dev.txt
	{ echo "# Exact versions of every package in .venv-sam, direct and transitive. Regenerate with: make lock"; \
	  $(SAM_VENV)/bin/pip freeze --exclude-editable; } > constraints-sam.txt

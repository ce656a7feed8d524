# Risk flags and proven reoffending: run `make` or `make help` for the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: help setup report lint test notebooks data lab clean

help: ## List the targets
	@grep -hE '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (reoffending analysis)" >/dev/null
	@touch $(STAMP)

setup: $(STAMP) ## Create .venv, install the package with its dev tools, register the Jupyter kernel

report: setup ## Execute every notebook on the default data and write reports/<notebook>.html (code hidden)
	$(PY) -m analysis report --out reports

lint: setup ## Check the code with ruff (pyflakes, pycodestyle, import order, bugbear, pyupgrade, complexity <= 15) then mypy on src/analysis (settings in pyproject.toml)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

test: lint ## Lint, then pytest over the package and strict nbval over every notebook
	$(PY) -m pytest tests notebooks src/analysis --doctest-modules -n 2 --dist loadscope --nbval --nbval-current-env --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:cacheprovider

notebooks: setup ## Re-execute every notebook in place on the default data (commit the result)
	$(PY) -m analysis.build --in-place

data: setup ## Regenerate the synthetic cohort in data/synthetic (deterministic)
	$(PY) -m analysis.synthetic

lab: setup ## Open JupyterLab on the project
	$(VENV)/bin/jupyter lab

clean: ## Remove the environment and generated reports
	rm -rf $(VENV) reports/*.html

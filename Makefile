# The two commands a newcomer runs (see README.md):
#   make book   build the book into _build/html
#   make test   lint, check the notebooks, build the book, run every test
# Both create or reuse the virtual environment in $(VENV) and install what
# they need into it.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch's CPU build, so a fresh environment does not pull a multi-GB CUDA
# build; `make TORCH_CONSTRAINTS=` installs without the constraint.
TORCH_CONSTRAINTS ?= constraints-cpu.txt
PIP_C := $(if $(TORCH_CONSTRAINTS),-c $(TORCH_CONSTRAINTS),)
STAMP := $(VENV)/.installed
empty :=
space := $(empty) $(empty)

# Small RNN steps run best on one thread on a shared 2-core machine
# (benchmarks/bench_nn.py --threads measures it).
export ASCTOOLS_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
# The build's environment comes from _config.yml (asctools_build_env, set by
# book/_ext/asctools_book.py, so that a plain `jupyter-book build` gets it
# too; that extension also keys the execution cache on the package). The
# same variables are spelled here; tests/test_book.py keeps them equal.
BUILD_ENV := TQDM_DISABLE=1 PYDEVD_DISABLE_FILE_VALIDATION=1 ASCTOOLS_STRICT_CHECKS=1 ASCTOOLS_BOOK_HTML=1

# MathJax 3 is served from the site itself (npm's `mathjax` package, which
# the build copies into _static/mathjax/, where _config.yml's mathjax_path
# points), so pages render offline and in the browser tests. Its version is
# _config.yml's asctools_mathjax_version.
MATHJAX_VERSION := $(shell sed -n \
	's/^ *asctools_mathjax_version: *"\([^"]*\)".*/\1/p' _config.yml)
MATHJAX_NPM := _build/mathjax-$(MATHJAX_VERSION)
MATHJAX := $(MATHJAX_NPM)/node_modules/mathjax/es5

.PHONY: help install book test lint format notebooks bench clean \
	browser-deps experiments

help:
	@echo "make book   build the book into _build/html"
	@echo "make test   lint + notebook check + book build + all tests"
	@echo "make notebooks  regenerate the chapters' Colab twins (.ipynb)"
	@echo "make bench  write the performance report (benchmarks/results/)"
	@echo "make experiments  recompute the results store (asctools/results/)"

$(STAMP): pyproject.toml requirements.txt $(TORCH_CONSTRAINTS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(PIP_C) -e ".[test]" \
		-r requirements.txt
	touch $(STAMP)

install: $(STAMP)

$(MATHJAX)/tex-mml-chtml.js:
	npm install --prefix $(MATHJAX_NPM) --no-save --no-audit --no-fund \
		mathjax@$(MATHJAX_VERSION)

# npm's vega, vega-lite and vega-embed draw the interactive figures
# (asctools/plots/interactive/), served from the site too; their versions
# are _config.yml's asctools_vega_versions, and the build copies their
# *.min.js into _static/vega/.
VEGA_PKGS := $(shell sed -n \
	's/^ *\(vega\|vega-lite\|vega-embed\): *"\([^"]*\)".*/\1@\2/p' _config.yml)
VEGA_NPM := _build/vega-$(subst $(space),-,$(foreach p,$(VEGA_PKGS),$(lastword $(subst @, ,$(p)))))
VEGA_EMBED := $(VEGA_NPM)/node_modules/vega-embed/build/vega-embed.min.js

$(VEGA_EMBED):
	npm install --prefix $(VEGA_NPM) --no-save --no-audit --no-fund \
		$(VEGA_PKGS)

book: $(STAMP) $(MATHJAX)/tex-mml-chtml.js $(VEGA_EMBED)
	$(BUILD_ENV) $(BIN)/jupyter-book build . --all -W -n --keep-going

lint: $(STAMP)
	$(BIN)/ruff check asctools tests benchmarks book/_scripts book/_ext
	$(BIN)/ruff format --check asctools tests benchmarks book/_scripts book/_ext

format: $(STAMP)
	$(BIN)/ruff format asctools tests benchmarks book/_scripts book/_ext
	$(BIN)/ruff check --fix asctools tests benchmarks book/_scripts book/_ext

notebooks: $(STAMP)
	$(BIN)/python book/_scripts/sync_notebooks.py

test: $(STAMP)
	$(MAKE) lint
	$(BIN)/python book/_scripts/sync_notebooks.py --check
	$(MAKE) book
	$(MAKE) browser-deps
	$(BIN)/python -m pytest

# tests/test_browser.py drives Debian's chromium: installed here when missing
# and root (as in CI); otherwise those tests skip and say why.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	    else echo "no /usr/bin/chromium, not root: browser tests skip"; fi; \
	fi

# The long multi-seed grids the book renders from: one JSON file per
# experiment in asctools/results/, with provenance. Worker processes with
# one torch thread each, as many as there are cores (2 here: 28.5 min,
# measured on the full catalogue).
experiments: $(STAMP)
	$(BIN)/python -m asctools.experiments --workers $(WORKERS)

WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

bench: $(STAMP)
	$(BIN)/python benchmarks/report.py

clean:
	rm -rf _build

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

# Small RNN steps run best on one thread on a shared 2-core machine
# (benchmarks/bench_nn.py --threads measures it); progress bars stay out of
# the built HTML; ASCTOOLS_BOOK_HTML=1 makes the interactive figures the
# book's HTML blocks (asctools/plots/interactive/embed.py).
export ASCTOOLS_THREADS ?= 1
export OMP_NUM_THREADS ?= 1
BUILD_ENV := TQDM_DISABLE=1 PYDEVD_DISABLE_FILE_VALIDATION=1 ASCTOOLS_STRICT_CHECKS=1 \
	ASCTOOLS_BOOK_HTML=1

# The execution cache is keyed on cell source only; a change to the package
# or the requirements must re-execute the chapters, so it keys the cache too.
CACHE_KEY_FILES := $(sort $(wildcard asctools/*.py asctools/*/*.py \
	asctools/*/*/*.py \
	asctools/results/*.json)) pyproject.toml requirements.txt

# MathJax 3 is served from the site itself (npm's `mathjax` package, copied
# into _static/mathjax/, where _config.yml's mathjax_path points), so pages
# render offline and in the browser tests.
MATHJAX_VERSION ?= 3.2.2
MATHJAX_NPM := _build/mathjax-$(MATHJAX_VERSION)
MATHJAX := $(MATHJAX_NPM)/node_modules/mathjax/es5

# The interactive figures (asctools/plots/interactive.py) are Vega-Lite specs
# drawn by npm's vega, vega-lite and vega-embed, also served from the site:
# their *.min.js go to _static/vega/, where _config.yml's html_js_files
# point. vega-lite's version is the one Altair writes its specs for
# (altair.VEGALITE_VERSION).
VEGA_VERSION ?= 6.2.0
VEGALITE_VERSION ?= 6.4.1
VEGAEMBED_VERSION ?= 7.1.0
VEGA_NPM := _build/vega-$(VEGA_VERSION)-$(VEGALITE_VERSION)-$(VEGAEMBED_VERSION)
VEGA_JS := $(foreach p,vega vega-lite vega-embed,\
	$(VEGA_NPM)/node_modules/$(p)/build/$(p).min.js)
VEGA_EMBED := $(lastword $(VEGA_JS))

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

$(VEGA_EMBED):
	npm install --prefix $(VEGA_NPM) --no-save --no-audit --no-fund \
		vega@$(VEGA_VERSION) vega-lite@$(VEGALITE_VERSION) \
		vega-embed@$(VEGAEMBED_VERSION)

book: $(STAMP) $(MATHJAX)/tex-mml-chtml.js \
		$(VEGA_EMBED)
	@mkdir -p _build/html/_static/vega
	rm -rf _build/html/_static/mathjax
	cp -r $(MATHJAX) _build/html/_static/mathjax
	cp $(VEGA_JS) _build/html/_static/vega/
	@key=$$(cat $(CACHE_KEY_FILES) | sha256sum | cut -c1-16); \
	if [ "$$(cat _build/.cache-key 2>/dev/null)" != "$$key" ]; then \
		echo "asctools or requirements changed: clearing execution cache"; \
		rm -rf _build/.jupyter_cache; echo $$key > _build/.cache-key; \
	fi
	$(BUILD_ENV) $(BIN)/jupyter-book build . --all -W -n --keep-going

lint: $(STAMP)
	$(BIN)/ruff check asctools tests benchmarks book/_scripts
	$(BIN)/ruff format --check asctools tests benchmarks book/_scripts

format: $(STAMP)
	$(BIN)/ruff format asctools tests benchmarks book/_scripts
	$(BIN)/ruff check --fix asctools tests benchmarks book/_scripts

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
# one torch thread each, as many as there are cores (2 here: about an hour).
experiments: $(STAMP)
	$(BIN)/python -m asctools.experiments --workers $(WORKERS)

WORKERS ?= $(shell nproc 2>/dev/null || echo 2)

bench: $(STAMP)
	$(BIN)/python benchmarks/report.py

clean:
	rm -rf _build

# estate-sim: `make demo` runs the policy comparison on Ouyang Road (and its ranking under parameter
# uncertainty); `make test` runs the tests.
# Both build their own virtual environment (.venv) with a Python >= 3.12 found by tools/find-python.sh.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: demo test test-fast lint bench clean venv browser-deps cjk-font

venv: $(STAMP)

$(STAMP): pyproject.toml tools/find-python.sh
	@python=$$(tools/find-python.sh) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	rm -rf $(VENV) && "$$python" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP) cjk-font
	$(PY) -m sim demo --out $(OUT)

test: $(STAMP) cjk-font browser-deps
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder -q

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -q -m "not slow and not browser"

lint: $(STAMP)
	$(PY) -m ruff check sim analysis tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/bench_mesa_engine.py

# Install the Debian packages $(1) when missing, as root with apt-get; else say loudly what $(2).
define apt_install
	@packages="$(strip $(1))"; \
	if [ -n "$$packages" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Debian's $$packages"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$packages >/dev/null) \
	      || echo "WARNING: could not install $$packages: $(2)"; \
	  else \
	    echo "WARNING: $$packages missing and cannot be installed here: $(2)"; \
	  fi; \
	fi
endef

# Figures, the HTML report and the app label in Chinese (scenario labels, block names, the app in
# Chinese): they need a font with CJK glyphs (Debian's fonts-noto-cjk), or show empty boxes.
CJK_PACKAGES = $(if $(shell fc-list :lang=zh 2>/dev/null),,fonts-noto-cjk)
cjk-font:
	$(call apt_install,$(CJK_PACKAGES),Chinese text in figures and reports will show as empty boxes)

# Browser tests use Debian's chromium (playwright cannot download its own browser here) and the
# app's front-end assets, fetched once with npm into Solara's cache (sim/app/assets.py).
BROWSER_PACKAGES = $(if $(wildcard /usr/bin/chromium),,chromium)
browser-deps: $(STAMP) cjk-font
	@$(PY) -m sim.app.assets >/dev/null 2>&1 || echo "WARNING: could not fetch the app's front-end assets (npm): the browser tests will be SKIPPED"
	$(call apt_install,$(BROWSER_PACKAGES),the browser tests may be SKIPPED)

clean:
	rm -rf $(VENV) $(OUT) .pytest_cache

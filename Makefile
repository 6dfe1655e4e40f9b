# Two commands do all the set-up on a fresh machine:
#   make demo   installs the exporter in .venv and serves it against a simulated replica set on :9787
#   make test   installs what the tests need (Python packages in .venv, Debian's promtool and chromium) and runs them
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint unit system-deps packages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-runtime

demo: $(VENV)/.installed-runtime
	$(BIN)/pmm-backup-prereq-exporter demo

# Debian packages the tests use: promtool (prometheus), headless Chromium (chromium), and PMM's metrics stack for
# tests/test_vm_chain.py: VictoriaMetrics with vmalert (victoria-metrics) and Alertmanager (prometheus-alertmanager),
# and for building and checking node-check's packages (tests/test_packages.py): lintian, rpm (rpmbuild, rpm2cpio),
# rpmlint and cpio, installed if missing
system-deps:
	@missing=""; \
	command -v promtool >/dev/null || missing="$$missing prometheus"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	{ command -v victoria-metrics && command -v vmalert; } >/dev/null || missing="$$missing victoria-metrics"; \
	command -v prometheus-alertmanager >/dev/null || missing="$$missing prometheus-alertmanager"; \
	command -v lintian >/dev/null || missing="$$missing lintian"; \
	{ command -v rpmbuild && command -v rpm2cpio; } >/dev/null || missing="$$missing rpm"; \
	command -v rpmlint >/dev/null || missing="$$missing rpmlint"; \
	command -v cpio >/dev/null || missing="$$missing cpio"; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint: $(VENV)/.installed-test
	$(BIN)/ruff check exporter pbm_pmm_simulator tests tools bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(VENV)/.installed-test system-deps
	$(BIN)/pytest

test: lint unit

# node-check's .deb and .rpm in dist/ (tools/build_packages.py: standard library only, needs dpkg-deb and rpmbuild)
packages:
	$(PYTHON) tools/build_packages.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache

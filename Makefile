# Every target is idempotent: re-running does only the work that is missing.
SHELL := /bin/bash
PY_SYS ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BMRU := $(VENV)/bin/bmru
SYSTEM_PACKAGES := ngspice libngspice0 klayout espeak-ng
# ngspice runs one job per process; its OpenMP threads would fight over the cores.
export OMP_NUM_THREADS := 1
export HOME ?= /root

.PHONY: install system-packages demo test test-all bench clean

install: system-packages $(VENV)/.installed

system-packages:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    echo "installing system packages:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing system packages:$$missing -- run: sudo apt-get install$$missing" >&2; exit 1; \
	  fi; \
	fi

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PY_SYS) -m venv $(VENV)
	$(PY) -m pip install -q -e '.[dev,train]'
	@touch $@

# The most complete flow that exists today, on the shipped examples.
demo: install
	$(BMRU) characterize devices -o build/demo/characterization
	$(BMRU) model run examples/flipflop.yaml --inputs examples/flipflop_mixed.csv -o build/demo/flipflop
	@echo "demo outputs in build/demo/: characterization/ (JSON + plots), flipflop/software.csv"

test: install
	$(PY) -m pytest -q

test-all: install
	$(PY) -m pytest -q -m ''

bench: install
	$(PY) benchmarks/model_load.py

clean:
	rm -rf build .pytest_cache

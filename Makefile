# Every target is idempotent: re-running does only the work that is missing.
SHELL := /bin/bash
PY_SYS ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
BMRU := $(VENV)/bin/bmru
SYSTEM_PACKAGES := ngspice libngspice0 klayout espeak-ng chromium xvfb xschem
# numpy's BLAS on one thread (small matrices; parallel jobs would fight over the cores).
# ngspice ignores this: pdk.ngspice sets each job's OpenMP team in a .spiceinit.
export OMP_NUM_THREADS := 1
export HOME ?= /root

.PHONY: install system-packages ngspice46 demo test test-all bench screenshots clean

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

# Optional engine: ngspice 46 with KLU from the machine's Debian backports, unpacked into
# .tools/ (the system's ngspice stays); use it with BMRU_ENGINE=ngspice46 (pdk/engines.py).
ngspice46: .tools/ngspice46/scripts/spinit

.tools/ngspice46/scripts/spinit: | install
	$(PY) -c 'from pdk.engines import install_backports; install_backports()'

# Compile → simulate → report of the shipped KWS example (M = 8: the network was trained to
# keep its accuracy with weights on a 1/8 grid, see examples/README.md).
DEMO := build/demo/kws_d4
DEMO_SEQUENCES := yes_en-gb-scotland-m8_s156_p28_0 noise_50
# The shipped monDEQ digits classifier (bmru train mondeq --task digits), on 20 test digits.
MD_DEMO := build/demo/md_digits
# The shipped R²NN condition monitor (bmru train r2nn --task machine) on two test waveforms.
R2_DEMO := build/demo/r2nn_machine
R2_DEMO_WAVES := machine_bearing_0 machine_healthy_0
demo: install
	$(BMRU) compile examples/kws_d4.yaml -o $(DEMO) --diode-units 8
	@for s in $(DEMO_SEQUENCES); do \
	  $(BMRU) simulate examples/kws_d4.yaml --inputs examples/kws/$$s.csv --diode-units 8 \
	    -o $(DEMO)/simulations/$$s || exit 1; \
	done
	$(BMRU) report $(DEMO)
	$(BMRU) compile examples/md_digits.yaml -o $(MD_DEMO)
	$(BMRU) simulate examples/md_digits.yaml --inputs examples/md_digits/test_rows.csv \
	  -o $(MD_DEMO)/simulations/test_rows
	$(BMRU) report $(MD_DEMO)
	$(BMRU) compile examples/r2nn_machine.yaml -o $(R2_DEMO)
	@for w in $(R2_DEMO_WAVES); do \
	  $(BMRU) simulate examples/r2nn_machine.yaml --inputs examples/r2nn/$$w.csv \
	    -o $(R2_DEMO)/simulations/$$w || exit 1; \
	done
	$(BMRU) report $(R2_DEMO)
	@echo
	@echo "GDS:    $(DEMO)/kws_d4.gds   (open: $(BMRU) view $(DEMO)/kws_d4.gds)"
	@echo "report: $(DEMO)/report.html  ($(DEMO)/report.md)"
	@echo "monDEQ: $(MD_DEMO)/report.html  (resistor–diode digits classifier)"
	@echo "R²NN:   $(R2_DEMO)/report.html  (Gm-C mass–spring lattice, machine condition monitor)"

test: install
	$(PY) -m pytest -q

test-all: install
	$(PY) -m pytest -q -m ''

# Speed claims: each script prints its numbers and ratios from one run (minutes each).
bench: install
	$(PY) benchmarks/model_load.py
	$(PY) benchmarks/circuit_model.py
	$(PY) benchmarks/monte_carlo.py
	$(PY) benchmarks/simulate_scaling.py
	$(PY) benchmarks/flat_decks.py

# README screenshots: kws_d4's BMRU cell, largest dense block and top level as bmru compile
# draws them, at 100 % zoom in headless Chromium (flows/browser.py).
SHOTS := $(addprefix docs/screenshots/schematic_,bmru_cell.png dense_block.png top_level.png)
screenshots: $(SHOTS)

$(SHOTS) &: examples/kws_d4.yaml flows/schematic.py flows/browser.py | install
	rm -rf build/screenshots
	$(BMRU) compile examples/kws_d4.yaml -o build/screenshots/kws_d4 --diode-units 8 --no-check
	$(PY) -m flows.browser build/screenshots/kws_d4/schematics docs/screenshots

clean:
	rm -rf build .pytest_cache

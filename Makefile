# Four high-performance pipelines sharing one harness (perfkit). `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
# uv from PATH, else the copy `make setup` installed with pip (python -m uv finds its binary).
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN = $(UV) run --frozen --all-packages
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache
export PYTHONHASHSEED := 0
FULL ?=
PYTEST_ARGS ?=

.PHONY: help setup test lint bench bench-seg1b bench-mbp10 bench-qyn1 bench-batted-ball \
        profile-seg1b profile-mbp10 profile-qyn1 profile-batted-ball

help: ## Show this help
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}'

setup: ## Install uv if missing (pip --user), then uv sync --all-packages --frozen
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
	  $(PYTHON) -m pip install --quiet --user uv || \
	  $(PYTHON) -m pip install --quiet --user --break-system-packages uv || \
	  $(PYTHON) -m pip install --quiet uv
	$(UV) sync --all-packages --frozen

test: setup ## Run the whole test suite (installs first)
	$(RUN) pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: setup ## ruff check + format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

bench: setup ## Run all four pipeline benchmarks on their defaults and print one summary table
	-$(MAKE) --no-print-directory bench-seg1b
	-$(MAKE) --no-print-directory bench-mbp10
	-$(MAKE) --no-print-directory bench-qyn1
	-$(MAKE) --no-print-directory bench-batted-ball
	$(RUN) perfkit bench-summary seg1b mbp10 qyn1 batted_ball

bench-seg1b: setup ## seg1b S1/S6 fast vs legacy, then the world (FULL=1: 30 arc-second world)
	$(RUN) python benchmarks/bench_seg1b.py $(if $(FULL),--full,)

bench-mbp10: setup ## mbp10 bar5s kernel vs reference, one day end to end (FULL=1: + 20 days on 2 workers)
	$(RUN) python benchmarks/bench_mbp10.py $(if $(FULL),--full,)

bench-qyn1: setup ## qyn1 pack/unpack of the stdlib corpus vs zlib/lzma/zstd/brotli, crypto fast vs reference
	$(RUN) python benchmarks/bench_qyn1.py $(if $(FULL),--full,)

bench-batted-ball: setup ## batted-ball trajectories/s vs reference, games, a season
	$(RUN) python benchmarks/bench_batted_ball.py $(if $(FULL),--full,)

profile-seg1b: setup ## cProfile a small seg1b S1 run -> reports/profile-seg1b/ (pstats + profile_top.json)
	$(RUN) perfkit profile -o reports/profile-seg1b/run.pstats -- seg1b s1 --countries ne110m --resolution-arcsec 300 --out reports/profile-seg1b/s1 --quiet

profile-mbp10: setup ## cProfile mbp10 bars on a synthetic day -> reports/profile-mbp10/
	$(RUN) mbp10 synth --date 2024-01-02 --records 300000 --seed 1 --out reports/profile-mbp10.dbn.zst
	$(RUN) perfkit profile -o reports/profile-mbp10/run.pstats -- mbp10 bars reports/profile-mbp10.dbn.zst -o reports/profile-mbp10-bars.parquet

profile-qyn1: setup ## cProfile encoder -> compressor -> encryptor on a representative module
	$(RUN) qyn1 profile --out reports/profile-qyn1.json

profile-batted-ball: setup ## cProfile one simulated game -> reports/profile-batted-ball/
	$(RUN) perfkit profile -o reports/profile-batted-ball/run.pstats -- batted-ball game --seed 1

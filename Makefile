# Four high-performance pipelines sharing one harness (perfkit). `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
# uv from PATH, else the copy `make setup` installed with pip (python -m uv finds its binary).
UV = $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
RUN = $(UV) run --frozen --all-packages
BIN := $(CURDIR)/.venv/bin
# One Numba cache for make and for every program run from .venv (setup writes a .pth with this default).
export NUMBA_CACHE_DIR := $(CURDIR)/.numba_cache
export PYTHONHASHSEED := 0
FULL ?=
PYTEST_ARGS ?=
# The warm-up reruns when a module with Numba kernels (their cache key is the file) or the lock changes.
WARM_STAMP := $(NUMBA_CACHE_DIR)/.warm-stamp
WARM_SOURCES := uv.lock $(shell grep -rlE 'njit|numba' --include='*.py' packages/*/src perfkit/src 2>/dev/null)

.PHONY: help setup warm warm-qyn1 warm-others test lint bench bench-seg1b bench-mbp10 bench-qyn1 bench-qyn1-classes bench-qyn1-cm bench-batted-ball perf-gate \
        profile-seg1b profile-mbp10 profile-qyn1 profile-batted-ball

help: ## Show this help
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}'

setup: ## Install uv if missing (pip --user), uv sync --all-packages --frozen, precompile bytecode and every Numba kernel
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || \
	  $(PYTHON) -m pip install --quiet --user uv || \
	  $(PYTHON) -m pip install --quiet --user --break-system-packages uv || \
	  $(PYTHON) -m pip install --quiet uv
	$(UV) sync --all-packages --frozen --compile-bytecode
	@$(BIN)/python -m compileall -q -j 0 perfkit/src packages/*/src >/dev/null
	@$(BIN)/python -c 'import os, sys, sysconfig; \
	  pth = os.path.join(sysconfig.get_paths()["purelib"], "_perf_pipelines_numba_cache.pth"); \
	  open(pth, "w").write("import os; os.environ.setdefault(\"NUMBA_CACHE_DIR\", %r)\n" % sys.argv[1])' \
	  "$(NUMBA_CACHE_DIR)"
	@$(MAKE) --no-print-directory --silent $(WARM_STAMP)
	@echo "ready: run the commands from this folder as .venv/bin/<command> (seg1b, mbp10, qyn1, batted-ball, perfkit),"
	@echo "       or 'source .venv/bin/activate' once per shell and drop the .venv/bin/ prefix."

warm: ## Compile and cache every Numba kernel now (setup does this when a kernel module changed)
	@rm -f $(WARM_STAMP)
	@$(MAKE) --no-print-directory --silent $(WARM_STAMP)

# Each CLI once on a tiny input, in a scratch folder, so every kernel is compiled with the argument types
# real runs use. Two chains of about equal compile time (qyn1 alone; the other three) run side by side under
# `make -j2`, so Ctrl-C reaches both (they stay in the foreground process group). A failed step is reported
# and the stamp not written (the next setup tries again); an interrupted one stops the warm-up.
WARM_STEP = [ -n "$(WARM_DIR)" ] || { echo "$@ is a part of 'make warm'; run that"; exit 2; }; \
	  warm() { "$$@" >log 2>&1; rc=$$?; [ $$rc -lt 128 ] || exit $$rc; [ $$rc = 0 ] || \
	  { touch ../failed; echo "warm-up step failed: $$*"; tail -n 3 log; }; }; mkdir -p "$(WARM_DIR)/$@" && cd "$(WARM_DIR)/$@"

$(WARM_STAMP): $(WARM_SOURCES)
	@echo "compiling the Numba kernels into $(NUMBA_CACHE_DIR) (once; a few minutes on a fresh clone) ..."
	@start=$$SECONDS; scratch=$$(mktemp -d); trap 'rm -rf "$$scratch"' EXIT; \
	$(MAKE) --no-print-directory --silent -j2 WARM_DIR="$$scratch" warm-qyn1 warm-others || exit $$?; \
	echo "Numba kernels compiled in $$((SECONDS - start)) s"; \
	if [ ! -e "$$scratch/failed" ]; then mkdir -p "$(dir $@)" && touch "$@"; fi

warm-qyn1:
	@$(WARM_STEP); \
	warm $(BIN)/qyn1 keygen key.bin; \
	warm $(BIN)/qyn1 pack $(CURDIR)/perfkit/src/perfkit/errors.py $(CURDIR)/fixtures/qyn1/RFC8439_NOTICE \
	  $(CURDIR)/fixtures/mbp10/databento/LICENSE $(CURDIR)/fixtures/mbp10/databento/XNAS.ITCH__test_data.mbp-10.dbn.zst \
	  -o p.qyn --key key.bin --quiet; \
	warm $(BIN)/qyn1 unpack p.qyn -o unpacked --key key.bin --quiet

warm-others:
	@$(WARM_STEP); \
	warm $(BIN)/seg1b s1 --countries ne110m --resolution-arcsec 3600 --out s1 --quiet; \
	warm $(BIN)/seg1b sites --tiles s1 --count 500 --seed 1 --out plan.parquet --quiet; \
	warm $(BIN)/seg1b s6 --tiles s1 --sites plan.parquet --seed 1 --countries ne110m --out s6 --quiet; \
	warm $(BIN)/mbp10 synth --date 2024-01-02 --records 20000 --seed 1 --out day.dbn.zst --quiet; \
	warm $(BIN)/mbp10 bars day.dbn.zst -o bars.parquet --quiet; \
	warm $(BIN)/batted-ball trajectory --exit-velo 100 --launch-angle 28 --backspin 2000 --json; \
	warm $(BIN)/batted-ball pitch --velo 95 --json; \
	warm $(BIN)/batted-ball game --seed 1; \
	warm $(BIN)/batted-ball season --games 2 --seed 1 --out season --quiet; \
	warm $(BIN)/batted-ball validate

test: setup ## Run the whole test suite (installs first)
	$(RUN) pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

lint: setup ## ruff check + format check
	$(RUN) ruff check .
	$(RUN) ruff format --check .

# Every benchmark runs even when one fails; the summary marks the failed ones and rows older than this run
# (stale), and a failure fails `make bench` after the table is printed. Ctrl-C stops at once.
bench: setup ## Run all four pipeline benchmarks on their defaults and print one summary table
	@since=$$(date -u +%Y-%m-%dT%H:%M:%SZ); failed=(); \
	for p in seg1b mbp10 qyn1 batted-ball; do \
	  $(MAKE) --no-print-directory bench-$$p; rc=$$?; [ $$rc -lt 128 ] || exit $$rc; \
	  [ $$rc = 0 ] || failed+=(--failed $$p); \
	done; \
	$(RUN) perfkit bench-summary seg1b mbp10 qyn1 batted_ball --since $$since "$${failed[@]}"

# Instructions, not seconds: each pipeline's small fixed workload under valgrind (callgrind), compared with
# benchmarks/gate/baseline.json; fails when one needs > 3% more. UPDATE=1 rewrites the baseline (commit it
# with the change that explains it). The Numba cache is warm (setup), and imports are not counted.
perf-gate: setup ## CI gate: instruction counts of a fixed workload per pipeline vs the committed baseline (UPDATE=1: rewrite it)
	$(RUN) perfkit gate $(if $(UPDATE),--update,)

bench-seg1b: setup ## seg1b S1/S6 fast vs legacy, then the world (FULL=1: 30 arc-second world)
	$(RUN) python benchmarks/bench_seg1b.py $(if $(FULL),--full,)

bench-mbp10: setup ## mbp10 bar5s kernel (in memory, with its input in cache, and in the streaming pipeline) vs the fair reference, one day and a 15-instrument ES.FUT day end to end (FULL=1: + 20 days on 2 workers)
	$(RUN) python benchmarks/bench_mbp10.py $(if $(FULL),--full,)

bench-qyn1: setup ## qyn1 pack/unpack of the stdlib corpus vs zlib/lzma/zstd/brotli, crypto fast vs reference
	$(RUN) python benchmarks/bench_qyn1.py $(if $(FULL),--full,)

bench-qyn1-classes: setup ## qyn1 vs brotli-11/zstd-19 per file kind, and whole packages vs tar | zstd -19 --long
	$(RUN) python benchmarks/qyn1_classes.py --max-mb 3 --packages rich,numba,pandas --python-max

bench-qyn1-cm: setup ## what the cm coder adds on Python chunks (ratio) and what it costs (decode time)
	$(RUN) python benchmarks/qyn1_cm_choice.py

bench-batted-ball: setup ## batted-ball trajectories/s vs reference, games, a season
	$(RUN) python benchmarks/bench_batted_ball.py $(if $(FULL),--full,)

profile-seg1b: setup ## cProfile a small seg1b S1 run -> reports/profile-seg1b/ (run.pstats + run.top.json)
	$(RUN) perfkit profile --force -o reports/profile-seg1b/run.pstats -- seg1b s1 --countries ne110m --resolution-arcsec 300 --out reports/profile-seg1b/s1 --force --quiet

profile-mbp10: setup ## cProfile mbp10 bars on a synthetic day -> reports/profile-mbp10/
	$(RUN) mbp10 synth --date 2024-01-02 --records 300000 --seed 1 --out reports/profile-mbp10.dbn.zst --force
	$(RUN) perfkit profile --force -o reports/profile-mbp10/run.pstats -- mbp10 bars reports/profile-mbp10.dbn.zst -o reports/profile-mbp10-bars.parquet --force

profile-qyn1: setup ## cProfile encoder -> compressor -> encryptor on a representative module
	$(RUN) qyn1 profile --out reports/profile-qyn1.json --force

profile-batted-ball: setup ## cProfile one simulated game -> reports/profile-batted-ball/
	$(RUN) perfkit profile --force -o reports/profile-batted-ball/run.pstats -- batted-ball game --seed 1

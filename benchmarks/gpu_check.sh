#!/usr/bin/env bash
# `make gpu-check`: on a GPU machine whose Python already has RAPIDS, run the `gpu` test tier on the real GPU
# engine, then the GPU benchmarks, each step bounded in time, writing every log and result under OUT_DIR.
# Sized for one H100/H200 with 16 cores: at most 8 minutes in all (the step limits below add up to 480 s).
#   make gpu-check PYTHON=python3 OUT_DIR=/path/to/folder
#   make gpu-check PYTHON=.venv/bin/python STANDIN=1 QUICK=1 OUT_DIR=/tmp/rehearsal   # rehearsal without a GPU
set -uo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
OUT="${OUT_DIR:?OUT_DIR: the folder to write logs and results to}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"

LIMIT_SCALE=1
if [ "${QUICK:-0}" = 1 ]; then  # small sizes: a rehearsal, whose figures mean nothing, on a slower machine
  LIMIT_SCALE=3  # the stand-in engine runs both sides on a 2-core CPU (the models suite: ~30 s quiet)
  BENCH_SIZES=20000 MODEL_SIZES=1000 MODEL_REPEATS=1 PRESET_SIZES=20000 BATCHES=64 REPEATS=1
else  # the models suite is the slow one on the CPU side (SVC, t-SNE): fewer rows and repeats
  BENCH_SIZES=1e6,5e6 MODEL_SIZES=1e4 MODEL_REPEATS=2 PRESET_SIZES="100000 1000000" BATCHES=128,512 REPEATS=3
fi

RUN_MODULE=("$PY" -m)
PYTEST=("$PY" -m pytest)
if [ "${STANDIN:-0}" = 1 ]; then  # the GPU engine on the pandas/numpy stand-ins (tests/standin)
  export PYTHONPATH="$PWD/tests/standin${PYTHONPATH:+:$PYTHONPATH}"
  RUN_MODULE=("$PY" -m with_standin)
  PYTEST=("$PY" -m pytest -p preflight_plugin)
  echo "REHEARSAL on the stand-in engine (numpy/pandas on the CPU): no figure here is a GPU figure" >> "$SUMMARY"
fi

step() {  # step NAME SECONDS COMMAND...: run it bounded in time, log it, note its outcome and duration
  local name="$1" limit="$(($2 * LIMIT_SCALE))"; shift 2
  local start=$SECONDS
  echo "== $name (at most ${limit}s): $*"
  if [ "${STANDIN:-0}" = 1 ]; then export GPL_PREFLIGHT_CALLS="$OUT/calls-$name.json"; fi  # what it called
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local code=$?
  local outcome="passed"; [ "$code" -ne 0 ] && outcome="FAILED (exit $code)"; [ "$code" -eq 124 ] && outcome="TIMED OUT"
  printf '%-16s %-20s %4ss  %s\n' "$name" "$outcome" "$((SECONDS - start))" "$OUT/$name.log" | tee -a "$SUMMARY"
  tail -n 3 "$OUT/$name.log"
}

step environment 30 "$PY" - <<'PY'
import importlib, platform, subprocess, sys
print("python", sys.version.split()[0], platform.platform())
for name in ("cudf", "cuml", "cupy", "rmm", "pandas", "numpy", "pyarrow", "sklearn", "torch", "dask", "distributed",
             "dask_cudf", "dask_cuda", "pynvml", "psutil", "streamlit", "altair", "openpyxl", "defusedxml", "pytest"):
    try:
        module = importlib.import_module(name)
        print(f"{name:12} {getattr(module, '__version__', '?')}")
    except Exception as error:
        print(f"{name:12} MISSING: {type(error).__name__}: {error}")
try:
    print(subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=20).stdout)
except (OSError, subprocess.TimeoutExpired) as error:
    print("nvidia-smi:", error)
import os
if os.environ.get("STANDIN") == "1":
    from standin_activate import activate
    activate()
from pipeline.engines import detect
for status in detect():
    print(status)
PY

step gpu-tests 150 "${PYTEST[@]}" -m gpu -p no:cacheprovider -q -rs --junitxml="$OUT/gpu-tests.xml"
step bench 130 "${RUN_MODULE[@]}" pipeline.bench --suite io,groupby,join --engines cpu,gpu --sizes "$BENCH_SIZES" \
  --repeat "$REPEATS" --out "$OUT/bench.json" --csv "$OUT/bench.csv"
step models 90 "${RUN_MODULE[@]}" pipeline.bench --suite models --engines cpu,gpu --sizes "$MODEL_SIZES" \
  --repeat "$MODEL_REPEATS" --out "$OUT/models.json"
# shellcheck disable=SC2086  # the sizes are separate arguments
step presets 45 "${RUN_MODULE[@]}" benchmarks.pipeline_speed --engines cpu gpu --sizes $PRESET_SIZES \
  --repeats "$REPEATS" --out "$OUT/pipeline_speed.json"
step dl 35 "${RUN_MODULE[@]}" benchmarks.dl_throughput --batch-sizes "$BATCHES" --repeats "$REPEATS" \
  --out "$OUT/dl_throughput.json"

echo "== summary ($SUMMARY)"
cat "$SUMMARY"
! grep -q "FAILED\|TIMED OUT" "$SUMMARY"

#!/usr/bin/env bash
# A short fuzzing pass over every target, one after another: builds, then runs each for SECONDS
# (default 60). Exits non-zero at the first crash, leak, timeout or memory overrun.
#
#   bash Fuzz/smoke.sh [SECONDS]
#   SPCONVLAB_FUZZ_SMOKE=1 swift test --filter FuzzSmokeTests     # the same, from the test suite
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
bash build.sh >/dev/null
for target in safetensors npy png idx onnx database; do
    bash run.sh "$target" -max_total_time="$seconds"
done

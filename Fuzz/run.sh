#!/usr/bin/env bash
# Runs one libFuzzer target (after Fuzz/build.sh) on its corpus, within the memory budget.
#
#   bash Fuzz/run.sh TARGET [libFuzzer flags...]
#   bash Fuzz/run.sh safetensors -runs=10000000
#   bash Fuzz/run.sh database -max_total_time=2400
#
# TARGET is one of: safetensors npy png idx onnx database. New inputs go to Fuzz/.build/corpus/TARGET
# (not committed; the committed seeds in Fuzz/Corpus/TARGET are only read), crashes to
# Fuzz/.build/artifacts/TARGET/, the log to Fuzz/.build/logs/TARGET-<time>.log.
set -euo pipefail
cd "$(dirname "$0")"
target="${1:?usage: run.sh TARGET [libFuzzer flags...] (TARGET: safetensors npy png idx onnx database)}"
shift
case "$target" in
    safetensors) max_len=4096;  dict=Dictionaries/json.dict ;;
    npy)         max_len=4096;  dict=Dictionaries/npy.dict ;;
    png)         max_len=8192;  dict=Dictionaries/png.dict ;;
    idx)         max_len=8192;  dict="" ;;
    onnx)        max_len=16384; dict="" ;;
    database)    max_len=65536; dict=Dictionaries/sql.dict ;;
    *) echo "run.sh: unknown target '$target'; expected safetensors, npy, png, idx, onnx or database" >&2; exit 64 ;;
esac
bin="$(swift build -c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing --build-path .build --show-bin-path)"
binary="$bin/fuzz-$target"
[ -x "$binary" ] || { echo "run.sh: $binary is missing; run bash Fuzz/build.sh first" >&2; exit 1; }
mkdir -p ".build/corpus/$target" ".build/artifacts/$target" .build/logs
log=".build/logs/$target-$(date -u +%Y%m%dT%H%M%SZ).log"
options=(-rss_limit_mb=2048 -malloc_limit_mb=512 -timeout=30 -max_len="$max_len" -print_final_stats=1
         -artifact_prefix=".build/artifacts/$target/")
[ -n "$dict" ] && options+=(-dict="$dict")
# Swift's own crash handler reads the crashed process's memory, which AddressSanitizer reports
# as a second, bogus crash; libFuzzer's report is the one wanted.
export SWIFT_BACKTRACE=enable=no
echo "run.sh: $binary ${options[*]} $* .build/corpus/$target Corpus/$target (log: Fuzz/$log)" >&2
"$binary" "${options[@]}" "$@" ".build/corpus/$target" "Corpus/$target" 2>&1 | tee "$log"
exit "${PIPESTATUS[0]}"

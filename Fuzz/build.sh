#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/Package.swift) with coverage instrumentation and AddressSanitizer
# on every Swift module, the toolkit's included, and prints the folder of the binaries.
#
#   bash Fuzz/build.sh            # release (-O keeps every bounds, overflow and precondition check)
#   FUZZ_JOBS=2 bash Fuzz/build.sh
#   FUZZ_SYSTEM_C_LIBRARIES=1 bash Fuzz/build.sh   # link the system's libpng and zlib, not instrumented
#
# libpng and zlib are built instrumented too (build-c-libraries.sh; its FUZZ_LIBPNG_GIT and
# FUZZ_ZLIB_GIT name mirrors) and linked ahead of the system's; SQLite stays the system's.
#
# The sanitizers: SwiftPM's --sanitize fuzzer makes it leave `main` to libFuzzer (no renamed entry
# point, no --defsym main=...), and one -Xswiftc -sanitize=fuzzer,address, which comes last,
# turns both on: swiftc keeps only the last -sanitize= flag, and --sanitize fuzzer --sanitize
# address passes two in an order that changes from run to run (a build got coverage or
# AddressSanitizer, not both).
set -euo pipefail
cd "$(dirname "$0")"
flags=(-c release --sanitize fuzzer -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing --build-path .build)
if [ "${FUZZ_SYSTEM_C_LIBRARIES:-0}" != 1 ]; then
    # Whole, so that its definitions come before the shared libpng16 and libz that pkg-config's
    # -L/usr/lib/... would otherwise find first (libpng16.a carries zlib).
    libraries="$(bash build-c-libraries.sh)"
    flags+=(-Xlinker --whole-archive -Xlinker "$libraries/libpng16.a" -Xlinker --no-whole-archive)
fi
swift build "${flags[@]}" -j "${FUZZ_JOBS:-1}" >&2
swift build "${flags[@]}" --show-bin-path

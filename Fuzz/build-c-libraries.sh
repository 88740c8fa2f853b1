#!/usr/bin/env bash
# Builds libpng and zlib from source, instrumented like the Swift code (coverage for libFuzzer,
# AddressSanitizer), as static libraries in Fuzz/.build/c-libraries/ for build.sh to link ahead of
# the system's shared ones. Without them the PNG target sees only the Swift side of PNGCodec (a few
# dozen edges) and AddressSanitizer cannot see libpng or zlib write past the buffers the Swift code
# hands them. The versions are those of the Debian packages the toolkit links (libpng16-16,
# zlib1g), taken from the upstream repositories by tag; SQLite stays the system's.
#
#   bash Fuzz/build-c-libraries.sh        # needs git and network once; cached in Fuzz/.build/c-sources
#   FUZZ_LIBPNG_GIT=/path/to/libpng.git FUZZ_ZLIB_GIT=/path/to/zlib.git bash Fuzz/build-c-libraries.sh   # from mirrors
set -euo pipefail
cd "$(dirname "$0")"
libpng_tag=v1.6.39
zlib_tag=v1.2.13
sources=.build/c-sources
out=.build/c-libraries
clang="$(dirname "$(command -v swiftc)")/clang"   # the toolchain's clang: same sanitizer runtime as swiftc
flags=(-O1 -g -fPIC -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address -w)

fetch() {  # fetch NAME URL TAG
    [ -d "$sources/$1" ] || git -c advice.detachedHead=false clone --quiet --depth 1 --branch "$3" "$2" "$sources/$1" >&2
}
mkdir -p "$sources" "$out"
fetch zlib "${FUZZ_ZLIB_GIT:-https://github.com/madler/zlib}" "$zlib_tag"
fetch libpng "${FUZZ_LIBPNG_GIT:-https://github.com/pnggroup/libpng}" "$libpng_tag"

build() {  # build LIBRARY FOLDER FILES... (extra compiler flags in $extra)
    local library="$1" folder="$2"; shift 2
    local objects=()
    mkdir -p "$out/$library.o"
    for file in "$@"; do
        "$clang" "${flags[@]}" ${extra:-} -I "$sources/zlib" -I "$folder" -c "$folder/$file" -o "$out/$library.o/${file%.c}.o"
        objects+=("$out/$library.o/${file%.c}.o")
    done
    rm -f "$out/$library.a"
    ar rcs "$out/$library.a" "${objects[@]}"
}

extra="-DHAVE_UNISTD_H -DHAVE_STDARG_H" build libz "$sources/zlib" adler32.c compress.c crc32.c deflate.c gzclose.c gzlib.c gzread.c gzwrite.c \
    infback.c inffast.c inflate.c inftrees.c trees.c uncompr.c zutil.c
cp "$sources/libpng/scripts/pnglibconf.h.prebuilt" "$sources/libpng/pnglibconf.h"
extra="-DPNG_INTEL_SSE_OPT=0 -DPNG_ARM_NEON_OPT=0" build libpng16 "$sources/libpng" png.c pngerror.c pngget.c \
    pngmem.c pngpread.c pngread.c pngrio.c pngrtran.c pngrutil.c pngset.c pngtrans.c pngwio.c pngwrite.c pngwtran.c pngwutil.c
# libpng16.a carries zlib too: the linker meets -lpng16 and -lz in whatever order the modules
# autolink them, and a static libpng before libz would leave libpng's zlib calls unresolved.
ar rs "$out/libpng16.a" "$out"/libz.o/*.o
echo "$PWD/$out"

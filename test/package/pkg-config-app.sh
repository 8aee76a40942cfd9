#!/bin/sh
# Builds a C program against an installed sieve through pkg-config alone and
# runs it: pkg-config-app.sh PREFIX SOURCE.c WORKDIR CC [CFLAGS] (CFLAGS: the
# sanitizer flags of a sanitizer build)
set -eu
prefix=$1 source=$2 work=$3 cc=$4 cflags=${5:-}
pc=$(find "$prefix" -name sieve.pc)
[ -n "$pc" ] || { echo "no sieve.pc under $prefix" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
flags=$(pkg-config --cflags --libs sieve)
echo "pkg-config --cflags --libs sieve: $flags"
case "$flags" in *-lsieve*) ;; *) echo "no -lsieve in: $flags" >&2; exit 1 ;; esac
case "$flags" in *MLIR*|*LLVM*) echo "MLIR or LLVM in: $flags" >&2; exit 1 ;; esac
rm -rf "$work" && mkdir -p "$work"
# shellcheck disable=SC2086 # the flags are words
"$cc" -std=c11 -Wall -Werror $cflags "$source" $flags -o "$work/app"
LD_LIBRARY_PATH=$(pkg-config --variable=libdir sieve) "$work/app"

#!/bin/sh
# Configures sieve with plain CMake, no -DMLIR_DIR: it must find Debian's
# MLIR 19 by itself. plain-configure.sh SOURCE BUILD
set -eu
source=$1 build=$2
rm -rf "$build"
unset MLIR_DIR CMAKE_PREFIX_PATH
cmake -S "$source" -B "$build" -G Ninja -DBUILD_TESTING=OFF > "$build.log" 2>&1 || {
  cat "$build.log" >&2; exit 1; }
grep 'Using MLIR 19\.' "$build.log"
rm -rf "$build"

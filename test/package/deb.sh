#!/bin/sh
# Builds the Debian packages of a build tree with CPack and inspects them:
# their control fields, their contents, and that what they install works
# from wherever they are unpacked. deb.sh BUILD WORKDIR
set -eu
build=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work" > "$work/cpack.log" 2>&1 || {
  cat "$work/cpack.log" >&2; exit 1; }
fail() { echo "deb.sh: $*" >&2; exit 1; }
deb() { ls "$work"/"$1"_*.deb 2>/dev/null | head -1; }
for p in sieve sieve-dev python3-sieve; do
  [ -n "$(deb $p)" ] || fail "no $p package in $work"
  dpkg-deb -I "$(deb $p)" > "$work/$p.info"
  dpkg-deb -c "$(deb $p)" | awk '{print $6}' | sed 's|^\./|/|' > "$work/$p.files"
  echo "== $p: $(basename "$(deb $p)")"; cat "$work/$p.info"
done
has() { grep -qx -- "$2" "$work/$1.files" || fail "$1 lacks $2"; }
lacks() { ! grep -q -- "$2" "$work/$1.files" || fail "$1 has $2: $(grep -- "$2" "$work/$1.files")"; }
field() { grep -E "^ $2:" "$work/$1.info" | sed "s/^ $2: //"; }

version=$(field sieve Version)
[ "$(field sieve Package)" = sieve ] || fail "sieve's Package field"
field sieve Depends | grep -q 'libc6' || fail "sieve depends on no libc6"
field sieve Depends | grep -q 'libstdc++6' || fail "sieve depends on no libstdc++6"
field sieve-dev Depends | grep -q "^sieve (= $version)" || fail "sieve-dev's Depends"
field python3-sieve Depends | grep -q "sieve (= $version), python3, python3-numpy" ||
  fail "python3-sieve's Depends"
[ "$(field python3-sieve Architecture)" = all ] || fail "python3-sieve is not Architecture: all"
grep -q 'shlibs' "$work/sieve.info" || fail "sieve has no shlibs file"

lib=$(grep -E '/libsieve\.so\.0\.[0-9]+\.[0-9]+$' "$work/sieve.files") || fail "no libsieve.so.0.x.y"
libdir=$(dirname "$lib")
has sieve /usr/bin/sieve
has sieve "$libdir/libsieve.so.0"
has sieve /usr/share/man/man1/sieve.1.gz
has sieve /usr/share/bash-completion/completions/sieve
has sieve /usr/share/doc/sieve/copyright
lacks sieve '/include/'
lacks sieve 'libsieve\.so$'
lacks sieve '\.a$'
has sieve-dev /usr/include/sieve/sieve_c.h
has sieve-dev /usr/include/sieve/Sieve.h
has sieve-dev "$libdir/libsieve.so"
has sieve-dev "$libdir/cmake/sieve/sieveConfig.cmake"
has sieve-dev "$libdir/pkgconfig/sieve.pc"
has sieve-dev /usr/bin/sieve-opt
lacks sieve-dev '\.a$'
lacks sieve-dev 'libsieve\.so\.0'
has python3-sieve /usr/lib/python3/dist-packages/sieve/__init__.py
has python3-sieve /usr/lib/python3/dist-packages/sieve/torch.py
has python3-sieve /usr/lib/python3/dist-packages/sieve/_install.py
lacks python3-sieve '__pycache__'

# Unpacked anywhere, they work together: the tool runs, the Python package
# finds libsieve.so.0 next to itself, and a C program builds through the
# pkg-config file.
root=$work/root
for p in sieve sieve-dev python3-sieve; do dpkg-deb -x "$(deb $p)" "$root"; done
"$root/usr/bin/sieve" --version | head -1 | grep -qx "sieve $version" || fail "sieve --version"
env -u SIEVE_LIBRARY PYTHONPATH="$root/usr/lib/python3/dist-packages" python3 -c \
  "import sieve, sys; assert sieve.__file__.startswith(sys.argv[1]), sieve.__file__; print('python3-sieve:', sieve.library_version(), [b.name for b in sieve.list_builtins()][:3])" \
  "$root" || fail "the Python package does not work unpacked"
PKG_CONFIG_PATH="$root$libdir/pkgconfig" pkg-config --libs sieve | grep -q -- '-lsieve' ||
  fail "pkg-config"
echo "deb.sh: all checks passed"

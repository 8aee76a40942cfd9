#!/usr/bin/env bash
# Compares the machine code two sieve binaries generate, kernel by kernel:
#
#   scripts/compare_cubins.sh OLD_SIEVE NEW_SIEVE [KERNEL...]
#
# For each kernel variant (default: every one `sieve list --kernels` names),
# every built-in pattern, head dim 64 and 128, bf16 and fp16, and sm_80 and
# sm_90a, both binaries compile a cubin through NVRTC and the two files are
# compared byte for byte. Configurations a kernel does not take are skipped.
#
# A change to the kernel library that leaves every cubin identical has not
# changed what runs on a GPU, so it stays verified by the GPU runs of the old
# binary; this is how a refactor of a verified kernel is checked on a machine
# without a GPU. Any difference is listed; exit status 1 if there is one.
# Build the old binary from the commit before the change (a worktree and
# scripts/build.sh with SIEVE_BUILD_DIR). Takes ~1 s per cubin.
set -uo pipefail
if [ $# -lt 2 ]; then
  sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
old=$1 new=$2
shift 2
for bin in "$old" "$new"; do
  [ -x "$bin" ] || { echo "compare_cubins: '$bin' is not an executable sieve binary" >&2; exit 2; }
done
kernels=("$@")
if [ ${#kernels[@]} -eq 0 ]; then
  mapfile -t kernels < <("$new" list --kernels | sed -n 's/^\([a-z0-9-]*\)  .*/\1/p')
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
patterns=(power_attention sliding_window stride_slash dilated longnet causal full longformer)
same=0 differ=0 skipped=0
for k in "${kernels[@]}"; do
  for pat in "${patterns[@]}"; do
    for arch in sm_80 sm_90a; do
      for hd in 64 128; do
        for dt in bf16 fp16; do
          args=(compile "builtin:$pat" --emit cubin --kernel "$k" --arch "$arch" --head-dim "$hd" --dtype "$dt")
          # A configuration the new binary refuses (the kernel does not take
          # it) is skipped; one only the old refuses is a difference.
          if ! SIEVE_CACHE_DIR="$work/cache-new" "$new" "${args[@]}" -o "$work/new.cubin" 2> "$work/err"; then
            if grep -q 'does not apply' "$work/err"; then skipped=$((skipped + 1)); continue; fi
            echo "error: $k $pat $arch hd$hd $dt: the new binary failed: $(tail -1 "$work/err")"
            differ=$((differ + 1)); continue
          fi
          if ! SIEVE_CACHE_DIR="$work/cache-old" "$old" "${args[@]}" -o "$work/old.cubin" 2> "$work/err"; then
            echo "differs: $k $pat $arch hd$hd $dt: the old binary failed: $(tail -1 "$work/err")"
            differ=$((differ + 1)); continue
          fi
          if cmp -s "$work/old.cubin" "$work/new.cubin"; then
            same=$((same + 1))
          else
            echo "differs: $k $pat $arch hd$hd $dt"
            differ=$((differ + 1))
          fi
        done
      done
    done
  done
  echo "compare_cubins: $k done ($same identical, $differ different so far)" >&2
done
echo "compare_cubins: $same identical, $differ different, $skipped configurations the kernels do not take"
[ "$differ" -eq 0 ]

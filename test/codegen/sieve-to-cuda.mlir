// RUN: sieve-translate --sieve-to-cuda %s | FileCheck %s
// RUN: sieve-translate --sieve-to-cuda-kernel %s | FileCheck %s --check-prefix=KERNEL

// The prelude: configuration, the walk library, then the pattern's mask and
// walk. No header is included: NVRTC compiles it with no include path.
// CHECK-NOT:   #include
// CHECK:       #define SIEVE_HEAD_DIM 128
// CHECK-NEXT:  #define SIEVE_DTYPE_BF16 1
// CHECK-NEXT:  #define SIEVE_TILE_Q 128
// CHECK-NEXT:  #define SIEVE_TILE_K 64
// CHECK-NEXT:  #define SIEVE_FWD_WARPS 4
// CHECK:       namespace sieve_rt {

// CHECK-LABEL: // Pattern @power_attention, block size [256, 256].
// CHECK:       __device__ __forceinline__ bool mask(long long q_, long long k_) {
// CHECK-NEXT:    const int q = (int)q_, k = (int)k_;
// CHECK:         const bool m0 = (k <= q + 0);
// CHECK-NEXT:    const bool m1 = (kb < 1);
// CHECK-NEXT:    const bool m2 = ((d >= 0) & (d < 5));
// CHECK-NEXT:    const bool m3 = ((d >= 0) & ((d & (d - 1)) == 0));
// CHECK-NEXT:    const bool m4 = m1 | m2 | m3;
// CHECK-NEXT:    const bool m5 = m0 & m4;
// CHECK-NEXT:    return m5;
// CHECK:       struct Walk {
// CHECK:         long long may2(long long x) const {
// CHECK-NEXT:      return sieve_rt::blocks_next(x, qb0, qb1, kBlockK, [](long long qb, long long kb) { return sieve_rt::band_may(qb, kb, 0LL, 4LL); });
// CHECK:         long long may3(long long x) const {
// CHECK-NEXT:      return sieve_rt::blocks_next(x, qb0, qb1, kBlockK, [](long long qb, long long kb) { return sieve_rt::power_may(qb, kb); });
// CHECK:         __device__ bool next(int &tile, bool &full) {
// CHECK:           const long long x = may5(cursor * kTileK);
// CHECK:           const long long e = nms5(j * kTileK);
sieve.pattern @power_attention block_size [256, 256] {
  %c = sieve.causal
  %s = sieve.sink 1 block
  %w = sieve.window 5 block
  %p = sieve.power_of_two
  %u = sieve.union %s, %w, %p
  %m = sieve.intersect %c, %u
  sieve.yield %m : !sieve.mask
}

// A predicate keeps the 64-bit semantics of the expression language; the
// walk may visit any tile for it (never sure), the rest stays closed form.
// CHECK-LABEL: // Pattern @custom, block size [64, 64].
// CHECK:         bool m1_;
// CHECK:         const long long e1_5 = sieve_rt::rem(e1_1, e1_4);
// CHECK:         const bool m1 = m1_;
// CHECK:         const bool m3 = !m1;
// CHECK:       long long may1(long long x) const {
// CHECK-NEXT:    return x;
// CHECK:       long long nms1(long long x) const {
// CHECK-NEXT:    return x;
// CHECK:       long long may3(long long x) const {
// CHECK-NEXT:    return nms1(x);
sieve.pattern @custom block_size [64, 64] {
  %c = sieve.causal
  %p = sieve.predicate {
  ^bb0(%q: i64, %k: i64, %qb: i64, %kb: i64):
    %c3 = arith.constant 3 : i64
    %r = arith.remsi %k, %c3 : i64
    %c0 = arith.constant 0 : i64
    %t = arith.cmpi eq, %r, %c0 : i64
    sieve.yield %t : i1
  }
  %s = sieve.stride 4
  %n = sieve.not %p
  %m = sieve.intersect %c, %s, %n
  sieve.yield %m : !sieve.mask
}

// Constants past 2^30 switch the mask to 64-bit arithmetic.
// CHECK-LABEL: // Pattern @wide, block size [256, 256].
// CHECK:         const long long q = q_, k = k_, qb = q / kBlockQ, kb = k / kBlockK;
// CHECK:         const bool m0 = (k < 2147483648LL);
sieve.pattern @wide block_size [256, 256] {
  %s = sieve.sink 2147483648 token
  sieve.yield %s : !sieve.mask
}

// KERNEL: sieve_attention_fwd(const SieveFwdParams p) {
// KERNEL: extern "C" __global__ void sieve_mask_dump(

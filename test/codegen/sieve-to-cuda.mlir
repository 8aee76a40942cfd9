// RUN: sieve-translate --sieve-to-cuda %s | FileCheck %s

// The pattern code: the element mask and the walk rules, composed from
// SieveWalkRules.h with each term's parameters.
// CHECK-LABEL: // Pattern @power_attention, block size [256, 256].
// CHECK:       static SIEVE_HD bool mask(long long q_, long long k_) {
// CHECK-NEXT:    typedef int T;
// CHECK:         const bool m0 = sieve::walk::causal_has<T>(t, T(0LL));
// CHECK-NEXT:    const bool m1 = sieve::walk::below_has<T>(kb, T(1LL));
// CHECK-NEXT:    const bool m2 = sieve::walk::band_has<T>(d, T(0), T(4LL));
// CHECK-NEXT:    const bool m3 = sieve::walk::power_has<T>(d);
// CHECK-NEXT:    const bool m4 = m1 | m2 | m3;
// CHECK-NEXT:    const bool m5 = m0 & m4;
// CHECK-NEXT:    return m5;
// CHECK:       template <bool Tr> struct Rules {
// CHECK:         may(long long x) const { return may5(x); }
// CHECK:         may0(long long x) const { return sieve::walk::token_band_may<Tr>(r, x, 0LL, sieve::walk::kInf); }
// CHECK:         may2(long long x) const { return sieve::walk::over_blocks(r, x, [&](long long b, long long y) { return sieve::walk::block_band_may<Tr>(b, y, 0LL, 4LL); }); }
// CHECK:         may3(long long x) const { return sieve::walk::over_blocks(r, x, [&](long long b, long long y) { return sieve::walk::power_may<Tr>(b, y); }); }
// A union's may takes the least answer, an intersection's leapfrogs.
// CHECK:         may4(long long x) const { return sieve::walk::least_of(x, [this](long long y) { return may1(y); }, [this](long long y) { return may2(y); }, [this](long long y) { return may3(y); }); }
// CHECK:         may5(long long x) const { return sieve::walk::leapfrog_of(x, r.other_end, [this](long long y) { return may0(y); }, [this](long long y) { return may4(y); }); }
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
// CHECK:         bool m1;
// CHECK:         const long long e1_5 = sieve::expr_ops::rem(e1_1, e1_4);
// CHECK:         m1 = e1_7 != 0;
// CHECK:         const bool m3 = !m1;
// CHECK:         may1(long long x) const { return x; }
// CHECK-NEXT:    nms1(long long x) const { return x; }
// A negation swaps the questions.
// CHECK:         may3(long long x) const { return nms1(x); }
// CHECK-NEXT:    nms3(long long x) const { return may1(x); }
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

// A constant that does not fit 32 bits switches the mask to 64-bit
// arithmetic; a causal offset is compared as t >= -offset, which cannot
// overflow near 2^31.
// CHECK-LABEL: // Pattern @wide, block size [256, 256].
// CHECK:         typedef long long T;
// CHECK:         const bool m0 = sieve::walk::below_has<T>(k, T(2147483648LL));
// CHECK-LABEL: // Pattern @offset, block size [256, 256].
// CHECK:         typedef int T;
// CHECK:         const bool m0 = sieve::walk::causal_has<T>(t, T(-1073741823LL));
sieve.pattern @wide block_size [256, 256] {
  %s = sieve.sink 2147483648 token
  sieve.yield %s : !sieve.mask
}
sieve.pattern @offset block_size [256, 256] {
  %c = sieve.causal offset 1073741823
  sieve.yield %c : !sieve.mask
}

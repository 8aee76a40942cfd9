//===- SieveWalkLib.cuh - Closed-form tile walks, device side ---*- CUDA -*-===//
//
// The pieces generated walks are made of. For the query rows [q0, q1] of one
// tile, every term of a pattern answers two questions about key positions:
//
//   may(x): the first key >= x that some query row may attend;
//   nms(x): the first key >= x that not every query row surely attends
//           ("not must").
//
// Both return kInf when there is none. A union takes the least `may` of its
// operands, an intersection leapfrogs to a key every operand may attend, and
// a negation swaps the two questions. The walk visits the tile holding
// may(root, x), and tags it full when nms(root, tile start) lies beyond the
// tile. Answers are exact for the built-in shapes and conservative otherwise
// (a custom predicate may attend anything and is never sure), so the kernel
// never skips an attended key and never drops a needed element mask.
//
// Self-contained: no CUDA toolkit header. It also compiles as host C++ so that
// the generated walks are tested against the reference semantics in CI.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_WALK_LIB_CUH
#define SIEVE_WALK_LIB_CUH

#if !defined(__CUDACC__)
#define __device__
#define __forceinline__ inline
#endif

namespace sieve_rt {

constexpr long long kInf = 1LL << 62;

__device__ __forceinline__ long long min_(long long a, long long b) { return a < b ? a : b; }
__device__ __forceinline__ long long max_(long long a, long long b) { return a > b ? a : b; }
/// The largest power of two <= v (v >= 1).
__device__ __forceinline__ long long floor_pow2(long long v) {
#if defined(__CUDA_ARCH__)
  return 1LL << (63 - __clzll((unsigned long long)v));
#else
  return 1LL << (63 - __builtin_clzll((unsigned long long)v));
#endif
}

/// may / nms of a set that is the interval [a, b] for every query row.
__device__ __forceinline__ long long range_may(long long x, long long a, long long b) {
  if (a > b || x > b) return kInf;
  return max_(x, a);
}
__device__ __forceinline__ long long range_nms(long long x, long long a, long long b) {
  return (a > b || x < a || x > b) ? x : b + 1;
}

// ---- Block-level rules: the next key block kb' >= kb for one query block qb --

/// Key blocks [qb - hi, qb - lo] (windows: lo = 0, hi = W - 1).
__device__ __forceinline__ long long band_may(long long qb, long long kb, long long lo, long long hi) {
  return range_may(kb, qb - hi, qb - lo);
}
__device__ __forceinline__ long long band_nms(long long qb, long long kb, long long lo, long long hi) {
  return range_nms(kb, qb - hi, qb - lo);
}

/// kb = qb, or qb - 2^i >= 0.
__device__ __forceinline__ bool power_has(long long qb, long long kb) {
  long long d = qb - kb;
  return d >= 0 && kb >= 0 && (d & (d - 1)) == 0;
}
__device__ __forceinline__ long long power_may(long long qb, long long kb) {
  kb = max_(kb, 0);
  if (kb > qb) return kInf;
  if (kb == qb) return qb;
  return qb - floor_pow2(qb - kb);
}
__device__ __forceinline__ long long power_nms(long long qb, long long kb) {
  while (power_has(qb, kb)) ++kb;  // at most the run qb-2, qb-1, qb
  return kb;
}

/// kb = qb - m * s for m >= 0, within distance < window (window = kInf for stride).
__device__ __forceinline__ long long step_may(long long qb, long long kb, long long s, long long window) {
  kb = max_(kb, max_(0LL, window >= kInf ? 0LL : qb - window + 1));
  if (kb > qb) return kInf;
  long long c = kb + (qb - kb) % s;
  return c <= qb ? c : kInf;
}
__device__ __forceinline__ long long step_nms(long long qb, long long kb, long long s, long long window) {
  for (;;) {
    long long d = qb - kb;
    if (kb < 0 || d < 0 || d >= window || d % s != 0) return kb;
    ++kb;
  }
}

/// LongNet, one segment: (qb ^ kb) < seg and (qb | kb) a multiple of r.
__device__ __forceinline__ long long longnet_may(long long qb, long long kb, long long seg, long long r) {
  kb = max_(kb, 0);
  if ((qb & (r - 1)) != 0) return kInf;
  long long best = kInf, a = 0;
  // {y : (qb ^ y) < seg} = qb ^ [0, seg): aligned pieces [a, a + 2^j).
  for (int j = 62; j >= 0; --j) {
    long long size = 1LL << j;
    if (!(seg & size)) continue;
    long long lo = (qb ^ a) & ~(size - 1), hi = lo + size - 1;
    a += size;
    long long c = max_(kb, lo);
    c = (c + r - 1) / r * r;
    if (c <= hi) best = min_(best, c);
  }
  return best;
}

/// Runs a per-query-block rule (may or nms) over the tile's query blocks, in
/// key positions: the least answer over the blocks.
template <class Rule>
__device__ __forceinline__ long long blocks_next(long long x, long long qb0, long long qb1,
                                                 long long bk, Rule rule) {
  long long kb = x / bk, best = kInf;
  for (long long qb = qb0; qb <= qb1; ++qb) best = min_(best, rule(qb, kb));
  return best >= kInf ? kInf : max_(x, best * bk);
}

// ---- The predicate language's arithmetic (dialect/SieveExpr.h) --------------

__device__ __forceinline__ long long add(long long a, long long b) {
  return (long long)((unsigned long long)a + (unsigned long long)b);
}
__device__ __forceinline__ long long sub(long long a, long long b) {
  return (long long)((unsigned long long)a - (unsigned long long)b);
}
__device__ __forceinline__ long long mul(long long a, long long b) {
  return (long long)((unsigned long long)a * (unsigned long long)b);
}
__device__ __forceinline__ long long neg(long long a) { return sub(0, a); }
__device__ __forceinline__ long long div(long long a, long long b) {
  if (b == 0) return 0;
  if (b == -1) return neg(a);
  return a / b;
}
__device__ __forceinline__ long long rem(long long a, long long b) {
  if (b == 0 || b == -1) return 0;
  return a % b;
}
__device__ __forceinline__ long long shl(long long a, long long b) {
  return (b < 0 || b > 63) ? 0 : (long long)((unsigned long long)a << b);
}
__device__ __forceinline__ long long shr(long long a, long long b) {
  return (b < 0 || b > 63) ? (a < 0 ? -1 : 0) : (a >> b);
}

}  // namespace sieve_rt

#endif  // SIEVE_WALK_LIB_CUH

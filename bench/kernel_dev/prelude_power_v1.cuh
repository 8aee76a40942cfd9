// v1 of the power prelude (short-circuit 64-bit mask, 64-bit walk); kept for comparison, NOTES.md v5.
// Hand-written stand-in for the generated prelude: PowerAttention, block 256,
// window 5 blocks, sink 1 block. mask(q,k) = k <= q && (k/B < 1 || d < W || pow2(d)),
// d = q/B - k/B. Requires SIEVE_TILE_K to divide the block size.
#define SIEVE_GEN_PRELUDE 1
namespace sieve_gen {
constexpr long long kB = 256;
constexpr int kW = 5;
constexpr int kTilesPerBlock = (int)(kB / SIEVE_TILE_K);
static_assert(kB % SIEVE_TILE_K == 0, "tile must divide the pattern block");

__device__ __forceinline__ bool block_rule(long long qb, long long kb) {
  long long d = qb - kb;
  return d >= 0 && (kb < 1 || d < kW || (d & (d - 1)) == 0);
}
__device__ __forceinline__ bool mask(long long q, long long k) {
  return k <= q && block_rule(q / kB, k / kB);
}

struct Walk {
  long long qb0, qb1, q_begin, q_end, k_len;
  long long kb;  // current key block (-1 before start)
  int t;         // next tile within kb
  __device__ Walk(long long qbeg, long long qend, long long klen)
      : qb0(qbeg / kB), qb1((qend - 1) / kB), q_begin(qbeg), q_end(qend), k_len(klen),
        kb(-1), t(kTilesPerBlock) {
    if (qend <= qbeg) { kb = 1LL << 60; }  // empty query range
  }
  // Smallest attended key block > kb for query block qb (or huge).
  __device__ __forceinline__ static long long next_for(long long qb, long long kb) {
    long long best = 1LL << 60;
    if (kb < 0) return 0;                             // sink
    long long w = qb - (kW - 1);                      // window [qb-W+1, qb]
    if (kb + 1 >= w && kb + 1 <= qb) best = kb + 1;
    else if (kb + 1 < w) best = w;
    long long g = qb - kb - 1;                        // power: largest 2^i < qb - kb
    if (g >= 1) {
      long long pw = 1LL << (63 - __clzll((unsigned long long)g));
      long long c = qb - pw;
      if (c < best) best = c;
    }
    return best;
  }
  __device__ bool next(int &tile, bool &full) {
    for (;;) {
      if (kb > qb1) return false;
      if (t < kTilesPerBlock) {
        long long ks = kb * kB + (long long)t * SIEVE_TILE_K;
        if (ks < q_end && ks < k_len) {
          long long ke = ks + SIEVE_TILE_K;
          bool f = ke - 1 <= q_begin && ke <= k_len;
          for (long long qb = qb0; qb <= qb1 && f; ++qb) f = block_rule(qb, kb);
          tile = (int)(ks / SIEVE_TILE_K);
          full = f;
          ++t;
          return true;
        }
      }
      long long nb = next_for(qb0, kb);
      for (long long qb = qb0 + 1; qb <= qb1; ++qb) {
        long long c = next_for(qb, kb);
        if (c < nb) nb = c;
      }
      kb = nb;
      t = 0;
    }
  }
};
}  // namespace sieve_gen

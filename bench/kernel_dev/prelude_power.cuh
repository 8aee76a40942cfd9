// Hand-written stand-in for the generated prelude: PowerAttention, block 256,
// window 5 blocks, sink 1 block. mask(q,k) = k <= q && (k/B < 1 || d < W || pow2(d)),
// d = q/B - k/B. Requires SIEVE_TILE_K to divide the block size.
// Written the way codegen should emit it: branch-free mask (bitwise ops on bools,
// shifts for the power-of-two block), 32-bit block indices, and a walk whose common
// step (next tile inside the current key block) costs a handful of instructions.
#define SIEVE_GEN_PRELUDE 1
namespace sieve_gen {
constexpr int kLogB = 8;  // block 256
constexpr int kB = 1 << kLogB;
constexpr int kW = 5;
constexpr int kTilesPerBlock = kB / SIEVE_TILE_K;
static_assert(kB % SIEVE_TILE_K == 0, "tile must divide the pattern block");

__device__ __forceinline__ bool block_rule(int qb, int kb) {
  const int d = qb - kb;
  return (d >= 0) & ((kb < 1) | (d < kW) | ((d & (d - 1)) == 0));
}
__device__ __forceinline__ bool mask(long long q, long long k) {
  const int d = (int)(q >> kLogB) - (int)(k >> kLogB);
  return (k <= q) & ((k < kB) | (d < kW) | ((d & (d - 1)) == 0));
}

struct Walk {
  long long q_begin;
  int qb0, qb1, k_end;  // k_end: keys < min(q_end, k_len) can be attended
  int k_len;
  int kb;               // current key block
  int t, nt;            // next tile within kb, tiles of kb to visit
  bool bfull;           // block rule holds for every query block of the range

  __device__ Walk(long long qbeg, long long qend, long long klen)
      : q_begin(qbeg), qb0((int)(qbeg >> kLogB)), qb1((int)((qend - 1) >> kLogB)),
        k_end((int)(qend < klen ? qend : klen)), k_len((int)klen), kb(-1), t(0), nt(0),
        bfull(false) {
    if (qend <= qbeg) qb1 = -2;  // empty query range: nothing to visit
  }
  // Smallest attended key block > kb for query block qb (INT_MAX if none).
  __device__ __forceinline__ static int next_for(int qb, int kb) {
    if (kb < 0) return 0;                             // sink
    int best = 0x7fffffff;
    const int w = qb - (kW - 1);                      // window [qb-W+1, qb]
    if (kb + 1 <= qb) best = kb + 1 >= w ? kb + 1 : w;
    const int g = qb - kb - 1;                        // power: largest 2^i < qb - kb
    if (g >= 1) {
      const int c = qb - (1 << (31 - __clz(g)));
      best = c < best ? c : best;
    }
    return best;
  }
  __device__ bool next(int &tile, bool &full) {
    if (t >= nt) {  // advance to the next attended key block
      int nb = next_for(qb0, kb);
      for (int qb = qb0 + 1; qb <= qb1; ++qb) {
        const int c = next_for(qb, kb);
        nb = c < nb ? c : nb;
      }
      if (nb > qb1) return false;
      kb = nb;
      t = 0;
      const int left = k_end - kb * kB;  // > 0: kb <= qb1 and queries start inside kb
      nt = (left + SIEVE_TILE_K - 1) / SIEVE_TILE_K;
      nt = nt < kTilesPerBlock ? nt : kTilesPerBlock;
      bool f = true;
      for (int qb = qb0; qb <= qb1; ++qb) f &= block_rule(qb, kb);
      bfull = f;
    }
    tile = kb * kTilesPerBlock + t++;
    const long long ke = (long long)(tile + 1) * SIEVE_TILE_K;  // one past the tile
    full = bfull & (ke - 1 <= q_begin) & (ke <= k_len);
    return true;
  }
};
}  // namespace sieve_gen

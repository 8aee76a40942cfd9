// Hand-written stand-in for the generated prelude: dense causal.
#define SIEVE_GEN_PRELUDE 1
namespace sieve_gen {
__device__ __forceinline__ bool mask(long long q, long long k) { return k <= q; }
struct Walk {
  long long q_begin, k_len;
  int t, last;
  __device__ Walk(long long qbeg, long long qend, long long klen)
      : q_begin(qbeg), k_len(klen), t(0),
        last(qend > qbeg ? (int)((qend - 1) / SIEVE_TILE_K) : -1) {}
  __device__ bool next(int &tile, bool &full) {
    if (t > last) return false;
    long long ke = (long long)(t + 1) * SIEVE_TILE_K;
    full = ke - 1 <= q_begin && ke <= k_len;
    tile = t++;
    return true;
  }
};
}  // namespace sieve_gen

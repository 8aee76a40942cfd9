//===- SieveMask.cuh - The element mask on a score slice -------*- CUDA -*-===//
//
// Partial tiles, and tiles that cross the end of the keys, get the pattern's
// element mask: masked scores become -inf. The slice layout is the one of
// SieveSoftmax.cuh.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_COMMON_MASK_CUH
#define SIEVE_KERNELS_COMMON_MASK_CUH

namespace sieve::dev {

/// Masks a thread's share of a 16-row score slice whose first key is k0;
/// qp0 and qp1 are the absolute positions of the thread's rows h = 0 and
/// h = 1 (8 rows further down the slice).
template <class Pattern, int N>
__device__ __forceinline__ void mask_rows(float (&s)[N], int k0, int k_len, long long qp0,
                                          long long qp1, int lane) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const long long qp = h ? qp1 : qp0;
#pragma unroll
    for (int j = 0; j < N / 4; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int kp = k0 + j * 8 + (lane & 3) * 2 + e;
        if (!(kp < k_len && Pattern::mask(qp, (long long)kp))) s[j * 4 + h * 2 + e] = neg_inf();
      }
  }
}

/// mask_rows for a slice of consecutive query positions: qrow is the
/// position of the thread's row h = 0.
template <class Pattern, int N>
__device__ __forceinline__ void mask_slice(float (&s)[N], int k0, int k_len, long long qrow,
                                           int lane) {
  mask_rows<Pattern>(s, k0, k_len, qrow, qrow + 8, lane);
}

/// Whether a visited tile needs the element mask: partial, or past the keys.
template <int kTileK>
__device__ __forceinline__ bool needs_mask(int tile, bool full, int k_len) {
  return !full || tile * kTileK + kTileK > k_len;
}

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_COMMON_MASK_CUH

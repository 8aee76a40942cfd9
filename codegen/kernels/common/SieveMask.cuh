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
/// qrow is the absolute position of the thread's row h = 0 (h = 1 is 8
/// further).
template <class Pattern, int N>
__device__ __forceinline__ void mask_slice(float (&s)[N], int k0, int k_len, long long qrow,
                                           int lane) {
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const long long qp = qrow + h * 8;
#pragma unroll
    for (int j = 0; j < N / 4; ++j)
#pragma unroll
      for (int e = 0; e < 2; ++e) {
        const int kp = k0 + j * 8 + (lane & 3) * 2 + e;
        if (!(kp < k_len && Pattern::mask(qp, (long long)kp))) s[j * 4 + h * 2 + e] = neg_inf();
      }
  }
}

/// Whether a visited tile needs the element mask: partial, or past the keys.
template <int kTileK>
__device__ __forceinline__ bool needs_mask(int tile, bool full, int k_len) {
  return !full || tile * kTileK + kTileK > k_len;
}

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_COMMON_MASK_CUH

//===- SieveKvDense.cuh - Addressing dense K and V rows --------*- CUDA -*-===//
//
// How a kernel finds the rows of K and V for one (batch, kv head): the one
// place a KV layout is known. Dense: [batch, kv_heads, k_len, head_dim] with
// element strides for forward; for decode also packed variable-length
// sequences ([total_k, kv_heads, head_dim] with cu_seqlens_k). The paged
// layout (SieveKvPaged.cuh) answers the same questions through a block table.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_KV_DENSE_CUH
#define SIEVE_KERNELS_KV_DENSE_CUH

namespace sieve::dev {

struct DenseKv {
  static constexpr int kAbi = SIEVE_ABI_KV_DENSE;
  const u16 *k, *v;
  long long k_stride_r, v_stride_r;

  __device__ __forceinline__ static DenseKv make(const sieve_fwd_params &p, int b, int kvh) {
    DenseKv kv;
    kv.k = (const u16 *)p.k + b * p.k_stride_b + kvh * p.k_stride_h;
    kv.v = (const u16 *)p.v + b * p.v_stride_b + kvh * p.v_stride_h;
    kv.k_stride_r = p.k_stride_r;
    kv.v_stride_r = p.v_stride_r;
    return kv;
  }
  /// Decode: sequence b's rows, packed (cu_seqlens_k) or batched.
  __device__ __forceinline__ static DenseKv make(const sieve_decode_params &p, int b, int kvh) {
    DenseKv kv;
    const long long k0 = p.cu_seqlens_k ? (long long)p.cu_seqlens_k[b] * p.k_stride_r : b * p.k_stride_b;
    const long long v0 = p.cu_seqlens_k ? (long long)p.cu_seqlens_k[b] * p.v_stride_r : b * p.v_stride_b;
    kv.k = (const u16 *)p.k + k0 + kvh * p.k_stride_h;
    kv.v = (const u16 *)p.v + v0 + kvh * p.v_stride_h;
    kv.k_stride_r = p.k_stride_r;
    kv.v_stride_r = p.v_stride_r;
    return kv;
  }
  /// Row r of K and of V, for a loader that addresses every row (decode).
  __device__ __forceinline__ void rows(int r, const u16 *&kr, const u16 *&vr) const {
    kr = k_row(r);
    vr = v_row(r);
  }
  /// Row r of K and of V (r may be past the keys: such rows are not read).
  __device__ __forceinline__ const u16 *k_row(int r) const { return k + (long long)r * k_stride_r; }
  __device__ __forceinline__ const u16 *v_row(int r) const { return v + (long long)r * v_stride_r; }
  /// Elements between row r and row r + n, within one run of rows.
  __device__ __forceinline__ long long k_step(int n) const { return (long long)n * k_stride_r; }
  __device__ __forceinline__ long long v_step(int n) const { return (long long)n * v_stride_r; }
};

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_KV_DENSE_CUH

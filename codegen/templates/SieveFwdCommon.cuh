//===- SieveFwdCommon.cuh - what both forward templates share --*- CUDA -*-===//
//
// The kernel parameters and the small device helpers of the forward kernel
// templates (SieveFwdSm80.cuh, SieveFwdSm90.cuh). Code generation emits it
// after the prelude and before one template. Self-contained.
//===----------------------------------------------------------------------------===//

#if defined(SIEVE_DTYPE_BF16) == defined(SIEVE_DTYPE_FP16)
#error "SieveFwdCommon.cuh: define exactly one of SIEVE_DTYPE_BF16 / SIEVE_DTYPE_FP16"
#endif
#define SIEVE_FWD_COMMON 1

/// Kernel arguments, passed by value. Strides are in elements.
struct SieveFwdParams {
  const void *q, *k, *v;
  void *o;
  float *lse;  // [batch, heads, q_len] or null
  int batch, heads, kv_heads, q_len, k_len;
  float scale;  // softmax scale, e.g. 1/sqrt(head_dim)
  long long q_stride_b, q_stride_h, q_stride_r;
  long long k_stride_b, k_stride_h, k_stride_r;
  long long v_stride_b, v_stride_h, v_stride_r;
  long long o_stride_b, o_stride_h, o_stride_r;
};

#ifdef SIEVE_DTYPE_FP16
#define SIEVE_FWD_IS_FP16 1
#else
#define SIEVE_FWD_IS_FP16 0
#endif

namespace sieve_fwd {

typedef unsigned short u16;  // 16-bit element storage (bf16 or fp16 bits)
typedef unsigned int u32;
typedef unsigned long long u64;
struct __align__(16) u32x4 { u32 x, y, z, w; };

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }

__device__ __forceinline__ u32 smem_addr(const void *p) {
  u32 r;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
  return r;
}

__device__ __forceinline__ void cp_async16(u32 dst, const void *src, bool pred) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(pred ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }

/// Packs two floats into a 16-bit pair: lo in bits 0-15, hi in bits 16-31.
__device__ __forceinline__ u32 pack2(float lo, float hi) {
  u32 r;
#if defined(SIEVE_DTYPE_BF16)
  asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#else
  asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
#endif
  return r;
}
__device__ __forceinline__ float ex2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float lg2(float x) {
  float y;
  asm("lg2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}
__device__ __forceinline__ float fmax2(float a, float b) {
  float r;
  asm("max.f32 %0, %1, %2;\n" : "=f"(r) : "f"(a), "f"(b));  // one FMNMX
  return r;
}
__device__ __forceinline__ float shfl_xor(float v, int m) {
  return __shfl_xor_sync(0xffffffffu, v, m);
}

}  // namespace sieve_fwd

//===- SieveTypes.cuh - Types and math every kernel uses -------*- CUDA -*-===//
//
// Integer types, the 16-bit element types (bf16 and fp16, as types a kernel
// template is instantiated with), and the handful of scalar instructions the
// kernels use, as inline PTX. Self-contained: no CUDA toolkit header.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_COMMON_TYPES_CUH
#define SIEVE_KERNELS_COMMON_TYPES_CUH

namespace sieve::dev {

typedef unsigned short u16;  // 16-bit element storage (bf16 or fp16 bits)
typedef unsigned int u32;
typedef unsigned long long u64;
struct __align__(16) u32x4 { u32 x, y, z, w; };
struct __align__(8) f32x2 { float x, y; };
struct __align__(16) f32x4 { float x, y, z, w; };

/// The element types: 16 bits each in memory, two floats packed per register
/// for the tensor cores. `kAbi` is the sieve_launch_info dtype code.
struct Bf16 {
  static constexpr int kAbi = SIEVE_ABI_BF16;
  static constexpr bool kIsFp16 = false;
  /// lo in bits 0-15, hi in bits 16-31, rounded to nearest.
  static __device__ __forceinline__ u32 pack2(float lo, float hi) {
    u32 r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
  }
  /// The two elements of a packed pair, exactly.
  static __device__ __forceinline__ void unpack2(u32 v, float &lo, float &hi) {
    lo = __uint_as_float(v << 16);
    hi = __uint_as_float(v & 0xffff0000u);
  }
};
struct Fp16 {
  static constexpr int kAbi = SIEVE_ABI_FP16;
  static constexpr bool kIsFp16 = true;
  static __device__ __forceinline__ u32 pack2(float lo, float hi) {
    u32 r;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;\n" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
  }
  static __device__ __forceinline__ void unpack2(u32 v, float &lo, float &hi) {
    asm("{ .reg .b16 l, h;\n mov.b32 {l, h}, %2;\n cvt.f32.f16 %0, l;\n cvt.f32.f16 %1, h;\n }"
        : "=f"(lo), "=f"(hi) : "r"(v));
  }
};

__device__ __forceinline__ float neg_inf() { return __int_as_float(0xff800000); }

__device__ __forceinline__ u32 smem_addr(const void *p) {
  u32 r;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(r) : "l"(p));
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

/// log2(e): scores are scaled by scale * log2(e) and exponentiated with ex2.
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

}  // namespace sieve::dev

#endif  // SIEVE_KERNELS_COMMON_TYPES_CUH

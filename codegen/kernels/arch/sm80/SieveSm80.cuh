//===- SieveSm80.cuh - Ampere instructions: cp.async, ldmatrix, mma -*- CUDA -*-===//
//
// The sm_80 instruction wrappers (also valid on sm_90 and newer): 16-byte
// asynchronous copies into shared memory, ldmatrix, and the m16n8k16
// tensor-core MMA in bf16 or fp16 with fp32 accumulation; and the XOR
// swizzle of [rows][head_dim] tiles that keeps ldmatrix free of bank
// conflicts.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_ARCH_SM80_CUH
#define SIEVE_KERNELS_ARCH_SM80_CUH

namespace sieve::dev::sm80 {

/// Copies 16 bytes to shared memory; pred = false zero-fills and reads nothing.
__device__ __forceinline__ void cp_async16(u32 dst, const void *src, bool pred) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
               "r"(pred ? 16 : 0));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
/// Waits until at most N copy groups are in flight.
template <int N>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

__device__ __forceinline__ void ldsm_x4(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}
__device__ __forceinline__ void ldsm_x4_t(u32 (&r)[4], u32 addr) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(addr));
}

/// c[0..3] += a b for one m16n8k16 tile (a: 4 registers, b: 2).
template <class Elem>
__device__ __forceinline__ void mma16816(float *c, const u32 (&a)[4], u32 b0, u32 b1) {
  if constexpr (Elem::kIsFp16)
    asm("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
  else
    asm("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/// Byte offset of 16-byte chunk c of row r in a [rows][kChunks] tile. XOR
/// with the low row bits spreads the 8 rows an ldmatrix phase reads over all
/// 32 banks.
template <int kChunks>
__device__ __forceinline__ u32 swz(int r, int c) {
  return (u32)((r * kChunks + (c ^ (r & 7))) * 16);
}

}  // namespace sieve::dev::sm80

#endif  // SIEVE_KERNELS_ARCH_SM80_CUH

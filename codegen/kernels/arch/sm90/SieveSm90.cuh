//===- SieveSm90.cuh - Hopper instructions: wgmma and fences ---*- CUDA -*-===//
//
// The sm_90a warpgroup MMA (wgmma) wrappers, shared-memory matrix
// descriptors for the 128-byte swizzle, and the fences around them. Needs
// the architecture-specific target sm_90a. Also the bulk (non-tensor)
// reduce-adds from shared to global memory and their group waits.
//
// Tile layout the descriptors describe: a [rows][head_dim] tile is stored as
// head_dim / 64 column blocks of [rows][128 bytes]; 16-byte chunk c of row r
// sits at chunk (c ^ (r & 7)) of its row (each 8-row group is one 1 KiB
// swizzle atom, atoms 1 KiB aligned): SieveSwizzle.h.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_ARCH_SM90_CUH
#define SIEVE_KERNELS_ARCH_SM90_CUH

#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#error "SieveSm90.cuh: wgmma needs the sm_90a target (--gpu-architecture=sm_90a)"
#endif

namespace sieve::dev::sm90 {

/// Byte offset of 16-byte chunk c of row r in a swizzled [kRows][head_dim]
/// tile (SieveSwizzle.h, whose models of TMA and wgmma host tests check).
template <int kRows>
__device__ __forceinline__ u32 swz(int r, int c) {
  return swizzle::tile_offset(kRows, r, c);
}

/// cp.async writes through the generic proxy; wgmma reads through the async one.
__device__ __forceinline__ void fence_proxy_async() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_fence() {
  asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_commit() {
  asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}
__device__ __forceinline__ void wgmma_wait_all() {
  asm volatile("wgmma.wait_group.sync.aligned 0;\n" ::: "memory");
}
/// Waits until at most kPending of this warp's committed wgmma groups are
/// still running (groups complete in commit order).
template <int kPending>
__device__ __forceinline__ void wgmma_wait() {
  asm volatile("wgmma.wait_group.sync.aligned %0;\n" ::"n"(kPending) : "memory");
}

/// Adds `bytes` of fp32 at shared address src to global memory at dst (both
/// 16-byte aligned, bytes a multiple of 16), asynchronously, as one bulk
/// operation of this thread's current bulk group.
__device__ __forceinline__ void bulk_reduce_add_f32(float *dst, u32 src, u32 bytes) {
  asm volatile("cp.reduce.async.bulk.global.shared::cta.bulk_group.add.f32 [%0], [%1], %2;\n"
               ::"l"(dst), "r"(src), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void bulk_commit() {
  asm volatile("cp.async.bulk.commit_group;\n" ::: "memory");
}
/// Waits until this thread's bulk groups have read their shared sources.
__device__ __forceinline__ void bulk_wait_read() {
  asm volatile("cp.async.bulk.wait_group.read 0;\n" ::: "memory");
}
/// Waits until this thread's bulk groups are complete.
__device__ __forceinline__ void bulk_wait() {
  asm volatile("cp.async.bulk.wait_group 0;\n" ::: "memory");
}

/// Named barriers (ids 1-15; 0 is __syncthreads): sync waits for `threads`
/// arrivals including its own, arrive adds this warp's and goes on.
__device__ __forceinline__ void named_sync(int id, int threads) {
  asm volatile("bar.sync %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}
__device__ __forceinline__ void named_arrive(int id, int threads) {
  asm volatile("bar.arrive %0, %1;\n" ::"r"(id), "r"(threads) : "memory");
}

/// Pins registers a wgmma reads or writes asynchronously: the compiler may not
/// move their other uses across this point (used on both sides of a wgmma
/// group: before its issue and after its wait).
template <int N>
__device__ __forceinline__ void fence_operands(float (&r)[N]) {
#pragma unroll
  for (int i = 0; i < N; ++i) asm volatile("" : "+f"(r[i])::"memory");
}
template <int N>
__device__ __forceinline__ void fence_operands(u32 (&r)[N][4]) {
#pragma unroll
  for (int i = 0; i < N; ++i)
#pragma unroll
    for (int e = 0; e < 4; ++e) asm volatile("" : "+r"(r[i][e])::"memory");
}

/// A shared-memory matrix descriptor: 128-byte swizzle, the given strides.
__device__ __forceinline__ u64 desc(u32 addr, u32 lbo, u32 sbo) {
  return (u64)((addr & 0x3FFFF) >> 4) | ((u64)(lbo >> 4) << 16) | ((u64)(sbo >> 4) << 32) |
         (1ull << 62);
}

// One m64nNk16 wgmma each: D (fp32, N / 2 registers per thread) += A B, with A
// from shared memory (ss) or registers (rs, four 16-bit pairs), B from shared
// memory (rs: read MN-major, the transposed V). scale_d = 0 overwrites D. Inline
// asm needs every accumulator register named: the macros below spell out the
// operand lists once, and SIEVE_WGMMA_DEFINE the four wrappers once per type.
#define SIEVE_WG_D8(i)                                                                    \
  "+f"(d[i]), "+f"(d[i + 1]), "+f"(d[i + 2]), "+f"(d[i + 3]), "+f"(d[i + 4]), "+f"(d[i + 5]), \
      "+f"(d[i + 6]), "+f"(d[i + 7])
#define SIEVE_WG_D32 SIEVE_WG_D8(0), SIEVE_WG_D8(8), SIEVE_WG_D8(16), SIEVE_WG_D8(24)
#define SIEVE_WG_D64 \
  SIEVE_WG_D32, SIEVE_WG_D8(32), SIEVE_WG_D8(40), SIEVE_WG_D8(48), SIEVE_WG_D8(56)
#define SIEVE_WG_R32                                                           \
  "%0,%1,%2,%3,%4,%5,%6,%7,%8,%9,%10,%11,%12,%13,%14,%15,"                      \
  "%16,%17,%18,%19,%20,%21,%22,%23,%24,%25,%26,%27,%28,%29,%30,%31"
#define SIEVE_WG_R64                                                           \
  SIEVE_WG_R32 ","                                                             \
  "%32,%33,%34,%35,%36,%37,%38,%39,%40,%41,%42,%43,%44,%45,%46,%47,"            \
  "%48,%49,%50,%51,%52,%53,%54,%55,%56,%57,%58,%59,%60,%61,%62,%63"
#define SIEVE_WG_OP(n, t) "wgmma.mma_async.sync.aligned.m64n" #n "k16.f32." t "." t " "

#define SIEVE_WGMMA_DEFINE(T, t)                                                            \
  __device__ __forceinline__ void wgmma_ss(T, float (&d)[32], u64 da, u64 db, int scale_d) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %34, 0;\n" SIEVE_WG_OP(64, t)            \
                 "{" SIEVE_WG_R32 "}, %32, %33, p, 1, 1, 0, 0;\n}\n"                         \
                 : SIEVE_WG_D32                                                             \
                 : "l"(da), "l"(db), "r"(scale_d));                                         \
  }                                                                                         \
  __device__ __forceinline__ void wgmma_ss(T, float (&d)[64], u64 da, u64 db, int scale_d) { \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %66, 0;\n" SIEVE_WG_OP(128, t)           \
                 "{" SIEVE_WG_R64 "}, %64, %65, p, 1, 1, 0, 0;\n}\n"                         \
                 : SIEVE_WG_D64                                                             \
                 : "l"(da), "l"(db), "r"(scale_d));                                         \
  }                                                                                         \
  __device__ __forceinline__ void wgmma_rs(T, float (&d)[32], const u32 (&a)[4], u64 db,     \
                                           int scale_d) {                                   \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %37, 0;\n" SIEVE_WG_OP(64, t)            \
                 "{" SIEVE_WG_R32 "}, {%32,%33,%34,%35}, %36, p, 1, 1, 1;\n}\n"              \
                 : SIEVE_WG_D32                                                             \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d));      \
  }                                                                                         \
  __device__ __forceinline__ void wgmma_rs(T, float (&d)[64], const u32 (&a)[4], u64 db,     \
                                           int scale_d) {                                   \
    asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %69, 0;\n" SIEVE_WG_OP(128, t)           \
                 "{" SIEVE_WG_R64 "}, {%64,%65,%66,%67}, %68, p, 1, 1, 1;\n}\n"              \
                 : SIEVE_WG_D64                                                             \
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d));      \
  }

// The element type is the first argument (a tag value), so overloads pick
// both the type and N (from the accumulator's size).
SIEVE_WGMMA_DEFINE(Bf16, "bf16")
SIEVE_WGMMA_DEFINE(Fp16, "f16")

}  // namespace sieve::dev::sm90

#endif  // SIEVE_KERNELS_ARCH_SM90_CUH

//===- SieveTma.cuh - TMA tile loads through inline PTX ---------*- CUDA -*-===//
//
// The producer side of the warp-specialised Hopper forward: a
// tensor map (encoded on the host by runtime/SieveTensorMap.h's
// encodeTileOperand, passed as a __grid_constant__ kernel parameter so its
// address is a generic address of parameter space), its prefetch, and the
// rank-4 box load into shared memory that completes its bytes on an
// mbarrier (SieveMbarrier.cuh: arrive_expect_tx before, wait after). With
// the operand's box {64, rows} and the 128-byte swizzle, box j of a tile
// lands where SieveSwizzle.h's tile_offset puts column block j (host-tested
// in SieveSwizzleTest), so the wgmma descriptors of the existing kernels
// read TMA-loaded tiles unchanged, given a 1 KiB-aligned destination.
//
// Not yet used by a kernel; NVRTC-compiled for sm_90a by the tests, not run
// on a GPU.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_ARCH_SM90_TMA_CUH
#define SIEVE_KERNELS_ARCH_SM90_TMA_CUH

namespace sieve::dev::sm90 {

/// CUtensorMap's 128 opaque bytes (the host's driver::TensorMap).
struct __align__(128) TmaDesc {
  unsigned long long opaque[16];
};

/// Brings the descriptor into the TMA unit's cache ahead of the first load.
__device__ __forceinline__ void tma_prefetch(const TmaDesc &map) {
  asm volatile("prefetch.tensormap [%0];\n" ::"l"(&map) : "memory");
}

/// Copies the box at element coordinates {c0 (innermost: head dim), c1
/// (row), c2 (head), c3 (batch)} of a rank-4 map into shared memory at
/// `dst` (a shared address, 1 KiB aligned for the 128-byte swizzle); the
/// copy completes its bytes on the mbarrier at shared address `bar`.
/// Elements outside the tensor read as zero.
__device__ __forceinline__ void tma_load_4d(unsigned dst, const TmaDesc &map, unsigned bar, int c0,
                                            int c1, int c2, int c3) {
  asm volatile(
      "cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"
      " [%0], [%1, {%2, %3, %4, %5}], [%6];\n" ::"r"(dst),
      "l"(&map), "r"(c0), "r"(c1), "r"(c2), "r"(c3), "r"(bar)
      : "memory");
}

}  // namespace sieve::dev::sm90

#endif  // SIEVE_KERNELS_ARCH_SM90_TMA_CUH

//===- SieveSwizzle.h - The 128-byte swizzle, host and device ---*- C++ -*-===//
//
// One definition of the shared-memory tile layout the Hopper kernels use,
// and models of the two pieces of hardware that must agree with it: what a
// TMA copy with CU_TENSOR_MAP_SWIZZLE_128B writes, and what a wgmma
// shared-memory descriptor with the 128-byte swizzle reads. The kernels
// call tile_offset (through sm90::swz); host tests check the models against
// it element by element (test/unit/codegen/SieveSwizzleTest.cpp).
//
// The layout: a [rows][head_dim] tile of 16-bit elements is head_dim / 64
// column blocks of [rows][128 bytes]; 16-byte chunk c of row r sits at chunk
// (c ^ (r & 7)) of its row; each 8-row group is one 1 KiB swizzle atom, and
// the tile starts 1 KiB aligned.
//
// Both models are "XOR address bits [4, 7) with bits [7, 10)" applied to a
// linear address (the PTX ISA's 128-byte swizzle mode; the CUDA driver
// API's CU_TENSOR_MAP_SWIZZLE_128B), which is why atoms must be 1 KiB
// aligned.
//
// Self-contained (no headers), valid as host C++ and as CUDA.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_KERNELS_ARCH_SM90_SWIZZLE_H
#define SIEVE_KERNELS_ARCH_SM90_SWIZZLE_H

#ifndef SIEVE_HD
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SIEVE_HD __device__ __forceinline__
#else
#define SIEVE_HD inline
#endif
#endif

namespace sieve::swizzle {

/// Byte offset of 16-byte chunk c of row r in a [rows][head_dim] tile.
SIEVE_HD unsigned tile_offset(int rows, int r, int c) {
  return (unsigned)((c >> 3) * (rows * 128) + r * 128 + (((c & 7) ^ (r & 7)) << 4));
}

/// The 128-byte swizzle of a linear shared-memory address (or an offset
/// from a 1 KiB-aligned base).
SIEVE_HD unsigned sw128(unsigned linear) { return linear ^ (((linear >> 7) & 7u) << 4); }

/// Where a TMA box copy writes element (row, col) of a box of 128-byte rows
/// (64 16-bit elements) landing at `dst`, swizzle 128B.
SIEVE_HD unsigned tma_box_offset(unsigned dst, int row, int col) {
  return sw128(dst + (unsigned)row * 128u + (unsigned)col * 2u);
}

/// The address a wgmma K-major operand (A, or B of Q K^T) reads for element
/// (m, k) of one m/n x k16 step, from a descriptor with start address
/// `start` and stride byte offset `sbo` (8-row groups), swizzle 128B. (The
/// leading byte offset is not used: a k16 step's 32 bytes lie in one atom.)
SIEVE_HD unsigned wgmma_k_major(unsigned start, unsigned sbo, int m, int k) {
  return sw128(start + (unsigned)(m >> 3) * sbo + (unsigned)(m & 7) * 128u + (unsigned)k * 2u);
}

/// The address a wgmma MN-major operand (B of P V: V read transposed) reads
/// for element (k, n) of one k16 step: n runs along the 128-byte rows, 64
/// per column block `lbo` bytes apart, and k along rows, 8-row groups `sbo`
/// bytes apart.
SIEVE_HD unsigned wgmma_mn_major(unsigned start, unsigned lbo, unsigned sbo, int k, int n) {
  return sw128(start + (unsigned)(n >> 6) * lbo + (unsigned)(k >> 3) * sbo + (unsigned)(k & 7) * 128u +
               (unsigned)(n & 63) * 2u);
}

} // namespace sieve::swizzle

#endif // SIEVE_KERNELS_ARCH_SM90_SWIZZLE_H

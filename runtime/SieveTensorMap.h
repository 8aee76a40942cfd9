//===- SieveTensorMap.h - TMA descriptors for the kernels (private) -*- C++ -*-===//
//
// The tensor maps a TMA kernel's producer warp loads K and V tiles through
// (the planned warp-specialised Hopper forward, ../docs/kernels.md),
// encoded on the host with cuTensorMapEncodeTiled through the dlopen'd
// driver and passed to the kernel as __grid_constant__ parameters. No kernel
// takes one yet: this is the host half, tested against a fake driver and
// cuda.h's constants.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_RUNTIME_SIEVETENSORMAP_H
#define SIEVE_RUNTIME_SIEVETENSORMAP_H

#include "sieve/Jit.h"

#include <cstdint>

namespace sieve::driver {

/// cuda.h's CUtensorMap: 128 opaque bytes, 128-byte aligned.
struct alignas(128) TensorMap {
  uint64_t opaque[16];
};

/// cuda.h's enum values sieve passes to cuTensorMapEncodeTiled.
enum : int {
  CU_TENSOR_MAP_DATA_TYPE_FLOAT16 = 6,
  CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 = 9,
  CU_TENSOR_MAP_INTERLEAVE_NONE = 0,
  CU_TENSOR_MAP_SWIZZLE_128B = 3,
  CU_TENSOR_MAP_L2_PROMOTION_L2_256B = 3,
  CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE = 0, ///< out-of-bounds elements read as zero
};

/// One attention operand for TMA: a [batch, heads, rows, headDim] tensor of
/// 16-bit elements with element strides {batch, head, row} (unit stride
/// along headDim), loaded as boxes of [boxRows][64] elements: one
/// 128-byte-swizzle column block of the kernels' tile layout
/// (codegen/kernels/arch/sm90/SieveSwizzle.h), so head dim 128 takes two
/// boxes. Rows past `rows` read as zeros.
struct TileOperand {
  const void *base = nullptr;
  bool bf16 = true;
  int64_t batch = 0, heads = 0, rows = 0, headDim = 0;
  int64_t stride[3] = {0, 0, 0};
  int boxRows = 0;
};

/// Checks `op` against TMA's rules, naming the first one it breaks (a
/// 16-byte-aligned base, non-negative strides that are multiples of 16 bytes and below
/// 2^40, extents 1 to 2^32, boxRows 1 to 256, headDim a multiple of 64),
/// then encodes it: rank 4, dimensions innermost first {headDim, rows,
/// heads, batch}, box {64, boxRows, 1, 1}, 128-byte swizzle, zero fill,
/// 256-byte L2 promotion. A driver without cuTensorMapEncodeTiled (before
/// CUDA 12) is an error.
Status encodeTileOperand(const TileOperand &op, TensorMap &out);

} // namespace sieve::driver

#endif // SIEVE_RUNTIME_SIEVETENSORMAP_H

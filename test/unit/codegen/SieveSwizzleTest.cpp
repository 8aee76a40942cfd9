//===- SieveSwizzleTest.cpp - TMA, wgmma and the tile layout agree -------===//
//
// The Hopper kernels' shared-memory tiles (SieveSwizzle.h tile_offset, what
// sm90::swz returns) must be what a TMA box copy with the 128-byte swizzle
// writes and what the wgmma descriptors the kernels build read. Each check
// here walks every element of a tile through two models and the layout.
//
//===----------------------------------------------------------------------===//

#include "codegen/kernels/arch/sm90/SieveSwizzle.h"

#include <gtest/gtest.h>

#include <set>

using namespace sieve::swizzle;

namespace {
/// The byte the layout puts element (r, e) of a [rows][headDim] tile at.
unsigned layoutByte(int rows, int r, int e) { return tile_offset(rows, r, e / 8) + (e % 8) * 2; }
} // namespace

TEST(SieveSwizzle, TheLayoutIsAPermutationOfTheTile) {
  // Every element gets its own 2 bytes, inside the tile.
  for (int rows : {16, 64, 128})
    for (int headDim : {64, 128}) {
      std::set<unsigned> seen;
      for (int r = 0; r < rows; ++r)
        for (int e = 0; e < headDim; ++e) {
          const unsigned b = layoutByte(rows, r, e);
          ASSERT_LT(b, unsigned(rows * headDim * 2));
          ASSERT_TRUE(seen.insert(b).second) << "row " << r << " element " << e;
        }
    }
}

TEST(SieveSwizzle, TmaBoxesOfOneColumnBlockWriteTheLayout) {
  // A [rows][head_dim] tile loaded as head_dim / 64 boxes of [rows][64]
  // (cuTensorMapEncodeTiled with box {64, rows}), box j landing at the
  // tile's base + j * rows * 128: the swizzled bytes are the layout's. The
  // base is any 1 KiB-aligned address; a base off the atom grid is not.
  for (unsigned base : {0u, 1024u, 7u * 1024u})
    for (int rows : {64, 128})
      for (int headDim : {64, 128})
        for (int r = 0; r < rows; ++r)
          for (int e = 0; e < headDim; ++e) {
            const unsigned box = unsigned(e / 64) * unsigned(rows) * 128u;
            ASSERT_EQ(tma_box_offset(base + box, r, e % 64), base + layoutByte(rows, r, e))
                << "rows " << rows << ", row " << r << ", element " << e;
          }
  int differ = 0;
  for (int r = 0; r < 8; ++r)
    differ += tma_box_offset(512u, r, 0) != 512u + layoutByte(64, r, 0);
  EXPECT_GT(differ, 0) << "a base that is not 1 KiB aligned must break the agreement";
}

TEST(SieveSwizzle, KMajorDescriptorsReadTheLayout) {
  // FwdSm90's Q K^T (and BwdSm90's): k16 step kk of an operand with `rows`
  // rows starts at base + (kk / 4) * rows * 128 + (kk % 4) * 32, stride byte
  // offset 1024; element (m, k) of the step is element (m, 16 kk + k).
  for (int rows : {64, 128})
    for (int headDim : {64, 128})
      for (int kk = 0; kk < headDim / 16; ++kk) {
        const unsigned start = unsigned(kk / 4) * unsigned(rows) * 128u + unsigned(kk % 4) * 32u;
        for (int m = 0; m < rows; ++m)
          for (int k = 0; k < 16; ++k)
            ASSERT_EQ(wgmma_k_major(start, 1024, m, k), layoutByte(rows, m, 16 * kk + k))
                << "rows " << rows << ", k step " << kk << ", m " << m << ", k " << k;
      }
}

TEST(SieveSwizzle, MnMajorDescriptorsReadTheLayout) {
  // P V's V (read transposed, MN-major): k16 step kk covers key rows
  // [16 kk, 16 kk + 16) and starts at base + kk * 16 * 128; the leading byte
  // offset is the column-block stride (keys * 128), the stride byte offset
  // 1024; element (k, n) of the step is row 16 kk + k, column n.
  for (int keys : {64, 128})
    for (int headDim : {64, 128})
      for (int kk = 0; kk < keys / 16; ++kk) {
        const unsigned start = unsigned(kk) * 16u * 128u, lbo = unsigned(keys) * 128u;
        for (int k = 0; k < 16; ++k)
          for (int n = 0; n < headDim; ++n)
            ASSERT_EQ(wgmma_mn_major(start, lbo, 1024, k, n), layoutByte(keys, 16 * kk + k, n))
                << "keys " << keys << ", k step " << kk << ", k " << k << ", n " << n;
      }
}

//===- SieveTensorMapTest.cpp - TMA descriptors through the fake driver ---===//
//
// encodeTileOperand's arguments to cuTensorMapEncodeTiled and its named
// errors. (SieveCudaHeaderTest.cpp checks the constants against cuda.h.)
//
//===----------------------------------------------------------------------===//

#include "runtime/SieveDriver.h"
#include "runtime/SieveTensorMap.h"

#include <gtest/gtest.h>

#include <vector>

using namespace sieve;
using namespace sieve::driver;

namespace {
/// The arguments of the last cuTensorMapEncodeTiled call.
struct Seen {
  int dataType = -1, interleave = -1, swizzle = -1, l2 = -1, oob = -1;
  unsigned rank = 0;
  void *address = nullptr, *map = nullptr;
  std::vector<unsigned long long> dims, strides;
  std::vector<unsigned> box, elementStrides;
} seen;

CUresult fakeEncode(void *map, int dataType, unsigned rank, void *address,
                    const unsigned long long *dims, const unsigned long long *strides,
                    const unsigned *box, const unsigned *elementStrides, int interleave,
                    int swizzle, int l2, int oob) {
  seen.map = map, seen.dataType = dataType, seen.rank = rank, seen.address = address;
  seen.dims.assign(dims, dims + rank), seen.strides.assign(strides, strides + rank - 1);
  seen.box.assign(box, box + rank), seen.elementStrides.assign(elementStrides, elementStrides + rank);
  seen.interleave = interleave, seen.swizzle = swizzle, seen.l2 = l2, seen.oob = oob;
  return 0;
}

class SieveTensorMap : public ::testing::Test {
protected:
  Api api{};
  alignas(16) char buffer[64] = {};
  void SetUp() override {
    seen = Seen{};
    api.tensorMapEncodeTiled = fakeEncode;
    api.getErrorString = [](CUresult, const char **s) { return *s = "fake error", 0; };
    setApiForTesting(&api);
  }
  void TearDown() override { setApiForTesting(nullptr); }
  /// K of a [2, 8, 1000, 128] bf16 tensor, contiguous, 128-row boxes.
  TileOperand k() {
    TileOperand op;
    op.base = buffer, op.bf16 = true;
    op.batch = 2, op.heads = 8, op.rows = 1000, op.headDim = 128;
    op.stride[0] = 8 * 1000 * 128, op.stride[1] = 1000 * 128, op.stride[2] = 128;
    op.boxRows = 128;
    return op;
  }
};
} // namespace

TEST_F(SieveTensorMap, EncodesRankFourInnermostFirstWithTheKernelsSwizzle) {
  TensorMap map;
  ASSERT_TRUE(encodeTileOperand(k(), map));
  EXPECT_EQ(seen.map, static_cast<void *>(map.opaque));
  EXPECT_EQ(seen.dataType, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16);
  EXPECT_EQ(seen.rank, 4u);
  EXPECT_EQ(seen.address, static_cast<void *>(buffer));
  EXPECT_EQ(seen.dims, (std::vector<unsigned long long>{128, 1000, 8, 2}));
  // Bytes, for the row, head and batch dimensions.
  EXPECT_EQ(seen.strides, (std::vector<unsigned long long>{256, 256000, 2048000}));
  EXPECT_EQ(seen.box, (std::vector<unsigned>{64, 128, 1, 1}));
  EXPECT_EQ(seen.elementStrides, (std::vector<unsigned>{1, 1, 1, 1}));
  EXPECT_EQ(seen.interleave, CU_TENSOR_MAP_INTERLEAVE_NONE);
  EXPECT_EQ(seen.swizzle, CU_TENSOR_MAP_SWIZZLE_128B);
  EXPECT_EQ(seen.l2, CU_TENSOR_MAP_L2_PROMOTION_L2_256B);
  EXPECT_EQ(seen.oob, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);

  // fp16, and a KV-head-major layout ([batch, rows, heads, head_dim]) through strides.
  TileOperand op = k();
  op.bf16 = false;
  op.stride[1] = 128, op.stride[2] = 8 * 128;
  ASSERT_TRUE(encodeTileOperand(op, map));
  EXPECT_EQ(seen.dataType, CU_TENSOR_MAP_DATA_TYPE_FLOAT16);
  EXPECT_EQ(seen.strides, (std::vector<unsigned long long>{2048, 256, 2048000}));
}

TEST_F(SieveTensorMap, BreakingATmaRuleIsANamedError) {
  TensorMap map;
  auto expectError = [&](TileOperand op, const std::string &text) {
    seen = Seen{};
    Status s = encodeTileOperand(op, map);
    EXPECT_FALSE(s);
    EXPECT_NE(s.message.find(text), std::string::npos) << s.message;
    EXPECT_EQ(seen.rank, 0u) << "the driver must not be called: " << text;
  };
  TileOperand op = k();
  op.base = nullptr;
  expectError(op, "the tensor is null");
  op = k(), op.base = buffer + 8;
  expectError(op, "not 16-byte aligned");
  op = k(), op.rows = 0;
  expectError(op, "rows must be 1 to 2^32 but is 0");
  op = k(), op.headDim = 96;
  expectError(op, "head dim must be a multiple of 64");
  op = k(), op.boxRows = 257;
  expectError(op, "box rows must be 1 to 256 but is 257");
  op = k(), op.stride[2] = 100;
  expectError(op, "the row stride must be a non-negative multiple of 8 elements");
  op = k(), op.stride[1] = -128;
  expectError(op, "the head stride must be a non-negative multiple");
  op = k(), op.stride[0] = int64_t(1) << 40;
  expectError(op, "the batch stride");
  api.tensorMapEncodeTiled = nullptr;
  expectError(k(), "no cuTensorMapEncodeTiled");
}

TEST_F(SieveTensorMap, TheDriversErrorIsPassedOn) {
  api.tensorMapEncodeTiled = [](void *, int, unsigned, void *, const unsigned long long *,
                                const unsigned long long *, const unsigned *, const unsigned *, int,
                                int, int, int) { return 1; };
  TensorMap map;
  Status s = encodeTileOperand(k(), map);
  EXPECT_EQ(s.message, "cuTensorMapEncodeTiled: fake error (1)");
}

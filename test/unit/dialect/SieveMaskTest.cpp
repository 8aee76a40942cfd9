//===- SieveMaskTest.cpp - The evaluator against the paper's formulas -===//
//
// The built-ins' meaning is checked against PowerAttention's pseudo-code
// (arXiv 2503.03588), written here independently of the evaluator, exhaustively at
// small block sizes and at sampled points at the paper's B = 256.
//
//===----------------------------------------------------------------------===//

#include "../SieveTestUtils.h"

#include <functional>
#include <random>

using namespace sieve;
using Formula = std::function<bool(int64_t q, int64_t k, int64_t B)>;

namespace {
// The paper's masks on token indices with block size B.
bool power(int64_t q, int64_t k, int64_t B) {
  int64_t d = q / B - k / B;
  return q >= k && (k / B < 1 || d < 5 || (d & (d - 1)) == 0);
}
bool sliding(int64_t q, int64_t k, int64_t B) {
  int64_t d = q / B - k / B;
  return q >= k && (k < B || d < 9);
}
bool strideSlash(int64_t q, int64_t k, int64_t B) {
  int64_t d = q / B - k / B;
  return q >= k && (k < B || d < 6 || d % 32 == 0);
}
bool dilated(int64_t q, int64_t k, int64_t B) {
  int64_t d = q / B - k / B;
  return q >= k && (d & 1) == 0 && d < 20;
}
bool longnet(int64_t q, int64_t k, int64_t B) {
  int64_t qb = q / B, kb = k / B;
  const int64_t s[] = {8, 16, 32, 64, 128}, r[] = {1, 2, 4, 8, 16};
  bool any = false;
  for (int i = 0; i < 5; ++i)
    any |= (qb ^ kb) < s[i] && ((qb | kb) & (r[i] - 1)) == 0;
  return q >= k && any;
}
bool causal(int64_t q, int64_t k, int64_t) { return q >= k; }

struct Case {
  const char *builtin;
  Formula formula;
};
const Case kCases[] = {{"power_attention", power}, {"sliding_window", sliding},
                       {"stride_slash", strideSlash}, {"dilated", dilated},
                       {"longnet", longnet}, {"causal", causal}};

std::string withBlock(const char *builtin, int64_t B) {
  return std::string("{\"builtin\": \"") + builtin +
         "\", \"block_size\": " + std::to_string(B) + "}";
}
} // namespace

TEST(SieveMask, BuiltinsMatchThePaperExhaustively) {
  mlir::MLIRContext ctx;
  for (const Case &c : kCases) {
    for (int64_t B : {1, 3, 4}) {
      mask::Pattern p = test::importPattern(ctx, withBlock(c.builtin, B));
      mask::Evaluator eval(p);
      // 600 tokens of B = 4 is 150 blocks: past every segment and stride.
      for (int64_t q = 0; q < 600; ++q)
        for (int64_t k = 0; k < 600; ++k)
          ASSERT_EQ(eval(q, k), c.formula(q, k, B))
              << c.builtin << " B=" << B << " q=" << q << " k=" << k;
    }
  }
}

TEST(SieveMask, BuiltinsMatchThePaperAtScale) {
  mlir::MLIRContext ctx;
  std::mt19937_64 rng(7);
  for (const Case &c : kCases) {
    mask::Pattern p = test::importPattern(ctx, withBlock(c.builtin, 256));
    mask::Evaluator eval(p);
    for (int i = 0; i < 200000; ++i) {
      int64_t q = rng() % (1 << 20), k = rng() % (q + 1);
      // Bias half the samples towards nearby and power-of-two distances.
      if (i % 2)
        k = std::max<int64_t>(0, q - 256 * ((int64_t(1) << (rng() % 12))) +
                                     int64_t(rng() % 512) - 256);
      ASSERT_EQ(eval(q, k), c.formula(q, k, 256))
          << c.builtin << " q=" << q << " k=" << k;
    }
  }
}

TEST(SieveMask, PowerAttentionAt32KSeesTenBlocks) {
  // The paper: at 32K (128 blocks) the last block sees the sink, the 5-block
  // window and 4 power blocks (8, 16, 32 and 64 back).
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(ctx, "{\"builtin\": \"power_attention\"}");
  mask::Evaluator eval(p);
  const int64_t q = 32767;
  std::vector<int64_t> seen;
  for (int64_t kb = 0; kb < 128; ++kb)
    if (eval(q, kb * 256))
      seen.push_back(kb);
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 63, 95, 111, 119, 123, 124, 125,
                                         126, 127}));
}

TEST(SieveMask, TokenUnitsAndAsymmetricBlocks) {
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(ctx, R"({"block_size": [2, 4], "mask":
      {"union": [{"sink": {"tokens": 3}}, {"window": {"tokens": 2}},
                 {"band": {"min": -1, "max": -1, "unit": "block"}}]}})");
  mask::Evaluator eval(p);
  for (int64_t q = 0; q < 40; ++q)
    for (int64_t k = 0; k < 40; ++k) {
      bool want = k < 3 || (q - k >= 0 && q - k < 2) || q / 2 - k / 4 == -1;
      ASSERT_EQ(eval(q, k), want) << q << " " << k;
    }
}

TEST(SieveMask, GlobalCausalOffsetStrideAndNot) {
  mlir::MLIRContext ctx;
  mask::Pattern p = test::importPattern(ctx, R"({"block_size": 4, "mask":
      {"intersect": [{"causal": {"offset": 2}},
                     {"not": {"global": {"blocks": 1}}},
                     {"union": [{"stride": {"blocks": 3}},
                                {"global": {"tokens": 9}}]}]}})");
  mask::Evaluator eval(p);
  for (int64_t q = 0; q < 64; ++q)
    for (int64_t k = 0; k < 64; ++k) {
      int64_t d = q / 4 - k / 4;
      bool g1 = k / 4 < 1 || q / 4 < 1;
      bool want = k <= q + 2 && !g1 &&
                  ((d >= 0 && d % 3 == 0) || k < 9 || q < 9);
      ASSERT_EQ(eval(q, k), want) << q << " " << k;
    }
}

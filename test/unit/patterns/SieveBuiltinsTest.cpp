//===- SieveBuiltinsTest.cpp - Each built-in equals its long form -===//
//
// The long forms below are written by hand in the algebra (the PowerAttention
// paper's definitions, arXiv 2503.03588); a built-in must import to the same ops and mean
// the same thing, with default and with overridden parameters.
//
//===----------------------------------------------------------------------===//

#include "../SieveTestUtils.h"
#include "patterns/SieveBuiltins.h"

#include <random>

using namespace sieve;

namespace {
struct LongForm {
  const char *shorthand;
  const char *longForm;
};

const LongForm kForms[] = {
    {R"({"builtin": "power_attention"})",
     R"({"block_size": 256, "mask": {"intersect": ["causal", {"union": [{"sink": {"blocks": 1}}, {"window": {"blocks": 5}}, {"power_of_two": {}}]}]}})"},
    {R"({"builtin": "power_attention", "window_blocks": 3, "sink_blocks": 2, "block_size": 64})",
     R"({"block_size": 64, "mask": {"intersect": ["causal", {"union": [{"sink": {"blocks": 2}}, {"window": {"blocks": 3}}, {"power_of_two": {}}]}]}})"},
    {R"({"builtin": "sliding_window"})",
     R"({"mask": {"intersect": ["causal", {"union": [{"sink": {"blocks": 1}}, {"window": {"blocks": 9}}]}]}})"},
    {R"({"builtin": "stride_slash"})",
     R"({"mask": {"intersect": ["causal", {"union": [{"sink": {"blocks": 1}}, {"window": {"blocks": 6}}, {"stride": {"blocks": 32}}]}]}})"},
    {R"({"builtin": "stride_slash", "stride_blocks": 8})",
     R"({"mask": {"intersect": ["causal", {"union": [{"sink": {"blocks": 1}}, {"window": {"blocks": 6}}, {"stride": {"blocks": 8}}]}]}})"},
    {R"({"builtin": "dilated"})",
     R"({"mask": {"intersect": ["causal", {"dilated": {"rate": 2, "window_blocks": 20}}]}})"},
    {R"({"builtin": "longnet"})",
     R"({"mask": {"intersect": ["causal", {"longnet": {"segments": [8, 16, 32, 64, 128], "ratios": [1, 2, 4, 8, 16]}}]}})"},
    {R"({"builtin": "longnet", "segments": [4, 12], "ratios": [1, 4]})",
     R"({"mask": {"intersect": ["causal", {"longnet": {"segments": [4, 12], "ratios": [1, 4]}}]}})"},
    {R"({"builtin": "causal"})", R"({"mask": "causal"})"},
    {R"({"builtin": "full"})", R"({"mask": "full"})"},
    {R"({"builtin": "longformer"})",
     R"({"mask": {"union": [{"global": {"blocks": 1}}, {"band": {"min": -3, "max": 3, "unit": "block"}}]}})"},
    {R"({"builtin": "longformer", "window_blocks": 0, "global_blocks": 2})",
     R"({"mask": {"union": [{"global": {"blocks": 2}}, {"band": {"min": 0, "max": 0}}]}})"},
};
} // namespace

TEST(SieveBuiltins, EqualTheirLongForms) {
  mlir::MLIRContext ctx;
  std::mt19937_64 rng(3);
  for (const LongForm &f : kForms) {
    std::string a, b;
    mask::Pattern short_ = test::importPattern(ctx, f.shorthand, &a);
    mask::Pattern long_ = test::importPattern(ctx, f.longForm, &b);
    // Same ops in the same order: the built-in is literally its long form.
    EXPECT_EQ(a, b) << f.shorthand;
    EXPECT_EQ(short_.blockQ, long_.blockQ);
    EXPECT_EQ(short_.blockK, long_.blockK);
    mask::Evaluator ea(short_), eb(long_);
    for (int i = 0; i < 20000; ++i) {
      int64_t q = rng() % 100000, k = rng() % 100000;
      ASSERT_EQ(ea(q, k), eb(q, k)) << f.shorthand << " q=" << q << " k=" << k;
    }
  }
}

TEST(SieveBuiltins, EveryBuiltinHasALongFormTest) {
  for (const Builtin &b : builtins()) {
    bool covered = false;
    for (const LongForm &f : kForms)
      covered |= std::string(f.shorthand).find("\"" + b.name + "\"") !=
                 std::string::npos;
    EXPECT_TRUE(covered) << b.name << " has no long-form test";
  }
}

TEST(SieveBuiltins, NestedBuiltinUsesDefaults) {
  mlir::MLIRContext ctx;
  std::string a, b;
  test::importPattern(ctx, R"({"mask": {"builtin": "power_attention"}})", &a);
  test::importPattern(ctx, R"({"builtin": "power_attention"})", &b);
  EXPECT_EQ(a, b);
}

TEST(SieveBuiltins, NamesAreUniqueAndDescribed) {
  std::set<std::string> names;
  for (const Builtin &b : builtins()) {
    EXPECT_TRUE(names.insert(b.name).second) << b.name;
    EXPECT_FALSE(b.description.empty()) << b.name;
    EXPECT_EQ(b.description.find('\n'), std::string::npos) << b.name;
    EXPECT_EQ(findBuiltin(b.name), &b);
  }
  EXPECT_EQ(findBuiltin("nope"), nullptr);
}

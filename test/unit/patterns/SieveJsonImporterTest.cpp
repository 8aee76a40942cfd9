//===- SieveJsonImporterTest.cpp - Importer errors and robustness -===//

#include "../SieveTestUtils.h"

#include <random>

using namespace sieve;

TEST(SieveJsonImporter, ErrorsNameTheLocation) {
  mlir::MLIRContext ctx;
  EXPECT_EQ(test::importError(ctx, R"({"mask": {"intersect": ["causal", {"window": {"blocks": 0}}]}})"),
            "at /mask/intersect/1/window/blocks: expected an integer in [1, "
            "1099511627776] but found 0");
  EXPECT_EQ(test::importError(ctx, R"({"mask": {"window": {"blocks": "5"}}})"),
            "at /mask/window/blocks: expected an integer in [1, "
            "1099511627776] but found \"5\"");
  EXPECT_EQ(test::importError(ctx, R"({"mask": {"power_of_two": {"x": 1}}})"),
            "at /mask/power_of_two/x: unknown key \"x\"; expected one of ");
  EXPECT_EQ(test::importError(ctx, R"({"mask": {"predicate": "(q < k"}})"),
            "at /mask/predicate: column 7: expected ')' but found end of "
            "expression");
  EXPECT_EQ(test::importError(ctx, R"({"block_size": [1, 2, 3], "mask": "full"})"),
            "at /block_size: expected [block_q, block_k] but found an array "
            "of 3 elements");
  EXPECT_EQ(test::importError(ctx, R"({"mask": {"a/b~c": {}}})").substr(0, 15),
            "at /mask/a~1b~0");
}

TEST(SieveJsonImporter, SyntaxErrorsHaveLineAndColumn) {
  mlir::MLIRContext ctx;
  std::string e = test::importError(ctx, "{\n  \"mask\": causal\n}");
  EXPECT_EQ(e.rfind("line 2, column ", 0), 0u) << e;
  e = test::importError(ctx, "");
  EXPECT_EQ(e.rfind("line 1, column 1: ", 0), 0u) << e;
  e = test::importError(ctx, "{\"mask\": \"causal\"} trailing");
  EXPECT_EQ(e.rfind("line 1, column ", 0), 0u) << e;
}

TEST(SieveJsonImporter, HugeNumbersAreRejected) {
  mlir::MLIRContext ctx;
  for (const char *n : {"1e30", "1000000000000000000000000000000",
                        "18446744073709551615", "9223372036854775808",
                        "1099511627777", "3.0"}) {
    std::string e = test::importError(
        ctx, std::string(R"({"mask": {"stride": {"blocks": )") + n + "}}}");
    EXPECT_EQ(e.rfind("at /mask/stride/blocks: expected an integer in", 0), 0u)
        << n << ": " << e;
  }
}

TEST(SieveJsonImporter, NumbersPastDoubleAreSyntaxErrors) {
  mlir::MLIRContext ctx;
  std::string e = test::importError(ctx, R"({"mask": {"stride": {"blocks": -1e400}}})");
  EXPECT_EQ(e, "line 1, column 37: number overflow parsing '-1e400'");
}

TEST(SieveJsonImporter, DeepNestingIsBounded) {
  mlir::MLIRContext ctx;
  std::string deep(100000, '[');
  std::string e = test::importError(ctx, deep + std::string(100000, ']'));
  EXPECT_NE(e.find("nesting deeper than 256 levels"), std::string::npos) << e;

  std::string nots;
  for (int i = 0; i < 100000; ++i)
    nots += "{\"not\": ";
  e = test::importError(ctx, "{\"mask\": " + nots + "\"full\"" +
                                 std::string(100000, '}') + "}");
  EXPECT_NE(e.find("nesting deeper than"), std::string::npos) << e;

  // Within the JSON limit but past the mask limit.
  nots.clear();
  for (int i = 0; i < 100; ++i)
    nots += "{\"not\": ";
  e = test::importError(ctx, "{\"mask\": " + nots + "\"full\"" +
                                 std::string(100, '}') + "}");
  EXPECT_NE(e.find("masks nested deeper than 64 levels"), std::string::npos)
      << e;
}

TEST(SieveJsonImporter, EveryPrefixOfAValidSpecIsHandled) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<SieveDialect, mlir::arith::ArithDialect>();
  const std::string spec = R"({"sieve": 1, "name": "p", "block_size": [64, 128],
    "mask": {"intersect": ["causal", {"union": [{"sink": {"tokens": 7}},
    {"band": {"min": -2, "max": 5, "unit": "token"}}, {"predicate": "kb % 3 == 0"},
    {"longnet": {"segments": [8, 16], "ratios": [1, 2]}}]}]}})";
  for (size_t n = 0; n < spec.size(); ++n) {
    SpecError error;
    auto module = importJsonSpec(spec.substr(0, n), "t.json", &ctx, error);
    EXPECT_FALSE(module) << n;
    EXPECT_FALSE(error.message.empty()) << n;
  }
  SpecError error;
  EXPECT_TRUE(importJsonSpec(spec, "t.json", &ctx, error)) << error.str();
}

TEST(SieveJsonImporter, GarbageNeverCrashes) {
  mlir::MLIRContext ctx;
  ctx.loadDialect<SieveDialect, mlir::arith::ArithDialect>();
  std::mt19937_64 rng(11);
  for (int i = 0; i < 3000; ++i) {
    std::string bytes(rng() % 200, '\0');
    for (char &c : bytes)
      c = static_cast<char>(rng());
    if (i % 3 == 0)
      bytes = "{\"mask\": " + bytes;
    SpecError error;
    auto module = importJsonSpec(bytes, "g.json", &ctx, error);
    if (!module)
      EXPECT_FALSE(error.message.empty());
  }
}

namespace {
/// A random expression over the predicate language, as text.
std::string randomExpr(std::mt19937_64 &rng, int depth) {
  static const char *const vars[] = {"q", "k", "qb", "kb", "d"};
  static const char *const ops[] = {"+", "-", "*", "/", "%", "&", "|", "^",
                                    "<<", ">>", "==", "!=", "<", "<=", ">",
                                    ">=", "&&", "||"};
  int pick = depth <= 0 ? int(rng() % 2) : int(rng() % 6);
  switch (pick) {
  case 0: return vars[rng() % 5];
  case 1: return std::to_string(int64_t(rng() % 70) - 5);
  case 2: return std::string(rng() % 2 ? "-" : "!") + "(" +
                 randomExpr(rng, depth - 1) + ")";
  default:
    return "(" + randomExpr(rng, depth - 1) + " " + ops[rng() % 18] + " " +
           randomExpr(rng, depth - 1) + ")";
  }
}
} // namespace

TEST(SieveJsonImporter, PredicatesMeanWhatTheExpressionSays) {
  // Through JSON -> sieve.predicate (arith ops) -> reference evaluator, a
  // predicate must agree with the expression evaluated directly.
  mlir::MLIRContext ctx;
  std::mt19937_64 rng(5);
  for (int i = 0; i < 300; ++i) {
    std::string text = randomExpr(rng, 4);
    expr::Expr e;
    expr::ParseError perr;
    ASSERT_TRUE(expr::parse(text, e, perr)) << text << ": " << perr.message;
    int64_t bq = 1 + rng() % 8, bk = 1 + rng() % 8;
    mask::Pattern p = test::importPattern(
        ctx, "{\"block_size\": [" + std::to_string(bq) + ", " +
                 std::to_string(bk) + "], \"mask\": {\"predicate\": \"" +
                 text + "\"}}");
    mask::Evaluator eval(p);
    for (int j = 0; j < 200; ++j) {
      int64_t q = rng() % 300, k = rng() % 300;
      bool want = expr::evaluate(e, {q, k, q / bq, k / bk}) != 0;
      ASSERT_EQ(eval(q, k), want) << text << " q=" << q << " k=" << k;
    }
  }
}

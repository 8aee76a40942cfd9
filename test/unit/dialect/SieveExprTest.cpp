//===- SieveExprTest.cpp - Tests for the predicate expression language ----===//

#include "dialect/SieveExpr.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

using namespace sieve::expr;

namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

/// A fully parenthesized prefix rendering of the tree, independent of print(),
/// so that precedence tests state the expected structure explicitly.
std::string tree(const Expr &e, int node) {
  const Node &n = e.nodes[size_t(node)];
  switch (n.kind) {
  case OpKind::Const: return std::to_string(n.value);
  case OpKind::Var: return spelling(n.var);
  case OpKind::Neg: case OpKind::Not:
    return std::string("(") + spelling(n.kind) + " " + tree(e, n.lhs) + ")";
  default:
    return std::string("(") + spelling(n.kind) + " " + tree(e, n.lhs) + " " +
           tree(e, n.rhs) + ")";
  }
}

/// Infix text with every operation parenthesized: parsing it checks the parser
/// without trusting print().
std::string fullInfix(const Expr &e, int node) {
  const Node &n = e.nodes[size_t(node)];
  switch (n.kind) {
  case OpKind::Const: return std::to_string(n.value);
  case OpKind::Var: return spelling(n.var);
  case OpKind::Neg: case OpKind::Not:
    return std::string("(") + spelling(n.kind) + fullInfix(e, n.lhs) + ")";
  default:
    return "(" + fullInfix(e, n.lhs) + " " + spelling(n.kind) + " " +
           fullInfix(e, n.rhs) + ")";
  }
}

std::string parseTree(const std::string &text) {
  Expr e;
  ParseError err;
  if (!parse(text, e, err))
    return "error " + std::to_string(err.column) + ": " + err.message;
  return tree(e, e.root);
}

int64_t eval(const std::string &text, Env env = {0, 0, 0, 0}) {
  Expr e;
  ParseError err;
  EXPECT_TRUE(parse(text, e, err)) << text << ": " << err.message;
  return evaluate(e, env);
}

/// Structural equality, ignoring source columns.
bool sameTree(const Expr &a, const Expr &b) {
  if (a.root != b.root || a.nodes.size() != b.nodes.size())
    return false;
  for (size_t i = 0; i < a.nodes.size(); ++i) {
    const Node &x = a.nodes[i], &y = b.nodes[i];
    if (x.kind != y.kind || x.lhs != y.lhs || x.rhs != y.rhs ||
        (x.kind == OpKind::Const && x.value != y.value) ||
        (x.kind == OpKind::Var && x.var != y.var))
      return false;
  }
  return true;
}

/// Parses print(e) and checks it gives back the same tree.
void expectRoundTrip(const Expr &e) {
  std::string text = print(e);
  Expr again;
  ParseError err;
  ASSERT_TRUE(parse(text, again, err))
      << text.substr(0, 200) << ": " << err.column << ": " << err.message;
  EXPECT_TRUE(sameTree(e, again)) << text.substr(0, 200);
}

std::string repeat(const std::string &s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

TEST(SieveExprTest, Precedence) {
  EXPECT_EQ(parseTree("q + k * qb"), "(+ q (* k qb))");
  EXPECT_EQ(parseTree("q * k + qb"), "(+ (* q k) qb)");
  EXPECT_EQ(parseTree("q << k + 1"), "(<< q (+ k 1))");
  EXPECT_EQ(parseTree("q < k << 1"), "(< q (<< k 1))");
  EXPECT_EQ(parseTree("q == k < qb"), "(== q (< k qb))");
  EXPECT_EQ(parseTree("q & k == qb"), "(& q (== k qb))");
  EXPECT_EQ(parseTree("q ^ k & qb"), "(^ q (& k qb))");
  EXPECT_EQ(parseTree("q | k ^ qb"), "(| q (^ k qb))");
  EXPECT_EQ(parseTree("q && k | qb"), "(&& q (| k qb))");
  EXPECT_EQ(parseTree("q || k && qb"), "(|| q (&& k qb))");
  EXPECT_EQ(parseTree("q && k || qb"), "(|| (&& q k) qb)");
  EXPECT_EQ(parseTree("-q * k"), "(* (- q) k)");
  EXPECT_EQ(parseTree("!q == k"), "(== (! q) k)");
  EXPECT_EQ(parseTree("--q"), "(- (- q))");
  EXPECT_EQ(parseTree("!-!q"), "(! (- (! q)))");
  EXPECT_EQ(parseTree("q - -k"), "(- q (- k))");
  EXPECT_EQ(parseTree("(q + k) * qb"), "(* (+ q k) qb)");
  EXPECT_EQ(parseTree("((d))"), "d");
  EXPECT_EQ(parseTree(" qb\t-\nkb\r"), "(- qb kb)");
  EXPECT_EQ(parseTree("q|k||qb&&kb&d"), "(|| (| q k) (&& qb (& kb d)))");
  EXPECT_EQ(parseTree("q<<k<=qb>>kb"), "(<= (<< q k) (>> qb kb))");
}

TEST(SieveExprTest, LeftAssociativity) {
  const char *ops[] = {"||", "&&", "|",  "^", "&", "==", "!=", "<", "<=",
                       ">",  ">=", "<<", ">>", "+", "-", "*",  "/", "%"};
  for (const char *op : ops) {
    std::string o = op;
    EXPECT_EQ(parseTree("q " + o + " k " + o + " d"),
              "(" + o + " (" + o + " q k) d)");
    EXPECT_EQ(parseTree("q " + o + " (k " + o + " d)"),
              "(" + o + " q (" + o + " k d))");
  }
  EXPECT_EQ(parseTree("q - k + d"), "(+ (- q k) d)");
  EXPECT_EQ(parseTree("q / k * d % 3"), "(% (* (/ q k) d) 3)");
  EXPECT_EQ(parseTree("q == k != d"), "(!= (== q k) d)");
  EXPECT_EQ(parseTree("q < k >= d"), "(>= (< q k) d)");
  EXPECT_EQ(eval("100 - 10 - 1"), 89);
  EXPECT_EQ(eval("64 / 4 / 2"), 8);
  EXPECT_EQ(eval("1 << 2 << 3"), 32);
}

TEST(SieveExprTest, Literals) {
  EXPECT_EQ(eval("0"), 0);
  EXPECT_EQ(eval("42"), 42);
  EXPECT_EQ(eval("007"), 7);
  EXPECT_EQ(eval("9223372036854775807"), kMax);
  EXPECT_EQ(eval("-9223372036854775807 - 1"), kMin);
}

TEST(SieveExprTest, Variables) {
  Env env{10, 20, 3, 5};
  EXPECT_EQ(eval("q", env), 10);
  EXPECT_EQ(eval("k", env), 20);
  EXPECT_EQ(eval("qb", env), 3);
  EXPECT_EQ(eval("kb", env), 5);
  EXPECT_EQ(eval("d", env), -2);
  // d wraps like every other subtraction.
  EXPECT_EQ(eval("d", {0, 0, kMin, 1}), kMax);
  EXPECT_EQ(eval("d", {0, 0, kMax, -1}), kMin);
}

TEST(SieveExprTest, WrappingArithmetic) {
  EXPECT_EQ(applyBinary(OpKind::Add, kMax, 1), kMin);
  EXPECT_EQ(applyBinary(OpKind::Add, kMin, -1), kMax);
  EXPECT_EQ(applyBinary(OpKind::Sub, kMin, 1), kMax);
  EXPECT_EQ(applyBinary(OpKind::Sub, 0, kMin), kMin);
  EXPECT_EQ(applyBinary(OpKind::Sub, 3, 5), -2);
  EXPECT_EQ(applyBinary(OpKind::Mul, kMax, 2), -2);
  EXPECT_EQ(applyBinary(OpKind::Mul, kMin, -1), kMin);
  EXPECT_EQ(applyBinary(OpKind::Mul, int64_t(1) << 32, int64_t(1) << 32), 0);
  EXPECT_EQ(applyBinary(OpKind::Mul, 3, -4), -12);
  EXPECT_EQ(applyUnary(OpKind::Neg, kMin), kMin);
  EXPECT_EQ(applyUnary(OpKind::Neg, kMax), kMin + 1);
  EXPECT_EQ(applyUnary(OpKind::Neg, 0), 0);
  EXPECT_EQ(eval("9223372036854775807 + 1"), kMin);
  EXPECT_EQ(eval("-(q)", {kMin, 0, 0, 0}), kMin);
  EXPECT_EQ(eval("q * q", {kMin, 0, 0, 0}), 0);
}

TEST(SieveExprTest, DivisionAndRemainder) {
  EXPECT_EQ(applyBinary(OpKind::Div, 7, 2), 3);
  EXPECT_EQ(applyBinary(OpKind::Div, -7, 2), -3);
  EXPECT_EQ(applyBinary(OpKind::Div, 7, -2), -3);
  EXPECT_EQ(applyBinary(OpKind::Div, -7, -2), 3);
  EXPECT_EQ(applyBinary(OpKind::Div, 5, 0), 0);
  EXPECT_EQ(applyBinary(OpKind::Div, 0, 0), 0);
  EXPECT_EQ(applyBinary(OpKind::Div, kMin, 0), 0);
  EXPECT_EQ(applyBinary(OpKind::Div, kMin, -1), kMin);
  EXPECT_EQ(applyBinary(OpKind::Div, kMin, 1), kMin);
  EXPECT_EQ(applyBinary(OpKind::Div, kMin, 2), kMin / 2);
  EXPECT_EQ(applyBinary(OpKind::Rem, 7, 2), 1);
  EXPECT_EQ(applyBinary(OpKind::Rem, -7, 2), -1);
  EXPECT_EQ(applyBinary(OpKind::Rem, 7, -2), 1);
  EXPECT_EQ(applyBinary(OpKind::Rem, -7, -2), -1);
  EXPECT_EQ(applyBinary(OpKind::Rem, 5, 0), 0);
  EXPECT_EQ(applyBinary(OpKind::Rem, kMin, 0), 0);
  EXPECT_EQ(applyBinary(OpKind::Rem, kMin, -1), 0);
  EXPECT_EQ(applyBinary(OpKind::Rem, kMin, 3), -2);
  EXPECT_EQ(applyBinary(OpKind::Rem, kMax, kMin), kMax);
  EXPECT_EQ(eval("q / k", {9, 0, 0, 0}), 0);
  EXPECT_EQ(eval("q % k", {9, 0, 0, 0}), 0);
  EXPECT_EQ(eval("q / -1", {kMin, 0, 0, 0}), kMin);
  EXPECT_EQ(eval("q % -1", {kMin, 0, 0, 0}), 0);
}

TEST(SieveExprTest, Shifts) {
  EXPECT_EQ(applyBinary(OpKind::Shl, 1, 0), 1);
  EXPECT_EQ(applyBinary(OpKind::Shl, 1, 63), kMin);
  EXPECT_EQ(applyBinary(OpKind::Shl, 1, 64), 0);
  EXPECT_EQ(applyBinary(OpKind::Shl, 1, -1), 0);
  EXPECT_EQ(applyBinary(OpKind::Shl, -1, 1), -2);
  EXPECT_EQ(applyBinary(OpKind::Shl, kMax, 1), -2);
  EXPECT_EQ(applyBinary(OpKind::Shl, 3, 62), kMin + (int64_t(1) << 62));
  EXPECT_EQ(applyBinary(OpKind::Shl, 5, kMin), 0);
  EXPECT_EQ(applyBinary(OpKind::Shr, 8, 1), 4);
  EXPECT_EQ(applyBinary(OpKind::Shr, -8, 1), -4);
  EXPECT_EQ(applyBinary(OpKind::Shr, -7, 1), -4);
  EXPECT_EQ(applyBinary(OpKind::Shr, -1, 63), -1);
  EXPECT_EQ(applyBinary(OpKind::Shr, kMin, 63), -1);
  EXPECT_EQ(applyBinary(OpKind::Shr, kMax, 63), 0);
  EXPECT_EQ(applyBinary(OpKind::Shr, 5, 64), 0);
  EXPECT_EQ(applyBinary(OpKind::Shr, -5, 64), -1);
  EXPECT_EQ(applyBinary(OpKind::Shr, 5, -1), 0);
  EXPECT_EQ(applyBinary(OpKind::Shr, -5, -1), -1);
  EXPECT_EQ(applyBinary(OpKind::Shr, -5, kMax), -1);
  EXPECT_EQ(eval("1 << 64"), 0);
  EXPECT_EQ(eval("-5 >> 100"), -1);
}

TEST(SieveExprTest, BitwiseComparisonsAndLogic) {
  EXPECT_EQ(applyBinary(OpKind::And, -4, 7), 4);
  EXPECT_EQ(applyBinary(OpKind::Or, -8, 3), -5);
  EXPECT_EQ(applyBinary(OpKind::Xor, -1, kMax), kMin);
  EXPECT_EQ(applyBinary(OpKind::Lt, kMin, kMax), 1);
  EXPECT_EQ(applyBinary(OpKind::Lt, kMax, kMax), 0);
  EXPECT_EQ(applyBinary(OpKind::Le, kMax, kMax), 1);
  EXPECT_EQ(applyBinary(OpKind::Gt, -1, kMin), 1);
  EXPECT_EQ(applyBinary(OpKind::Ge, kMin, -1), 0);
  EXPECT_EQ(applyBinary(OpKind::Eq, 3, 3), 1);
  EXPECT_EQ(applyBinary(OpKind::Ne, 3, 3), 0);
  EXPECT_EQ(applyBinary(OpKind::LAnd, 2, -3), 1);
  EXPECT_EQ(applyBinary(OpKind::LAnd, 0, 5), 0);
  EXPECT_EQ(applyBinary(OpKind::LOr, kMin, 0), 1);
  EXPECT_EQ(applyBinary(OpKind::LOr, 0, 0), 0);
  EXPECT_EQ(applyUnary(OpKind::Not, 0), 1);
  EXPECT_EQ(applyUnary(OpKind::Not, kMin), 0);
  EXPECT_EQ(applyUnary(OpKind::Not, 5), 0);
  // Nothing has side effects, so evaluating both operands is harmless.
  EXPECT_EQ(eval("0 && 1 / 0"), 0);
  EXPECT_EQ(eval("q >= k && q - k < 4", {9, 6, 0, 0}), 1);
  // Non-operator kinds are rejected quietly rather than trapping.
  EXPECT_EQ(applyBinary(OpKind::Neg, 1, 2), 0);
  EXPECT_EQ(applyUnary(OpKind::Add, 1), 0);
}

TEST(SieveExprTest, Spelling) {
  EXPECT_STREQ(spelling(OpKind::Neg), "-");
  EXPECT_STREQ(spelling(OpKind::Not), "!");
  EXPECT_STREQ(spelling(OpKind::Shl), "<<");
  EXPECT_STREQ(spelling(OpKind::LAnd), "&&");
  EXPECT_STREQ(spelling(OpKind::Const), "");
  EXPECT_STREQ(spelling(Var::KB), "kb");
  EXPECT_STREQ(spelling(Var::D), "d");
}

TEST(SieveExprTest, Errors) {
  struct Case {
    std::string text;
    int column;
    std::string message;
  } cases[] = {
      {"", 1, "expected an expression but found end of expression"},
      {"q + * k", 5, "expected an operand but found '*'"},
      {"(q < k", 7, "expected ')' but found end of expression"},
      {"q $ k", 3, "unexpected character '$'"},
      {"x < 3", 1, "unknown identifier 'x'; expected one of q, k, qb, kb, d"},
      {"q k", 3, "expected an operator or end of expression but found 'k'"},
      {"9223372036854775808", 1, "integer literal out of range"},
      {"q + 99999999999999999999999", 5, "integer literal out of range"},
      {"-9223372036854775808", 2, "integer literal out of range"},
      {"q +", 4, "expected an operand but found end of expression"},
      {"q + \t", 6, "expected an operand but found end of expression"},
      {"()", 2, "expected an operand but found ')'"},
      {")", 1, "expected an operand but found ')'"},
      {"q)", 2, "expected an operator or end of expression but found ')'"},
      {"(q k", 4, "expected ')' but found 'k'"},
      {"q k $", 3, "expected an operator or end of expression but found 'k'"},
      {"q\n+ *", 5, "expected an operand but found '*'"},
      {std::string("q\x01", 2), 2, "unexpected character '\\x01'"},
      {std::string("q \0", 3), 3, "unexpected character '\\x00'"},
      {"q \xff", 3, "unexpected character '\\xff'"},
      {"'", 1, "unexpected character '\\''"},
      {"q = k", 3, "unexpected character '='; did you mean '=='"},
      {"~q", 1, "unexpected character '~'"},
      {"q ? k : 1", 3, "unexpected character '?'"},
      {"Q", 1, "unknown identifier 'Q'; expected one of q, k, qb, kb, d"},
      {"q + qk", 5, "unknown identifier 'qk'; expected one of q, k, qb, kb, d"},
      {"0x10", 1, "invalid integer literal '0x10'; expected decimal digits only"},
      {"3q", 1, "invalid integer literal '3q'; expected decimal digits only"},
      {repeat("a", 40), 1,
       "unknown identifier '" + repeat("a", 32) +
           "...'; expected one of q, k, qb, kb, d"},
  };
  for (const Case &c : cases) {
    Expr e;
    ParseError err;
    EXPECT_FALSE(parse(c.text, e, err)) << c.text;
    EXPECT_EQ(err.column, c.column) << c.text;
    EXPECT_EQ(err.message, c.message) << c.text;
    EXPECT_TRUE(e.nodes.empty() && e.root == -1) << c.text;
  }
}

void expectError(const std::string &text, int column,
                 const std::string &message) {
  Expr e;
  ParseError err;
  ASSERT_FALSE(parse(text, e, err));
  EXPECT_EQ(err.column, column);
  EXPECT_EQ(err.message, message);
}

const char *const kTooDeep = "expression nested deeper than 256 levels";

TEST(SieveExprTest, DepthLimit) {
  EXPECT_EQ(eval(repeat("(", 256) + "q" + repeat(")", 256), {7, 0, 0, 0}), 7);
  expectError(repeat("(", 257) + "q" + repeat(")", 257), 257, kTooDeep);
  EXPECT_EQ(eval(repeat("-", 256) + "q", {7, 0, 0, 0}), 7);
  expectError(repeat("-", 257) + "q", 257, kTooDeep);
  expectError(repeat("!", 300) + "q", 257, kTooDeep);
  // Parentheses and unary operators count together.
  std::string mixed = repeat("-(", 128) + "q" + repeat(")", 128);
  EXPECT_EQ(eval(mixed, {7, 0, 0, 0}), 7);
  expectError("!" + mixed, 257, kTooDeep);
  // Depth is released on the way out, so siblings do not accumulate.
  std::string deep = repeat("(", 200) + "q" + repeat(")", 200);
  EXPECT_EQ(eval(deep + " + " + deep + " + -" + deep, {7, 0, 0, 0}), 7);
  // Binary chains do not nest, however long.
  EXPECT_EQ(eval("q" + repeat(" + q", 1000), {1, 0, 0, 0}), 1001);
  // Far past the limit, the parser still stops at the first crossing.
  expectError(repeat("(", 60000), 257, kTooDeep);
}

TEST(SieveExprTest, SizeLimits) {
  // 2048 leaves and 2047 additions: 4095 nodes.
  EXPECT_EQ(eval("q" + repeat("+q", 2047), {1, 0, 0, 0}), 2048);
  EXPECT_EQ(eval("q" + repeat("+q", 2046) + "+-q", {1, 0, 0, 0}), 2046);
  // The 4097th node is the last '+', at column 2 * 2048.
  expectError("q" + repeat("+q", 2048), 4096,
              "expression has more than 4096 nodes");
  EXPECT_EQ(eval("q" + std::string(65535, ' '), {1, 0, 0, 0}), 1);
  expectError("q" + std::string(65536, ' '), 65537,
              "expression is longer than 65536 bytes");
  expectError(std::string(65536, ' '), 65537,
              "expected an expression but found end of expression");
}

TEST(SieveExprTest, PrintIsCanonical) {
  std::pair<const char *, const char *> cases[] = {
      {"q+k*qb", "q + k * qb"},
      {"(q+k)*qb", "(q + k) * qb"},
      {"q-(k-qb)", "q - (k - qb)"},
      {"(q-k)-qb", "q - k - qb"},
      {"-(q+k)", "-(q + k)"},
      {"- - q", "--q"},
      {"!(q<k)", "!(q < k)"},
      {"((q))", "q"},
      {"q & 1 == 0", "q & 1 == 0"},
      {"(q & 1) == 0", "(q & 1) == 0"},
      {"q - -k", "q - -k"},
      {"(-q) * (!k)", "-q * !k"},
      {"q || (k && d)", "q || k && d"},
      {"(q || k) && d", "(q || k) && d"},
      {"qb-kb<=2&&q>=k", "qb - kb <= 2 && q >= k"},
      {"9223372036854775807 % (d >> 1)", "9223372036854775807 % (d >> 1)"},
  };
  for (auto [text, expected] : cases) {
    Expr e;
    ParseError err;
    ASSERT_TRUE(parse(text, e, err)) << text;
    EXPECT_EQ(print(e), expected);
    expectRoundTrip(e);
  }
  EXPECT_EQ(print(Expr()), "");
}

TEST(SieveExprTest, PrintStaysWithinLimits) {
  // Long left chains, deep right nesting and the longest literals all
  // re-parse, even though a fully parenthesized form would not.
  const std::string sources[] = {
      "q" + repeat(" - q", 2047),
      repeat("q - (", 255) + "q" + repeat(")", 255),
      repeat("-", 256) + "q",
      repeat("!(", 128) + "q" + repeat(")", 128),
      "9223372036854775807" + repeat("&&9223372036854775807", 2047),
  };
  for (const std::string &s : sources) {
    Expr e;
    ParseError err;
    ASSERT_TRUE(parse(s, e, err)) << err.message;
    EXPECT_LE(print(e).size(), size_t(kMaxTextBytes));
    expectRoundTrip(e);
  }
}

TEST(SieveExprTest, PrintNegativeConstants) {
  // parse never makes these, but constant folders do.
  Expr e;
  e.nodes = {Node{OpKind::Const, -5}, Node{OpKind::Var},
             Node{OpKind::Mul, 0, Var::Q, 0, 1}};
  e.root = 2;
  EXPECT_EQ(print(e), "-5 * q");
  e.nodes[0].value = kMin;
  EXPECT_EQ(print(e), "(1 << 63) * q");
  e.nodes[2] = Node{OpKind::Neg, 0, Var::Q, 0};
  EXPECT_EQ(print(e), "-(1 << 63)");
  Expr again;
  ParseError err;
  ASSERT_TRUE(parse(print(e), again, err));
  EXPECT_EQ(evaluate(again, {}), kMin);
}

//===----------------------------------------------------------------------===//
// Property tests
//===----------------------------------------------------------------------===//

/// An independent reference for the semantics: 128-bit arithmetic, then wrap.
int64_t wrap128(__int128 v) { return int64_t(uint64_t((unsigned __int128)v)); }

int64_t refBinary(OpKind kind, int64_t a, int64_t b) {
  __int128 x = a, y = b;
  switch (kind) {
  case OpKind::Add: return wrap128(x + y);
  case OpKind::Sub: return wrap128(x - y);
  case OpKind::Mul: return wrap128(x * y);
  case OpKind::Div: return b == 0 ? 0 : wrap128(x / y);
  case OpKind::Rem: return b == 0 ? 0 : wrap128(x % y);
  case OpKind::Shl: return b < 0 || b > 63 ? 0 : wrap128(x * ((__int128)1 << b));
  case OpKind::Shr: {
    if (b < 0 || b > 63)
      return a < 0 ? -1 : 0;
    __int128 p = (__int128)1 << b, q = x / p;
    return int64_t(q * p > x ? q - 1 : q); // floor division
  }
  case OpKind::And: return a & b;
  case OpKind::Or: return a | b;
  case OpKind::Xor: return a ^ b;
  case OpKind::Eq: return a == b;
  case OpKind::Ne: return a != b;
  case OpKind::Lt: return a < b;
  case OpKind::Le: return a <= b;
  case OpKind::Gt: return a > b;
  case OpKind::Ge: return a >= b;
  case OpKind::LAnd: return a && b;
  case OpKind::LOr: return a || b;
  default: ADD_FAILURE() << "not binary"; return 0;
  }
}

int64_t refEval(const Expr &e, int node, const Env &env) {
  const Node &n = e.nodes[size_t(node)];
  switch (n.kind) {
  case OpKind::Const: return n.value;
  case OpKind::Var: {
    const int64_t vals[] = {env.q, env.k, env.qb, env.kb,
                            wrap128((__int128)env.qb - env.kb)};
    return vals[int(n.var)];
  }
  case OpKind::Neg: return wrap128(-(__int128)refEval(e, n.lhs, env));
  case OpKind::Not: return !refEval(e, n.lhs, env);
  default:
    return refBinary(n.kind, refEval(e, n.lhs, env), refEval(e, n.rhs, env));
  }
}

/// A value that is likely to hit an edge case.
int64_t interesting(std::mt19937_64 &rng, bool allowNegative) {
  // The negative picks come last so that they can be left out.
  const int64_t picks[] = {0,  1,  2,   3,    7,        31,
                           63, 64, 65,  100,  kMax,     kMax - 1,
                           int64_t(1) << 62,  -1,       -2,
                           -64,               kMin,     kMin + 1};
  size_t count = allowNegative ? std::size(picks) : std::size(picks) - 5;
  if (rng() % 3 == 0) {
    int64_t v = int64_t(rng() >> (rng() % 64));
    return allowNegative || v >= 0 ? v : -(v + 1);
  }
  return picks[rng() % count];
}

/// Appends a random tree in post-order; constants are non-negative because
/// that is all parse can produce, so print must round-trip it exactly.
int generate(std::mt19937_64 &rng, Expr &e, int depth) {
  Node n{OpKind::Const};
  unsigned pick = depth == 0 ? unsigned(rng() % 2) : unsigned(rng() % 24);
  if (pick == 0) {
    n.value = interesting(rng, false);
  } else if (pick == 1 || pick >= 22) {
    n.kind = OpKind::Var;
    n.var = Var(rng() % 5);
  } else {
    n.kind = OpKind(pick); // Neg .. LOr
    n.lhs = generate(rng, e, depth - 1);
    if (n.kind != OpKind::Neg && n.kind != OpKind::Not)
      n.rhs = generate(rng, e, depth - 1);
  }
  e.nodes.push_back(n);
  return int(e.nodes.size()) - 1;
}

TEST(SieveExprTest, RandomTreesAgreeWithReference) {
  std::mt19937_64 rng(20240601);
  for (int iter = 0; iter < 4000; ++iter) {
    Expr gen;
    gen.root = generate(rng, gen, 1 + int(rng() % 7));
    std::string text = print(gen);
    Expr parsed;
    ParseError err;
    ASSERT_TRUE(parse(text, parsed, err)) << text << ": " << err.message;
    ASSERT_TRUE(sameTree(gen, parsed)) << text << " vs " << tree(gen, gen.root);
    // A fully parenthesized rendering must parse to the same tree too.
    std::string full = fullInfix(gen, gen.root);
    Expr fromFull;
    ASSERT_TRUE(parse(full, fromFull, err)) << full << ": " << err.message;
    ASSERT_TRUE(sameTree(gen, fromFull)) << full;
    for (int i = 0; i < 4; ++i) {
      Env env{interesting(rng, true), interesting(rng, true),
              interesting(rng, true), interesting(rng, true)};
      ASSERT_EQ(evaluate(parsed, env), refEval(gen, gen.root, env))
          << text << " with q=" << env.q << " k=" << env.k << " qb=" << env.qb
          << " kb=" << env.kb;
    }
  }
}

TEST(SieveExprTest, RandomBytesNeverCrash) {
  std::mt19937_64 rng(7);
  const char *operands[] = {"q", "k", "qb", "kb", "d", "0", "1", "63",
                            "9223372036854775807", "9223372036854775808"};
  const char *prefixes[] = {"(", "-", "!", " "};
  const char *operators[] = {"+", "-",  "*",  "/",  "%",  "<<", ">>",
                             "<", "<=", ">",  ">=", "==", "!=", "&",
                             "&&", "|", "||", "^",  ")",  " "};
  auto pick = [&](auto &from) { return from[rng() % std::size(from)]; };
  int parsed = 0;
  for (int iter = 0; iter < 5000; ++iter) {
    // Mostly near-grammatical token sequences, with a few random bytes
    // spliced in; every fourth string is raw bytes.
    std::string text;
    size_t len = rng() % 40;
    for (size_t i = 0; i < len; ++i) {
      if (iter % 4 == 0 || rng() % 50 == 0)
        text += char(rng() % 256);
      else if (rng() % 4 == 0)
        text += pick(prefixes);
      else
        text += std::string(pick(operands)) + pick(operators);
    }
    if (iter % 4 != 0 && rng() % 2 == 0)
      text += pick(operands);
    Expr e;
    ParseError err;
    if (!parse(text, e, err)) {
      EXPECT_GE(err.column, 1) << text;
      EXPECT_LE(err.column, int(text.size()) + 1) << text;
      ASSERT_FALSE(err.message.empty());
      EXPECT_NE(err.message.back(), '.');
      EXPECT_TRUE(e.nodes.empty());
      continue;
    }
    ++parsed;
    ASSERT_EQ(e.root, int(e.nodes.size()) - 1);
    expectRoundTrip(e);
    Env env{interesting(rng, true), interesting(rng, true),
            interesting(rng, true), interesting(rng, true)};
    EXPECT_EQ(evaluate(e, env), refEval(e, e.root, env)) << text;
  }
  // The generator is useless if nothing it makes is valid.
  EXPECT_GT(parsed, 100);
}

} // namespace

//===- SieveExprFuzz.cpp - libFuzzer entry for the expression parser ------===//
//
// Any input must parse or fail cleanly; a parsed expression must print to text
// that parses back and evaluates identically.
//
//===----------------------------------------------------------------------===//

#include "dialect/SieveExpr.h"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <string_view>

using namespace sieve::expr;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string_view text(reinterpret_cast<const char *>(data), size);
  Expr e;
  ParseError err;
  if (!parse(text, e, err)) {
    if (err.column < 1 || err.message.empty())
      abort();
    return 0;
  }
  Expr again;
  if (!parse(print(e), again, err) || again.root != e.root ||
      again.nodes.size() != e.nodes.size())
    abort();
  // print() promises the same tree back, not just the same values.
  for (size_t i = 0; i < e.nodes.size(); ++i) {
    const Node &a = e.nodes[i], &b = again.nodes[i];
    if (a.kind != b.kind || a.value != b.value || a.var != b.var ||
        a.lhs != b.lhs || a.rhs != b.rhs)
      abort();
  }
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  const Env envs[] = {{0, 0, 0, 0},        {5, 3, 1, 0},
                      {-7, 64, -1, 2},     {kMin, kMax, kMin, 1},
                      {kMax, -1, kMax, -1}, {63, 65, 100, 100}};
  for (const Env &env : envs)
    if (evaluate(e, env) != evaluate(again, env))
      abort();
  return 0;
}

//===- SieveExprRange.cpp - Interval evaluation of predicates ---*- C++ -*-===//
//
// Each node gets an interval [lo, hi] that contains every value it can take.
// Bounds are computed in 128-bit arithmetic; where a result could wrap, the
// interval widens to all of int64, which is always sound.
//
//===----------------------------------------------------------------------===//

#include "passes/SieveExprRange.h"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <vector>

using namespace sieve;
using namespace sieve::plan;
using expr::OpKind;

namespace {
using i128 = __int128;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

struct Range {
  int64_t lo, hi;
  bool point() const { return lo == hi; }
  bool has(int64_t v) const { return lo <= v && v <= hi; }
};
const Range kAll{kMin, kMax};
const Range kBool{0, 1};

Range fromCorners(std::initializer_list<i128> values) {
  i128 lo = *std::min_element(values.begin(), values.end());
  i128 hi = *std::max_element(values.begin(), values.end());
  if (lo < kMin || hi > kMax)
    return kAll;
  return {int64_t(lo), int64_t(hi)};
}

Truth truth(Range r) {
  if (r.lo == 0 && r.hi == 0)
    return Truth::False;
  if (!r.has(0))
    return Truth::True;
  return Truth::Unknown;
}
Range fromTruth(Truth t) {
  return t == Truth::True ? Range{1, 1} : t == Truth::False ? Range{0, 0} : kBool;
}

/// The smallest 2^n - 1 that is >= v (v >= 0).
int64_t mask(int64_t v) {
  int64_t m = 0;
  while (m < v)
    m = (m << 1) | 1;
  return m;
}

Range compare(OpKind k, Range a, Range b) {
  auto lt = [](Range x, Range y) { // x < y ?
    return x.hi < y.lo ? Truth::True : x.lo >= y.hi ? Truth::False : Truth::Unknown;
  };
  auto neg = [](Truth t) {
    return t == Truth::Unknown ? t : t == Truth::True ? Truth::False : Truth::True;
  };
  switch (k) {
  case OpKind::Lt: return fromTruth(lt(a, b));
  case OpKind::Ge: return fromTruth(neg(lt(a, b)));
  case OpKind::Gt: return fromTruth(lt(b, a));
  case OpKind::Le: return fromTruth(neg(lt(b, a)));
  default: break;
  }
  Truth eq = (a.point() && b.point() && a.lo == b.lo) ? Truth::True
             : (a.hi < b.lo || b.hi < a.lo)           ? Truth::False
                                                      : Truth::Unknown;
  return fromTruth(k == OpKind::Eq ? eq : neg(eq));
}

Range bitwise(OpKind k, Range a, Range b) {
  if (a.lo < 0 || b.lo < 0)
    return kAll;
  if (k == OpKind::And)
    return {0, std::min(a.hi, b.hi)};
  int64_t hi = mask(std::max(a.hi, b.hi));
  return {k == OpKind::Or ? std::max(a.lo, b.lo) : 0, hi};
}

Range divide(Range a, Range b) {
  if (b.has(0) || (a.has(kMin) && b.has(-1)))
    return kAll;
  return fromCorners({i128(a.lo) / b.lo, i128(a.lo) / b.hi,
                      i128(a.hi) / b.lo, i128(a.hi) / b.hi});
}

Range remainder(Range a, Range b) {
  if (b.lo == kMin)
    return kAll;
  int64_t maxAbs = std::max(std::abs(b.lo), std::abs(b.hi));
  int64_t minAbs = b.lo > 0 ? b.lo : b.hi < 0 ? -b.hi : 0;
  if (maxAbs == 0)
    return {0, 0};
  if (minAbs > 0 && a.lo >= 0 && a.hi < minAbs)
    return a; // x % y == x when 0 <= x < |y| for every y
  // |x % y| < |y|, with the sign of x (and x % 0 == 0).
  int64_t lo = a.lo >= 0 ? 0 : std::max(a.lo, -(maxAbs - 1));
  int64_t hi = a.hi <= 0 ? 0 : std::min(a.hi, maxAbs - 1);
  return {lo, hi};
}

Range shift(OpKind k, Range a, Range b) {
  if (b.lo < 0 || b.hi > 63)
    return kAll;
  if (k == OpKind::Shr)
    return {std::min(a.lo >> b.lo, a.lo >> b.hi), std::max(a.hi >> b.lo, a.hi >> b.hi)};
  if (b.hi > 62)
    return kAll;
  return fromCorners({i128(a.lo) << b.lo, i128(a.lo) << b.hi,
                      i128(a.hi) << b.lo, i128(a.hi) << b.hi});
}

Range binary(OpKind k, Range a, Range b) {
  if (a.point() && b.point()) {
    int64_t v = expr::applyBinary(k, a.lo, b.lo);
    return {v, v};
  }
  switch (k) {
  case OpKind::Add: return fromCorners({i128(a.lo) + b.lo, i128(a.hi) + b.hi});
  case OpKind::Sub: return fromCorners({i128(a.lo) - b.hi, i128(a.hi) - b.lo});
  case OpKind::Mul:
    return fromCorners({i128(a.lo) * b.lo, i128(a.lo) * b.hi,
                        i128(a.hi) * b.lo, i128(a.hi) * b.hi});
  case OpKind::Div: return divide(a, b);
  case OpKind::Rem: return remainder(a, b);
  case OpKind::And:
  case OpKind::Or:
  case OpKind::Xor: return bitwise(k, a, b);
  case OpKind::Shl:
  case OpKind::Shr: return shift(k, a, b);
  case OpKind::LAnd: {
    Truth x = truth(a), y = truth(b);
    if (x == Truth::False || y == Truth::False)
      return {0, 0};
    return fromTruth(x == Truth::True && y == Truth::True ? Truth::True
                                                          : Truth::Unknown);
  }
  case OpKind::LOr: {
    Truth x = truth(a), y = truth(b);
    if (x == Truth::True || y == Truth::True)
      return {1, 1};
    return fromTruth(x == Truth::False && y == Truth::False ? Truth::False
                                                            : Truth::Unknown);
  }
  default: return compare(k, a, b);
  }
}
} // namespace

Truth plan::evaluateRange(const expr::Expr &e, const ExprRanges &r) {
  std::vector<Range> v(e.nodes.size(), kAll);
  for (size_t i = 0; i < e.nodes.size() && int(i) <= e.root; ++i) {
    const expr::Node &n = e.nodes[i];
    switch (n.kind) {
    case OpKind::Const: v[i] = {n.value, n.value}; break;
    case OpKind::Var:
      switch (n.var) {
      case expr::Var::Q: v[i] = {r.qLo, r.qHi}; break;
      case expr::Var::K: v[i] = {r.kLo, r.kHi}; break;
      case expr::Var::QB: v[i] = {r.qb, r.qb}; break;
      case expr::Var::KB: v[i] = {r.kb, r.kb}; break;
      case expr::Var::D: {
        int64_t d = expr::applyBinary(OpKind::Sub, r.qb, r.kb);
        v[i] = {d, d};
        break;
      }
      }
      break;
    case OpKind::Neg:
      v[i] = v[n.lhs].lo == kMin ? kAll : Range{-v[n.lhs].hi, -v[n.lhs].lo};
      break;
    case OpKind::Not: {
      Truth t = truth(v[n.lhs]);
      v[i] = t == Truth::Unknown ? kBool : fromTruth(t == Truth::True ? Truth::False : Truth::True);
      break;
    }
    default: v[i] = binary(n.kind, v[n.lhs], v[n.rhs]);
    }
  }
  return e.root < 0 ? Truth::False : truth(v[e.root]);
}

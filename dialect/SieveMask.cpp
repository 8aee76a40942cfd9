//===- SieveMask.cpp - The reference evaluator ------------------*- C++ -*-===//
//
// Straight transcriptions of the meanings in SieveOps.td, kept deliberately
// simple: this is the oracle the clever code is tested against.
//
//===----------------------------------------------------------------------===//

#include "dialect/SieveMask.h"

using namespace sieve;
using namespace sieve::mask;

int Pattern::add(Node node) {
  nodes.push_back(std::move(node));
  return static_cast<int>(nodes.size()) - 1;
}

namespace {
/// The coordinates of one (q, k) pair that the leaves look at.
struct Point {
  int64_t q, k, qb, kb;
  int64_t blockDistance() const { return qb - kb; }
  int64_t tokenDistance() const { return q - k; }
  int64_t distance(Unit u) const {
    return u == Unit::block ? blockDistance() : tokenDistance();
  }
};
} // namespace

static bool longNet(const Node &n, const Point &p) {
  for (size_t i = 0; i < n.segments.size(); ++i)
    if ((p.qb ^ p.kb) < n.segments[i] &&
        ((p.qb | p.kb) & (n.ratios[i] - 1)) == 0)
      return true;
  return false;
}

static bool leaf(const Node &n, const Point &p) {
  int64_t d = p.blockDistance();
  switch (n.kind) {
  case Kind::Full:
    return true;
  case Kind::Causal:
    return p.k <= p.q + n.a;
  case Kind::Sink:
    return n.unit == Unit::block ? p.kb < n.a : p.k < n.a;
  case Kind::Window: {
    int64_t dist = p.distance(n.unit);
    return dist >= 0 && dist < n.a;
  }
  case Kind::Band: {
    int64_t dist = p.distance(n.unit);
    return dist >= n.a && dist <= n.b;
  }
  case Kind::PowerOfTwo:
    return d >= 0 && (d & (d - 1)) == 0;
  case Kind::Stride:
    return d >= 0 && d % n.a == 0;
  case Kind::Dilated:
    return d >= 0 && d < n.b && d % n.a == 0;
  case Kind::LongNet:
    return longNet(n, p);
  case Kind::Global:
    if (n.unit == Unit::block)
      return p.kb < n.a || p.qb < n.a;
    return p.k < n.a || p.q < n.a;
  case Kind::Predicate:
    return expr::evaluate(n.predicate, {p.q, p.k, p.qb, p.kb}) != 0;
  default:
    break;
  }
  return false;
}

Evaluator::Evaluator(const Pattern &pattern)
    : pattern(pattern), values(pattern.nodes.size()) {}

bool Evaluator::operator()(int64_t q, int64_t k) {
  Point p{q, k, q / pattern.blockQ, k / pattern.blockK};
  for (size_t i = 0; i < pattern.nodes.size(); ++i) {
    const Node &n = pattern.nodes[i];
    bool v;
    switch (n.kind) {
    case Kind::Union:
      v = false;
      for (int o : n.operands)
        v = v || values[o];
      break;
    case Kind::Intersect:
      v = true;
      for (int o : n.operands)
        v = v && values[o];
      break;
    case Kind::Not:
      v = !values[n.operands[0]];
      break;
    default:
      v = leaf(n, p);
    }
    values[i] = v;
  }
  return pattern.root >= 0 && values[pattern.root];
}

bool mask::evaluateLeaf(const Pattern &pattern, const Node &n, int64_t q,
                        int64_t k) {
  return leaf(n, {q, k, q / pattern.blockQ, k / pattern.blockK});
}

bool mask::evaluate(const Pattern &pattern, int64_t q, int64_t k) {
  Evaluator eval(pattern);
  return eval(q, k);
}

namespace {
/// What a node is known to be for every pair.
enum class Known { Nothing, Everything, Unknown };

bool readsNoVariable(const expr::Expr &e) {
  for (const expr::Node &n : e.nodes)
    if (n.kind == expr::OpKind::Var)
      return false;
  return true;
}

Known known(const Node &n, const std::vector<Known> &operands) {
  auto all = [&](Known k) {
    for (int o : n.operands)
      if (operands[o] != k)
        return false;
    return true;
  };
  auto any = [&](Known k) {
    for (int o : n.operands)
      if (operands[o] == k)
        return true;
    return false;
  };
  switch (n.kind) {
  case Kind::Full:
    return Known::Everything;
  case Kind::Predicate:
    if (!readsNoVariable(n.predicate))
      return Known::Unknown;
    return expr::evaluate(n.predicate, {0, 0, 0, 0}) ? Known::Everything : Known::Nothing;
  case Kind::Union:
    return any(Known::Everything) ? Known::Everything
           : all(Known::Nothing)  ? Known::Nothing
                                  : Known::Unknown;
  case Kind::Intersect:
    return any(Known::Nothing)       ? Known::Nothing
           : all(Known::Everything) ? Known::Everything
                                    : Known::Unknown;
  case Kind::Not:
    return operands[n.operands[0]] == Known::Everything ? Known::Nothing
           : operands[n.operands[0]] == Known::Nothing  ? Known::Everything
                                                        : Known::Unknown;
  default:
    return Known::Unknown;
  }
}
} // namespace

bool mask::attendsNothing(const Pattern &pattern) {
  std::vector<Known> values;
  values.reserve(pattern.nodes.size());
  for (const Node &n : pattern.nodes)
    values.push_back(known(n, values));
  return pattern.root >= 0 && values[pattern.root] == Known::Nothing;
}

const char *mask::kindName(Kind kind) {
  // Generated spellings are string literals, so data() is NUL-terminated.
  return stringifyTermKind(kind).data();
}

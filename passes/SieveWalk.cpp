//===- SieveWalk.cpp - The kernels' tile walk, on the host ------*- C++ -*-===//
//
// The combinators and each leaf's parameters, mapped onto SieveWalkRules.h.
// codegen/SieveCodegen.cpp emits the same mapping as device code; the tests
// compare the two walks tile by tile.
//
//===----------------------------------------------------------------------===//

#include "passes/SieveWalk.h"

using namespace sieve;
using namespace sieve::plan;
using mask::Kind;
namespace w = sieve::walk;

walk::Rows plan::walkRows(const mask::Pattern &p, bool transposed, int64_t lo,
                          int64_t hi, int64_t otherEnd) {
  return transposed ? w::Rows::make(lo, hi, p.blockK, p.blockQ, otherEnd)
                    : w::Rows::make(lo, hi, p.blockQ, p.blockK, otherEnd);
}

WalkRules::WalkRules(const mask::Pattern &pattern, bool transposed, walk::Rows rows)
    : pattern(&pattern), transposed(transposed), rows(rows) {}

int64_t WalkRules::may(int node, int64_t x) const {
  const mask::Node &n = pattern->nodes[node];
  auto operand = [&](bool askMay) {
    return [this, &n, askMay](int i, int64_t y) {
      return askMay ? may(n.operands[i], y) : nms(n.operands[i], y);
    };
  };
  const int ops = int(n.operands.size());
  switch (n.kind) {
  case Kind::Union: return w::least(ops, x, operand(true));
  case Kind::Intersect: return w::leapfrog(ops, x, rows.other_end, operand(true));
  case Kind::Not: return nms(n.operands[0], x);
  default: return transposed ? leafMay<true>(n, x) : leafMay<false>(n, x);
  }
}

int64_t WalkRules::nms(int node, int64_t x) const {
  const mask::Node &n = pattern->nodes[node];
  auto operand = [this, &n](int i, int64_t y) { return nms(n.operands[i], y); };
  const int ops = int(n.operands.size());
  switch (n.kind) {
  case Kind::Union: return w::leapfrog(ops, x, rows.other_end, operand);
  case Kind::Intersect: return w::least(ops, x, operand);
  case Kind::Not: return may(n.operands[0], x);
  default: return transposed ? leafNms<true>(n, x) : leafNms<false>(n, x);
  }
}

namespace {
/// Token counts of a leaf's parameters.
int64_t tokens(const mask::Node &n, int64_t block) {
  return n.unit == Unit::block ? n.a * block : n.a;
}
/// The distance interval [lo, hi] of a window or band.
void distances(const mask::Node &n, int64_t &lo, int64_t &hi) {
  lo = n.kind == Kind::Window ? 0 : n.a;
  hi = n.kind == Kind::Window ? n.a - 1 : n.b;
}
} // namespace

template <bool Tr>
int64_t WalkRules::leafMay(const mask::Node &n, int64_t x) const {
  const mask::Pattern &p = *pattern;
  int64_t lo, hi;
  switch (n.kind) {
  case Kind::Full:
  case Kind::Predicate: return x; // may attend anything
  case Kind::Causal: return w::token_band_may<Tr>(rows, x, -n.a, w::kInf);
  case Kind::Sink: {
    int64_t s = tokens(n, p.blockK);
    return Tr ? w::below_may(rows, x, s, -w::kInf) : w::below_may(rows, x, -w::kInf, s);
  }
  case Kind::Global: {
    int64_t gq = tokens(n, p.blockQ), gk = tokens(n, p.blockK);
    return Tr ? w::below_may(rows, x, gk, gq) : w::below_may(rows, x, gq, gk);
  }
  case Kind::Window:
  case Kind::Band:
    distances(n, lo, hi);
    if (n.unit == Unit::token)
      return w::token_band_may<Tr>(rows, x, lo, hi);
    return w::over_blocks(rows, x, [&](int64_t b, int64_t y) {
      return w::block_band_may<Tr>(b, y, lo, hi);
    });
  case Kind::PowerOfTwo:
    return w::over_blocks(rows, x, [](int64_t b, int64_t y) { return w::power_may<Tr>(b, y); });
  case Kind::Stride:
  case Kind::Dilated: {
    int64_t window = n.kind == Kind::Stride ? w::kInf : n.b;
    return w::over_blocks(rows, x, [&](int64_t b, int64_t y) {
      return w::step_may<Tr>(b, y, n.a, window);
    });
  }
  case Kind::LongNet:
    return w::over_blocks(rows, x, [&](int64_t b, int64_t y) {
      int64_t best = w::kInf;
      for (size_t i = 0; i < n.segments.size(); ++i)
        best = std::min(best, w::longnet_may(b, y, n.segments[i], n.ratios[i]));
      return best;
    });
  default: return x;
  }
}

template <bool Tr>
int64_t WalkRules::leafNms(const mask::Node &n, int64_t x) const {
  const mask::Pattern &p = *pattern;
  int64_t lo, hi;
  switch (n.kind) {
  case Kind::Full: return w::kInf;
  case Kind::Predicate: return x; // never sure
  case Kind::Causal: return w::token_band_nms<Tr>(rows, x, -n.a, w::kInf);
  case Kind::Sink: {
    int64_t s = tokens(n, p.blockK);
    return Tr ? w::below_nms(rows, x, s, -w::kInf) : w::below_nms(rows, x, -w::kInf, s);
  }
  case Kind::Global: {
    int64_t gq = tokens(n, p.blockQ), gk = tokens(n, p.blockK);
    return Tr ? w::below_nms(rows, x, gk, gq) : w::below_nms(rows, x, gq, gk);
  }
  case Kind::Window:
  case Kind::Band:
    distances(n, lo, hi);
    if (n.unit == Unit::token)
      return w::token_band_nms<Tr>(rows, x, lo, hi);
    return w::over_blocks(rows, x, [&](int64_t b, int64_t y) {
      return w::block_band_nms<Tr>(b, y, lo, hi);
    });
  case Kind::PowerOfTwo:
    return w::over_blocks(rows, x, [](int64_t b, int64_t y) { return w::power_nms<Tr>(b, y); });
  case Kind::Stride:
  case Kind::Dilated: {
    int64_t window = n.kind == Kind::Stride ? w::kInf : n.b;
    return w::over_blocks(rows, x, [&](int64_t b, int64_t y) {
      return w::step_nms<Tr>(b, y, n.a, window);
    });
  }
  case Kind::LongNet: {
    const int64_t end = rows.other_end / rows.other_block + 1;
    return w::over_blocks(rows, x, [&](int64_t b, int64_t y) {
      return w::longnet_nms(b, y, n.segments.data(), n.ratios.data(),
                            int(n.segments.size()), end);
    });
  }
  default: return x;
  }
}

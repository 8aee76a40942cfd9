//===- SievePlanner.cpp - Closed-form walks over attended tiles -*- C++ -*-===//

#include "passes/SievePlanner.h"

#include <algorithm>

using namespace sieve;
using namespace sieve::plan;
using mask::Kind;
using mask::Unit;

const char *plan::generatorName(Generator g) {
  switch (g) {
  case Generator::Range: return "range";
  case Generator::PowerOffsets: return "power-offsets";
  case Generator::Strided: return "strided";
  case Generator::Dilated: return "dilated";
  case Generator::Segments: return "segments";
  case Generator::Fallback: return "fallback";
  }
  return "?";
}

Planner::Planner(const mask::Pattern &pattern, Shape shape)
    : pattern(pattern), shapeV(shape), tiles(pattern) {}

std::vector<std::pair<Kind, Generator>> Planner::generators() const {
  std::vector<std::pair<Kind, Generator>> out;
  for (const mask::Node &n : pattern.nodes) {
    Generator g = Generator::Range;
    switch (n.kind) {
    case Kind::Union:
    case Kind::Intersect:
    case Kind::Not: continue;
    case Kind::PowerOfTwo: g = Generator::PowerOffsets; break;
    case Kind::Stride: g = Generator::Strided; break;
    case Kind::Dilated: g = Generator::Dilated; break;
    case Kind::LongNet: g = Generator::Segments; break;
    case Kind::Predicate: g = Generator::Fallback; break;
    default: break;
    }
    out.push_back({n.kind, g});
  }
  return out;
}

bool Planner::closedForm() const {
  for (auto [kind, g] : generators())
    if (g == Generator::Fallback)
      return false;
  return true;
}

/// The block distances d = qb - kb a distance-based leaf attends, up to dMax.
static IntervalSet distances(const mask::Node &n, int64_t dMax) {
  IntervalSet d;
  switch (n.kind) {
  case Kind::Window: d.add(0, n.a - 1); break;
  case Kind::Band: d.add(n.a, n.b); break;
  case Kind::PowerOfTwo:
    d.add(0, 0);
    for (int64_t p = 1; p <= dMax; p <<= 1)
      d.add(p, p);
    break;
  case Kind::Stride:
    if (n.a == 1)
      d.add(0, dMax);
    for (int64_t m = 0; n.a > 1 && m <= dMax; m += n.a)
      d.add(m, m);
    break;
  case Kind::Dilated:
    if (n.a == 1)
      d.add(0, n.b - 1);
    for (int64_t m = 0; n.a > 1 && m < n.b && m <= dMax; m += n.a)
      d.add(m, m);
    break;
  default: break;
  }
  return d;
}

/// The blocks y in [0, maxBlock] that LongNet pairs with block x. The rule
/// is symmetric in (x, y), so this serves both walk directions.
static IntervalSet longNetPartners(const mask::Node &n, int64_t x,
                                   int64_t maxBlock) {
  IntervalSet out;
  for (size_t i = 0; i < n.segments.size(); ++i) {
    int64_t s = n.segments[i], r = n.ratios[i];
    if ((x & (r - 1)) != 0)
      continue;
    // {y : (x ^ y) < s} is x ^ [0, s): split [0, s) into aligned blocks
    // [a, a + 2^j), each of which x ^ . maps onto an aligned block.
    int64_t a = 0;
    for (int j = 62; j >= 0; --j) {
      int64_t size = int64_t(1) << j;
      if (!(s & size))
        continue;
      int64_t lo = (x ^ a) & ~(size - 1), hi = std::min(lo + size - 1, maxBlock);
      a += size;
      if (r == 1) {
        out.add(lo, hi);
        continue;
      }
      // Multiples of r in [lo, hi]; lo is a multiple of min(size, r).
      for (int64_t y = (lo + r - 1) / r * r; y <= hi; y += r)
        out.add(y, y);
    }
  }
  return out;
}

/// [x * size, x * size + size - 1] for each block x of the set.
static IntervalSet blocksToTokens(const IntervalSet &blocks, int64_t size) {
  IntervalSet out;
  for (const Interval &b : blocks.intervals())
    out.add(std::max(b.lo, int64_t(0)) * size,
            std::min(b.hi, IntervalSet::kMax / size - 1) * size + size - 1);
  return out;
}

Planner::Sets Planner::leaf(const mask::Node &n, int64_t lo, int64_t hi,
                            bool tr) const {
  const IntervalSet all = IntervalSet::all();
  const int64_t ownB = tr ? pattern.blockK : pattern.blockQ;
  const int64_t otherB = tr ? pattern.blockQ : pattern.blockK;
  const int64_t inf = IntervalSet::kMax, ninf = IntervalSet::kMin;
  // A leaf that attends token distances q - k in [dlo, dhi].
  auto tokenBand = [&](int64_t dlo, int64_t dhi) -> Sets {
    if (!tr)
      return {IntervalSet::range(hi - dhi, lo - dlo),
              IntervalSet::range(lo - dhi, hi - dlo)};
    return {IntervalSet::range(hi + dlo, lo + dhi),
            IntervalSet::range(lo + dlo, hi + dhi)};
  };
  // A leaf true when the own position is below `own` or the other one is
  // below `other` (sink: own = -inf; global: both).
  auto below = [&](int64_t own, int64_t other) -> Sets {
    IntervalSet o = IntervalSet::range(0, other - 1);
    return {hi < own ? all : o, lo < own ? all : o};
  };
  switch (n.kind) {
  case Kind::Full: return {all, all};
  case Kind::Predicate: return {IntervalSet(), all};
  case Kind::Causal: return tokenBand(-n.a, inf);
  case Kind::Sink: {
    int64_t s = n.unit == Unit::Token ? n.a : n.a * pattern.blockK;
    return tr ? below(s, ninf) : below(ninf, s);
  }
  case Kind::Global: {
    int64_t gq = n.unit == Unit::Token ? n.a : n.a * pattern.blockQ;
    int64_t gk = n.unit == Unit::Token ? n.a : n.a * pattern.blockK;
    return tr ? below(gk, gq) : below(gq, gk);
  }
  case Kind::Window:
    if (n.unit == Unit::Token)
      return tokenBand(0, n.a - 1);
    break;
  case Kind::Band:
    if (n.unit == Unit::Token)
      return tokenBand(n.a, n.b);
    break;
  default: break;
  }
  // Block-level leaves: the other side's blocks for each own block.
  const int64_t maxBlock = shapeV.kLen / std::min(pattern.blockQ, pattern.blockK) + 1;
  IntervalSet d = n.kind == Kind::LongNet ? IntervalSet() : distances(n, maxBlock);
  Sets out;
  bool first = true;
  for (int64_t b = lo / ownB; b <= hi / ownB; ++b) {
    IntervalSet s;
    if (n.kind == Kind::LongNet)
      s = longNetPartners(n, b, maxBlock);
    else if (tr)
      for (const Interval &i : d.intervals())
        s.add(b + i.lo, b + i.hi);
    else // Largest distance first, so that blocks arrive in ascending order.
      for (auto i = d.intervals().rbegin(); i != d.intervals().rend(); ++i)
        s.add(b - i->hi, b - i->lo);
    out.may = out.may.unite(s);
    out.must = first ? s : out.must.intersect(s);
    first = false;
  }
  return {blocksToTokens(out.must, otherB), blocksToTokens(out.may, otherB)};
}

Planner::Sets Planner::candidates(int64_t lo, int64_t hi, bool tr) const {
  std::vector<Sets> v(pattern.nodes.size());
  for (size_t i = 0; i < pattern.nodes.size(); ++i) {
    const mask::Node &n = pattern.nodes[i];
    if (n.kind == Kind::Not) {
      const Sets &x = v[n.operands[0]];
      v[i] = {x.may.complement(), x.must.complement()};
    } else if (n.kind == Kind::Union || n.kind == Kind::Intersect) {
      bool uni = n.kind == Kind::Union;
      v[i] = v[n.operands[0]];
      for (size_t o = 1; o < n.operands.size(); ++o) {
        const Sets &x = v[n.operands[o]];
        v[i].must = uni ? v[i].must.unite(x.must) : v[i].must.intersect(x.must);
        v[i].may = uni ? v[i].may.unite(x.may) : v[i].may.intersect(x.may);
      }
    } else {
      v[i] = leaf(n, lo, hi, tr);
    }
  }
  return pattern.root >= 0 ? v[pattern.root] : Sets();
}

std::vector<TileRun> Planner::classifyRuns(const Sets &sets, int64_t lo,
                                           int64_t hi, bool tr) const {
  const IntervalSet &may = sets.may;
  const int64_t tile = tr ? shapeV.tileQ : shapeV.tileK;
  const int64_t base = tr ? shapeV.queryOffset() : 0;
  const int64_t extent = tr ? shapeV.qLen : shapeV.kLen;
  IntervalSet inBounds = may.intersect(IntervalSet::range(base, base + extent - 1));
  IntervalSet tileSet;
  for (const Interval &i : inBounds.intervals())
    tileSet.add((i.lo - base) / tile, (i.hi - base) / tile);

  std::vector<TileRun> runs;
  auto push = [&](int64_t a, int64_t b, bool full) {
    if (!runs.empty() && runs.back().end == a && runs.back().full == full)
      runs.back().end = b;
    else
      runs.push_back({a, b, full});
  };
  auto classify = [&](int64_t ta, int64_t tb) {
    int64_t oLo = base + ta * tile;
    int64_t oHi = base + std::min((tb + 1) * tile, extent) - 1;
    // What every own position surely attends needs no cell-by-cell check.
    if (sets.must.covers(oLo, oHi))
      return TileClass::Full;
    return tr ? tiles.classify(oLo, oHi, lo, hi) : tiles.classify(lo, hi, oLo, oHi);
  };
  // Whole runs first; split only where the answer is mixed.
  std::vector<std::pair<int64_t, int64_t>> stack;
  for (auto it = tileSet.intervals().rbegin(); it != tileSet.intervals().rend(); ++it)
    stack.push_back({it->lo, it->hi});
  while (!stack.empty()) {
    auto [ta, tb] = stack.back();
    stack.pop_back();
    TileClass c = classify(ta, tb);
    if (c == TileClass::Full || (c == TileClass::Partial && ta == tb)) {
      push(ta, tb + 1, c == TileClass::Full);
    } else if (c == TileClass::Partial) {
      int64_t mid = ta + (tb - ta) / 2;
      stack.push_back({mid + 1, tb});
      stack.push_back({ta, mid});
    }
  }
  return runs;
}

std::vector<TileRun> Planner::keyTiles(int64_t t) const {
  int64_t q0 = shapeV.queryOffset() + t * shapeV.tileQ;
  int64_t q1 = shapeV.queryOffset() + std::min((t + 1) * shapeV.tileQ, shapeV.qLen) - 1;
  return classifyRuns(candidates(q0, q1, false), q0, q1, false);
}

std::vector<TileRun> Planner::queryTiles(int64_t j) const {
  int64_t k0 = j * shapeV.tileK;
  int64_t k1 = std::min((j + 1) * shapeV.tileK, shapeV.kLen) - 1;
  return classifyRuns(candidates(k0, k1, true), k0, k1, true);
}

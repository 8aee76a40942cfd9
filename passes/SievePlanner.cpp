//===- SievePlanner.cpp - Walks over attended tiles -------------*- C++ -*-===//

#include "passes/SievePlanner.h"
#include "passes/SieveWalk.h"

#include <algorithm>

using namespace sieve;
using namespace sieve::plan;
using mask::Kind;

std::vector<std::pair<Kind, GeneratorKind>> plan::generators(const mask::Pattern &pattern) {
  std::vector<std::pair<Kind, GeneratorKind>> out;
  for (const mask::Node &n : pattern.nodes) {
    GeneratorKind g = GeneratorKind::range;
    switch (n.kind) {
    case Kind::Union:
    case Kind::Intersect:
    case Kind::Not: continue;
    case Kind::PowerOfTwo: g = GeneratorKind::power_offsets; break;
    case Kind::Stride: g = GeneratorKind::strided; break;
    case Kind::Dilated: g = GeneratorKind::dilated; break;
    case Kind::LongNet: g = GeneratorKind::segments; break;
    case Kind::Predicate: g = GeneratorKind::fallback; break;
    default: break;
    }
    out.push_back({n.kind, g});
  }
  return out;
}

bool plan::isClosedForm(const mask::Pattern &pattern) {
  for (auto [kind, g] : generators(pattern))
    if (g == GeneratorKind::fallback)
      return false;
  return true;
}

Planner::Planner(const mask::Pattern &pattern, Shape shape)
    : pattern(pattern), shapeV(shape), tiles(pattern) {}

std::vector<TileRun> Planner::walk(bool tr, int64_t index) const {
  const Shape &s = shapeV;
  // Own rows: a query tile (forward) or a key tile (transposed), in absolute
  // positions. Both axes end at position kLen; queries start at the offset.
  const int64_t ownTile = tr ? s.tileK : s.tileQ, ownBase = tr ? 0 : s.queryOffset();
  const int64_t lo = ownBase + index * ownTile;
  const int64_t hi = std::min(lo + ownTile, s.kLen) - 1;
  const int64_t otherBase = tr ? s.queryOffset() : 0, otherTile = tr ? s.tileQ : s.tileK;
  std::vector<TileRun> runs;
  if (lo > hi)
    return runs;
  WalkRules rules(pattern, tr, walkRows(pattern, tr, lo, hi, s.kLen));
  walk::TileWalk<WalkRules> w(rules, otherBase, otherTile, s.kLen);
  int64_t begin, end;
  bool full;
  while (w.next_run(begin, end, full)) {
    if (!runs.empty() && runs.back().end == begin && runs.back().full == full)
      runs.back().end = end;
    else
      runs.push_back({begin, end, full});
  }
  return runs;
}

std::vector<TileRun> Planner::refine(bool tr, int64_t index,
                                     const std::vector<TileRun> &runs) const {
  const Shape &s = shapeV;
  auto range = [&](bool keys, int64_t t, int64_t &a, int64_t &b) {
    const int64_t tile = keys ? s.tileK : s.tileQ, base = keys ? 0 : s.queryOffset();
    a = base + t * tile;
    b = std::min(a + tile, s.kLen) - 1;
  };
  int64_t oLo, oHi;
  range(tr, index, oLo, oHi);
  std::vector<TileRun> out;
  auto push = [&](int64_t a, int64_t b, bool full) {
    if (!out.empty() && out.back().end == a && out.back().full == full)
      out.back().end = b;
    else
      out.push_back({a, b, full});
  };
  // Classify a run of tiles as one rectangle first and split it only where
  // the answer is mixed: a dense row of a million tokens costs a few checks.
  auto classify = [&](int64_t ta, int64_t tb) {
    int64_t a0, a1, b0, b1;
    range(!tr, ta, a0, a1);
    range(!tr, tb, b0, b1);
    return tr ? tiles.classify(a0, b1, oLo, oHi) : tiles.classify(oLo, oHi, a0, b1);
  };
  for (const TileRun &r : runs) {
    if (r.full) { // the walk is sound: full tags are always right
      push(r.begin, r.end, true);
      continue;
    }
    std::vector<std::pair<int64_t, int64_t>> stack{{r.begin, r.end - 1}};
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
  }
  return out;
}

std::vector<TileRun> Planner::walkKeyTiles(int64_t t) const { return walk(false, t); }
std::vector<TileRun> Planner::walkQueryTiles(int64_t j) const { return walk(true, j); }
std::vector<TileRun> Planner::keyTiles(int64_t t) const { return refine(false, t, walk(false, t)); }
std::vector<TileRun> Planner::queryTiles(int64_t j) const { return refine(true, j, walk(true, j)); }

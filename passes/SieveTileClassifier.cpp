//===- SieveTileClassifier.cpp - Exact classification of tiles --*- C++ -*-===//

#include "passes/SieveTileClassifier.h"
#include "passes/SieveExprRange.h"

#include <algorithm>

using namespace sieve;
using namespace sieve::plan;
using mask::Kind;

TileClassifier::TileClassifier(const mask::Pattern &pattern)
    : pattern(pattern) {
  for (const mask::Node &n : pattern.nodes) {
    switch (n.kind) {
    case Kind::Sink:
      if (n.unit == Unit::token)
        kCuts.push_back(n.a);
      else
        blockLevel = true;
      break;
    case Kind::Global:
      if (n.unit == Unit::token) {
        qCuts.push_back(n.a);
        kCuts.push_back(n.a);
      } else {
        blockLevel = true;
      }
      break;
    case Kind::Window:
    case Kind::Band:
      blockLevel |= n.unit == Unit::block;
      break;
    case Kind::PowerOfTwo:
    case Kind::Stride:
    case Kind::Dilated:
    case Kind::LongNet:
      blockLevel = true;
      break;
    case Kind::Predicate:
      blockLevel = predicates = true;
      break;
    default:
      break;
    }
  }
  for (auto *cuts : {&qCuts, &kCuts}) {
    std::sort(cuts->begin(), cuts->end());
    cuts->erase(std::unique(cuts->begin(), cuts->end()), cuts->end());
  }
}

/// The starts of the segments of [lo, hi] cut at multiples of `block` (when
/// block > 0) and at each threshold t (a segment starts at t).
static std::vector<int64_t> segmentStarts(int64_t lo, int64_t hi, int64_t block,
                                          const std::vector<int64_t> &cuts) {
  std::vector<int64_t> starts{lo};
  if (block > 0)
    for (int64_t b = (lo / block + 1) * block; b <= hi; b += block)
      starts.push_back(b);
  for (int64_t t : cuts)
    if (t > lo && t <= hi)
      starts.push_back(t);
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  return starts;
}

template <typename Fn>
void TileClassifier::forEachCell(int64_t q0, int64_t q1, int64_t k0,
                                 int64_t k1, Fn fn) const {
  std::vector<int64_t> qs = segmentStarts(q0, q1, blockLevel ? pattern.blockQ : 0, qCuts);
  std::vector<int64_t> ks = segmentStarts(k0, k1, blockLevel ? pattern.blockK : 0, kCuts);
  for (size_t i = 0; i < qs.size(); ++i) {
    int64_t qz = i + 1 < qs.size() ? qs[i + 1] - 1 : q1;
    for (size_t j = 0; j < ks.size(); ++j) {
      int64_t kz = j + 1 < ks.size() ? ks[j + 1] - 1 : k1;
      if (!fn(qs[i], qz, ks[j], kz))
        return;
    }
  }
}

TileClassifier::CellValue TileClassifier::evaluateCell(int64_t qa, int64_t qz,
                                                       int64_t ka,
                                                       int64_t kz) const {
  std::vector<CellValue> v(pattern.nodes.size());
  const IntervalSet all = IntervalSet::all(), none;
  for (size_t i = 0; i < pattern.nodes.size(); ++i) {
    const mask::Node &n = pattern.nodes[i];
    CellValue &out = v[i];
    auto exact = [&](IntervalSet s) { out.must = out.may = std::move(s); };
    switch (n.kind) {
    case Kind::Causal:
      exact(IntervalSet::range(-n.a, IntervalSet::kMax));
      break;
    case Kind::Window:
      if (n.unit == Unit::token) {
        exact(IntervalSet::range(0, n.a - 1));
        break;
      }
      exact(mask::evaluateLeaf(pattern, n, qa, ka) ? all : none);
      break;
    case Kind::Band:
      if (n.unit == Unit::token) {
        exact(IntervalSet::range(n.a, n.b));
        break;
      }
      exact(mask::evaluateLeaf(pattern, n, qa, ka) ? all : none);
      break;
    case Kind::Predicate: {
      Truth t = evaluateRange(n.predicate, {qa, qz, ka, kz, qa / pattern.blockQ,
                                            ka / pattern.blockK});
      out.must = t == Truth::True ? all : none;
      out.may = t == Truth::False ? none : all;
      break;
    }
    case Kind::Union:
    case Kind::Intersect: {
      bool uni = n.kind == Kind::Union;
      out = v[n.operands[0]];
      for (size_t o = 1; o < n.operands.size(); ++o) {
        const CellValue &x = v[n.operands[o]];
        out.must = uni ? out.must.unite(x.must) : out.must.intersect(x.must);
        out.may = uni ? out.may.unite(x.may) : out.may.intersect(x.may);
      }
      break;
    }
    case Kind::Not:
      out.must = v[n.operands[0]].may.complement();
      out.may = v[n.operands[0]].must.complement();
      break;
    default: // Constant inside a cell by construction of the cuts.
      exact(mask::evaluateLeaf(pattern, n, qa, ka) ? all : none);
    }
  }
  return pattern.root >= 0 ? v[pattern.root] : CellValue{};
}

TileClass TileClassifier::classify(int64_t q0, int64_t q1, int64_t k0,
                                   int64_t k1) const {
  bool sawFull = false, sawEmpty = false, sawPartial = false;
  forEachCell(q0, q1, k0, k1, [&](int64_t qa, int64_t qz, int64_t ka, int64_t kz) {
    CellValue c = evaluateCell(qa, qz, ka, kz);
    int64_t lo = qa - kz, hi = qz - ka;
    if (!c.may.meets(lo, hi))
      sawEmpty = true;
    else if (c.must.covers(lo, hi))
      sawFull = true;
    else
      sawPartial = true;
    return !(sawPartial || (sawFull && sawEmpty));
  });
  if (sawPartial || (sawFull && sawEmpty))
    return TileClass::Partial;
  return sawFull ? TileClass::Full : TileClass::Empty;
}

int64_t TileClassifier::count(int64_t q0, int64_t q1, int64_t k0,
                              int64_t k1) const {
  int64_t total = 0;
  forEachCell(q0, q1, k0, k1, [&](int64_t qa, int64_t qz, int64_t ka, int64_t kz) {
    CellValue c = evaluateCell(qa, qz, ka, kz);
    IntervalSet range = IntervalSet::range(qa - kz, qz - ka);
    IntervalSet must = c.must.intersect(range), may = c.may.intersect(range);
    if (must == may) {
      for (const Interval &d : must.intervals())
        total += pairsAtDistances(qa, qz, ka, kz, d.lo, d.hi);
      return true;
    }
    // An undecided predicate: count this cell pair by pair.
    mask::Evaluator eval(pattern);
    for (int64_t q = qa; q <= qz; ++q)
      for (int64_t k = ka; k <= kz; ++k)
        total += eval(q, k);
    return true;
  });
  return total;
}

int64_t plan::pairsAtDistances(int64_t qa, int64_t qz, int64_t ka, int64_t kz,
                               int64_t a, int64_t b) {
  // f(d) = |[qa, qz] ∩ [ka + d, kz + d]| is linear between the breakpoints
  // d = qa - ka and d = qz - kz, and >= 1 on [qa - kz, qz - ka].
  a = std::max(a, qa - kz);
  b = std::min(b, qz - ka);
  if (a > b)
    return 0;
  auto f = [&](int64_t d) {
    return std::min(qz, kz + d) - std::max(qa, ka + d) + 1;
  };
  int64_t cuts[] = {qa - ka, qz - kz};
  std::sort(std::begin(cuts), std::end(cuts));
  __int128 total = 0;
  int64_t lo = a;
  for (int64_t c : {cuts[0], cuts[1], b}) {
    int64_t hi = std::min(c, b);
    if (hi < lo)
      continue;
    total += (__int128(f(lo)) + f(hi)) * (hi - lo + 1) / 2;
    lo = hi + 1;
  }
  return static_cast<int64_t>(total);
}

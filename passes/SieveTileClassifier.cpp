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
    costPerPair += 1 + int64_t(n.predicate.nodes.size());
    switch (n.kind) {
    case Kind::Sink:
      distanceOnly = false;
      if (n.unit == Unit::token)
        kCuts.push_back(n.a);
      else
        blockLevel = true;
      break;
    case Kind::Global:
      distanceOnly = false;
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
      blockLevel = true;
      break;
    case Kind::LongNet:
      blockLevel = true;
      distanceOnly = false;
      break;
    case Kind::Predicate:
      blockLevel = predicates = true;
      distanceOnly = false;
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

template <typename Fn>
void TileClassifier::forEachValue(int64_t q0, int64_t q1, int64_t k0, int64_t k1, Fn fn) const {
  if (!distanceOnly || !blockLevel || pattern.blockQ != pattern.blockK) {
    forEachCell(q0, q1, k0, k1, [&](int64_t qa, int64_t qz, int64_t ka, int64_t kz) {
      return fn(qa, qz, ka, kz, int64_t(1), evaluateCell(qa, qz, ka, kz));
    });
    return;
  }
  // A cell's value depends on its block distance d alone, and whole blocks
  // on one diagonal are translates of each other: one representative per d
  // for the whole blocks inside the rectangle, with its multiplicity; the
  // cut blocks at the edges one by one. O(rows + columns) blocks, not
  // rows x columns.
  const int64_t B = pattern.blockQ;
  const int64_t qbLo = (q0 + B - 1) / B, qbHi = (q1 + 1) / B - 1; // whole query blocks
  const int64_t kbLo = (k0 + B - 1) / B, kbHi = (k1 + 1) / B - 1;
  auto cell = [&](int64_t qb, int64_t kb, int64_t times) {
    const int64_t qa = std::max(q0, qb * B), qz = std::min(q1, qb * B + B - 1);
    const int64_t ka = std::max(k0, kb * B), kz = std::min(k1, kb * B + B - 1);
    return fn(qa, qz, ka, kz, times, evaluateCell(qa, qz, ka, kz));
  };
  if (qbLo <= qbHi && kbLo <= kbHi)
    for (int64_t d = qbLo - kbHi; d <= qbHi - kbLo; ++d) {
      const int64_t first = std::max(qbLo, kbLo + d), last = std::min(qbHi, kbHi + d);
      if (!cell(first, first - d, last - first + 1))
        return;
    }
  // The edges: query blocks cut by the rectangle (all their key blocks), and
  // key blocks cut by it (for whole query blocks only: the rest is above).
  auto cutRow = [&](int64_t qb) { return qb < qbLo || qb > qbHi; };
  for (int64_t qb = q0 / B; qb <= q1 / B; ++qb)
    for (int64_t kb = k0 / B; kb <= k1 / B; ++kb) {
      if (!cutRow(qb) && kb >= kbLo && kb <= kbHi) {
        kb = kbHi; // skip the whole blocks, done above
        continue;
      }
      if (!cell(qb, kb, 1))
        return;
    }
}

TileClass TileClassifier::classify(int64_t q0, int64_t q1, int64_t k0,
                                   int64_t k1) const {
  bool sawFull = false, sawEmpty = false, sawPartial = false;
  forEachValue(q0, q1, k0, k1, [&](int64_t qa, int64_t qz, int64_t ka, int64_t kz, int64_t,
                                  const CellValue &c) {
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
  forEachValue(q0, q1, k0, k1, [&](int64_t qa, int64_t qz, int64_t ka, int64_t kz,
                                  int64_t times, const CellValue &c) {
    IntervalSet range = IntervalSet::range(qa - kz, qz - ka);
    IntervalSet must = c.must.intersect(range), may = c.may.intersect(range);
    if (must == may) {
      for (const Interval &d : must.intervals())
        total += times * pairsAtDistances(qa, qz, ka, kz, d.lo, d.hi);
      return true;
    }
    // An undecided predicate: count this cell pair by pair while the budget
    // lasts, then estimate it from a grid of samples.
    mask::Evaluator eval(pattern);
    const int64_t area = (qz - qa + 1) * (kz - ka + 1);
    if (area <= budgetLeft / costPerPair) {
      budgetLeft -= area * costPerPair;
      for (int64_t q = qa; q <= qz; ++q)
        for (int64_t k = ka; k <= kz; ++k)
          total += eval(q, k);
      return true;
    }
    // Past the budget: a few pairs at hashed positions stand for the cell
    // (fixed positions alias with structured predicates such as q ^ k).
    estimatedCounts = true;
    constexpr int kSamples = 4;
    uint64_t h = uint64_t(qa) * 0x9E3779B97F4A7C15ull ^ uint64_t(ka) * 0xC2B2AE3D27D4EB4Full;
    int hits = 0;
    for (int i = 0; i < kSamples; ++i) {
      h ^= h >> 29, h *= 0xBF58476D1CE4E5B9ull, h ^= h >> 32;
      hits += eval(qa + int64_t(h % uint64_t(qz - qa + 1)),
                   ka + int64_t((h >> 32) % uint64_t(kz - ka + 1)));
    }
    total += (area * hits + kSamples / 2) / kSamples;
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

//===- SieveIntervalSet.h - Sets of integers as sorted intervals -*- C++ -*-===//
//
// The walk and the tile classifier reason about sets of key positions, key
// blocks and token distances; all of them are short unions of intervals.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SIEVEINTERVALSET_H
#define SIEVE_PASSES_SIEVEINTERVALSET_H

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace sieve::plan {

/// A closed interval [lo, hi]; empty when lo > hi.
struct Interval {
  int64_t lo, hi;
};

/// A set of int64 as sorted, disjoint, non-adjacent closed intervals.
class IntervalSet {
public:
  static constexpr int64_t kMin = std::numeric_limits<int64_t>::min() / 4;
  static constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 4;

  IntervalSet() = default;
  static IntervalSet all() { return range(kMin, kMax); }
  static IntervalSet range(int64_t lo, int64_t hi) {
    IntervalSet s;
    s.add(lo, hi);
    return s;
  }

  const std::vector<Interval> &intervals() const { return parts; }
  bool empty() const { return parts.empty(); }

  /// Adds [lo, hi] (any order of calls; keeps the invariant).
  void add(int64_t lo, int64_t hi) {
    if (lo > hi)
      return;
    if (!parts.empty() && lo > parts.back().hi) {
      if (parts.back().hi != kMax && lo == parts.back().hi + 1)
        parts.back().hi = hi;
      else
        parts.push_back({lo, hi});
      return;
    }
    parts.push_back({lo, hi});
    normalize();
  }

  IntervalSet unite(const IntervalSet &o) const {
    IntervalSet r = *this;
    r.parts.insert(r.parts.end(), o.parts.begin(), o.parts.end());
    r.normalize();
    return r;
  }

  IntervalSet intersect(const IntervalSet &o) const {
    IntervalSet r;
    size_t i = 0, j = 0;
    while (i < parts.size() && j < o.parts.size()) {
      int64_t lo = std::max(parts[i].lo, o.parts[j].lo);
      int64_t hi = std::min(parts[i].hi, o.parts[j].hi);
      if (lo <= hi)
        r.parts.push_back({lo, hi});
      (parts[i].hi < o.parts[j].hi) ? ++i : ++j;
    }
    return r;
  }

  /// The complement within [kMin, kMax].
  IntervalSet complement() const {
    IntervalSet r;
    int64_t next = kMin;
    for (const Interval &p : parts) {
      if (p.lo > next)
        r.parts.push_back({next, p.lo - 1});
      next = p.hi == kMax ? kMax : p.hi + 1;
      if (p.hi == kMax)
        return r;
    }
    r.parts.push_back({next, kMax});
    return r;
  }

  /// Whether every integer of [lo, hi] is in the set.
  bool covers(int64_t lo, int64_t hi) const {
    for (const Interval &p : parts)
      if (p.lo <= lo && hi <= p.hi)
        return true;
    return lo > hi;
  }

  /// Whether some integer of [lo, hi] is in the set.
  bool meets(int64_t lo, int64_t hi) const {
    for (const Interval &p : parts)
      if (p.lo <= hi && lo <= p.hi)
        return true;
    return false;
  }

  bool operator==(const IntervalSet &o) const {
    if (parts.size() != o.parts.size())
      return false;
    for (size_t i = 0; i < parts.size(); ++i)
      if (parts[i].lo != o.parts[i].lo || parts[i].hi != o.parts[i].hi)
        return false;
    return true;
  }

private:
  std::vector<Interval> parts;

  void normalize() {
    std::sort(parts.begin(), parts.end(),
              [](const Interval &a, const Interval &b) { return a.lo < b.lo; });
    std::vector<Interval> merged;
    for (const Interval &p : parts) {
      if (p.lo > p.hi)
        continue;
      if (!merged.empty() &&
          (merged.back().hi == kMax || p.lo <= merged.back().hi + 1))
        merged.back().hi = std::max(merged.back().hi, p.hi);
      else
        merged.push_back(p);
    }
    parts.swap(merged);
  }
};

} // namespace sieve::plan

#endif // SIEVE_PASSES_SIEVEINTERVALSET_H

//===- SieveWalkRules.h - Per-term walk rules, host and device --*- C++ -*-===//
//
// The one definition of how each term of the pattern algebra is walked. The
// host planner (SieveWalk.h) and every generated kernel (codegen/) run these
// same functions, so the planner's property tests test the kernels' walks.
//
// A walk stands on a range of "own" positions (the query rows of one tile in a
// forward walk; the key rows of one tile in a transposed walk) and steps over
// the positions of the "other" axis. Every term answers two questions about an
// other position x:
//
//   may(x): the first other position >= x that some own row may attend;
//   nms(x): the first other position >= x that not every own row surely
//           attends ("not must").
//
// Both return kInf when there is none. Answers are exact for the leaves
// (except predicates, which may attend anything and are never sure);
// combinators are sound and may be conservative: a union takes the least
// `may` of its operands and is sure where one operand is sure; an
// intersection leapfrogs to a position every operand may attend and is sure
// where all are; a negation swaps the questions. TileWalk turns the root's
// answers into ascending tiles tagged full (no element mask needed) or
// partial. Every loop here is bounded by the lengths or by a small constant,
// whatever the pattern's parameters.
//
// The element tests (`*_has`) are the terms' meanings in the difference form
// t = q - k, d = qb - kb used by kernels. They are templates over the integer
// type: generated masks use 32 bits when every constant fits, which is exact
// because positions are below 2^31 there. The reference evaluator
// (dialect/SieveMask.h) stays independent and is the oracle for all of this.
//
// Self-contained (no headers) and valid as host C++ and as CUDA: code
// generation embeds it verbatim in NVRTC sources.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PASSES_SIEVEWALKRULES_H
#define SIEVE_PASSES_SIEVEWALKRULES_H

#ifndef SIEVE_HD
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define SIEVE_HD __device__ __forceinline__
#else
#define SIEVE_HD inline
#endif
#endif

namespace sieve::walk {

// The host's int64_t where the compiler names it (so host code passes its own
// arrays), else long long (NVRTC has no <cstdint>); 64 bits either way.
#ifdef __INT64_TYPE__
typedef __INT64_TYPE__ i64;
#else
typedef long long i64;
#endif

/// "None": larger than any position, small enough to add positions to.
constexpr i64 kInf = (i64)1 << 62;

SIEVE_HD i64 min_(i64 a, i64 b) { return a < b ? a : b; }
SIEVE_HD i64 max_(i64 a, i64 b) { return a > b ? a : b; }
/// The index of the highest set bit of v > 0.
SIEVE_HD int log2_floor(i64 v) {
#if defined(__CUDA_ARCH__)
  return 63 - __clzll((unsigned long long)v);
#else
  return 63 - __builtin_clzll((unsigned long long)v);
#endif
}
/// The largest power of two <= v, and the smallest >= v (v >= 1).
SIEVE_HD i64 floor_pow2(i64 v) { return (i64)1 << log2_floor(v); }
SIEVE_HD i64 ceil_pow2(i64 v) { return v <= 1 ? 1 : (i64)2 << log2_floor(v - 1); }
/// The smallest multiple of m >= v (m >= 1, v >= 0).
SIEVE_HD i64 round_up(i64 v, i64 m) { return (v + m - 1) / m * m; }

/// The own positions a walk stands on and the shape of the other axis.
struct Rows {
  i64 lo, hi;            ///< own positions, inclusive (lo <= hi)
  i64 block_lo, block_hi; ///< the own pattern blocks holding lo and hi
  i64 other_block;       ///< tokens per pattern block on the other axis
  i64 other_end;         ///< other positions >= this do not exist
  /// The own rows [lo, hi] with own block size `own_block`.
  SIEVE_HD static Rows make(i64 lo, i64 hi, i64 own_block, i64 other_block, i64 other_end) {
    Rows r;
    r.lo = lo, r.hi = hi;
    r.block_lo = lo / own_block, r.block_hi = hi / own_block;
    r.other_block = other_block, r.other_end = other_end;
    return r;
  }
};

//===----------------------------------------------------------------------===//
// Element tests: the meaning of each leaf at one (q, k)
//===----------------------------------------------------------------------===//

/// Causal with offset c: k <= q + c, i.e. t >= -c (no overflow near 2^31).
template <class T> SIEVE_HD bool causal_has(T t, T min_t) { return t >= min_t; }
/// A distance (t or d) in [lo, hi]: windows [0, W - 1] and bands.
template <class T> SIEVE_HD bool band_has(T dist, T lo, T hi) { return (dist >= lo) & (dist <= hi); }
/// Sinks (one position below a bound) and globals (either below it).
template <class T> SIEVE_HD bool below_has(T v, T bound) { return v < bound; }
template <class T> SIEVE_HD bool power_has(T d) { return (d >= 0) & ((d & (d - 1)) == 0); }
/// d >= 0, d < window, d a multiple of s (stride: window = "none").
template <class T> SIEVE_HD bool step_has(T d, T s, T window) {
  return (d >= 0) & (d < window) & (d % s == 0);
}
template <class T> SIEVE_HD bool step_has(T d, T s) { return (d >= 0) & (d % s == 0); }
/// LongNet, one segment: (qb ^ kb) < s and (qb | kb) a multiple of r.
template <class T> SIEVE_HD bool longnet_has(T qb, T kb, T s, T r) {
  return ((qb ^ kb) < s) & (((qb | kb) & (r - 1)) == 0);
}

//===----------------------------------------------------------------------===//
// Position rules: sets that are intervals of other positions
//===----------------------------------------------------------------------===//

/// may / nms of a set that is the interval [a, b] for every own row.
SIEVE_HD i64 range_may(i64 x, i64 a, i64 b) {
  if (a > b || x > b) return kInf;
  return max_(x, a);
}
SIEVE_HD i64 range_nms(i64 x, i64 a, i64 b) { return (a > b || x < a || x > b) ? x : b + 1; }

/// Token distances q - k in [lo, hi]: causal (offset c: [-c, kInf]), token
/// windows and bands. Forward, row q attends keys [q - hi, q - lo]; transposed,
/// key k is attended by queries [k + lo, k + hi].
template <bool Tr> SIEVE_HD i64 token_band_may(const Rows &r, i64 x, i64 lo, i64 hi) {
  // An unbounded side (causal's) stays the constant -kInf or kInf, which
  // kernels then fold instead of keeping a bound in registers.
  const i64 a = Tr ? r.lo + lo : (hi >= kInf ? -kInf : r.lo - hi);
  const i64 b = Tr ? (hi >= kInf ? kInf : r.hi + hi) : r.hi - lo;
  return range_may(x, a, b);
}
template <bool Tr> SIEVE_HD i64 token_band_nms(const Rows &r, i64 x, i64 lo, i64 hi) {
  const i64 a = Tr ? r.hi + lo : (hi >= kInf ? -kInf : r.hi - hi);
  const i64 b = Tr ? (hi >= kInf ? kInf : r.lo + hi) : r.lo - lo;
  return range_nms(x, a, b);
}

/// A term true where the own position is below `own` or the other position
/// is below `other` (kInf-less "never" is -kInf). Sinks bound one side,
/// globals both.
SIEVE_HD i64 below_may(const Rows &r, i64 x, i64 own, i64 other) {
  if (own <= -kInf) return range_may(x, -kInf, other - 1);  // folds in kernels
  return r.lo < own ? x : range_may(x, -kInf, other - 1);
}
SIEVE_HD i64 below_nms(const Rows &r, i64 x, i64 own, i64 other) {
  if (own <= -kInf) return range_nms(x, -kInf, other - 1);
  return r.hi < own ? kInf : range_nms(x, -kInf, other - 1);
}

//===----------------------------------------------------------------------===//
// Block rules: for one own block, the other blocks it pairs with
//===----------------------------------------------------------------------===//
//
// Each rule answers may/nms in other *blocks* for one own block `b`, with
// (qb, kb) = (b, y) forward and (y, b) transposed; d = qb - kb.

/// d in [lo, hi].
template <bool Tr> SIEVE_HD i64 block_band_may(i64 b, i64 y, i64 lo, i64 hi) {
  return Tr ? range_may(y, b + lo, b + hi) : range_may(y, b - hi, b - lo);
}
template <bool Tr> SIEVE_HD i64 block_band_nms(i64 b, i64 y, i64 lo, i64 hi) {
  return Tr ? range_nms(y, b + lo, b + hi) : range_nms(y, b - hi, b - lo);
}

/// d = 0 or a power of two.
template <bool Tr> SIEVE_HD bool power_pair(i64 b, i64 y) {
  return y >= 0 && power_has<i64>(Tr ? y - b : b - y);
}
template <bool Tr> SIEVE_HD i64 power_may(i64 b, i64 y) {
  y = max_(y, 0);
  if (Tr) return y <= b ? b : b + ceil_pow2(y - b);
  if (y > b) return kInf;
  return y == b ? b : b - floor_pow2(b - y);
}
template <bool Tr> SIEVE_HD i64 power_nms(i64 b, i64 y) {
  // Runs of consecutive partners are at most three long (d = 2, 1, 0, then
  // -1 or 3), so this loop ends within three steps. (A counted loop was
  // measured 4% slower on an H200 inside the wgmma kernel.)
  while (power_pair<Tr>(b, y)) ++y;
  return y;
}

/// d >= 0, d < window, d a multiple of s (stride: window = kInf).
template <bool Tr> SIEVE_HD bool step_pair(i64 b, i64 y, i64 s, i64 window) {
  const i64 d = Tr ? y - b : b - y;
  return y >= 0 && d >= 0 && d < window && d % s == 0;
}
template <bool Tr> SIEVE_HD i64 step_may(i64 b, i64 y, i64 s, i64 window) {
  if (Tr) {
    const i64 c = b + round_up(max_(y - b, 0), s);
    return c - b < window ? c : kInf;
  }
  y = max_(y, max_((i64)0, window >= kInf ? (i64)0 : b - window + 1));
  if (y > b) return kInf;
  return y + (b - y) % s;
}
template <bool Tr> SIEVE_HD i64 step_nms(i64 b, i64 y, i64 s, i64 window) {
  if (!step_pair<Tr>(b, y, s, window)) return y;
  if (s > 1) return y + 1;  // the next partner is s blocks away
  // s == 1: one run of partners, to the diagonal or to the window's end.
  if (!Tr) return b + 1;
  return window >= kInf ? kInf : b + window;
}

/// LongNet, one segment (s, r); symmetric in (qb, kb), so one rule serves
/// both directions.
SIEVE_HD i64 longnet_may(i64 b, i64 y, i64 s, i64 r) {
  y = max_(y, 0);
  if ((b & (r - 1)) != 0) return kInf;
  // {y : (b ^ y) < s} is b ^ [0, s): one aligned piece [a, a + 2^j) per set
  // bit j of s, which b ^ . maps onto an aligned piece.
  i64 best = kInf, a = 0;
  for (int j = 62; j >= 0; --j) {
    const i64 size = (i64)1 << j;
    if (!(s & size)) continue;
    const i64 lo = (b ^ a) & ~(size - 1), hi = lo + size - 1;
    a += size;
    const i64 c = round_up(max_(y, lo), r);
    if (c <= hi) best = min_(best, c);
  }
  return best;
}
/// One past the run of partners of b that holds y, for a segment of ratio 1
/// (y must be a partner): the aligned piece of b ^ [0, s) around y ends there.
SIEVE_HD i64 longnet_piece_end(i64 b, i64 y, i64 s) {
  const int j = log2_floor((b ^ y) ^ s);  // highest bit where b ^ y and s differ
  return (y | (((i64)1 << j) - 1)) + 1;
}
/// The union of all segments: jump past the run around y until no segment
/// holds y. Each jump passes a whole piece (ratio 1) or one block (ratio > 1,
/// whose partners are never adjacent), so the loop is bounded by the pieces,
/// and by `end` (other blocks past it do not exist).
SIEVE_HD i64 longnet_nms(i64 b, i64 y, const i64 *s, const i64 *r, int n, i64 end) {
  y = max_(y, 0);
  for (bool moved = true; moved && y < end;) {
    moved = false;
    for (int i = 0; i < n; ++i) {
      if (!longnet_has<i64>(b, y, s[i], r[i])) continue;
      y = r[i] == 1 ? longnet_piece_end(b, y, s[i]) : y + 1;
      moved = true;
    }
  }
  return y;
}

/// Runs a block rule over the own blocks of `r` and answers in other
/// positions: the least answer over the blocks (a may: some row may; a nms:
/// some row is not sure).
template <class Rule> SIEVE_HD i64 over_blocks(const Rows &r, i64 x, Rule rule) {
  const i64 y = x / r.other_block;
  i64 best = kInf;
  for (i64 b = r.block_lo; b <= r.block_hi; ++b) best = min_(best, rule(b, y));
  return best >= kInf ? kInf : max_(x, best * r.other_block);
}

//===----------------------------------------------------------------------===//
// Combinators
//===----------------------------------------------------------------------===//

/// The least answer of n operands; `op(i, x)` answers for operand i.
template <class Op> SIEVE_HD i64 least(int n, i64 x, Op op) {
  i64 best = kInf;
  for (int i = 0; i < n; ++i) best = min_(best, op(i, x));
  return best;
}
// The same two combinators over a fixed list of operands, as generated
// kernels call them: each operand is its own callable, so the compiler sees
// straight-line code (the indexed form above was measured 1-6% slower in the
// wgmma kernel on an H200). The host walk uses the indexed form; the tests
// compare the two walks tile by tile.
template <class... Op> SIEVE_HD i64 least_of(i64 x, Op... op) {
  i64 best = kInf;
  ((best = min_(best, op(x))), ...);
  return best;
}
template <class... Op> SIEVE_HD i64 leapfrog_of(i64 x, i64 end, Op... op) {
  for (;;) {
    if (x >= end) return kInf;
    i64 y = x;
    ((y = max_(y, op(y))), ...);
    if (y == x) return x;
    x = y;
  }
}

/// The first position >= x every operand answers with itself (leapfrog).
/// Each round moves x forward, and positions >= end end the walk.
template <class Op> SIEVE_HD i64 leapfrog(int n, i64 x, i64 end, Op op) {
  for (;;) {
    if (x >= end) return kInf;
    i64 y = x;
      for (int i = 0; i < n; ++i) y = max_(y, op(i, y));
    if (y == x) return x;
    x = y;
  }
}

//===----------------------------------------------------------------------===//
// The tile walk
//===----------------------------------------------------------------------===//

/// Ascending tiles of the other axis attended by the own rows. Tile t covers
/// other positions [base + t * tile, base + (t + 1) * tile) within
/// [base, end). `Root` has `may(x)` and `nms(x)` for the pattern's root.
template <class Root> struct TileWalk {
  Root root;
  i64 base, tile, end;
  i64 cursor = 0;      ///< the next tile to consider
  i64 full_until = 0;  ///< tiles below this one are surely attended

  SIEVE_HD TileWalk(const Root &root_, i64 base_, i64 tile_, i64 end_)
      : root(root_), base(base_), tile(tile_), end(end_) {}

  /// The next run [begin, stop) of tiles with one tag; false when done. A
  /// partial run is one tile; a full run is every tile up to the first
  /// position some row is not sure of.
  SIEVE_HD bool next_run(i64 &begin, i64 &stop, bool &full) {
    if (cursor < full_until) {
      begin = cursor, stop = full_until, full = true;
      cursor = full_until;
      return true;
    }
    const i64 at = base + cursor * tile;
    if (at >= end) return false;
    const i64 x = root.may(at);
    if (x >= end) {
      cursor = (end - base + tile - 1) / tile;
      return false;
    }
    const i64 j = (x - base) / tile;
    const i64 first = base + j * tile, last = min_(first + tile, end) - 1;
    // Every other position in [first, e) is attended by every own row.
    const i64 e = root.nms(first);
    full = e > last;
    begin = j, stop = j + 1, cursor = j + 1;
    if (full) full_until = e >= end ? (end - base + tile - 1) / tile : (e - base) / tile;
    return true;
  }

  /// The number of tiles still to come (walks a copy: runs at a time).
  SIEVE_HD i64 count() const {
    TileWalk w = *this;
    i64 n = 0, begin, stop;
    bool full;
    while (w.next_run(begin, stop, full)) n += stop - begin;
    return n;
  }

  /// Moves the walk so that its next tile is the first attended tile >= t.
  /// A walk restarts anywhere: it only remembers the run it is in.
  SIEVE_HD void seek(i64 t) {
    cursor = t;
    full_until = 0;
  }

  /// The number of attended tiles in [t0, t1) (walks a copy). Chunks of the
  /// tile range count independently, so a warp counts a walk in parallel:
  /// lane L takes chunk_range(tiles(), L, 32).
  SIEVE_HD i64 count_range(i64 t0, i64 t1) const { return t0 < t1 ? chunk(t0, t1).count() : 0; }

  /// The walk over tiles [t0, t1) only (t0 < t1), from its start.
  SIEVE_HD TileWalk chunk(i64 t0, i64 t1) const {
    TileWalk w = *this;
    w.seek(t0);
    w.end = min_(end, base + t1 * tile);
    return w;
  }

  /// The tiles of the other axis, attended or not.
  SIEVE_HD i64 tiles() const { return end > base ? (end - base + tile - 1) / tile : 0; }

  /// Skips the next n tiles (whole runs of full tiles at a time), so that
  /// split s of S can start at tile s * T / S of a walk of T tiles.
  SIEVE_HD void skip(i64 n) {
    while (n > 0) {
      if (cursor < full_until) {
        const i64 take = min_(n, full_until - cursor);
        cursor += take, n -= take;
        continue;
      }
      i64 begin, stop;
      bool full;
      if (!next_run(begin, stop, full)) return;
      --n;  // next_run consumed one tile (the rest of a full run waits)
    }
  }

  /// Skips the next n tiles as skip() does, then takes the next tile as
  /// next() does. n counts down the tiles skipped: 0 when a tile is taken;
  /// when the walk ends first (false), the n it could not skip, so
  /// next_after(n = kInf) counts a walk as kInf - n. A kernel that counts,
  /// skips and fetches through this one call has one inlined copy of the
  /// run search (docs/decode.md: short kernels fetch their code cold).
  SIEVE_HD bool next_after(i64 &n, int &t, bool &full) {
    for (;;) {
      if (n > 0 && cursor < full_until) {  // skip within a full run at once
        const i64 take = min_(n, full_until - cursor);
        cursor += take, n -= take;
        continue;
      }
      if (!next(t, full)) return false;
      if (n == 0) return true;
      --n;
    }
  }

  /// The next tile; false when done.
  SIEVE_HD bool next(int &t, bool &full) {
    if (cursor < full_until) {  // inside a run of surely attended tiles
      t = (int)cursor++;
      full = true;
      return true;
    }
    i64 begin, stop;
    if (!next_run(begin, stop, full)) return false;
    t = (int)begin;
    cursor = begin + 1;
    return true;
  }
};

/// The tiles [first, last) of a walk of `total` tiles that split `s` of
/// `splits` takes: contiguous, in walk order, as even as integers allow;
/// together the splits take every tile exactly once.
SIEVE_HD void split_range(i64 total, i64 s, i64 splits, i64 &first, i64 &last) {
  first = total * s / splits;
  last = total * (s + 1) / splits;
}

/// Chunk c of n of the range [0, total): [total c / n, total (c + 1) / n).
SIEVE_HD void chunk_range(i64 total, i64 c, i64 n, i64 &first, i64 &last) {
  split_range(total, c, n, first, last);
}

/// The tiles [first, last) of a walk of `total` tiles that split `s` takes
/// when at most `splits` are launched and each should take at least
/// `min_tiles`: only max(1, floor(total / min_tiles)) splits are used.
/// Returns last - first (0: the split is unused).
SIEVE_HD i64 split_share(i64 total, i64 s, i64 splits, i64 min_tiles, i64 &first, i64 &last) {
  i64 used = total / min_tiles;
  used = used < 1 ? 1 : used > splits ? splits : used;
  first = last = 0;
  if (s >= used) return 0;
  split_range(total, s, used, first, last);
  return last - first;
}

/// Split-KV: moves walk `w` to the first tile of split `s` of at most
/// `splits` and returns how many tiles the split takes (0: none). Only
/// max(1, floor(T / min_tiles)) splits of a walk of T tiles are used, so
/// each takes at least min_tiles when the walk has that many; the splits'
/// tiles, in split order, are the walk's tiles, each exactly once.
template <class Walk> SIEVE_HD i64 take_split(Walk &w, i64 s, i64 splits, i64 min_tiles) {
  i64 first, last;
  if (split_share(w.count(), s, splits, min_tiles, first, last) == 0) return 0;
  w.skip(first);
  return last - first;
}

/// take_split with the walk's count shared among `lanes` counters (a warp,
/// so a long walk is counted in parallel): counts[L] is the walk's tile count
/// in chunk L of its tile range, w.count_range(chunk_range(w.tiles(), L,
/// lanes)). Takes the same tiles as take_split: the split's first tile lies in
/// the first chunk whose running count passes it. The walk is moved to that
/// chunk's start and `skip` is the number of its tiles before the split's
/// first, for w.next_after(skip, ...) to pass over.
template <class Walk>
SIEVE_HD i64 place_split_counted(Walk &w, i64 s, i64 splits, i64 min_tiles, const i64 *counts,
                                 int lanes, i64 &skip) {
  i64 total = 0;
  for (int l = 0; l < lanes; ++l) total += counts[l];
  i64 first, last;
  skip = 0;
  if (split_share(total, s, splits, min_tiles, first, last) == 0) return 0;
  i64 before = 0;  // tiles in the chunks before chunk l
  int l = 0;
  while (l + 1 < lanes && before + counts[l] <= first) before += counts[l++];
  i64 c0, c1;
  chunk_range(w.tiles(), l, lanes, c0, c1);
  w.seek(c0);
  skip = first - before;
  return last - first;
}

} // namespace sieve::walk

#endif // SIEVE_PASSES_SIEVEWALKRULES_H

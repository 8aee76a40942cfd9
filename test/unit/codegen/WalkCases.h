//===- WalkCases.h - Generated walks compiled as host code ------*- C++ -*-===//

#ifndef SIEVE_TEST_UNIT_CODEGEN_WALKCASES_H
#define SIEVE_TEST_UNIT_CODEGEN_WALKCASES_H

#include <utility>
#include <vector>

/// One generated pattern: its element mask and its tile walks, as emitted
/// for the GPU, compiled for the host.
struct WalkCase {
  bool (*mask)(long long q, long long k);
  /// The walk of own rows [lo, hi] over other tiles of `tile` positions from
  /// `base` to `end`: forward (own rows are queries) or transposed.
  void (*walk)(bool transposed, long long lo, long long hi, long long base, long long tile,
               long long end, std::vector<std::pair<int, bool>> &tiles);
  /// The forward walk's share for split s of at most `splits`, taken as the
  /// decode kernel takes it (walk::take_split); returns the tiles it took.
  long long (*split)(long long lo, long long hi, long long tile, long long end, int s, int splits,
                     int min_tiles, std::vector<std::pair<int, bool>> &tiles);
  /// The same share taken with the count split over `lanes` chunks of the
  /// tile range and the walk started by next_after (walk::place_split_counted,
  /// as the decode kernel does).
  long long (*splitLanes)(long long lo, long long hi, long long tile, long long end, int s,
                          int splits, int min_tiles, int lanes,
                          std::vector<std::pair<int, bool>> &tiles);
};

extern const WalkCase kWalkCases[];
extern const int kNumWalkCases;

/// The cases, in order: the built-ins (at small block sizes), then random
/// patterns drawn from test::RandomPattern(kWalkSeed).
constexpr unsigned long long kWalkSeed = 53;
constexpr int kNumRandomWalkCases = 160;

#endif // SIEVE_TEST_UNIT_CODEGEN_WALKCASES_H

//===- WalkCases.h - Generated walks compiled as host code ------*- C++ -*-===//

#ifndef SIEVE_TEST_UNIT_CODEGEN_WALKCASES_H
#define SIEVE_TEST_UNIT_CODEGEN_WALKCASES_H

#include <utility>
#include <vector>

/// One generated pattern: its element mask and its tile walk, as emitted for
/// the GPU, compiled for the host.
struct WalkCase {
  bool (*mask)(long long q, long long k);
  void (*walk)(long long qBegin, long long qEnd, long long kLen,
               std::vector<std::pair<int, bool>> &tiles);
  long long tileK;
};

extern const WalkCase kWalkCases[];
extern const int kNumWalkCases;

/// The cases, in order: the built-ins (at a small block size), then random
/// patterns drawn from test::RandomPattern(kWalkSeed).
constexpr unsigned long long kWalkSeed = 53;
constexpr int kNumRandomWalkCases = 160;

#endif // SIEVE_TEST_UNIT_CODEGEN_WALKCASES_H

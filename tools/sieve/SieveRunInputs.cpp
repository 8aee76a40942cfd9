//===- SieveRunInputs.cpp - Random inputs for `sieve run` ------------===//
//
// A 128K-token, 32-head tensor is half a billion elements; drawing them one
// by one from std::normal_distribution took about a minute per `sieve run
// --backward` at that size. Here element i is a function of (seed, stream,
// i) alone, so threads fill disjoint ranges and any thread count gives the
// same bits.
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveRunCommon.h"
#include "reference/SieveHalf.h"

#include <algorithm>
#include <system_error>
#include <thread>

using namespace sieve;

namespace {
/// splitmix64's finaliser: a 64-bit hash of a counter.
uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/// Elements [begin, end): four 16-bit draws per hashed counter, mapped to
/// [-sqrt 3, sqrt 3].
void fillRange(uint16_t *out, size_t begin, size_t end, bool bf16, uint64_t key) {
  for (size_t i = begin; i < end; ++i) {
    const uint64_t z = mix(key + (uint64_t(i / 4) + 1) * 0x9E3779B97F4A7C15ull);
    const float x = (float((z >> (16 * (i % 4))) & 0xffff) / 65535.0f * 2 - 1) * 1.7320508f;
    out[i] = bf16 ? half::floatToBf16(x) : half::floatToFp16(x);
  }
}
} // namespace

void cli::randomHalves(std::vector<uint16_t> &out, size_t count, bool bf16, uint64_t seed,
                       uint64_t stream) {
  out.resize(count);
  const uint64_t key = mix(seed * 0x9E3779B97F4A7C15ull + stream + 1);
  constexpr size_t kChunk = size_t(1) << 22; // elements per thread at least
  const size_t hw = std::max(1u, std::thread::hardware_concurrency());
  const size_t threads = std::min(hw, (count + kChunk - 1) / kChunk);
  if (threads <= 1) {
    fillRange(out.data(), 0, count, bf16, key);
    return;
  }
  // Ranges no thread could be started for are filled here; the values do
  // not depend on who fills them.
  std::vector<std::thread> pool;
  pool.reserve(threads);
  const size_t per = (count + threads - 1) / threads;
  for (size_t t = 0; t < threads; ++t) {
    const size_t begin = t * per, end = std::min(count, begin + per);
    if (begin >= end)
      continue;
    try {
      pool.emplace_back(fillRange, out.data(), begin, end, bf16, key);
    } catch (const std::system_error &) {
      fillRange(out.data(), begin, end, bf16, key);
    }
  }
  for (std::thread &th : pool)
    th.join();
}

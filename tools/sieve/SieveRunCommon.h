//===- SieveRunCommon.h - What both `sieve run` paths share -----*- C++ -*-===//

#ifndef SIEVE_TOOLS_SIEVE_SIEVERUNCOMMON_H
#define SIEVE_TOOLS_SIEVE_SIEVERUNCOMMON_H

#include "sieve/Attention.h"
#include "llvm/Support/raw_ostream.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <vector>

namespace sieve::cli {

/// Random 16-bit inputs (bf16 or fp16), uniform on [-sqrt 3, sqrt 3] (unit
/// variance): element i depends on (seed, stream, i) alone, so the fill
/// runs on every core and gives the same bits on any machine. `stream`
/// keeps the tensors of one run (q, k, v, dO) apart.
void randomHalves(std::vector<uint16_t> &out, size_t count, bool bf16, uint64_t seed,
                  uint64_t stream);

/// The L2 flush before each timed call: larger than any GPU's L2 (the
/// H200's is 50 MiB), as triton.testing.do_bench flushes.
constexpr size_t kFlushBytes = size_t(256) << 20;

/// How `sieve run` times: said in every report that has timings.
constexpr const char *kTimingMethod =
    "median of CUDA-event-timed calls on the stream, each after a 256 MiB L2 flush "
    "(the host queues the call during the flush: launch latency not counted), after 3 warm-ups";

/// The median of `repeat` event-timed calls of `launch` on `stream`, after
/// three warm-up calls, in milliseconds (timeCallsOnStream: cold L2, no host
/// latency).
inline Status medianLaunchMs(const std::function<Status()> &launch, int repeat, double &median,
                             void *stream = nullptr) {
  for (int r = 0; r < 3; ++r)
    if (Status s = launch(); !s)
      return s;
  std::vector<float> times;
  if (Status s = timeCallsOnStream(stream, launch, repeat, kFlushBytes, times); !s)
    return s;
  std::sort(times.begin(), times.end());
  median = times[times.size() / 2];
  return Status::success();
}

/// The report: one JSON object, or "  key: value" lines.
inline void printReport(const nlohmann::ordered_json &report, bool json) {
  if (json) {
    llvm::outs() << report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  for (auto it = report.begin(); it != report.end(); ++it)
    llvm::outs() << "  " << it.key() << ": " << it.value().dump() << "\n";
}

} // namespace sieve::cli

#endif // SIEVE_TOOLS_SIEVE_SIEVERUNCOMMON_H

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

/// The median of `repeat` calls of `timed` (which runs once and says how
/// many milliseconds it took), after three warm-up calls.
inline Status medianTimedMs(const std::function<Status(float &)> &timed, int repeat,
                            double &median) {
  std::vector<float> times;
  for (int r = 0; r < repeat + 3; ++r) {
    float ms = 0;
    if (Status s = timed(ms); !s)
      return s;
    if (r >= 3)
      times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  median = times[times.size() / 2];
  return Status::success();
}

/// The median of `repeat` CUDA-event-timed calls of `launch`, after three
/// warm-up calls, in milliseconds.
inline Status medianLaunchMs(const std::function<Status()> &launch, int repeat, double &median) {
  return medianTimedMs([&](float &ms) { return timeOnDevice(launch, ms); }, repeat, median);
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

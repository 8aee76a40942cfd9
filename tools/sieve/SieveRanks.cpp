//===- SieveRanks.cpp - `sieve inspect --ranks`: the KV exchange -*- C++ -*-===//
//
// Blocks received per rank under the pattern-aware exchange, beside a
// causal ring and an all-gather over the same shards (what each counts:
// docs/context-parallel.md), and the schedule's rounds.
//
//===----------------------------------------------------------------------===//

#include "tools/sieve/SieveRanks.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace sieve;
using namespace sieve::parallel;

namespace {
/// (source rank, blocks) for each rank rank r needs blocks from, nearest first.
std::vector<std::pair<int, int64_t>> sources(const ExchangePlan &plan, int r) {
  std::vector<std::pair<int, int64_t>> out;
  for (int d = 1; d < plan.ranks; ++d) {
    const int src = (r - d + plan.ranks) % plan.ranks;
    if (int64_t n = countBlocks(plan.needs[size_t(r)][size_t(src)], plan.block))
      out.push_back({src, n});
  }
  return out;
}
} // namespace

bool cli::planRanks(const InspectOptions &o, const mask::Pattern &pattern, ExchangePlan &plan,
                    double &ms, std::string &message) {
  ExchangeOptions eo;
  eo.seqLen = o.seqLen, eo.ranks = o.ranks, eo.block = o.exchangeBlock;
  if (!parseSharding(o.sharding, eo.sharding) || !parseSchedule(o.schedule, eo.schedule)) {
    message = "unknown --sharding or --schedule";
    return false;
  }
  auto start = std::chrono::steady_clock::now();
  Status s = planExchange(pattern, eo, plan);
  ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  if (!s)
    message = "--ranks " + std::to_string(o.ranks) + ": " + s.message;
  return bool(s);
}

nlohmann::ordered_json cli::ranksJson(const ExchangePlan &plan, double ms) {
  auto volume = [](const Volume &v) {
    return nlohmann::ordered_json{{"needed", v.needed}, {"received", v.received},
                                  {"ring", v.ring}, {"all_gather", v.allGather}};
  };
  nlohmann::ordered_json ranks = nlohmann::ordered_json::array();
  for (int r = 0; r < plan.ranks; ++r) {
    nlohmann::ordered_json from = nlohmann::ordered_json::array();
    for (auto [src, n] : sources(plan, r))
      from.push_back({{"rank", src}, {"blocks", n}});
    nlohmann::ordered_json row = {{"rank", r}, {"tokens", plan.shardTokens(r)}};
    row.update(volume(plan.volume[size_t(r)]));
    row["needs_from"] = from;
    ranks.push_back(row);
  }
  nlohmann::ordered_json rounds = nlohmann::ordered_json::array();
  for (const Round &round : plan.rounds) {
    int64_t blocks = 0;
    for (const Message &m : round.messages)
      blocks += countBlocks(m.keys, plan.block);
    rounds.push_back({{"offset", round.offset}, {"messages", round.messages.size()},
                      {"blocks", blocks}});
  }
  return {{"ranks", plan.ranks},
          {"sharding", shardingName(plan.sharding)},
          {"block", plan.block},
          {"schedule", scheduleName(plan.schedule)},
          {"rounds", rounds},
          {"direct", {{"rounds", plan.directRounds}, {"received", plan.directReceived}}},
          {"doubling", {{"rounds", plan.doublingRounds}, {"received", plan.doublingReceived}}},
          {"total", volume(plan.total)},
          {"per_rank", ranks},
          {"elapsed_ms", ms}};
}

void cli::printRanks(const ExchangePlan &plan, double ms) {
  auto &os = llvm::outs();
  os << "context parallel: " << plan.ranks << " ranks, " << shardingName(plan.sharding)
     << " shards, blocks of " << plan.block << " tokens\n";
  os << "  " << llvm::left_justify("schedule", 24) << scheduleName(plan.schedule) << ", "
     << plan.rounds.size() << (plan.rounds.size() == 1 ? " round" : " rounds") << " (direct: "
     << plan.directRounds << " rounds, " << plan.directReceived << " blocks; doubling: "
     << plan.doublingRounds << " rounds, " << plan.doublingReceived << " blocks)\n";
  os << "  key blocks received per rank\n";
  os << "    rank    needed  received      ring  all-gather  needed from (rank:blocks)\n";
  for (int r = 0; r < plan.ranks; ++r) {
    const Volume &v = plan.volume[size_t(r)];
    std::string from;
    for (auto [src, n] : sources(plan, r))
      from += (from.empty() ? "" : " ") + std::to_string(src) + ":" + std::to_string(n);
    os << llvm::format("  %6d %9lld %9lld %9lld %11lld", r, (long long)v.needed,
                       (long long)v.received, (long long)v.ring, (long long)v.allGather)
       << (from.empty() ? "" : "  ") << from << "\n";
  }
  const Volume &t = plan.total;
  os << llvm::format("   total %9lld %9lld %9lld %11lld\n", (long long)t.needed,
                     (long long)t.received, (long long)t.ring, (long long)t.allGather);
  os << llvm::format("planned in %.1f ms\n", ms);
}

//===- SieveRanks.h - `sieve inspect --ranks`: the KV exchange --*- C++ -*-===//

#ifndef SIEVE_TOOLS_SIEVE_SIEVERANKS_H
#define SIEVE_TOOLS_SIEVE_SIEVERANKS_H

#include "parallel/SieveExchangePlan.h"
#include "tools/sieve/SieveCommands.h"

#include <nlohmann/json.hpp>

namespace sieve::cli {

/// Plans the exchange the options ask for; false with the reason.
bool planRanks(const InspectOptions &options, const mask::Pattern &pattern,
               parallel::ExchangePlan &plan, double &ms, std::string &message);
/// The "context_parallel" object of `sieve inspect --json`.
nlohmann::ordered_json ranksJson(const parallel::ExchangePlan &plan, double ms);
/// The text section.
void printRanks(const parallel::ExchangePlan &plan, double ms);

} // namespace sieve::cli

#endif // SIEVE_TOOLS_SIEVE_SIEVERANKS_H

//===- SieveExchangePlan.h - Which keys each rank needs, and when -*- C++ -*-===//
//
// Context parallelism shards one sequence over P ranks: rank r holds the
// queries, keys and values of its shard and must see every key its queries
// attend. A dense or causal exchange (a ring, an all-gather) moves whole
// shards whether the mask needs them or not; this planner moves only the key
// blocks the pattern attends.
//
// The sequence is cut into exchange blocks of `block` tokens (the pattern's
// key block by default) and shards are runs of whole blocks. For each query
// block of rank r's shard, the planner's walk (Planner::keyTiles: the
// kernels' closed-form walk, refined exactly) gives the attended key blocks
// as runs; the runs, cut at shard boundaries, say which blocks r needs from
// which rank. The cost is one walk per query block, never N^2 (with custom
// predicates the walk is conservative: a block may be listed that no pair
// attends, never the other way round).
//
// Needs become a schedule of rounds, each a set of messages in which every
// rank sends at most one message and receives at most one:
//   direct:   one message per (owner, rank) pair with needs; round d holds
//             the messages from r to r + d (mod P).
//   doubling: round j sends from r to r + 2^j (mod P), ceil(log2 P) rounds;
//             a block for a rank d = (dst - src) mod P away travels along
//             the set bits of d, relayed by the ranks in between. For
//             power-of-two rules (PowerAttention) the relays need the blocks
//             themselves, so this moves no more than direct in far fewer
//             rounds.
//   ring:     the causal ring this is compared with: round j sends from r to
//             r + 1 the whole shard of rank r - j, while a rank further along
//             needs some of it under a causal mask (or under the pattern,
//             where it reaches beyond causal).
// `automatic` takes doubling when it receives no more blocks than direct in
// no more rounds, else direct.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PARALLEL_SIEVEEXCHANGEPLAN_H
#define SIEVE_PARALLEL_SIEVEEXCHANGEPLAN_H

#include "dialect/SieveMask.h"
#include "sieve/Jit.h"

#include <cstdint>
#include <string>
#include <vector>

namespace sieve::parallel {

/// Token positions [begin, end).
struct Segment {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
  bool operator==(const Segment &o) const { return begin == o.begin && end == o.end; }
};

/// contiguous: rank r holds the r-th of P runs of blocks. zigzag: the
/// sequence is cut into 2P runs and rank r holds runs r and 2P - 1 - r
/// (balanced causal work).
enum class Sharding { contiguous, zigzag };
enum class Schedule { automatic, direct, doubling, ring };

const char *shardingName(Sharding s);
const char *scheduleName(Schedule s);
/// False when `name` names no sharding or schedule.
bool parseSharding(const std::string &name, Sharding &out);
bool parseSchedule(const std::string &name, Schedule &out);

struct ExchangeOptions {
  int64_t seqLen = 0;
  int ranks = 1;
  Sharding sharding = Sharding::contiguous;
  Schedule schedule = Schedule::automatic;
  int64_t block = 0; ///< Tokens per exchange block; 0: the pattern's key block.
};

/// One transfer of key/value rows. `keys` are what src sends, ascending and
/// disjoint (its own rows and, in a doubling schedule, rows it relays);
/// `use` are the ones dst attends itself (a subset).
struct Message {
  int src = 0, dst = 0;
  std::vector<Segment> keys, use;
  int64_t tokens() const;
};

/// Messages that run at the same time: all from r to r + offset (mod P).
struct Round {
  int offset = 0;
  std::vector<Message> messages;
};

/// Exchange blocks received per rank (blocks of `block` tokens; the last
/// block of the sequence may be shorter and counts as one).
struct Volume {
  int64_t needed = 0;    ///< The pattern's remote key blocks.
  int64_t received = 0;  ///< What the schedule delivers (needed + relayed).
  int64_t ring = 0;      ///< What the causal ring delivers.
  int64_t allGather = 0; ///< Every other rank's blocks.
};

struct ExchangePlan {
  int ranks = 1;
  int64_t seqLen = 0, block = 0;
  Sharding sharding = Sharding::contiguous;
  Schedule schedule = Schedule::direct; ///< The one chosen (never automatic).
  std::vector<std::vector<Segment>> shards; ///< shards[r]: rank r's tokens, ascending.
  /// needs[dst][src]: key rows of src's shard that dst's queries attend.
  std::vector<std::vector<std::vector<Segment>>> needs;
  std::vector<Round> rounds;
  std::vector<Volume> volume; ///< Per rank.
  /// Totals over the ranks, and the rounds of the direct and doubling
  /// schedules (what `automatic` chose from).
  Volume total;
  int directRounds = 0, doublingRounds = 0;
  int64_t directReceived = 0, doublingReceived = 0;

  /// Tokens of rank r's shard.
  int64_t shardTokens(int r) const;
  /// Rank r's rows in ascending position order: row i of its local tensors
  /// is position localToGlobal(r, i).
  int64_t localToGlobal(int r, int64_t row) const;
};

/// Plans the exchange of `pattern` at options.seqLen over options.ranks.
/// Errors: a non-positive length, rank count or block, more ranks than
/// blocks (2 ranks per 2 runs for zigzag: every rank holds at least one
/// block per run), more than 65536 ranks.
Status planExchange(const mask::Pattern &pattern, const ExchangeOptions &options,
                    ExchangePlan &plan);

/// The number of exchange blocks of `block` tokens that `segments` touch.
int64_t countBlocks(const std::vector<Segment> &segments, int64_t block);

/// Ascending, disjoint, merged (adjacent segments joined).
void normalize(std::vector<Segment> &segments);
std::vector<Segment> intersect(const std::vector<Segment> &a, const std::vector<Segment> &b);

} // namespace sieve::parallel

#endif // SIEVE_PARALLEL_SIEVEEXCHANGEPLAN_H

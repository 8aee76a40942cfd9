//===- SieveExchangePlan.cpp - Which keys each rank needs, and when -------===//

#include "parallel/SieveExchangePlan.h"
#include "passes/SievePlanner.h"

#include <algorithm>
#include <map>

using namespace sieve;
using namespace sieve::parallel;

const char *parallel::shardingName(Sharding s) {
  return s == Sharding::zigzag ? "zigzag" : "contiguous";
}

const char *parallel::scheduleName(Schedule s) {
  switch (s) {
  case Schedule::automatic: return "auto";
  case Schedule::direct: return "direct";
  case Schedule::doubling: return "doubling";
  case Schedule::ring: return "ring";
  }
  return "?";
}

bool parallel::parseSharding(const std::string &name, Sharding &out) {
  for (Sharding s : {Sharding::contiguous, Sharding::zigzag})
    if (name == shardingName(s))
      return out = s, true;
  return false;
}

bool parallel::parseSchedule(const std::string &name, Schedule &out) {
  for (Schedule s : {Schedule::automatic, Schedule::direct, Schedule::doubling, Schedule::ring})
    if (name == scheduleName(s))
      return out = s, true;
  return false;
}

int64_t Message::tokens() const {
  int64_t n = 0;
  for (const Segment &s : keys)
    n += s.size();
  return n;
}

int64_t ExchangePlan::shardTokens(int r) const {
  int64_t n = 0;
  for (const Segment &s : shards[size_t(r)])
    n += s.size();
  return n;
}

int64_t ExchangePlan::localToGlobal(int r, int64_t row) const {
  for (const Segment &s : shards[size_t(r)]) {
    if (row < s.size())
      return s.begin + row;
    row -= s.size();
  }
  return -1;
}

void parallel::normalize(std::vector<Segment> &v) {
  std::sort(v.begin(), v.end(),
            [](const Segment &a, const Segment &b) { return a.begin < b.begin; });
  size_t n = 0;
  for (const Segment &s : v) {
    if (s.size() <= 0)
      continue;
    if (n && v[n - 1].end >= s.begin)
      v[n - 1].end = std::max(v[n - 1].end, s.end);
    else
      v[n++] = s;
  }
  v.resize(n);
}

std::vector<Segment> parallel::intersect(const std::vector<Segment> &a,
                                         const std::vector<Segment> &b) {
  std::vector<Segment> out;
  for (size_t i = 0, j = 0; i < a.size() && j < b.size();) {
    int64_t lo = std::max(a[i].begin, b[j].begin), hi = std::min(a[i].end, b[j].end);
    if (lo < hi)
      out.push_back({lo, hi});
    (a[i].end < b[j].end ? i : j)++;
  }
  return out;
}

int64_t parallel::countBlocks(const std::vector<Segment> &segments, int64_t block) {
  int64_t n = 0, last = -1; // the last block counted, so touching segments share one
  for (const Segment &s : segments) {
    if (s.size() <= 0)
      continue;
    int64_t first = std::max(s.begin / block, last + 1), end = (s.end - 1) / block;
    if (end >= first)
      n += end - first + 1;
    last = std::max(last, end);
  }
  return n;
}

namespace {
/// The runs ("pieces") of blocks the sequence is cut into and their owners.
struct Pieces {
  std::vector<int64_t> start; ///< In blocks; start.back() is the block count.
  std::vector<int> owner;
  /// The piece holding block u.
  size_t of(int64_t u) const {
    return size_t(std::upper_bound(start.begin(), start.end(), u) - start.begin()) - 1;
  }
};

Pieces cut(int64_t blocks, int ranks, Sharding sharding) {
  const int64_t n = sharding == Sharding::zigzag ? 2 * int64_t(ranks) : ranks;
  Pieces p;
  for (int64_t c = 0; c <= n; ++c)
    p.start.push_back(c * blocks / n);
  for (int64_t c = 0; c < n; ++c)
    p.owner.push_back(int(c < ranks ? c : n - 1 - c));
  return p;
}

/// needs[dst][src] from one walk per query block.
void findNeeds(const mask::Pattern &pattern, const Pieces &pieces, ExchangePlan &plan) {
  const int64_t b = plan.block, n = plan.seqLen;
  plan::Shape shape;
  shape.tileQ = shape.tileK = b;
  shape.qLen = shape.kLen = n;
  plan::Planner planner(pattern, shape);
  plan.needs.assign(size_t(plan.ranks), std::vector<std::vector<Segment>>(size_t(plan.ranks)));
  for (size_t c = 0; c + 1 < pieces.start.size(); ++c) {
    const int r = pieces.owner[c];
    for (int64_t t = pieces.start[c]; t < pieces.start[c + 1]; ++t)
      for (const plan::TileRun &run : planner.keyTiles(t))
        for (size_t o = pieces.of(run.begin); o + 1 < pieces.start.size(); ++o) {
          const int64_t lo = std::max(run.begin, pieces.start[o]);
          const int64_t hi = std::min(run.end, pieces.start[o + 1]);
          if (lo >= hi)
            break;
          if (pieces.owner[o] != r)
            plan.needs[size_t(r)][size_t(pieces.owner[o])].push_back(
                {lo * b, std::min(hi * b, n)});
        }
  }
  for (auto &row : plan.needs)
    for (auto &segments : row)
      normalize(segments);
}

/// Everything rank r attends outside its shard.
std::vector<Segment> allNeeds(const ExchangePlan &plan, int r) {
  std::vector<Segment> all;
  for (const auto &from : plan.needs[size_t(r)])
    all.insert(all.end(), from.begin(), from.end());
  normalize(all);
  return all;
}

std::vector<Round> directRounds(const ExchangePlan &plan) {
  std::vector<Round> rounds;
  for (int d = 1; d < plan.ranks; ++d) {
    Round round{d, {}};
    for (int src = 0; src < plan.ranks; ++src) {
      const int dst = (src + d) % plan.ranks;
      const auto &keys = plan.needs[size_t(dst)][size_t(src)];
      if (!keys.empty())
        round.messages.push_back({src, dst, keys, keys});
    }
    if (!round.messages.empty())
      rounds.push_back(std::move(round));
  }
  return rounds;
}

std::vector<Round> doublingRounds(const ExchangePlan &plan) {
  const int p = plan.ranks;
  int levels = 0;
  while ((int64_t(1) << levels) < p)
    ++levels;
  // hops[j][s]: what s sends to s + 2^j in round j.
  std::vector<std::map<int, std::vector<Segment>>> hops(static_cast<size_t>(levels));
  for (int dst = 0; dst < p; ++dst)
    for (int src = 0; src < p; ++src) {
      const auto &keys = plan.needs[size_t(dst)][size_t(src)];
      if (keys.empty())
        continue;
      const int d = (dst - src + p) % p;
      int at = src;
      for (int j = 0; j < levels; ++j)
        if (d >> j & 1) {
          auto &hop = hops[size_t(j)][at];
          hop.insert(hop.end(), keys.begin(), keys.end());
          at = int((at + (int64_t(1) << j)) % p);
        }
    }
  std::vector<Round> rounds;
  std::vector<std::vector<Segment>> needed;
  for (int r = 0; r < p; ++r)
    needed.push_back(allNeeds(plan, r));
  for (int j = 0; j < levels; ++j) {
    Round round{int(int64_t(1) << j), {}};
    for (auto &[src, keys] : hops[size_t(j)]) {
      normalize(keys);
      const int dst = int((src + round.offset) % p);
      round.messages.push_back({src, dst, keys, intersect(keys, needed[size_t(dst)])});
    }
    if (!round.messages.empty())
      rounds.push_back(std::move(round));
  }
  return rounds;
}

/// Whether a causal mask, or the pattern where it reaches beyond causal,
/// needs some of shard s at rank t.
bool ringNeeds(const ExchangePlan &plan, int t, int s) {
  const auto &a = plan.shards[size_t(s)], &b = plan.shards[size_t(t)];
  return t != s && (a.front().begin < b.back().end || !plan.needs[size_t(t)][size_t(s)].empty());
}

std::vector<Round> ringRounds(const ExchangePlan &plan) {
  const int p = plan.ranks;
  std::vector<std::vector<Segment>> needed;
  for (int r = 0; r < p; ++r)
    needed.push_back(allNeeds(plan, r));
  std::vector<Round> rounds;
  for (int j = 0; j + 1 < p; ++j) {
    Round round{1, {}};
    for (int r = 0; r < p; ++r) {
      const int s = (r - j + p) % p, dst = (r + 1) % p;
      bool ahead = false; // a rank from dst on, before s, needs shard s
      for (int t = dst; t != s && !ahead; t = (t + 1) % p)
        ahead = ringNeeds(plan, t, s);
      if (ahead)
        round.messages.push_back(
            {r, dst, plan.shards[size_t(s)], intersect(plan.shards[size_t(s)], needed[size_t(dst)])});
    }
    if (!round.messages.empty())
      rounds.push_back(std::move(round));
  }
  return rounds;
}

/// Blocks received per rank under `rounds`.
std::vector<int64_t> received(const ExchangePlan &plan, const std::vector<Round> &rounds) {
  std::vector<int64_t> n(size_t(plan.ranks));
  for (const Round &round : rounds)
    for (const Message &m : round.messages)
      n[size_t(m.dst)] += countBlocks(m.keys, plan.block);
  return n;
}

int64_t sum(const std::vector<int64_t> &v) {
  int64_t s = 0;
  for (int64_t x : v)
    s += x;
  return s;
}
} // namespace

Status parallel::planExchange(const mask::Pattern &pattern, const ExchangeOptions &o,
                              ExchangePlan &plan) {
  const int64_t block = o.block ? o.block : pattern.blockK;
  if (o.seqLen <= 0)
    return Status::error("the sequence length must be positive, not " + std::to_string(o.seqLen));
  if (o.ranks <= 0 || o.ranks > 65536)
    return Status::error("the rank count must be in [1, 65536], not " + std::to_string(o.ranks));
  if (block <= 0)
    return Status::error("the exchange block must be positive, not " + std::to_string(block));
  const int64_t blocks = (o.seqLen + block - 1) / block;
  const int64_t pieces = (o.sharding == Sharding::zigzag ? 2 : 1) * int64_t(o.ranks);
  if (blocks < pieces)
    return Status::error(std::to_string(o.ranks) + " ranks need at least " +
                         std::to_string(pieces) + " blocks of " + std::to_string(block) +
                         " tokens for " + shardingName(o.sharding) + " shards, but " +
                         std::to_string(o.seqLen) + " tokens make " + std::to_string(blocks));
  plan = ExchangePlan();
  plan.ranks = o.ranks, plan.seqLen = o.seqLen, plan.block = block, plan.sharding = o.sharding;
  Pieces cuts = cut(blocks, o.ranks, o.sharding);
  plan.shards.assign(size_t(o.ranks), {});
  for (size_t c = 0; c + 1 < cuts.start.size(); ++c)
    plan.shards[size_t(cuts.owner[c])].push_back(
        {cuts.start[c] * block, std::min(cuts.start[c + 1] * block, o.seqLen)});
  for (auto &s : plan.shards)
    normalize(s);
  findNeeds(pattern, cuts, plan);

  std::vector<Round> direct = directRounds(plan), doubling = doublingRounds(plan);
  std::vector<Round> ring = ringRounds(plan);
  std::vector<int64_t> directN = received(plan, direct), doublingN = received(plan, doubling);
  plan.directRounds = int(direct.size()), plan.doublingRounds = int(doubling.size());
  plan.directReceived = sum(directN), plan.doublingReceived = sum(doublingN);
  plan.schedule = o.schedule;
  if (o.schedule == Schedule::automatic)
    plan.schedule = plan.doublingReceived <= plan.directReceived &&
                            plan.doublingRounds <= plan.directRounds
                        ? Schedule::doubling
                        : Schedule::direct;
  plan.rounds = plan.schedule == Schedule::doubling ? std::move(doubling)
                : plan.schedule == Schedule::ring   ? ring
                                                    : std::move(direct);

  std::vector<int64_t> got = received(plan, plan.rounds), ringN = received(plan, ring);
  const int64_t totalBlocks = countBlocks({{0, o.seqLen}}, block);
  plan.volume.assign(size_t(o.ranks), {});
  for (int r = 0; r < o.ranks; ++r) {
    Volume &v = plan.volume[size_t(r)];
    v.needed = countBlocks(allNeeds(plan, r), block);
    v.received = got[size_t(r)];
    v.ring = ringN[size_t(r)];
    v.allGather = totalBlocks - countBlocks(plan.shards[size_t(r)], block);
    plan.total.needed += v.needed, plan.total.received += v.received;
    plan.total.ring += v.ring, plan.total.allGather += v.allGather;
  }
  return Status::success();
}

//===- SieveExchangePlanTest.cpp - The exchange planner against brute force ===//
//
// For random patterns, lengths, exchange blocks, rank counts and both
// shardings, the blocks each rank needs from each other rank are exactly
// what brute force over the reference evaluator finds (a superset with
// custom predicates), and every schedule delivers them: each round a
// permutation, every message sent by a rank that holds its rows, every
// needed row used exactly once. PowerAttention's numbers of issue 14.
//
//===----------------------------------------------------------------------===//

#include "../SieveRandomPattern.h"
#include "../SieveTestUtils.h"
#include "parallel/SieveExchangePlan.h"

#include <gtest/gtest.h>

#include <set>

using namespace sieve;
using namespace sieve::parallel;

namespace {
/// The positions of a segment list.
std::set<int64_t> positions(const std::vector<Segment> &segs) {
  std::set<int64_t> out;
  for (const Segment &s : segs)
    for (int64_t p = s.begin; p < s.end; ++p)
      out.insert(p);
  return out;
}

std::set<int64_t> blocksOf(const std::set<int64_t> &pos, int64_t block) {
  std::set<int64_t> out;
  for (int64_t p : pos)
    out.insert(p / block);
  return out;
}

int owner(const ExchangePlan &plan, int64_t pos) {
  for (int r = 0; r < plan.ranks; ++r)
    for (const Segment &s : plan.shards[size_t(r)])
      if (pos >= s.begin && pos < s.end)
        return r;
  return -1;
}

/// Runs the schedule: what each rank holds, round by round. Returns the
/// first problem, or "".
std::string deliver(const ExchangePlan &plan, const std::vector<Round> &rounds) {
  const int p = plan.ranks;
  std::vector<std::set<int64_t>> held(static_cast<size_t>(p)), used(static_cast<size_t>(p)), needed(static_cast<size_t>(p));
  for (int r = 0; r < p; ++r) {
    held[size_t(r)] = positions(plan.shards[size_t(r)]);
    for (const auto &from : plan.needs[size_t(r)])
      for (int64_t x : positions(from))
        needed[size_t(r)].insert(x);
  }
  for (size_t j = 0; j < rounds.size(); ++j) {
    std::vector<int> sends(static_cast<size_t>(p)), recvs(static_cast<size_t>(p));
    std::vector<std::set<int64_t>> next = held;
    for (const Message &m : rounds[j].messages) {
      std::string at = "round " + std::to_string(j) + " " + std::to_string(m.src) + "->" +
                       std::to_string(m.dst) + ": ";
      if (++sends[size_t(m.src)] > 1 || ++recvs[size_t(m.dst)] > 1)
        return at + "a rank sends or receives twice in a round";
      if ((m.dst - m.src + p) % p != rounds[j].offset)
        return at + "offset differs from the round's";
      if (m.keys.empty())
        return at + "empty message";
      for (int64_t x : positions(m.keys)) {
        if (!held[size_t(m.src)].count(x))
          return at + "sends position " + std::to_string(x) + " it does not hold";
        if (held[size_t(m.dst)].count(x))
          return at + "delivers position " + std::to_string(x) + " already held";
        next[size_t(m.dst)].insert(x);
      }
      for (int64_t x : positions(m.use)) {
        if (!positions(m.keys).count(x) || !needed[size_t(m.dst)].count(x))
          return at + "uses position " + std::to_string(x) + " not sent or not needed";
        if (!used[size_t(m.dst)].insert(x).second)
          return at + "uses position " + std::to_string(x) + " twice";
      }
    }
    held = std::move(next);
  }
  for (int r = 0; r < p; ++r)
    if (used[size_t(r)] != needed[size_t(r)])
      return "rank " + std::to_string(r) + " does not use every needed position";
  return "";
}

void checkPlan(const mask::Pattern &pattern, const ExchangeOptions &o, bool exact) {
  ExchangePlan plan;
  Status s = planExchange(pattern, o, plan);
  ASSERT_TRUE(s) << s.message;
  const int64_t n = o.seqLen, b = plan.block;
  // Shards: block-aligned, disjoint, covering the sequence.
  std::set<int64_t> all;
  for (int r = 0; r < plan.ranks; ++r)
    for (const Segment &seg : plan.shards[size_t(r)]) {
      ASSERT_EQ(seg.begin % b, 0);
      ASSERT_TRUE(seg.end % b == 0 || seg.end == n);
      for (int64_t x = seg.begin; x < seg.end; ++x)
        ASSERT_TRUE(all.insert(x).second);
    }
  ASSERT_EQ(int64_t(all.size()), n);
  // Needs against brute force, in blocks.
  mask::Evaluator eval(pattern);
  std::vector<std::vector<std::set<int64_t>>> want(size_t(plan.ranks),
                                                   std::vector<std::set<int64_t>>(size_t(plan.ranks)));
  for (int64_t q = 0; q < n; ++q) {
    const int r = owner(plan, q);
    for (int64_t k = 0; k < n; ++k)
      if (owner(plan, k) != r && eval(q, k))
        want[size_t(r)][size_t(owner(plan, k))].insert(k / b);
  }
  for (int dst = 0; dst < plan.ranks; ++dst)
    for (int src = 0; src < plan.ranks; ++src) {
      std::set<int64_t> pos = positions(plan.needs[size_t(dst)][size_t(src)]);
      for (int64_t x : pos)
        ASSERT_EQ(owner(plan, x), src) << "dst " << dst << " needs " << x << " from " << src;
      std::set<int64_t> got = blocksOf(pos, b);
      if (exact) {
        ASSERT_EQ(got, want[size_t(dst)][size_t(src)]) << "dst " << dst << " src " << src;
      } else {
        for (int64_t x : want[size_t(dst)][size_t(src)])
          ASSERT_TRUE(got.count(x)) << "dst " << dst << " misses block " << x;
      }
    }
  std::string problem = deliver(plan, plan.rounds);
  ASSERT_EQ(problem, "") << scheduleName(plan.schedule);
  // Volumes.
  const int64_t blocks = (n + b - 1) / b;
  Volume total;
  for (int r = 0; r < plan.ranks; ++r) {
    const Volume &v = plan.volume[size_t(r)];
    int64_t got = 0;
    for (const Round &round : plan.rounds)
      for (const Message &m : round.messages)
        if (m.dst == r)
          got += countBlocks(m.keys, b);
    std::set<int64_t> need;
    for (int src = 0; src < plan.ranks; ++src)
      for (int64_t x : blocksOf(positions(plan.needs[size_t(r)][size_t(src)]), b))
        need.insert(x);
    EXPECT_EQ(v.received, got);
    EXPECT_EQ(v.needed, int64_t(need.size()));
    EXPECT_GE(v.received, v.needed);
    EXPECT_EQ(v.allGather, blocks - int64_t(blocksOf(positions(plan.shards[size_t(r)]), b).size()));
    if (o.sharding == Sharding::contiguous) {
      EXPECT_GE(v.ring, plan.shards[size_t(r)][0].begin / b); // the causal ring, or more
    }
    total.needed += v.needed, total.received += v.received;
  }
  EXPECT_EQ(total.needed, plan.total.needed);
  EXPECT_EQ(total.received, plan.total.received);
  if (plan.schedule == Schedule::doubling) {
    EXPECT_LE(int64_t(1) << (plan.rounds.size() - 1), std::max(1, plan.ranks - 1));
    for (const Round &round : plan.rounds)
      EXPECT_EQ(round.offset & (round.offset - 1), 0);
  }
  if (plan.schedule == Schedule::direct) {
    EXPECT_EQ(plan.total.received, plan.total.needed); // nothing relayed
  }
}
} // namespace

TEST(ExchangePlan, NeedsEqualBruteForceAndSchedulesDeliver) {
  int64_t remote = 0, runs = 0;
  for (bool predicates : {false, true}) {
    test::RandomPattern gen(predicates ? 22 : 21, predicates);
    for (int iter = 0; iter < 150; ++iter) {
      mask::Pattern p = gen.next();
      ExchangeOptions o;
      o.seqLen = gen.uniform(1, 260);
      o.block = gen.uniform(0, 3) ? 0 : gen.uniform(1, 20);
      const int64_t blocks = (o.seqLen + (o.block ? o.block : p.blockK) - 1) / (o.block ? o.block : p.blockK);
      o.sharding = gen.uniform(0, 1) && blocks >= 2 ? Sharding::zigzag : Sharding::contiguous;
      const int64_t most = o.sharding == Sharding::zigzag ? blocks / 2 : blocks;
      o.ranks = int(gen.uniform(1, std::min<int64_t>(9, most)));
      for (Schedule s : {Schedule::automatic, Schedule::direct, Schedule::doubling, Schedule::ring}) {
        o.schedule = s;
        SCOPED_TRACE(testing::Message() << "iter " << iter << " n " << o.seqLen << " P " << o.ranks
                                        << " " << shardingName(o.sharding) << " "
                                        << scheduleName(s) << " block " << o.block);
        checkPlan(p, o, !predicates);
        if (testing::Test::HasFatalFailure())
          return;
        ExchangePlan plan;
        ASSERT_TRUE(planExchange(p, o, plan));
        remote += plan.total.needed;
        ++runs;
      }
    }
  }
  EXPECT_GT(remote, runs) << "the random plans need almost nothing remote: the test is vacuous";
}

TEST(ExchangePlan, PowerAttentionMatchesIssue14) {
  mlir::MLIRContext ctx;
  mask::Pattern pa = test::importPattern(ctx, R"({"builtin": "power_attention"})");
  ExchangeOptions o;
  o.seqLen = 131072, o.ranks = 8;
  ExchangePlan plan;
  ASSERT_TRUE(planExchange(pa, o, plan));
  std::vector<int64_t> needed;
  for (const Volume &v : plan.volume)
    needed.push_back(v.needed);
  EXPECT_EQ(needed, (std::vector<int64_t>{0, 64, 128, 129, 192, 193, 193, 193}));
  EXPECT_EQ(plan.volume[7].ring, 448);
  EXPECT_EQ(plan.total.needed, 1092);
  EXPECT_EQ(plan.total.ring, 1792);
  EXPECT_EQ(plan.total.allGather, 3584);
  // Send to r + 2^j, receive from r - 2^j, nothing relayed that is not needed.
  EXPECT_EQ(plan.schedule, Schedule::doubling);
  ASSERT_EQ(plan.rounds.size(), 3u);
  for (int j = 0; j < 3; ++j)
    EXPECT_EQ(plan.rounds[size_t(j)].offset, 1 << j);
  EXPECT_EQ(plan.total.received, 1092);
  EXPECT_EQ(plan.directRounds, 7); // the sink block alone, from rank 0 to every rank

  o.seqLen = 1 << 20, o.ranks = 64;
  ASSERT_TRUE(planExchange(pa, o, plan));
  EXPECT_EQ(plan.total.needed, 20601);
  EXPECT_EQ(plan.total.received, 20601);
  EXPECT_EQ(plan.total.ring, 129024);
  EXPECT_EQ(plan.total.allGather, 64 * 63 * 64);
  EXPECT_EQ(plan.schedule, Schedule::doubling);
  EXPECT_EQ(plan.rounds.size(), 6u);
}

TEST(ExchangePlan, PowerAttentionFindsTheDoublingSchedule) {
  // For every power-of-two rank count and shards of a power of two of
  // blocks, the automatic choice is log2(P) rounds of r -> r + 2^j moving
  // only what the receivers need. (With 5 blocks a rank, say, distances of
  // 16 blocks fall 3.2 shards away and a relay would carry blocks it does
  // not need: then direct wins, docs/context-parallel.md.)
  mlir::MLIRContext ctx;
  mask::Pattern pa = test::importPattern(ctx, R"({"builtin": "power_attention"})");
  for (int p : {2, 4, 8, 16, 32})
    for (int64_t perRank : {1, 2, 4, 8, 16, 64}) {
      ExchangeOptions o;
      o.seqLen = 256 * perRank * p, o.ranks = p;
      ExchangePlan plan;
      ASSERT_TRUE(planExchange(pa, o, plan));
      SCOPED_TRACE(testing::Message() << "P " << p << " blocks/rank " << perRank);
      EXPECT_EQ(plan.schedule, Schedule::doubling);
      EXPECT_EQ(int64_t(1) << plan.rounds.size(), p);
      EXPECT_EQ(plan.total.received, plan.total.needed);
    }
}

TEST(ExchangePlan, Errors) {
  mask::Pattern p;
  mask::Node causal;
  causal.kind = mask::Kind::Causal;
  p.root = p.add(causal);
  ExchangePlan plan;
  ExchangeOptions o;
  o.seqLen = 0;
  EXPECT_EQ(planExchange(p, o, plan).message, "the sequence length must be positive, not 0");
  o.seqLen = 1000, o.ranks = 0;
  EXPECT_EQ(planExchange(p, o, plan).message, "the rank count must be in [1, 65536], not 0");
  o.ranks = 4, o.block = -3;
  EXPECT_EQ(planExchange(p, o, plan).message, "the exchange block must be positive, not -3");
  o.block = 0, o.sharding = Sharding::zigzag;
  EXPECT_EQ(planExchange(p, o, plan).message,
            "4 ranks need at least 8 blocks of 256 tokens for zigzag shards, but 1000 tokens make 4");
  o.sharding = Sharding::contiguous;
  EXPECT_TRUE(planExchange(p, o, plan));
}

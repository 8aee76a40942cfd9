//===- SieveContextParallelTest.cpp - Simulated ranks against one device ===//
//
// P ranks as threads of this process (the in-process transport), each on
// the CPU executor, run the exchange plan's schedule forward and backward;
// their outputs, put back in sequence order, must equal the single-device
// reference (reference::forward and reference::backward) for random
// patterns, lengths, shardings, schedules, GQA and P in {2, 3, 4, 8}. The
// bytes each rank receives are what the plan says. Then the transport's
// failure modes: a size mismatch, a timeout, a failing rank.
//
//===----------------------------------------------------------------------===//

#include "../SieveRandomPattern.h"
#include "parallel/SieveContextParallel.h"
#include "parallel/SieveInProcessTransport.h"
#include "reference/SieveCpuChunks.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sieve;
using namespace sieve::parallel;

namespace {
std::vector<float> randomVector(std::mt19937_64 &rng, size_t n) {
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> v(n);
  for (float &x : v)
    x = dist(rng);
  return v;
}

/// Rank r's rows of a [batch, heads, n, cols] tensor, or (put) back.
void shard(const ExchangePlan &plan, int r, int64_t lines, int64_t cols,
           const std::vector<float> &global, std::vector<float> &local, bool put) {
  const int64_t n = plan.seqLen, m = plan.shardTokens(r);
  if (!put)
    local.assign(size_t(lines * m * cols), 0.f);
  for (int64_t l = 0; l < lines; ++l)
    for (int64_t i = 0; i < m; ++i) {
      const int64_t g = plan.localToGlobal(r, i);
      for (int64_t e = 0; e < cols; ++e) {
        float &loc = local[size_t((l * m + i) * cols + e)];
        const float &glob = global[size_t((l * n + g) * cols + e)];
        if (put)
          const_cast<float &>(glob) = loc;
        else
          loc = glob;
      }
    }
}

double relErr(const std::vector<float> &got, const std::vector<float> &want) {
  double num = 0, den = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    num = std::max(num, double(std::abs(got[i] - want[i])));
    den = std::max(den, double(std::abs(want[i])));
  }
  return num / std::max(den, 1e-30);
}

struct Inputs {
  AttentionShape shape;
  int64_t n = 0;
  std::vector<float> q, k, v, dO;
};

/// Runs every rank of `plan` forward then backward; outputs in sequence
/// order. Returns the group's status.
Status runRanks(const mask::Pattern &pattern, const ExchangePlan &plan, const Inputs &in,
                std::vector<float> &o, std::vector<float> &lse, std::vector<float> &dq,
                std::vector<float> &dk, std::vector<float> &dv, std::vector<RankStats> &stats) {
  const AttentionShape &s = in.shape;
  const int64_t qLines = s.batch * s.heads, kLines = s.batch * s.kvHeads, d = s.headDim;
  o.assign(in.q.size(), NAN), lse.assign(size_t(qLines * in.n), NAN);
  dq.assign(in.q.size(), NAN), dk.assign(in.k.size(), NAN), dv.assign(in.k.size(), NAN);
  stats.assign(size_t(plan.ranks), {});
  std::vector<std::vector<float>> lo(size_t(plan.ranks)), llse(lo.size()), ldq(lo.size()),
      ldk(lo.size()), ldv(lo.size());
  InProcessGroup group(plan.ranks, std::chrono::seconds(60));
  Status st = group.run([&](Transport &t) -> Status {
    const int r = t.rank();
    const int64_t m = plan.shardTokens(r);
    std::vector<float> q, k, v, dO;
    shard(plan, r, qLines, d, in.q, q, false);
    shard(plan, r, kLines, d, in.k, k, false);
    shard(plan, r, kLines, d, in.v, v, false);
    shard(plan, r, qLines, d, in.dO, dO, false);
    auto &ro = lo[size_t(r)], &rl = llse[size_t(r)];
    ro.assign(q.size(), NAN), rl.assign(size_t(qLines * m), NAN);
    CpuChunkBackend backend(pattern);
    RankStats fwd;
    if (Status s1 = contextParallelForward(plan, s, t, backend, {q.data(), k.data(), v.data(),
                                                                 ro.data(), rl.data()}, &fwd);
        !s1)
      return s1;
    ldq[size_t(r)].assign(q.size(), NAN), ldk[size_t(r)].assign(k.size(), NAN);
    ldv[size_t(r)].assign(k.size(), NAN);
    BackwardTensors bt{q.data(), k.data(), v.data(), ro.data(), dO.data(), rl.data(),
                       ldq[size_t(r)].data(), ldk[size_t(r)].data(), ldv[size_t(r)].data()};
    if (Status s2 = contextParallelBackward(plan, s, t, backend, bt, nullptr); !s2)
      return s2;
    stats[size_t(r)] = fwd;
    return Status::success();
  });
  if (!st)
    return st;
  for (int r = 0; r < plan.ranks; ++r) {
    shard(plan, r, qLines, d, o, lo[size_t(r)], true);
    shard(plan, r, qLines, 1, lse, llse[size_t(r)], true);
    shard(plan, r, qLines, d, dq, ldq[size_t(r)], true);
    shard(plan, r, kLines, d, dk, ldk[size_t(r)], true);
    shard(plan, r, kLines, d, dv, ldv[size_t(r)], true);
  }
  return Status::success();
}
} // namespace

TEST(ContextParallel, SimulatedRanksEqualSingleDevice) {
  test::RandomPattern gen(31);
  std::mt19937_64 rng(5);
  int64_t relayed = 0, remoteRows = 0, iterations = 0;
  for (int ranks : {2, 3, 4, 8})
    for (int iter = 0; iter < 30; ++iter, ++iterations) {
      mask::Pattern pattern = gen.next();
      ExchangeOptions o;
      o.ranks = ranks;
      o.sharding = gen.uniform(0, 1) ? Sharding::zigzag : Sharding::contiguous;
      const Schedule schedules[] = {Schedule::automatic, Schedule::direct, Schedule::doubling,
                                    Schedule::ring};
      o.schedule = schedules[gen.uniform(0, 3)];
      o.block = gen.uniform(1, 8);
      const int64_t pieces = ranks * (o.sharding == Sharding::zigzag ? 2 : 1);
      o.seqLen = gen.uniform(pieces * o.block, std::max<int64_t>(pieces * o.block, 160));
      Inputs in;
      in.n = o.seqLen;
      in.shape.kvHeads = int(gen.uniform(1, 2));
      in.shape.heads = in.shape.kvHeads * int(gen.uniform(1, 2));
      in.shape.batch = int(gen.uniform(1, 2));
      in.shape.headDim = 4;
      const size_t qn = size_t(in.shape.batch * in.shape.heads * in.n * 4);
      const size_t kn = size_t(in.shape.batch * in.shape.kvHeads * in.n * 4);
      in.q = randomVector(rng, qn), in.k = randomVector(rng, kn), in.v = randomVector(rng, kn);
      in.dO = randomVector(rng, qn);
      SCOPED_TRACE(testing::Message() << "P " << ranks << " iter " << iter << " n " << in.n
                                      << " block " << o.block << " " << shardingName(o.sharding)
                                      << " " << scheduleName(o.schedule));
      ExchangePlan plan;
      ASSERT_TRUE(planExchange(pattern, o, plan));
      relayed += plan.total.received - plan.total.needed;

      reference::Problem p;
      p.batch = in.shape.batch, p.heads = in.shape.heads, p.kvHeads = in.shape.kvHeads;
      p.qLen = p.kLen = int(in.n), p.headDim = 4;
      std::vector<float> o1, l1, dq1, dk1, dv1;
      reference::forward(pattern, p, in.q, in.k, in.v, o1, l1);
      reference::backward(pattern, p, in.q, in.k, in.v, o1, l1, in.dO, dq1, dk1, dv1);

      std::vector<float> o2, l2, dq2, dk2, dv2;
      std::vector<RankStats> stats;
      Status st = runRanks(pattern, plan, in, o2, l2, dq2, dk2, dv2, stats);
      ASSERT_TRUE(st) << st.message;
      for (size_t i = 0; i < l1.size(); ++i)
        ASSERT_TRUE(l1[i] == l2[i] || std::abs(l1[i] - l2[i]) < 1e-4) << "lse row " << i;
      EXPECT_LT(relErr(o2, o1), 1e-5);
      EXPECT_LT(relErr(dq2, dq1), 1e-4);
      EXPECT_LT(relErr(dk2, dk1), 1e-4);
      EXPECT_LT(relErr(dv2, dv1), 1e-4);
      // Bytes received: the plan's rows, keys and values, float.
      for (int r = 0; r < ranks; ++r) {
        int64_t rows = 0;
        for (const Round &round : plan.rounds)
          for (const Message &m : round.messages)
            if (m.dst == r)
              rows += m.tokens();
        remoteRows += rows;
        EXPECT_EQ(stats[size_t(r)].receivedBytes,
                  rows * 2 * in.shape.batch * in.shape.kvHeads * 4 * int64_t(sizeof(float)));
      }
      if (HasFailure())
        return;
    }
  EXPECT_GT(relayed, 0) << "no schedule relayed anything: relays went untested";
  EXPECT_GT(remoteRows, 10 * iterations) << "too little was exchanged to mean anything";
}

TEST(InProcessTransport, SizeMismatchTimeoutAndFailingRank) {
  {
    InProcessGroup group(2, std::chrono::seconds(10));
    Status st = group.run([](Transport &t) -> Status {
      std::vector<char> buf(t.rank() == 0 ? 8 : 16);
      TransferOp op{t.rank() == 0 ? TransferOp::send : TransferOp::recv, 1 - t.rank(), buf.data(),
                    buf.size()};
      return t.exchange({op});
    });
    EXPECT_EQ(st.message, "rank 1: waiting for 16 bytes from rank 0 but the message has 8");
  }
  {
    InProcessGroup group(2, std::chrono::milliseconds(50));
    char byte;
    Status st = group.rank(1).exchange({{TransferOp::recv, 0, &byte, 1}});
    EXPECT_EQ(st.message, "timed out after 50 ms: waiting for 1 bytes from rank 0");
  }
  {
    // Rank 0 fails before sending; rank 1 stops waiting (no hang), and the
    // group reports rank 0's own error, not rank 1's abort.
    InProcessGroup group(2, std::chrono::seconds(60));
    Status st = group.run([](Transport &t) -> Status {
      if (t.rank() == 0)
        return Status::error("no memory");
      char byte;
      return t.exchange({{TransferOp::recv, 0, &byte, 1}});
    });
    EXPECT_EQ(st.message, "rank 0: no memory");
  }
  {
    InProcessGroup group(2);
    char byte;
    EXPECT_EQ(group.rank(0).exchange({{TransferOp::send, 2, &byte, 1}}).message,
              "a transfer with peer 2 in a group of 2");
  }
}

TEST(ContextParallel, PlanAndTransportMustAgree) {
  mask::Pattern p;
  mask::Node causal;
  causal.kind = mask::Kind::Causal;
  p.blockQ = p.blockK = 4;
  p.root = p.add(causal);
  ExchangeOptions o;
  o.seqLen = 64, o.ranks = 4;
  ExchangePlan plan;
  ASSERT_TRUE(planExchange(p, o, plan));
  InProcessGroup group(2);
  CpuChunkBackend backend(p);
  std::vector<float> buf(1024);
  ForwardTensors t{buf.data(), buf.data(), buf.data(), buf.data(), buf.data()};
  AttentionShape shape;
  shape.headDim = 4;
  EXPECT_EQ(contextParallelForward(plan, shape, group.rank(0), backend, t).message,
            "the plan is for 4 ranks but the transport has 2");
  InProcessGroup four(4);
  t.lse = nullptr;
  EXPECT_EQ(contextParallelForward(plan, shape, four.rank(1), backend, t).message,
            "a tensor of rank 1 is null");
}

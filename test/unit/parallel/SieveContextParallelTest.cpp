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
#include "SieveParallelTestUtils.h"
#include "parallel/SieveContextParallel.h"
#include "parallel/SieveInProcessTransport.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace sieve;
using namespace sieve::parallel;

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
      test::Distributed run;
      run.n = o.seqLen;
      run.shape.kvHeads = int(gen.uniform(1, 2));
      run.shape.heads = run.shape.kvHeads * int(gen.uniform(1, 2));
      run.shape.batch = int(gen.uniform(1, 2));
      run.shape.headDim = 4;
      run.random(rng);
      SCOPED_TRACE(testing::Message() << "P " << ranks << " iter " << iter << " n " << run.n
                                      << " block " << o.block << " " << shardingName(o.sharding)
                                      << " " << scheduleName(o.schedule));
      ExchangePlan plan;
      ASSERT_TRUE(planExchange(pattern, o, plan));
      relayed += plan.total.received - plan.total.needed;
      run.prepare(ranks);
      InProcessGroup group(ranks, std::chrono::seconds(60));
      Status st = group.run([&](Transport &t) { return run.runRank(pattern, plan, t); });
      ASSERT_TRUE(st) << st.message;
      double oErr, gradErr;
      EXPECT_TRUE(run.compare(pattern, oErr, gradErr)) << "an lse differs";
      EXPECT_LT(oErr, 1e-5);
      EXPECT_LT(gradErr, 1e-4);
      // Bytes received: the plan's rows, keys and values, float.
      for (int r = 0; r < ranks; ++r) {
        int64_t rows = 0;
        for (const Round &round : plan.rounds)
          for (const Message &m : round.messages)
            if (m.dst == r)
              rows += m.tokens();
        remoteRows += rows;
        EXPECT_EQ(run.stats[size_t(r)].receivedBytes,
                  rows * 2 * run.shape.batch * run.shape.kvHeads * 4 * int64_t(sizeof(float)));
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

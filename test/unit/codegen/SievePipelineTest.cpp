//===- SievePipelineTest.cpp - The producer/consumer rings on the host ---===//
//
// codegen/kernels/common/SievePipeline.cuh driven by a model of mbarrier
// semantics (arrival counts, transaction bytes, phase parity) under random
// interleavings of a producer, two consumers and the asynchronous copies:
// the warp-specialised forward's K and V rings, with the consumers of both
// its orders (the default, K(j) then V(j); FlashAttention 3's, V used one
// tile behind K) and the FA3 order's ping-pong turns on named barriers. Every run must finish (no deadlock), each
// consumer must see exactly the walk's tags in order and then END, no copy
// may land in a slot a consumer still holds, and every turn barrier must
// end with as many arrivals as syncs. The producer's tags come from the host walk
// (plan::WalkRules through walk::TileWalk), the code the device walk is
// emitted from. The device barrier policy (SieveMbarrier.cuh) is compiled
// through NVRTC for sm_90a.
//
//===----------------------------------------------------------------------===//

#include "../SieveRandomPattern.h"
#include "codegen/kernels/common/SievePipeline.cuh"
#include "passes/SieveWalk.h"
#include "sieve/Jit.h"

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>

using namespace sieve;
using pipe::u32;

namespace {
/// mbarrier's semantics: a phase completes when its arrivals are all in and
/// its transaction bytes all landed; try_wait(parity) is true once the
/// phase of that parity has completed (a fresh barrier's "previous phase",
/// parity 1, counts as completed).
struct ModelBar {
  struct Handle {
    int count = 0, pending = 0;
    long long tx = 0;
    unsigned phase = 0;
    int violations = 0; ///< Arrivals past the count, bytes past the expected.
  };
  static void complete(Handle &b) {
    if (b.pending == 0 && b.tx == 0)
      ++b.phase, b.pending = b.count;
  }
  static void init(Handle &b, int count) { b = Handle{count, count, 0, 0, 0}; }
  static void arrive(Handle &b) {
    b.violations += b.pending <= 0;
    --b.pending;
    complete(b);
  }
  static void arrive_expect_tx(Handle &b, u32 bytes) {
    b.tx += bytes;
    arrive(b);
  }
  /// The copy's complete_tx.
  static void complete_tx(Handle &b, u32 bytes) {
    b.tx -= bytes;
    b.violations += b.tx < 0;
    complete(b);
  }
  static bool try_wait(Handle &b, u32 parity) { return (b.phase & 1u) != parity; }
};

constexpr int kStages = 2, kConsumers = 2;
using Ring = pipe::Ring<ModelBar, kStages, kConsumers>;
using Pos = pipe::RingPos<kStages>;
constexpr u32 kTileBytes = 16384;

/// One run: the producer publishes `tags` on the K ring and the V ring
/// (K(j), V(j), ..., then END on both); consumer c waits K(j), then V(j - 1),
/// releases both, and on K's END releases its last V and stops (V's END is
/// never waited for). A random action runs each step.
struct RingRun {
  Ring ring[2]; // K, V
  std::vector<u32> tags;
  // Slot contents (the tile a landed copy holds) and who holds each slot.
  int data[2][kStages] = {{-1, -1}, {-1, -1}};
  int holders[2][kStages] = {};
  struct Copy {
    int ring, slot, tile;
  };
  std::vector<Copy> copies; // issued, not landed
  // Producer: op i of the sequence K(0), V(0), K(1), ..., K(END), V(END).
  size_t producerOp = 0;
  Pos producerPos[2];
  bool producerAcquired = false;
  struct Consumer {
    int index = 0;
    Pos pos[2];
    std::vector<u32> seenK, seenV;
    // The kernel's consume_fa3() (SieveFwdSm90Ws.cuh), one action per
    // stage (the default consume() holds less: K(j) is released before it
    // waits for V(j)):
    // 0 (consumer 1, ping-pong) the arrive that lets consumer 0 go first;
    // 1 wait K(j); 2 sync on its turn; 3 its turn came; 4 wait V(j - 1) if
    // one is pending; 5 pass the turn (consumer 1 not after END); 6 release
    // K(j), then V(j - 1); 7 after END: release V(j - 1); 8 done.
    int stage = 1;
    bool pending = false;
    u32 prev = 0, current = 0;
    int awaited = 0; // the turn barrier's generation this consumer waits past
  } consumer[kConsumers];
  /// A named barrier of two warpgroups: a generation completes with two
  /// arrivals (one warpgroup's bar.sync, the other's bar.arrive).
  struct TurnBar {
    int arrived = 0, generation = 0, lastParty = -1, violations = 0;
    void arrive(int party) {
      violations += arrived == 1 && lastParty == party; // one party twice in a generation
      lastParty = party;
      if (++arrived == 2)
        arrived = 0, ++generation;
    }
  } turn[kConsumers];
  bool pingPong = true;
  bool skipLastPass = true; ///< consumer 1 does not pass its turn after END (the kernel's rule)
  /// The default consume() instead: K(j) taken and released, then V(j)
  /// taken and released; END on K ends it (stages 1, 20-22; no turns).
  bool plainOrder = false;
  std::vector<std::string> errors;

  enum class Order { Fa3WithTurns, Fa3, Plain };
  explicit RingRun(std::vector<u32> t, Order order = Order::Fa3WithTurns)
      : tags(std::move(t)), pingPong(order == Order::Fa3WithTurns), plainOrder(order == Order::Plain) {
    for (Ring &r : ring)
      r.init();
    for (int c = 0; c < kConsumers; ++c)
      consumer[c].index = c, consumer[c].stage = pingPong && c == 1 ? 0 : 1;
  }
  size_t producerOps() const { return 2 * tags.size() + 2; }
  /// The producer's next publication: (ring, tag).
  std::pair<int, u32> producerNext() const {
    const size_t i = producerOp / 2;
    return {int(producerOp % 2), i < tags.size() ? tags[i] : pipe::kEndTag};
  }

  bool producerStep(bool act) {
    if (producerOp >= producerOps())
      return false;
    auto [r, tag] = producerNext();
    Pos &pos = producerPos[r];
    if (!producerAcquired) {
      if (!ring[r].try_acquire(pos))
        return false;
      if (act)
        producerAcquired = true;
      return true;
    }
    if (act) {
      const bool end = pipe::is_end(tag);
      ring[r].publish(pos, tag, end ? 0 : kTileBytes);
      if (!end)
        copies.push_back({r, pos.slot, pipe::tag_tile(tag)});
      pos.advance();
      producerAcquired = false;
      ++producerOp;
    }
    return true;
  }

  bool copyStep(size_t i) {
    Copy c = copies[i];
    if (holders[c.ring][c.slot] > 0)
      errors.push_back("a copy landed in a slot a consumer still holds");
    data[c.ring][c.slot] = c.tile;
    ModelBar::complete_tx(ring[c.ring].full[c.slot], kTileBytes);
    copies.erase(copies.begin() + long(i));
    return true;
  }

  /// Takes the slot's tag and checks the data that landed there.
  void take(Consumer &c, int r, u32 tag) {
    const int slot = c.pos[r].slot;
    if (!pipe::is_end(tag) && data[r][slot] != pipe::tag_tile(tag))
      errors.push_back("a consumer read a slot whose copy had not landed or was overwritten");
    (r == 0 ? c.seenK : c.seenV).push_back(tag);
  }
  void release(Consumer &c, int r) {
    --holders[r][c.pos[r].slot];
    ring[r].release(c.pos[r]);
    c.pos[r].advance();
  }

  /// The consumer's next action, if enabled (taken when `act`): the FA3
  /// order (stages 0-8), which holds K(j) while it waits for V(j - 1) (S(j)
  /// issued, then P(j - 1) V(j - 1)), or the default order (stages 1, 20-22);
  /// neither waits for V's END.
  bool consumerStep(Consumer &c, bool act) {
    u32 tag;
    const int me = c.index, other = me ^ 1;
    const bool end = pipe::is_end(c.current);
    switch (c.stage) {
    case 0:
      if (act)
        turn[0].arrive(me), c.stage = 1;
      return true;
    case 1:
      if (!ring[0].try_wait(c.pos[0], tag))
        return false;
      if (act) {
        ++holders[0][c.pos[0].slot];
        take(c, 0, tag);
        c.current = tag;
        c.stage = plainOrder ? (pipe::is_end(tag) ? 8 : 20) : pingPong ? 2 : 4;
      }
      return true;
    case 2:
      if (act)
        c.awaited = turn[me].generation, turn[me].arrive(me), c.stage = 3;
      return true;
    case 3:
      if (turn[me].generation == c.awaited)
        return false;
      if (act)
        c.stage = 4;
      return true;
    case 4:
      if (c.pending && !ring[1].try_wait(c.pos[1], tag))
        return false;
      if (act) {
        if (c.pending) {
          ++holders[1][c.pos[1].slot];
          take(c, 1, tag);
          if (tag != c.prev)
            errors.push_back("V's tag is not the previous K tile's");
        }
        c.stage = 5;
      }
      return true;
    case 5:
      if (act) {
        if (pingPong && !(end && me == 1 && skipLastPass))
          turn[other].arrive(me);
        c.stage = end ? 7 : 6;
      }
      return true;
    case 6:
      if (act) {
        release(c, 0);
        if (c.pending)
          release(c, 1);
        c.pending = true, c.prev = c.current, c.stage = 1;
      }
      return true;
    case 7:
      if (act) {
        if (c.pending)
          release(c, 1);
        c.stage = 8;
      }
      return true;
    case 20: // consume(): S(j) read K(j); release it before waiting for V(j)
      if (act)
        release(c, 0), c.stage = 21;
      return true;
    case 21:
      if (!ring[1].try_wait(c.pos[1], tag))
        return false;
      if (act) {
        ++holders[1][c.pos[1].slot];
        take(c, 1, tag);
        if (tag != c.current)
          errors.push_back("V's tag is not the K tile's");
        c.stage = 22;
      }
      return true;
    case 22: // P V read V(j); then release it
      if (act)
        release(c, 1), c.stage = 1;
      return true;
    default:
      return false;
    }
  }

  /// Runs to the end under random choices; false on a deadlock.
  bool run(std::mt19937 &rng, int maxSteps) {
    for (int step = 0; step < maxSteps; ++step) {
      std::vector<int> enabled; // 0: producer, 1 + c: consumer c, 100 + i: copy i
      if (producerStep(false))
        enabled.push_back(0);
      for (int c = 0; c < kConsumers; ++c)
        if (consumerStep(consumer[c], false))
          enabled.push_back(1 + c);
      for (size_t i = 0; i < copies.size(); ++i)
        enabled.push_back(100 + int(i));
      if (enabled.empty())
        return producerOp == producerOps() &&
               std::all_of(std::begin(consumer), std::end(consumer),
                           [](const Consumer &c) { return c.stage == 8; });
      const int a = enabled[rng() % enabled.size()];
      if (a == 0)
        producerStep(true);
      else if (a < 100)
        consumerStep(consumer[a - 1], true);
      else
        copyStep(size_t(a - 100));
    }
    return false;
  }
};

/// The walk's tags for query tile t of `p` (the host walk the device one is
/// emitted from).
std::vector<u32> walkTags(const mask::Pattern &p, int64_t n, int64_t tile, int64_t t) {
  const int64_t lo = t * tile, hi = std::min(lo + tile, n) - 1;
  plan::WalkRules rules(p, false, plan::walkRows(p, false, lo, hi, n));
  walk::TileWalk<plan::WalkRules> w(rules, 0, tile, n);
  std::vector<u32> tags;
  int k;
  bool full;
  while (w.next(k, full))
    tags.push_back(pipe::make_tag(k, full));
  return tags;
}
} // namespace

TEST(SievePipeline, TagWordsRoundTrip) {
  for (int tile : {0, 1, 12345, 0x7ffffffe})
    for (bool full : {false, true}) {
      const u32 t = pipe::make_tag(tile, full);
      EXPECT_FALSE(pipe::is_end(t));
      EXPECT_EQ(pipe::tag_tile(t), tile);
      EXPECT_EQ(pipe::tag_full(t), full);
    }
  EXPECT_TRUE(pipe::is_end(pipe::kEndTag));
}

TEST(SievePipeline, RandomInterleavingsDeliverTheWalkOnce) {
  test::RandomPattern gen(7, /*predicates=*/false);
  std::mt19937 rng(11);
  int runs = 0, tiles = 0;
  for (int i = 0; i < 300; ++i) {
    mask::Pattern p = gen.next();
    const int64_t n = gen.uniform(1, 400), tile = gen.uniform(8, 64);
    const int64_t t = gen.uniform(0, (n - 1) / tile);
    const std::vector<u32> tags = walkTags(p, n, tile, t);
    for (int rep = 0; rep < 9; ++rep) {
      // Both consumer orders of the kernel, FA3's with and without turns.
      const RingRun::Order order = RingRun::Order(rep % 3);
      const bool pingPong = order == RingRun::Order::Fa3WithTurns;
      RingRun r(tags, order);
      SCOPED_TRACE("pattern " + std::to_string(i) + ", " + std::to_string(tags.size()) +
                   " tiles, interleaving " + std::to_string(rep) + ", order " +
                   std::to_string(rep % 3));
      ASSERT_TRUE(r.run(rng, 100000)) << "deadlock";
      EXPECT_TRUE(r.errors.empty()) << r.errors.front();
      std::vector<u32> want = tags;
      want.push_back(pipe::kEndTag);
      for (const RingRun::Consumer &c : r.consumer) {
        EXPECT_EQ(c.seenK, want);
        EXPECT_EQ(c.seenV, tags); // V's END is published, never waited for
      }
      for (const RingRun::TurnBar &t : r.turn) {
        EXPECT_EQ(t.arrived, 0) << "a turn barrier ends with an unmatched arrival";
        EXPECT_EQ(t.violations, 0);
        EXPECT_EQ(t.generation, pingPong ? int(tags.size()) + 1 : 0)
            << "one turn per tile and one for END";
      }
      for (Ring &ring : r.ring)
        for (int s = 0; s < kStages; ++s) {
          EXPECT_EQ(ring.full[s].violations, 0);
          EXPECT_EQ(ring.empty[s].violations, 0);
        }
      ++runs;
      tiles += int(tags.size());
    }
  }
  EXPECT_EQ(runs, 2700);
  EXPECT_GT(tiles, 2700); // the walks were not all empty
}

TEST(SievePipeline, AWrongArrivalCountIsCaught) {
  // The model is not vacuous: empty barriers that complete on one consumer's
  // release (count 1 for two consumers) let the producer refill a slot the
  // other consumer still reads, or lose a phase and hang.
  std::vector<u32> tags;
  for (int k = 0; k < 12; ++k)
    tags.push_back(pipe::make_tag(k, true));
  std::mt19937 rng(3);
  for (RingRun::Order order : {RingRun::Order::Fa3WithTurns, RingRun::Order::Plain}) {
    int caught = 0;
    for (int rep = 0; rep < 200; ++rep) {
      RingRun r(tags, order);
      for (Ring &ring : r.ring)
        for (int s = 0; s < kStages; ++s)
          ModelBar::init(ring.empty[s], 1);
      const bool finished = r.run(rng, 100000);
      caught += !finished || !r.errors.empty();
    }
    EXPECT_GT(caught, 100) << "order " << int(order);
  }
}

TEST(SievePipeline, AnUnbalancedTurnProtocolIsCaught) {
  // Consumer 1 passing its turn after END too leaves consumer 0's barrier
  // with an arrival no sync matches (a named barrier left mid-generation
  // when the block exits); without the first arrive, consumer 0 never gets
  // its first turn.
  std::vector<u32> tags;
  for (int k = 0; k < 5; ++k)
    tags.push_back(pipe::make_tag(k, k % 2 == 0));
  std::mt19937 rng(5);
  for (int rep = 0; rep < 50; ++rep) {
    RingRun extraPass(tags);
    extraPass.skipLastPass = false;
    ASSERT_TRUE(extraPass.run(rng, 100000));
    EXPECT_EQ(extraPass.turn[0].arrived, 1);

    RingRun noFirstArrive(tags);
    noFirstArrive.consumer[1].stage = 1;
    EXPECT_FALSE(noFirstArrive.run(rng, 100000)) << "consumer 0 got a turn nobody gave";
  }
}

namespace {
std::string readKernelFile(const std::string &relative) {
  std::ifstream in(std::string(SIEVE_KERNEL_DIR) + "/" + relative);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
} // namespace

TEST(SievePipeline, TheMbarrierPolicyCompilesForSm90a) {
  std::string version;
  if (!nvrtcVersion(version))
    GTEST_SKIP() << "no NVRTC";
  // A producer thread and two consumer threads on one ring, as the device
  // code will use it (the debug trap on, so that path compiles too).
  const std::string source = readKernelFile("common/SievePipeline.cuh") +
                             readKernelFile("arch/sm90/SieveMbarrier.cuh") + R"(
using Bar = sieve::dev::sm90::Mbarrier;
using Ring = sieve::pipe::Ring<Bar, 2, 2>;
extern "C" __global__ void ring_test(unsigned *out, int tiles) {
  __shared__ Ring ring;
  if (threadIdx.x == 0) {
    ring.init();
    Bar::fence_init();
  }
  __syncthreads();
  sieve::pipe::RingPos<2> pos;
  if (threadIdx.x == 0) {
    for (int t = 0; t <= tiles; ++t) {
      while (!ring.try_acquire(pos)) {
      }
      ring.publish(pos, t < tiles ? sieve::pipe::make_tag(t, t & 1) : sieve::pipe::kEndTag, 0);
      pos.advance();
    }
  } else if (threadIdx.x < 3) {
    unsigned sum = 0, tag;
    for (;;) {
      Bar::wait(ring.full[pos.slot], pos.phase);
      ring.try_wait(pos, tag);
      ring.release(pos);
      pos.advance();
      if (sieve::pipe::is_end(tag)) break;
      sum += sieve::pipe::tag_tile(tag);
    }
    out[threadIdx.x] = sum;
  }
}
)";
  ASSERT_EQ(source.find("#include"), std::string::npos) << "the kernel library is self-contained";
  for (bool trap : {false, true}) {
    JitOptions options{"sm_90a", {"--ptxas-options=-v"}};
    if (trap)
      options.extraOptions.push_back("-DSIEVE_MBARRIER_TRAP_SPINS=1000000");
    JitResult result;
    Status s = compileCuda(source, "ring_test.cu", options, result);
    ASSERT_TRUE(s) << s.message << "\n" << result.log;
    EXPECT_FALSE(result.cubin.empty());
    EXPECT_NE(result.ptx.find("mbarrier.try_wait.parity"), std::string::npos);
    EXPECT_EQ(result.ptx.find("trap;") != std::string::npos, trap);
  }
}

TEST(SievePipeline, TmaLoadsIntoTheRingCompileForSm90a) {
  std::string version;
  if (!nvrtcVersion(version))
    GTEST_SKIP() << "no NVRTC";
  // The producer's use of a __grid_constant__ tensor map: prefetch, expect
  // the bytes of two boxes (a head-dim-128 K tile of 64 rows), load both
  // column blocks, and a consumer waits on the barrier.
  const std::string source = readKernelFile("arch/sm90/SieveMbarrier.cuh") +
                             readKernelFile("arch/sm90/SieveTma.cuh") + R"(
using Bar = sieve::dev::sm90::Mbarrier;
namespace sm90 = sieve::dev::sm90;
static_assert(sizeof(sm90::TmaDesc) == 128 && alignof(sm90::TmaDesc) == 128, "CUtensorMap");
extern "C" __global__ void tma_test(const __grid_constant__ sm90::TmaDesc k, int row, int head,
                                    unsigned *out) {
  __shared__ __align__(1024) unsigned char tile[2 * 64 * 128];
  __shared__ Bar::Handle full;
  unsigned dst;
  asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(dst) : "l"(tile));
  if (threadIdx.x == 0) {
    Bar::init(full, 1);
    Bar::fence_init();
    sm90::tma_prefetch(k);
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    Bar::arrive_expect_tx(full, 2 * 64 * 128);
    for (int j = 0; j < 2; ++j)
      sm90::tma_load_4d(dst + j * 64 * 128, k, Bar::addr(full), 64 * j, row, head, 0);
  }
  Bar::wait(full, 0);
  out[threadIdx.x] = tile[threadIdx.x];
}
)";
  ASSERT_EQ(source.find("#include"), std::string::npos) << "the kernel library is self-contained";
  JitOptions options{"sm_90a", {"--ptxas-options=-v"}};
  JitResult result;
  Status s = compileCuda(source, "tma_test.cu", options, result);
  ASSERT_TRUE(s) << s.message << "\n" << result.log;
  EXPECT_FALSE(result.cubin.empty());
  EXPECT_NE(result.ptx.find("cp.async.bulk.tensor.4d.shared::cluster.global.tile.mbarrier::complete_tx::bytes"),
            std::string::npos);
  EXPECT_NE(result.ptx.find("prefetch.tensormap"), std::string::npos);
  EXPECT_EQ(result.log.find("warning"), std::string::npos) << result.log;
}

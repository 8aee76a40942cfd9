//===- SieveNcclTransportTest.cpp - NCCL through dlopen, without NCCL ===//
//
// Where NCCL is missing or wrong, the error names the library and dlerror's
// reason (or the missing entry point). Over a fake libnccl (FakeNccl.cpp,
// host memory, threads as ranks) and a fake stream table, the transport's
// own code runs for real: communicators from a unique id and from the
// caller, grouped sends and receives on the side stream, and context
// parallel attention over it equal to the single-device reference.
//
//===----------------------------------------------------------------------===//

#include "SieveParallelTestUtils.h"
#include "parallel/SieveNcclTransport.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <dlfcn.h>
#include <thread>

using namespace sieve;
using namespace sieve::parallel;

namespace {
/// SIEVE_NCCL_LIBRARY for one scope.
struct NcclLibrary {
  explicit NcclLibrary(const char *path) {
    if (path)
      setenv("SIEVE_NCCL_LIBRARY", path, 1);
    else
      unsetenv("SIEVE_NCCL_LIBRARY");
  }
  ~NcclLibrary() { unsetenv("SIEVE_NCCL_LIBRARY"); }
};

int streamsMade = 0, syncs = 0, destroyed = 0;
int fakeStream;
const CudaStreamApi fakeStreams{
    [](void **s, unsigned flags) { return ++streamsMade, *s = &fakeStream, flags == 1 ? 0 : 1; },
    [](void *s) { return ++syncs, s ? 0 : 400; },
    [](void *) { return ++destroyed, 0; }};

/// The fake library's hooks.
template <typename Fn> Fn hook(const char *name) {
  void *h = dlopen(SIEVE_FAKE_NCCL, RTLD_NOW | RTLD_LOCAL);
  return h ? reinterpret_cast<Fn>(dlsym(h, name)) : nullptr;
}
} // namespace

TEST(NcclTransport, MissingLibraryNamesItAndDlerror) {
  NcclUniqueId id;
  {
    NcclLibrary lib("/nonexistent/libnccl.so.2");
    EXPECT_EQ(NcclTransport::uniqueId(id).message,
              "cannot load NCCL from SIEVE_NCCL_LIBRARY='/nonexistent/libnccl.so.2': "
              "/nonexistent/libnccl.so.2: cannot open shared object file: No such file or directory");
  }
  {
    NcclLibrary lib("");
    EXPECT_EQ(NcclTransport::uniqueId(id).message,
              "cannot load NCCL from SIEVE_NCCL_LIBRARY='': an empty path");
  }
  {
    NcclLibrary lib("libm.so.6");
    int version;
    EXPECT_EQ(NcclTransport::version(version).message,
              "the NCCL library 'libm.so.6' lacks ncclGetUniqueId, an entry point sieve needs");
  }
}

TEST(NcclTransport, MissingDefaultLibrary) {
  NcclUniqueId id;
  NcclLibrary lib(nullptr);
  if (void *h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(h);
    GTEST_SKIP() << "libnccl.so.2 is installed here";
  }
  std::unique_ptr<NcclTransport> t;
  Status s = NcclTransport::init(id, 0, 2, {}, t);
  EXPECT_EQ(s.message.rfind("cannot load NCCL (libnccl.so.2): libnccl.so.2: cannot open shared "
                            "object file",
                            0),
            0u)
      << s.message;
  EXPECT_NE(s.message.find("; install NCCL 2 or set SIEVE_NCCL_LIBRARY to its path"),
            std::string::npos)
      << s.message;
  EXPECT_FALSE(t);
}

TEST(NcclTransport, RealLibraryWithoutAGpu) {
  // Where NCCL is installed but no GPU is (this build machine): the real
  // library loads, answers, and NCCL's own error comes back from the
  // communicator's creation.
  NcclLibrary lib(nullptr);
  void *h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
  if (!h)
    GTEST_SKIP() << "no libnccl.so.2 here";
  dlclose(h);
  int version = 0;
  ASSERT_TRUE(NcclTransport::version(version));
  EXPECT_GE(version, 20000);
  NcclUniqueId id;
  ASSERT_TRUE(NcclTransport::uniqueId(id));
  if (void *cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(cuda);
    GTEST_SKIP() << "a CUDA driver is installed here";
  }
  std::unique_ptr<NcclTransport> t;
  Status s = NcclTransport::init(id, 0, 1, {}, t);
  EXPECT_EQ(s.message.rfind("ncclCommInitRank: ", 0), 0u) << s.message;
  EXPECT_FALSE(t);
}

TEST(NcclTransport, NoCudaDriverIsAnError) {
  if (void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL)) {
    dlclose(h);
    GTEST_SKIP() << "a CUDA driver is installed here";
  }
  NcclLibrary lib(SIEVE_FAKE_NCCL);
  setCudaStreamApiForTesting(nullptr);
  NcclUniqueId id;
  ASSERT_TRUE(NcclTransport::uniqueId(id));
  std::unique_ptr<NcclTransport> t;
  const int destroyedBefore = hook<int (*)()>("fakeNcclCommsDestroyed")();
  Status s = NcclTransport::init(id, 0, 1, {}, t);
  EXPECT_EQ(s.message.rfind("no CUDA driver for NCCL's stream (libcuda.so.1: ", 0), 0u) << s.message;
  // The communicator made before the failure is not leaked.
  EXPECT_EQ(hook<int (*)()>("fakeNcclCommsDestroyed")(), destroyedBefore + 1);
}

TEST(NcclTransport, CommunicatorsAndArguments) {
  NcclLibrary lib(SIEVE_FAKE_NCCL);
  setCudaStreamApiForTesting(&fakeStreams);
  int version = 0;
  ASSERT_TRUE(NcclTransport::version(version));
  EXPECT_EQ(version, 29901);
  std::unique_ptr<NcclTransport> t;
  NcclUniqueId id;
  EXPECT_EQ(NcclTransport::init(id, 2, 2, {}, t).message, "rank 2 is not in a group of 2");
  EXPECT_EQ(NcclTransport::fromComm(nullptr, {}, t).message, "the NCCL communicator is null");
  ASSERT_TRUE(NcclTransport::uniqueId(id));
  // The caller's communicator: its stream, and it stays the caller's.
  using Init = int (*)(void **, int, NcclUniqueId, int);
  void *comm = nullptr;
  ASSERT_EQ(hook<Init>("ncclCommInitRank")(&comm, 1, id, 0), 0);
  int userStream;
  const int destroyedBefore = hook<int (*)()>("fakeNcclCommsDestroyed")();
  {
    ASSERT_TRUE(NcclTransport::fromComm(comm, {&userStream}, t));
    EXPECT_EQ(t->rank(), 0);
    EXPECT_EQ(t->size(), 1);
    char out = 'x', in = 0;
    ASSERT_TRUE(t->exchange({{TransferOp::send, 0, &out, 1}, {TransferOp::recv, 0, &in, 1}}));
    EXPECT_EQ(in, 'x');
    EXPECT_EQ(hook<void *(*)()>("fakeNcclLastStream")(), &userStream);
    EXPECT_EQ(t->exchange({{TransferOp::send, 1, &out, 1}}).message,
              "a transfer with peer 1 in a group of 1");
    // A receive of the wrong size: NCCL's error comes back.
    ASSERT_TRUE(t->exchange({{TransferOp::send, 0, &out, 1}}));
    char two[2];
    EXPECT_EQ(t->exchange({{TransferOp::recv, 0, two, 2}}).message,
              "ncclGroupEnd: invalid usage (5)");
    t.reset();
  }
  EXPECT_EQ(hook<int (*)()>("fakeNcclCommsDestroyed")(), destroyedBefore);
  EXPECT_EQ(streamsMade, 0);
}

TEST(NcclTransport, ContextParallelOverNcclEqualsSingleDevice) {
  NcclLibrary lib(SIEVE_FAKE_NCCL);
  setCudaStreamApiForTesting(&fakeStreams);
  // PowerAttention's rules at a small block, over 4 ranks.
  mask::Pattern p;
  p.blockQ = p.blockK = 4;
  auto leaf = [&](mask::Kind kind, int64_t a = 0) {
    mask::Node n;
    n.kind = kind, n.a = a;
    return p.add(n);
  };
  mask::Node u, x;
  u.kind = mask::Kind::Union;
  u.operands = {leaf(mask::Kind::Sink, 1), leaf(mask::Kind::Window, 2), leaf(mask::Kind::PowerOfTwo)};
  x.kind = mask::Kind::Intersect;
  x.operands = {leaf(mask::Kind::Causal), p.add(u)};
  p.root = p.add(x);
  ExchangeOptions o;
  o.seqLen = 4 * 4 * 4 * 2, o.ranks = 4;
  ExchangePlan plan;
  ASSERT_TRUE(planExchange(p, o, plan));
  ASSERT_EQ(plan.schedule, Schedule::doubling);

  test::Distributed run;
  run.n = o.seqLen;
  run.shape.heads = 2, run.shape.headDim = 8;
  std::mt19937_64 rng(9);
  run.random(rng);
  run.prepare(o.ranks);
  NcclUniqueId id;
  ASSERT_TRUE(NcclTransport::uniqueId(id));
  const int groupsBefore = hook<int (*)()>("fakeNcclGroupsEnded")();
  const int madeBefore = streamsMade, destroyedBefore = destroyed;
  std::vector<Status> results(size_t(o.ranks));
  std::vector<std::thread> threads;
  for (int r = 0; r < o.ranks; ++r)
    threads.emplace_back([&, r] {
      std::unique_ptr<NcclTransport> t;
      results[size_t(r)] = NcclTransport::init(id, r, o.ranks, {}, t);
      if (results[size_t(r)])
        results[size_t(r)] = run.runRank(p, plan, *t);
    });
  for (std::thread &t : threads)
    t.join();
  for (const Status &s : results)
    ASSERT_TRUE(s) << s.message;
  double oErr, gradErr;
  EXPECT_TRUE(run.compare(p, oErr, gradErr));
  EXPECT_LT(oErr, 1e-5);
  EXPECT_LT(gradErr, 1e-4);
  // One group per rank and round it takes part in, three times: forward,
  // the backward's keys and values, and its gradients.
  int groups = 0;
  for (const Round &round : plan.rounds)
    for (int r = 0; r < o.ranks; ++r)
      groups += std::any_of(round.messages.begin(), round.messages.end(),
                            [&](const Message &m) { return m.src == r || m.dst == r; });
  EXPECT_EQ(hook<int (*)()>("fakeNcclGroupsEnded")() - groupsBefore, 3 * groups);
  EXPECT_EQ(hook<void *(*)()>("fakeNcclLastStream")(), &fakeStream);
  EXPECT_EQ(streamsMade - madeBefore, o.ranks);
  EXPECT_EQ(destroyed - destroyedBefore, o.ranks);
}

//===- SieveDriverTest.cpp - Launches on the caller's context -------===//
//
// A fake driver table records what the runtime asks of the driver: a kernel
// is loaded and launched in the context current on the calling thread (a
// module per context), device 0's primary context is made current only when
// the thread has none, launch information is read by name, and a module of
// another ABI version is refused. No GPU is needed.
//
//===----------------------------------------------------------------------===//

#include "runtime/SieveDriver.h"
#include "sieve/Attention.h"
#include "sieve/sieve_kernel_abi.h"

#include <gtest/gtest.h>

#include <tuple>

#include <cstring>
#include <map>
#include <string>
#include <vector>

using namespace sieve;
using namespace sieve::driver;

namespace {
/// What the fake driver saw, and what it answers.
struct Fake {
  CUcontext current = nullptr;
  int primaryRetains = 0, setCurrents = 0;
  std::vector<CUcontext> loadsIn;      // context of each cuModuleLoadData
  std::vector<CUfunction> launched;    // function of each launch
  std::map<CUmodule, CUcontext> moduleContext;
  sieve_launch_info info{};
  int nextModule = 1;
  CUcontext primary = reinterpret_cast<CUcontext>(0x900);
  int sharedOptin = 0;               // 0: the attribute query fails
  std::vector<std::string> names;    // entry of each function handle, by index
  std::vector<std::string> launchedNames;
  std::vector<int> launchedShared;   // dynamic shared bytes of each launch
  std::vector<int> launchedThreads;  // block size of each launch
  std::vector<CUstream> launchedOn;  // stream of each launch
  std::vector<std::string> graphCalls;
  int blocksPerSm = 0;               // 0: no occupancy query in the driver
  std::vector<unsigned> launchedGridX; // grid x of each launch
  std::vector<unsigned> launchedGridY; // grid y of each launch
  std::vector<unsigned *> launchedTickets; // a decode launch's params.tickets
};
Fake *fake;

Api fakeApi() {
  Api a{};
  a.ctxGetCurrent = [](CUcontext *c) { return *c = fake->current, 0; };
  a.ctxSetCurrent = [](CUcontext c) { return fake->current = c, ++fake->setCurrents, 0; };
  a.ctxGetDevice = [](CUdevice *d) { return *d = 0, 0; };
  a.deviceGetAttribute = [](int *v, int attribute, CUdevice) {
    if (attribute == CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN && fake->sharedOptin)
      return *v = fake->sharedOptin, 0;
    return attribute == CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT ? (*v = 132, 0) : 1;
  };
  a.ctxPushCurrent = [](CUcontext) { return 0; };
  a.ctxPopCurrent = [](CUcontext *) { return 0; };
  a.deviceGet = [](CUdevice *d, int o) { return *d = o, 0; };
  a.primaryCtxRetain = [](CUcontext *c, CUdevice) { return *c = fake->primary, ++fake->primaryRetains, 0; };
  a.moduleLoadData = [](CUmodule *m, const void *) {
    *m = reinterpret_cast<CUmodule>(uintptr_t(fake->nextModule++) << 8);
    fake->moduleContext[*m] = fake->current;
    fake->loadsIn.push_back(fake->current);
    return 0;
  };
  a.moduleUnload = [](CUmodule) { return 0; };
  a.moduleGetGlobal = [](CUdeviceptr *p, size_t *size, CUmodule, const char *name) {
    if (std::strcmp(name, SIEVE_LAUNCH_SYMBOL) != 0)
      return 500; // CUDA_ERROR_NOT_FOUND
    *p = 0x1234, *size = sizeof(sieve_launch_info);
    return 0;
  };
  a.memcpyDtoH = [](void *dst, CUdeviceptr, size_t n) {
    std::memcpy(dst, &fake->info, n);
    return 0;
  };
  a.moduleGetFunction = [](CUfunction *f, CUmodule m, const char *name) {
    // The entries of the module's operation (sieve_kernel_abi.h).
    const int op = fake->info.operation;
    const std::vector<const char *> entries =
        op == SIEVE_ABI_OP_BACKWARD ? std::vector<const char *>{SIEVE_BWD_PRE_ENTRY, SIEVE_BWD_ENTRY,
                                                                SIEVE_BWD_POST_ENTRY, SIEVE_BWD_DQ_ENTRY}
        : op == SIEVE_ABI_OP_DECODE ? std::vector<const char *>{SIEVE_DECODE_ENTRY, SIEVE_COMBINE_ENTRY}
                                    : std::vector<const char *>{SIEVE_FWD_ENTRY};
    bool known = false;
    for (const char *e : entries)
      known |= std::strcmp(name, e) == 0;
    if (!known)
      return 500;
    fake->names.push_back(name);
    *f = reinterpret_cast<CUfunction>(reinterpret_cast<uintptr_t>(m) + fake->names.size());
    return 0;
  };
  a.funcSetAttribute = [](CUfunction, int attribute, int value) {
    return attribute == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES && value > 0 ? 0 : 1;
  };
  a.launchKernel = [](CUfunction f, unsigned gridX, unsigned gridY, unsigned, unsigned blockX, unsigned,
                      unsigned, unsigned shared, CUstream stream, void **params, void **) {
    if (fake->info.operation == SIEVE_ABI_OP_DECODE && params)
      fake->launchedTickets.push_back(static_cast<sieve_decode_params *>(params[0])->tickets);
    fake->launched.push_back(f);
    fake->launchedGridX.push_back(gridX);
    fake->launchedGridY.push_back(gridY);
    fake->launchedOn.push_back(stream);
    const size_t index = (reinterpret_cast<uintptr_t>(f) & 0xff) - 1;
    fake->launchedNames.push_back(index < fake->names.size() ? fake->names[index] : "?");
    fake->launchedShared.push_back(int(shared));
    fake->launchedThreads.push_back(int(blockX));
    return 0;
  };
  a.getErrorString = [](CUresult, const char **s) { return *s = "fake error", 0; };
  a.occupancyMaxActiveBlocksPerMultiprocessor = [](int *n, CUfunction, int, size_t) {
    return fake->blocksPerSm ? (*n = fake->blocksPerSm, 0) : 1;
  };
  a.streamCreate = [](CUstream *st, unsigned flags) {
    fake->graphCalls.push_back("create " + std::to_string(flags));
    return *st = reinterpret_cast<CUstream>(0x5000), 0;
  };
  a.streamDestroy = [](CUstream) { return fake->graphCalls.push_back("destroy stream"), 0; };
  a.streamBeginCapture = [](CUstream st, int mode) {
    fake->graphCalls.push_back("begin " + std::to_string(reinterpret_cast<uintptr_t>(st)) + " " +
                               std::to_string(mode));
    return 0;
  };
  a.streamEndCapture = [](CUstream, CUgraph *g) {
    fake->graphCalls.push_back("end");
    return *g = reinterpret_cast<CUgraph>(0x6000), 0;
  };
  a.graphInstantiate = [](CUgraphExec *e, CUgraph, unsigned long long) {
    fake->graphCalls.push_back("instantiate");
    return *e = reinterpret_cast<CUgraphExec>(0x7000), 0;
  };
  a.graphLaunch = [](CUgraphExec, CUstream st) {
    fake->graphCalls.push_back("launch " + std::to_string(reinterpret_cast<uintptr_t>(st)));
    return 0;
  };
  a.graphExecDestroy = [](CUgraphExec) { return fake->graphCalls.push_back("destroy exec"), 0; };
  a.graphDestroy = [](CUgraph) { return fake->graphCalls.push_back("destroy graph"), 0; };
  return a;
}

class SieveDriver : public ::testing::Test {
protected:
  Fake state;
  Api api = fakeApi();
  void SetUp() override {
    fake = &state;
    state.info = {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_FORWARD, SIEVE_ABI_KV_DENSE,
                  SIEVE_ABI_BF16, 128, 128, 64, 128, 81920};
    setApiForTesting(&api);
  }
  void TearDown() override { setApiForTesting(nullptr); }
};

const std::vector<char> kCubin = {0x7f, 'E', 'L', 'F', 0, 0, 0, 0};

AttentionArgs args() {
  AttentionArgs a;
  // Fake device addresses, far enough apart not to overlap.
  a.q = reinterpret_cast<void *>(0x1000000), a.k = reinterpret_cast<void *>(0x2000000);
  a.v = reinterpret_cast<void *>(0x3000000), a.o = reinterpret_cast<void *>(0x4000000);
  a.qLen = a.kLen = 300;
  a.setContiguousStrides();
  return a;
}
} // namespace

TEST_F(SieveDriver, LaunchesInTheCallersContext) {
  CUcontext a = reinterpret_cast<CUcontext>(0x100), b = reinterpret_cast<CUcontext>(0x200);
  state.current = a;
  AttentionKernel kernel;
  Status s = AttentionKernel::load(kCubin, kernel);
  ASSERT_TRUE(s) << s.message;
  EXPECT_EQ(kernel.info().tileQ, 128);
  EXPECT_EQ(kernel.info().sharedBytes, 81920);
  ASSERT_TRUE(kernel.launch(args()));
  state.current = b; // another thread's (or torchrun rank's) device
  ASSERT_TRUE(kernel.launch(args()));
  ASSERT_TRUE(kernel.launch(args()));
  state.current = a;
  ASSERT_TRUE(kernel.launch(args()));
  // One module per context, loaded on first use there; each launch used its
  // context's function.
  EXPECT_EQ(state.loadsIn, (std::vector<CUcontext>{a, b}));
  ASSERT_EQ(state.launched.size(), 4u);
  EXPECT_EQ(state.launched[0], state.launched[3]);
  EXPECT_EQ(state.launched[1], state.launched[2]);
  EXPECT_NE(state.launched[0], state.launched[1]);
  // A current context is never replaced.
  EXPECT_EQ(state.primaryRetains, 0);
  EXPECT_EQ(state.setCurrents, 0);
}

TEST_F(SieveDriver, WithoutAContextDeviceZerosPrimaryIsMadeCurrent) {
  AttentionKernel kernel;
  ASSERT_TRUE(AttentionKernel::load(kCubin, kernel));
  EXPECT_EQ(state.primaryRetains, 1);
  EXPECT_EQ(state.current, state.primary);
  state.current = reinterpret_cast<CUcontext>(0x300);
  ASSERT_TRUE(kernel.launch(args()));
  EXPECT_EQ(state.loadsIn.back(), reinterpret_cast<CUcontext>(0x300));
}

TEST_F(SieveDriver, AnotherAbiVersionIsRefused) {
  state.current = reinterpret_cast<CUcontext>(0x100);
  state.info.abi_version = 1;
  AttentionKernel kernel;
  Status s = AttentionKernel::load(kCubin, kernel);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message, "the kernel was built for kernel ABI version 1 but this sieve reads version " +
                           std::to_string(SIEVE_KERNEL_ABI_VERSION) + ": compile it again");
  state.info.abi_version = SIEVE_KERNEL_ABI_VERSION;
  state.info.operation = 7;
  s = AttentionKernel::load(kCubin, kernel);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message, "the module is not a sieve attention kernel");
}

TEST_F(SieveDriver, NotACubinIsRefusedBeforeTheDriver) {
  AttentionKernel kernel;
  Status s = AttentionKernel::load({'n', 'o', 't', ' ', 'e', 'l', 'f'}, kernel);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message, "not a cubin (no ELF header)");
  EXPECT_TRUE(state.loadsIn.empty());
}

TEST_F(SieveDriver, AKernelTooBigForTheDeviceIsNamed) {
  state.sharedOptin = 101376; // sm_86's per-block maximum
  state.info.shared_bytes = 107520;
  AttentionKernel kernel;
  Status s = AttentionKernel::load(kCubin, kernel);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message, "the kernel needs 107520 bytes of shared memory per block but this device "
                       "allows 101376 (head dim 64 needs less)");
  state.info.shared_bytes = 81920;
  EXPECT_TRUE(AttentionKernel::load(kCubin, kernel));
}

namespace {
/// A backward launch of heads / kvHeads over `len` queries and keys, at
/// made-up addresses the fake driver never reads.
BackwardArgs fakeBackwardArgs(int heads, int kvHeads, int len) {
  auto at = [](uintptr_t a) { return reinterpret_cast<void *>(a); };
  BackwardArgs b;
  b.q = at(0x10000000), b.k = at(0x20000000), b.v = at(0x30000000), b.o = at(0x40000000);
  b.dO = at(0x50000000), b.lse = static_cast<const float *>(at(0x60000000));
  b.dq = at(0x70000000), b.dk = at(0x80000000), b.dv = at(0x90000000);
  b.heads = heads, b.kvHeads = kvHeads, b.qLen = b.kLen = len;
  b.setContiguousStrides();
  b.workspace = at(0xa0000000);
  return b;
}
} // namespace

TEST_F(SieveDriver, TheBackwardLaunchesItsEntriesInOrder) {
  state.info = {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_BACKWARD, SIEVE_ABI_KV_DENSE,
                SIEVE_ABI_BF16, 128, 64, 64, 128, 107520, 0, 82944};
  AttentionKernel kernel;
  ASSERT_TRUE(AttentionKernel::load(kCubin, kernel));
  EXPECT_EQ(kernel.info().operation, KernelOperation::Backward);
  EXPECT_EQ(kernel.info().auxSharedBytes, 82944);
  // The forward launch refuses a backward module.
  Status s = kernel.launch(args());
  EXPECT_EQ(s.message, "this is a backward kernel: launch it with launchBackward");

  BackwardArgs b = fakeBackwardArgs(1, 1, 300);
  b.workspaceBytes = backwardWorkspaceBytes(b, kernel.info());
  ASSERT_TRUE(kernel.launchBackward(b));
  EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_BWD_PRE_ENTRY, SIEVE_BWD_ENTRY,
                                                           SIEVE_BWD_POST_ENTRY}));
  EXPECT_EQ(state.launchedShared, (std::vector<int>{0, 107520, 0}));
  state.launchedNames.clear(), state.launchedShared.clear();
  b.deterministic = true;
  ASSERT_TRUE(kernel.launchBackward(b));
  EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_BWD_PRE_ENTRY, SIEVE_BWD_ENTRY,
                                                           SIEVE_BWD_DQ_ENTRY}));
  EXPECT_EQ(state.launchedShared, (std::vector<int>{0, 107520, 82944}));
  EXPECT_EQ(state.launchedThreads, (std::vector<int>{128, 128, 128, 128, 128, 128}));
}

TEST_F(SieveDriver, TheBackwardsSmallEntriesTakeTheirOwnBlockSize) {
  // A module whose main entry has 256 threads and whose pre, post and dq
  // entries have 128 (sieve_launch_info.aux_threads; bwd-sm90-2wg).
  state.info = {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_BACKWARD, SIEVE_ABI_KV_DENSE,
                SIEVE_ABI_BF16, 128, 64, 128, 256, 183296, 0, 82944, 0, 128};
  AttentionKernel kernel;
  ASSERT_TRUE(AttentionKernel::load(kCubin, kernel));
  EXPECT_EQ(kernel.info().auxThreads, 128);
  BackwardArgs b = fakeBackwardArgs(1, 1, 300);
  b.workspaceBytes = backwardWorkspaceBytes(b, kernel.info());
  ASSERT_TRUE(kernel.launchBackward(b));
  b.deterministic = true;
  ASSERT_TRUE(kernel.launchBackward(b));
  EXPECT_EQ(state.launchedThreads, (std::vector<int>{128, 256, 128, 128, 256, 128}));
  // 300 keys are 3 tiles of 128; 300 queries 5 tiles of 64.
  EXPECT_EQ(state.launchedGridX, (std::vector<unsigned>{5, 3, 5, 5, 3, 5}));
}

TEST_F(SieveDriver, AHeadSplitSpreadsAGroupOverCtasAndNamesWhatItCannotDo) {
  // 8 query heads on 2 KV heads (groups of 4), on a module that splits heads
  // (sieve_launch_info.head_split) and on one that does not.
  state.info = {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_BACKWARD, SIEVE_ABI_KV_DENSE,
                SIEVE_ABI_BF16, 128, 64, 128, 256, 183296, 0, 82944, 0, 128, 1};
  AttentionKernel kernel;
  ASSERT_TRUE(AttentionKernel::load(kCubin, kernel));
  EXPECT_TRUE(kernel.info().splitsHeads);
  BackwardArgs b = fakeBackwardArgs(8, 2, 300);
  b.headSplit = 1;
  const size_t plain = backwardWorkspaceBytes(b, kernel.info());
  b.headSplit = 2;
  // fp32 dK and dV for 2 KV heads x 384 padded keys x 128 more.
  EXPECT_EQ(backwardWorkspaceBytes(b, kernel.info()), plain + 2 * 2 * 384 * 128 * 4);
  b.workspaceBytes = plain;
  EXPECT_EQ(kernel.launchBackward(b).message,
            "the workspace has " + std::to_string(plain) + " bytes; this launch needs " +
                std::to_string(plain + 2 * 2 * 384 * 128 * 4));
  b.workspaceBytes = backwardWorkspaceBytes(b, kernel.info());
  ASSERT_TRUE(kernel.launchBackward(b));
  // The main entry's grid y is KV heads x split; pre and post are per head.
  EXPECT_EQ(state.launchedGridX, (std::vector<unsigned>{5, 3, 5}));
  EXPECT_EQ(state.launchedGridY, (std::vector<unsigned>{8, 4, 8}));
  b.headSplit = 3;
  EXPECT_EQ(kernel.launchBackward(b).message,
            "headSplit 3 does not divide the group's 4 query heads per KV head");
  b.headSplit = -1;
  EXPECT_EQ(kernel.launchBackward(b).message,
            "headSplit is -1; it must be 0 (sieve's choice) or at least 1");
  b.headSplit = 2, b.deterministic = true;
  EXPECT_EQ(kernel.launchBackward(b).message,
            "a head split adds dK and dV with atomics: it cannot be deterministic");
  // sieve's choice: one head per CTA up to groups of 16, then two or more;
  // never a split where it cannot (MHA, deterministic, a kernel without it).
  b.headSplit = 0, b.deterministic = false;
  EXPECT_EQ(backwardHeadSplit(b, kernel.info()), 4);
  for (auto [heads, kvHeads, want] : {std::tuple{32, 8, 4}, {32, 1, 16}, {32, 32, 1}, {48, 1, 16},
                                      {32, 2, 16}, {24, 1, 12}}) {
    BackwardArgs g = b;
    g.heads = heads, g.kvHeads = kvHeads;
    EXPECT_EQ(backwardHeadSplit(g, kernel.info()), want) << heads << "/" << kvHeads;
  }
  b.deterministic = true;
  EXPECT_EQ(backwardHeadSplit(b, kernel.info()), 1);
  b.deterministic = false;
  b.qLen = 64, b.kLen = 4096;  // a query chunk against a long cache: no split
  EXPECT_EQ(backwardHeadSplit(b, kernel.info()), 1);
  b.qLen = b.kLen = 300;
  KernelInfo other = kernel.info();
  other.splitsHeads = false;
  b.headSplit = 2;
  EXPECT_EQ(validateBackward(b, other).message,
            "this backward kernel cannot split a KV group's heads (headSplit 2); bwd-sm90-2wg can");
  b.headSplit = 0;
  EXPECT_EQ(backwardHeadSplit(b, other), 1);
}

namespace {
void *at(uintptr_t a) { return reinterpret_cast<void *>(a); }

/// A head-dim-128 decode module (16-row tiles, 64-key tiles, 4 warps, a
/// 32-thread combine) in the fake driver, and a dense launch for it.
DecodeArgs decodeModule(sieve_launch_info &info, int batch, int heads, int kvHeads, int qLen,
                        int kLen) {
  info = {SIEVE_KERNEL_ABI_VERSION, SIEVE_ABI_OP_DECODE, SIEVE_ABI_KV_DENSE,
          SIEVE_ABI_BF16, 128, 16, 64, 128, 102400, 32, 0};
  DecodeArgs d;
  d.q = at(0x100000000), d.k = at(0x200000000), d.v = at(0x300000000), d.o = at(0x400000000);
  d.batch = batch, d.heads = heads, d.kvHeads = kvHeads, d.qLen = qLen, d.kLen = kLen;
  d.setContiguousStrides();
  return d;
}
} // namespace

TEST_F(SieveDriver, DecodeSplitsFillOneWaveOfTheDriversOccupancy) {
  DecodeArgs d = decodeModule(state.info, 1, 32, 32, 1, 131072);
  // 32 CTAs per split on 132 SMs: 2 blocks per SM (the default when the
  // driver cannot say) take 8 splits, 1 block 4, 3 blocks 12.
  for (auto [perSm, want] : {std::pair{0, 8}, {1, 4}, {3, 12}}) {
    state.blocksPerSm = perSm;
    AttentionKernel kernel;
    ASSERT_TRUE(AttentionKernel::load(kCubin, kernel));
    int splits = 0;
    size_t bytes = 0;
    ASSERT_TRUE(kernel.decodeWorkspace(d, splits, bytes));
    EXPECT_EQ(splits, want) << perSm << " blocks per SM";
    d.workspace = at(0x500000000), d.workspaceBytes = bytes;
    state.launchedNames.clear(), state.launchedGridX.clear();
    Status launched = kernel.launchDecode(d);
    ASSERT_TRUE(launched) << launched.message;
    // The decode grid carries the splits; the combine takes a block per cell.
    EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_DECODE_ENTRY, SIEVE_COMBINE_ENTRY}));
    EXPECT_EQ(state.launchedGridX, (std::vector<unsigned>{unsigned(want), 32u}));
  }
}

TEST_F(SieveDriver, TicketsFuseTheCombineIntoTheDecodeLaunch) {
  DecodeArgs d = decodeModule(state.info, 3, 32, 8, 16, 4096);
  d.splits = 5;
  AttentionKernel kernel;
  ASSERT_TRUE(AttentionKernel::load(kCubin, kernel));
  int splits = 0;
  size_t bytes = 0;
  ASSERT_TRUE(kernel.decodeWorkspace(d, splits, bytes));
  d.workspace = at(0x500000000), d.workspaceBytes = bytes;
  // 16 queries x a group of 4 = 64 packed rows: 4 row tiles of 16, for
  // each of 3 sequences and 8 KV heads.
  ASSERT_EQ(decodeTicketCount(d, kernel.info()), 3 * 8 * 4);
  auto launch = [&](uintptr_t tickets, int64_t count) {
    d.tickets = static_cast<uint32_t *>(at(tickets)), d.ticketCount = count;
    state.launchedNames.clear(), state.launchedTickets.clear();
    return kernel.launchDecode(d);
  };
  // Auto: 16 rows per tile are more than the CTA's 4 warps, so the combine
  // kernel runs although tickets are given.
  ASSERT_TRUE(launch(0x600000000, 96));
  EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_DECODE_ENTRY, SIEVE_COMBINE_ENTRY}));
  EXPECT_EQ(state.launchedTickets[0], nullptr);
  d.combine = DecodeArgs::Combine::Fused;
  Status s = launch(0x600000000, 96);
  ASSERT_TRUE(s) << s.message;
  EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_DECODE_ENTRY}));
  EXPECT_EQ(state.launchedTickets, (std::vector<unsigned *>{static_cast<unsigned *>(at(0x600000000))}));
  // Without tickets (and not forced): the combine kernel, and the decode
  // kernel sees none.
  d.combine = DecodeArgs::Combine::Auto;
  ASSERT_TRUE(launch(0, 0));
  EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_DECODE_ENTRY, SIEVE_COMBINE_ENTRY}));
  EXPECT_EQ(state.launchedTickets[0], nullptr);
  // Bad tickets are errors before anything launches.
  d.combine = DecodeArgs::Combine::Fused;
  EXPECT_EQ(launch(0x600000000, 95).message,
            "tickets has 95 counters; the fused combine needs 96 (decodeTicketCount: batch x kv "
            "heads x row tiles)");
  EXPECT_EQ(launch(0x600000002, 96).message, "tickets is not 4-byte aligned");
  EXPECT_EQ(launch(0x500000000 + 64, 96).message, "tickets shares memory with the workspace");
  EXPECT_EQ(launch(0x100000000 + 4096, 96).message, "tickets shares memory with q");
  EXPECT_EQ(launch(0, 0).message,
            "the fused combine needs tickets (decodeTicketCount counters, zeroed once)");
  EXPECT_TRUE(state.launchedNames.empty());
  // Auto with one query: 4 rows per tile, one per warp, so it fuses; Kernel
  // never does.
  d.qLen = 1, d.combine = DecodeArgs::Combine::Auto;
  ASSERT_TRUE(kernel.decodeWorkspace(d, splits, bytes));
  d.workspaceBytes = bytes;
  ASSERT_TRUE(launch(0x600000000, decodeTicketCount(d, kernel.info())));
  EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_DECODE_ENTRY}));
  d.combine = DecodeArgs::Combine::Kernel;
  ASSERT_TRUE(launch(0x600000000, decodeTicketCount(d, kernel.info())));
  EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_DECODE_ENTRY, SIEVE_COMBINE_ENTRY}));
  EXPECT_EQ(state.launchedTickets[0], nullptr);
  // One split writes o itself: tickets are not used (nor checked).
  d.splits = 1, d.workspace = nullptr, d.workspaceBytes = 0;
  ASSERT_TRUE(launch(0x600000002, 0));
  EXPECT_EQ(state.launchedNames, (std::vector<std::string>{SIEVE_DECODE_ENTRY}));
  EXPECT_EQ(state.launchedTickets[0], nullptr);
}

TEST_F(SieveDriver, AGraphCapturesLaunchesOnItsOwnStream) {
  AttentionKernel kernel;
  ASSERT_TRUE(AttentionKernel::load(kCubin, kernel));
  {
    DeviceGraph graph;
    ASSERT_TRUE(DeviceGraph::capture([&](void *stream) { return kernel.launch(args(), stream); },
                                     graph));
    EXPECT_EQ(graph.stream(), reinterpret_cast<void *>(0x5000));
    // The launch went to the capturing stream (0x5000 = 20480), never the default.
    ASSERT_EQ(state.launchedOn.size(), 1u);
    EXPECT_EQ(state.launchedOn[0], reinterpret_cast<CUstream>(0x5000));
    ASSERT_TRUE(graph.launch());
    EXPECT_EQ(state.graphCalls, (std::vector<std::string>{"create 1", "begin 20480 1", "end",
                                                          "instantiate", "launch 20480"}));
  }
  // Destroyed with the graph: the exec, the graph, the stream.
  EXPECT_EQ(std::vector<std::string>(state.graphCalls.end() - 3, state.graphCalls.end()),
            (std::vector<std::string>{"destroy exec", "destroy graph", "destroy stream"}));
}

TEST_F(SieveDriver, AFailedCaptureEndsTheCaptureAndSaysWhy) {
  DeviceGraph graph;
  Status s = DeviceGraph::capture([](void *) { return Status::error("the launch was refused"); },
                                  graph);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.message, "the launch was refused");
  EXPECT_EQ(state.graphCalls, (std::vector<std::string>{"create 1", "begin 20480 1", "end",
                                                        "destroy graph", "destroy stream"}));
  EXPECT_EQ(graph.launch().message, "the graph was not captured");
  api.graphLaunch = nullptr; // a driver without graphs
  s = DeviceGraph::capture([](void *) { return Status::success(); }, graph);
  EXPECT_NE(s.message.find("this CUDA driver has no graph capture"), std::string::npos) << s.message;
}

TEST_F(SieveDriver, TimedCallsFlushL2BeforeEachAndWaitOnce) {
  // The order on the stream, per call: the flush, the start event, the call,
  // the stop event; one wait at the end; each call's time from its own pair.
  static std::vector<std::string> calls;
  static float nextMs;
  calls.clear(), nextMs = 1.f;
  api.memAlloc = [](CUdeviceptr *p, size_t n) {
    calls.push_back("alloc " + std::to_string(n));
    return *p = 0x8000, 0;
  };
  api.memFree = [](CUdeviceptr) { return calls.push_back("free"), 0; };
  api.memsetD32Async = [](CUdeviceptr p, unsigned, size_t words, CUstream st) {
    calls.push_back("flush " + std::to_string(words) + " on " +
                    std::to_string(reinterpret_cast<uintptr_t>(st)));
    return p == 0x8000 ? 0 : 1;
  };
  static int events;
  events = 0;
  api.eventCreate = [](CUevent *e, unsigned) {
    return *e = reinterpret_cast<CUevent>(uintptr_t(++events)), 0;
  };
  api.eventRecord = [](CUevent e, CUstream) {
    calls.push_back("record " + std::to_string(reinterpret_cast<uintptr_t>(e)));
    return 0;
  };
  api.eventSynchronize = [](CUevent) { return calls.push_back("wait"), 0; };
  api.eventElapsedTime = [](float *ms, CUevent, CUevent) { return *ms = nextMs++, 0; };
  api.eventDestroy = [](CUevent) { return 0; };
  api.ctxSynchronize = [] { return calls.push_back("sync"), 0; };
  std::vector<float> ms;
  void *stream = reinterpret_cast<void *>(0x5000);
  ASSERT_TRUE(timeCallsOnStream(
      stream, [] { return calls.push_back("call"), Status::success(); }, 2, 1024, ms));
  EXPECT_EQ(calls, (std::vector<std::string>{"alloc 1024", "flush 256 on 20480", "record 1", "call",
                                             "record 2", "flush 256 on 20480", "record 3", "call",
                                             "record 4", "wait", "sync", "free"}));
  EXPECT_EQ(ms, (std::vector<float>{1.f, 2.f}));

  // A failing call stops the timing, frees the buffer and says why.
  calls.clear();
  Status s = timeCallsOnStream(stream, [] { return Status::error("launch refused"); }, 3, 64, ms);
  EXPECT_EQ(s.message, "launch refused");
  EXPECT_TRUE(ms.empty());
  EXPECT_EQ(calls.back(), "free");
  // No flush without the driver's memset; no timing of zero calls.
  api.memsetD32Async = nullptr;
  s = timeCallsOnStream(stream, [] { return Status::success(); }, 1, 64, ms);
  EXPECT_NE(s.message.find("no cuMemsetD32Async"), std::string::npos) << s.message;
  EXPECT_TRUE(timeCallsOnStream(stream, [] { return Status::success(); }, 1, 0, ms));
  EXPECT_EQ(ms.size(), 1u);
  s = timeCallsOnStream(stream, [] { return Status::success(); }, 0, 0, ms);
  EXPECT_NE(s.message.find("at least 1"), std::string::npos) << s.message;
}

TEST_F(SieveDriver, ATmaKernelGetsItsTensorMapsAfterTheParams) {
  // A forward module that asks for 3 tensor maps (sieve_launch_info.tensor_maps):
  // each launch encodes q, k and v (boxes of tile_q and tile_k rows) and
  // passes them after the params; a stride TMA cannot take is a named
  // error before any launch.
  state.info.tile_q = 128, state.info.tile_k = 128, state.info.tensor_maps = 3;
  static std::vector<std::vector<unsigned long long>> dims;
  static std::vector<unsigned> boxRows;
  static std::vector<void *> maps;
  dims.clear(), boxRows.clear(), maps.clear();
  api.tensorMapEncodeTiled = [](void *map, int, unsigned rank, void *, const unsigned long long *d,
                                const unsigned long long *, const unsigned *box, const unsigned *,
                                int, int, int, int) {
    dims.emplace_back(d, d + rank), boxRows.push_back(box[1]), maps.push_back(map);
    return 0;
  };
  static std::vector<void *> passed;
  passed.clear();
  api.launchKernel = [](CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                        unsigned, CUstream, void **params, void **) {
    passed.assign(params + 1, params + 4);
    return 0;
  };
  AttentionKernel kernel;
  ASSERT_TRUE(AttentionKernel::load(kCubin, kernel));
  EXPECT_EQ(kernel.info().tensorMaps, 3);
  AttentionArgs a = args();
  a.batch = 2, a.heads = 8, a.kvHeads = 2, a.qLen = 100, a.kLen = 300;
  a.setContiguousStrides();
  ASSERT_TRUE(kernel.launch(a));
  EXPECT_EQ(dims, (std::vector<std::vector<unsigned long long>>{
                      {128, 100, 8, 2}, {128, 300, 2, 2}, {128, 300, 2, 2}}));
  EXPECT_EQ(boxRows, (std::vector<unsigned>{128, 128, 128}));
  EXPECT_EQ(passed, maps) << "the launch passes the maps it encoded, in order q, k, v";

  // The driver's refusal names the operand, and nothing is launched.
  api.tensorMapEncodeTiled = [](void *, int, unsigned, void *, const unsigned long long *,
                                const unsigned long long *, const unsigned *, const unsigned *, int,
                                int, int, int) { return 1; };
  passed.clear();
  Status s = kernel.launch(a);
  EXPECT_EQ(s.message, "q: cuTensorMapEncodeTiled: fake error (1)");
  EXPECT_TRUE(passed.empty());

  // A module asking for another count is refused at load.
  state.info.tensor_maps = 2;
  AttentionKernel other;
  s = AttentionKernel::load(kCubin, other);
  EXPECT_NE(s.message.find("asks for 2 tensor maps"), std::string::npos) << s.message;
}

//===- SieveDriver.cpp - The CUDA driver through dlopen ---------*- C++ -*-===//
//
// Every call works in the context current on the calling thread, so a
// process that drives one GPU per thread or per process (torchrun with
// set_device) launches where it expects; modules are loaded per context by
// AttentionKernel.
//
//===----------------------------------------------------------------------===//

#include "SieveDriver.h"
#include "SieveTensorMap.h"
#include "sieve/Attention.h"

#include <atomic>
#include <dlfcn.h>
#include <mutex>

using namespace sieve;
using namespace sieve::driver;

namespace {
template <typename Fn> bool bind(void *h, const char *name, Fn &fn) {
  fn = reinterpret_cast<Fn>(dlsym(h, name));
  return fn != nullptr;
}

struct Loaded {
  Api api{};
  Status status;
};

const Loaded &loaded() {
  static Loaded l;
  static std::once_flag once;
  std::call_once(once, [] {
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      l.status = Status::error("no CUDA driver (libcuda.so.1 could not be loaded): "
                               "this machine cannot run kernels");
      return;
    }
    Api &a = l.api;
    bool ok = bind(h, "cuInit", a.init) && bind(h, "cuDeviceGet", a.deviceGet) &&
              bind(h, "cuDeviceGetAttribute", a.deviceGetAttribute) &&
              bind(h, "cuDeviceGetName", a.deviceGetName) &&
              bind(h, "cuDevicePrimaryCtxRetain", a.primaryCtxRetain) &&
              bind(h, "cuCtxGetCurrent", a.ctxGetCurrent) &&
              bind(h, "cuCtxSetCurrent", a.ctxSetCurrent) &&
              bind(h, "cuCtxGetDevice", a.ctxGetDevice) &&
              bind(h, "cuCtxPushCurrent_v2", a.ctxPushCurrent) &&
              bind(h, "cuCtxPopCurrent_v2", a.ctxPopCurrent) &&
              bind(h, "cuCtxSynchronize", a.ctxSynchronize) &&
              bind(h, "cuModuleLoadData", a.moduleLoadData) &&
              bind(h, "cuModuleUnload", a.moduleUnload) &&
              bind(h, "cuModuleGetFunction", a.moduleGetFunction) &&
              bind(h, "cuModuleGetGlobal_v2", a.moduleGetGlobal) &&
              bind(h, "cuFuncSetAttribute", a.funcSetAttribute) &&
              bind(h, "cuLaunchKernel", a.launchKernel) &&
              bind(h, "cuGetErrorString", a.getErrorString) &&
              bind(h, "cuMemAlloc_v2", a.memAlloc) && bind(h, "cuMemFree_v2", a.memFree) &&
              bind(h, "cuMemcpyHtoD_v2", a.memcpyHtoD) &&
              bind(h, "cuMemcpyDtoH_v2", a.memcpyDtoH) &&
              bind(h, "cuEventCreate", a.eventCreate) &&
              bind(h, "cuEventRecord", a.eventRecord) &&
              bind(h, "cuEventSynchronize", a.eventSynchronize) &&
              bind(h, "cuEventElapsedTime", a.eventElapsedTime) &&
              bind(h, "cuEventDestroy_v2", a.eventDestroy);
    if (!ok) {
      l.status = Status::error("the CUDA driver lacks an entry point sieve needs");
      return;
    }
    (void)bind(h, "cuMemsetD32Async", a.memsetD32Async);  // optional: the timing's flush
    (void)bind(h, "cuOccupancyMaxActiveBlocksPerMultiprocessor",
               a.occupancyMaxActiveBlocksPerMultiprocessor);  // optional: decode's splits
    (void)bind(h, "cuTensorMapEncodeTiled", a.tensorMapEncodeTiled);  // optional: TMA
    // Graph capture is optional (DeviceGraph says so when it is missing).
    (void)(bind(h, "cuStreamCreate", a.streamCreate) && bind(h, "cuStreamDestroy_v2", a.streamDestroy) &&
        bind(h, "cuStreamBeginCapture_v2", a.streamBeginCapture) &&
        bind(h, "cuStreamEndCapture", a.streamEndCapture) &&
        bind(h, "cuGraphInstantiateWithFlags", a.graphInstantiate) &&
        bind(h, "cuGraphLaunch", a.graphLaunch) &&
        bind(h, "cuGraphExecDestroy", a.graphExecDestroy) &&
        bind(h, "cuGraphDestroy", a.graphDestroy));
    if (Status s = check(a.init(0), "cuInit"); !s)
      l.status = Status::error(s.message + " (no usable GPU?)");
  });
  return l;
}

std::atomic<const Api *> testApi{nullptr};
} // namespace

void driver::setApiForTesting(const Api *api) { testApi = api; }

Status driver::check(CUresult rc, const char *what) {
  if (rc == CUDA_SUCCESS)
    return Status::success();
  const char *text = nullptr;
  const Api *a = testApi.load();
  if (!a && loaded().status)
    a = &loaded().api;
  if (a && a->getErrorString)
    a->getErrorString(rc, &text);
  return Status::error(std::string(what) + ": " + (text ? text : "CUDA error") + " (" +
                       std::to_string(rc) + ")");
}

Status driver::get(const Api *&api) {
  if ((api = testApi.load()))
    return Status::success();
  const Loaded &l = loaded();
  if (!l.status)
    return l.status;
  api = &l.api;
  return Status::success();
}

Status driver::currentContext(const Api *&api, CUcontext &context) {
  if (Status s = get(api); !s)
    return s;
  context = nullptr;
  if (Status s = check(api->ctxGetCurrent(&context), "cuCtxGetCurrent"); !s)
    return s;
  if (context)
    return Status::success();
  CUdevice dev = 0;
  if (Status s = check(api->deviceGet(&dev, 0), "cuDeviceGet"); !s)
    return s;
  if (Status s = check(api->primaryCtxRetain(&context, dev), "cuDevicePrimaryCtxRetain"); !s)
    return s;
  return check(api->ctxSetCurrent(context), "cuCtxSetCurrent");
}

static Status describe(const Api *a, CUdevice dev, DeviceInfo &info) {
  char name[256] = {};
  if (Status s = check(a->deviceGetName(name, sizeof name, dev), "cuDeviceGetName"); !s)
    return s;
  info.name = name;
  info.ordinal = dev;
  for (auto [attribute, value] :
       {std::pair{CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, &info.major},
        std::pair{CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, &info.minor},
        std::pair{CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, &info.multiprocessors}})
    if (Status s = check(a->deviceGetAttribute(value, attribute, dev), "cuDeviceGetAttribute"); !s)
      return s;
  return Status::success();
}

Status sieve::queryDevice(int ordinal, DeviceInfo &info) {
  const Api *a;
  if (Status s = driver::get(a); !s)
    return s;
  CUdevice dev;
  if (Status s = check(a->deviceGet(&dev, ordinal), "cuDeviceGet"); !s)
    return s;
  return describe(a, dev, info);
}

Status sieve::currentDevice(DeviceInfo &info) {
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  CUdevice dev;
  if (Status s = check(a->ctxGetDevice(&dev), "cuCtxGetDevice"); !s)
    return s;
  return describe(a, dev, info);
}

Status sieve::deviceAlloc(size_t bytes, void **ptr) {
  if (!ptr)
    return Status::error("deviceAlloc: ptr is null");
  *ptr = nullptr;
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  CUdeviceptr p = 0;
  Status s = check(a->memAlloc(&p, bytes), "cuMemAlloc");
  *ptr = reinterpret_cast<void *>(p);
  return s;
}

Status sieve::deviceFree(void *ptr) {
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  return check(a->memFree(reinterpret_cast<CUdeviceptr>(ptr)), "cuMemFree");
}

/// The null checks both copy directions make before touching the driver.
static Status checkCopy(const char *name, const void *dst, const void *src, size_t bytes) {
  if (bytes && (!dst || !src))
    return Status::error(std::string(name) + ": " + (dst ? "source" : "destination") + " is null");
  return Status::success();
}

Status sieve::copyToDevice(void *dst, const void *src, size_t bytes) {
  if (Status s = checkCopy("copyToDevice", dst, src, bytes); !s)
    return s;
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  return check(a->memcpyHtoD(reinterpret_cast<CUdeviceptr>(dst), src, bytes), "cuMemcpyHtoD");
}

Status sieve::copyToHost(void *dst, const void *src, size_t bytes) {
  if (Status s = checkCopy("copyToHost", dst, src, bytes); !s)
    return s;
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  return check(a->memcpyDtoH(dst, reinterpret_cast<CUdeviceptr>(src), bytes), "cuMemcpyDtoH");
}

Status sieve::deviceSynchronize() {
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  return check(a->ctxSynchronize(), "cuCtxSynchronize");
}

Status sieve::timeOnDevice(const std::function<Status()> &fn, float &ms) {
  return timeOnStream(nullptr, fn, ms);
}

//===----------------------------------------------------------------------===//
// DeviceGraph
//===----------------------------------------------------------------------===//

struct DeviceGraph::Impl {
  const Api *api = nullptr;
  CUstream stream = nullptr;
  CUgraph graph = nullptr;
  CUgraphExec exec = nullptr;
  ~Impl() {
    if (exec)
      api->graphExecDestroy(exec);
    if (graph)
      api->graphDestroy(graph);
    if (stream)
      api->streamDestroy(stream);
  }
};

DeviceGraph::DeviceGraph() = default;
DeviceGraph::~DeviceGraph() = default;
DeviceGraph::DeviceGraph(DeviceGraph &&) noexcept = default;
DeviceGraph &DeviceGraph::operator=(DeviceGraph &&) noexcept = default;

Status DeviceGraph::capture(const std::function<Status(void *stream)> &fn, DeviceGraph &out) {
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  if (!a->streamCreate || !a->streamDestroy || !a->streamBeginCapture || !a->streamEndCapture ||
      !a->graphInstantiate || !a->graphLaunch || !a->graphExecDestroy || !a->graphDestroy)
    return Status::error("this CUDA driver has no graph capture (cuStreamBeginCapture_v2, "
                         "cuGraphInstantiateWithFlags)");
  auto impl = std::make_unique<Impl>();
  impl->api = a;
  // The legacy default stream cannot be captured: a stream of its own.
  if (Status s = check(a->streamCreate(&impl->stream, CU_STREAM_NON_BLOCKING), "cuStreamCreate"); !s)
    return s;
  if (Status s = check(a->streamBeginCapture(impl->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL),
                       "cuStreamBeginCapture");
      !s)
    return s;
  Status launched = fn(impl->stream);
  // End the capture whatever fn did, so the stream is usable (and freed).
  Status ended = check(a->streamEndCapture(impl->stream, &impl->graph), "cuStreamEndCapture");
  if (!launched)
    return launched;
  if (!ended)
    return ended;
  if (Status s = check(a->graphInstantiate(&impl->exec, impl->graph, 0), "cuGraphInstantiate"); !s)
    return s;
  out.impl = std::move(impl);
  return Status::success();
}

void *DeviceGraph::stream() const { return impl ? impl->stream : nullptr; }

Status DeviceGraph::launch(float *ms) const {
  if (!impl)
    return Status::error("the graph was not captured");
  const Api *a = impl->api;
  auto run = [&] { return check(a->graphLaunch(impl->exec, impl->stream), "cuGraphLaunch"); };
  if (!ms)
    return run();
  return timeOnStream(impl->stream, run, *ms);
}

Status sieve::timeOnStream(void *stream, const std::function<Status()> &fn, float &ms) {
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  CUstream st = static_cast<CUstream>(stream);
  CUevent start = nullptr, stop = nullptr;
  Status s = check(a->eventCreate(&start, 0), "cuEventCreate");
  if (s)
    s = check(a->eventCreate(&stop, 0), "cuEventCreate");
  if (s)
    s = check(a->eventRecord(start, st), "cuEventRecord");
  if (s)
    s = fn();
  if (s)
    s = check(a->eventRecord(stop, st), "cuEventRecord");
  if (s)
    s = check(a->eventSynchronize(stop), "cuEventSynchronize");
  if (s)
    s = check(a->eventElapsedTime(&ms, start, stop), "cuEventElapsedTime");
  if (start)
    a->eventDestroy(start);
  if (stop)
    a->eventDestroy(stop);
  return s;
}

Status sieve::timeCallsOnStream(void *stream, const std::function<Status()> &fn, int n,
                                size_t flushBytes, std::vector<float> &ms) {
  ms.clear();
  if (n < 1)
    return Status::error("timeCallsOnStream: the number of calls must be at least 1 but is " +
                         std::to_string(n));
  const Api *a;
  CUcontext ctx;
  if (Status s = currentContext(a, ctx); !s)
    return s;
  if (flushBytes && !a->memsetD32Async)
    return Status::error("this CUDA driver has no cuMemsetD32Async for the L2 flush");
  CUstream st = static_cast<CUstream>(stream);
  const size_t words = flushBytes / 4;
  CUdeviceptr flush = 0;
  std::vector<CUevent> events(2 * size_t(n), nullptr);
  Status s = words ? check(a->memAlloc(&flush, words * 4), "cuMemAlloc(L2 flush)")
                   : Status::success();
  for (size_t e = 0; s && e < events.size(); ++e)
    s = check(a->eventCreate(&events[e], 0), "cuEventCreate");
  for (int i = 0; s && i < n; ++i) {
    if (words)
      s = check(a->memsetD32Async(flush, unsigned(i), words, st), "cuMemsetD32Async(L2 flush)");
    if (s)
      s = check(a->eventRecord(events[2 * i], st), "cuEventRecord");
    if (s)
      s = fn();
    if (s)
      s = check(a->eventRecord(events[2 * i + 1], st), "cuEventRecord");
  }
  if (s)
    s = check(a->eventSynchronize(events.back()), "cuEventSynchronize");
  for (int i = 0; s && i < n; ++i) {
    float t = 0;
    s = check(a->eventElapsedTime(&t, events[2 * i], events[2 * i + 1]), "cuEventElapsedTime");
    ms.push_back(t);
  }
  for (CUevent e : events)
    if (e)
      a->eventDestroy(e);
  if (flush) {
    // The memsets may still be queued when a call failed: free after them.
    a->ctxSynchronize();
    a->memFree(flush);
  }
  if (!s)
    ms.clear();
  return s;
}

Status driver::encodeTileOperand(const TileOperand &op, TensorMap &out) {
  auto bad = [](const std::string &why) { return Status::error("TMA operand: " + why); };
  if (!op.base)
    return bad("the tensor is null");
  if (reinterpret_cast<uintptr_t>(op.base) % 16 != 0)
    return bad("the tensor is not 16-byte aligned");
  const struct {
    const char *name;
    int64_t value;
  } extents[] = {{"batch", op.batch}, {"heads", op.heads}, {"rows", op.rows}, {"head dim", op.headDim}};
  for (const auto &e : extents)
    if (e.value < 1 || e.value > (int64_t(1) << 32))
      return bad(std::string(e.name) + " must be 1 to 2^32 but is " + std::to_string(e.value));
  if (op.headDim % 64 != 0)
    return bad("head dim must be a multiple of 64 (one 128-byte box column) but is " +
               std::to_string(op.headDim));
  if (op.boxRows < 1 || op.boxRows > 256)
    return bad("box rows must be 1 to 256 but is " + std::to_string(op.boxRows));
  const char *const strideNames[] = {"batch", "head", "row"};
  unsigned long long strides[3]; // bytes, innermost first: row, head, batch
  for (int i = 0; i < 3; ++i) {
    const int64_t bytes = op.stride[i] * 2;
    if (op.stride[i] < 0 || bytes % 16 != 0 || bytes >= (int64_t(1) << 40))
      return bad(std::string("the ") + strideNames[i] + " stride must be a non-negative multiple "
                 "of 8 elements (16 bytes) below 2^40 bytes but is " + std::to_string(op.stride[i]));
    strides[2 - i] = (unsigned long long)bytes;
  }
  const Api *a;
  if (Status s = get(a); !s)
    return s;
  if (!a->tensorMapEncodeTiled)
    return Status::error("this CUDA driver has no cuTensorMapEncodeTiled (TMA needs CUDA 12 or newer)");
  const unsigned long long dims[4] = {(unsigned long long)op.headDim, (unsigned long long)op.rows,
                                      (unsigned long long)op.heads, (unsigned long long)op.batch};
  const unsigned box[4] = {64, unsigned(op.boxRows), 1, 1}, elementStrides[4] = {1, 1, 1, 1};
  return check(a->tensorMapEncodeTiled(
                   out.opaque, op.bf16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16,
                   4, const_cast<void *>(op.base), dims, strides, box, elementStrides,
                   CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                   CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE),
               "cuTensorMapEncodeTiled");
}

//===- SieveDriver.cpp - The CUDA driver through dlopen ---------*- C++ -*-===//
//
// Every call works in the context current on the calling thread, so a
// process that drives one GPU per thread or per process (torchrun with
// set_device) launches where it expects; modules are loaded per context by
// AttentionKernel.
//
//===----------------------------------------------------------------------===//

#include "SieveDriver.h"
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

//===- SieveDriver.h - The CUDA driver through dlopen (private) -*- C++ -*-===//

#ifndef SIEVE_RUNTIME_SIEVEDRIVER_H
#define SIEVE_RUNTIME_SIEVEDRIVER_H

#include "sieve/Jit.h"

#include <cstddef>

namespace sieve::driver {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;
using CUgraph = struct CUgraph_st *;
using CUgraphExec = struct CUgraphExec_st *;

/// The driver's enum values sieve passes (cuda.h's names and numbers).
enum : int {
  CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
  CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97,
};
enum : int { CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8 };
enum : int { CUDA_SUCCESS = 0, CUDA_ERROR_INVALID_CONTEXT = 201 };
enum : unsigned { CU_STREAM_NON_BLOCKING = 1 };
/// Capture mode: only the capturing thread's unsafe calls are refused.
enum : int { CU_STREAM_CAPTURE_MODE_THREAD_LOCAL = 1 };

/// The driver entry points sieve uses, with their documented C signatures.
struct Api {
  CUresult (*init)(unsigned);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetAttribute)(int *, int, CUdevice);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*ctxGetCurrent)(CUcontext *);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*ctxGetDevice)(CUdevice *);
  CUresult (*ctxPushCurrent)(CUcontext);
  CUresult (*ctxPopCurrent)(CUcontext *);
  CUresult (*ctxSynchronize)();
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*moduleGetGlobal)(CUdeviceptr *, size_t *, CUmodule, const char *);
  CUresult (*funcSetAttribute)(CUfunction, int, int);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, CUstream, void **, void **);
  CUresult (*getErrorString)(CUresult, const char **);
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*eventCreate)(CUevent *, unsigned);
  CUresult (*eventRecord)(CUevent, CUstream);
  CUresult (*eventSynchronize)(CUevent);
  CUresult (*eventElapsedTime)(float *, CUevent, CUevent);
  CUresult (*eventDestroy)(CUevent);
  // Optional: timeCallsOnStream's L2 flush.
  CUresult (*memsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  // Optional: how many blocks of a kernel an SM holds (decode's split count).
  CUresult (*occupancyMaxActiveBlocksPerMultiprocessor)(int *, CUfunction, int, size_t);
  // Optional (CUDA 12 and newer): TMA descriptors (SieveTensorMap.h).
  CUresult (*tensorMapEncodeTiled)(void *map, int dataType, unsigned rank, void *address,
                                   const unsigned long long *dims,
                                   const unsigned long long *strides, const unsigned *box,
                                   const unsigned *elementStrides, int interleave, int swizzle,
                                   int l2Promotion, int oobFill);
  // Streams and graphs: DeviceGraph (optional: a driver without them only
  // loses graph capture).
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamBeginCapture)(CUstream, int);
  CUresult (*streamEndCapture)(CUstream, CUgraph *);
  CUresult (*graphInstantiate)(CUgraphExec *, CUgraph, unsigned long long);
  CUresult (*graphLaunch)(CUgraphExec, CUstream);
  CUresult (*graphExecDestroy)(CUgraphExec);
  CUresult (*graphDestroy)(CUgraph);
};

/// Loads libcuda.so.1 and initialises it (once). Fails with a clear message
/// when there is no driver or no device. Touches no context.
Status get(const Api *&api);

/// The context current on the calling thread. When there is none (a
/// program without its own CUDA runtime), device 0's primary context is made
/// current first, which is what cudaSetDevice(0) would do.
Status currentContext(const Api *&api, CUcontext &context);

/// "<what>: <driver's error string> (<code>)" unless rc is success.
Status check(CUresult rc, const char *what);

/// Replaces the driver for tests (null: the real one again). The table must
/// outlive its use.
void setApiForTesting(const Api *api);

} // namespace sieve::driver

#endif // SIEVE_RUNTIME_SIEVEDRIVER_H

//===- SieveNcclTransport.cpp - Ranks on GPUs, over NCCL ------------------===//
//
// Only the NCCL entry points the transport uses, declared with their
// documented C signatures (nccl.h of NCCL 2), so no NCCL header or library
// is needed to build sieve.
//
//===----------------------------------------------------------------------===//

#include "parallel/SieveNcclTransport.h"

#include <atomic>
#include <cstdlib>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <string>

using namespace sieve;
using namespace sieve::parallel;

namespace {
using ncclResult_t = int;
using ncclComm_t = struct ncclComm *;
constexpr ncclResult_t ncclSuccess = 0;
constexpr int ncclUint8 = 1; // ncclDataType_t
constexpr unsigned CU_STREAM_NON_BLOCKING = 1;

struct Nccl {
  void *handle = nullptr;
  std::string path, error;
  ncclResult_t (*getUniqueId)(NcclUniqueId *) = nullptr;
  ncclResult_t (*commInitRank)(ncclComm_t *, int, NcclUniqueId, int) = nullptr;
  ncclResult_t (*commDestroy)(ncclComm_t) = nullptr;
  ncclResult_t (*commCount)(ncclComm_t, int *) = nullptr;
  ncclResult_t (*commUserRank)(ncclComm_t, int *) = nullptr;
  ncclResult_t (*send)(const void *, size_t, int, int, ncclComm_t, void *) = nullptr;
  ncclResult_t (*recv)(void *, size_t, int, int, ncclComm_t, void *) = nullptr;
  ncclResult_t (*groupStart)() = nullptr;
  ncclResult_t (*groupEnd)() = nullptr;
  const char *(*getErrorString)(ncclResult_t) = nullptr;
  ncclResult_t (*getVersion)(int *) = nullptr;
  const char *(*getLastError)(ncclComm_t) = nullptr; ///< NCCL >= 2.13; optional.
};

template <typename Fn> bool bind(void *h, const char *name, Fn &fn) {
  fn = reinterpret_cast<Fn>(dlsym(h, name));
  return fn != nullptr;
}

void loadInto(Nccl &lib, const char *explicitPath) {
  lib.path = explicitPath ? explicitPath : "libnccl.so.2";
  // dlopen("") would return the main program, which has no NCCL.
  if (!lib.path.empty())
    lib.handle = dlopen(lib.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib.handle) {
    const char *why = lib.path.empty() ? "an empty path" : dlerror();
    lib.error = explicitPath
                    ? "cannot load NCCL from SIEVE_NCCL_LIBRARY='" + lib.path + "': " +
                          (why ? why : "unknown error")
                    : "cannot load NCCL (libnccl.so.2): " + std::string(why ? why : "unknown error") +
                          "; install NCCL 2 or set SIEVE_NCCL_LIBRARY to its path";
    return;
  }
  const char *missing = nullptr;
  auto need = [&](const char *name, auto &fn) {
    if (!missing && !bind(lib.handle, name, fn))
      missing = name;
  };
  need("ncclGetUniqueId", lib.getUniqueId);
  need("ncclCommInitRank", lib.commInitRank);
  need("ncclCommDestroy", lib.commDestroy);
  need("ncclCommCount", lib.commCount);
  need("ncclCommUserRank", lib.commUserRank);
  need("ncclSend", lib.send);
  need("ncclRecv", lib.recv);
  need("ncclGroupStart", lib.groupStart);
  need("ncclGroupEnd", lib.groupEnd);
  need("ncclGetErrorString", lib.getErrorString);
  need("ncclGetVersion", lib.getVersion);
  bind(lib.handle, "ncclGetLastError", lib.getLastError);
  if (missing) {
    lib.error = "the NCCL library '" + lib.path + "' lacks " + missing +
                ", an entry point sieve needs";
    lib.handle = nullptr;
  }
}

/// The library SIEVE_NCCL_LIBRARY names now (or libnccl.so.2), loaded once
/// per name, so a program (or a test) that changes the variable gets the
/// library it names.
Status nccl(const Nccl *&out) {
  static std::mutex mutex;
  static std::map<std::string, Nccl> loaded;
  const char *explicitPath = std::getenv("SIEVE_NCCL_LIBRARY");
  const std::string key = explicitPath ? std::string("=") + explicitPath : std::string();
  std::lock_guard<std::mutex> lock(mutex);
  auto [it, inserted] = loaded.try_emplace(key);
  if (inserted)
    loadInto(it->second, explicitPath);
  out = &it->second;
  return out->handle ? Status::success() : Status::error(out->error);
}

Status check(const Nccl &lib, ncclResult_t rc, const char *what, ncclComm_t comm = nullptr) {
  if (rc == ncclSuccess)
    return Status::success();
  std::string m = std::string(what) + ": " + lib.getErrorString(rc) + " (" + std::to_string(rc) + ")";
  // With no communicator (yet), NCCL's last error of the process.
  if (lib.getLastError)
    if (const char *last = lib.getLastError(comm); last && *last)
      m += ": " + std::string(last);
  return Status::error(m);
}

//===--- CUDA streams, from libcuda.so.1 ---------------------------------===//

std::atomic<const CudaStreamApi *> testStreams{nullptr};

Status streams(const CudaStreamApi *&out) {
  if ((out = testStreams.load()))
    return Status::success();
  static CudaStreamApi api{};
  static std::string error;
  static std::once_flag once;
  std::call_once(once, [] {
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
      const char *why = dlerror();
      error = "no CUDA driver for NCCL's stream (libcuda.so.1: " +
              std::string(why ? why : "unknown error") + ")";
      return;
    }
    if (!bind(h, "cuStreamCreate", api.create) ||
        !bind(h, "cuStreamSynchronize", api.synchronize) ||
        !bind(h, "cuStreamDestroy_v2", api.destroy))
      error = "the CUDA driver lacks a stream entry point the NCCL transport needs";
  });
  out = &api;
  return error.empty() ? Status::success() : Status::error(error);
}

Status cudaCheck(int rc, const char *what) {
  return rc == 0 ? Status::success()
                 : Status::error(std::string(what) + " failed (CUDA error " + std::to_string(rc) + ")");
}
} // namespace

void parallel::setCudaStreamApiForTesting(const CudaStreamApi *api) { testStreams = api; }

struct NcclTransport::Impl {
  const Nccl *lib = nullptr;
  const CudaStreamApi *cuda = nullptr;
  ncclComm_t comm = nullptr;
  bool ownsComm = false, ownsStream = false;
  void *stream = nullptr;
  int rank = 0, size = 0;

  ~Impl() {
    if (ownsStream && stream)
      cuda->destroy(stream);
    if (ownsComm && comm && lib)
      lib->commDestroy(comm);
  }
};

NcclTransport::NcclTransport(std::unique_ptr<Impl> impl) : impl(std::move(impl)) {}
NcclTransport::~NcclTransport() = default;

int NcclTransport::rank() const { return impl->rank; }
int NcclTransport::size() const { return impl->size; }

Status NcclTransport::version(int &code) {
  const Nccl *lib;
  if (Status s = nccl(lib); !s)
    return s;
  return check(*lib, lib->getVersion(&code), "ncclGetVersion");
}

Status NcclTransport::uniqueId(NcclUniqueId &id) {
  const Nccl *lib;
  if (Status s = nccl(lib); !s)
    return s;
  return check(*lib, lib->getUniqueId(&id), "ncclGetUniqueId");
}

Status NcclTransport::make(void *comm, bool owned, const NcclOptions &options,
                           std::unique_ptr<NcclTransport> &out) {
  auto impl = std::make_unique<Impl>();
  if (Status s = nccl(impl->lib); !s)
    return s;
  impl->comm = static_cast<ncclComm_t>(comm);
  impl->ownsComm = owned;
  if (Status s = streams(impl->cuda); !s)
    return s;
  if (Status s = check(*impl->lib, impl->lib->commCount(impl->comm, &impl->size), "ncclCommCount"); !s)
    return s;
  if (Status s = check(*impl->lib, impl->lib->commUserRank(impl->comm, &impl->rank),
                       "ncclCommUserRank");
      !s)
    return s;
  impl->stream = options.stream;
  if (!impl->stream) {
    if (Status s = cudaCheck(impl->cuda->create(&impl->stream, CU_STREAM_NON_BLOCKING),
                             "cuStreamCreate");
        !s)
      return s;
    impl->ownsStream = true;
  }
  out.reset(new NcclTransport(std::move(impl)));
  return Status::success();
}

Status NcclTransport::init(const NcclUniqueId &id, int rank, int size, const NcclOptions &options,
                           std::unique_ptr<NcclTransport> &out) {
  if (size < 1 || rank < 0 || rank >= size)
    return Status::error("rank " + std::to_string(rank) + " is not in a group of " +
                         std::to_string(size));
  const Nccl *lib;
  if (Status s = nccl(lib); !s)
    return s;
  ncclComm_t comm = nullptr;
  if (Status s = check(*lib, lib->commInitRank(&comm, size, id, rank), "ncclCommInitRank"); !s)
    return s;
  // make() owns the communicator from here: it is destroyed if make fails.
  return make(comm, true, options, out);
}

Status NcclTransport::fromComm(void *comm, const NcclOptions &options,
                               std::unique_ptr<NcclTransport> &out) {
  if (!comm)
    return Status::error("the NCCL communicator is null");
  return make(comm, false, options, out);
}

Status NcclTransport::exchange(const std::vector<TransferOp> &ops) {
  const Nccl &lib = *impl->lib;
  for (const TransferOp &op : ops)
    if (op.peer < 0 || op.peer >= impl->size || (op.bytes && !op.data))
      return Status::error("a transfer with peer " + std::to_string(op.peer) + " in a group of " +
                           std::to_string(impl->size) + (op.data ? "" : " has no buffer"));
  if (Status s = check(lib, lib.groupStart(), "ncclGroupStart"); !s)
    return s;
  Status posted = Status::success();
  for (const TransferOp &op : ops) {
    if (!op.bytes)
      continue;
    ncclResult_t rc = op.kind == TransferOp::send
                          ? lib.send(op.data, op.bytes, ncclUint8, op.peer, impl->comm, impl->stream)
                          : lib.recv(op.data, op.bytes, ncclUint8, op.peer, impl->comm, impl->stream);
    posted = check(lib, rc, op.kind == TransferOp::send ? "ncclSend" : "ncclRecv", impl->comm);
    if (!posted)
      break;
  }
  // The group is closed whatever happened inside it.
  Status ended = check(lib, lib.groupEnd(), "ncclGroupEnd", impl->comm);
  if (!posted)
    return posted;
  if (!ended)
    return ended;
  return cudaCheck(impl->cuda->synchronize(impl->stream), "cuStreamSynchronize");
}

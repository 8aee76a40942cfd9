//===- SieveNcclTransport.h - Ranks on GPUs, over NCCL ----------*- C++ -*-===//
//
// The transport for ranks on GPUs. NCCL is loaded with dlopen on first use
// (libnccl.so.2, or the library SIEVE_NCCL_LIBRARY names, which is then the
// only one tried), so sieve builds without NCCL and a program reports its
// absence as an error naming the library and dlerror's reason.
//
// A round's sends and receives are posted as ncclSend/ncclRecv of bytes
// (ncclUint8) inside one ncclGroupStart/ncclGroupEnd on a side stream, and
// exchange() returns once that stream has finished them (cuStreamSynchronize
// through libcuda.so.1). Buffers are device memory of the communicator's
// GPU; the calling thread's current CUDA device must be that GPU.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PARALLEL_SIEVENCCLTRANSPORT_H
#define SIEVE_PARALLEL_SIEVENCCLTRANSPORT_H

#include "parallel/SieveTransport.h"

#include <memory>

namespace sieve::parallel {

/// ncclUniqueId: 128 opaque bytes made by one rank and given to all.
struct NcclUniqueId {
  char bytes[128] = {};
};

struct NcclOptions {
  /// The side stream (a CUstream / cudaStream_t) the transfers run on; null:
  /// the transport creates a non-blocking stream of its own.
  void *stream = nullptr;
};

class NcclTransport : public Transport {
public:
  ~NcclTransport() override;

  /// ncclGetUniqueId, on the rank that creates the communicator.
  static Status uniqueId(NcclUniqueId &id);
  /// A communicator of `size` ranks made with ncclCommInitRank; destroyed
  /// with the transport.
  static Status init(const NcclUniqueId &id, int rank, int size, const NcclOptions &options,
                     std::unique_ptr<NcclTransport> &out);
  /// Over the caller's ncclComm_t (torch.distributed's, say), which stays
  /// the caller's: it is not destroyed with the transport.
  static Status fromComm(void *comm, const NcclOptions &options,
                         std::unique_ptr<NcclTransport> &out);
  /// NCCL's version code (ncclGetVersion, e.g. 22105 for 2.21.5).
  static Status version(int &code);

  int rank() const override;
  int size() const override;
  Status exchange(const std::vector<TransferOp> &ops) override;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
  explicit NcclTransport(std::unique_ptr<Impl> impl);
  static Status make(void *comm, bool owned, const NcclOptions &options,
                     std::unique_ptr<NcclTransport> &out);
};

/// The CUDA stream calls the transport makes, replaceable for tests (null:
/// libcuda.so.1's again). The table must outlive its use.
struct CudaStreamApi {
  int (*create)(void **stream, unsigned flags);
  int (*synchronize)(void *stream);
  int (*destroy)(void *stream);
};
void setCudaStreamApiForTesting(const CudaStreamApi *api);

} // namespace sieve::parallel

#endif // SIEVE_PARALLEL_SIEVENCCLTRANSPORT_H

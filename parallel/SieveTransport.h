//===- SieveTransport.h - Moving bytes between ranks ------------*- C++ -*-===//
//
// What the schedule executor needs from a communication library: one call
// that posts a round's sends and receives together and returns when all of
// them are done. Both sides know every size from the plan, so a receive
// names exactly the bytes it expects. Buffers live wherever the transport's
// ranks compute: host memory for the in-process transport, device memory
// for NCCL.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PARALLEL_SIEVETRANSPORT_H
#define SIEVE_PARALLEL_SIEVETRANSPORT_H

#include "sieve/Jit.h"

#include <cstddef>
#include <vector>

namespace sieve::parallel {

struct TransferOp {
  enum Kind { send, recv } kind = send;
  int peer = 0;
  void *data = nullptr; ///< Read by a send, written by a receive.
  size_t bytes = 0;
};

class Transport {
public:
  virtual ~Transport() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  /// Runs `ops` as one group (no op waits for another of the group to
  /// start) and returns when every one has completed.
  virtual Status exchange(const std::vector<TransferOp> &ops) = 0;
};

} // namespace sieve::parallel

#endif // SIEVE_PARALLEL_SIEVETRANSPORT_H

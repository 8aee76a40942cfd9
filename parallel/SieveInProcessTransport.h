//===- SieveInProcessTransport.h - Simulated ranks in one process -*- C++ -*-===//
//
// P ranks as P threads of one process, for tests and for running context
// parallelism on the CPU executor. Sends are buffered (copied into the
// receiver's mailbox), so a round never deadlocks whatever its order;
// messages between two ranks arrive in the order they were sent. A receive
// that waits longer than the group's timeout, or a group another rank has
// aborted, fails with a message instead of hanging.
//
//===----------------------------------------------------------------------===//

#ifndef SIEVE_PARALLEL_SIEVEINPROCESSTRANSPORT_H
#define SIEVE_PARALLEL_SIEVEINPROCESSTRANSPORT_H

#include "parallel/SieveTransport.h"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace sieve::parallel {

class InProcessGroup {
public:
  explicit InProcessGroup(int size,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120));
  ~InProcessGroup();
  InProcessGroup(const InProcessGroup &) = delete;
  InProcessGroup &operator=(const InProcessGroup &) = delete;

  int size() const;
  /// Rank r's end of the group (0 <= r < size()).
  Transport &rank(int r);
  /// Makes every waiting and later receive fail with `reason`.
  void abort(const std::string &reason);

  /// Runs fn(transport) for every rank, each on its own thread, and returns
  /// the first failure by rank ("rank R: ..."); a failing rank aborts the
  /// group so the others stop waiting for it.
  Status run(const std::function<Status(Transport &)> &fn);

  struct State; ///< Opaque: the mailboxes.

private:
  std::unique_ptr<State> state;
};

} // namespace sieve::parallel

#endif // SIEVE_PARALLEL_SIEVEINPROCESSTRANSPORT_H

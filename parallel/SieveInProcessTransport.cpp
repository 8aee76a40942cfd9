//===- SieveInProcessTransport.cpp - Simulated ranks in one process -------===//

#include "parallel/SieveInProcessTransport.h"

#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

using namespace sieve;
using namespace sieve::parallel;

namespace {
class Endpoint;
} // namespace

struct InProcessGroup::State {
  int size;
  std::chrono::milliseconds timeout;
  std::mutex mutex;
  std::condition_variable arrived;
  std::vector<std::deque<std::vector<char>>> mail; ///< [src * size + dst]
  bool aborted = false;
  std::string reason;
  std::vector<std::unique_ptr<Endpoint>> ends;
};

namespace {
class Endpoint : public Transport {
public:
  Endpoint(InProcessGroup::State &s, int r) : s(s), r(r) {}
  int rank() const override { return r; }
  int size() const override { return s.size; }

  Status exchange(const std::vector<TransferOp> &ops) override {
    for (const TransferOp &op : ops)
      if (op.peer < 0 || op.peer >= s.size || (op.bytes && !op.data))
        return Status::error("a transfer with peer " + std::to_string(op.peer) +
                             " in a group of " + std::to_string(s.size) +
                             (op.data ? "" : " has no buffer"));
    {
      std::lock_guard<std::mutex> lock(s.mutex);
      for (const TransferOp &op : ops)
        if (op.kind == TransferOp::send) {
          const char *p = static_cast<const char *>(op.data);
          s.mail[size_t(r * s.size + op.peer)].emplace_back(p, p + op.bytes);
        }
    }
    s.arrived.notify_all();
    for (const TransferOp &op : ops)
      if (op.kind == TransferOp::recv)
        if (Status st = receive(op); !st)
          return st;
    return Status::success();
  }

private:
  InProcessGroup::State &s;
  int r;

  Status receive(const TransferOp &op) {
    std::unique_lock<std::mutex> lock(s.mutex);
    auto &box = s.mail[size_t(op.peer * s.size + r)];
    const std::string what =
        "waiting for " + std::to_string(op.bytes) + " bytes from rank " + std::to_string(op.peer);
    if (!s.arrived.wait_for(lock, s.timeout, [&] { return s.aborted || !box.empty(); }))
      return Status::error("timed out after " + std::to_string(s.timeout.count()) + " ms: " +
                           what);
    if (s.aborted && box.empty())
      return Status::error("group aborted (" + s.reason + ") with " + what);
    std::vector<char> message = std::move(box.front());
    box.pop_front();
    if (message.size() != op.bytes)
      return Status::error(what + " but the message has " + std::to_string(message.size()));
    if (op.bytes)
      std::memcpy(op.data, message.data(), op.bytes);
    return Status::success();
  }
};
} // namespace

InProcessGroup::InProcessGroup(int size, std::chrono::milliseconds timeout)
    : state(std::make_unique<State>()) {
  state->size = size < 1 ? 1 : size;
  state->timeout = timeout;
  state->mail.resize(size_t(state->size) * size_t(state->size));
  for (int r = 0; r < state->size; ++r)
    state->ends.push_back(std::make_unique<Endpoint>(*state, r));
}

InProcessGroup::~InProcessGroup() = default;

int InProcessGroup::size() const { return state->size; }

Transport &InProcessGroup::rank(int r) { return *state->ends[size_t(r)]; }

void InProcessGroup::abort(const std::string &reason) {
  {
    std::lock_guard<std::mutex> lock(state->mutex);
    if (!state->aborted)
      state->reason = reason;
    state->aborted = true;
  }
  state->arrived.notify_all();
}

Status InProcessGroup::run(const std::function<Status(Transport &)> &fn) {
  std::vector<Status> results(size_t(state->size));
  std::vector<std::thread> threads;
  for (int r = 0; r < state->size; ++r)
    threads.emplace_back([&, r] {
      results[size_t(r)] = fn(rank(r));
      if (!results[size_t(r)])
        abort("rank " + std::to_string(r) + " failed");
    });
  for (std::thread &t : threads)
    t.join();
  // The first rank that failed by itself, not one that saw the abort.
  const Status *first = nullptr;
  for (const Status &st : results)
    if (!st && (!first || (first->message.rfind("group aborted", 0) == 0 &&
                           st.message.rfind("group aborted", 0) != 0)))
      first = &st;
  if (!first)
    return Status::success();
  const int r = int(first - results.data());
  return Status::error("rank " + std::to_string(r) + ": " + first->message);
}

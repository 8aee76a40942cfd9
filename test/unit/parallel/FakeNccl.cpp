//===- FakeNccl.cpp - A stand-in for libnccl.so.2 in tests ------*- C++ -*-===//
//
// NCCL's C entry points over host memory, with threads as ranks: what the
// NCCL transport's tests load through SIEVE_NCCL_LIBRARY on machines
// without NCCL or a GPU. Sends and receives are legal only inside a group,
// as sieve always posts them; ncclGroupEnd delivers the group's sends, then
// waits for its receives. fakeNccl* report what the transport did.
//
//===----------------------------------------------------------------------===//

#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace {
struct Group {
  int size = 0;
  std::map<std::pair<int, int>, std::deque<std::vector<char>>> mail; ///< (src, dst)
};

struct Comm {
  Group *group;
  int rank;
};

struct Op {
  bool send;
  void *data;
  size_t count;
  int peer;
  Comm *comm;
};

std::mutex mutex;
std::condition_variable arrived;
std::map<std::string, Group> groups;
int groupsEnded = 0, commsDestroyed = 0, nextId = 0;
void *lastStream = nullptr;
thread_local int depth = 0;
thread_local std::vector<Op> pending;

constexpr int ncclSuccess = 0, ncclInvalidArgument = 4, ncclInvalidUsage = 5;
} // namespace

extern "C" {
struct ncclUniqueId {
  char internal[128];
};

__attribute__((visibility("default"))) int ncclGetVersion(int *v) {
  *v = 29901;
  return ncclSuccess;
}

__attribute__((visibility("default"))) const char *ncclGetErrorString(int rc) {
  return rc == ncclInvalidUsage ? "invalid usage" : rc == ncclInvalidArgument ? "invalid argument"
                                                                              : "fake error";
}

__attribute__((visibility("default"))) int ncclGetUniqueId(ncclUniqueId *id) {
  std::lock_guard<std::mutex> lock(mutex);
  std::memset(id->internal, 0, sizeof id->internal);
  std::snprintf(id->internal, sizeof id->internal, "fake-%d", nextId++);
  return ncclSuccess;
}

__attribute__((visibility("default"))) int ncclCommInitRank(Comm **comm, int nranks,
                                                            ncclUniqueId id, int rank) {
  if (nranks < 1 || rank < 0 || rank >= nranks)
    return ncclInvalidArgument;
  std::lock_guard<std::mutex> lock(mutex);
  Group &g = groups[std::string(id.internal)];
  g.size = nranks;
  *comm = new Comm{&g, rank};
  return ncclSuccess;
}

__attribute__((visibility("default"))) int ncclCommDestroy(Comm *comm) {
  std::lock_guard<std::mutex> lock(mutex);
  ++commsDestroyed;
  delete comm;
  return ncclSuccess;
}

__attribute__((visibility("default"))) int ncclCommCount(const Comm *comm, int *count) {
  *count = comm->group->size;
  return ncclSuccess;
}

__attribute__((visibility("default"))) int ncclCommUserRank(const Comm *comm, int *rank) {
  *rank = comm->rank;
  return ncclSuccess;
}

__attribute__((visibility("default"))) int ncclGroupStart() {
  ++depth;
  return ncclSuccess;
}

static int post(bool send, const void *data, size_t count, int type, int peer, Comm *comm,
                void *stream) {
  if (!depth || type != 1 /* ncclUint8 */ || peer < 0 || peer >= comm->group->size)
    return ncclInvalidUsage;
  {
    std::lock_guard<std::mutex> lock(mutex);
    lastStream = stream;
  }
  pending.push_back({send, const_cast<void *>(data), count, peer, comm});
  return ncclSuccess;
}

__attribute__((visibility("default"))) int ncclSend(const void *data, size_t count, int type,
                                                    int peer, Comm *comm, void *stream) {
  return post(true, data, count, type, peer, comm, stream);
}

__attribute__((visibility("default"))) int ncclRecv(void *data, size_t count, int type, int peer,
                                                    Comm *comm, void *stream) {
  return post(false, data, count, type, peer, comm, stream);
}

__attribute__((visibility("default"))) int ncclGroupEnd() {
  if (!depth)
    return ncclInvalidUsage;
  if (--depth)
    return ncclSuccess;
  std::vector<Op> ops = std::move(pending);
  pending.clear();
  std::unique_lock<std::mutex> lock(mutex);
  for (const Op &op : ops)
    if (op.send) {
      const char *p = static_cast<const char *>(op.data);
      op.comm->group->mail[{op.comm->rank, op.peer}].emplace_back(p, p + op.count);
    }
  arrived.notify_all();
  int rc = ncclSuccess;
  for (const Op &op : ops) {
    if (op.send)
      continue;
    auto &box = op.comm->group->mail[{op.peer, op.comm->rank}];
    arrived.wait(lock, [&] { return !box.empty(); });
    if (box.front().size() != op.count)
      rc = ncclInvalidUsage;
    else
      std::memcpy(op.data, box.front().data(), op.count);
    box.pop_front();
  }
  ++groupsEnded;
  return rc;
}

__attribute__((visibility("default"))) int fakeNcclGroupsEnded() {
  std::lock_guard<std::mutex> lock(mutex);
  return groupsEnded;
}
__attribute__((visibility("default"))) int fakeNcclCommsDestroyed() {
  std::lock_guard<std::mutex> lock(mutex);
  return commsDestroyed;
}
__attribute__((visibility("default"))) void *fakeNcclLastStream() {
  std::lock_guard<std::mutex> lock(mutex);
  return lastStream;
}
}

//===- SieveCpuDecode.cpp - Reference decode over the inference layouts ---===//

#include "reference/SieveCpuDecode.h"
#include "reference/SieveCpuChunks.h"

#include <algorithm>
#include <cmath>
#include <string>

using namespace sieve;
using namespace sieve::reference;

int64_t DecodeProblem::totalQ() const {
  int64_t n = 0;
  for (int x : qLens)
    n += x;
  return n;
}

int64_t DecodeProblem::totalK() const {
  int64_t n = 0;
  for (int x : kLens)
    n += x;
  return n;
}

namespace {
std::vector<int> prefix(const std::vector<int> &lens) {
  std::vector<int> cu(lens.size() + 1, 0);
  for (size_t b = 0; b < lens.size(); ++b)
    cu[b + 1] = cu[b] + lens[b];
  return cu;
}
} // namespace

std::vector<int> DecodeProblem::cuQ() const { return prefix(qLens); }
std::vector<int> DecodeProblem::cuK() const { return prefix(kLens); }

size_t DecodeProblem::kvElements() const {
  const int64_t rows = pageSize ? int64_t(numPages) * pageSize : totalK();
  return size_t(rows) * kvHeads * headDim;
}

std::string DecodeProblem::validate() const {
  if (qLens.empty() || qLens.size() != kLens.size())
    return std::string("need one query and one key length per sequence");
  if (heads < 1 || kvHeads < 1 || heads % kvHeads != 0)
    return std::string("heads must be a positive multiple of kv heads");
  if (splits < 1 || tileK < 1)
    return std::string("splits and the key tile must be at least 1");
  for (size_t b = 0; b < qLens.size(); ++b)
    if (qLens[b] < 0 || kLens[b] < 0 || qLens[b] > kLens[b])
      return std::string("sequence " + std::to_string(b) + " has " + std::to_string(qLens[b]) +
                           " queries and " + std::to_string(kLens[b]) +
                           " keys; need 0 <= queries <= keys");
  if (!pageSize)
    return "";
  if (pageSize < 1 || numPages < 1 || blockTable.size() != size_t(batch()) * maxPages)
    return std::string("the block table must be [batch, maxPages] over >= 1 page");
  for (size_t b = 0; b < qLens.size(); ++b) {
    const int need = (kLens[b] + pageSize - 1) / pageSize;
    if (need > maxPages)
      return std::string("sequence " + std::to_string(b) + " needs " + std::to_string(need) +
                           " pages but the block table has " + std::to_string(maxPages));
    for (int j = 0; j < need; ++j) {
      const int page = blockTable[b * maxPages + j];
      if (page < 0 || page >= numPages)
        return std::string("block table entry [" + std::to_string(b) + ", " + std::to_string(j) +
                             "] is page " + std::to_string(page) + ", outside [0, " +
                             std::to_string(numPages) + ")");
    }
  }
  return "";
}

std::vector<float> reference::pageKv(const DecodeProblem &p, const std::vector<float> &dense) {
  const size_t row = size_t(p.kvHeads) * p.headDim;
  std::vector<float> pool(size_t(p.numPages) * p.pageSize * row, 0.f);
  const std::vector<int> cuK = p.cuK();
  for (int b = 0; b < p.batch(); ++b)
    for (int r = 0; r < p.kLens[b]; ++r) {
      const int page = p.blockTable[size_t(b) * p.maxPages + r / p.pageSize];
      std::copy_n(dense.begin() + (cuK[b] + r) * row, row,
                  pool.begin() + (size_t(page) * p.pageSize + r % p.pageSize) * row);
    }
  return pool;
}

void reference::decodeForward(const mask::Pattern &pattern, const DecodeProblem &p,
                              const std::vector<float> &q, const std::vector<float> &k,
                              const std::vector<float> &v, std::vector<float> &o,
                              std::vector<float> &lse) {
  const int64_t d = p.headDim, qRow = int64_t(p.heads) * d, kRow = int64_t(p.kvHeads) * d;
  o.assign(p.qElements(), 0.f);
  lse.assign(p.lseElements(), -INFINITY);
  const std::vector<int> cuQ = p.cuQ(), cuK = p.cuK();
  std::vector<float> kSeq, vSeq; // one sequence's keys, gathered from the pages
  for (int b = 0; b < p.batch(); ++b) {
    const int qLen = p.qLens[b], kLen = p.kLens[b];
    if (qLen == 0)
      continue;
    const float *kb = k.data() + int64_t(cuK[b]) * kRow, *vb = v.data() + int64_t(cuK[b]) * kRow;
    if (p.pageSize) {
      kSeq.resize(size_t(kLen) * kRow);
      vSeq.resize(size_t(kLen) * kRow);
      for (int r = 0; r < kLen; ++r) {
        const int64_t page = p.blockTable[size_t(b) * p.maxPages + r / p.pageSize];
        const int64_t at = (page * p.pageSize + r % p.pageSize) * kRow;
        std::copy_n(k.begin() + at, kRow, kSeq.begin() + int64_t(r) * kRow);
        std::copy_n(v.begin() + at, kRow, vSeq.begin() + int64_t(r) * kRow);
      }
      kb = kSeq.data(), vb = vSeq.data();
    }
    // One sequence as a strided [1, heads, rows, d] problem.
    View<const float> qv{q.data() + int64_t(cuQ[b]) * qRow, 0, d, qRow};
    View<float> ov{o.data() + int64_t(cuQ[b]) * qRow, 0, d, qRow};
    View<float> lv{lse.data() + int64_t(cuQ[b]) * p.heads, 0, 1, p.heads};
    Chunk c;
    c.heads = p.heads, c.kvHeads = p.kvHeads, c.headDim = p.headDim, c.scale = p.scale;
    c.qPos = kLen - qLen, c.qLen = qLen;
    // Split the key tiles into contiguous ranges, as walk::split_range does.
    const int64_t tiles = (kLen + p.tileK - 1) / p.tileK;
    const int splits = int(std::max<int64_t>(1, std::min<int64_t>(p.splits, tiles)));
    std::vector<std::vector<float>> partO(static_cast<size_t>(splits)), partL(partO.size());
    std::vector<View<const float>> parts, lses;
    for (int s = 0; s < splits; ++s) {
      const int64_t first = tiles * s / splits, last = tiles * (s + 1) / splits;
      c.kPos = first * p.tileK;
      c.kLen = std::min<int64_t>(last * p.tileK, kLen) - c.kPos;
      View<const float> kv{kb + c.kPos * kRow, 0, d, kRow}, vv{vb + c.kPos * kRow, 0, d, kRow};
      if (splits == 1) {
        chunkForward<float>(pattern, c, qv, kv, vv, ov, lv);
        break;
      }
      partO[size_t(s)].assign(size_t(qLen) * qRow, 0.f);
      partL[size_t(s)].assign(size_t(qLen) * p.heads, -INFINITY);
      View<float> po{partO[size_t(s)].data(), 0, d, qRow}, pl{partL[size_t(s)].data(), 0, 1, p.heads};
      chunkForward<float>(pattern, c, qv, kv, vv, po, pl);
      parts.push_back(po);
      lses.push_back(pl);
    }
    if (splits > 1)
      mergeByLse<float>(c, parts, lses, ov, lv);
  }
}

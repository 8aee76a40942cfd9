//===- FuzzDriver.cpp - A bounded mutation driver for fuzz targets -*- C++ -*-===//
//
// Runs a libFuzzer-style target (LLVMFuzzerTestOneInput) on seed files and on
// random mutations of them for a fixed time, so the test suite exercises the
// targets on every build without a fuzzing toolchain. Deterministic for a
// given --seed. Before each input runs it is kept in memory; on a crash the
// signal handler writes it to ./fuzz-crash.bin so the failure reproduces.
//
//   sieve-fuzz-spec [--seconds N] [--seed S] DIR_OR_FILE...
//
//===----------------------------------------------------------------------===//

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <random>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

namespace {
std::vector<uint8_t> current;

void onCrash(int sig) {
  int fd = ::open("fuzz-crash.bin", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd >= 0) {
    ssize_t ignored = ::write(fd, current.data(), current.size());
    (void)ignored;
    ::close(fd);
  }
  const char msg[] = "fuzz: crashed; input written to fuzz-crash.bin\n";
  ssize_t ignored = ::write(2, msg, sizeof(msg) - 1);
  (void)ignored;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

bool readFile(const std::string &path, std::vector<uint8_t> &out) {
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f)
    return false;
  uint8_t buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
    out.insert(out.end(), buf, buf + n);
  std::fclose(f);
  return true;
}

void collect(const std::string &path, std::vector<std::vector<uint8_t>> &seeds) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return;
  if (!S_ISDIR(st.st_mode)) {
    std::vector<uint8_t> data;
    if (readFile(path, data))
      seeds.push_back(std::move(data));
    return;
  }
  DIR *dir = ::opendir(path.c_str());
  if (!dir)
    return;
  while (dirent *e = ::readdir(dir))
    if (e->d_name[0] != '.')
      collect(path + "/" + e->d_name, seeds);
  ::closedir(dir);
}

/// Tokens that reach deeper into JSON and expression parsers than random
/// bytes do.
const char *const kTokens[] = {
    "{", "}", "[", "]", "\"", ":", ",", "-", "0", "1", "256", "1e30",
    "18446744073709551616", "null", "true", "\"mask\"", "\"union\"",
    "\"intersect\"", "\"not\"", "\"window\"", "\"blocks\"", "\"tokens\"",
    "\"predicate\"", "\"builtin\"", "\"causal\"", "\"longnet\"", "<<", ">>",
    "&&", "||", "==", "q", "k", "qb", "kb", "d", "(", ")", "/", "%", "\\u0000"};

void mutate(std::vector<uint8_t> &d, std::mt19937_64 &rng) {
  auto pick = [&](size_t n) { return n ? size_t(rng() % n) : size_t(0); };
  switch (rng() % 6) {
  case 0: // flip a bit
    if (!d.empty())
      d[pick(d.size())] ^= uint8_t(1u << (rng() % 8));
    break;
  case 1: // erase a run
    if (!d.empty()) {
      size_t at = pick(d.size()), n = 1 + pick(std::min<size_t>(16, d.size() - at));
      d.erase(d.begin() + at, d.begin() + std::min(d.size(), at + n));
    }
    break;
  case 2: { // insert a token
    const char *t = kTokens[pick(sizeof kTokens / sizeof *kTokens)];
    d.insert(d.begin() + pick(d.size() + 1), t, t + std::strlen(t));
    break;
  }
  case 3: // random byte
    d.insert(d.begin() + pick(d.size() + 1), uint8_t(rng()));
    break;
  case 4: // duplicate a chunk (grows nesting)
    if (!d.empty() && d.size() < 1 << 16) {
      size_t at = pick(d.size()), n = 1 + pick(std::min<size_t>(64, d.size() - at));
      std::vector<uint8_t> chunk(d.begin() + at, d.begin() + at + n);
      d.insert(d.begin() + pick(d.size() + 1), chunk.begin(), chunk.end());
    }
    break;
  default: // truncate
    if (!d.empty())
      d.resize(pick(d.size()));
  }
}
} // namespace

int main(int argc, char **argv) {
  double seconds = 10;
  uint64_t seed = 1;
  std::vector<std::vector<uint8_t>> seeds;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--seconds" && i + 1 < argc)
      seconds = std::atof(argv[++i]);
    else if (a == "--seed" && i + 1 < argc)
      seed = std::strtoull(argv[++i], nullptr, 10);
    else
      collect(a, seeds);
  }
  if (seeds.empty())
    seeds.push_back({});
  std::signal(SIGSEGV, onCrash);
  std::signal(SIGABRT, onCrash);
  std::signal(SIGFPE, onCrash);
  std::signal(SIGBUS, onCrash);

  for (const auto &s : seeds) {
    current = s;
    LLVMFuzzerTestOneInput(current.data(), current.size());
  }
  std::mt19937_64 rng(seed);
  auto end = std::chrono::steady_clock::now() +
             std::chrono::duration<double>(seconds);
  uint64_t runs = seeds.size();
  while (std::chrono::steady_clock::now() < end) {
    for (int batch = 0; batch < 64; ++batch, ++runs) {
      current = seeds[rng() % seeds.size()];
      for (int m = 1 + int(rng() % 8); m > 0; --m)
        mutate(current, rng);
      LLVMFuzzerTestOneInput(current.data(), current.size());
    }
  }
  std::printf("fuzz: %llu inputs from %zu seeds in %.0f s, no failures\n",
              (unsigned long long)runs, seeds.size(), seconds);
  return 0;
}

//===- SieveCubin.cpp - A sieve cubin's launch info, from its ELF image ---===//
//
// A cubin is an ELF64 image; the kernel's `sieve_launch` constant
// (sieve_launch_info) is a symbol whose initial value sits in the data of
// the section it names, at the symbol's value as an offset. Reading it here
// needs no driver, so `sieve compile --emit resources` can report the
// dynamic shared memory and block size on a machine without a GPU. Every
// offset is checked against the image before it is read.
//
//===----------------------------------------------------------------------===//

#include "sieve/Jit.h"
#include "sieve/sieve_kernel_abi.h"

#include <cstdint>
#include <cstring>

using namespace sieve;

namespace {
/// Little-endian fields of the image (cubins are little-endian; so is every
/// host sieve builds for, which the memcpy reads below assume).
struct Image {
  const std::vector<char> &bytes;
  bool has(uint64_t offset, uint64_t size) const {
    return offset <= bytes.size() && size <= bytes.size() - offset;
  }
  template <class T> T read(uint64_t offset) const {
    T v;
    std::memcpy(&v, bytes.data() + offset, sizeof v);
    return v;
  }
};

struct Section {
  uint32_t name = 0, type = 0, link = 0;
  uint64_t offset = 0, size = 0, entrySize = 0;
};

constexpr uint32_t kSymtab = 2; // SHT_SYMTAB
constexpr uint32_t kNobits = 8; // SHT_NOBITS: no data in the image

/// The section headers of a checked ELF64 little-endian image.
struct Elf {
  const Image img;
  uint64_t shoff = 0;
  uint16_t shentsize = 0, shnum = 0, shstrndx = 0;

  Section section(uint32_t i) const {
    const uint64_t h = shoff + uint64_t(i) * shentsize;
    Section s;
    s.name = img.read<uint32_t>(h);
    s.type = img.read<uint32_t>(h + 4);
    s.offset = img.read<uint64_t>(h + 24);
    s.size = img.read<uint64_t>(h + 32);
    s.link = img.read<uint32_t>(h + 40);
    s.entrySize = img.read<uint64_t>(h + 56);
    return s;
  }
};

Status bad(const std::string &why) { return Status::error("cubin: " + why); }

Status openElf(const std::vector<char> &cubin, Elf &elf) {
  const Image &img = elf.img;
  if (!img.has(0, 64) || std::memcmp(cubin.data(), "\x7f" "ELF", 4) != 0)
    return bad("not an ELF image");
  if (cubin[4] != 2 || cubin[5] != 1)
    return bad("not a little-endian 64-bit ELF image");
  elf.shoff = img.read<uint64_t>(0x28);
  elf.shentsize = img.read<uint16_t>(0x3a), elf.shnum = img.read<uint16_t>(0x3c);
  elf.shstrndx = img.read<uint16_t>(0x3e);
  if (elf.shentsize < 64 || !img.has(elf.shoff, uint64_t(elf.shentsize) * elf.shnum))
    return bad("its section headers lie outside the image");
  return Status::success();
}
} // namespace

Status sieve::readCubinCodeBytes(const std::vector<char> &cubin, const std::string &function,
                                 uint64_t &bytes) {
  Elf elf{Image{cubin}};
  if (Status s = openElf(cubin, elf); !s)
    return s;
  if (elf.shstrndx == 0 || elf.shstrndx >= elf.shnum)
    return bad("no section name table");
  const Section names = elf.section(elf.shstrndx);
  if (names.type == kNobits || !elf.img.has(names.offset, names.size))
    return bad("a malformed section name table");
  const std::string want = ".text." + function;
  for (uint32_t i = 0; i < elf.shnum; ++i) {
    const Section s = elf.section(i);
    if (s.name >= names.size || names.size - s.name <= want.size() ||
        std::memcmp(cubin.data() + names.offset + s.name, want.c_str(), want.size() + 1) != 0)
      continue;
    bytes = s.size;
    return Status::success();
  }
  return bad("no code section for " + function);
}

Status sieve::readCubinLaunchInfo(const std::vector<char> &cubin, CubinLaunchInfo &out) {
  Elf elf{Image{cubin}};
  if (Status s = openElf(cubin, elf); !s)
    return s;
  const Image &img = elf.img;
  const uint16_t shnum = elf.shnum;
  auto section = [&](uint32_t i) { return elf.section(i); };
  for (uint32_t i = 0; i < shnum; ++i) {
    const Section symtab = section(i);
    if (symtab.type != kSymtab)
      continue;
    if (symtab.entrySize < 24 || symtab.link >= shnum || !img.has(symtab.offset, symtab.size))
      return bad("a malformed symbol table");
    const Section strtab = section(symtab.link);
    if (!img.has(strtab.offset, strtab.size))
      return bad("a malformed string table");
    const std::string want = SIEVE_LAUNCH_SYMBOL;
    for (uint64_t e = 0; e + symtab.entrySize <= symtab.size; e += symtab.entrySize) {
      const uint64_t sym = symtab.offset + e;
      const uint32_t name = img.read<uint32_t>(sym);
      if (name >= strtab.size || strtab.size - name <= want.size() ||
          std::memcmp(cubin.data() + strtab.offset + name, want.c_str(), want.size() + 1) != 0)
        continue;
      const uint16_t shndx = img.read<uint16_t>(sym + 6);
      const uint64_t value = img.read<uint64_t>(sym + 8), size = img.read<uint64_t>(sym + 16);
      if (size != sizeof(sieve_launch_info))
        return bad(want + " has " + std::to_string(size) + " bytes, not the " +
                   std::to_string(sizeof(sieve_launch_info)) + " of this sieve's kernel ABI");
      if (shndx == 0 || shndx >= shnum)
        return bad(want + " is not defined in a section of the image");
      const Section data = section(shndx);
      if (data.type == kNobits || !img.has(data.offset, data.size))
        return bad(want + "'s section has no data in the image");
      if (value > data.size || size > data.size - value)
        return bad(want + "'s value lies outside its section");
      sieve_launch_info li;
      std::memcpy(&li, cubin.data() + data.offset + value, sizeof li);
      out.abiVersion = li.abi_version, out.operation = li.operation;
      out.kvLayout = li.kv_layout, out.dtype = li.dtype, out.headDim = li.head_dim;
      out.tileQ = li.tile_q, out.tileK = li.tile_k, out.threads = li.threads;
      out.sharedBytes = li.shared_bytes, out.combineThreads = li.combine_threads;
      out.auxSharedBytes = li.aux_shared_bytes, out.tensorMaps = li.tensor_maps;
      out.auxThreads = li.aux_threads, out.headSplit = li.head_split;
      return Status::success();
    }
  }
  return bad("no " SIEVE_LAUNCH_SYMBOL " symbol (not a sieve kernel?)");
}

//===- TestArtifacts.h - Small hand-built artifacts for tests ---*- C++ -*-===//
//
// A valid one-function artifact for `tiny` (y = x + w, as a compiler would
// emit it) and helpers to corrupt one deliberately while keeping its
// checksums valid. Shared by the artifact and robustness tests and the fuzz
// targets' seed corpora.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/Artifact.h"
#include "rbln/runtime/Target.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

namespace rbln::test {
using namespace rbln::isa;

inline std::string tempPath(const std::string &name) {
  return ::testing::TempDir() + "/rbln-" + std::to_string(getpid()) + "-" + name;
}

inline void putInst(std::vector<uint8_t> &code, const Inst &in) {
  uint8_t w[kWordBytes];
  ASSERT_TRUE(encode(in, w).ok());
  code.insert(code.end(), w, w + kWordBytes);
}

/// y[4] = x[4] + w[4] on NE 0 of tiny, as a compiler would emit it.
inline ArtifactContents makeContents() {
  ArtifactContents c;
  proto::Metadata &m = c.metadata;
  m.set_producer("test");
  *m.mutable_target() = *loadTarget("tiny");
  proto::Function *f = m.add_functions();
  f->set_name("main");
  for (const char *n : {"x"}) {
    auto *s = f->add_inputs();
    s->set_name(n);
    s->set_dtype(proto::F32);
    s->add_shape(4);
  }
  auto *o = f->add_outputs();
  o->set_name("y");
  o->set_dtype(proto::F32);
  o->add_shape(4);
  auto *d = f->add_dma_descs();
  d->set_src_dtype(proto::F32);
  d->set_dst_dtype(proto::F32);
  d->add_sizes(4);
  d->add_src_strides(1);
  d->add_dst_strides(1);
  c.weights.resize(64);
  float w[4] = {10, 20, 30, 40};
  std::memcpy(c.weights.data(), w, 16);
  m.set_weights_bytes(c.weights.size());
  auto ld = [](unsigned rd, int64_t imm) {
    Inst in(Opcode::Ld64);
    in[fld::Ld64::rd] = rd;
    in[fld::Ld64::space] = int64_t(Space::Dram);
    in[fld::Ld64::ra] = 1;
    in[fld::Ld64::imm] = imm;
    return in;
  };
  auto dma = [](unsigned q, bool toSpm, unsigned reg, int64_t dramOff, int64_t spm) {
    Inst in(Opcode::DmaNeural, uint8_t(q));
    in[fld::DmaNeural::dspace] = int64_t(toSpm ? Space::Spm : Space::Dram);
    in[fld::DmaNeural::dreg] = toSpm ? 0 : reg;
    in[fld::DmaNeural::doff] = toSpm ? spm : dramOff;
    in[fld::DmaNeural::sspace] = int64_t(toSpm ? Space::Dram : Space::Spm);
    in[fld::DmaNeural::sreg] = toSpm ? reg : 0;
    in[fld::DmaNeural::soff] = toSpm ? dramOff : spm;
    return in;
  };
  std::vector<Inst> prog;
  prog.push_back(ld(4, 0));
  prog.push_back(ld(5, 8));
  prog.push_back(dma(0, true, 4, 0, 0));
  Inst lw = dma(0, true, 2, 0, 64);
  lw.signal = 0;
  prog.push_back(lw);
  Inst add(Opcode::VAdd, 0);
  add[fld::VAdd::dst] = 128;
  add[fld::VAdd::src0] = 0;
  add[fld::VAdd::src1] = 64;
  add[fld::VAdd::rows] = 1;
  add[fld::VAdd::cols] = 4;
  add.wait[0] = {0, 1};
  add.signal = 1;
  prog.push_back(add);
  Inst st = dma(1, false, 5, 0, 128);
  st.wait[0] = {1, 1};
  prog.push_back(st);
  prog.push_back(Inst(Opcode::Halt));
  for (const Inst &in : prog)
    putInst(c.code, in);
  f->set_num_insts(prog.size());
  auto *dbg = c.debug.add_functions();
  dbg->set_name("main");
  dbg->add_locations("add_node");
  for (size_t i = 0; i < prog.size(); ++i)
    dbg->add_inst_location(0);
  return c;
}

inline std::vector<uint8_t> bytesOf(const ArtifactContents &c) {
  auto b = writeArtifact(c);
  EXPECT_TRUE(b.ok());
  return *b;
}

inline std::string writeBytes(const std::string &name, const std::vector<uint8_t> &bytes) {
  std::string p = tempPath(name);
  std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char *>(bytes.data()),
                                           std::streamsize(bytes.size()));
  return p;
}

/// Loads and expects failure with `what` in the message.
inline void expectRejected(const std::vector<uint8_t> &bytes, const std::string &what) {
  std::string p = writeBytes("bad.rbln", bytes);
  auto a = Artifact::load(p);
  ASSERT_FALSE(a.ok()) << "loaded a bad artifact; expected: " << what;
  EXPECT_NE(a.error().find(what), std::string::npos) << a.error();
  std::remove(p.c_str());
}

inline uint64_t sectionOffset(const std::vector<uint8_t> &b, SectionKind k, uint64_t *size = nullptr) {
  uint32_t n;
  std::memcpy(&n, b.data() + 12, 4);
  for (uint32_t i = 0; i < n; ++i) {
    const uint8_t *e = b.data() + kArtifactHeaderBytes + i * kSectionEntryBytes;
    uint32_t kind;
    std::memcpy(&kind, e, 4);
    if (kind == uint32_t(k)) {
      uint64_t off;
      std::memcpy(&off, e + 8, 8);
      if (size)
        std::memcpy(size, e + 16, 8);
      return off;
    }
  }
  return 0;
}

/// Rewrites the CRC of section k after a deliberate edit.
inline void fixCrc(std::vector<uint8_t> &b, SectionKind k) {
  uint32_t n;
  std::memcpy(&n, b.data() + 12, 4);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t *e = b.data() + kArtifactHeaderBytes + i * kSectionEntryBytes;
    uint32_t kind;
    std::memcpy(&kind, e, 4);
    if (kind != uint32_t(k))
      continue;
    uint64_t off, size;
    std::memcpy(&off, e + 8, 8);
    std::memcpy(&size, e + 16, 8);
    uint32_t crc = crc32(b.data() + off, size);
    std::memcpy(e + 24, &crc, 4);
  }
}

} // namespace rbln::test

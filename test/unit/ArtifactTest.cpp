//===- ArtifactTest.cpp - The .rbln loader rejects bad files --------------===//
#include "TestArtifacts.h"
#include "rbln/runtime/Artifact.h"
#include "rbln/runtime/HostTensor.h"
#include "rbln/runtime/Runtime.h"
#include "rbln/runtime/Target.h"
#include "rbln/runtime/rbln.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <unistd.h>

using namespace rbln;
using namespace rbln::isa;
using namespace rbln::test;

TEST(Artifact, WritesAndLoadsAndRuns) {
  ArtifactContents c = makeContents();
  std::vector<uint8_t> b1 = bytesOf(c), b2 = bytesOf(c);
  EXPECT_EQ(b1, b2) << "serialization must be deterministic";
  std::string p = writeBytes("good.rbln", b1);
  auto a = Artifact::load(p);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ((*a)->metadata().functions(0).name(), "main");
  EXPECT_EQ((*a)->code(0).size(), 7u);
  EXPECT_EQ((*a)->location(0, 4), "add_node");
  auto s = Session::create(*a);
  ASSERT_TRUE(s.ok()) << s.error();
  HostTensor x;
  x.shape = {4};
  float xv[4] = {1, 2, 3, 4};
  x.data.assign(reinterpret_cast<uint8_t *>(xv), reinterpret_cast<uint8_t *>(xv) + 16);
  ASSERT_TRUE((*s)->setInput(0, x).ok());
  Status st = (*s)->run();
  ASSERT_TRUE(st.ok()) << st.message();
  const HostTensor &y = (*s)->output(0);
  const float *yv = reinterpret_cast<const float *>(y.data.data());
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(yv[i], xv[i] + float(10 * (i + 1)));
  // The input and the output cross the host link, apart from device time.
  const Stats &stats = (*s)->stats();
  EXPECT_EQ(stats.hostBytesIn, 16u);
  EXPECT_EQ(stats.hostBytesOut, 16u);
  double gbps = (*s)->target().host_link_gbps();
  ASSERT_GT(gbps, 0);
  EXPECT_DOUBLE_EQ(stats.hostLinkSeconds, 32.0 / (gbps * 1e9));
  // Wrong input shape is an error naming the input.
  x.shape = {5};
  Status bad = (*s)->setInput(0, x);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("input 'x' expects 4xf32, got 5xf32"), std::string::npos) << bad.message();
  std::remove(p.c_str());
}

TEST(Artifact, CApi) {
  std::string p = writeBytes("capi.rbln", bytesOf(makeContents()));
  rbln_model *m = rbln_model_load(p.c_str());
  ASSERT_NE(m, nullptr) << rbln_last_error();
  rbln_runtime *rt = rbln_runtime_create(m, nullptr);
  ASSERT_NE(rt, nullptr) << rbln_last_error();
  EXPECT_EQ(rbln_num_inputs(rt), 1);
  EXPECT_EQ(rbln_num_outputs(rt), 1);
  EXPECT_EQ(rbln_input_size(rt, 0), 16u);
  float xv[4] = {1, 1, 1, 1};
  EXPECT_NE(rbln_set_input(rt, 0, xv, 12), 0);
  EXPECT_NE(std::string(rbln_last_error()).find("takes 16 bytes, got 12"), std::string::npos);
  EXPECT_NE(rbln_run(rt), 0) << "running without inputs must fail";
  ASSERT_EQ(rbln_set_input(rt, 0, xv, 16), 0);
  ASSERT_EQ(rbln_run(rt), 0) << rbln_last_error();
  size_t bytes = 0;
  const float *y = static_cast<const float *>(rbln_get_output(rt, 0, &bytes));
  ASSERT_EQ(bytes, 16u);
  EXPECT_EQ(y[3], 41.0f);
  EXPECT_GT(rbln_last_run_seconds(rt), 0.0);
  EXPECT_EQ(rbln_runtime_create(m, "nosuch"), nullptr);
  EXPECT_NE(std::string(rbln_last_error()).find("no function 'nosuch'"), std::string::npos);
  rbln_runtime_destroy(rt);
  rbln_model_destroy(m);
  EXPECT_EQ(rbln_model_load("/nonexistent/model.rbln"), nullptr);
  std::remove(p.c_str());
}

TEST(Artifact, RejectsTruncatedFilesAtEverySize) {
  std::vector<uint8_t> b = bytesOf(makeContents());
  for (size_t n = 0; n < b.size(); n += (n < 256 ? 1 : 61)) {
    std::vector<uint8_t> t(b.begin(), b.begin() + long(n));
    std::string p = writeBytes("trunc.rbln", t);
    auto a = Artifact::load(p);
    EXPECT_FALSE(a.ok()) << "truncated to " << n << " bytes";
    if (!a.ok())
      EXPECT_NE(a.error().find("is not a valid .rbln artifact"), std::string::npos) << a.error();
    std::remove(p.c_str());
  }
}

TEST(Artifact, RejectsCorruption) {
  std::vector<uint8_t> good = bytesOf(makeContents());
  {
    auto b = good;
    b[0] = 'X';
    expectRejected(b, "bad magic");
  }
  {
    auto b = good;
    b[8] = 2; // major 2
    expectRejected(b, "format version 2." + std::to_string(kArtifactMinor) + " is not supported");
  }
  {
    auto b = good;
    b[10] = uint8_t(kArtifactMinor + 1); // newer than this reader
    expectRejected(b, "format version 1." + std::to_string(kArtifactMinor + 1) + " is not supported");
  }
  {
    auto b = good;
    b[20] ^= 0xff; // section table offset, header CRC no longer matches
    expectRejected(b, "header checksum mismatch");
  }
  for (auto [kind, name] : {std::pair{SectionKind::Metadata, "metadata"},
                            {SectionKind::Code, "code"},
                            {SectionKind::Weights, "weights"},
                            {SectionKind::Debug, "debug"}}) {
    auto b = good;
    b[sectionOffset(b, kind) + 2] ^= 0x40;
    expectRejected(b, std::string("checksum mismatch in the ") + name + " section");
  }
  {
    auto b = good;
    b.push_back(0);
    expectRejected(b, "header says");
  }
}

TEST(Artifact, WeightsChecksumCanBeSkipped) {
  auto b = bytesOf(makeContents());
  b[sectionOffset(b, SectionKind::Weights) + 1] ^= 1;
  std::string p = writeBytes("w.rbln", b);
  Artifact::Options o;
  o.verifyWeightsChecksum = false;
  EXPECT_TRUE(Artifact::load(p, o).ok());
  EXPECT_FALSE(Artifact::load(p).ok());
  std::remove(p.c_str());
}

TEST(Artifact, RejectsInvalidCode) {
  auto good = bytesOf(makeContents());
  {
    auto b = good;
    b[sectionOffset(b, SectionKind::Code) + 2 * kWordBytes] = 0xee; // opcode of instruction 2
    fixCrc(b, SectionKind::Code);
    expectRejected(b, "function 'main' instruction 2: invalid encoding: unknown opcode 0xee");
  }
  {
    ArtifactContents c = makeContents();
    c.code.resize(2 * kWordBytes); // keep the two loads
    Inst bad(Opcode::Mm, 9);        // tiny has 2 NEs
    putInst(c.code, bad);
    putInst(c.code, Inst(Opcode::Halt));
    c.metadata.mutable_functions(0)->set_num_insts(4);
    expectRejected(bytesOf(c), "unit 9 does not exist on target 'tiny'");
  }
  {
    ArtifactContents c = makeContents();
    c.code.clear();
    Inst j(Opcode::Jmp);
    j[fld::Jmp::target] = 5;
    putInst(c.code, j);
    c.metadata.mutable_functions(0)->set_num_insts(1);
    expectRejected(bytesOf(c), "jump target outside the function");
  }
  {
    ArtifactContents c = makeContents();
    c.metadata.mutable_functions(0)->clear_dma_descs();
    expectRejected(bytesOf(c), "DMA descriptor 0 does not exist");
  }
  {
    ArtifactContents c = makeContents();
    c.metadata.mutable_functions(0)->set_num_insts(100);
    expectRejected(bytesOf(c), "code range lies outside the code section");
  }
  {
    ArtifactContents c = makeContents();
    c.metadata.set_weights_bytes(7);
    expectRejected(bytesOf(c), "metadata says 7 weight bytes");
  }
}

TEST(HostTensor, NpyRoundTripAndLiterals) {
  auto lit = parseTensorLiteral("2x3xf32=1,2,3,4,5,6");
  ASSERT_TRUE(lit.ok()) << lit.error();
  EXPECT_EQ(lit->shape, (std::vector<int64_t>{2, 3}));
  std::string p = tempPath("t.npy");
  ASSERT_TRUE(writeNpy(p, *lit).ok());
  auto back = readNpy(p);
  ASSERT_TRUE(back.ok()) << back.error();
  EXPECT_EQ(back->shape, lit->shape);
  EXPECT_EQ(back->data, lit->data);
  EXPECT_EQ(formatTensor(*back), "2x3xf32=[1 2 3][4 5 6]");
  auto splat = parseTensorLiteral("4xi64=7");
  ASSERT_TRUE(splat.ok());
  EXPECT_EQ(splat->data.size(), 32u);
  EXPECT_FALSE(parseTensorLiteral("2x2xf32=1,2,3").ok());
  EXPECT_FALSE(parseTensorLiteral("2x2xq7=1").ok());
  EXPECT_FALSE(parseTensorLiteral("2xAxf32").ok());
  std::ofstream(p, std::ios::binary) << "\x93NUMPY\x01\x00garbage";
  EXPECT_FALSE(readNpy(p).ok());
  std::remove(p.c_str());
  EXPECT_FALSE(readNpy("/nonexistent.npy").ok());
}

TEST(Target, BuiltinsAreValidAndFilesAreChecked) {
  for (const std::string &n : builtinTargetNames()) {
    auto t = loadTarget(n);
    ASSERT_TRUE(t.ok()) << t.error();
    EXPECT_EQ(t->name(), n);
  }
  auto atom = loadTarget("atom");
  ASSERT_TRUE(atom.ok());
  // Published ATOM figures: 8 NEs, 4 MiB SPM, 32 TFLOPS FP16 at 1.5 GHz, 256 GB/s.
  EXPECT_EQ(atom->num_ne(), 8u);
  EXPECT_EQ(atom->spm_bytes(), 4u << 20);
  // The array's shape and clock give the published peaks: 32 TFLOPS FP16,
  // 128 TOPS INT8 (tensor_int8_tops), and the same rate per chip cycle.
  auto peak = [&](DType dt) {
    return 2 * macsPerCycle(*atom, uint32_t(dt)) * atom->num_ne() * atom->clock_ghz() * 1e9;
  };
  EXPECT_NEAR(peak(DType::F16), 32e12, 1e6);
  EXPECT_NEAR(peak(DType::I8), atom->tensor_int8_tops() * 1e12, 1e6);
  EXPECT_NEAR(atom->tensor().array_rows() * atom->tensor().array_cols() * atom->tensor().fp16_macs_per_pe() *
                  atom->tensor().clock_ghz() / atom->clock_ghz(),
              macsPerCycle(*atom, uint32_t(DType::F16)), 1e-9);
  auto quad = loadTarget("rebel-quad");
  ASSERT_TRUE(quad.ok());
  EXPECT_NEAR(2 * macsPerCycle(*quad, uint32_t(DType::F16)) * quad->num_ne() * quad->clock_ghz() * 1e9, 1e15, 1e9);
  // A long sequential stream on ATOM's GDDR6 sustains 85-95 % of the peak.
  double eff = dramSustainedBytesPerCycle(*atom) / dramBytesPerCycle(*atom);
  EXPECT_GT(eff, 0.85);
  EXPECT_LT(eff, 0.95);
  EXPECT_NEAR(atom->dram_gbps(), 256, 1e-9);
  auto bad = parseTarget("name: \"x\" clock_ghz: 1 num_ne: 0", "inline");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("num_ne must be in 1..64"), std::string::npos) << bad.error();
  auto syntax = parseTarget("name: ", "inline");
  ASSERT_FALSE(syntax.ok());
  EXPECT_NE(syntax.error().find("target 'inline': line 1"), std::string::npos) << syntax.error();
  EXPECT_FALSE(loadTarget("nosuch").ok());
}

TEST(Artifact, Crc32MatchesTheStandardCheckValue) {
  // CRC-32 (IEEE 802.3) of "123456789" is 0xCBF43926; incremental updates
  // over any split, and lengths around the 8-byte stride, agree.
  const char *s = "123456789";
  const auto *p = reinterpret_cast<const uint8_t *>(s);
  EXPECT_EQ(crc32(p, 9), 0xCBF43926u);
  for (size_t cut = 0; cut <= 9; ++cut)
    EXPECT_EQ(crc32(p + cut, 9 - cut, crc32(p, cut)), 0xCBF43926u) << cut;
  std::vector<uint8_t> big(1000);
  for (size_t i = 0; i < big.size(); ++i)
    big[i] = uint8_t(i * 7 + 3);
  uint32_t whole = crc32(big.data(), big.size()), parts = 0;
  for (size_t at = 0; at < big.size(); at += 13)
    parts = crc32(big.data() + at, std::min<size_t>(13, big.size() - at), parts);
  EXPECT_EQ(whole, parts);
}

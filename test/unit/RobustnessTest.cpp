//===- RobustnessTest.cpp - Hostile artifacts, targets and programs -------===//
//
// Regression tests for the classes of hostile input found by fuzzing and by
// hand (issue 14): each value is refused with an error naming it, or traps
// with a message, where it used to crash, hang or allocate without bound.
// Artifacts are written with valid checksums, so only the values are hostile.
//
//===----------------------------------------------------------------------===//
#include "SimProgram.h"
#include "TestArtifacts.h"
#include "rbln/runtime/Checked.h"
#include "rbln/runtime/LlmStep.h"
#include "rbln/runtime/Runtime.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <limits>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

using namespace rbln;
using namespace rbln::isa;
using namespace rbln::test;

namespace {
#define EXPECT_MESSAGE(status_or_error, text)                                                      \
  EXPECT_NE(std::string(status_or_error).find(text), std::string::npos) << (status_or_error)
} // namespace

TEST(Checked, ProductsSumsAndConversions) {
  // The product of [2^62, 4] used to wrap to 0 elements.
  EXPECT_FALSE(checkedProduct({int64_t(1) << 62, 4}).has_value());
  EXPECT_EQ(checkedProduct({int64_t(1) << 20, 1 << 20}), uint64_t(1) << 40);
  EXPECT_FALSE(checkedProduct({int64_t(1) << 20, (1 << 20) + 1}, kMaxTensorElements).has_value());
  EXPECT_FALSE(checkedProduct({3, -1}).has_value()); // a negative dim poisons the product
  EXPECT_EQ(checkedProduct({}), 1u);
  Checked<uint64_t> n = UINT64_MAX - 1;
  n += 1;
  EXPECT_TRUE(n.ok());
  n += 1;
  EXPECT_FALSE(n.ok());
  n *= 0; // poisoned stays poisoned
  EXPECT_FALSE(n.within(UINT64_MAX));
  Checked<int64_t> s = std::numeric_limits<int64_t>::min();
  s -= 1;
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(Checked<uint64_t>(int64_t(-1)).ok());
  EXPECT_EQ((Checked<uint64_t>(3) * 4 + 5).get(), 17u);
}

TEST(HostileArtifact, DmaSizeTimesStrideOverflow) {
  // Every term under the 2^40 cap, but (size - 1) x stride summed over the
  // dims is far past it: the bounds check used to pass and the copy wrote
  // outside simulated memory.
  ArtifactContents c = makeContents();
  proto::DmaDesc *d = c.metadata.mutable_functions(0)->mutable_dma_descs(0);
  d->clear_sizes(), d->clear_src_strides(), d->clear_dst_strides();
  for (int i = 0; i < 4; ++i) {
    d->add_sizes(1 << 10);
    d->add_src_strides(int64_t(1) << 40);
    d->add_dst_strides(int64_t(1) << (10 * i)); // a dense destination
  }
  expectRejected(bytesOf(c), "DMA descriptor 0 spans more than 2^40 bytes");
}

TEST(HostileArtifact, DmaDestinationOverlappingItself) {
  // Destination stride 0 over 2^40 elements: one command of unbounded work
  // into a few bytes (found by rbln-fuzz-simulator: a run no watchdog could
  // interrupt). A destination must be written injectively.
  ArtifactContents c = makeContents();
  proto::DmaDesc *d = c.metadata.mutable_functions(0)->mutable_dma_descs(0);
  d->clear_sizes(), d->clear_src_strides(), d->clear_dst_strides();
  d->add_sizes(int64_t(1) << 40);
  d->add_src_strides(0);
  d->add_dst_strides(0);
  expectRejected(bytesOf(c), "DMA descriptor 0 writes some destination elements more than once");
}

TEST(HostileArtifact, FunctionsSharingCode) {
  // 200,000 functions over one code range asked the loader for ~100 GB of
  // decoded instructions; now ranges must be disjoint.
  ArtifactContents c = makeContents();
  for (int i = 0; i < 3; ++i) {
    proto::Function *f = c.metadata.add_functions();
    *f = c.metadata.functions(0);
    f->set_name("copy" + std::to_string(i));
  }
  expectRejected(bytesOf(c), "two functions share instructions 0..6 of the code section");
}

TEST(HostileArtifact, TensorShapesAndTargetFields) {
  {
    ArtifactContents c = makeContents();
    auto *o = c.metadata.mutable_functions(0)->mutable_outputs(0);
    o->clear_shape();
    o->add_shape(int64_t(1) << 62);
    o->add_shape(4); // 2^64 elements: wrapped to 0
    expectRejected(bytesOf(c), "tensor 'y' has an invalid shape");
  }
  // Target fields that size host memory or loops, inside an artifact.
  struct Case {
    void (*edit)(proto::TargetDesc &);
    const char *error;
  } cases[] = {
      {[](proto::TargetDesc &t) { t.mutable_cp()->set_queue_depth(4000000000u); },
       "'cp.queue_depth' is 4000000000; at most 65536"},
      {[](proto::TargetDesc &t) { t.set_num_task_dma(1u << 30); }, "'num_task_dma' is 1073741824"},
      {[](proto::TargetDesc &t) { t.set_shm_bytes(uint64_t(1) << 50); }, "'shm_bytes' is"},
      {[](proto::TargetDesc &t) { t.set_dram_bytes(uint64_t(1) << 60); }, "'dram_bytes' is"},
      {[](proto::TargetDesc &t) { t.set_clock_ghz(std::numeric_limits<double>::infinity()); },
       "'clock_ghz' must be positive"},
      {[](proto::TargetDesc &t) { t.set_dram_gbps(std::nan("")); }, "'dram_gbps' must be positive"},
  };
  for (const Case &k : cases) {
    ArtifactContents c = makeContents();
    k.edit(*c.metadata.mutable_target());
    expectRejected(bytesOf(c), k.error);
  }
}

TEST(HostileTarget, FileFieldsAreBounded) {
  // The same limits hold for --target=FILE.
  auto t = parseTarget(R"(name: "x" clock_ghz: 1 num_ne: 1 spm_bytes: 1024 shm_bytes: 1024
    dram_bytes: 1048576 dram_gbps: 1 num_task_dma: 1 neural_dma_queues_per_ne: 1
    task_dma_bytes_per_cycle: 1 neural_dma_bytes_per_cycle: 1 dram_burst_bytes: 64
    tensor { array_rows: 1 array_cols: 1 fp32_macs_per_cycle: 1 fp16_macs_per_cycle: 1
             bf16_macs_per_cycle: 1 }
    vector { lanes: 1 simple_op_cycles: 1 transcendental_op_cycles: 1 reduce_op_cycles: 1 }
    cp { queue_depth: 2000000 num_semaphores: 8 })",
                       "inline");
  ASSERT_FALSE(t.ok());
  EXPECT_MESSAGE(t.error(), "'cp.queue_depth' is 2000000; at most 65536");
  std::string fifo = tempPath("target.fifo");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto f = loadTarget(fifo); // used to block forever in open()
  ASSERT_FALSE(f.ok());
  EXPECT_MESSAGE(f.error(), "is not a regular file");
  std::remove(fifo.c_str());
}

TEST(HostileArtifact, IoBytesPastDram) {
  // Two outputs of 2^40 i64 elements: each valid alone, their sum (and any
  // sum of such sizes) is checked against the target's DRAM.
  ArtifactContents c = makeContents();
  proto::Function *f = c.metadata.mutable_functions(0);
  for (int i = 0; i < 2; ++i) {
    auto *o = f->add_outputs();
    o->set_name("big" + std::to_string(i));
    o->set_dtype(proto::I64);
    o->add_shape(int64_t(1) << 40);
  }
  std::string p = writeBytes("io.rbln", bytesOf(c));
  auto a = Artifact::load(p);
  ASSERT_TRUE(a.ok()) << a.error();
  auto s = Session::create(*a);
  ASSERT_FALSE(s.ok());
  EXPECT_MESSAGE(s.error(), "its inputs, outputs and scratch arena need more than the target's");
  std::remove(p.c_str());
}

namespace {
/// An LLM artifact whose prefill and decode function is `main` with the
/// generation inputs, a KV cache and (unless `logits`) no outputs.
ArtifactContents llmContents(bool logits) {
  ArtifactContents c = makeContents();
  proto::Function *f = c.metadata.mutable_functions(0);
  f->clear_inputs();
  f->clear_outputs();
  auto sig = [](google::protobuf::RepeatedPtrField<proto::TensorSig> *list, const char *name,
                proto::DType dt, std::vector<int64_t> shape, bool state = false) {
    auto *s = list->Add();
    s->set_name(name);
    s->set_dtype(dt);
    s->set_state(state);
    for (int64_t d : shape)
      s->add_shape(d);
  };
  sig(f->mutable_inputs(), "input_ids", proto::I64, {1, 1});
  sig(f->mutable_inputs(), "position_ids", proto::I64, {1, 1});
  sig(f->mutable_inputs(), "block_tables", proto::I32, {1, 1});
  sig(f->mutable_inputs(), "past", proto::F32, {-1, 1, 16, 1}, true);
  if (logits)
    sig(f->mutable_outputs(), "logits", proto::F32, {1, 1, 4});
  c.code.clear();
  putInst(c.code, Inst(Opcode::Halt));
  f->set_num_insts(1);
  c.debug.Clear();
  proto::LlmConfig *l = c.metadata.mutable_llm();
  l->set_max_seq_len(16);
  l->set_block_size(16);
  l->set_prefill_chunk(1);
  l->set_prefill_function("main");
  l->add_decode_batch_sizes(1);
  l->add_decode_functions("main");
  l->set_vocab_size(4);
  l->set_kv_bytes_per_block(64);
  return c;
}
} // namespace

TEST(HostileArtifact, LlmPrefillWithoutOutputs) {
  // Used to read logits through a missing output (SIGSEGV).
  std::string p = writeBytes("llm.rbln", bytesOf(llmContents(false)));
  auto a = Artifact::load(p);
  ASSERT_TRUE(a.ok()) << a.error();
  auto r = LlmStepRunner::create(*a);
  ASSERT_TRUE(r.ok()) << r.error();
  StepSequence s;
  s.tokens = {1};
  s.blockTable = {1};
  auto out = (*r)->step({s});
  ASSERT_FALSE(out.ok());
  EXPECT_MESSAGE(out.error(), "function 'main' has no logits output");
  std::remove(p.c_str());
}

TEST(HostileArtifact, LlmConfigurationBounds) {
  struct Case {
    void (*edit)(proto::LlmConfig &);
    const char *error;
  } cases[] = {
      {[](proto::LlmConfig &l) { l.set_local_ring_blocks(int64_t(1) << 50); },
       "local_ring_blocks 1125899906842624"},
      {[](proto::LlmConfig &l) { l.set_decode_batch_sizes(0, int64_t(1) << 40); },
       "decode batch size of 1099511627776"},
      {[](proto::LlmConfig &l) { l.set_vocab_size(int64_t(1) << 40); }, "vocab_size 1099511627776"},
  };
  for (const Case &k : cases) {
    ArtifactContents c = llmContents(true);
    k.edit(*c.metadata.mutable_llm());
    std::string p = writeBytes("llmcfg.rbln", bytesOf(c));
    auto a = Artifact::load(p);
    ASSERT_TRUE(a.ok()) << a.error();
    auto r = LlmStepRunner::create(*a);
    ASSERT_FALSE(r.ok()) << k.error;
    EXPECT_MESSAGE(r.error(), k.error);
    std::remove(p.c_str());
  }
  // A huge block count asked for by the caller is refused against DRAM.
  std::string p = writeBytes("llmblocks.rbln", bytesOf(llmContents(true)));
  auto a = Artifact::load(p);
  ASSERT_TRUE(a.ok());
  StepRunnerOptions o;
  o.numBlocks = int64_t(1) << 60;
  auto r = LlmStepRunner::create(*a, o);
  ASSERT_FALSE(r.ok());
  EXPECT_MESSAGE(r.error(), "do not fit the target's");
  std::remove(p.c_str());
}

TEST(HostileProgram, RegisterArithmeticWraps) {
  // reg + offset, ALU add-immediate and v.mask_upper's diagonal used to be
  // signed overflow (undefined behaviour, caught by UBSan). They wrap like
  // the hardware's adders; an address that wrapped is out of bounds.
  const int64_t big = std::numeric_limits<int64_t>::max();
  {
    Prog p;
    p.add(Prog::li(4, big));
    p.add(Prog::alu(Opcode::Add, 5, 4, 4, 1)); // big + (big + 1)
    storeRegs(p, 5);
    ASSERT_TRUE(p.run().ok());
    EXPECT_EQ(p.i64(32), int64_t(uint64_t(big) + uint64_t(big) + 1));
  }
  {
    Prog p;
    p.add(Prog::li(4, big));
    p.add(Prog::dma(Opcode::DmaNeural, 0, Space::Spm, 0, Space::Dram, 1 << 20,
                    p.desc(DType::F32, DType::F32, {4}, {1}, {1}), 0, 4));
    Status s = p.run();
    ASSERT_FALSE(s.ok());
    EXPECT_MESSAGE(s.message(), "DMA source out of bounds");
  }
  {
    Prog p;
    Inst ld(Opcode::Ld64);
    ld[fld::Ld64::rd] = 5;
    ld[fld::Ld64::space] = int64_t(Space::Dram);
    ld[fld::Ld64::ra] = 4;
    ld[fld::Ld64::imm] = 1 << 20;
    p.add(Prog::li(4, big));
    p.add(ld);
    Status s = p.run();
    ASSERT_FALSE(s.ok());
    EXPECT_MESSAGE(s.message(), "CP load out of bounds");
  }
  for (int64_t diag : {big, -big}) {
    Prog p;
    p.add(Prog::li(4, diag));
    Inst m(Opcode::VMaskUpper, 0);
    m[fld::VMaskUpper::dst] = 64;
    m[fld::VMaskUpper::src] = 0;
    m[fld::VMaskUpper::rows] = 2;
    m[fld::VMaskUpper::cols] = 4;
    m[fld::VMaskUpper::diag] = 1 << 20;
    m[fld::VMaskUpper::rdiag] = 4;
    p.add(m);
    ASSERT_TRUE(p.run().ok());
  }
}

TEST(HostileProgram, MisalignedVectorOperand) {
  // Float access at an unaligned SPM offset (undefined behaviour) traps.
  Prog p;
  Inst add(Opcode::VAdd, 0);
  add[fld::VAdd::dst] = 128;
  add[fld::VAdd::src0] = 2;
  add[fld::VAdd::src1] = 64;
  add[fld::VAdd::rows] = 1;
  add[fld::VAdd::cols] = 4;
  p.add(add);
  Status s = p.run();
  ASSERT_FALSE(s.ok());
  EXPECT_MESSAGE(s.message(), "vector src0 at spm[0x2] is not aligned to its 4-byte elements");
}

TEST(HostileProgram, WallClockWatchdog) {
  // A loop of engine work under every work limit still ends by wall time.
  Prog p = engineLoop();
  p.opts.maxWallSeconds = 0.2;
  auto t0 = std::chrono::steady_clock::now();
  Status s = p.run();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(s.ok());
  EXPECT_MESSAGE(s.message(), "more than 0.2 s of wall time");
  EXPECT_LT(took, 5.0);
}

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define RBLN_NO_RLIMIT_TEST 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define RBLN_NO_RLIMIT_TEST 1
#endif

TEST(HostileProgram, HostOutOfMemoryForSimulatedMemoryTraps) {
#ifdef RBLN_NO_RLIMIT_TEST
  GTEST_SKIP() << "sanitizers reserve address space; the limit would stop them, not the simulator";
#else
  // SHM of 4 GiB (the largest a target may declare) when the host cannot
  // give it: the access traps with a message (it used to trap with an empty
  // one for a CP load, and to skip a task DMA silently).
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct rlimit lim = {size_t(1) << 30, size_t(1) << 30};
    setrlimit(RLIMIT_AS, &lim);
    Prog p;
    p.t.set_shm_bytes(kMaxTargetShmBytes);
    Inst ld(Opcode::Ld64);
    ld[fld::Ld64::rd] = 1;
    ld[fld::Ld64::space] = int64_t(Space::Shm);
    p.add(ld);
    Status s = p.run();
    bool ok = !s.ok() && s.message().find("cannot allocate the 4294967296 bytes of simulated shm") !=
                             std::string::npos;
    if (!ok)
      fprintf(stderr, "%s\n", s.message().c_str());
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
#endif
}

TEST(HostileProgram, OverlappingElementDma) {
  // A DMA whose source and destination elements overlap (DRAM to DRAM, 3
  // bytes apart, element by element): a defined element-by-element copy, as
  // memmove in order — it was memcpy of overlapping ranges (ASan: found by
  // rbln-fuzz-artifact; regression input fuzz/regressions/artifact/).
  Prog p;
  for (int i = 0; i < 16; ++i)
    p.dram[size_t(i)] = uint8_t(i + 1);
  std::vector<uint8_t> want(p.dram.begin(), p.dram.begin() + 16);
  for (int e = 0; e < 2; ++e) // sizes {2}, source stride 1, destination stride 2
    std::memmove(want.data() + 3 + 8 * e, want.data() + 4 * e, 4);
  p.add(Prog::dma(Opcode::DmaTask, 0, Space::Dram, 3, Space::Dram, 0,
                  p.desc(DType::F32, DType::F32, {2}, {1}, {2})));
  Status s = p.run();
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(std::vector<uint8_t>(p.dram.begin(), p.dram.begin() + 16), want);
}

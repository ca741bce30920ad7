//===- ArtifactFuzzer.cpp - The .rbln loader, validator, disassembler and runtime ===//
//
// Any bytes as an artifact: load (header, sections, checksums, metadata,
// decoding, validation), disassemble every instruction with its ONNX node,
// then run each function on the simulator (DRAM capped, zero inputs) and, for
// a generation artifact, one LLM step. Every outcome must be a clean error or
// a trap with a message. Seeds: artifacts compiled from the test models
// (scripts/fuzz.sh); checksums are fixed up by the mutator below so mutations
// reach the values behind them.
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"
#include "rbln/runtime/Artifact.h"
#include "rbln/runtime/LlmStep.h"
#include "rbln/runtime/Runtime.h"

#include <cstring>

using namespace rbln;

namespace {

SessionOptions sessionOptions(const Artifact &a) {
  SessionOptions so;
  proto::TargetDesc t = a.metadata().target();
  if (t.dram_bytes() > fuzz::kMaxDramBytes)
    t.set_dram_bytes(fuzz::kMaxDramBytes);
  so.target = t;
  so.simThreads = 1;
  so.timeoutSeconds = fuzz::kMaxWallSeconds;
  so.maxCpSteps = fuzz::kMaxCpSteps;
  so.maxCommands = fuzz::kMaxCommands;
  so.maxCycles = fuzz::kMaxCycles;
  return so;
}

void runFunctions(const std::shared_ptr<Artifact> &a) {
  const proto::Metadata &md = a->metadata();
  if (md.has_llm()) {
    StepRunnerOptions o;
    o.session = sessionOptions(*a);
    o.numBlocks = 4;
    o.numLocalBlocks = 4;
    auto r = LlmStepRunner::create(a, o);
    if (!r.ok())
      return;
    StepSequence s;
    s.tokens = {1, 2};
    s.blockTable = {1};
    s.localBlockTable = {1};
    (void)(*r)->step({s});
    return;
  }
  for (const proto::Function &fn : md.functions()) {
    SessionOptions so = sessionOptions(*a);
    so.function = fn.name();
    auto s = Session::create(a, so);
    if (!s.ok())
      continue;
    for (int i = 0; i < fn.inputs_size(); ++i) {
      const proto::TensorSig &sig = fn.inputs(i);
      HostTensor t;
      t.dtype = DType(sig.dtype());
      t.shape.assign(sig.shape().begin(), sig.shape().end());
      t.data.assign(size_t(t.byteSize()), 0); // bounded: Session::create fitted it in DRAM
      (void)(*s)->setInput(unsigned(i), t);
    }
    (void)(*s)->run();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path = fuzz::writeInput(data, size, ".rbln");
  auto a = Artifact::load(path);
  if (!a.ok())
    return 0;
  for (unsigned f = 0; f < unsigned((*a)->metadata().functions_size()); ++f)
    for (unsigned i = 0; i < (*a)->code(f).size(); ++i) {
      std::string text = isa::disassemble((*a)->code(f)[i]);
      text += (*a)->location(f, i);
    }
  runFunctions(*a);
  return 0;
}

// Keep checksums valid after a mutation, so most mutants reach validation
// instead of stopping at "checksum mismatch" (libFuzzer's custom mutator).
extern "C" size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t maxSize);
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t maxSize,
                                          unsigned int seed) {
  size = LLVMFuzzerMutate(data, size, maxSize);
  if (seed % 8 == 0 || size < kArtifactHeaderBytes)
    return size; // sometimes leave the checksums broken too
  uint64_t declared = size;
  std::memcpy(data + 24, &declared, 8);
  uint32_t n;
  std::memcpy(&n, data + 12, 4);
  for (uint32_t i = 0; i < n && i < 64; ++i) {
    uint64_t e = kArtifactHeaderBytes + uint64_t(i) * kSectionEntryBytes;
    if (e + kSectionEntryBytes > size)
      break;
    uint64_t off, len;
    std::memcpy(&off, data + e + 8, 8);
    std::memcpy(&len, data + e + 16, 8);
    if (off <= size && len <= size - off) {
      uint32_t crc = crc32(data + off, len);
      std::memcpy(data + e + 24, &crc, 4);
    }
  }
  uint32_t hc = crc32(data, 32);
  std::memcpy(data + 32, &hc, 4);
  return size;
}

//===- SimulatorFuzzer.cpp - Random valid programs on the simulator -------===//
//
// Structure-aware: the input is read as a program, not as bytes to decode.
// Up to 8 DMA descriptors (any element types, 4-bit and 8-bit floats
// included, sometimes non-saturating; sizes and strides biased to small
// values and to the edges: 0, 2^40, negative), then instructions whose opcode, unit,
// semaphores and every field (by its kind and width from Isa.def) come from
// the input, branch targets inside the program. Whatever passes the
// artifact validator runs on the `tiny` target (and on `atom`, one input in
// four) with small work limits: loops that issue engine work, hostile
// addresses and sizes, deadlocks. Every run must end, cleanly or in a trap.
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"
#include "rbln/runtime/Artifact.h"
#include "rbln/runtime/Target.h"
#include "sim/Simulator.h"

#include <fuzzer/FuzzedDataProvider.h>

using namespace rbln;
using namespace rbln::isa;

namespace {

int64_t biased(FuzzedDataProvider &in, unsigned bits, bool isSigned) {
  uint64_t max = bits >= 64 ? ~uint64_t(0) : (uint64_t(1) << bits) - 1;
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
  case 0: return 0;
  case 1: return isSigned ? -1 : int64_t(max >> (isSigned ? 1 : 0));
  case 2: return in.ConsumeIntegralInRange<int64_t>(0, 16);
  case 3: return in.ConsumeIntegralInRange<int64_t>(0, 4096) * 4;
  default: {
    uint64_t v = in.ConsumeIntegral<uint64_t>() & max;
    if (isSigned && bits < 64 && (v >> (bits - 1)))
      v |= ~max; // sign-extend
    return int64_t(v);
  }
  }
}

int64_t extent(FuzzedDataProvider &in) {
  switch (in.ConsumeIntegralInRange<int>(0, 5)) {
  case 0: return 0;
  case 1: return int64_t(1) << 40;
  case 2: return -in.ConsumeIntegralInRange<int64_t>(1, 8);
  case 3: return in.ConsumeIntegral<int64_t>();
  default: return in.ConsumeIntegralInRange<int64_t>(1, 64);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const proto::TargetDesc tiny = *loadTarget("tiny");
  static const proto::TargetDesc atom = [] {
    proto::TargetDesc t = *loadTarget("atom");
    t.set_dram_bytes(fuzz::kMaxDramBytes);
    return t;
  }();
  FuzzedDataProvider in(data, size);
  const proto::TargetDesc &t = in.ConsumeIntegralInRange<int>(0, 3) == 0 ? atom : tiny;
  proto::Function fn;
  fn.set_name("fuzz");
  int numDescs = in.ConsumeIntegralInRange<int>(0, 8);
  for (int d = 0; d < numDescs; ++d) {
    proto::DmaDesc *p = fn.add_dma_descs();
    p->set_src_dtype(proto::DType(in.ConsumeIntegralInRange<int>(0, kNumDTypes)));
    p->set_dst_dtype(proto::DType(in.ConsumeIntegralInRange<int>(0, kNumDTypes)));
    p->set_no_saturate(in.ConsumeIntegralInRange<int>(0, 3) == 0); // (valid only to an 8-bit float)
    int nd = in.ConsumeIntegralInRange<int>(1, 4);
    for (int i = 0; i < nd; ++i) {
      p->add_sizes(extent(in));
      p->add_src_strides(extent(in));
      p->add_dst_strides(extent(in));
    }
  }
  std::vector<Inst> code;
  size_t numInsts = in.ConsumeIntegralInRange<size_t>(1, 64);
  for (size_t k = 0; k < numInsts && in.remaining_bytes() > 0; ++k) {
    Inst inst(Opcode(in.ConsumeIntegralInRange<unsigned>(0, kNumOpcodes - 1)),
              in.ConsumeIntegralInRange<uint8_t>(0, 9));
    if (in.ConsumeBool())
      inst.signal = in.ConsumeIntegralInRange<uint8_t>(0, 9);
    if (in.ConsumeBool())
      inst.wait[0] = {in.ConsumeIntegralInRange<uint8_t>(0, 9), in.ConsumeIntegralInRange<uint32_t>(0, 4)};
    const InstSpec &s = inst.spec();
    for (unsigned f = 0; f < s.numFields; ++f) {
      const FieldSpec &fs = s.fields[f];
      switch (fs.kind) {
      case FieldKind::Reg: inst[f] = in.ConsumeIntegralInRange<int64_t>(0, kNumRegs - 1); break;
      case FieldKind::Space: inst[f] = in.ConsumeIntegralInRange<int64_t>(0, 2); break;
      case FieldKind::DType: inst[f] = in.ConsumeIntegralInRange<int64_t>(0, kNumDTypes - 1); break;
      case FieldKind::Flag: inst[f] = in.ConsumeBool(); break;
      case FieldKind::Bcast: inst[f] = in.ConsumeIntegralInRange<int64_t>(0, 3); break;
      case FieldKind::S: inst[f] = biased(in, fs.bits, true); break;
      case FieldKind::U: case FieldKind::F32: inst[f] = biased(in, fs.bits, false); break;
      }
    }
    code.push_back(inst);
  }
  code.push_back(Inst(Opcode::Halt));
  // Keep branch and jump targets and descriptor indices mostly in range, so
  // programs loop instead of failing validation.
  for (Inst &inst : code) {
    switch (inst.op) {
    case Opcode::Blt: case Opcode::Bge: case Opcode::Beq: case Opcode::Bne:
      inst[fld::Blt::target] %= int64_t(code.size());
      break;
    case Opcode::Jmp: inst[fld::Jmp::target] %= int64_t(code.size()); break;
    case Opcode::DmaTask: case Opcode::DmaNeural:
      if (numDescs)
        inst[fld::DmaTask::desc] %= numDescs;
      break;
    default: break;
    }
    uint8_t word[kWordBytes];
    if (!encode(inst, word).ok())
      return 0; // a field past its width: not a program an artifact can hold
  }
  if (!validateFunctionCode(fn, code, t).ok())
    return 0;
  sim::Options o;
  o.maxCpSteps = fuzz::kMaxCpSteps;
  o.maxCommands = fuzz::kMaxCommands;
  o.maxCycles = fuzz::kMaxCycles;
  o.maxWallSeconds = fuzz::kMaxWallSeconds;
  o.threads = 1; // deterministic coverage (the lanes are TSan's job)
  sim::Simulator sim(t, o);
  std::vector<uint8_t> dram(1 << 20, 0);
  sim::LaunchArgs args;
  args.argBlock = 0;
  args.weights = 4096;
  args.weightsBytes = 4096;
  args.scratch = 8192;
  sim::Stats stats;
  (void)sim.run(fn, code, dram, args, stats);
  return 0;
}

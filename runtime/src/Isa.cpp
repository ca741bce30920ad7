//===- Isa.cpp - Encoding, decoding and disassembly from Isa.def ----------===//
#include "rbln/runtime/Isa.h"

#include <cstring>

namespace rbln::isa {
namespace {

#define F(KIND, NAME, BITS) {#NAME, FieldKind::KIND, BITS, 0},
#define RBLN_INST(E_, M_, U_, C_, K_, FIELDS_, S_)                                  \
  FieldSpec kFields_##E_[] = {FIELDS_{nullptr, FieldKind::U, 0, 0}};
#include "rbln/runtime/Isa.def"
#undef F

InstSpec kSpecs[] = {
#define RBLN_INST(E_, M_, U_, C_, K_, FIELDS_, S_)                                  \
  {Opcode::E_, M_, Unit::U_, InstClass::C_, CostClass::K_, kFields_##E_,                                         \
   sizeof(kFields_##E_) / sizeof(FieldSpec) - 1, S_},
#include "rbln/runtime/Isa.def"
};

// Field offsets are a pure function of the table; computed once (a static
// local's guard, not std::call_once, whose thread-local bookkeeping cost a
// TLS lookup on every call).
const InstSpec *specs() {
  static const bool laidOut = [] {
    for (InstSpec &s : kSpecs) {
      unsigned off = kHeaderBits;
      for (unsigned i = 0; i < s.numFields; ++i) {
        const_cast<FieldSpec &>(s.fields[i]).offset = uint16_t(off);
        off += s.fields[i].bits;
      }
      if (off > kWordBytes * 8 || s.numFields > kMaxFields)
        __builtin_trap(); // a table bug, caught by the unit tests at once
    }
    return true;
  }();
  (void)laidOut;
  return kSpecs;
}

/// Reads `bits` (at most 64) bits starting at bit `off`.
uint64_t getBits(const uint8_t *w, unsigned off, unsigned bits) {
  uint64_t v = 0;
  for (unsigned i = 0; i < bits; ++i) {
    unsigned b = off + i;
    v |= uint64_t((w[b >> 3] >> (b & 7)) & 1u) << i;
  }
  return v;
}

void setBits(uint8_t *w, unsigned off, unsigned bits, uint64_t v) {
  for (unsigned i = 0; i < bits; ++i) {
    unsigned b = off + i;
    if ((v >> i) & 1u)
      w[b >> 3] |= uint8_t(1u << (b & 7));
  }
}

bool fieldValueValid(const FieldSpec &fs, int64_t v) {
  switch (fs.kind) {
  case FieldKind::Reg: return v >= 0 && v < int64_t(kNumRegs);
  case FieldKind::Space: return v >= 0 && v <= int64_t(Space::Spm);
  case FieldKind::DType: // (which instruction may name which type: validateFunctionCode)
    return v >= 0 && v < int64_t(kNumDTypes);
  case FieldKind::Flag: return v == 0 || v == 1;
  case FieldKind::Bcast: return v >= 0 && v <= int64_t(Bcast::Imm);
  case FieldKind::F32: return v >= 0 && v <= int64_t(UINT32_MAX);
  case FieldKind::U: case FieldKind::Label:
    return v >= 0 && (fs.bits >= 63 || uint64_t(v) < (uint64_t(1) << fs.bits));
  case FieldKind::S:
    if (fs.bits >= 64) return true;
    return v >= -(int64_t(1) << (fs.bits - 1)) && v < (int64_t(1) << (fs.bits - 1));
  }
  return false;
}

} // namespace

const char *className(InstClass c) {
  static const char *const kNames[] = {"scalar", "load", "store", "branch", "jump",
                                       "sync", "trap", "dma", "matmul", "vbinary",
                                       "vunary", "vreduce", "vmask", "vsoftmax_step", "vcast"};
  return kNames[unsigned(c)];
}

const char *costName(CostClass c) {
  static const char *const kNames[] = {"scalar", "dma", "tensor", "vsimple",
                                       "vtranscendental", "vreduce", "vsoftmax_step"};
  return kNames[unsigned(c)];
}

VectorPasses vectorPasses(CostClass c) {
  switch (c) {
#define RBLN_COST(E_, S_, T_, R_)                                                               \
  case CostClass::E_: return {S_, T_, R_};
#include "rbln/runtime/Isa.def"
  default: return {};
  }
}

const char *trapMessage(int64_t code) {
  switch (code) {
#define RBLN_TRAP(E_, C_, M_)                                                                   \
  case C_: return M_;
#include "rbln/runtime/Isa.def"
  default: return nullptr;
  }
}

std::string markdownTrapTable() {
  std::string out = "| code | name | message |\n|---|---|---|\n";
#define RBLN_TRAP(E_, C_, M_) out += fmt::format("| {} | `{}` | {} |\n", C_, #E_, M_);
#include "rbln/runtime/Isa.def"
  return out;
}

const char *unitName(Unit u) {
  switch (u) {
  case Unit::Cp: return "cp";
  case Unit::TaskDma: return "task-dma";
  case Unit::NeuralDma: return "neural-dma";
  case Unit::Tensor: return "tensor";
  case Unit::Vector: return "vector";
  }
  return "?";
}

const char *spaceName(Space s) {
  switch (s) {
  case Space::Dram: return "dram";
  case Space::Shm: return "shm";
  case Space::Spm: return "spm";
  }
  return "?";
}

const char *bcastName(Bcast b) {
  switch (b) {
  case Bcast::None: return "none";
  case Bcast::Row: return "row";
  case Bcast::Col: return "col";
  case Bcast::Imm: return "imm";
  }
  return "?";
}

int InstSpec::fieldIndex(std::string_view name) const {
  for (unsigned i = 0; i < numFields; ++i)
    if (name == fields[i].name)
      return int(i);
  return -1;
}

const InstSpec &spec(Opcode op) { return specs()[unsigned(op)]; }

const InstSpec *lookup(std::string_view mnemonic) {
  const InstSpec *all = specs();
  for (unsigned i = 0; i < kNumOpcodes; ++i)
    if (mnemonic == all[i].mnemonic)
      return &all[i];
  return nullptr;
}

bool Inst::operator==(const Inst &o) const {
  if (op != o.op || unit != o.unit || signal != o.signal)
    return false;
  for (unsigned i = 0; i < 2; ++i)
    if (wait[i].sem != o.wait[i].sem ||
        (wait[i].active() && wait[i].value != o.wait[i].value))
      return false;
  unsigned n = spec().numFields;
  for (unsigned i = 0; i < n; ++i)
    if (f[i] != o.f[i])
      return false;
  return true;
}

Status encode(const Inst &inst, uint8_t *out) {
  if (unsigned(inst.op) >= kNumOpcodes)
    return makeError("cannot encode opcode {}", unsigned(inst.op));
  const InstSpec &s = spec(inst.op);
  std::memset(out, 0, kWordBytes);
  setBits(out, 0, 8, uint8_t(inst.op));
  setBits(out, 8, 8, inst.unit);
  setBits(out, 16, 8, inst.signal);
  for (unsigned i = 0; i < 2; ++i) {
    setBits(out, 24 + 40 * i, 8, inst.wait[i].sem);
    setBits(out, 32 + 40 * i, 32, inst.wait[i].active() ? inst.wait[i].value : 0);
  }
  for (unsigned i = 0; i < s.numFields; ++i) {
    const FieldSpec &fs = s.fields[i];
    int64_t v = inst.f[i];
    if (!fieldValueValid(fs, v))
      return makeError("{}: field '{}' value {} does not fit {} bits", s.mnemonic,
                       fs.name, v, unsigned(fs.bits));
    setBits(out, fs.offset, fs.bits, uint64_t(v));
  }
  return Status::success();
}

Expected<Inst> decode(const uint8_t *in, unsigned dtypeBits) {
  unsigned opc = unsigned(getBits(in, 0, 8));
  if (opc >= kNumOpcodes)
    return makeError("invalid encoding: unknown opcode 0x{:02x}", opc);
  Inst inst(Opcode(opc), uint8_t(getBits(in, 8, 8)));
  const InstSpec &s = spec(inst.op);
  inst.signal = uint8_t(getBits(in, 16, 8));
  for (unsigned i = 0; i < 2; ++i) {
    inst.wait[i].sem = uint8_t(getBits(in, 24 + 40 * i, 8));
    inst.wait[i].value = uint32_t(getBits(in, 32 + 40 * i, 32));
    if (!inst.wait[i].active() && inst.wait[i].value != 0)
      return makeError("invalid encoding: {}: reserved wait value set without a semaphore",
                       s.mnemonic);
  }
  // A word of an older layout (DType fields narrower) is read at offsets
  // laid out with that width.
  unsigned end = kHeaderBits;
  for (unsigned i = 0; i < s.numFields; ++i) {
    FieldSpec fs = s.fields[i];
    if (fs.kind == FieldKind::DType)
      fs.bits = uint8_t(std::min<unsigned>(fs.bits, dtypeBits));
    fs.offset = uint16_t(end);
    uint64_t raw = getBits(in, fs.offset, fs.bits);
    int64_t v = int64_t(raw);
    if (fs.kind == FieldKind::S && fs.bits < 64 && (raw >> (fs.bits - 1)) & 1u)
      v = int64_t(raw | (~uint64_t(0) << fs.bits));
    if (!fieldValueValid(fs, v))
      return makeError("invalid encoding: {}: field '{}' has invalid value {}", s.mnemonic,
                       fs.name, v);
    inst.f[i] = v;
    end = fs.offset + fs.bits;
  }
  for (unsigned b = end; b < kWordBytes * 8; b += 64)
    if (getBits(in, b, std::min(64u, kWordBytes * 8 - b)) != 0)
      return makeError("invalid encoding: {}: reserved bits set", s.mnemonic);
  return inst;
}

static std::string fieldText(const FieldSpec &fs, int64_t v) {
  switch (fs.kind) {
  case FieldKind::Reg: return fmt::format("r{}", v);
  case FieldKind::Space: return spaceName(Space(v));
  case FieldKind::DType: return dtypeName(DType(v));
  case FieldKind::Bcast: return bcastName(Bcast(v));
  case FieldKind::F32: return fmt::format("{}", bitsFloat(uint32_t(v)));
  default: return fmt::format("{}", v);
  }
}

std::string disassemble(const Inst &inst) {
  const InstSpec &s = spec(inst.op);
  std::string out = s.mnemonic;
  if (s.unit != Unit::Cp)
    out += fmt::format(".{}", unsigned(inst.unit));
  for (unsigned i = 0; i < s.numFields; ++i)
    out += fmt::format("{}{}={}", i ? ", " : " ", s.fields[i].name,
                       fieldText(s.fields[i], inst.f[i]));
  std::string sync;
  for (const WaitCond &w : inst.wait)
    if (w.active())
      sync += fmt::format("{}s{}>={}", sync.empty() ? "" : ", ", unsigned(w.sem), w.value);
  if (!sync.empty())
    out += " wait(" + sync + ")";
  if (inst.signal != kNoSem)
    out += fmt::format(" signal(s{})", unsigned(inst.signal));
  return out;
}

std::string markdownTable() {
  std::string out = "| opcode | mnemonic | unit | class | cost | fields (bits) | semantics |\n"
                    "|---|---|---|---|---|---|---|\n";
  const InstSpec *all = specs();
  for (unsigned i = 0; i < kNumOpcodes; ++i) {
    const InstSpec &s = all[i];
    std::string fields;
    for (unsigned j = 0; j < s.numFields; ++j)
      fields += fmt::format("{}{}:{}", j ? ", " : "", s.fields[j].name,
                            unsigned(s.fields[j].bits));
    out += fmt::format("| 0x{:02x} | `{}` | {} | {} | {} | {} | {} |\n", i, s.mnemonic,
                       unitName(s.unit), className(s.klass), costName(s.cost),
                       fields.empty() ? "—" : fields, s.summary);
  }
  out += "\nVector cost classes, as passes per lane-group of elements (each at the target's "
         "`vector.*_op_cycles`):\n\n| cost | simple | transcendental | reduce |\n|---|---|---|---|\n";
  for (CostClass c : {CostClass::VSimple, CostClass::VTranscendental, CostClass::VReduce,
                      CostClass::VSoftmaxStep}) {
    VectorPasses p = vectorPasses(c);
    out += fmt::format("| {} | {} | {} | {} |\n", costName(c), p.simple, p.transcendental, p.reduce);
  }
  return out;
}

} // namespace rbln::isa

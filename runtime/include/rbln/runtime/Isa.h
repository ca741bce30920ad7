//===- Isa.h - rbln NPU instruction set -------------------------*- C++ -*-===//
//
// Instructions are fixed 32-byte little-endian words:
//   bits   0..7    opcode
//   bits   8..15   unit (NE index, DMA engine or queue index; 0 for the CP)
//   bits  16..23   signal semaphore (0xff = none), incremented on completion
//   bits  24..31   wait[0] semaphore (0xff = none)
//   bits  32..63   wait[0] value: start once sem >= value
//   bits  64..71   wait[1] semaphore
//   bits  72..103  wait[1] value
//   bits 104..255  the opcode's fields from Isa.def, packed in order; every bit
//                  past the last field is reserved and must be zero.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "rbln/runtime/DType.h"
#include "rbln/runtime/Error.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace rbln::isa {

constexpr unsigned kWordBytes = 32;
constexpr unsigned kHeaderBits = 104;
constexpr unsigned kMaxFields = 12;
constexpr unsigned kNumRegs = 32;
constexpr uint8_t kNoSem = 0xff;

/// The engine class that executes an instruction.
enum class Unit : uint8_t { Cp, TaskDma, NeuralDma, Tensor, Vector };
const char *unitName(Unit u);

enum class FieldKind : uint8_t { Reg, Space, DType, U, S, Flag, Bcast, F32, Label };

/// What an instruction does (Isa.def's Class column).
enum class InstClass : uint8_t {
  Scalar, Load, Store, Branch, Jump, Sync, Trap, Dma, Matmul,
  VBinary, VUnary, VReduce, VMask, VSoftmaxStep, VCast
};
const char *className(InstClass c);
/// How the timing model charges an instruction (Isa.def's Cost column).
enum class CostClass : uint8_t {
  Scalar, Dma, Tensor, VSimple, VTranscendental, VReduce, VSoftmaxStep
};
const char *costName(CostClass c);
/// A vector cost class's passes over its elements by kind (Isa.def
/// RBLN_COST); all zero for the other classes.
struct VectorPasses {
  unsigned simple = 0, transcendental = 0, reduce = 0;
};
VectorPasses vectorPasses(CostClass c);

/// The run-time checks a program makes (`trap code`), from Isa.def.
enum class TrapCode : uint16_t {
#define RBLN_TRAP(E_, C_, M_) E_ = C_,
#include "rbln/runtime/Isa.def"
};
/// The message of trap `code`; nullptr for a code the table lacks.
const char *trapMessage(int64_t code);
/// The trap table as a Markdown table (part of docs/isa.md).
std::string markdownTrapTable();

/// Memory spaces as DMA and load/store operands name them. `Spm` is the
/// scratchpad of the NE that owns the issuing queue.
enum class Space : uint8_t { Dram = 0, Shm = 1, Spm = 2 };
const char *spaceName(Space s);

/// How a binary vector op reads src1: a full tile, one row of `cols` values
/// broadcast down the rows, one column of `rows` values broadcast across, or
/// the `scalar` immediate.
enum class Bcast : uint8_t { None = 0, Row = 1, Col = 2, Imm = 3 };
const char *bcastName(Bcast b);

enum class Opcode : uint8_t {
#define RBLN_INST(E_, M_, U_, C_, K_, FIELDS_, S_) E_,
#include "rbln/runtime/Isa.def"
  NumOpcodes
};
constexpr unsigned kNumOpcodes = unsigned(Opcode::NumOpcodes);

/// Named field indices per opcode: `fld::Mm::k` is the index of Mm's `k`.
namespace fld {
#define F(KIND, NAME, BITS) NAME,
#define RBLN_INST(E_, M_, U_, C_, K_, FIELDS_, S_)                                  \
  namespace E_ {                                                                \
  enum : unsigned { FIELDS_ NumFields };                                        \
  }
#include "rbln/runtime/Isa.def"
#undef F
} // namespace fld

struct FieldSpec {
  const char *name;
  FieldKind kind;
  uint8_t bits;
  uint16_t offset; ///< bit offset within the word
};

struct InstSpec {
  Opcode op;
  const char *mnemonic;
  Unit unit;
  InstClass klass;
  CostClass cost;
  const FieldSpec *fields;
  unsigned numFields;
  const char *summary;
  int fieldIndex(std::string_view name) const;
};

const InstSpec &spec(Opcode op);
/// The engine class of each opcode, inline: the simulator asks per command.
inline constexpr Unit kOpcodeUnit[] = {
#define RBLN_INST(E_, M_, U_, C_, K_, FIELDS_, S_) Unit::U_,
#include "rbln/runtime/Isa.def"
};
inline Unit unitOf(Opcode op) { return kOpcodeUnit[unsigned(op)]; }
/// The class of each opcode, inline for the same reason.
inline constexpr InstClass kOpcodeClass[] = {
#define RBLN_INST(E_, M_, U_, C_, K_, FIELDS_, S_) InstClass::C_,
#include "rbln/runtime/Isa.def"
};
inline InstClass classOf(Opcode op) { return kOpcodeClass[unsigned(op)]; }
/// Looks an instruction up by mnemonic; nullptr if there is none.
const InstSpec *lookup(std::string_view mnemonic);

struct WaitCond {
  uint8_t sem = kNoSem;
  uint32_t value = 0;
  bool active() const { return sem != kNoSem; }
};

/// A decoded instruction: the header and the opcode's fields by index.
struct Inst {
  Opcode op = Opcode::Halt;
  uint8_t unit = 0;
  uint8_t signal = kNoSem;
  std::array<WaitCond, 2> wait{};
  std::array<int64_t, kMaxFields> f{};

  Inst() = default;
  explicit Inst(Opcode o, uint8_t u = 0) : op(o), unit(u) {}
  int64_t &operator[](unsigned i) { return f[i]; }
  int64_t operator[](unsigned i) const { return f[i]; }
  const InstSpec &spec() const { return isa::spec(op); }
  Unit unitKind() const { return unitOf(op); }
  bool operator==(const Inst &o) const;
};

/// Encodes `inst` into 32 bytes; fails if a field does not fit its width.
Status encode(const Inst &inst, uint8_t *out);
/// The width of DType fields in words written by format 1.0-1.3, before the
/// 8-bit float types (4 bits since 1.4).
constexpr unsigned kLegacyDTypeBits = 3;
/// Decodes one word; fails on unknown opcodes, bad registers/spaces/dtypes
/// and reserved bits that are set. `dtypeBits` reads an older layout.
Expected<Inst> decode(const uint8_t *in, unsigned dtypeBits = 64);
/// One line of assembly, e.g. `mm.0 c=0, a=4096, ... wait(s1>=2) signal(s3)`.
std::string disassemble(const Inst &inst);
/// The instruction table as a Markdown table (the body of docs/isa.md).
std::string markdownTable();

} // namespace rbln::isa

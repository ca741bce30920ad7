//===- OnlineSoftmax.cpp - The end of an online-softmax item ----------------===//
#include "passes/Kernels/ProgramBuilder.h"

namespace rbln::npu_to_isa {

SmallVector<Inst> normalizeRows(unsigned ne, int64_t o, int64_t lRow, int64_t z, int64_t t,
                                int64_t rows, int64_t dv) {
  using isa::Bcast;
  return {ProgramBuilder::vec(Opcode::VCmpEq, ne, z, lRow, 0, 1, rows, Bcast::Imm, 0.0f),
          ProgramBuilder::vun(Opcode::VRecip, ne, t, lRow, 1, rows),
          ProgramBuilder::vec(Opcode::VSel, ne, t, z, 0, 1, rows, Bcast::Imm, 0.0f),
          ProgramBuilder::vec(Opcode::VMul, ne, o, o, t, rows, dv, Bcast::Col)};
}

} // namespace rbln::npu_to_isa

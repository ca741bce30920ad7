//===- NpuIsaBase.td - The npuisa dialect: what every instruction shares -*- tablegen -*-===//
//
// The dialect, the field attribute kinds, the base class of instruction ops,
// labels and DMA descriptors. The instruction ops themselves are generated
// from runtime/include/rbln/runtime/Isa.def by rbln-isa-opsgen (IsaOpsGen.cpp)
// into the build's NpuIsaOps.td, which includes this file: one op per
// instruction, its fields as typed attributes, so the instruction set is
// written down once.
//
//===----------------------------------------------------------------------===//
#ifndef RBLN_NPUISA_BASE
#define RBLN_NPUISA_BASE

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/Interfaces.td"
include "NpuIsaInterfaces.td"

def NpuIsa_Dialect : Dialect {
  let name = "npuisa";
  let cppNamespace = "::rbln::npuisa";
  let summary = "NPU instructions, one op per instruction of Isa.def";
}

// Field kinds of Isa.def as attributes.
def NpuIsa_MemSpace : I32EnumAttr<"MemSpace", "a memory space as instructions name it", [
  I32EnumAttrCase<"dram", 0>, I32EnumAttrCase<"shm", 1>, I32EnumAttrCase<"spm", 2>]> {
  let cppNamespace = "::rbln::npuisa";
}
def NpuIsa_Broadcast : I32EnumAttr<"Broadcast", "how a binary vector op reads src1", [
  I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"row", 1>, I32EnumAttrCase<"col", 2>,
  I32EnumAttrCase<"imm", 3>]> {
  let cppNamespace = "::rbln::npuisa";
}
def NpuIsa_RegField : ConfinedAttr<I32Attr, [IntNonNegative, IntMaxValue<31>]>;
def NpuIsa_UField : ConfinedAttr<I64Attr, [IntNonNegative]>;
defvar NpuIsa_SField = I64Attr;
defvar NpuIsa_FlagField = BoolAttr;
defvar NpuIsa_F32Field = F32Attr;
defvar NpuIsa_DTypeField = TypeAttr;
/// A branch target: the name of an `npuisa.label` of the same function.
defvar NpuIsa_LabelField = StrAttr;
def NpuIsa_UnitField : ConfinedAttr<I32Attr, [IntNonNegative, IntMaxValue<255>]>;

class NpuIsa_Op<string mnemonic, list<Trait> traits = []> : Op<NpuIsa_Dialect, mnemonic, traits>;

/// One instruction: the fields of its Isa.def row, then the header (`unit`
/// for engine commands, up to two `waits` as (semaphore, value) pairs, the
/// `signal` semaphore). Printed as
///   npuisa.mm[0] c = 0, a = 4096, ..., in = f16, acc = 0 wait(s1 >= 2) signal(s3)
/// by one printer and parser driven by the instruction table; the verifier
/// checks each field against its width with the encoder the emitter uses.
class NpuIsa_Inst<string mnemonic, string opcode> : NpuIsa_Op<mnemonic,
    [NpuIsa_InstOpInterface]> {
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    static ::rbln::isa::Opcode getOpcode() { return ::rbln::isa::Opcode::}] # opcode # [{; }
  }];
  let extraClassDefinition = [{
    void $cppClass::print(::mlir::OpAsmPrinter &p) { ::rbln::npuisa::printInst(p, getOperation()); }
    ::mlir::ParseResult $cppClass::parse(::mlir::OpAsmParser &parser,
                                         ::mlir::OperationState &result) {
      return ::rbln::npuisa::parseInst(parser, result, getOpcode());
    }
    ::llvm::LogicalResult $cppClass::verify() { return ::rbln::npuisa::verifyInst(getOperation()); }
  }];
}

def NpuIsa_LabelOp : NpuIsa_Op<"label"> {
  let summary = "a branch target: the position of the next instruction";
  let description = [{
    ```
    npuisa.label L12
    npuisa.blt ra = r4, rb = r5, target = L12
    ```
    Emits nothing; branches name it and the emitter resolves the name to
    the index of the instruction that follows it.
  }];
  let arguments = (ins StrAttr:$name);
  let hasCustomAssemblyFormat = 1;
}

def NpuIsa_DescOp : NpuIsa_Op<"desc"> {
  let summary = "a DMA descriptor of the function's descriptor table";
  let arguments = (ins I64Attr:$id, TypeAttr:$src_type, TypeAttr:$dst_type,
                   DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$src_strides,
                   DenseI64ArrayAttr:$dst_strides,
                   DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let assemblyFormat = [{
    $id `:` $src_type `->` $dst_type `sizes` $sizes `src_strides` $src_strides
    `dst_strides` $dst_strides attr-dict
  }];
  let hasVerifier = 1;
}

#endif // RBLN_NPUISA_BASE

//===- NpuIsaOps.td - The npuisa dialect -------------------*- tablegen -*-===//
//
// One op per machine instruction. The instruction set itself is not repeated
// here: `npuisa.inst` names an instruction of runtime/include/rbln/runtime/
// Isa.def by mnemonic, and its verifier checks the fields against that table
// with the same encoder the emitter uses.
//
//===----------------------------------------------------------------------===//
#ifndef RBLN_NPUISA_OPS
#define RBLN_NPUISA_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/BuiltinAttributes.td"

def NpuIsa_Dialect : Dialect {
  let name = "npuisa";
  let cppNamespace = "::rbln::npuisa";
  let summary = "NPU instructions, one op per instruction word";
}

class NpuIsa_Op<string mnemonic, list<Trait> traits = []> : Op<NpuIsa_Dialect, mnemonic, traits>;

def NpuIsa_InstOp : NpuIsa_Op<"inst"> {
  let summary = "one instruction of the NPU instruction set";
  let description = [{
    ```
    npuisa.inst mm[0] c = 0, a = 4096, b = 8192, m = 32, n = 32, k = 64, in = f16,
                      acc = 0, ta = 0, tb = 0 wait(s1 >= 2) signal(s3)
    ```
    `unit` is the NE, DMA engine or queue (absent for the command processor);
    fields follow the instruction table's order; `wait` holds up to two
    semaphore conditions that must hold before the command starts; `signal`
    is incremented when it completes.
  }];
  let arguments = (ins StrAttr:$mnemonic, I64Attr:$unit, DenseI64ArrayAttr:$fields,
                   DenseI64ArrayAttr:$waits, I64Attr:$signal);
  let hasCustomAssemblyFormat = 1;
  let hasVerifier = 1;
}

def NpuIsa_DescOp : NpuIsa_Op<"desc"> {
  let summary = "a DMA descriptor of the function's descriptor table";
  let arguments = (ins I64Attr:$id, TypeAttr:$src_type, TypeAttr:$dst_type,
                   DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$src_strides,
                   DenseI64ArrayAttr:$dst_strides);
  let assemblyFormat = [{
    $id `:` $src_type `->` $dst_type `sizes` $sizes `src_strides` $src_strides
    `dst_strides` $dst_strides attr-dict
  }];
  let hasVerifier = 1;
}

#endif // RBLN_NPUISA_OPS

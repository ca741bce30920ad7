//===- NpuIsaInterfaces.td - npuisa op interfaces ------------*- tablegen -*-===//
#ifndef RBLN_NPUISA_INTERFACES
#define RBLN_NPUISA_INTERFACES

include "mlir/IR/OpBase.td"

def NpuIsa_InstOpInterface : OpInterface<"InstOpInterface"> {
  let description = "An op that is one instruction of Isa.def.";
  let cppNamespace = "::rbln::npuisa";
  let methods = [
    StaticInterfaceMethod<"the instruction's opcode", "::rbln::isa::Opcode", "getOpcode">,
  ];
}

#endif // RBLN_NPUISA_INTERFACES

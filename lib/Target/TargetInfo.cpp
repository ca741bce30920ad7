//===- TargetInfo.cpp - The target as the compiler sees it ----------------===//
#include "rbln/Target/TargetInfo.h"

#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace rbln {

FailureOr<TargetDesc> lookupTarget(Operation *op, StringRef option) {
  std::string name = option.str();
  if (name.empty()) {
    Operation *module = isa<ModuleOp>(op) ? op : op->getParentOfType<ModuleOp>();
    if (auto attr = module ? module->getAttrOfType<StringAttr>(kTargetAttrName) : nullptr)
      name = attr.str();
  }
  if (name.empty())
    name = "atom";
  auto t = loadTarget(name);
  if (!t.ok())
    return op->emitError(t.error()), failure();
  return *t;
}

} // namespace rbln

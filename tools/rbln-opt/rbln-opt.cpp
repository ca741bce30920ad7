//===- rbln-opt.cpp - Run rbln passes on MLIR files -----------------------===//
#include "dialects/Graph/GraphDialect.h"
#include "dialects/Npu/NpuDialect.h"
#include "dialects/NpuIsa/NpuIsaDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::func::FuncDialect, mlir::memref::MemRefDialect, rbln::graph::GraphDialect,
                  rbln::npu::NpuDialect, rbln::npuisa::NpuIsaDialect>();
  rbln::registerRblnPasses();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "rbln optimizer driver: rbln dialects and passes\n", registry));
}

//===- OnnxFuzzer.cpp - ONNX import and the whole compile pipeline --------===//
//
// Any bytes as an ONNX model (protobuf, or ONNX text format when built as
// rbln-fuzz-onnxtxt), compiled by the same driver rbln-compile runs, for the
// `tiny` target down to NPU instructions. Every outcome must be a clean
// diagnostic. Seeds: the test models (scripts/fuzz.sh).
//
//===----------------------------------------------------------------------===//
#include "FuzzCommon.h"
#include "rbln/Driver/Driver.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

#ifndef RBLN_FUZZ_TEXT
#define RBLN_FUZZ_TEXT 0
#endif

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    rbln::registerRblnDialects(*r);
    return r;
  }();
  rbln::CompileOptions o;
  o.input = rbln::fuzz::writeInput(data, size, RBLN_FUZZ_TEXT ? ".onnxtxt" : ".onnx");
  o.target = "tiny";
  o.compileTo = "isa";
  o.progress = false;
  o.maxSeqLen = 64;
  mlir::MLIRContext ctx(*registry, mlir::MLIRContext::Threading::DISABLED);
  ctx.loadAllAvailableDialects();
  mlir::ScopedDiagnosticHandler quiet(&ctx, [](mlir::Diagnostic &) { return mlir::success(); });
  (void)rbln::compile(ctx, o, llvm::nulls());
  return 0;
}

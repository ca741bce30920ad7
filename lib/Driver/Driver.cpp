//===- Driver.cpp - The pipeline rbln-compile runs ------------------------===//
#include "rbln/Driver/Driver.h"

#include "dialects/Graph/GraphDialect.h"
#include "dialects/Npu/NpuDialect.h"
#include "dialects/NpuIsa/NpuIsaDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/OperationSupport.h"
#include "mlir/Pass/PassManager.h"
#include "passes/Passes.h"
#include "rbln/Emit/Emitter.h"
#include "rbln/Frontend/Onnx/Importer.h"
#include "rbln/Target/TargetInfo.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "mlir/IR/Verifier.h"

#include <chrono>

using namespace mlir;

namespace rbln {

void registerRblnDialects(DialectRegistry &registry) {
  registry.insert<func::FuncDialect, memref::MemRefDialect, graph::GraphDialect, npu::NpuDialect,
                  npuisa::NpuIsaDialect>();
}

namespace {
class Progress {
public:
  explicit Progress(bool on) : on(on), start(std::chrono::steady_clock::now()) {}
  void step(const std::string &what) {
    if (!on)
      return;
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    llvm::errs() << llvm::format("[%6.2fs] ", s) << what << "\n";
  }

private:
  bool on;
  std::chrono::steady_clock::time_point start;
};

void printIR(ModuleOp m, llvm::raw_ostream &os) {
  OpPrintingFlags flags;
  flags.elideLargeResourceString(64);
  flags.elideLargeElementsAttrs(16);
  std::string text;
  llvm::raw_string_ostream ss(text);
  m->print(ss, flags);
  // Elided resources leave an empty `{-# #-}` trailer behind; drop it.
  size_t trailer = text.rfind("{-#");
  if (trailer != std::string::npos &&
      text.find_first_not_of(" \n", trailer + 3) == text.rfind("#-}"))
    text.erase(trailer);
  while (!text.empty() && text.back() == '\n')
    text.pop_back();
  os << text << "\n";
}

size_t countOps(ModuleOp m) {
  size_t n = 0;
  m.walk([&](Operation *op) {
    if (!llvm::isa<ModuleOp, func::FuncOp>(op))
      ++n;
  });
  return n;
}
} // namespace

void printOpStats(const std::vector<NodePlacement> &nodes, const std::vector<proto::OpStat> &stats,
                  StringRef format, llvm::raw_ostream &os) {
  auto quote = [](StringRef s) {
    std::string out = "\"";
    for (char c : s) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    return out + "\"";
  };
  if (format == "json") {
    os << "{\"ops\": [";
    for (size_t i = 0; i < stats.size(); ++i)
      os << (i ? ", " : "") << "{\"op\": " << quote(stats[i].op()) << ", \"placement\": "
         << quote(stats[i].placement()) << ", \"count\": " << stats[i].count() << "}";
    os << "],\n \"nodes\": [";
    for (size_t i = 0; i < nodes.size(); ++i)
      os << (i ? ",\n   " : "") << "{\"node\": " << quote(nodes[i].node) << ", \"op\": "
         << quote(nodes[i].op) << ", \"placement\": " << quote(nodes[i].placement)
         << ", \"kernel\": " << quote(nodes[i].kernel) << "}";
    os << "]}\n";
    return;
  }
  os << "op statistics (" << nodes.size() << " ONNX nodes):\n";
  for (const proto::OpStat &s : stats)
    os << llvm::format("  %-24s x%-5u %s\n", s.op().c_str(), s.count(), s.placement().c_str());
  os << "per node:\n";
  for (const NodePlacement &n : nodes)
    os << "  " << n.node << " (" << n.op << "): " << n.placement
       << (n.kernel.empty() ? "" : " [kernel " + n.kernel + "]") << "\n";
}

LogicalResult compile(MLIRContext &ctx, const CompileOptions &o, llvm::raw_ostream &irOut) {
  Progress progress(o.progress);
  std::string computeType = o.dtype == "fp32" || o.dtype == "f32"   ? "f32"
                            : o.dtype == "fp16" || o.dtype == "f16" ? "f16"
                            : o.dtype == "bf16"                     ? "bf16"
                                                                    : "";
  if (computeType.empty())
    return emitError(UnknownLoc::get(&ctx), "--dtype must be fp32, fp16 or bf16, not '")
           << o.dtype << "'";
  if (!o.opStatsFormat.empty() && o.opStatsFormat != "text" && o.opStatsFormat != "json")
    return emitError(UnknownLoc::get(&ctx), "--op-stats must be text or json, not '")
           << o.opStatsFormat << "'";
  static const char *stops[] = {"graph", "npu", "isa", "binary"};
  if (llvm::find(stops, o.compileTo) == std::end(stops))
    return emitError(UnknownLoc::get(&ctx), "--compile-to must be graph, npu, isa or binary, not '")
           << o.compileTo << "'";
  auto target = loadTarget(o.target);
  if (!target.ok())
    return emitError(UnknownLoc::get(&ctx), target.error());

  progress.step("importing " + o.input);
  OwningOpRef<ModuleOp> module = onnx_import::importFile(ctx, o.input, o.import);
  if (!module)
    return failure();
  (*module)->setAttr(kTargetAttrName, StringAttr::get(&ctx, o.target));
  if (failed(verify(*module)))
    return failure();

  PipelineOptions po;
  po.target = o.target;
  po.computeType = computeType;
  po.optLevel = o.optLevel;
  if (o.attnImpl != "flash" && o.attnImpl != "eager")
    return emitError(UnknownLoc::get(&ctx), "--attn-impl must be flash or eager, not '")
           << o.attnImpl << "'";
  po.attnImpl = o.attnImpl;
  if (o.kvPartitionLen < 0)
    return emitError(UnknownLoc::get(&ctx), "--kvcache-partition-len must be positive");
  po.kvPartitionLen = o.kvPartitionLen;
  auto run = [&](void (*build)(OpPassManager &, const PipelineOptions &), const char *what) {
    progress.step(what);
    PassManager pm(&ctx);
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    applyDefaultTimingPassManagerCLOptions(pm);
    build(pm, po);
    return pm.run(*module);
  };

  if (failed(run(buildGraphPipeline, "graph passes (fusion, canonicalization)")))
    return failure();
  if (o.compileTo == "graph") {
    printIR(*module, irOut);
    return success();
  }
  if (failed(run(buildNpuPipeline,
                 ("lowering to npu kernels: tiling for target '" + o.target + "'").c_str())))
    return failure();
  std::vector<NodePlacement> placements = collectNodePlacements(*module);
  std::vector<proto::OpStat> stats = collectOpStats(placements);
  if (!o.opStatsFormat.empty())
    printOpStats(placements, stats, o.opStatsFormat, llvm::outs());
  if (o.compileTo == "npu") {
    printIR(*module, irOut);
    return success();
  }
  if (failed(run(buildIsaPipeline, "expanding kernels into NPU instructions")))
    return failure();
  if (o.compileTo == "isa") {
    printIR(*module, irOut);
    return success();
  }
  progress.step("emitting " + o.output + " (" + std::to_string(countOps(*module)) + " ops)");
  EmitOptions eo;
  eo.sourceModel = llvm::sys::path::filename(o.input).str();
  eo.options = {{"target", o.target},
                {"dtype", o.dtype},
                {"opt-level", std::to_string(o.optLevel)},
                {"attn-impl", o.attnImpl},
                {"kvcache-partition-len", std::to_string(o.kvPartitionLen)}};
  for (const auto &[name, shape] : o.import.inputShapes) {
    std::string s;
    for (int64_t d : shape)
      s += (s.empty() ? "" : "x") + std::to_string(d);
    eo.options.push_back({"input-shape." + name, s});
  }
  for (const auto &[name, v] : o.import.dims)
    eo.options.push_back({"dim." + name, std::to_string(v)});
  for (const auto &[name, v] : o.import.boundValues)
    eo.options.push_back({"bind-value." + name, std::to_string(v.bytes.size()) + " bytes"});
  eo.opStats = std::move(stats);
  auto contents = emitArtifact(*module, *target, eo);
  if (failed(contents))
    return failure();
  Status st = writeArtifactFile(*contents, o.output);
  if (!st.ok())
    return emitError(UnknownLoc::get(&ctx), st.message());
  uint64_t insts = 0;
  for (const auto &f : contents->metadata.functions())
    insts += f.num_insts();
  progress.step("wrote " + o.output + ": " + std::to_string(insts) + " instructions, " +
                std::to_string(contents->poolSize()) + " weight bytes");
  return success();
}

} // namespace rbln

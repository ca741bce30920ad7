//===- rbln-compile.cpp - ONNX to .rbln ------------------------------------===//
//
// rbln-compile model.onnx -o model.rbln [--target=atom] [--dtype=fp16]
//              [--compile-to=graph|npu|isa|binary] [-O0..-O3]
// MLIR's standard flags (--mlir-print-ir-after-all, --mlir-timing, ...) work.
//
//===----------------------------------------------------------------------===//
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/AsmState.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "rbln/Driver/Driver.h"
#include "rbln/runtime/File.h"
#include "rbln/runtime/HostTensor.h"
#include "rbln/runtime/Target.h"

#include "llvm/Support/CommandLine.h"

#include <map>
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/ADT/SmallString.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace llvm;

static cl::OptionCategory cat("rbln-compile options");
static cl::opt<std::string> input(cl::Positional, cl::desc("<model.onnx | model.onnxtxt>"),
                                  cl::cat(cat));
static cl::opt<std::string> output("o", cl::desc("output .rbln (default: the input's name with .rbln); with "
                                                 "--compile-to, the IR file (default: stdout)"),
                                   cl::value_desc("file"), cl::cat(cat));
static cl::opt<std::string> target("target",
                                   cl::desc("NPU to compile for: atom, rebel-quad, tiny, or a target "
                                            "description file (.textproto/.json)"),
                                   cl::init("atom"), cl::cat(cat));
static cl::opt<std::string> dtype("dtype",
                                  cl::desc("compute type: fp32, fp16 or bf16 (inputs and outputs "
                                           "keep the model's types)"),
                                  cl::init("fp32"), cl::cat(cat));
static cl::opt<std::string> weightDtype(
    "weight-dtype",
    cl::desc("matmul weights: the model's float type (default), int8 (w8a16: symmetric, a "
             "scale per output column), int4 (w4a16: symmetric, a scale per --weight-group-size "
             "rows of a column, two weights a byte) or fp8 (E4M3FN, a scale per output column); "
             "weights stay narrow in DRAM, the matmul kernel scales them"),
    cl::init(""), cl::cat(cat));
static cl::opt<int64_t> weightGroupSize(
    "weight-group-size",
    cl::desc("--weight-dtype=int4: rows of a column that share a scale (a power of two, 32 to 1024)"),
    cl::init(128), cl::cat(cat));
static cl::opt<std::string> compileTo(
    "compile-to",
    cl::desc("stop after a level and print its IR: graph, npu, isa; binary (default) writes the .rbln"),
    cl::init("binary"), cl::cat(cat));
static cl::opt<unsigned> optLevel("O", cl::desc("optimization level 0-3 (0 disables graph fusion)"),
                                  cl::Prefix, cl::init(2), cl::cat(cat));
static cl::opt<std::string> attnImpl(
    "attn-impl",
    cl::desc("attention kernels: flash (FlashAttention: online softmax over KV tiles, causal mask "
             "generated in the kernel; default) or eager (matmul, softmax and select kernels)"),
    cl::init("flash"), cl::cat(cat));
static cl::opt<int64_t> kvPartitionLen(
    "kvcache-partition-len",
    cl::desc("KV tile length of the flash attention kernel (default: chosen from the target's "
             "scratchpad, up to 128)"),
    cl::init(0), cl::cat(cat));
static cl::OptionCategory llmCat("LLM options (a decoder exported with past_key_values)");
static cl::opt<int64_t> maxSeqLen("max-seq-len",
                                  cl::desc("longest sequence (prompt + generated) a KV cache holds"),
                                  cl::init(2048), cl::cat(llmCat));
static cl::opt<int64_t> kvBlockSize("kvcache-block-size",
                                    cl::desc("tokens per paged KV block, a power of two "
                                             "(default: min(128, --max-seq-len))"),
                                    cl::init(0), cl::cat(llmCat));
static cl::opt<std::string> kvCacheDtype(
    "kv-cache-dtype",
    cl::desc("the KV caches' element type: auto (the compute type, default) or fp8 (E4M3FN with "
             "scale 1, vLLM's kv_cache_dtype=fp8: half the cache bytes of fp16; keys and values "
             "round to 3 mantissa bits and saturate at +-448)"),
    cl::init("auto"), cl::cat(llmCat));
static cl::opt<int64_t> prefillChunk("prefill-chunk-size",
                                     cl::desc("tokens per prefill step; divides --max-seq-len "
                                              "(default: min(128, --max-seq-len))"),
                                     cl::init(0), cl::cat(llmCat));
static cl::opt<std::string> decodeBatchSizes(
    "decode-batch-sizes",
    cl::desc("decode programs to build, one per batch bucket: e.g. 1,4,8 (default: --batch-size)"),
    cl::init(""), cl::cat(llmCat));
static cl::opt<int64_t> batchSize("batch-size", cl::desc("largest decode batch (default 1)"),
                                  cl::init(1), cl::cat(llmCat));
static cl::opt<int64_t> slidingWindow(
    "sliding-window",
    cl::desc("attention window of the sliding-window layers: each query sees its last N keys, and "
             "those layers keep a constant ring of KV blocks (default: none, or what the model's "
             "GroupQueryAttention local_window_size says)"),
    cl::init(0), cl::cat(llmCat));
static cl::list<int64_t> slidingWindowLayers(
    "sliding-window-layers", cl::CommaSeparated,
    cl::desc("layers with the window, e.g. 0,1,2,3,4 (hybrid models; default: every layer)"),
    cl::cat(llmCat));
static cl::opt<bool> quiet("quiet", cl::desc("no progress lines on stderr"), cl::cat(cat));
static cl::opt<std::string> irOutput("ir-output",
                                     cl::desc("where --compile-to writes IR (default: -o, else stdout)"),
                                     cl::init("-"), cl::cat(cat));
static cl::list<std::string> inputShapes(
    "input-shape", cl::desc("bind an input's shape: NAME=1x128 (repeatable)"),
    cl::value_desc("name=shape"), cl::cat(cat));
static cl::list<std::string> dims("dim",
                                  cl::desc("bind a symbolic dimension: NAME=N, for every input that "
                                           "uses it (repeatable)"),
                                  cl::value_desc("name=N"), cl::cat(cat));
static cl::list<std::string> bindValues(
    "bind-value",
    cl::desc("fix an input to a value at compile time: NAME=@file.npy (it becomes a constant; "
             "use for shape and axes operands)"),
    cl::value_desc("name=@file.npy"), cl::cat(cat));
static cl::opt<std::string> opStats(
    "op-stats", cl::desc("print what each ONNX op became (engine, kernel, fusion): text or json"),
    cl::ValueOptional, cl::init(""), cl::cat(cat));
static cl::opt<bool> listTargets("list-targets", cl::desc("print the built-in targets and exit"),
                                 cl::cat(cat));

int main(int argc, char **argv) {
  InitLLVM init(argc, argv);
  mlir::registerMLIRContextCLOptions();
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  mlir::registerAsmPrinterCLOptions();
  cl::HideUnrelatedOptions({&cat, &llmCat});
  // Usage errors (unknown flags, malformed values) exit 2, like rbln-run and
  // rbln-objdump; 1 means the model could not be compiled.
  if (!cl::ParseCommandLineOptions(
      argc, argv,
      "rbln-compile: compile an ONNX model into a .rbln artifact for an rbln NPU\n\n"
      "  rbln-compile model.onnx -o model.rbln --target=atom --dtype=fp16\n"
      "  rbln-compile model.onnx --compile-to=npu     # print the tiled kernels\n\n"
      "MLIR debugging flags such as --mlir-print-ir-after-all and --mlir-timing are accepted\n"
      "(see --help-hidden).\n\n"
      "Exit status: 0 compiled; 1 the model could not be compiled (diagnostics name the ONNX\n"
      "node); 2 usage error (unknown flag, malformed or out-of-range value, unreadable input).\n",
      &llvm::errs()))
    return 2;
  if (listTargets) {
    for (const std::string &t : rbln::builtinTargetNames()) {
      auto d = rbln::loadTarget(t);
      llvm::outs() << t << ": " << (d.ok() ? d->description() : d.error()) << "\n";
    }
    return 0;
  }
  if (input.empty()) {
    llvm::errs() << "rbln-compile: error: no input model (see --help)\n";
    return 2;
  }
  {
    struct stat st;
    std::string err;
    int fd = rbln::openRegularFile(input, st, err);
    if (fd < 0) {
      llvm::errs() << "rbln-compile: error: " << err << "\n";
      return 2;
    }
    ::close(fd);
  }
  auto usage = [](const std::string &msg) {
    llvm::errs() << "rbln-compile: error: " << msg << "\n";
    return 2;
  };
  if (!llvm::is_contained({"fp32", "f32", "fp16", "f16", "bf16"}, StringRef(dtype)))
    return usage("--dtype must be fp32, fp16 or bf16, not '" + dtype + "'");
  if (!llvm::is_contained({"", "int8", "int4", "fp8"}, StringRef(weightDtype)))
    return usage("--weight-dtype must be int8, int4 or fp8 (or left out for the model's type), not '" +
                 weightDtype + "'");
  if (weightGroupSize < 32 || weightGroupSize > 1024 || (weightGroupSize & (weightGroupSize - 1)))
    return usage("--weight-group-size must be a power of two from 32 to 1024, not " +
                 std::to_string(weightGroupSize));
  if (weightGroupSize.getNumOccurrences() && weightDtype != "int4")
    return usage("--weight-group-size applies to --weight-dtype=int4 only");
  if (!llvm::is_contained({"auto", "fp8", "fp8_e4m3"}, StringRef(kvCacheDtype)))
    return usage("--kv-cache-dtype must be auto or fp8, not '" + kvCacheDtype + "'");
  if (!llvm::is_contained({"graph", "npu", "isa", "binary"}, StringRef(compileTo)))
    return usage("--compile-to must be graph, npu, isa or binary, not '" + compileTo + "'");
  if (!llvm::is_contained({"flash", "eager"}, StringRef(attnImpl)))
    return usage("--attn-impl must be flash or eager, not '" + attnImpl + "'");
  if (opStats.getNumOccurrences() && !opStats.empty() && opStats != "text" && opStats != "json")
    return usage("--op-stats must be text or json, not '" + opStats + "'");
  if (auto t = rbln::loadTarget(target); !t.ok())
    return usage(t.error());
  if (optLevel > 3) {
    llvm::errs() << "rbln-compile: error: -O" << optLevel << " is not a level (0-3)\n";
    return 2;
  }
  rbln::CompileOptions o;
  o.input = input;
  o.output = output;
  if (o.output.empty()) {
    SmallString<256> p(llvm::sys::path::filename(input));
    llvm::sys::path::replace_extension(p, ".rbln");
    o.output = std::string(p);
  }
  o.target = target;
  o.dtype = dtype;
  o.weightDtype = weightDtype;
  o.weightGroupSize = weightGroupSize;
  o.kvCacheDtype = kvCacheDtype == "auto" ? "auto" : "fp8";
  o.compileTo = compileTo;
  o.optLevel = optLevel;
  o.attnImpl = attnImpl;
  o.kvPartitionLen = kvPartitionLen;
  o.maxSeqLen = maxSeqLen;
  o.kvBlockSize = kvBlockSize;
  o.prefillChunk = prefillChunk;
  o.batchSize = batchSize;
  if (slidingWindow < 0) {
    llvm::errs() << "rbln-compile: error: --sliding-window must be positive\n";
    return 2;
  }
  o.slidingWindow = slidingWindow;
  o.slidingWindowLayers.assign(slidingWindowLayers.begin(), slidingWindowLayers.end());
  SmallVector<StringRef> parts;
  StringRef(decodeBatchSizes).split(parts, ',');
  for (StringRef part : parts) {
    if (part.trim().empty())
      continue;
    int64_t v;
    if (part.trim().getAsInteger(10, v) || v <= 0) {
      llvm::errs() << "rbln-compile: error: --decode-batch-sizes wants positive integers like "
                      "1,4,8, got '"
                   << decodeBatchSizes << "'\n";
      return 2;
    }
    o.decodeBatchSizes.push_back(v);
  }
  o.progress = !quiet && compileTo == "binary";
  o.opStatsFormat = opStats.getNumOccurrences() && opStats.empty() ? "text" : std::string(opStats);
  auto parseDim = [](StringRef s, int64_t &v) { return !s.getAsInteger(10, v) && v > 0; };
  for (const std::string &arg : inputShapes) {
    auto [name, shape] = StringRef(arg).rsplit('=');
    std::vector<int64_t> dimsOut;
    SmallVector<StringRef> parts;
    shape.split(parts, 'x');
    bool ok = !name.empty() && !shape.empty() && arg.find('=') != std::string::npos;
    for (StringRef p : parts) {
      int64_t v;
      ok &= parseDim(p, v);
      dimsOut.push_back(v);
    }
    if (!ok) {
      llvm::errs() << "rbln-compile: error: --input-shape=" << arg
                   << ": expected NAME=SHAPE with positive dims, e.g. input_ids=1x128\n";
      return 2;
    }
    o.import.inputShapes[name.str()] = dimsOut;
  }
  for (const std::string &arg : bindValues) {
    auto [name, file] = StringRef(arg).split('=');
    if (name.empty() || !file.starts_with("@")) {
      llvm::errs() << "rbln-compile: error: --bind-value=" << arg << ": expected NAME=@file.npy\n";
      return 2;
    }
    auto t = rbln::readNpy(file.drop_front().str());
    if (!t.ok()) {
      llvm::errs() << "rbln-compile: error: --bind-value " << name << ": " << t.error() << "\n";
      return 2;
    }
    static const std::map<rbln::DType, int32_t> onnxTypes = {
        {rbln::DType::F32, 1}, {rbln::DType::U8, 2}, {rbln::DType::I8, 3}, {rbln::DType::I32, 6},
        {rbln::DType::I64, 7}, {rbln::DType::Bool, 9}, {rbln::DType::F16, 10}};
    auto ty = onnxTypes.find(t->dtype);
    if (ty == onnxTypes.end()) {
      llvm::errs() << "rbln-compile: error: --bind-value " << name << ": unsupported element type\n";
      return 2;
    }
    o.import.boundValues[name.str()] = {ty->second, t->shape,
                                        std::vector<char>(t->data.begin(), t->data.end())};
  }
  for (const std::string &arg : dims) {
    auto [name, value] = StringRef(arg).rsplit('=');
    int64_t v;
    if (name.empty() || arg.find('=') == std::string::npos || !parseDim(value, v)) {
      llvm::errs() << "rbln-compile: error: --dim=" << arg
                   << ": expected NAME=N with a positive N, e.g. batch=1\n";
      return 2;
    }
    o.import.dims[name.str()] = v;
  }

  mlir::DialectRegistry registry;
  rbln::registerRblnDialects(registry);
  mlir::MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  // An error names the ONNX node and says what is wrong; the IR of the
  // operation it was found on (often a whole function) is printed only when
  // asked for with --mlir-print-op-on-diagnostic.
  auto &registered = cl::getRegisteredOptions();
  if (auto it = registered.find("mlir-print-op-on-diagnostic");
      it == registered.end() || it->second->getNumOccurrences() == 0)
    ctx.printOpOnDiagnostic(false);
  // Diagnostics name the ONNX node they concern.
  bool failedAny = false;
  mlir::ScopedDiagnosticHandler handler(&ctx, [&](mlir::Diagnostic &d) {
    // Name the ONNX node(s) unless the message already does.
    std::string where, msg = d.str();
    auto addNode = [&](mlir::NameLoc n) {
      std::string name = n.getName().str();
      if (msg.find("'" + name + "'") == std::string::npos)
        where += (where.empty() ? " [ONNX node '" : ", '") + name + "'";
    };
    mlir::Location loc = d.getLocation();
    if (auto n = dyn_cast<mlir::NameLoc>(loc))
      addNode(n);
    else if (auto f = dyn_cast<mlir::FusedLoc>(loc))
      for (mlir::Location l : f.getLocations())
        if (auto n = dyn_cast<mlir::NameLoc>(l))
          addNode(n);
    if (!where.empty())
      where += "]";
    const char *sev = d.getSeverity() == mlir::DiagnosticSeverity::Error     ? "error"
                      : d.getSeverity() == mlir::DiagnosticSeverity::Warning ? "warning"
                                                                             : "note";
    if (d.getSeverity() == mlir::DiagnosticSeverity::Error)
      failedAny = true;
    llvm::errs() << input << ": " << sev << ": " << msg << where << "\n";
    for (const mlir::Diagnostic &n : d.getNotes())
      llvm::errs() << "  note: " << n.str() << "\n";
    return mlir::success();
  });
  // --compile-to writes its IR where -o says (as iree-compile does), unless
  // --ir-output names another place.
  std::string irPath = irOutput;
  if (compileTo != "binary" && !irOutput.getNumOccurrences() && !output.empty())
    irPath = output;
  std::string err;
  auto out = mlir::openOutputFile(irPath, &err);
  if (!out) {
    llvm::errs() << "rbln-compile: error: " << err << "\n";
    return 2;
  }
  if (failed(rbln::compile(ctx, o, out->os())) || failedAny)
    return 1;
  out->keep();
  return 0;
}

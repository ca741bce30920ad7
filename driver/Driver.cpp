//===- Driver.cpp - The pipeline rbln-compile runs ------------------------===//
#include "rbln/Driver/Driver.h"

#include "llvm/Support/FormatVariadic.h"

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
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
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

/// model.decoder.head_size of the genai_config.json ONNX Runtime GenAI's
/// builder writes beside `model`, or 0.
int64_t genaiConfigHeadSize(const std::string &model) {
  llvm::SmallString<256> path(llvm::sys::path::parent_path(model));
  llvm::sys::path::append(path, "genai_config.json");
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf || (*buf)->getBufferSize() > (1 << 20))
    return 0;
  auto json = llvm::json::parse((*buf)->getBuffer());
  if (!json) {
    llvm::consumeError(json.takeError());
    return 0;
  }
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *m = root ? root->getObject("model") : nullptr;
  const llvm::json::Object *d = m ? m->getObject("decoder") : nullptr;
  std::optional<int64_t> h = d ? d->getInteger("head_size") : std::nullopt;
  return h && *h > 0 && *h <= (1 << 16) ? *h : 0;
}
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

  // LLM mode is detected from the inputs: a decoder exported with its cache
  // (past_key_values.*) gets a prefill function and one decode function per
  // batch bucket, each imported with its own static shapes.
  bool llm = false;
  int64_t blockSize = o.kvBlockSize > 0 ? o.kvBlockSize : std::min<int64_t>(128, o.maxSeqLen);
  int64_t chunk = o.prefillChunk > 0 ? o.prefillChunk : std::min<int64_t>(128, o.maxSeqLen);
  std::vector<int64_t> decodeSizes = o.decodeBatchSizes;
  if (decodeSizes.empty())
    decodeSizes.push_back(o.batchSize);
  // ONNX Runtime GenAI's builder declares the cache's head size symbolic
  // (`kv_cache_dim`) and writes it to genai_config.json beside the model.
  const int64_t genaiHeadSize = genaiConfigHeadSize(o.input);
  auto llmImport = [&](int64_t batch, int64_t tokens, const std::string &fnName) {
    onnx_import::ImportOptions io = o.import;
    io.functionName = fnName;
    io.maxTensorBytes = target->dram_bytes(); // no tensor larger than the device
    // The past length only shapes what the paged cache replaces (and masks
    // the model derives from it; exports of sliding caches index them for
    // pasts shorter than their window).
    const int64_t past = 1;
    // The model's inputs decide: with past_key_values it is a decoder with
    // its cache (LLM mode), whose generation inputs get these shapes.
    io.prepare = [&llm, batch, tokens, past, genaiHeadSize](const std::vector<std::string> &names,
                                                            onnx_import::ImportOptions &o) {
      if (!llvm::any_of(names, [](const std::string &n) {
            return StringRef(n).starts_with("past_key_values");
          }))
        return;
      llm = true;
      o.stepPositionsShape = std::vector<int64_t>{batch, tokens};
      o.stepPast = past;
      o.shapeOf = [batch, tokens, past, genaiHeadSize](const std::string &name,
                                                       const std::vector<int64_t> &declared)
          -> std::optional<std::vector<int64_t>> {
        if (name == "input_ids" || name == "position_ids")
          return std::vector<int64_t>{batch, tokens};
        if (name == "attention_mask")
          return std::vector<int64_t>{batch, past + tokens};
        if (StringRef(name).starts_with("past_key_values") && declared.size() == 4) {
          // Batch and past length are LLM mode's; any other symbolic dim
          // (e.g. a head size written as `kv_cache_dim`) stays -1 and is
          // bound by --dim, or named in the error.
          std::vector<int64_t> d = declared;
          d[0] = d[0] < 0 ? batch : d[0];
          d[2] = d[2] < 0 ? past : d[2];
          if (d[3] < 0 && genaiHeadSize > 0)
            d[3] = genaiHeadSize;
          return d;
        }
        return std::nullopt;
      };
      if (!llvm::is_contained(names, "attention_mask") || o.boundValues.count("attention_mask"))
        return;
      // A generation step never pads inside a sequence: the attention mask
      // is all ones over past + new tokens. Bound as a constant, whatever
      // the model derives from it (masks, seqlens_k) folds away.
      onnx_import::ImportOptions::Value ones;
      ones.onnxType = 7; // INT64
      ones.shape = {batch, past + tokens};
      ones.bytes.assign(size_t(batch * (past + tokens)) * 8, 0);
      for (size_t k = 0; k < ones.bytes.size(); k += 8)
        ones.bytes[k] = 1;
      o.boundValues.emplace("attention_mask", std::move(ones));
    };
    return onnx_import::importFile(ctx, o.input, io);
  };

  progress.step("importing " + o.input);
  OwningOpRef<ModuleOp> module = llmImport(1, chunk, "main");
  if (!module)
    return failure();
  proto::LlmConfig llmConfig;
  if (llm) {
    if (o.maxSeqLen <= 0 || chunk <= 0 || o.maxSeqLen % chunk)
      return emitError(UnknownLoc::get(&ctx), "--max-seq-len (")
             << o.maxSeqLen << ") must be a positive multiple of --prefill-chunk-size (" << chunk
             << ")";
    auto mainFn = module->lookupSymbol<func::FuncOp>("main");
    mainFn.setName("prefill");
    llmConfig.set_max_seq_len(o.maxSeqLen);
    llmConfig.set_block_size(blockSize);
    llmConfig.set_prefill_chunk(chunk);
    llmConfig.set_prefill_function("prefill");
    for (int64_t bsz : decodeSizes) {
      if (bsz <= 0)
        return emitError(UnknownLoc::get(&ctx), "decode batch sizes must be positive");
      if (llvm::is_contained(llmConfig.decode_batch_sizes(), bsz))
        continue;
      std::string name = "decode_b" + std::to_string(bsz);
      progress.step("importing " + o.input + " for " + name);
      OwningOpRef<ModuleOp> m = llmImport(bsz, 1, name);
      if (!m)
        return failure();
      auto fn = m->lookupSymbol<func::FuncOp>(name);
      fn->remove();
      module->push_back(fn);
      llmConfig.add_decode_batch_sizes(bsz);
      llmConfig.add_decode_functions(name);
    }
  }
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
  po.weightDtype = o.weightDtype;
  po.weightGroupSize = o.weightGroupSize;
  po.kvCacheDtype = o.kvCacheDtype;
  if (llm) {
    po.kvBlockSize = blockSize;
    po.maxSeqLen = o.maxSeqLen;
    po.slidingWindow = o.slidingWindow;
    po.slidingWindowLayers = ArrayRef<int64_t>(o.slidingWindowLayers);
  } else if (o.slidingWindow > 0) {
    return emitError(UnknownLoc::get(&ctx), "--sliding-window applies to decoders exported with "
                                            "past_key_values (generation artifacts)");
  }
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
  if (llm) {
    // Layers, vocabulary and block bytes from the prefill function's signature.
    auto prefill = module->lookupSymbol<func::FuncOp>("prefill");
    int64_t layers = 0, blockBytes = 0, localBytes = 0, window = 0;
    for (BlockArgument arg : prefill.getArguments()) {
      auto t = cast<MemRefType>(arg.getType());
      if (prefill.getArgAttr(arg.getArgNumber(), "rbln.kv_cache")) {
        layers = std::max<int64_t>(layers, prefill.getArgAttrOfType<IntegerAttr>(
                                               arg.getArgNumber(), "rbln.kv_cache").getInt() + 1);
        int64_t bytes = t.getDimSize(1) * t.getDimSize(2) * t.getDimSize(3) *
                        int64_t(t.getElementTypeBitWidth() / 8);
        if (auto w = prefill.getArgAttrOfType<IntegerAttr>(arg.getArgNumber(), "rbln.kv_window")) {
          window = std::max<int64_t>(window, w.getInt());
          localBytes += bytes;
        } else {
          blockBytes += bytes;
        }
      }
      auto name = prefill.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "rbln.name");
      if (name && name.getValue() == "logits")
        llmConfig.set_vocab_size(t.getShape().back());
    }
    llmConfig.set_num_layers(layers);
    llmConfig.set_kv_bytes_per_block(blockBytes);
    if (window > 0) {
      // The ring holds the window plus the rest of a prefill chunk written
      // before its first query reads the window.
      llmConfig.set_sliding_window(window);
      llmConfig.set_local_ring_blocks((window + chunk - 1 + blockSize - 1) / blockSize);
      llmConfig.set_local_kv_bytes_per_block(localBytes);
      eo.options.push_back({"sliding-window", std::to_string(window)});
    }
    eo.llm = llmConfig;
    eo.options.push_back({"max-seq-len", std::to_string(o.maxSeqLen)});
    eo.options.push_back({"kvcache-block-size", std::to_string(blockSize)});
    eo.options.push_back({"prefill-chunk-size", std::to_string(chunk)});
  }
  auto contents = emitArtifact(*module, *target, eo);
  if (failed(contents))
    return failure();
  Status st = writeArtifactFile(*contents, o.output, [&](uint64_t done, uint64_t total) {
    progress.step(llvm::formatv("writing {0}: {1:f1} of {2:f1} GB", o.output, double(done) / 1e9,
                                double(total) / 1e9)
                      .str());
  });
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

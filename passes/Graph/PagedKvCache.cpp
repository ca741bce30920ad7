//===- PagedKvCache.cpp - past_key_values I/O to persistent paged caches --===//
#include "passes/Graph/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/BitVector.h"
#include "llvm/Support/Regex.h"

#include <map>

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHPAGEDKVCACHE
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

/// Names of a layer's cache inputs/outputs as Optimum's
/// text-generation-with-past exports and ONNX Runtime GenAI write them.
bool parseCacheName(StringRef name, StringRef prefix, int64_t &layer, bool &isValue) {
  llvm::Regex re(("^" + prefix + "[._]([0-9]+)[._](key|value)$").str());
  SmallVector<StringRef, 3> m;
  if (!re.match(name, &m))
    return false;
  m[1].getAsInteger(10, layer);
  isValue = m[2] == "value";
  return true;
}

StringRef argName(func::FuncOp fn, unsigned i) {
  auto a = fn.getArgAttrOfType<StringAttr>(i, "rbln.name");
  return a ? a.getValue() : StringRef();
}

/// A view of a layer's concatenated K/V that only feeds the function's
/// results: the present output cropped to the window by a sliding cache.
bool isPresentOnly(Operation *op) {
  if (!isa<ViewOp, ReshapeOp>(op) || op->getNumResults() != 1)
    return false;
  for (Operation *u : op->getResult(0).getUsers())
    if (!isa<func::ReturnOp>(u) && !isPresentOnly(u))
      return false;
  return true;
}

struct Layer {
  BlockArgument past[2];
  ConcatOp present[2];
};

struct GraphPagedKvCachePass : rbln::graph::impl::GraphPagedKvCacheBase<GraphPagedKvCachePass> {
  using Base::Base;

  void runOnOperation() override {
    // A layer's window: the largest any entry function's attention shows.
    std::map<int64_t, int64_t> windows;
    for (auto fn : getOperation().getOps<func::FuncOp>())
      for (BlockArgument arg : fn.getArguments()) {
        int64_t layer;
        bool isValue;
        if (!parseCacheName(argName(fn, arg.getArgNumber()), "past_key_values", layer, isValue) ||
            isValue || !arg.hasOneUse() || arg.user_begin()->getNumResults() != 1)
          continue; // (e.g. a cache passed straight to the outputs: reported below)
        for (Operation *user : arg.user_begin()->getResult(0).getUsers())
          if (auto a = dyn_cast<AttentionOp>(user))
            windows[layer] = std::max<int64_t>(windows[layer], int64_t(a.getWindow()));
      }
    for (auto fn : llvm::make_early_inc_range(getOperation().getOps<func::FuncOp>()))
      if (failed(convert(fn, windows)))
        return signalPassFailure();
  }

  LogicalResult convert(func::FuncOp fn, const std::map<int64_t, int64_t> &shownWindows) {
    MLIRContext *ctx = &getContext();
    std::map<int64_t, Layer> layers;
    for (BlockArgument arg : fn.getArguments()) {
      int64_t layer;
      bool isValue;
      if (parseCacheName(argName(fn, arg.getArgNumber()), "past_key_values", layer, isValue))
        layers[layer].past[isValue] = arg;
    }
    if (layers.empty())
      return success(); // not a decoder with a cache: nothing to do
    if (blockSize <= 0 || (blockSize & (blockSize - 1))) {
      fn.emitError("--kvcache-block-size must be a power of two, got ") << blockSize;
      return failure();
    }
    if (maxSeqLen <= 0 || maxSeqLen % blockSize) {
      fn.emitError("--max-seq-len (") << maxSeqLen << ") must be a positive multiple of "
                                      << "--kvcache-block-size (" << blockSize << ")";
      return failure();
    }
    Type cacheElt = cacheType == "f16"        ? Type(Float16Type::get(ctx))
                    : cacheType == "bf16"     ? Type(BFloat16Type::get(ctx))
                    : cacheType == "f8E4M3FN" ? Type(Float8E4M3FNType::get(ctx))
                                              : Type(Float32Type::get(ctx));
    // The step's positions: the model's position_ids input.
    BlockArgument positions;
    for (BlockArgument arg : fn.getArguments())
      if (argName(fn, arg.getArgNumber()) == "position_ids")
        positions = arg;
    if (!positions) {
      fn.emitError("a decoder with past_key_values needs a 'position_ids' input (export it with "
                   "position_ids, as Optimum's text-generation-with-past task does)");
      return failure();
    }
    auto posType = cast<RankedTensorType>(positions.getType());
    if (posType.getRank() != 2 || !posType.getElementType().isInteger(64)) {
      fn.emitError("position_ids must be int64 [batch, sequence], got ") << posType;
      return failure();
    }
    int64_t batch = posType.getDimSize(0);

    // Each past input feeds exactly one concat along the sequence, whose
    // result is the present output and the attention's K or V.
    for (auto &[i, L] : layers) {
      for (int kv = 0; kv < 2; ++kv) {
        BlockArgument past = L.past[kv];
        std::string what = "past_key_values." + std::to_string(i) + (kv ? ".value" : ".key");
        if (!past) {
          fn.emitError("'") << what << "' is missing (every layer needs a key and a value)";
          return failure();
        }
        auto concat = past.hasOneUse() ? dyn_cast<ConcatOp>(*past.user_begin()) : ConcatOp();
        if (!concat || concat.getInputs().size() != 2 || concat.getInputs()[0] != past ||
            concat.getAxis() != 2) {
          fn.emitError("'") << what << "' must only be concatenated with the step's "
                            << (kv ? "values" : "keys") << " along the sequence axis";
          return failure();
        }
        L.present[kv] = concat;
      }
    }

    OpBuilder b(ctx);
    int64_t maxBlocks = maxSeqLen / blockSize;
    unsigned firstNew = fn.getNumArguments();
    auto nameAttr = [&](StringRef n) {
      return DictionaryAttr::get(ctx, {NamedAttribute(StringAttr::get(ctx, "rbln.name"),
                                                      StringAttr::get(ctx, n))});
    };
    Location loc = fn.getLoc();
    (void)fn.insertArgument(firstNew, RankedTensorType::get({batch, maxBlocks}, b.getI32Type()),
                            nameAttr("block_tables"), loc);
    BlockArgument blockTables = fn.getArgument(firstNew);
    // Sliding-window layers: the attention's window, or the options'.
    std::map<int64_t, int64_t> windowOf;
    for (auto &[i, L] : layers) {
      auto shown = shownWindows.find(i);
      int64_t w = shown == shownWindows.end() ? 0 : shown->second;
      if (w == 0 && slidingWindow > 0 &&
          (slidingWindowLayers.empty() || llvm::is_contained(slidingWindowLayers, i)))
        w = slidingWindow;
      windowOf[i] = w;
    }
    for (int64_t l : slidingWindowLayers)
      if (!layers.count(l)) {
        fn.emitError("--sliding-window-layers names layer ") << l << "; the model has "
                                                             << layers.size() << " layers";
        return failure();
      }
    BlockArgument localTables;
    if (llvm::any_of(windowOf, [](auto &kv) { return kv.second > 0; })) {
      unsigned at = fn.getNumArguments();
      (void)fn.insertArgument(at, RankedTensorType::get({batch, maxBlocks}, b.getI32Type()),
                              nameAttr("local_block_tables"), loc);
      localTables = fn.getArgument(at);
    }
    llvm::BitVector dropResults(fn.getNumResults());
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    for (auto &[i, L] : layers) {
      BlockArgument caches[2];
      for (int kv = 0; kv < 2; ++kv) {
        auto pt = cast<RankedTensorType>(L.past[kv].getType());
        auto ct = RankedTensorType::get({ShapedType::kDynamic, pt.getDimSize(1), blockSize,
                                         pt.getDimSize(3)},
                                        cacheElt);
        std::string name = "kv_cache." + std::to_string(i) + (kv ? ".value" : ".key");
        unsigned at = fn.getNumArguments();
        SmallVector<NamedAttribute> attrs{
            NamedAttribute(StringAttr::get(ctx, "rbln.name"), StringAttr::get(ctx, name)),
            NamedAttribute(StringAttr::get(ctx, "rbln.kv_cache"), b.getI64IntegerAttr(i))};
        if (windowOf[i] > 0)
          attrs.push_back(NamedAttribute(StringAttr::get(ctx, "rbln.kv_window"),
                                         b.getI64IntegerAttr(windowOf[i])));
        (void)fn.insertArgument(at, ct, DictionaryAttr::get(ctx, attrs), loc);
        caches[kv] = fn.getArgument(at);
      }
      // Every attention reading this layer's concatenated K and V.
      SmallVector<AttentionOp> atts;
      for (Operation *user : L.present[0]->getUsers()) {
        if (isa<func::ReturnOp>(user) || isPresentOnly(user))
          continue;
        auto a = dyn_cast<AttentionOp>(user);
        if (!a || a.getK() != L.present[0] || a.getV() != L.present[1]) {
          user->emitError("the keys of layer ")
              << i << " (past and present) feed something other than its attention";
          return failure();
        }
        atts.push_back(a);
      }
      for (Operation *user : L.present[1]->getUsers())
        if (!isa<func::ReturnOp, AttentionOp>(user) && !isPresentOnly(user)) {
          user->emitError("the values of layer ") << i << " feed something other than its attention";
          return failure();
        }
      if (atts.empty()) {
        L.present[0]->emitError("layer ") << i << "'s cache feeds no attention";
        return failure();
      }
      int64_t pastLen = cast<RankedTensorType>(L.past[0].getType()).getDimSize(2);
      for (AttentionOp a : atts) {
        // Paged attention masks by position only: causal at the step's
        // positions (and the layer's window). Anything else the model's
        // attention applies would be dropped: refused instead.
        if (a.getMask() || !a.getCausal() || a.getCausalOffset() != pastLen) {
          a.emitError("layer ")
              << i << "'s attention is not causal attention over its cache ("
              << (a.getMask()      ? "its mask is not a causal or sliding-window band"
                  : !a.getCausal() ? "it is not causal"
                                   : "its causal offset is not the past length")
              << "); the paged KV cache applies only the causal mask at the step's positions "
                 "and a sliding window";
          return failure();
        }
        auto qt = cast<RankedTensorType>(a.getQ().getType());
        if (qt.getDimSize(0) != batch || qt.getDimSize(2) != posType.getDimSize(1)) {
          a.emitError("the queries do not match position_ids ") << posType;
          return failure();
        }
        b.setInsertionPoint(a);
        int64_t w = windowOf[i];
        auto pa = PagedAttentionOp::create(
            b, a.getLoc(), a.getType(), a.getQ(), L.present[0].getInputs()[1],
            L.present[1].getInputs()[1], caches[0], caches[1], w > 0 ? localTables : blockTables,
            positions, a.getScaleAttr(), a.getSoftcapAttr(), b.getI64IntegerAttr(w));
        a.getResult().replaceAllUsesWith(pa.getResult());
        a.erase();
      }
      for (OpOperand &o : ret->getOpOperands()) {
        Value v = o.get();
        while (Operation *d = v.getDefiningOp()) // a cropped present (sliding cache)
          if (isPresentOnly(d))
            v = d->getOperand(0);
          else
            break;
        if (v == L.present[0] || v == L.present[1])
          dropResults.set(o.getOperandNumber());
      }
    }
    // Drop the present outputs, then everything only they and the masks used.
    SmallVector<Value> keep;
    for (OpOperand &o : ret->getOpOperands())
      if (!dropResults.test(o.getOperandNumber()))
        keep.push_back(o.get());
    b.setInsertionPoint(ret);
    func::ReturnOp::create(b, ret.getLoc(), keep);
    ret.erase();
    if (failed(fn.eraseResults(dropResults)))
      return failure();
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(fn.getBody().front())))
      if (isOpTriviallyDead(&op))
        op.erase();
    llvm::BitVector dropArgs(fn.getNumArguments());
    for (BlockArgument arg : fn.getArguments()) {
      StringRef n = argName(fn, arg.getArgNumber());
      int64_t layer;
      bool isValue;
      if (parseCacheName(n, "past_key_values", layer, isValue)) {
        dropArgs.set(arg.getArgNumber());
      } else if (n == "attention_mask") {
        if (!arg.use_empty()) {
          (*arg.user_begin())->emitError("the attention_mask input is used for more than the "
                                         "attention mask; the paged KV cache cannot replace it");
          return failure();
        }
        dropArgs.set(arg.getArgNumber());
      }
    }
    if (failed(fn.eraseArguments(dropArgs)))
      return failure();
    if (posType.getDimSize(1) > 1)
      lastTokenLogits(fn);
    return success();
  }

  /// A prefill chunk needs the logits of one row (its last prompt token):
  /// the LM head reads that row, picked at run time by a new `logits_index`
  /// input [1], instead of every row of the chunk.
  void lastTokenLogits(func::FuncOp fn) {
    auto ret = cast<func::ReturnOp>(fn.getBody().front().getTerminator());
    for (OpOperand &o : ret->getOpOperands()) {
      auto name = fn.getResultAttrOfType<StringAttr>(o.getOperandNumber(), "rbln.name");
      auto mm = o.get().getDefiningOp<MatmulOp>();
      if (!name || name.getValue() != "logits" || !mm || !mm->hasOneUse() || mm.getTransposeLhs() ||
          mm.getBias() || mm.getResidual())
        continue;
      auto lt = cast<RankedTensorType>(mm.getLhs().getType());
      auto rt = cast<RankedTensorType>(mm.getRhs().getType());
      if (lt.getRank() != 3 || lt.getDimSize(0) != 1 || rt.getRank() != 2)
        continue;
      OpBuilder b(mm);
      unsigned at = fn.getNumArguments();
      (void)fn.insertArgument(at, RankedTensorType::get({1}, b.getI64Type()),
                              DictionaryAttr::get(fn.getContext(),
                                                  {b.getNamedAttr("rbln.name", b.getStringAttr("logits_index"))}),
                              fn.getLoc());
      // [1, S, H] -> rows [S, H] -> the picked row [1, H] -> [1, 1, H]
      Type et = lt.getElementType();
      auto rows = ReshapeOp::create(b, mm.getLoc(), RankedTensorType::get({lt.getDimSize(1), lt.getDimSize(2)}, et),
                                    mm.getLhs());
      auto picked = GatherOp::create(b, mm.getLoc(), RankedTensorType::get({1, lt.getDimSize(2)}, et), rows,
                                     fn.getArgument(at), b.getI64IntegerAttr(0));
      auto row = ReshapeOp::create(b, mm.getLoc(), RankedTensorType::get({1, 1, lt.getDimSize(2)}, et), picked);
      auto outType = RankedTensorType::get({lt.getDimSize(0), 1, rt.getDimSize(rt.getRank() - 1)},
                                           cast<RankedTensorType>(mm.getType()).getElementType());
      auto head = MatmulOp::create(b, mm.getLoc(), outType, row, mm.getRhs(), Value(), Value());
      head.setTransposeRhs(mm.getTransposeRhs());
      head.setAlpha(mm.getAlpha());
      head.setBeta(mm.getBeta());
      mm.copyEpilogueTo(head);
      o.set(head.getResult());
      mm.erase();
      SmallVector<Type> results(ret->getOperandTypes());
      fn.setFunctionType(FunctionType::get(fn.getContext(), fn.getArgumentTypes(), results));
      return;
    }
  }
};

} // namespace

//===- Emitter.cpp - npuisa module to .rbln contents ----------------------===//
#include "rbln/Emit/Emitter.h"

#include "dialects/Npu/NpuDialect.h"
#include "dialects/NpuIsa/NpuIsaDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "rbln/Support/Elements.h"

#include <map>
#include <set>

using namespace mlir;

namespace rbln {

namespace {

/// The ONNX node names a location stands for (several after fusion).
void nodeNames(Location loc, SmallVectorImpl<std::string> &out) {
  if (auto n = dyn_cast<NameLoc>(loc)) {
    out.push_back(n.getName().str());
  } else if (auto f = dyn_cast<FusedLoc>(loc)) {
    for (Location l : f.getLocations())
      nodeNames(l, out);
  }
}

std::string locationText(Location loc) {
  SmallVector<std::string> names;
  nodeNames(loc, names);
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "" : "+") + n;
  return s;
}

/// How a tile program is reported: the name its kernel op had.
std::string tileProgramKind(npu::KernelKind k) {
  switch (k) {
  case npu::KernelKind::FlashAttention: return "flash";
  case npu::KernelKind::KvCacheWrite:
  case npu::KernelKind::PagedAttention: return "";
  default: return npu::stringifyKernelKind(k).str();
  }
}

proto::TensorSig signature(BlockArgument arg, func::FuncOp fn) {
  auto t = cast<MemRefType>(arg.getType());
  proto::TensorSig s;
  if (auto name = fn.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "rbln.name"))
    s.set_name(name.str());
  else
    s.set_name("arg" + std::to_string(arg.getArgNumber()));
  s.set_dtype(proto::DType(*npuisa::toDType(t.getElementType())));
  for (int64_t d : t.getShape())
    s.add_shape(ShapedType::isDynamic(d) ? -1 : d);
  s.set_state(bool(fn.getArgAttr(arg.getArgNumber(), "rbln.kv_cache")));
  if (auto w = fn.getArgAttrOfType<IntegerAttr>(arg.getArgNumber(), "rbln.kv_window"))
    s.set_window(w.getInt());
  return s;
}

} // namespace

std::vector<NodePlacement> collectNodePlacements(ModuleOp module) {
  auto types = module->getAttrOfType<DictionaryAttr>("rbln.onnx_nodes");
  auto order = module->getAttrOfType<ArrayAttr>("rbln.onnx_node_order");
  if (!types)
    return {};
  std::map<std::string, std::pair<std::string, std::string>> placed; // node -> (what, kernel)
  // Kernels first: a node that became a kernel is reported as that kernel
  // even if a view carries its location too; and matmuls before the rest, so
  // a node that became a matmul plus small helper kernels (an integer
  // matmul's zero-point correction) is reported as the matmul.
  auto isMatmul = [](Operation *op) {
    auto tp = dyn_cast<npu::TileProgramOp>(op);
    return tp && tp.getKernel() == npu::KernelKind::Matmul;
  };
  for (int phase : {0, 1, 2})
    module.walk([&](Operation *op) {
      bool views = phase == 2;
      if (llvm::isa<npu::ViewOp>(op) != views || (phase == 0 && !isMatmul(op)))
        return;
      SmallVector<std::string> names;
      nodeNames(op->getLoc(), names);
      std::string kernel = names.size() > 1 ? locationText(op->getLoc()) : "";
      std::string kind;
      auto fusedLoc = dyn_cast<FusedLoc>(op->getLoc());
      auto meta = fusedLoc ? dyn_cast_or_null<StringAttr>(fusedLoc.getMetadata()) : StringAttr();
      if (meta && meta.getValue() == "attention" && !views) {
        // Every kernel of an attention carries its nodes: report them once
        // as the attention they became.
        for (const std::string &n : names)
          placed.emplace(n, std::make_pair(std::string("attention (tensor engine: QK and PV "
                                                       "matmuls; vector engine: masks, softmax)"),
                                           kernel.empty() ? "attention" : kernel));
        return;
      }
      std::string reuse;
      // Every kernel but PagedAttention is a tile program by now (and that
      // one is always part of an attention, reported above).
      if (auto tp = dyn_cast<npu::TileProgramOp>(op)) {
        kind = tileProgramKind(tp.getKernel());
        if (auto r = tp.getReuse())
          reuse = *r == npu::MatmulReuse::WeightsOnce       ? ", weights streamed once"
                  : *r == npu::MatmulReuse::ActivationsOnce ? ", activations read once"
                  : *r == npu::MatmulReuse::BothOnce        ? ", weights and activations read once"
                                                            : ", operands re-read per tile";
        auto narrow = llvm::count_if(tp->getOperandTypes(), [](Type t) {
          auto m = dyn_cast<MemRefType>(t);
          return m && m.getElementType().isInteger(8);
        });
        bool fp8Mode = false; // an mm on 8-bit float tiles: the target's FP8 mode
        tp->walk([&](npu::MmOp mm) {
          Type a = cast<MemRefType>(mm.getA().getType()).getElementType();
          fp8Mode |= mlir::isa<FloatType>(a) && a.getIntOrFloatBitWidth() == 8;
        });
        if (kind == "matmul" && fp8Mode)
          reuse += ", FP8 mode: 8-bit float activations and weights";
        else if (kind == "matmul" && narrow >= 2)
          reuse += ", INT8 mode: 8-bit activations and weights";
        else if (kind == "matmul" && narrow == 1)
          reuse += ", int8 weights scaled per column";
      }
      if (kind.empty() && !views)
        return; // KV cache writes are part of the attention they serve
      for (size_t i = 0; i < names.size(); ++i) {
        std::string what =
            views                ? "no data movement (view)"
            : kind == "copy"     ? "neural DMA (copy/transpose/cast kernel)"
            : kind == "gather"   ? "command processor + neural DMA (gather kernel, dynamic DMA)"
            : kind == "flash"    ? "tensor + vector engines (flash attention kernel)"
            : i > 0 && kind == "matmul" ? "vector engine (fused into matmul epilogue)"
            : i > 0              ? "vector engine (fused into " + kind + " kernel)"
            : kind == "matmul"   ? "tensor engine (matmul kernel" + reuse + ")"
                                 : "vector engine (" + kind + " kernel)";
        placed.emplace(names[i], std::make_pair(what, kernel));
      }
    });
  std::vector<NodePlacement> out;
  auto add = [&](StringRef name) {
    auto type = types.getAs<StringAttr>(name);
    if (!type)
      return;
    auto it = placed.find(name.str());
    out.push_back({name.str(), type.str(),
                   it == placed.end() ? "folded at compile time" : it->second.first,
                   it == placed.end() ? "" : it->second.second});
  };
  if (order)
    for (Attribute a : order)
      add(cast<StringAttr>(a).getValue());
  else
    for (NamedAttribute na : types)
      add(na.getName().getValue());
  return out;
}

std::vector<proto::OpStat> collectOpStats(const std::vector<NodePlacement> &nodes) {
  std::map<std::pair<std::string, std::string>, uint32_t> counts;
  for (const NodePlacement &n : nodes)
    ++counts[{n.op, n.placement}];
  std::vector<proto::OpStat> out;
  for (auto &[k, n] : counts) {
    proto::OpStat s;
    s.set_op(k.first);
    s.set_placement(k.second);
    s.set_count(n);
    out.push_back(s);
  }
  return out;
}

FailureOr<ArtifactContents> emitArtifact(ModuleOp module, const proto::TargetDesc &target,
                                         const EmitOptions &opts) {
  ArtifactContents c;
  proto::Metadata &m = c.metadata;
  m.set_producer("rbln-compile");
  m.set_compiler_version(RBLN_VERSION);
  m.set_source_model(opts.sourceModel);
  *m.mutable_target() = target;
  for (const auto &[k, v] : opts.options) {
    auto *kv = m.add_options();
    kv->set_key(k);
    kv->set_value(v);
  }
  for (const auto &s : opts.opStats)
    *m.add_op_stats() = s;
  if (opts.llm)
    *m.mutable_llm() = *opts.llm;
  // Weights: one pool for the module, shared by every function (npu-plan-
  // memory placed each distinct constant once).
  int64_t poolBytes = 0;
  if (auto a = module->getAttrOfType<IntegerAttr>("rbln.weights_bytes"))
    poolBytes = a.getInt();
  c.weightsBytes = uint64_t(poolBytes);
  std::set<int64_t> placedWeights;

  for (auto fn : module.getOps<func::FuncOp>()) {
    proto::Function *pf = m.add_functions();
    proto::FunctionDebug *dbg = c.debug.add_functions();
    pf->set_name(fn.getName().str());
    dbg->set_name(fn.getName().str());
    for (BlockArgument arg : fn.getArguments()) {
      if (fn.getArgAttr(arg.getArgNumber(), "rbln.output"))
        *pf->add_outputs() = signature(arg, fn);
      else
        *pf->add_inputs() = signature(arg, fn);
    }
    if (auto a = fn->getAttrOfType<IntegerAttr>("rbln.scratch_bytes"))
      pf->set_scratch_bytes(uint64_t(a.getInt()));
    if (auto a = fn->getAttrOfType<IntegerAttr>("rbln.shm_scratch_bytes"))
      pf->set_shm_bytes_used(uint64_t(a.getInt()));
    if (auto a = fn->getAttrOfType<IntegerAttr>("rbln.spm_bytes"))
      pf->set_spm_bytes_used(uint64_t(a.getInt()));
    pf->set_code_offset(c.code.size() / isa::kWordBytes);
    std::map<std::string, uint32_t> locIndex;
    uint64_t count = 0;
    // Labels first: each names the index of the instruction after it.
    llvm::StringMap<int64_t> labels;
    WalkResult lr = fn.walk([&](Operation *op) -> WalkResult {
      if (llvm::isa<npuisa::InstOpInterface>(op))
        ++count;
      else if (auto l = dyn_cast<npuisa::LabelOp>(op))
        if (!labels.try_emplace(l.getName(), int64_t(count)).second)
          return l.emitError("label '") << l.getName() << "' is defined twice";
      return WalkResult::advance();
    });
    if (lr.wasInterrupted())
      return failure();
    count = 0;
    auto resolve = [&](StringRef name) -> std::optional<int64_t> {
      auto it = labels.find(name);
      if (it == labels.end())
        return std::nullopt;
      return it->second;
    };
    WalkResult r = fn.walk([&](Operation *op) -> WalkResult {
      if (auto cst = dyn_cast<npu::ConstantOp>(op)) {
        if (cst.getOffset() && !placedWeights.insert(int64_t(*cst.getOffset())).second)
          return WalkResult::advance(); // the same weight in another function
        // Weights are written from where they are (a mapped external-data
        // file, a blob), not copied into one pool in memory.
        ArrayRef<char> data;
        if (auto view = getElementData(cst.getValue())) {
          data = *view;
        } else {
          std::vector<char> bytes;
          if (!getElementBytes(cst.getValue(), bytes))
            return cst.emitError("constant has no data");
          c.ownedPieces.emplace_back(bytes.begin(), bytes.end());
          data = ArrayRef<char>(reinterpret_cast<const char *>(c.ownedPieces.back().data()),
                                c.ownedPieces.back().size());
        }
        if (!cst.getOffset())
          return cst.emitError("constant is not placed in the weight pool");
        int64_t off = int64_t(*cst.getOffset());
        if (off < 0 || off + int64_t(data.size()) > poolBytes)
          return cst.emitError("constant lies outside the weight pool");
        c.weightPieces.push_back({uint64_t(off),
                                  reinterpret_cast<const uint8_t *>(data.data()), data.size()});
        return WalkResult::advance();
      }
      if (auto d = dyn_cast<npuisa::DescOp>(op)) {
        if (d.getId() != pf->dma_descs_size())
          return d.emitError("DMA descriptors must be numbered densely from 0");
        proto::DmaDesc *pd = pf->add_dma_descs();
        pd->set_src_dtype(proto::DType(*npuisa::toDType(d.getSrcType())));
        pd->set_dst_dtype(proto::DType(*npuisa::toDType(d.getDstType())));
        for (int64_t v : d.getSizes()) pd->add_sizes(v);
        for (int64_t v : d.getSrcStrides()) pd->add_src_strides(v);
        for (int64_t v : d.getDstStrides()) pd->add_dst_strides(v);
        pd->set_no_saturate(!d.getSaturate());
        return WalkResult::advance();
      }
      if (auto inst = dyn_cast<npuisa::InstOpInterface>(op)) {
        auto decoded = npuisa::toInst(inst, resolve);
        if (!decoded.ok())
          return op->emitError(decoded.error());
        uint8_t word[isa::kWordBytes];
        Status st = isa::encode(*decoded, word);
        if (!st.ok())
          return op->emitError(st.message());
        c.code.insert(c.code.end(), word, word + isa::kWordBytes);
        std::string loc = locationText(op->getLoc());
        auto [it, inserted] = locIndex.insert({loc, uint32_t(dbg->locations_size())});
        if (inserted)
          dbg->add_locations(loc);
        dbg->add_inst_location(it->second);
        ++count;
        return WalkResult::advance();
      }
      if (llvm::isa<func::FuncOp, func::ReturnOp, npuisa::LabelOp>(op))
        return WalkResult::advance();
      return op->emitError("cannot emit '") << op->getName()
                                            << "': the module is not fully lowered to npuisa";
    });
    if (r.wasInterrupted())
      return failure();
    pf->set_num_insts(count);
    std::vector<isa::Inst> decoded;
    for (uint64_t i = 0; i < count; ++i)
      decoded.push_back(*isa::decode(c.code.data() + (pf->code_offset() + i) * isa::kWordBytes));
    Status v = validateFunctionCode(*pf, decoded, target);
    if (!v.ok())
      return fn.emitError(v.message()), failure();
  }
  llvm::sort(c.weightPieces, [](const WeightPiece &a, const WeightPiece &b) { return a.offset < b.offset; });
  if (c.weightPieces.empty())
    c.weights.assign(size_t(c.weightsBytes), 0); // an all-zero (or empty) pool
  m.set_weights_bytes(c.weightsBytes);
  return c;
}

} // namespace rbln

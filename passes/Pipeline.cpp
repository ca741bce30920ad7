//===- Pipeline.cpp - Pass registration and the named pipelines -----------===//
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "passes/Conversion/GraphToNpu/Passes.h"
#include "passes/Conversion/NpuToIsa/Passes.h"
#include "passes/Graph/Passes.h"
#include "passes/Npu/Passes.h"

using namespace mlir;

namespace rbln {

void buildGraphPipeline(OpPassManager &pm, const PipelineOptions &o) {
  auto pagedKv = [&] {
    graph::GraphPagedKvCacheOptions po;
    po.blockSize = o.kvBlockSize;
    po.maxSeqLen = o.maxSeqLen;
    po.cacheType = o.kvCacheDtype == "fp8" ? std::string("f8E4M3FN") : std::string(o.computeType);
    po.slidingWindow = o.slidingWindow;
    po.slidingWindowLayers.assign(o.slidingWindowLayers.begin(), o.slidingWindowLayers.end());
    pm.addPass(graph::createGraphPagedKvCache(po));
  };
  auto weights = [&] {
    if (o.weightDtype == "int8" || o.weightDtype == "fp8" || o.weightDtype == "int4")
      pm.addPass(graph::createGraphQuantizeWeights({o.weightDtype, o.weightGroupSize}));
  };
  if (o.optLevel == 0) {
    // LLM mode needs the attention to page the cache, even without fusion.
    if (o.kvBlockSize > 0) {
      pm.addNestedPass<func::FuncOp>(graph::createGraphFuseAttention());
      pagedKv();
    }
    weights();
    return;
  }
  pm.addPass(createCanonicalizerPass());
  pm.addNestedPass<func::FuncOp>(graph::createGraphFuseActivations());
  pm.addNestedPass<func::FuncOp>(graph::createGraphFuseAttention());
  if (o.kvBlockSize > 0)
    pagedKv();
  pm.addNestedPass<func::FuncOp>(graph::createGraphFuseMatmulEpilogue());
  pm.addNestedPass<func::FuncOp>(graph::createGraphFuseNormResidual());
  pm.addNestedPass<func::FuncOp>(graph::createGraphFuseAttentionQuant());
  pm.addPass(createCanonicalizerPass());
  weights();
}

void buildNpuPipeline(OpPassManager &pm, const PipelineOptions &o) {
  if (o.attnImpl == "eager")
    pm.addNestedPass<func::FuncOp>(graph::createGraphExpandAttention());
  pm.addPass(createConvertGraphToNpu({o.computeType, o.target}));
  pm.addNestedPass<func::FuncOp>(npu::createNpuFoldTransposes());
  // Spaces first: the tile cost model reads which operands live on chip.
  pm.addPass(npu::createNpuPlanMemory({o.target}));
  pm.addPass(npu::createNpuTilePartition({o.target, o.kvPartitionLen}));
  pm.addPass(npu::createNpuMaterializeTiles());
  pm.addPass(npu::createNpuMultiBuffer());
  pm.addPass(npu::createNpuInsertSync());
  pm.addPass(npu::createNpuAllocateScratchpad({o.target}));
  pm.addPass(npu::createNpuDynamicDma());
  pm.addPass(npu::createNpuAllocateRegisters());
}

void buildIsaPipeline(OpPassManager &pm, const PipelineOptions &o) {
  pm.addPass(createConvertNpuToNpuIsa({o.target}));
}

void registerRblnPasses() {
  graph::registerGraphPasses();
  npu::registerNpuPasses();
  registerGraphToNpuPasses();
  registerNpuToIsaPasses();
  PassPipelineRegistration<PipelineOptions>("rbln-graph", "graph-level fusion as rbln-compile runs it",
                                            buildGraphPipeline);
  PassPipelineRegistration<PipelineOptions>(
      "rbln-to-npu", "graph passes, then lowering to tiled npu kernels",
      [](OpPassManager &pm, const PipelineOptions &o) {
        buildGraphPipeline(pm, o);
        buildNpuPipeline(pm, o);
      });
  PassPipelineRegistration<PipelineOptions>(
      "rbln-compile", "the whole pipeline rbln-compile runs, graph to npuisa",
      [](OpPassManager &pm, const PipelineOptions &o) {
        buildGraphPipeline(pm, o);
        buildNpuPipeline(pm, o);
        buildIsaPipeline(pm, o);
      });
}

} // namespace rbln

//===- FuseMatmulEpilogue.cpp - Bias, residual and activation into matmul -===//
//
// A matmul's sole consumer -- a bias add, a residual add (a transformer's
// skip connection, after the bias), then ReLU, sigmoid, tanh, SiLU or GELU
// (exact or tanh) -- runs on the output tile before its store.
//
#include "passes/Graph/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace rbln::graph {
#define GEN_PASS_DEF_GRAPHFUSEMATMULEPILOGUE
#include "passes/Graph/Passes.h.inc"
} // namespace rbln::graph

using namespace mlir;
using namespace rbln::graph;

namespace {

/// A matmul whose only use is `user` and that has room for `what`.
MatmulOp soleProducer(Value v, Operation *user) {
  auto mm = v.getDefiningOp<MatmulOp>();
  if (!mm || !mm->hasOneUse() || *mm->user_begin() != user)
    return nullptr;
  return mm;
}

/// Replaces `add` of `mm`'s product by `mm` with `bias` and `residual` (the
/// fused op carries both ops' locations).
void replaceWithFused(PatternRewriter &rewriter, MatmulOp mm, AddOp add, Value bias, Value residual) {
  auto fused = MatmulOp::create(rewriter, rewriter.getFusedLoc({mm.getLoc(), add.getLoc()}), mm.getType(),
                                mm.getLhs(), mm.getRhs(), bias, residual);
  fused.setTransposeLhs(mm.getTransposeLhs());
  fused.setTransposeRhs(mm.getTransposeRhs());
  fused.setAlpha(mm.getAlpha());
  fused.setBeta(mm.getBeta());
  rewriter.replaceOp(add, fused.getResult());
  rewriter.eraseOp(mm);
}

struct FuseBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      MatmulOp mm = soleProducer(add->getOperand(i), add);
      Value bias = add->getOperand(1 - i);
      if (!mm || mm.getBias() || mm.getResidual() || mm.getActivation() != Activation::None)
        continue;
      // The bias must broadcast to the product's shape, not widen it.
      if (add.getType() != mm.getType())
        continue;
      replaceWithFused(rewriter, mm, add, bias, Value());
      return success();
    }
    return failure();
  }
};

/// `matmul(x, w) bias b` + r with r of the product's type: the skip
/// connection is added to the accumulator (the kernel starts it from r).
struct FuseResidual : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      MatmulOp mm = soleProducer(add->getOperand(i), add);
      Value residual = add->getOperand(1 - i);
      if (!mm || !mm.getBias() || mm.getResidual() || mm.getActivation() != Activation::None ||
          mm.getAlpha().convertToFloat() != 1.0f || residual.getType() != mm.getType() ||
          add.getType() != mm.getType())
        continue;
      replaceWithFused(rewriter, mm, add, mm.getBias(), residual);
      return success();
    }
    return failure();
  }
};

template <typename OpTy, Activation Act> struct FuseActivation : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op, PatternRewriter &rewriter) const override {
    MatmulOp mm = soleProducer(op.getInput(), op);
    if (!mm || mm.getActivation() != Activation::None)
      return failure();
    rewriter.modifyOpInPlace(mm, [&] {
      mm.setActivation(Act);
      mm->setLoc(rewriter.getFusedLoc({mm.getLoc(), op.getLoc()}));
    });
    rewriter.replaceOp(op, mm.getResult());
    return success();
  }
};

/// GELU, exact or tanh-approximated, as the matmul's activation.
struct FuseGelu : OpRewritePattern<GeluOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GeluOp op, PatternRewriter &rewriter) const override {
    MatmulOp mm = soleProducer(op.getInput(), op);
    if (!mm || mm.getActivation() != Activation::None || mm.getType() != op.getType())
      return failure();
    rewriter.modifyOpInPlace(mm, [&] {
      mm.setActivation(op.getTanhApproximation() ? Activation::GeluTanh : Activation::Gelu);
      mm->setLoc(rewriter.getFusedLoc({mm.getLoc(), op.getLoc()}));
    });
    rewriter.replaceOp(op, mm.getResult());
    return success();
  }
};

struct GraphFuseMatmulEpiloguePass
    : rbln::graph::impl::GraphFuseMatmulEpilogueBase<GraphFuseMatmulEpiloguePass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FuseBias, FuseResidual, FuseActivation<ReluOp, Activation::Relu>,
                 FuseActivation<SigmoidOp, Activation::Sigmoid>,
                 FuseActivation<TanhOp, Activation::Tanh>,
                 FuseActivation<SiluOp, Activation::Silu>, FuseGelu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

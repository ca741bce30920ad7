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

/// An add of a sole matmul's product: the first becomes its bias (any
/// operand that broadcasts to the product), a second one of the product's
/// type its residual (a skip connection: the kernel starts the accumulator
/// from it).
struct FuseAdd : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp add, PatternRewriter &rewriter) const override {
    for (unsigned i = 0; i < 2; ++i) {
      MatmulOp mm = soleProducer(add->getOperand(i), add);
      Value other = add->getOperand(1 - i);
      // The operand must broadcast to the product's shape, not widen it.
      if (!mm || mm.getResidual() || mm.getActivation() != Activation::None || add.getType() != mm.getType())
        continue;
      if (!mm.getBias()) {
        replaceWithFused(rewriter, mm, add, other, Value());
        return success();
      }
      if (mm.getAlpha().convertToFloat() == 1.0f && other.getType() == mm.getType()) {
        replaceWithFused(rewriter, mm, add, mm.getBias(), other);
        return success();
      }
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
    patterns.add<FuseAdd, FuseActivation<ReluOp, Activation::Relu>,
                 FuseActivation<SigmoidOp, Activation::Sigmoid>,
                 FuseActivation<TanhOp, Activation::Tanh>,
                 FuseActivation<SiluOp, Activation::Silu>, FuseGelu>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

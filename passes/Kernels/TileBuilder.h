//===- TileBuilder.h - Writing a kernel as a tile program -------*- C++ -*-===//
//
// What every kernel's materialization (npu-materialize-tiles) shares: the
// `npu.tile_program` around it, its semaphores and scratchpad buffers, index
// constants hoisted to the program's start, `npu.distribute` loops, and
// `npu.dma` / `npu.vec` with their waits and signals. Each kernel's
// materialization is in the file of its name in this folder.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/Npu/NpuDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "passes/Kernels/KernelGeometry.h"
#include "rbln/runtime/Isa.h"

#include <map>
#include <variant>

namespace rbln::npu {

/// A wait of an engine op: until the NE's instance of `sem` has counted
/// `count` signals in this program (count <= 0: no wait).
struct TileWait {
  mlir::Value sem;
  mlir::Value count;
};

class TileBuilder {
public:
  /// Mixed static/dynamic sizes: an index Value or an int64_t.
  using Size = std::variant<mlir::Value, int64_t>;

  TileBuilder(mlir::OpBuilder &b, mlir::Location loc) : b(b), loc(loc) {}

  /// Creates the program at the builder's insertion point binding `buffers`,
  /// and moves the insertion point into it. Returns the buffers as the
  /// program sees them.
  mlir::ValueRange begin(KernelKind kind, TilingAttr tiling, mlir::ValueRange buffers) {
    prog = TileProgramOp::create(b, loc, KernelKindAttr::get(b.getContext(), kind),
                                 b.getI64IntegerAttr(tiling.getNe()),
                                 b.getI64IntegerAttr(tiling.getSpm()), buffers,
                                 MatmulReuseAttr());
    mlir::Block *body = b.createBlock(&prog.getBody());
    for (mlir::Value v : buffers)
      body->addArgument(v.getType(), loc);
    b.setInsertionPointToStart(body);
    return body->getArguments();
  }
  /// Ends the program: the builder inserts after it again.
  void end() { b.setInsertionPointAfter(prog); }

  mlir::Value sem(llvm::StringRef name) { 
    return SemaphoreOp::create(b, loc, SemaphoreType::get(b.getContext()), b.getStringAttr(name));
  }

  /// A scratchpad buffer of `shape` (f32 unless `elementType` says),
  /// placed by npu-allocate-scratchpad.
  mlir::Value spm(llvm::StringRef name, llvm::ArrayRef<int64_t> shape, mlir::Type elementType = {}) {
    return alloc(MemorySpace::Spm, name, shape, elementType, /*aligned=*/false);
  }
  /// `shape[0]` copies of a scratchpad buffer of `shape[1:]` (double
  /// buffering), each starting at kSpmAlign bytes: the leading stride may be
  /// larger than a copy.
  mlir::Value spmCopies(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                        mlir::Type elementType = {}) {
    return alloc(MemorySpace::Spm, name, shape, elementType, /*aligned=*/true);
  }
  /// A scratchpad buffer each work item fills afresh (`item_local`):
  /// npu-multi-buffer gives it copies when several engines touch it, so one
  /// item's transfers overlap another's work.
  mlir::Value spmItem(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                      mlir::Type elementType = {}) {
    mlir::Value v = spm(name, shape, elementType);
    v.getDefiningOp<AllocOp>().setItemLocal(true);
    return v;
  }
  /// A scratchpad buffer each step of an item fills afresh (`step_local`):
  /// a matmul's operand tiles, copies by the step.
  mlir::Value spmStep(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                      mlir::Type elementType = {}) {
    mlir::Value v = spm(name, shape, elementType);
    v.getDefiningOp<AllocOp>().setStepLocal(true);
    return v;
  }
  /// A buffer of the kernel's own SHM area (after the function's
  /// intermediates there), placed by npu-allocate-scratchpad.
  mlir::Value shm(llvm::StringRef name, llvm::ArrayRef<int64_t> shape, mlir::Type elementType = {}) {
    return alloc(MemorySpace::Shm, name, shape, elementType, /*aligned=*/false);
  }

  /// An index constant, created once at the program's start.
  mlir::Value c(int64_t v) {
    auto it = consts.find(v);
    if (it != consts.end())
      return it->second;
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&prog.getProgram());
    mlir::Value r = mlir::arith::ConstantIndexOp::create(b, loc, v);
    return consts[v] = r;
  }
  /// Index arithmetic, folded when the operands are constants (so a
  /// program shows only what varies per item).
  mlir::Value add(mlir::Value a, int64_t v) {
    if (auto k = constOf(a))
      return c(*k + v);
    return v ? mlir::arith::AddIOp::create(b, loc, a, c(v)).getResult() : a;
  }
  mlir::Value add(mlir::Value a, mlir::Value v) {
    if (auto k = constOf(v))
      return add(a, *k);
    if (auto k = constOf(a))
      return add(v, *k);
    return mlir::arith::AddIOp::create(b, loc, a, v);
  }
  mlir::Value sub(mlir::Value a, mlir::Value v) {
    if (auto x = constOf(a), y = constOf(v); x && y)
      return c(*x - *y);
    if (auto y = constOf(v); y && *y == 0)
      return a;
    if (a == v)
      return c(0);
    return mlir::arith::SubIOp::create(b, loc, a, v);
  }
  mlir::Value mul(mlir::Value a, int64_t v) {
    if (auto k = constOf(a))
      return c(*k * v);
    if (v == 0)
      return c(0);
    return v == 1 ? a : mlir::arith::MulIOp::create(b, loc, a, c(v)).getResult();
  }
  mlir::Value min(mlir::Value a, int64_t v) {
    if (auto k = constOf(a))
      return c(std::min(*k, v));
    return mlir::arith::MinSIOp::create(b, loc, a, c(v));
  }
  mlir::Value rem(mlir::Value a, int64_t v) {
    if (auto k = constOf(a))
      return c(*k % v);
    return v == 1 ? c(0) : mlir::arith::RemSIOp::create(b, loc, a, c(v)).getResult();
  }
  mlir::Value div(mlir::Value a, int64_t v) {
    if (auto k = constOf(a))
      return c(*k / v);
    return v == 1 ? a : mlir::arith::DivSIOp::create(b, loc, a, c(v)).getResult();
  }
  static std::optional<int64_t> constOf(mlir::Value v) {
    if (auto k = v.getDefiningOp<mlir::arith::ConstantOp>())
      if (auto i = llvm::dyn_cast<mlir::IntegerAttr>(k.getValue()))
        return i.getType().isInteger(1) ? int64_t(i.getValue().getBoolValue()) : i.getInt();
    return std::nullopt;
  }
  mlir::Value select(mlir::Value cond, mlir::Value a, mlir::Value v) {
    if (auto k = constOf(cond))
      return *k ? a : v;
    return mlir::arith::SelectOp::create(b, loc, cond, a, v);
  }
  Size mulSizes(Size x, Size y) {
    auto *xi = std::get_if<int64_t>(&x), *yi = std::get_if<int64_t>(&y);
    if (xi && yi)
      return *xi * *yi;
    mlir::Value xv = xi ? c(*xi) : std::get<mlir::Value>(x), yv = yi ? c(*yi) : std::get<mlir::Value>(y);
    return mlir::arith::MulIOp::create(b, loc, xv, yv).getResult();
  }
  /// `then` when a == v, else `otherwise`.
  mlir::Value selectEq(mlir::Value a, int64_t v, int64_t then, int64_t otherwise) {
    mlir::Value eq = mlir::arith::CmpIOp::create(b, loc, mlir::arith::CmpIPredicate::eq, a, c(v));
    return mlir::arith::SelectOp::create(b, loc, eq, c(then), c(otherwise));
  }

  /// Command-processor values (known only when the program runs).
  mlir::Value cpConst(int64_t v) {
    return CpConstOp::create(b, loc, RegType::get(b.getContext()), b.getI64IntegerAttr(v));
  }
  mlir::Value cpFromIndex(mlir::Value v) {
    return CpFromIndexOp::create(b, loc, RegType::get(b.getContext()), v);
  }
  mlir::Value loadIndex(mlir::Value buf, mlir::ValueRange idx) {
    return CpLoadIndexOp::create(b, loc, RegType::get(b.getContext()), buf, idx);
  }
  mlir::Value wrapIndex(mlir::Value r, int64_t size) {
    return CpWrapIndexOp::create(b, loc, RegType::get(b.getContext()), r, b.getI64IntegerAttr(size));
  }
  void checkRange(mlir::Value r, mlir::Value bound, isa::TrapCode code) {
    CpCheckRangeOp::create(b, loc, r, bound, TrapAttr::get(b.getContext(), unsigned(code)));
  }
  /// The base address of `buf[idx]` (indices: index values or registers).
  mlir::Value address(mlir::Value buf, mlir::ValueRange idx) {
    return CpAddressOp::create(b, loc, RegType::get(b.getContext()), buf, idx);
  }
  /// The run-time leading dimension of `buf` (bound to a function argument).
  mlir::Value dim(mlir::Value buf) { return CpDimOp::create(b, loc, RegType::get(b.getContext()), buf); }
  mlir::Value cpDiv(mlir::Value r, int64_t divisor) {
    return CpDivOp::create(b, loc, RegType::get(b.getContext()), r, b.getI64IntegerAttr(divisor));
  }
  mlir::Value cpRem(mlir::Value r, int64_t pow2) {
    return CpRemOp::create(b, loc, RegType::get(b.getContext()), r, b.getI64IntegerAttr(pow2));
  }
  /// A counted loop whose bounds are known per item: body(iv).
  template <typename Body> void loop(mlir::Value lb, Size ub, Body body) {
    mlir::Value u = std::holds_alternative<int64_t>(ub) ? c(std::get<int64_t>(ub))
                                                        : std::get<mlir::Value>(ub);
    if (auto l = constOf(lb), h = constOf(u); l && h && *l >= *h)
      return; // never runs
    if (auto l = constOf(lb), h = constOf(u); l && h && *h == *l + 1) {
      body(lb); // runs once
      return;
    }
    auto f = mlir::scf::ForOp::create(b, loc, lb, u, c(1));
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(f.getBody()->getTerminator());
    body(f.getInductionVar());
  }
  /// Two versions of the ops `body(flag)` builds: flag = true when `cond`
  /// holds (e.g. a DMA that signals only on a loop's last iteration).
  template <typename Body> void ifElse(mlir::Value cond, Body body) {
    if (auto k = constOf(cond)) {
      body(bool(*k));
      return;
    }
    auto i = mlir::scf::IfOp::create(b, loc, cond, /*withElseRegion=*/true);
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(i.thenBlock()->getTerminator());
    body(true);
    b.setInsertionPoint(i.elseBlock()->getTerminator());
    body(false);
  }
  mlir::Value cmpv(mlir::arith::CmpIPredicate p, mlir::Value a, mlir::Value v) {
    if (auto k = constOf(v))
      return cmp(p, a, *k);
    return mlir::arith::CmpIOp::create(b, loc, p, a, v);
  }
  mlir::Value max(mlir::Value a, int64_t v) {
    if (auto k = constOf(a))
      return c(std::max(*k, v));
    return mlir::arith::MaxSIOp::create(b, loc, a, c(v));
  }
  /// min(max(a, lo), hi).
  mlir::Value clamp(mlir::Value a, int64_t lo, int64_t hi) { return min(max(a, lo), hi); }
  mlir::Value value(Size s) {
    return std::holds_alternative<int64_t>(s) ? c(std::get<int64_t>(s)) : std::get<mlir::Value>(s);
  }

  /// The rows of the tile starting at row `first`: `tile`, or what is left
  /// of `total` (static when every tile is whole).
  Size rowsLeft(mlir::Value first, int64_t total, int64_t tile) {
    if (total <= tile)
      return total; // one tile: it starts at 0
    if (total % tile == 0)
      return tile;
    return min(sub(c(total), first), tile);
  }

  /// A loop of `items` work items over the program's NEs; `body(item, iter, ne)`.
  template <typename Body> void distribute(int64_t items, Body body) {
    DistributeOp d = makeDistribute(items, 1);
    body(d.getItem(), d.getIter(), d.getNe());
    b.setInsertionPointAfter(d);
  }
  /// Items of `steps` steps each: body(item, iter, ne, step of item, step).
  template <typename Body> void distributeSteps(int64_t items, int64_t steps, Body body) {
    if (steps == 1) {
      DistributeOp d = makeDistribute(items, 1);
      body(d.getItem(), d.getIter(), d.getNe(), c(0), d.getIter());
      b.setInsertionPointAfter(d);
      return;
    }
    DistributeOp d = makeDistribute(items, steps);
    body(d.getItem(), d.getIter(), d.getNe(), d.getStepOfItem(), d.getStep());
    b.setInsertionPointAfter(d);
  }
  /// `then()` builds what runs only when `cond` holds (an scf.if, decided
  /// per item when the program is expanded).
  template <typename Then> void when(mlir::Value cond, Then then) {
    if (auto k = constOf(cond)) {
      if (*k)
        then();
      return;
    }
    auto i = mlir::scf::IfOp::create(b, loc, cond, /*withElseRegion=*/false);
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPoint(i.thenBlock()->getTerminator());
    then();
  }
  mlir::Value cmp(mlir::arith::CmpIPredicate p, mlir::Value a, int64_t v) {
    if (auto k = constOf(a))
      return boolConst(mlir::arith::applyCmpPredicate(p, llvm::APInt(64, uint64_t(*k), true),
                                                      llvm::APInt(64, uint64_t(v), true)));
    return mlir::arith::CmpIOp::create(b, loc, p, a, c(v));
  }
  mlir::Value boolConst(bool v) {
    if (bools[v])
      return bools[v];
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(&prog.getProgram());
    return bools[v] = mlir::arith::ConstantIntOp::create(b, loc, v, 1);
  }



  DmaOp dma(DmaQueue q, mlir::Value src, mlir::ValueRange srcIdx, mlir::Value dst,
            mlir::ValueRange dstIdx, llvm::ArrayRef<Size> sizes, llvm::ArrayRef<Size> srcStrides,
            llvm::ArrayRef<Size> dstStrides, mlir::Value ne, llvm::ArrayRef<TileWait> waits = {},
            mlir::Value signal = {}, mlir::Value address = {}) {
    auto [dyn, stat] = split(sizes);
    auto [sDyn, sStat] = split(srcStrides);
    auto [dDyn, dStat] = split(dstStrides);
    auto [ws, wc] = splitWaits(waits);
    return DmaOp::create(b, loc, q, src, srcIdx, dst, dstIdx, dyn, b.getDenseI64ArrayAttr(stat), sDyn,
                         b.getDenseI64ArrayAttr(sStat), dDyn, b.getDenseI64ArrayAttr(dStat), ne, ws, wc,
                         signal, address);
  }

  struct Operand {
    mlir::Value buf;
    llvm::SmallVector<mlir::Value, 3> idx;
  };
  /// One vector op of a chain: rows and cols default to the chain's.
  struct VecStep {
    isa::Opcode op;
    Operand dst, src0;
    std::optional<Operand> src1;
    std::optional<Size> cols;
    Broadcast bc = Broadcast::None;
    float imm = 0;
    std::optional<Size> rows;
  };
  /// Vector ops issued back to back on one NE: the first waits on `waits`,
  /// the last signals `signal`.
  void vecChain(llvm::ArrayRef<VecStep> steps, Size rows, Size cols, mlir::Value ne,
                llvm::ArrayRef<TileWait> waits, mlir::Value signal) {
    for (size_t i = 0; i < steps.size(); ++i) {
      const VecStep &v = steps[i];
      vec(v.op, v.dst, v.src0, v.src1 ? &*v.src1 : nullptr, v.rows.value_or(rows),
          v.cols.value_or(cols), v.bc, v.imm, ne, i == 0 ? waits : llvm::ArrayRef<TileWait>(),
          i + 1 == steps.size() ? signal : mlir::Value());
    }
  }
  void mm(const Operand &acc, const Operand &a, const Operand &bb, llvm::ArrayRef<Size> shape,
          mlir::Value accumulate, bool ta, bool tb, mlir::Value ne,
          llvm::ArrayRef<TileWait> waits = {}, mlir::Value signal = {});
  void vec(isa::Opcode op, const Operand &dst, const Operand &src0, const Operand *src1, Size rows,
           Size cols, Broadcast bc, float scalar, mlir::Value ne, llvm::ArrayRef<TileWait> waits = {},
           mlir::Value signal = {}) {
    auto [dyn, stat] = split({rows, cols});
    auto [ws, wc] = splitWaits(waits);
    VecOp::create(b, loc, VectorOpAttr::get(b.getContext(), unsigned(op)), dst.buf, dst.idx,
                  src0.buf, src0.idx, src1 ? src1->buf : mlir::Value(),
                  src1 ? mlir::ValueRange(src1->idx) : mlir::ValueRange(), dyn,
                  b.getDenseI64ArrayAttr(stat), BroadcastAttr::get(b.getContext(), bc),
                  b.getF32FloatAttr(scalar), ne, ws, wc, signal);
  }

  /// One online-softmax step (masks inside; `causal`/`window` may be null;
  /// `shift` a run-time offset of both diagonals, `sharedPosition` rows at
  /// one position).
  void softmaxStep(const Operand &scores, const Operand &stats, Size rows, Size cols, float scale,
                   mlir::Value causal, mlir::Value window, mlir::Value ne,
                   llvm::ArrayRef<TileWait> waits = {}, mlir::Value signal = {},
                   mlir::Value shift = {}, bool sharedPosition = false) {
    auto [dyn, stat] = split({rows, cols});
    auto [ws, wc] = splitWaits(waits);
    SoftmaxStepOp::create(b, loc, scores.buf, scores.idx, stats.buf, stats.idx, dyn,
                          b.getDenseI64ArrayAttr(stat), b.getF32FloatAttr(scale), causal, window,
                          shift, sharedPosition ? b.getUnitAttr() : mlir::UnitAttr(), ne, ws, wc,
                          signal);
  }
  /// Signals of `sem` the NE's commands built so far carry.
  mlir::Value semCount(mlir::Value sem) { return SemCountOp::create(b, loc, b.getIndexType(), sem); }
  /// NE `ne`'s instance of `sem` (to wait on).
  mlir::Value semOn(mlir::Value sem, mlir::Value ne) {
    return SemOnOp::create(b, loc, SemaphoreType::get(b.getContext()), sem, ne);
  }
  void endStep(bool keepEmpty = false) {
    EndStepOp::create(b, loc, keepEmpty ? b.getUnitAttr() : mlir::UnitAttr());
  }
  /// Run-time arithmetic: `rhs` a register or an index (an immediate).
  template <typename Op> mlir::Value cp(mlir::Value lhs, mlir::Value rhs) {
    return Op::create(b, loc, RegType::get(b.getContext()), lhs, rhs);
  }
  /// `then()` builds commands that run only when lhs < rhs at run time
  /// (skipped, empty commands give their signals).
  template <typename Then> void ifLess(mlir::Value lhs, mlir::Value rhs, Then then) {
    auto i = CpIfLessOp::create(b, loc, lhs, rhs);
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(b.createBlock(&i.getBody()));
    then();
  }
  void issueDeferred() { IssueDeferredOp::create(b, loc); }
  /// `body()` builds commands issued at the NE's next issueDeferred.
  template <typename Body> void deferred(Body body) {
    auto d = DeferredOp::create(b, loc);
    mlir::OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToStart(b.createBlock(&d.getBody()));
    body();
  }

  mlir::OpBuilder &b;
  mlir::Location loc;
  TileProgramOp prog;

private:
  mlir::Value alloc(MemorySpace space, llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                    mlir::Type elementType, bool alignedCopies) {
    mlir::MLIRContext *ctx = b.getContext();
    mlir::Type et = elementType ? elementType : b.getF32Type();
    auto type = mlir::MemRefType::get(shape, et, mlir::MemRefLayoutAttrInterface(),
                                      MemorySpaceAttr::get(ctx, space));
    if (alignedCopies && shape.size() > 1)
      type = copiesType(mlir::MemRefType::get(shape.drop_front(), et, mlir::MemRefLayoutAttrInterface(),
                                              MemorySpaceAttr::get(ctx, space)),
                        shape[0]);
    return AllocOp::create(b, loc, type, mlir::IntegerAttr(), b.getStringAttr(name), mlir::UnitAttr());
  }
  DistributeOp makeDistribute(int64_t items, int64_t steps) {
    auto d = DistributeOp::create(b, loc, b.getI64IntegerAttr(items), b.getI64IntegerAttr(steps));
    mlir::Block *blk = b.createBlock(&d.getBody());
    for (int i = 0; i < (steps > 1 ? 5 : 3); ++i)
      blk->addArgument(b.getIndexType(), loc);
    b.setInsertionPointToStart(blk);
    return d;
  }
  std::map<int64_t, mlir::Value> consts;
  mlir::Value bools[2];
  std::pair<llvm::SmallVector<mlir::Value>, llvm::SmallVector<int64_t>> split(llvm::ArrayRef<Size> s) {
    llvm::SmallVector<mlir::Value> dyn;
    llvm::SmallVector<int64_t> stat;
    for (const Size &x : s) {
      if (auto *v = std::get_if<mlir::Value>(&x)) {
        dyn.push_back(*v);
        stat.push_back(mlir::ShapedType::kDynamic);
      } else {
        stat.push_back(std::get<int64_t>(x));
      }
    }
    return {dyn, stat};
  }
  static std::pair<llvm::SmallVector<mlir::Value>, llvm::SmallVector<mlir::Value>>
  splitWaits(llvm::ArrayRef<TileWait> w) {
    llvm::SmallVector<mlir::Value> s, n;
    for (const TileWait &x : w)
      s.push_back(x.sem), n.push_back(x.count);
    return {s, n};
  }
};

inline void TileBuilder::mm(const Operand &acc, const Operand &a, const Operand &bb,
                            llvm::ArrayRef<Size> shape, mlir::Value accumulate, bool ta, bool tb,
                            mlir::Value ne, llvm::ArrayRef<TileWait> waits, mlir::Value signal) {
  auto [dyn, stat] = split(shape);
  auto [ws, wc] = splitWaits(waits);
  MmOp::create(b, loc, acc.buf, acc.idx, a.buf, a.idx, bb.buf, bb.idx, dyn,
               b.getDenseI64ArrayAttr(stat), accumulate, b.getBoolAttr(ta), b.getBoolAttr(tb), ne,
               ws, wc, signal);
}

/// A contiguous buffer seen as [rows, len] (an `npu.view` when it has
/// another shape).
mlir::Value asRows(mlir::OpBuilder &b, mlir::Location loc, mlir::Value buf, int64_t rows, int64_t len);

// One materialization per kernel, each in the file of its name.
mlir::LogicalResult materializeSoftmax(mlir::OpBuilder &b, SoftmaxOp op);
mlir::LogicalResult materializeRows(mlir::OpBuilder &b, RowsOp op);
mlir::LogicalResult materializeElementwise(mlir::OpBuilder &b, ElementwiseOp op);
mlir::LogicalResult materializeMatmul(mlir::OpBuilder &b, MatmulOp op);
mlir::LogicalResult materializeGather(mlir::OpBuilder &b, GatherOp op);
mlir::LogicalResult materializeKvCacheWrite(mlir::OpBuilder &b, KvCacheWriteOp op);
mlir::LogicalResult materializeFlash(mlir::OpBuilder &b, FlashAttentionOp op);
mlir::LogicalResult materializePaged(mlir::OpBuilder &b, PagedAttentionOp op);
/// `buf` seen as one run of its elements (its root's, from its offset).
mlir::Value asFlat(mlir::OpBuilder &b, mlir::Location loc, mlir::Value buf);
/// `buf` seen as `shape` through `strides` (elements of its root buffer,
/// from the window's own offset; 0 where broadcast).
mlir::Value asView(mlir::OpBuilder &b, mlir::Location loc, mlir::Value buf,
                   llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<int64_t> strides);

} // namespace rbln::npu

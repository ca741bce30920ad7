//===- KernelGeometry.h - Shapes, tiles and SPM layouts of kernels -*- C++ -*-===//
//
// Declared together (npu-tile-partition, npu-plan-memory and the lowerings
// use them); each kernel's definitions are in passes/Kernels/<Kernel>.cpp.
//
//
// The one place that knows how each npu kernel is cut into tiles and how
// many scratchpad bytes its buffers take. npu-tile-partition uses it to
// choose tiles; each kernel's materialization allocates those buffers, and
// npu-allocate-scratchpad places them and refuses a program whose buffers
// outgrow the bytes its tiling reserved.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "dialects/Npu/NpuDialect.h"
#include "rbln/runtime/DType.h"
#include "rbln/runtime/Target.h"

#include <array>

namespace rbln::npu {

inline int64_t alignTo(int64_t v, int64_t a) { return (v + a - 1) / a * a; }
inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
constexpr int64_t kSpmAlign = 64;
/// The largest size a 16-bit field of mm and vector commands holds.
constexpr int64_t kMaxField = 65535;

/// The scratchpad bytes of a kernel's buffers, each starting at kSpmAlign
/// as npu-allocate-scratchpad places them (`copies` of a multi-buffer each
/// aligned, as copiesType lays them out). An upper bound: a program may
/// take fewer (npu-allocate-scratchpad refuses one that takes more).
struct SpmSize {
  int64_t bytes = 0;
  void add(int64_t bufferBytes, int64_t copies = 1) {
    bytes += copies * alignTo(bufferBytes, kSpmAlign);
  }
};

/// `copies` copies of a contiguous scratchpad buffer of type `one`, as one
/// buffer with a leading dimension of `copies`: each copy starts at
/// kSpmAlign bytes, so the leading stride may exceed a copy's elements.
mlir::MemRefType copiesType(mlir::MemRefType one, int64_t copies);

/// Rows per tile for a row kernel: enough tiles for every NE -- up to
/// kRowTilesPerNe each while a tile keeps kMinRowTileElems elements, so one
/// tile's load and store overlap another's vector work (double buffering) --
/// halved until the layout fits the scratchpad (`bytesFor(rows)`).
constexpr int64_t kRowTilesPerNe = 4, kMinRowTileElems = 4096;
mlir::FailureOr<int64_t> chooseRowCount(int64_t rows, int64_t len, const TargetDesc &t,
                                        llvm::function_ref<int64_t(int64_t)> bytesFor);
DType dtypeOf(mlir::Type t);

/// Row-major element strides of a shape.
llvm::SmallVector<int64_t> contiguousStrides(llvm::ArrayRef<int64_t> shape);
/// Element strides of a buffer: row-major for the identity layout, else its
/// strided layout's (strided npu.view windows).
llvm::SmallVector<int64_t> layoutStrides(mlir::MemRefType t);
/// Element offset of a strided window in its root buffer (0 for identity).
int64_t layoutOffset(mlir::MemRefType t);
/// Strides with which an operand of `inShape` is read at each index of
/// `outShape` under NumPy broadcasting (0 where it is broadcast).
/// Strides reading a buffer of `inShape` with `inStrides` as `outShape`
/// (right-aligned; broadcast dims get stride 0).
llvm::SmallVector<int64_t> viewStrides(llvm::ArrayRef<int64_t> inShape,
                                       llvm::ArrayRef<int64_t> inStrides,
                                       llvm::ArrayRef<int64_t> outShape);
llvm::SmallVector<int64_t> broadcastStrides(llvm::ArrayRef<int64_t> inShape,
                                            llvm::ArrayRef<int64_t> outShape);

// --- matmul -----------------------------------------------------------------
enum class BiasMode { None, Row, Col, Full };

struct MatmulGeometry {
  int64_t m = 0, n = 0, k = 0;
  llvm::SmallVector<int64_t> batchShape; ///< broadcast batch dims of the output
  llvm::SmallVector<int64_t> lhsBatchStrides, rhsBatchStrides, biasBatchStrides; ///< elements
  bool ta = false, tb = false;
  DType lhs = DType::F32, rhs = DType::F32, out = DType::F32, compute = DType::F32, bias = DType::F32;
  BiasMode biasMode = BiasMode::None;
  int64_t biasStrideM = 0, biasStrideN = 0; ///< bias strides along the output's M and N
  /// A residual of the output's shape and layout starts the accumulator.
  bool hasResidual = false;
  DType residual = DType::F32;
  /// Operands in shared memory (on chip): their traffic is off the DRAM channel.
  bool lhsShm = false, rhsShm = false, outShm = false, residualShm = false;
  /// int8 weights with a scale per output column, applied in the epilogue.
  bool hasScale = false;
  /// Rows of a column per scale (int4 or group-wise weights): the scale is
  /// [ceil(K / scaleBlock), N] and each weight tile is scaled before the
  /// product (hasScale is false then). 0: no blocks.
  int64_t scaleBlock = 0;
  /// Vector passes of the output grid (a QDQ pair on the product) and of
  /// an output quantization: 0 to 11.
  int gridPasses = 0;
  /// A bias per column after the output grid.
  bool hasGridBias = false;
  /// An 8-bit float output grid (an FP8 QDQ pair): its type, the tile cast
  /// to it and back through an SPM tile of it; F32 for none or an integer
  /// grid.
  DType gridType = DType::F32;
  DType scale = DType::F32;
  /// The tensor engine's integer mode: u8/i8 lhs times the int8 weights,
  /// summed exactly in i32.
  bool integer() const { return compute == DType::U8 || compute == DType::I8; }
  int64_t batch() const;
  static MatmulGeometry get(MatmulOp op);
};

struct MatmulLayout {
  int64_t tm = 0, tn = 0, tk = 0;
  int64_t bytes = 0; ///< SPM footprint: A, B, the accumulator, the bias, the scale; each double buffered
};
MatmulLayout layoutMatmul(const MatmulGeometry &g, int64_t tm, int64_t tn, int64_t tk);
/// Whether every k-step of size `tk` over `k` lies in one block of
/// `block` rows (a block of scales per step): tk divides the block, or one
/// step covers a K within one block.
inline bool matmulStepInBlock(int64_t tk, int64_t k, int64_t block) {
  return block % tk == 0 || (tk >= k && k <= block);
}
/// Where a matmul with blocks of scales applies a step's scales: to the
/// step's product ([tm, tn]: a multiply and an add into the accumulator)
/// when that is less vector work than scaling the weight tile ([tk, tn]):
/// decode's few rows.
inline bool matmulScalesProduct(int64_t tm, int64_t tk) { return 2 * tm < tk; }
/// Whether the weight tiles stay in their narrow stored type (int8, int4,
/// an 8-bit float) in SPM, for the tensor engine to widen as it reads them:
/// a float computation whose weight tiles nothing else reads (no blocks of
/// scales, or scales applied to the step's product). Otherwise the DMA
/// widens them into compute-type tiles.
inline bool matmulNarrowRhs(const MatmulGeometry &g, int64_t tm, int64_t tk) {
  bool narrow = g.rhs == DType::I8 || g.rhs == DType::I4 || dtypeIsFloat8(g.rhs);
  return narrow && !g.integer() && (!g.scaleBlock || matmulScalesProduct(tm, tk));
}
/// Modeled cycles of the kernel with these tiles (the tile chooser's cost).
double estimateMatmul(const MatmulGeometry &g, const MatmulLayout &l, const TargetDesc &t);
/// The best tiles that fit, or failure when none does.
mlir::FailureOr<MatmulLayout> chooseMatmulTiles(const MatmulGeometry &g, const TargetDesc &t);

// --- elementwise -------------------------------------------------------------
struct ElementwiseGeometry {
  std::array<int64_t, 4> shape{1, 1, 1, 1};             ///< collapsed output shape
  llvm::SmallVector<std::array<int64_t, 4>> inStrides;  ///< per input, elements
  std::array<int64_t, 4> outStrides{0, 0, 0, 1};
  llvm::SmallVector<DType> inTypes;
  DType outType = DType::F32;
  /// Fails when the index space needs more than the 4 strided dims of a DMA
  /// descriptor even after merging dims every operand walks contiguously.
  static mlir::FailureOr<ElementwiseGeometry> get(ElementwiseOp op);
  bool isCopy = false;
  /// A copy between buffers of one element type keeps that type in the
  /// scratchpad tiles (integers above 2^24 would not survive f32 tiles);
  /// every other kernel's tiles are f32, which the vector engine computes in.
  bool tileInStoredType() const { return isCopy && inTypes.size() == 1 && inTypes[0] == outType; }
  int64_t tileElemBytes() const { return tileInStoredType() ? int64_t(dtypeSize(outType)) : 4; }
  /// Rotary: the innermost dim (the head dim) is never merged and a tile
  /// spans it whole; the layout adds a buffer for rotate_half(x).
  bool rotary = false;
};

struct ElementwiseLayout {
  int64_t rows = 0, cols = 0;
  /// Double buffered: each input, the output (not for a copy) and, for
  /// rotary, x with its halves swapped.
  int64_t bytes = 0;
};
ElementwiseLayout layoutElementwise(const ElementwiseGeometry &g, int64_t rows, int64_t cols);
mlir::FailureOr<ElementwiseLayout> chooseElementwiseTiles(const ElementwiseGeometry &g,
                                                          const TargetDesc &t);

// --- softmax -----------------------------------------------------------------
struct SoftmaxGeometry {
  int64_t rows = 0, len = 0;
  DType in = DType::F32, out = DType::F32;
  static SoftmaxGeometry get(SoftmaxOp op);
};
struct SoftmaxLayout {
  int64_t rows = 0;
  /// x, max and sum rows, two copies each reserved (npu-multi-buffer gives
  /// max and sum, the vector engine's alone, one).
  int64_t bytes = 0;
};
SoftmaxLayout layoutSoftmax(const SoftmaxGeometry &g, int64_t rows);
mlir::FailureOr<SoftmaxLayout> chooseSoftmaxTiles(const SoftmaxGeometry &g, const TargetDesc &t);

// --- row kernels (reductions, normalizations) ------------------------------------
struct RowsGeometry {
  int64_t rows = 0, len = 0;
  DType in = DType::F32, out = DType::F32, scale = DType::F32, bias = DType::F32;
  RowKind kind = RowKind::Sum;
  bool hasBias = false;
  bool hasResidual = false; ///< added to each row before normalizing
  DType residual = DType::F32;
  bool isNorm() const { return kind == RowKind::LayerNorm || kind == RowKind::RmsNorm; }
  static RowsGeometry get(RowsOp op);
};
struct RowsLayout {
  int64_t rows = 0;
  /// Input rows and one value per row (result or mean), two copies each
  /// reserved (npu-multi-buffer gives one to what only the vector engine
  /// touches); normalizations add tmp, var, scale, bias and residual rows.
  int64_t bytes = 0;
};
RowsLayout layoutRows(const RowsGeometry &g, int64_t rows);
mlir::FailureOr<RowsLayout> chooseRowsTiles(const RowsGeometry &g, const TargetDesc &t);

// --- flash attention -----------------------------------------------------------
struct FlashGeometry {
  int64_t b = 0, hq = 0, hkv = 0, sq = 0, sk = 0, d = 0, dv = 0;
  DType q = DType::F32, k = DType::F32, v = DType::F32, mask = DType::F32, out = DType::F32;
  DType compute = DType::F32; ///< Q, K, V and P as the tensor engine reads them
  bool hasMask = false;
  std::array<int64_t, 4> maskStrides{0, 0, 0, 0}; ///< over [B, Hq, Sq, Sk], 0 where broadcast
  /// Element strides of q, k, v and out over [B, H, S, D] (D's is 1): a head
  /// split or merge folded into the kernel's DMA reads and writes them from
  /// a [B, S, H, D] buffer.
  std::array<int64_t, 4> qs{}, ks{}, vs{}, os{};
  static FlashGeometry get(FlashAttentionOp op);
};
struct FlashLayout {
  int64_t tq = 0, tk = 0;
  /// K and V of one (batch, KV head) stay in the scratchpad for all its query
  /// tiles (read from DRAM once) instead of streaming per tile.
  bool kvResident = false;
  /// Two resident K/V areas: the next (batch, KV head)'s K/V are fetched in
  /// chunks while the NE works on the current one's.
  bool kvDouble = false;
  /// Resident K/V (one or two areas) or streamed K/V tiles; then, double
  /// buffered, Q, mask, O and scores tiles; probabilities in the compute
  /// type (unless f32: the scores), so the softmax of tile t+1 need not wait
  /// for P(t) V(t); running statistics (m, l, alpha rows) per item parity;
  /// t, z, zeros and -inf rows of the query tile.
  int64_t bytes = 0;
};
FlashLayout layoutFlash(const FlashGeometry &g, int64_t tq, int64_t tk, bool kvResident,
                        bool kvDouble = false);
/// `kvLen` > 0 fixes the KV tile length (--kvcache-partition-len).
mlir::FailureOr<FlashLayout> chooseFlashTiles(const FlashGeometry &g, const TargetDesc &t,
                                              int64_t kvLen = 0);

// --- paged attention (dynamic DMA) -----------------------------------------------
struct PagedGeometry {
  int64_t b = 0, hq = 0, hkv = 0, s = 0, d = 0, dv = 0;
  int64_t blockSize = 0, maxBlocks = 0; ///< block table [b, maxBlocks]
  DType q = DType::F32, cache = DType::F32, out = DType::F32, compute = DType::F32;
  bool decode() const { return s == 1; }
  int64_t maxSeqLen() const { return blockSize * maxBlocks; }
  /// Query rows of one work item: the heads sharing a KV head (decode) or
  /// up to `tq` tokens of one head (prefill).
  int64_t itemRows(int64_t tq) const { return decode() ? hq / hkv : std::min(tq, s); }
  static PagedGeometry get(PagedAttentionOp op);
};
struct PagedLayout {
  int64_t tq = 0, tk = 0; ///< query rows, KV partition length (keys per tile)
  /// Decode only: each sequence's KV partitions split over this many NEs
  /// (flash-decoding), their partial results combined through SHM.
  int64_t splits = 1;
  /// Q; double-buffered K and V partitions; scores, probabilities (unless
  /// f32), O, statistics and per-row scratch; with splits, the combine's
  /// every split's m (transposed), m and l rows, partial O, row max, weights
  /// and sum.
  int64_t bytes = 0;
  /// SHM bytes of one split's partial result: O [rows, dv] then m, l rows (f32).
  static int64_t partialBytes(const PagedGeometry &g, int64_t rows) {
    return (rows * g.dv + 2 * rows) * 4;
  }
};
PagedLayout layoutPaged(const PagedGeometry &g, int64_t tq, int64_t tk, int64_t splits = 1);
/// `kvLen` > 0 fixes the partition length (--kvcache-partition-len; rounded
/// to a multiple of the block size). A decode step splits partitions over
/// idle NEs when their partials fit `shmFree` bytes of SHM (what the
/// function's intermediates leave).
mlir::FailureOr<PagedLayout> choosePagedTiles(const PagedGeometry &g, const TargetDesc &t,
                                              int64_t kvLen, int64_t shmFree);
/// A KV-cache write stages one token's K and V rows per NE, double
/// buffered.
struct KvCacheWriteLayout {
  int64_t bytes = 0, rowBytes = 0;
};
KvCacheWriteLayout layoutKvCacheWrite(KvCacheWriteOp op);

/// The NEs a paged-attention kernel spreads over: every NE whose per-NE
/// registers (an item's position; with a window, its first partition: CP
/// values that live across the item's steps) the command processor has
/// beside the program's others.
int64_t pagedNeCount(PagedAttentionOp op, const TargetDesc &t);
/// The command-processor registers a kernel's buffers take for their
/// addresses: one per distinct function argument among them (views seen
/// through); weights, scratch and SHM buffers use fixed registers.
unsigned argumentRegisters(mlir::ValueRange buffers);
/// The layout with its splits final for `ne` NEs: none with a window, and
/// every split of every item in one round.
PagedLayout finalizePagedTiles(const PagedGeometry &g, const PagedLayout &l, int64_t window,
                               int64_t ne);

// --- gather (dynamic DMA) -------------------------------------------------------
struct GatherGeometry {
  int64_t n = 0;         ///< number of indices (rows gathered)
  int64_t tableRows = 0; ///< rows of the table (the bound indices are checked against)
  int64_t rowLen = 0;    ///< elements per row
  DType data = DType::F32, index = DType::I64;
  static GatherGeometry get(GatherOp op);
};
struct GatherLayout {
  int64_t rows = 0;
  int64_t bytes = 0; ///< the gathered rows, double buffered
};
GatherLayout layoutGather(const GatherGeometry &g, int64_t rows);
mlir::FailureOr<GatherLayout> chooseGatherTiles(const GatherGeometry &g, const TargetDesc &t);

} // namespace rbln::npu

//===- NpuOps.td - The npu dialect -------------------------*- tablegen -*-===//
//
// NPU kernels on buffers in explicit memory spaces. convert-graph-to-npu
// bufferizes graph ops into these (DRAM memrefs, destination passing);
// npu-tile-partition picks each kernel's tiles from the target description;
// npu-plan-memory places buffers in the DRAM arena and the weight pool;
// convert-npu-to-npuisa expands each kernel into DMA, tensor and vector
// commands with semaphores.
//
//===----------------------------------------------------------------------===//
#ifndef RBLN_NPU_OPS
#define RBLN_NPU_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Npu_Dialect : Dialect {
  let name = "npu";
  let cppNamespace = "::rbln::npu";
  let summary = "NPU kernels on buffers in explicit memory spaces";
  let useDefaultAttributePrinterParser = 1;
  let useDefaultTypePrinterParser = 1;
  let dependentDialects = ["::mlir::memref::MemRefDialect", "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def Npu_MemorySpace : I32EnumAttr<"MemorySpace", "NPU memory space", [
    I32EnumAttrCase<"Dram", 0, "dram">,
    I32EnumAttrCase<"Shm", 1, "shm">,
    I32EnumAttrCase<"Spm", 2, "spm">]> {
  let cppNamespace = "::rbln::npu";
  let genSpecializedAttr = 0;
}
def Npu_MemorySpaceAttr : EnumAttr<Npu_Dialect, Npu_MemorySpace, "space"> {
  let assemblyFormat = "`<` $value `>`";
}

def Npu_MatmulReuse : I32EnumAttr<"MatmulReuse", "which matmul operand each NE reads only once", [
    I32EnumAttrCase<"WeightsOnce", 0, "weights_once">,
    I32EnumAttrCase<"ActivationsOnce", 1, "activations_once">,
    I32EnumAttrCase<"BothOnce", 2, "both_once">,
    I32EnumAttrCase<"Tiled", 3, "tiled">]> {
  let cppNamespace = "::rbln::npu";
  let genSpecializedAttr = 0;
}
def Npu_MatmulReuseAttr : EnumAttr<Npu_Dialect, Npu_MatmulReuse, "reuse"> {
  let assemblyFormat = "`<` $value `>`";
}

def Npu_KvResidency : I32EnumAttr<"KvResidency", "where an attention kernel keeps K/V tiles", [
    I32EnumAttrCase<"Streamed", 0, "streamed">,
    I32EnumAttrCase<"Resident", 1, "resident">,
    I32EnumAttrCase<"DoubleBuffered", 2, "double_buffered">]> {
  let cppNamespace = "::rbln::npu";
  let genSpecializedAttr = 0;
}

def Npu_TilingAttr : AttrDef<Npu_Dialect, "Tiling"> {
  let mnemonic = "tiling";
  let summary = "npu-tile-partition's decision for one kernel, final";
  let description = [{
    ```
    #npu.tiling<[64, 128], ne = 8, spm = 1179904, kv = resident>
    ```
    `tile`: the kernel's tile sizes (matmul [tm, tn, tk]; elementwise [rows,
    cols]; row kernels, softmax and gather [rows]; attention [query rows, KV
    rows]); `ne`: the NEs its work items are spread over; `spm`: scratchpad
    bytes per NE; `splits`: flash-decoding splits of a decode step's KV
    partitions (paged attention); `kv`: K/V streamed per tile, resident per
    (batch, KV head), or resident and double-buffered (FlashAttention). The
    lowering into instructions follows it and re-decides nothing.
  }];
  let parameters = (ins ArrayRefParameter<"int64_t", "tile sizes">:$tile, "int64_t":$ne,
                        "int64_t":$spm, DefaultValuedParameter<"int64_t", "1">:$splits,
                        DefaultValuedParameter<"::rbln::npu::KvResidency",
                                               "::rbln::npu::KvResidency::Streamed">:$kv);
  let assemblyFormat = [{
    `<` `[` $tile `]` `,` `ne` `=` $ne `,` `spm` `=` $spm (`,` `splits` `=` $splits^)?
    (`,` `kv` `=` $kv^)? `>`
  }];
  let genVerifyDecl = 1;
}

def Npu_ElementwiseKind : I32EnumAttr<"ElementwiseKind", "elementwise kernel", [
    I32EnumAttrCase<"Add", 0, "add">,
    I32EnumAttrCase<"Sub", 1, "sub">,
    I32EnumAttrCase<"Mul", 2, "mul">,
    I32EnumAttrCase<"Div", 3, "div">,
    I32EnumAttrCase<"Relu", 4, "relu">,
    I32EnumAttrCase<"Sigmoid", 5, "sigmoid">,
    I32EnumAttrCase<"Tanh", 6, "tanh">,
    I32EnumAttrCase<"Copy", 7, "copy">,
    I32EnumAttrCase<"Pow", 8, "pow">,
    I32EnumAttrCase<"Max", 9, "max">,
    I32EnumAttrCase<"Min", 10, "min">,
    I32EnumAttrCase<"Exp", 11, "exp">,
    I32EnumAttrCase<"Log", 12, "log">,
    I32EnumAttrCase<"Sqrt", 13, "sqrt">,
    I32EnumAttrCase<"Reciprocal", 14, "reciprocal">,
    I32EnumAttrCase<"Neg", 15, "neg">,
    I32EnumAttrCase<"Abs", 16, "abs">,
    I32EnumAttrCase<"Erf", 17, "erf">,
    I32EnumAttrCase<"Sin", 18, "sin">,
    I32EnumAttrCase<"Cos", 19, "cos">,
    I32EnumAttrCase<"Gelu", 20, "gelu">,
    I32EnumAttrCase<"GeluTanh", 21, "gelu_tanh">,
    I32EnumAttrCase<"Silu", 22, "silu">,
    I32EnumAttrCase<"Clip", 23, "clip">,
    I32EnumAttrCase<"CmpEq", 24, "cmp_eq">,
    I32EnumAttrCase<"CmpLt", 25, "cmp_lt">,
    I32EnumAttrCase<"CmpLe", 26, "cmp_le">,
    I32EnumAttrCase<"CmpGt", 27, "cmp_gt">,
    I32EnumAttrCase<"CmpGe", 28, "cmp_ge">,
    I32EnumAttrCase<"And", 29, "and">,
    I32EnumAttrCase<"Or", 30, "or">,
    I32EnumAttrCase<"Xor", 31, "xor">,
    I32EnumAttrCase<"Not", 32, "not">,
    I32EnumAttrCase<"IsNan", 33, "is_nan">,
    I32EnumAttrCase<"NonZero", 34, "non_zero">,
    I32EnumAttrCase<"Select", 35, "select">,
    I32EnumAttrCase<"Rotary", 36, "rotary">,
    I32EnumAttrCase<"Round", 37, "round">,
    I32EnumAttrCase<"Quantize", 38, "quantize">]> {
  let cppNamespace = "::rbln::npu";
  let genSpecializedAttr = 0;
}
def Npu_ElementwiseKindAttr : EnumAttr<Npu_Dialect, Npu_ElementwiseKind, "kind"> {
  let assemblyFormat = "`<` $value `>`";
}

// The activation a matmul epilogue applies (the graph dialect has its own:
// npu does not depend on graph; convert-graph-to-npu maps one to the other).
def Npu_Activation : I32EnumAttr<"Activation", "activation in a kernel's epilogue", [
    I32EnumAttrCase<"None", 0, "none">,
    I32EnumAttrCase<"Relu", 1, "relu">,
    I32EnumAttrCase<"Sigmoid", 2, "sigmoid">,
    I32EnumAttrCase<"Tanh", 3, "tanh">,
    I32EnumAttrCase<"Gelu", 4, "gelu">,
    I32EnumAttrCase<"GeluTanh", 5, "gelu_tanh">,
    I32EnumAttrCase<"Silu", 6, "silu">]> {
  let cppNamespace = "::rbln::npu";
  let genSpecializedAttr = 0;
}
def Npu_ActivationAttr : EnumAttr<Npu_Dialect, Npu_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

// Floats are computed; i64/i32 buffers hold model inputs and constants
// (indices, masks), converted by DMA where they feed a kernel. Predicates
// (graph i1) are held in the compute type as 1.0/0.0, except in bool model
// inputs and outputs (one byte each, converted by DMA).
// i4: int4 weights, packed two per byte, that a matmul's DMA widens.
def Npu_DramBuffer : MemRefOf<[F32, F16, BF16, I64, I32, I8, UI8, I1, F8E4M3FN, F8E5M2,
                                  F8E4M3FNUZ, F8E5M2FNUZ, I<4>]>;

def Npu_RowKind : I32EnumAttr<"RowKind", "row kernel", [
    I32EnumAttrCase<"Sum", 0, "sum">,
    I32EnumAttrCase<"Mean", 1, "mean">,
    I32EnumAttrCase<"Max", 2, "max">,
    I32EnumAttrCase<"LayerNorm", 3, "layer_norm">,
    I32EnumAttrCase<"RmsNorm", 4, "rms_norm">,
    I32EnumAttrCase<"Min", 5, "min">,
    I32EnumAttrCase<"MaxMin", 6, "max_min">]> {
  let cppNamespace = "::rbln::npu";
  let genSpecializedAttr = 0;
}
def Npu_RowKindAttr : EnumAttr<Npu_Dialect, Npu_RowKind, "row"> {
  let assemblyFormat = "`<` $value `>`";
}

class Npu_Op<string mnemonic, list<Trait> traits = []> : Op<Npu_Dialect, mnemonic, traits>;

def Npu_AllocOp : Npu_Op<"alloc", [DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmResultNames"]>]> {
  let summary = "a buffer in DRAM, shared memory (SHM) or an NE's scratchpad (SPM)";
  let description = [{
    npu-plan-memory chooses an intermediate's memory space (SHM when it fits
    beside the buffers live at the same time, else the DRAM scratch arena)
    and sets `offset`, its byte offset in that space's arena. Inside an
    `npu.tile_program` an alloc is a scratchpad buffer (the same offset on
    every NE) or the kernel's own SHM area; npu-allocate-scratchpad sets its
    offset. `name` names it in the IR. `item_local`: each work item of the
    distribute using it fills it afresh (nothing in it outlives the item), so
    npu-multi-buffer may give it one copy per item in flight; `step_local`:
    the same for each step of an item cut into steps (a matmul's operand
    tiles, loaded afresh for each k-step).
  }];
  let arguments = (ins OptionalAttr<I64Attr>:$offset, OptionalAttr<StrAttr>:$name,
                       UnitAttr:$item_local, UnitAttr:$step_local);
  let results = (outs Npu_DramBuffer:$result);
  let assemblyFormat = "attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Npu_ConstantOp : Npu_Op<"constant"> {
  let summary = "a buffer in the weight pool holding `value`";
  let description = [{ `offset` is its byte offset in the pool, set by npu-plan-memory. }];
  let arguments = (ins ElementsAttr:$value, OptionalAttr<I64Attr>:$offset);
  let results = (outs Npu_DramBuffer:$result);
  let assemblyFormat = "$value attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Npu_ViewOp : Npu_Op<"view", [Pure]> {
  let summary = "the same bytes seen with another shape or through strides";
  let description = [{
    With an identity layout the result is a reshape of a contiguous source.
    With a `strided<[...], offset: N>` layout it is a window of the source's
    root buffer (offset and strides in elements of that buffer, non-negative):
    a slice to read, or the part of a concatenation a copy kernel writes.
    Only copy kernels (`npu.elementwise<copy>`) take strided buffers.
  }];
  let arguments = (ins Npu_DramBuffer:$source);
  let results = (outs Npu_DramBuffer:$result);
  let assemblyFormat = "$source attr-dict `:` type($source) `to` type($result)";
  let hasVerifier = 1;
}

def Npu_GatherOp : Npu_Op<"gather"> {
  let summary = "rows of a table picked by run-time indices (embedding lookup)";
  let description = [{
    `out[q, :] = table[indices[q], :]` over the flattened indices. The command
    processor loads each index from DRAM, checks it against the table's rows
    (negative counts from the end; outside traps with "index out of range"),
    and forms the row's DMA address from it: a dynamic DMA. `tiling` (from
    npu-tile-partition) has tile [rows] per scratchpad buffer.
  }];
  let arguments = (ins Npu_DramBuffer:$table, Npu_DramBuffer:$indices, Npu_DramBuffer:$out,
                   OptionalAttr<Npu_TilingAttr>:$tiling);
  let assemblyFormat = [{
    `ins` `(` $table `[` $indices `]` `)` `outs` `(` $out `)` attr-dict `:`
    type($table) `,` type($indices) `->` type($out)
  }];
  let hasVerifier = 1;
}

def Npu_FlashAttentionOp : Npu_Op<"flash_attention"> {
  let summary = "FlashAttention: per query tile, a loop over KV tiles with online softmax";
  let description = [{
    `out = softmax(scale * q k^T (softcap) + mask, causal) v` for q
    [B, Hq, Sq, D], k [B, Hkv, Sk, D], v [B, Hkv, Sk, Dv] (query head h reads
    KV head h / (Hq / Hkv)), `mask` an optional additive float mask that
    broadcasts to [B, Hq, Sq, Sk]. `consts` holds {0, -inf} for the running
    statistics' initial values. q, k, v and out may be strided views with
    contiguous rows (a [B, S, H, D] buffer seen as [B, H, S, D]): the
    kernel's DMA reads and writes rows through the strides, so the head
    split and merge around attention need no transpose kernels
    (npu-fold-transposes).

    For each (batch, head, query tile) — spread over the NEs — the kernel
    keeps the running row max m, row sum l and the output accumulator O in
    the scratchpad and loops over the KV tiles: S = Q K^T (tensor engine),
    scale/softcap/mask, the causal mask generated in place from row and
    column positions (`v.mask_upper`) on tiles the diagonal crosses, KV
    tiles wholly above it skipped (with a sliding `window`, also the tiles
    wholly before a query tile's windows, the lower edge masked in place); m' = max(m, rowmax S), P = exp(S - m'),
    alpha = exp(m - m'), l = alpha l + rowsum P, O = alpha O + P V. Then
    O / l (rows with every key masked give 0). Q, K, V and P enter the
    tensor engine in `compute_type` (f32 accumulation); S is double
    buffered so that S(t+1) = Q K(t+1)^T overlaps the softmax of tile t.
    K/V either stay resident in the scratchpad for all query tiles of a
    (batch, KV head), read from DRAM once, or stream double-buffered tiles.
    `tiling` (from npu-tile-partition): tile [query rows, KV rows], `kv`.
    `output_quant` = [scale, zero_point]: out is int8/uint8, each finished
    row divided by scale, rounded and offset in SPM; the store saturates.
  }];
  let arguments = (ins Npu_DramBuffer:$q, Npu_DramBuffer:$k, Npu_DramBuffer:$v,
                   Optional<Npu_DramBuffer>:$mask, Npu_DramBuffer:$consts, Npu_DramBuffer:$out,
                   F32Attr:$scale, BoolAttr:$causal, I64Attr:$causal_offset, F32Attr:$softcap,
                   TypeAttr:$compute_type, OptionalAttr<Npu_TilingAttr>:$tiling,
                   DefaultValuedAttr<I64Attr, "0">:$window,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<2>]>>:$output_quant);
  let assemblyFormat = [{
    `ins` `(` $q `,` $k `,` $v (`mask` $mask^)? `consts` $consts `)` `outs` `(` $out `)` attr-dict `:`
    type($q) `,` type($k) `,` type($v) (`mask` type($mask)^)? `,` type($consts) `->` type($out)
  }];
  let hasVerifier = 1;
}

def Npu_KvCacheWriteOp : Npu_Op<"kv_cache_write"> {
  let summary = "appends this step's K/V rows to paged caches at run-time addresses";
  let description = [{
    For each token (b, s) of `k` [B, Hkv, S, D] / `v` [B, Hkv, S, Dv]: the
    command processor loads its position p from `positions` [B, S] (i64,
    traps outside [0, max_blocks * block_size)), the block id
    `block_table[b, p / block_size]` (i32 [B, max_blocks], traps outside
    [0, num_blocks) with num_blocks read from the argument block), and forms
    the address of slot p % block_size of that block in `k_cache` /
    `v_cache` [num_blocks, Hkv, block_size, D]; the row is staged in SPM and
    stored there by a dynamic DMA (with a cast to the cache's type). Tokens
    are spread over the NEs, one per step, double-buffered: `tiling` (tile
    [1]) from npu-tile-partition.
  }];
  let arguments = (ins Npu_DramBuffer:$k, Npu_DramBuffer:$v, Npu_DramBuffer:$positions,
                   Npu_DramBuffer:$block_table, Npu_DramBuffer:$k_cache, Npu_DramBuffer:$v_cache,
                   OptionalAttr<Npu_TilingAttr>:$tiling);
  let assemblyFormat = [{
    `ins` `(` $k `,` $v `positions` $positions `blocks` $block_table `)` `outs` `(` $k_cache `,` $v_cache `)`
    attr-dict `:` type($k) `,` type($v) `,` type($positions) `,` type($block_table) `->` type($k_cache) `,` type($v_cache)
  }];
  let hasVerifier = 1;
}

def Npu_PagedAttentionOp : Npu_Op<"paged_attention"> {
  let summary = "causal attention over paged K/V, tiles addressed by dynamic DMA";
  let description = [{
    `q` [B, Hq, S, D] at `positions` [B, S] attends to keys 0..p of its
    sequence in `k_cache`/`v_cache` [num_blocks, Hkv, block_size, D|Dv]
    through `block_table` [B, max_blocks]. Decode (S = 1): one work item per
    (sequence, KV head) whose rows are the query heads sharing it. Prefill
    (S > 1, consecutive positions): one work item per (sequence, head, query
    tile). Each item loops over KV partitions of `tile[1]` keys (a multiple
    of the block size); per block of a partition the command processor loads
    the block id from the table and computes the K and V DMA addresses. A
    partition starting past the item's last position is skipped at run time
    (a branch on a register holding the position, its semaphore signals
    credited with `sem.add`), so a step costs the context it has, not the
    maximum. The causal mask comes from the position register
    (`v.mask_upper` with a register operand); online softmax as in
    `npu.flash_attention`. When a decode step has fewer (sequence, KV head)
    items than NEs, each item's partitions are split over several NEs
    (flash-decoding): every split leaves its unnormalized O and its m, l rows
    in SHM, and the NE of the first split combines them (O = sum_s
    exp(m_s - M) O_s / sum_s exp(m_s - M) l_s). `tiling`: tile [query rows, KV
    partition length], `splits`, `ne`.
  }];
  let arguments = (ins Npu_DramBuffer:$q, Npu_DramBuffer:$k_cache, Npu_DramBuffer:$v_cache,
                   Npu_DramBuffer:$block_table, Npu_DramBuffer:$positions, Npu_DramBuffer:$consts,
                   Npu_DramBuffer:$out, F32Attr:$scale, F32Attr:$softcap, TypeAttr:$compute_type,
                   OptionalAttr<Npu_TilingAttr>:$tiling, DefaultValuedAttr<I64Attr, "0">:$window);
  let assemblyFormat = [{
    `ins` `(` $q `cache` $k_cache `,` $v_cache `blocks` $block_table `positions` $positions `consts` $consts `)`
    `outs` `(` $out `)` attr-dict `:` type($q) `,` type($k_cache) `,` type($v_cache) `,` type($block_table) `,`
    type($positions) `,` type($consts) `->` type($out)
  }];
  let hasVerifier = 1;
}

def Npu_MatmulOp : Npu_Op<"matmul", [AttrSizedOperandSegments]> {
  let summary = "tiled matrix product with a fused epilogue";
  let description = [{
    `out = activation(alpha * op(lhs) x op(rhs) + beta * bias + residual)` on
    DRAM or SHM buffers. Operands are streamed tile by tile into each NE's
    scratchpad in `compute_type`, accumulated in f32 by the tensor engine
    (starting from the residual's tile when there is one), and finished by
    the vector engine before the output tile is stored (with a cast to the
    output's element type). `tiling` (tile [tm, tn, tk]) comes from
    npu-tile-partition, with `reuse`, the dataflow its cost model chose:
    `weights_once` (a tile spans every row: each weight tile is streamed
    from DRAM once while the activation rows are re-read per column tile,
    from SHM when they live there), `activations_once` (a tile spans every
    column: weights re-read per row tile), `both_once` or `tiled`.
    With `scale` (a float [N]), rhs holds int8 weights quantized per output
    column: they stay int8 in DRAM, the DMA widens them exactly into the
    compute type, and the epilogue multiplies each column of the product by
    its scale before alpha, bias and activation (`scale` per column
    factors out of the sum over k). With `scale_block` = B > 0 the scale is
    [ceil(K / B), N], one per block of B rows of a column (int4 weights,
    packed two per byte, or group-wise int8): the DMA widens each weight
    tile and the vector engine multiplies it by its block's row of scales
    before the product (the tiling's tk divides B, so a k-step lies in one
    block). `output_grid` = [scale, zero_point,
    lo, hi] rounds the tile to a quantization grid (divide, round half to
    even, clamp to [lo, hi] less the zero point, multiply) before
    `grid_bias` (a float [N]) and the activation, as graph.matmul's; with
    `grid_type` (an 8-bit float) the tile is divided, cast to that type and
    back in SPM, and multiplied. `output_quant` = [scale, zero_point] then
    divides, rounds half to even and adds the zero point; the store into
    the int8/uint8 `out` saturates (into an 8-bit float `out`: divides, and
    the store's cast rounds and saturates).
  }];
  let arguments = (ins Npu_DramBuffer:$lhs, Npu_DramBuffer:$rhs,
                   Optional<Npu_DramBuffer>:$bias, Optional<Npu_DramBuffer>:$residual,
                   Optional<Npu_DramBuffer>:$scale, Optional<Npu_DramBuffer>:$grid_bias,
                   Npu_DramBuffer:$out,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs,
                   DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                   DefaultValuedAttr<Npu_ActivationAttr, "::rbln::npu::Activation::None">:$activation,
                   TypeAttr:$compute_type,
                   OptionalAttr<Npu_TilingAttr>:$tiling,
                   OptionalAttr<Npu_MatmulReuseAttr>:$reuse,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<4>]>>:$output_grid,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<2>]>>:$output_quant,
                   DefaultValuedAttr<I64Attr, "0">:$scale_block,
                   OptionalAttr<TypeAttr>:$grid_type);
  let assemblyFormat = [{
    `ins` `(` $lhs `,` $rhs (`bias` $bias^)? (`residual` $residual^)? (`scale` $scale^)? (`grid_bias` $grid_bias^)? `)`
    `outs` `(` $out `)` attr-dict `:` type($lhs) `,` type($rhs) (`,` type($bias)^)? (`residual` type($residual)^)?
    (`scale` type($scale)^)? (`grid_bias` type($grid_bias)^)? `->` type($out)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Value":$lhs, "::mlir::Value":$rhs, "::mlir::Value":$bias,
                   "::mlir::Value":$residual, "::mlir::Value":$out, "::mlir::Type":$computeType), [{
      $_state.addOperands({lhs, rhs});
      if (bias)
        $_state.addOperands(bias);
      if (residual)
        $_state.addOperands(residual);
      $_state.addOperands(out);
      Properties &props = $_state.getOrAddProperties<Properties>();
      props.operandSegmentSizes = {1, 1, bias ? 1 : 0, residual ? 1 : 0, 0, 0, 1};
      props.compute_type = ::mlir::TypeAttr::get(computeType);
    }]>
  ];
  let hasVerifier = 1;
}

def Npu_ElementwiseOp : Npu_Op<"elementwise"> {
  let summary = "an elementwise kernel over strided, broadcast or permuted inputs";
  let description = [{
    Computes `kind` over the output's index space. Each input is read through
    a view of the output index space: NumPy broadcasting (stride 0), or the
    permutation `perm` for a transpose (kind = copy). The vector engine works
    in f32; DMA converts from and to the buffers' element types (so a copy
    between buffers of different types is a cast). `clip` takes its bounds
    from `bounds`. `tiling` (tile [rows, cols]) comes from npu-tile-partition.
    `saturate = false` (a copy into an 8-bit float buffer: ONNX Cast's
    saturate=0) makes the storing DMA's conversion non-saturating.
  }];
  let arguments = (ins Npu_ElementwiseKindAttr:$kind, Variadic<Npu_DramBuffer>:$inputs,
                   Npu_DramBuffer:$out, OptionalAttr<DenseI64ArrayAttr>:$perm,
                   OptionalAttr<Npu_TilingAttr>:$tiling,
                   OptionalAttr<DenseF32ArrayAttr>:$bounds,
                   DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let assemblyFormat = [{
    $kind `ins` `(` $inputs `)` `outs` `(` $out `)` attr-dict `:` type($inputs) `->` type($out)
  }];
  let hasVerifier = 1;
}

def Npu_SoftmaxOp : Npu_Op<"softmax"> {
  let summary = "softmax over the innermost dimension, one row block at a time";
  let arguments = (ins Npu_DramBuffer:$input, Npu_DramBuffer:$out,
                   OptionalAttr<Npu_TilingAttr>:$tiling);
  let assemblyFormat = "`ins` `(` $input `)` `outs` `(` $out `)` attr-dict `:` type($input) `->` type($out)";
  let hasVerifier = 1;
}

def Npu_RowsOp : Npu_Op<"rows", [AttrSizedOperandSegments]> {
  let summary = "a row kernel: reduction or normalization of each row of a [rows, len] buffer";
  let description = [{
    `sum`, `mean`, `max`, `min`: `out[r]` = the reduction of `input[r, :]` (out is
    [rows]); `max_min`: both in one pass over the rows, the max into `out`,
    the min into `out2` (a range, as DynamicQuantizeLinear takes it). `layer_norm`, `rms_norm`: `out[r, :]` normalized with `epsilon`,
    times `scale[len]` (plus `bias[len]` for layer_norm); a normalization's
    `residual` (the input's shape) is added to each row first. Rows are tiled
    over the NEs; `tiling` (tile [rows per tile]) from npu-tile-partition.
    `residual_quant` = [scale, zero_point]: an 8-bit residual, dequantized
    as it is added; `output_quant` = [scale, zero_point]: the rows are
    divided, rounded half to even and offset before an 8-bit `out`'s
    saturating store (graph.norm's).
  }];
  let arguments = (ins Npu_RowKindAttr:$kind, Npu_DramBuffer:$input,
                   Optional<Npu_DramBuffer>:$scale, Optional<Npu_DramBuffer>:$bias,
                   Optional<Npu_DramBuffer>:$residual,
                   Npu_DramBuffer:$out, Optional<Npu_DramBuffer>:$out2,
                   DefaultValuedAttr<F32Attr, "0.0f">:$epsilon,
                   OptionalAttr<Npu_TilingAttr>:$tiling,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<2>]>>:$residual_quant,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<2>]>>:$output_quant);
  let assemblyFormat = [{
    $kind `ins` `(` $input (`scale` $scale^)? (`bias` $bias^)? (`residual` $residual^)? `)` `outs` `(` $out (`,` $out2^)? `)`
    attr-dict `:` type($input) (`,` type($scale)^)? (`,` type($bias)^)? (`residual` type($residual)^)?
    `->` type($out) (`,` type($out2)^)?
  }];
  let hasVerifier = 1;
}

include "NpuTileOps.td"

#endif // RBLN_NPU_OPS

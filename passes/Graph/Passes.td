#ifndef RBLN_GRAPH_PASSES
#define RBLN_GRAPH_PASSES
include "mlir/Pass/PassBase.td"

def GraphFuseMatmulEpilogue : Pass<"graph-fuse-matmul-epilogue", "mlir::func::FuncOp"> {
  let summary = "Fold a bias Add, a residual Add and an activation into the matmul that feeds them";
  let description = [{
    Rewrites `add(matmul(a, b), c)` (either operand order, `c` broadcastable
    to the product) into `matmul(a, b) bias(c)`, a following `add` of a
    tensor of the product's type into its `residual`, and an activation
    (ReLU, sigmoid, tanh, SiLU, GELU) of a matmul without one into the
    matmul's `activation`, when the matmul has no other use. The NPU then
    applies them to the accumulator tile in SPM instead of a round trip
    through memory. Fused ops carry a fused location of every ONNX node they
    came from.
  }];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}
def GraphQuantizeWeights : Pass<"graph-quantize-weights", "mlir::ModuleOp"> {
  let summary = "Narrow weights (w8a16, w4a16, fp8): matmuls read float constant weights as int8, int4 or FP8 with their scales";
  let description = [{
    `rbln-compile --weight-dtype=int8|int4|fp8`. Every matmul whose rhs is a
    float 2-D constant gets `graph.dequantize(q, s)` instead, symmetric:
    int8 (w8a16) per output column, s = max |w| / 127 over the column, q =
    round_half_even(w / s); fp8 (E4M3FN, optimum-rbln's fp8 weights) s =
    max |w| / 448, q = w / s rounded to E4M3 (nearest even); int4 (w4a16)
    per block of `group-size` rows of a column (GPTQ's and MatMulNBits'
    group-wise form), s = max |w| / 7 over the block, q in [-7, 7] packed
    two per byte. The matmul kernel keeps q narrow in DRAM (int8/FP8 a
    quarter of f32's bytes, int4 an eighth) and multiplies the product's
    columns by s in its epilogue (int4: each weight tile by its block's
    scales before the product). A constant shared by several matmuls or
    functions is quantized once.
  }];
  let options = [Option<"dtype", "dtype", "std::string", "\"int8\"",
                        "the weights' type: int8, int4 or fp8 (E4M3FN)">,
                 Option<"groupSize", "group-size", "int64_t", "128",
                        "int4: rows of a column that share a scale (a power of two, 32 to 1024)">];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}
def GraphFuseNormResidual : Pass<"graph-fuse-norm-residual", "mlir::func::FuncOp"> {
  let summary = "Fold the residual Add before a LayerNorm/RMSNorm (and a QDQ model's quantize/dequantize around it) into the norm";
  let description = [{
    Rewrites `norm(add(a, b))` with `a` and `b` of the input's type into
    `norm(a) residual(b)` when the sum has no other use: the norm kernel adds
    the two rows in SPM before normalizing. Runs after
    graph-fuse-matmul-epilogue, so a skip connection that follows a matmul
    stays in that matmul's epilogue (where it costs one DMA into the
    accumulator) and the norm takes the rest (embedding sums, sums of two
    kernels' results). In a QDQ model, a QuantizeLinear of a norm read by
    nothing else becomes the norm's 8-bit store (`output_quant`), and a
    dequantized 8-bit residual is read as it is and dequantized in SPM
    (`residual_quant`).
  }];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}
def GraphFuseAttentionQuant : Pass<"graph-fuse-attention-quant", "mlir::func::FuncOp"> {
  let summary = "Fold a QDQ model's QuantizeLinear of an attention's output into the attention";
  let description = [{
    Rewrites `quantize(view(attention))` -- `view` the head merge's
    transposes and reshapes, each read once; scale and zero point one value
    for the whole tensor -- into `view(attention {output_quant})`: the
    attention kernel stores its result as 8-bit (divide, round, add the zero
    point in SPM; the store saturates), so neither the float output nor a
    quantize kernel's pass over it reaches memory.
  }];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}
def GraphFuseActivations : Pass<"graph-fuse-activations", "mlir::func::FuncOp"> {
  let summary = "Recognize decomposed SiLU, GELU and RMSNorm as exporters write them";
  let description = [{
    Rewrites `x * sigmoid(x)` into `graph.silu`; `x * 0.5 * (1 + erf(x / sqrt 2))`
    (any association, `/ sqrt 2` or `* 1/sqrt 2`) into `graph.gelu`; and
    `w * (x * 1/sqrt(mean(x^2, last axis) + eps))` (Pow or Mul for the square,
    Reciprocal or `1 / .` or Div for the inverse) into `graph.norm <rms>`,
    when the intermediate values have no other use. Constants must match to
    1e-3 relative. Fused ops carry the locations of every node they replace.
  }];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}
def GraphFuseAttention : Pass<"graph-fuse-attention", "mlir::func::FuncOp"> {
  let summary = "Recognize decomposed scaled-dot-product attention as graph.attention";
  let description = [{
    Rewrites MatMul(Softmax(scale * q k^T + mask), v) in the forms
    torch.onnx.export writes (scale split over q and k, or a Div after the
    matmul; k transposed by Transpose or by Reshape/Transpose/Reshape; an
    additive mask or a Where to -inf; the Where(IsNaN) guard; grouped-query
    K/V repeated by Unsqueeze/Expand/Reshape) into one graph.attention that
    reads the un-repeated K/V. Runs before graph-fuse-matmul-epilogue.
  }];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}

def GraphExpandAttention : Pass<"graph-expand-attention", "mlir::func::FuncOp"> {
  let summary = "Express graph.attention with matmul, softmax and select kernels";
  let description = [{
    The interim lowering of `graph.attention` until the FlashAttention
    kernel lands: scores = matmul(q grouped per KV head, k^T, alpha = scale)
    (grouped-query attention reshapes q to [B, Hkv, G*Sq, D], so K and V are
    never repeated), softcap as tanh, masks and the causal triangle (a
    compile-time constant) as selects to -inf or an add, softmax, a select
    that zeroes fully masked rows, and matmul with v.
  }];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}
def GraphPagedKvCache : Pass<"graph-paged-kv-cache", "mlir::ModuleOp"> {
  let summary = "Turn a decoder's past_key_values inputs into persistent paged KV caches";
  let description = [{
    For a decoder exported with its cache (inputs `past_key_values.{i}.key`/
    `.value` [B, Hkv, P, D] concatenated with the step's keys/values along
    the sequence into `present.{i}.*` outputs and the attention's K/V): each
    layer's attention becomes `graph.paged_attention` over new state
    arguments `kv_cache.{i}.key`/`.value` [?, Hkv, block-size, D] (marked
    `rbln.kv_cache`) addressed through a new `block_tables` i32 input
    [B, max-seq-len / block-size], at the `position_ids` input. The past
    inputs, the present outputs and the attention mask (whose causal and
    padding semantics the positions now carry) are removed. Layers with a
    sliding window (the attention's `window`, or `sliding-window` for the
    layers in `sliding-window-layers`) read a second table,
    `local_block_tables`, whose entries the runtime rotates over a fixed ring
    of blocks; their caches are marked `rbln.kv_window`. A layer's window
    is the same in every entry function: one whose masks show the window
    (a prefill chunk longer than it) sets it for all.
  }];
  let options = [
    Option<"blockSize", "block-size", "int64_t", "128", "tokens per KV block (a power of two)">,
    Option<"maxSeqLen", "max-seq-len", "int64_t", "2048", "longest sequence (a multiple of block-size)">,
    Option<"cacheType", "cache-type", "std::string", "\"f32\"", "element type of the caches: f32, f16, bf16 or f8E4M3FN (--kv-cache-dtype=fp8)">,
    Option<"slidingWindow", "sliding-window", "int64_t", "0",
           "attention window of the layers in sliding-window-layers (0: none)">,
    ListOption<"slidingWindowLayers", "sliding-window-layers", "int64_t",
               "layers with the sliding window (default: all)">,
  ];
  let dependentDialects = ["::rbln::graph::GraphDialect"];
}
#endif

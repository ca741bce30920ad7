//===- GraphOps.td - The graph dialect ---------------------*- tablegen -*-===//
//
// Value-semantic tensor operations at the level the NPU cares about: ONNX
// nodes are imported into these, graph passes fuse and specialize them, and
// convert-graph-to-npu turns each into an NPU kernel.
//
//===----------------------------------------------------------------------===//
#ifndef RBLN_GRAPH_OPS
#define RBLN_GRAPH_OPS

include "mlir/IR/OpBase.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"
include "mlir/IR/BuiltinAttributes.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Graph_Dialect : Dialect {
  let name = "graph";
  let cppNamespace = "::rbln::graph";
  let summary = "Tensor-level operations imported from ONNX";
  let useDefaultAttributePrinterParser = 1;
}

def Graph_Activation : I32EnumAttr<"Activation", "activation fused into an op", [
    I32EnumAttrCase<"None", 0, "none">,
    I32EnumAttrCase<"Relu", 1, "relu">,
    I32EnumAttrCase<"Sigmoid", 2, "sigmoid">,
    I32EnumAttrCase<"Tanh", 3, "tanh">,
    I32EnumAttrCase<"Gelu", 4, "gelu">,
    I32EnumAttrCase<"GeluTanh", 5, "gelu_tanh">,
    I32EnumAttrCase<"Silu", 6, "silu">]> {
  let cppNamespace = "::rbln::graph";
  let genSpecializedAttr = 0;
}
def Graph_ActivationAttr : EnumAttr<Graph_Dialect, Graph_Activation, "activation"> {
  let assemblyFormat = "`<` $value `>`";
}

def Graph_ReduceKind : I32EnumAttr<"ReduceKind", "reduction", [
    I32EnumAttrCase<"Sum", 0, "sum">,
    I32EnumAttrCase<"Mean", 1, "mean">,
    I32EnumAttrCase<"Max", 2, "max">,
    I32EnumAttrCase<"Min", 3, "min">]> {
  let cppNamespace = "::rbln::graph";
  let genSpecializedAttr = 0;
}
def Graph_ReduceKindAttr : EnumAttr<Graph_Dialect, Graph_ReduceKind, "reduce"> {
  let assemblyFormat = "`<` $value `>`";
}

def Graph_NormKind : I32EnumAttr<"NormKind", "normalization", [
    I32EnumAttrCase<"Layer", 0, "layer">,
    I32EnumAttrCase<"Rms", 1, "rms">]> {
  let cppNamespace = "::rbln::graph";
  let genSpecializedAttr = 0;
}
def Graph_NormKindAttr : EnumAttr<Graph_Dialect, Graph_NormKind, "norm"> {
  let assemblyFormat = "`<` $value `>`";
}

class Graph_Op<string mnemonic, list<Trait> traits = []>
    : Op<Graph_Dialect, mnemonic, !listconcat(traits, [Pure])>;

def Graph_ConstantOp : Graph_Op<"constant", [ConstantLike, AllTypesMatch<["value", "result"]>]> {
  let summary = "a constant tensor (weights are dense resources, not copies)";
  let arguments = (ins TypedAttrInterface:$value);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasVerifier = 1;
  let hasFolder = 1;
}

class Graph_BinaryOp<string mnemonic, string what> : Graph_Op<mnemonic> {
  let summary = "elementwise " # what # " with NumPy broadcasting";
  let arguments = (ins AnyStaticShapeTensor:$lhs, AnyStaticShapeTensor:$rhs);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}
def Graph_AddOp : Graph_BinaryOp<"add", "addition">;
def Graph_SubOp : Graph_BinaryOp<"sub", "subtraction">;
def Graph_MulOp : Graph_BinaryOp<"mul", "multiplication">;
def Graph_DivOp : Graph_BinaryOp<"div", "division">;
def Graph_PowOp : Graph_BinaryOp<"pow", "power">;
def Graph_MaxOp : Graph_BinaryOp<"max", "maximum">;
def Graph_MinOp : Graph_BinaryOp<"min", "minimum">;

class Graph_CompareOp<string mnemonic, string what> : Graph_Op<mnemonic> {
  let summary = "elementwise comparison " # what # " with NumPy broadcasting, an i1 result";
  let arguments = (ins AnyStaticShapeTensor:$lhs, AnyStaticShapeTensor:$rhs);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}
def Graph_EqualOp : Graph_CompareOp<"equal", "a == b">;
def Graph_LessOp : Graph_CompareOp<"less", "a < b">;
def Graph_LessEqualOp : Graph_CompareOp<"less_equal", "a <= b">;
def Graph_GreaterOp : Graph_CompareOp<"greater", "a > b">;
def Graph_GreaterEqualOp : Graph_CompareOp<"greater_equal", "a >= b">;
def Graph_AndOp : Graph_BinaryOp<"and", "logical and (i1)">;
def Graph_OrOp : Graph_BinaryOp<"or", "logical or (i1)">;
def Graph_XorOp : Graph_BinaryOp<"xor", "logical exclusive or (i1)">;

class Graph_UnaryOp<string mnemonic, string what> : Graph_Op<mnemonic, [SameOperandsAndResultType]> {
  let summary = "elementwise " # what;
  let arguments = (ins AnyStaticShapeTensor:$input);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}
def Graph_ReluOp : Graph_UnaryOp<"relu", "max(x, 0)">;
def Graph_SigmoidOp : Graph_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;
def Graph_TanhOp : Graph_UnaryOp<"tanh", "hyperbolic tangent">;
def Graph_ExpOp : Graph_UnaryOp<"exp", "exponential">;
def Graph_LogOp : Graph_UnaryOp<"log", "natural logarithm">;
def Graph_SqrtOp : Graph_UnaryOp<"sqrt", "square root">;
def Graph_ReciprocalOp : Graph_UnaryOp<"reciprocal", "1 / x">;
def Graph_NegOp : Graph_UnaryOp<"neg", "negation">;
def Graph_AbsOp : Graph_UnaryOp<"abs", "absolute value">;
def Graph_ErfOp : Graph_UnaryOp<"erf", "error function">;
def Graph_SinOp : Graph_UnaryOp<"sin", "sine">;
def Graph_CosOp : Graph_UnaryOp<"cos", "cosine">;
def Graph_RoundOp : Graph_UnaryOp<"round", "rounding to the nearest integer, ties to even">;
def Graph_SiluOp : Graph_UnaryOp<"silu", "x * sigmoid(x) (from graph-fuse-activations)">;

def Graph_NotOp : Graph_UnaryOp<"not", "logical not (i1)">;

def Graph_IsNanOp : Graph_Op<"is_nan"> {
  let summary = "true where a floating-point element is NaN";
  let arguments = (ins AnyStaticShapeTensor:$input);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_SelectOp : Graph_Op<"select"> {
  let summary = "`cond ? x : y` elementwise, the three broadcast together (ONNX Where)";
  let arguments = (ins AnyStaticShapeTensor:$cond, AnyStaticShapeTensor:$x, AnyStaticShapeTensor:$y);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$cond `,` $x `,` $y attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_QuantizeOp : Graph_Op<"quantize"> {
  let summary = "saturate(round_half_even(input / scale) + zero_point) as int8 or uint8";
  let description = [{
    ONNX's linear quantization of a float tensor (QuantizeLinear, the
    requantization of QLinearMatMul and DynamicQuantizeLinear): `scale` and
    `zero_point` (floats holding the zero point's integer value) broadcast to
    the input as in NumPy; the result is int8 or uint8, saturated to its
    range. One elementwise kernel: divide, round, add, and the DMA's
    saturating store.
  }];
  let arguments = (ins AnyStaticShapeTensor:$input, AnyStaticShapeTensor:$scale,
                   AnyStaticShapeTensor:$zero_point);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input `,` $scale `,` $zero_point attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_GatherOp : Graph_Op<"gather"> {
  let summary = "rows of `data` picked along `axis` by run-time `indices` (ONNX Gather)";
  let description = [{
    `result[i.., q.., j..] = data[i.., indices[q..], j..]` with `i..` the dims
    before `axis`. Negative indices count from the end; an index outside
    `[-dim, dim)` stops the program with an error naming the node. Indices
    known at compile time never reach this op: the importer turns them into
    a `graph.view` or folds the gather.
  }];
  let arguments = (ins AnyStaticShapeTensor:$data, AnyStaticShapeTensor:$indices, I64Attr:$axis);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = [{
    $data `[` $indices `]` `axis` `=` $axis attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Graph_ViewOp : Graph_Op<"view"> {
  let summary = "a strided window of a tensor: slices, splits, broadcasts, static gathers";
  let description = [{
    `result[i..] = flat(input)[offset + sum_d i_d * strides[d]]` with
    non-negative element strides (0 repeats an element). Slice, Split and
    Gather/GatherND with compile-time indices that are affine in the output
    index import as views; on the NPU a view is a strided DMA read.
  }];
  let arguments = (ins AnyStaticShapeTensor:$input, I64Attr:$offset, DenseI64ArrayAttr:$strides);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = [{
    $input `offset` `=` $offset `strides` `=` $strides attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Graph_ConcatOp : Graph_Op<"concat"> {
  let summary = "joins tensors along `axis`";
  let arguments = (ins Variadic<AnyStaticShapeTensor>:$inputs, I64Attr:$axis);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$inputs `axis` `=` $axis attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_RotaryOp : Graph_Op<"rotary"> {
  let summary = "rotary position embedding, rotate-half form";
  let description = [{
    `x * cos + rotate_half(x) * sin` with `rotate_half(x) = concat(-x2, x1)`
    over the halves x1, x2 of the last dim (Llama, Qwen2, GPT-NeoX style);
    `cos` and `sin` broadcast to `x`. From graph-fuse-activations, which
    recognizes the Slice/Neg/Concat/Mul/Add form exporters write.
  }];
  let arguments = (ins AnyStaticShapeTensor:$input, AnyStaticShapeTensor:$cos,
                   AnyStaticShapeTensor:$sin);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input `,` $cos `,` $sin attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_AttentionOp : Graph_Op<"attention"> {
  let summary = "scaled dot-product attention, with GQA/MQA, masks, causality and softcap";
  let description = [{
    `q` [B, Hq, Sq, D], `k` [B, Hkv, Sk, D], `v` [B, Hkv, Sk, Dv] ->
    [B, Hq, Sq, Dv]. Query head h reads KV head h / (Hq / Hkv): grouped-query
    (and multi-query, Hkv = 1) attention without a repeated K/V.

    scores = scale * q k^T, then `softcap * tanh(scores / softcap)` when
    softcap > 0, then masked: `mask` is additive (float) or boolean (false =
    masked), broadcastable to [B, Hq, Sq, Sk]; with `causal`, key j is masked
    for query i when j > i + causal_offset (bottom-right alignment: the
    offset is the length of a past cache); with `window` W > 0 (sliding
    window, needs causal) also when j <= i + causal_offset - W: each query
    sees its last W keys. out = softmax(scores) v, where a query whose keys
    are all masked gets zeros (ONNX Attention's rule). With `output_quant` =
    [scale, zero_point] the result is 8-bit: round(out / scale) + zero_point,
    saturated (a QDQ model's QuantizeLinear of the attention's output).
  }];
  let arguments = (ins AnyStaticShapeTensor:$q, AnyStaticShapeTensor:$k, AnyStaticShapeTensor:$v,
                   Optional<AnyStaticShapeTensor>:$mask, F32Attr:$scale,
                   DefaultValuedAttr<BoolAttr, "false">:$causal,
                   DefaultValuedAttr<I64Attr, "0">:$causal_offset,
                   DefaultValuedAttr<F32Attr, "0.0f">:$softcap,
                   DefaultValuedAttr<I64Attr, "0">:$window,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<2>]>>:$output_quant);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v (`mask` $mask^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

// Not Pure: it writes the caches.
def Graph_PagedAttentionOp : Op<Graph_Dialect, "paged_attention", [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "causal attention over a paged KV cache, appending this step's keys and values";
  let description = [{
    `q` [B, Hq, S, D] and this step's `k` [B, Hkv, S, D], `v` [B, Hkv, S, Dv]
    for the tokens at `positions` [B, S] (i64; consecutive within a row).
    First every token's K/V row is written into the persistent caches
    `k_cache` [num_blocks, Hkv, block_size, D] and `v_cache` (same, Dv):
    position p of sequence b lives in block `block_table[b, p / block_size]`
    (i32 [B, max_blocks]) at slot `p % block_size`. Then each query at
    position p attends to the cached keys 0..p of its sequence:
    out = softmax(scale * q k^T (softcap)) v, [B, Hq, S, Dv]. `num_blocks` is
    dynamic: the runtime sizes the caches at load time. With `window` W > 0
    (a sliding-window layer) each query sees its last W keys only; its
    block table then maps positions onto a ring of blocks that the runtime
    rotates (older positions reuse the blocks of positions W back).
  }];
  let arguments = (ins AnyStaticShapeTensor:$q, AnyStaticShapeTensor:$k, AnyStaticShapeTensor:$v,
                   AnyRankedTensor:$k_cache, AnyRankedTensor:$v_cache,
                   AnyStaticShapeTensor:$block_table, AnyStaticShapeTensor:$positions,
                   F32Attr:$scale, DefaultValuedAttr<F32Attr, "0.0f">:$softcap,
                   DefaultValuedAttr<I64Attr, "0">:$window);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = [{
    $q `,` $k `,` $v `cache` `(` $k_cache `,` $v_cache `)` `blocks` $block_table `positions` $positions
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Graph_GeluOp : Graph_Op<"gelu", [SameOperandsAndResultType]> {
  let summary = "GELU, exact (erf) or with the tanh approximation";
  let arguments = (ins AnyStaticShapeTensor:$input,
                   DefaultValuedAttr<BoolAttr, "false">:$tanh_approximation);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Graph_ClipOp : Graph_Op<"clip", [SameOperandsAndResultType]> {
  let summary = "min(max(x, min), max): with min > max every value becomes max";
  let arguments = (ins AnyStaticShapeTensor:$input, F32Attr:$min, F32Attr:$max);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input `[` $min `,` $max `]` attr-dict `:` type($result)";
}

def Graph_CastOp : Graph_Op<"cast"> {
  let summary = "converts element types: floats round to nearest even, to i1 is `!= 0`";
  let description = [{
    To an 8-bit float a value past the type's largest finite one becomes
    that value with its sign (`saturate`, ONNX Cast's default) or, with
    `saturate = false`, infinity (E5M2) or NaN (the types without
    infinities), as ONNX Cast's saturate=0.
  }];
  let arguments = (ins AnyStaticShapeTensor:$input, DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Graph_MatmulOp : Graph_Op<"matmul", [AttrSizedOperandSegments]> {
  let summary = "batched matrix product with a fused epilogue";
  let description = [{
    `result = activation(alpha * op(lhs) x op(rhs) + beta * bias + residual)`
    where op transposes the last two dims when `transpose_lhs`/`transpose_rhs`
    is set. Leading (batch) dims broadcast as in NumPy `matmul`; `bias`
    broadcasts to the result; `residual` has the result's type (a
    transformer's skip connection) and needs alpha = 1. This is ONNX MatMul
    and Gemm, and the target of `graph-fuse-matmul-epilogue`, which folds a
    following bias Add, residual Add and activation into it so the NPU
    applies them while the tile is in SPM. `lhs` may be uint8/int8 (quantized
    activations, read as their integer values) against float `rhs`: with
    `rhs` a `graph.dequantize` of int8 weights, the NPU multiplies the 8-bit
    values exactly in its integer mode (an activation zero point is
    subtracted through the bias, as `-zero_point * column sums`); the result
    may then be i32 (the exact sums, as MatMulInteger returns them).
    `output_grid` = [scale, zero_point, lo, hi] rounds `alpha * op(lhs) x
    op(rhs) + beta * bias + residual` to a quantization grid --
    `(clamp(round_half_even(y / scale) + zero_point, lo, hi) - zero_point)
    * scale`, a QDQ model's QuantizeLinear/DequantizeLinear pair on the
    product -- and then `grid_bias` (one value per column) and the
    activation apply, in the order such a model writes them:
    `activation(grid(...) + grid_bias)`. All of it in SPM.
    With `grid_type` (an 8-bit float type: an FP8 QDQ model's pair) the grid
    is that type's instead: `float(fp8(y / scale)) * scale`, the cast
    rounding to nearest even and saturating (zero_point 0; lo, hi unused).
    `output_quant` = [scale, zero_point] quantizes the finished result (a
    QuantizeLinear of the product): the result is int8 or uint8,
    `saturate(round_half_even(y / scale) + zero_point)`, or an 8-bit float,
    `fp8(y / scale)` saturating (zero_point 0).
  }];
  let arguments = (ins AnyStaticShapeTensor:$lhs, AnyStaticShapeTensor:$rhs,
                   Optional<AnyStaticShapeTensor>:$bias,
                   Optional<AnyStaticShapeTensor>:$residual,
                   Optional<AnyStaticShapeTensor>:$grid_bias,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_lhs,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_rhs,
                   DefaultValuedAttr<F32Attr, "1.0f">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0f">:$beta,
                   DefaultValuedAttr<Graph_ActivationAttr, "::rbln::graph::Activation::None">:$activation,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<4>]>>:$output_grid,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<2>]>>:$output_quant,
                   OptionalAttr<TypeAttr>:$grid_type);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = [{
    $lhs `,` $rhs (`bias` $bias^)? (`residual` $residual^)? (`grid_bias` $grid_bias^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Type":$type, "::mlir::Value":$lhs, "::mlir::Value":$rhs,
                   "::mlir::Value":$bias, "::mlir::Value":$residual), [{
      $_state.addOperands({lhs, rhs});
      if (bias)
        $_state.addOperands(bias);
      if (residual)
        $_state.addOperands(residual);
      $_state.getOrAddProperties<Properties>().operandSegmentSizes = {1, 1, bias ? 1 : 0,
                                                                      residual ? 1 : 0, 0};
      $_state.addTypes(type);
    }]>
  ];
  let extraClassDeclaration = [{
    /// Gives `to` (a matmul rebuilt from this one) what follows the
    /// product here: the activation, the output grid and its bias, the
    /// output quantization.
    void copyEpilogueTo(MatmulOp to) {
      to.setActivation(getActivation());
      if (auto grid = getOutputGridAttr())
        to.setOutputGridAttr(grid);
      if (auto gt = getGridTypeAttr())
        to.setGridTypeAttr(gt);
      if (::mlir::Value gb = getGridBias())
        to.getGridBiasMutable().assign(gb);
      if (auto quant = getOutputQuantAttr())
        to.setOutputQuantAttr(quant);
    }
  }];
  let hasVerifier = 1;
}

def Graph_ReduceOp : Graph_Op<"reduce"> {
  let summary = "sum, mean or max over `axes` (sorted, non-negative)";
  let arguments = (ins AnyStaticShapeTensor:$input, Graph_ReduceKindAttr:$kind,
                   DenseI64ArrayAttr:$axes, BoolAttr:$keepdims);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$kind $input `axes` `=` $axes attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_NormOp : Graph_Op<"norm", [AttrSizedOperandSegments]> {
  let summary = "layer or RMS normalization over the dims from `axis` on";
  let description = [{
    layer: `(x - mean) / sqrt(var + epsilon) * scale + bias`;
    rms: `x / sqrt(mean(x^2) + epsilon) * scale`. Mean and variance are taken
    over dims `axis..rank-1`; `scale` and `bias` have those dims' shape. With
    `residual` (the input's type), x is `input + residual`: the skip
    connection added by the norm kernel (`graph-fuse-norm-residual`).

    Quantized (QDQ) models, as the same pass fuses them: with
    `residual_quant` = [scale, zero_point] the residual is 8-bit (int8 or
    uint8) and dequantized as it is added, `(residual - zero_point) *
    scale`; with `output_quant` = [scale, zero_point] the result is 8-bit,
    `saturate(round_half_even(y / scale) + zero_point)` (a QuantizeLinear
    of the norm's output).
  }];
  let arguments = (ins AnyStaticShapeTensor:$input, AnyStaticShapeTensor:$scale,
                   Optional<AnyStaticShapeTensor>:$bias, Optional<AnyStaticShapeTensor>:$residual,
                   Graph_NormKindAttr:$kind, I64Attr:$axis, F32Attr:$epsilon,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<2>]>>:$residual_quant,
                   OptionalAttr<ConfinedAttr<DenseF32ArrayAttr, [DenseArrayCount<2>]>>:$output_quant);
  let results = (outs AnyStaticShapeTensor:$result);
  let builders = [
    // A float norm (no quantization).
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input, "::mlir::Value":$scale,
                   "::mlir::Value":$bias, "::mlir::Value":$residual, "NormKindAttr":$kind,
                   "::mlir::IntegerAttr":$axis, "::mlir::FloatAttr":$epsilon), [{
      build($_builder, $_state, result, input, scale, bias, residual, kind, axis, epsilon, nullptr, nullptr);
    }]>
  ];
  let assemblyFormat = [{
    $kind $input `,` $scale (`bias` $bias^)? (`residual` $residual^)? `axis` `=` $axis `epsilon` `=` $epsilon
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Graph_SoftmaxOp : Graph_Op<"softmax", [SameOperandsAndResultType]> {
  let summary = "softmax along one axis (ONNX opset >= 13 semantics)";
  let arguments = (ins AnyStaticShapeTensor:$input, I64Attr:$axis);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input `axis` `=` $axis attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Graph_TransposeOp : Graph_Op<"transpose"> {
  let summary = "permutes dimensions";
  let arguments = (ins AnyStaticShapeTensor:$input, DenseI64ArrayAttr:$perm);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input `perm` `=` $perm attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_ExpandOp : Graph_Op<"expand"> {
  let summary = "broadcasts to a larger shape (NumPy rules)";
  let arguments = (ins AnyStaticShapeTensor:$input);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_DequantizeOp : Graph_Op<"dequantize"> {
  let summary = "int8/int4 (int32, 8-bit float) values times a scale per index along `axis`, or per block (symmetric: no zero point)";
  let description = [{
    `result = input * scale` with `scale` (1-D, one per index of dim `axis`)
    broadcast along the other dims: quantized weights as imported
    (DequantizeLinear of a constant) or made by graph-quantize-weights. A
    matmul whose rhs this is (int8 or FP8, `axis` its column dim) reads the
    8-bit weights and applies the scale in its epilogue; elsewhere it is an
    elementwise kernel (int32 input: an integer matmul's zero-point
    correction scaled to float).

    With `block_size` = B > 0 (ONNX's blocked DequantizeLinear, group-wise
    weights: int4, w4a16, or MatMulNBits'), the input is 2-D, `axis` is its
    column dim (N) and the other dim (K) is cut into blocks of B: `scale`
    is [ceil(K / B), N] whatever the orientation, and
    `result[k, n] = input[k, n] * scale[k / B, n]` (transposed alike for
    axis 0). Only a matmul reads it: it scales each weight tile by its
    block's row of scales before the product.
  }];
  let arguments = (ins AnyStaticShapeTensor:$input, AnyStaticShapeTensor:$scale, I64Attr:$axis,
                   DefaultValuedAttr<I64Attr, "0">:$block_size);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input `,` $scale `axis` `=` $axis attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Graph_ReshapeOp : Graph_Op<"reshape"> {
  let summary = "reinterprets a tensor with another static shape";
  let arguments = (ins AnyStaticShapeTensor:$input);
  let results = (outs AnyStaticShapeTensor:$result);
  let assemblyFormat = "$input attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

#endif // RBLN_GRAPH_OPS

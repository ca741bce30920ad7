// RUN: rbln-opt %s --split-input-file --verify-diagnostics

func.func @bad_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{operand shapes 'tensor<2x3xf32>' and 'tensor<4xf32>' do not broadcast}}
  %0 = graph.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @bad_result(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<3x3xf32> {
  // expected-error @+1 {{result shape must be the broadcast shape of the operands}}
  %0 = graph.mul %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return %0 : tensor<3x3xf32>
}

// -----

func.func @bad_types(%a: tensor<2xf32>, %b: tensor<2xf16>) -> tensor<2xf32> {
  // expected-error @+1 {{operand and result element types must match}}
  %0 = graph.sub %a, %b : (tensor<2xf32>, tensor<2xf16>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @contraction(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{contraction sizes differ: lhs has 3, rhs has 4}}
  %0 = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_rank(%a: tensor<3xf32>, %b: tensor<3x5xf32>) -> tensor<5xf32> {
  // expected-error @+1 {{operands must have rank >= 2}}
  %0 = graph.matmul %a, %b : (tensor<3xf32>, tensor<3x5xf32>) -> tensor<5xf32>
  return %0 : tensor<5xf32>
}

// -----

func.func @matmul_result(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{result shape must be batch x 2 x 5}}
  %0 = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<3x5xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @matmul_batch(%a: tensor<2x2x3xf32>, %b: tensor<3x3x5xf32>) -> tensor<2x2x5xf32> {
  // expected-error @+1 {{batch dimensions do not broadcast}}
  %0 = graph.matmul %a, %b : (tensor<2x2x3xf32>, tensor<3x3x5xf32>) -> tensor<2x2x5xf32>
  return %0 : tensor<2x2x5xf32>
}

// -----

func.func @matmul_bias(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>, %c: tensor<4xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{bias shape 'tensor<4xf32>' does not broadcast to the result}}
  %0 = graph.matmul %a, %b bias %c : (tensor<2x3xf32>, tensor<3x5xf32>, tensor<4xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_bias_type(%a: tensor<2x3xf32>, %b: tensor<3x5xf32>, %c: tensor<5xf16>) -> tensor<2x5xf32> {
  // expected-error @+1 {{bias element type must match the result}}
  %0 = graph.matmul %a, %b bias %c : (tensor<2x3xf32>, tensor<3x5xf32>, tensor<5xf16>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @matmul_types(%a: tensor<2x3xf16>, %b: tensor<3x5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{operand and result element types must match}}
  %0 = graph.matmul %a, %b : (tensor<2x3xf16>, tensor<3x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = graph.softmax %a axis = 2 : tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @perm_size(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm has 3 entries for rank 2}}
  %0 = graph.transpose %a perm = [1, 0, 2] : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @perm_dup(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error @+1 {{perm is not a permutation}}
  %0 = graph.transpose %a perm = [1, 1] : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @perm_shape(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{result dim 0 must be input dim 1}}
  %0 = graph.transpose %a perm = [1, 0] : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @perm_type(%a: tensor<2x3xf32>) -> tensor<3x2xf16> {
  // expected-error @+1 {{element types must match}}
  %0 = graph.transpose %a perm = [1, 0] : (tensor<2x3xf32>) -> tensor<3x2xf16>
  return %0 : tensor<3x2xf16>
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error @+1 {{cannot reshape 'tensor<2x3xf32>' (6 elements) to 'tensor<7xf32>' (7 elements)}}
  %0 = graph.reshape %a : (tensor<2x3xf32>) -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @reshape_type(%a: tensor<2x3xf32>) -> tensor<6xf16> {
  // expected-error @+1 {{element types must match}}
  %0 = graph.reshape %a : (tensor<2x3xf32>) -> tensor<6xf16>
  return %0 : tensor<6xf16>
}

// -----

func.func @compare_result(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  // expected-error @+1 {{result must be an i1 tensor}}
  %0 = graph.less %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @logical_types(%a: tensor<3xf32>, %b: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{operands and result must be i1 tensors}}
  %0 = graph.and %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @select_cond(%c: tensor<3xf32>, %x: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{condition must be an i1 tensor}}
  %0 = graph.select %c, %x, %x : (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @select_shape(%c: tensor<4xi1>, %x: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error @+1 {{result shape must be the broadcast shape of cond, x and y}}
  %0 = graph.select %c, %x, %x : (tensor<4xi1>, tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @gather_result(%t: tensor<10x4xf32>, %i: tensor<2x3xi64>) -> tensor<6x4xf32> {
  // expected-error @+1 {{result must be 'tensor<2x3x4xf32>'}}
  %0 = graph.gather %t[%i] axis = 0 : (tensor<10x4xf32>, tensor<2x3xi64>) -> tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

func.func @view_bounds(%a: tensor<4x8xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{reads element 32 of an input with 32}}
  %0 = graph.view %a offset = 7 strides = [16, 3] : (tensor<4x8xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @view_negative(%a: tensor<4x8xf32>) -> tensor<2x4xf32> {
  // expected-error @+1 {{offset and strides must be non-negative}}
  %0 = graph.view %a offset = 7 strides = [8, -1] : (tensor<4x8xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

func.func @concat_dims(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) -> tensor<2x6xf32> {
  // expected-error @+1 {{differs from the result outside the axis}}
  %0 = graph.concat %a, %b axis = 1 : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x6xf32>
  return %0 : tensor<2x6xf32>
}

// -----

func.func @rotary_odd(%x: tensor<2x5xf32>, %c: tensor<5xf32>) -> tensor<2x5xf32> {
  // expected-error @+1 {{the last dim must be even}}
  %0 = graph.rotary %x, %c, %c : (tensor<2x5xf32>, tensor<5xf32>, tensor<5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @rotary_table(%x: tensor<2x4x6xf32>, %c: tensor<3x6xf32>) -> tensor<2x4x6xf32> {
  // expected-error @+1 {{cos and sin must broadcast to the input}}
  %0 = graph.rotary %x, %c, %c : (tensor<2x4x6xf32>, tensor<3x6xf32>, tensor<3x6xf32>) -> tensor<2x4x6xf32>
  return %0 : tensor<2x4x6xf32>
}

// -----

func.func @attention_heads(%q: tensor<1x6x4x8xf32>, %k: tensor<1x4x5x8xf32>) -> tensor<1x6x4x8xf32> {
  // expected-error @+1 {{query heads (6) must be a multiple of the KV heads (4)}}
  %0 = graph.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x6x4x8xf32>, tensor<1x4x5x8xf32>, tensor<1x4x5x8xf32>) -> tensor<1x6x4x8xf32>
  return %0 : tensor<1x6x4x8xf32>
}

// -----

func.func @attention_head_dim(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x5x6xf32>) -> tensor<1x2x4x6xf32> {
  // expected-error @+1 {{q and k head dims differ: 8 vs 6}}
  %0 = graph.attention %q, %k, %k {scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x5x6xf32>, tensor<1x2x5x6xf32>) -> tensor<1x2x4x6xf32>
  return %0 : tensor<1x2x4x6xf32>
}

// -----

func.func @attention_mask(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x5x8xf32>, %m: tensor<4x4xi1>) -> tensor<1x2x4x8xf32> {
  // expected-error @+1 {{mask tensor<4x4xi1> does not broadcast to the scores [1, 2, 4, 5]}}
  %0 = graph.attention %q, %k, %k mask %m {scale = 1.0 : f32} : (tensor<1x2x4x8xf32>, tensor<1x2x5x8xf32>, tensor<1x2x5x8xf32>, tensor<4x4xi1>) -> tensor<1x2x4x8xf32>
  return %0 : tensor<1x2x4x8xf32>
}

// -----

func.func @int4_needs_blocks(%q: tensor<4x2xi4>, %s: tensor<2xf32>) -> tensor<4x2xf32> {
  // expected-error @+1 {{int4 input needs a block_size}}
  %0 = graph.dequantize %q, %s axis = 1 : (tensor<4x2xi4>, tensor<2xf32>) -> tensor<4x2xf32>
  return %0 : tensor<4x2xf32>
}

// -----

func.func @block_scale_shape(%q: tensor<64x2xi4>, %s: tensor<2x2xf32>) -> tensor<64x2xf32> {
  // expected-error @+1 {{scale must be [ceil(K / block_size), N] = [4, 2], got 'tensor<2x2xf32>'}}
  %0 = graph.dequantize %q, %s axis = 1 {block_size = 16 : i64} : (tensor<64x2xi4>, tensor<2x2xf32>) -> tensor<64x2xf32>
  return %0 : tensor<64x2xf32>
}

// -----

func.func @saturate_only_to_float8(%x: tensor<4xf32>) -> tensor<4xf16> {
  // expected-error @+1 {{saturate = false applies to casts to an 8-bit float, not to 'f16'}}
  %0 = graph.cast %x {saturate = false} : tensor<4xf32> to tensor<4xf16>
  return %0 : tensor<4xf16>
}

// -----

func.func @norm_output_quant_is_8bit(%x: tensor<4x8xf32>, %g: tensor<8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{with output_quant the result is int8 or uint8 of the input's shape}}
  %0 = graph.norm <layer> %x, %g axis = 1 epsilon = 1.0e-5 {output_quant = array<f32: 0.5, 0.0>} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

func.func @norm_residual_quant_is_8bit(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %r: tensor<4x8xf32>) -> tensor<4x8xf32> {
  // expected-error @+1 {{residual type 'tensor<4x8xf32>' must be the input type 'tensor<4x8xf32>''s shape in int8 or uint8}}
  %0 = graph.norm <layer> %x, %g residual %r axis = 1 epsilon = 1.0e-5 {residual_quant = array<f32: 0.5, 0.0>} : (tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// RUN: rbln-opt %s --split-input-file --verify-diagnostics --graph-fuse-attention-quant | FileCheck %s

// A QDQ model's attention (quantize_static, BERT's form): the QuantizeLinear
// after the head merge becomes the attention's 8-bit store (output_quant =
// [scale, zero point]); the head merge stays a view, now of the 8-bit
// result.
// CHECK-LABEL: func.func @merged
// CHECK: %[[A:.*]] = graph.attention %arg0, %arg1, %arg2 mask %arg3 {output_quant = array<f32: 2.500000e-02, 1.240000e+02>, scale = 2.500000e-01 : f32} : {{.*}} -> tensor<1x2x8x16xui8>
// CHECK-NEXT: %[[T:.*]] = graph.transpose %[[A]] perm = [0, 2, 1, 3] : (tensor<1x2x8x16xui8>) -> tensor<1x8x2x16xui8>
// CHECK-NEXT: %[[R:.*]] = graph.reshape %[[T]] : (tensor<1x8x2x16xui8>) -> tensor<1x8x32xui8>
// CHECK-NOT: graph.quantize
// CHECK: return %[[R]]
func.func @merged(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>,
                  %m: tensor<1x1x1x8xf32>) -> tensor<1x8x32xui8> {
  %s = graph.constant dense<2.500000e-02> : tensor<f32>
  %z = graph.constant dense<1.240000e+02> : tensor<f32>
  %a = graph.attention %q, %k, %v mask %m {scale = 2.500000e-01 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x1x1x8xf32>) -> tensor<1x2x8x16xf32>
  %t = graph.transpose %a perm = [0, 2, 1, 3] : (tensor<1x2x8x16xf32>) -> tensor<1x8x2x16xf32>
  %r = graph.reshape %t : (tensor<1x8x2x16xf32>) -> tensor<1x8x32xf32>
  %o = graph.quantize %r, %s, %z : (tensor<1x8x32xf32>, tensor<f32>, tensor<f32>) -> tensor<1x8x32xui8>
  return %o : tensor<1x8x32xui8>
}

// -----

// Kept: an attention whose float result (or a view between) is read
// elsewhere too, and a quantize with a run-time scale per column.
// CHECK-LABEL: func.func @kept
// CHECK: %[[A:.*]] = graph.attention %arg0, %arg1, %arg2 {scale = 2.500000e-01 : f32} : {{.*}} -> tensor<1x2x8x16xf32>
// CHECK: graph.quantize
// CHECK: %[[B:.*]] = graph.attention %arg0, %arg1, %arg2 {scale = 2.500000e-01 : f32} : {{.*}} -> tensor<1x2x8x16xf32>
// CHECK: graph.quantize
func.func @kept(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>,
                %cs: tensor<16xf32>) -> (tensor<1x8x2x16xf32>, tensor<1x8x2x16xi8>, tensor<1x2x8x16xi8>) {
  %s = graph.constant dense<2.500000e-02> : tensor<f32>
  %z = graph.constant dense<0.000000e+00> : tensor<f32>
  %a = graph.attention %q, %k, %v {scale = 2.500000e-01 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %t = graph.transpose %a perm = [0, 2, 1, 3] : (tensor<1x2x8x16xf32>) -> tensor<1x8x2x16xf32>
  %o = graph.quantize %t, %s, %z : (tensor<1x8x2x16xf32>, tensor<f32>, tensor<f32>) -> tensor<1x8x2x16xi8>
  %b = graph.attention %q, %k, %v {scale = 2.500000e-01 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  %p = graph.quantize %b, %cs, %z : (tensor<1x2x8x16xf32>, tensor<16xf32>, tensor<f32>) -> tensor<1x2x8x16xi8>
  return %t, %o, %p : tensor<1x8x2x16xf32>, tensor<1x8x2x16xi8>, tensor<1x2x8x16xi8>
}

// -----

// A graph.attention with output_quant needs an 8-bit result.
func.func @bad(%q: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  // expected-error@+1 {{an output_quant needs an int8 or uint8 result}}
  %a = graph.attention %q, %q, %q {output_quant = array<f32: 1.0, 0.0>, scale = 2.500000e-01 : f32} : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %a : tensor<1x2x8x16xf32>
}

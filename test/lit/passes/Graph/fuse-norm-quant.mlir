// RUN: rbln-opt %s --split-input-file --graph-fuse-norm-residual | FileCheck %s

// A QDQ model's post-norm block (quantize_static, BERT's form): the norm's
// QuantizeLinear becomes its 8-bit store (output_quant = [scale, zero
// point]), and the next norm reads that 8-bit tensor as its residual,
// dequantized as it adds it (residual_quant): no quantize kernel, no
// widening copy.
// CHECK-LABEL: func.func @block
// CHECK: %[[Q:.*]] = graph.norm <layer> %arg0, %arg2 bias %arg3 axis = 1 epsilon = {{.*}} {output_quant = array<f32: 2.500000e-02, 1.290000e+02>} : {{.*}} -> tensor<4x8xui8>
// CHECK-NOT: graph.quantize
// CHECK-NOT: graph.cast
// CHECK: %[[N:.*]] = graph.norm <layer> %arg1, %arg2 bias %arg3 residual %[[Q]] axis = 1 epsilon = {{.*}} {residual_quant = array<f32: 2.500000e-02, 1.290000e+02>} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<4x8xui8>) -> tensor<4x8xf32>
// CHECK: return %[[Q]], %[[N]]
func.func @block(%x: tensor<4x8xf32>, %h: tensor<4x8xf32>, %g: tensor<8xf32>, %b: tensor<8xf32>) -> (tensor<4x8xui8>, tensor<4x8xf32>) {
  %s = graph.constant dense<2.500000e-02> : tensor<f32>
  %z = graph.constant dense<1.290000e+02> : tensor<f32>
  %n = graph.norm <layer> %x, %g bias %b axis = 1 epsilon = 1.0e-5 : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %q = graph.quantize %n, %s, %z : (tensor<4x8xf32>, tensor<f32>, tensor<f32>) -> tensor<4x8xui8>
  %w = graph.cast %q : tensor<4x8xui8> to tensor<4x8xf32>
  %c = graph.sub %w, %z : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %d = graph.mul %c, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %r = graph.add %h, %d : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %n2 = graph.norm <layer> %r, %g bias %b axis = 1 epsilon = 1.0e-5 : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %q, %n2 : tensor<4x8xui8>, tensor<4x8xf32>
}

// -----

// A norm whose float result is read too keeps its float store; a quantize
// with a run-time scale is not a store's rounding.
// CHECK-LABEL: func.func @kept
// CHECK: %[[N:.*]] = graph.norm <layer> %arg0, %arg1 axis = 1 epsilon = {{.*}} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
// CHECK: graph.quantize %[[N]]
// CHECK: %[[M:.*]] = graph.norm <layer> %arg0, %arg1 axis = 1
// CHECK: graph.quantize %[[M]], %arg2
func.func @kept(%x: tensor<4x8xf32>, %g: tensor<8xf32>, %s2: tensor<f32>) -> (tensor<4x8xf32>, tensor<4x8xi8>, tensor<4x8xi8>) {
  %s = graph.constant dense<2.500000e-02> : tensor<f32>
  %z = graph.constant dense<0.000000e+00> : tensor<f32>
  %n = graph.norm <layer> %x, %g axis = 1 epsilon = 1.0e-5 : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %q = graph.quantize %n, %s, %z : (tensor<4x8xf32>, tensor<f32>, tensor<f32>) -> tensor<4x8xi8>
  %m = graph.norm <layer> %x, %g axis = 1 epsilon = 1.0e-5 : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  %q2 = graph.quantize %m, %s2, %z : (tensor<4x8xf32>, tensor<f32>, tensor<f32>) -> tensor<4x8xi8>
  return %n, %q, %q2 : tensor<4x8xf32>, tensor<4x8xi8>, tensor<4x8xi8>
}

// RUN: rbln-opt %s --split-input-file --graph-fuse-matmul-epilogue --mlir-print-debuginfo | FileCheck %s

// Bias (either operand order) and activation fold into the matmul; the fused
// op keeps the locations of every node it came from.
// CHECK-LABEL: func.func @fuse
// CHECK: %[[M:.*]] = graph.matmul %arg0, %arg1 bias %arg2 {activation = #graph.activation<relu>} {{.*}} loc(#[[FUSED:.*]])
// CHECK-NOT: graph.add
// CHECK-NOT: graph.relu
// CHECK: return %[[M]]
// CHECK: #[[FC:.+]] = loc("fc")
// CHECK: #[[BIAS:.+]] = loc("bias")
// CHECK: #[[ACT:.+]] = loc("act")
// CHECK: #[[FUSED]] = loc(fused[#[[FC]], #[[BIAS]], #[[ACT]]])
func.func @fuse(%x: tensor<3x5xf32>, %w: tensor<5x7xf32>, %b: tensor<7xf32>) -> tensor<3x7xf32> {
  %0 = graph.matmul %x, %w : (tensor<3x5xf32>, tensor<5x7xf32>) -> tensor<3x7xf32> loc("fc")
  %1 = graph.add %b, %0 : (tensor<7xf32>, tensor<3x7xf32>) -> tensor<3x7xf32> loc("bias")
  %2 = graph.relu %1 : tensor<3x7xf32> loc("act")
  return %2 : tensor<3x7xf32>
}

// -----

// A matmul with another use stays as it is.
// CHECK-LABEL: func.func @shared
// CHECK: graph.matmul %arg0, %arg1 :
// CHECK: graph.add
// CHECK: graph.sigmoid
func.func @shared(%x: tensor<3x5xf32>, %w: tensor<5x7xf32>, %b: tensor<7xf32>) -> (tensor<3x7xf32>, tensor<3x7xf32>) {
  %0 = graph.matmul %x, %w : (tensor<3x5xf32>, tensor<5x7xf32>) -> tensor<3x7xf32>
  %1 = graph.add %0, %b : (tensor<3x7xf32>, tensor<7xf32>) -> tensor<3x7xf32>
  %2 = graph.sigmoid %0 : tensor<3x7xf32>
  return %1, %2 : tensor<3x7xf32>, tensor<3x7xf32>
}

// -----

// An add that widens the product (bias of higher rank) is not a bias.
// CHECK-LABEL: func.func @widening
// CHECK: graph.matmul %arg0, %arg1 :
// CHECK: graph.add
func.func @widening(%x: tensor<3x5xf32>, %w: tensor<5x7xf32>, %b: tensor<2x3x7xf32>) -> tensor<2x3x7xf32> {
  %0 = graph.matmul %x, %w : (tensor<3x5xf32>, tensor<5x7xf32>) -> tensor<3x7xf32>
  %1 = graph.add %0, %b : (tensor<3x7xf32>, tensor<2x3x7xf32>) -> tensor<2x3x7xf32>
  return %1 : tensor<2x3x7xf32>
}

// -----

// Only one activation fuses; alpha and transposes survive the bias fusion.
// CHECK-LABEL: func.func @gemm_like
// CHECK: %[[M:.*]] = graph.matmul %arg0, %arg1 bias %arg2 {activation = #graph.activation<tanh>, alpha = 2.500000e-01 : f32, transpose_rhs = true}
// CHECK: graph.relu %[[M]]
func.func @gemm_like(%x: tensor<3x5xf32>, %w: tensor<7x5xf32>, %b: tensor<3x1xf32>) -> tensor<3x7xf32> {
  %0 = graph.matmul %x, %w {alpha = 0.25 : f32, transpose_rhs = true} : (tensor<3x5xf32>, tensor<7x5xf32>) -> tensor<3x7xf32>
  %1 = graph.add %0, %b : (tensor<3x7xf32>, tensor<3x1xf32>) -> tensor<3x7xf32>
  %2 = graph.tanh %1 : tensor<3x7xf32>
  %3 = graph.relu %2 : tensor<3x7xf32>
  return %3 : tensor<3x7xf32>
}

// -----

// GELU (exact and tanh) and SiLU after a biased matmul: the epilogue runs
// them on the output tile (v.gelu, v.gelu_tanh, v.silu before the store).
// CHECK-LABEL: func.func @gelu_silu
// CHECK: graph.matmul %arg0, %arg1 bias %arg2 {activation = #graph.activation<gelu>}
// CHECK: graph.matmul %arg0, %arg1 {activation = #graph.activation<gelu_tanh>}
// CHECK: graph.matmul %arg0, %arg1 {activation = #graph.activation<silu>}
// CHECK-NOT: graph.gelu
// CHECK-NOT: graph.silu
func.func @gelu_silu(%x: tensor<3x5xf32>, %w: tensor<5x7xf32>, %b: tensor<7xf32>) -> (tensor<3x7xf32>, tensor<3x7xf32>, tensor<3x7xf32>) {
  %0 = graph.matmul %x, %w : (tensor<3x5xf32>, tensor<5x7xf32>) -> tensor<3x7xf32>
  %1 = graph.add %0, %b : (tensor<3x7xf32>, tensor<7xf32>) -> tensor<3x7xf32>
  %2 = graph.gelu %1 : tensor<3x7xf32>
  %3 = graph.matmul %x, %w : (tensor<3x5xf32>, tensor<5x7xf32>) -> tensor<3x7xf32>
  %4 = graph.gelu %3 {tanh_approximation = true} : tensor<3x7xf32>
  %5 = graph.matmul %x, %w : (tensor<3x5xf32>, tensor<5x7xf32>) -> tensor<3x7xf32>
  %6 = graph.silu %5 : tensor<3x7xf32>
  return %2, %4, %6 : tensor<3x7xf32>, tensor<3x7xf32>, tensor<3x7xf32>
}

// -----

// A transformer's skip connection: after the bias, a residual of the
// product's type joins the epilogue (either operand order); a residual that
// broadcasts (not the product's type) stays an add, as does one after an
// activation (the residual is added before it).
// CHECK-LABEL: func.func @residual
// CHECK: %[[M:.*]] = graph.matmul %arg0, %arg1 bias %arg2 residual %arg3 : (tensor<2x3x5xf32>, tensor<5x7xf32>, tensor<7xf32>, tensor<2x3x7xf32>) -> tensor<2x3x7xf32>
// CHECK: %[[N:.*]] = graph.matmul %[[M]], %arg4 bias %arg2 residual %[[M]]
// CHECK-NOT: graph.add
// CHECK: return %[[N]]
func.func @residual(%x: tensor<2x3x5xf32>, %w: tensor<5x7xf32>, %b: tensor<7xf32>, %r: tensor<2x3x7xf32>, %w2: tensor<7x7xf32>) -> tensor<2x3x7xf32> {
  %0 = graph.matmul %x, %w : (tensor<2x3x5xf32>, tensor<5x7xf32>) -> tensor<2x3x7xf32>
  %1 = graph.add %0, %b : (tensor<2x3x7xf32>, tensor<7xf32>) -> tensor<2x3x7xf32>
  %2 = graph.add %1, %r : (tensor<2x3x7xf32>, tensor<2x3x7xf32>) -> tensor<2x3x7xf32>
  %3 = graph.matmul %2, %w2 : (tensor<2x3x7xf32>, tensor<7x7xf32>) -> tensor<2x3x7xf32>
  %4 = graph.add %3, %b : (tensor<2x3x7xf32>, tensor<7xf32>) -> tensor<2x3x7xf32>
  %5 = graph.add %2, %4 : (tensor<2x3x7xf32>, tensor<2x3x7xf32>) -> tensor<2x3x7xf32>
  return %5 : tensor<2x3x7xf32>
}

// -----

// CHECK-LABEL: func.func @residual_not
// CHECK: graph.matmul %arg0, %arg1 bias %arg2 {activation = #graph.activation<relu>}
// CHECK: graph.add
// CHECK: graph.matmul %arg0, %arg1 bias %arg2 :
// CHECK: graph.add
func.func @residual_not(%x: tensor<3x5xf32>, %w: tensor<5x7xf32>, %b: tensor<7xf32>, %r: tensor<3x7xf32>, %row: tensor<7xf32>) -> (tensor<3x7xf32>, tensor<3x7xf32>) {
  %0 = graph.matmul %x, %w : (tensor<3x5xf32>, tensor<5x7xf32>) -> tensor<3x7xf32>
  %1 = graph.add %0, %b : (tensor<3x7xf32>, tensor<7xf32>) -> tensor<3x7xf32>
  %2 = graph.relu %1 : tensor<3x7xf32>
  %3 = graph.add %2, %r : (tensor<3x7xf32>, tensor<3x7xf32>) -> tensor<3x7xf32>
  %4 = graph.matmul %x, %w : (tensor<3x5xf32>, tensor<5x7xf32>) -> tensor<3x7xf32>
  %5 = graph.add %4, %b : (tensor<3x7xf32>, tensor<7xf32>) -> tensor<3x7xf32>
  %6 = graph.add %5, %row : (tensor<3x7xf32>, tensor<7xf32>) -> tensor<3x7xf32>
  return %3, %6 : tensor<3x7xf32>, tensor<3x7xf32>
}

// -----

// quantize_dynamic's MatMulInteger as imported: an i32 matmul of uint8
// activations by int8 weights (a dequantize with unit scales) with
// -zero_point x column sums as its i32 bias, cast to float, times the
// scales, plus the model's bias. The scale becomes the weights' column
// scales and scales the i32 bias to float; the model's bias adds to it.
// CHECK-LABEL: func.func @integer
// CHECK: %[[S:.*]] = graph.reshape %arg2 : (tensor<f32>) -> tensor<1xf32>
// CHECK: %[[WS:.*]] = graph.mul %{{.*}}, %[[S]] : (tensor<7xf32>, tensor<1xf32>) -> tensor<7xf32>
// CHECK: %[[W:.*]] = graph.dequantize %arg3, %[[WS]] axis = 1 : (tensor<5x7xi8>, tensor<7xf32>) -> tensor<5x7xf32>
// CHECK: %[[B1:.*]] = graph.dequantize %arg1, %[[WS]] axis = 0 : (tensor<7xi32>, tensor<7xf32>) -> tensor<7xf32>
// CHECK: %[[B2:.*]] = graph.add %[[B1]], %arg4 : (tensor<7xf32>, tensor<7xf32>) -> tensor<7xf32>
// CHECK: %[[M:.*]] = graph.matmul %arg0, %[[W]] bias %[[B2]] : (tensor<3x5xui8>, tensor<5x7xf32>, tensor<7xf32>) -> tensor<3x7xf32>
// CHECK-NOT: graph.cast
// CHECK: return %[[M]]
func.func @integer(%x: tensor<3x5xui8>, %corr: tensor<7xi32>, %s: tensor<f32>, %w: tensor<5x7xi8>, %b: tensor<7xf32>) -> tensor<3x7xf32> {
  %ones = graph.constant dense<1.0> : tensor<7xf32>
  %wd = graph.dequantize %w, %ones axis = 1 : (tensor<5x7xi8>, tensor<7xf32>) -> tensor<5x7xf32>
  %0 = graph.matmul %x, %wd bias %corr : (tensor<3x5xui8>, tensor<5x7xf32>, tensor<7xi32>) -> tensor<3x7xi32>
  %1 = graph.cast %0 : tensor<3x7xi32> to tensor<3x7xf32>
  %2 = graph.mul %1, %s : (tensor<3x7xf32>, tensor<f32>) -> tensor<3x7xf32>
  %3 = graph.add %2, %b : (tensor<3x7xf32>, tensor<7xf32>) -> tensor<3x7xf32>
  return %3 : tensor<3x7xf32>
}

// -----

// Weights with scales of their own (not 1) keep the product apart from the
// scale; so does a scale that varies along the rows.
// CHECK-LABEL: func.func @integer_not
// CHECK: graph.matmul %arg0, %{{.*}} : (tensor<3x5xui8>, tensor<5x7xf32>) -> tensor<3x7xi32>
// CHECK-NEXT: graph.cast
// CHECK-NEXT: graph.mul
// CHECK: graph.matmul %arg0, %{{.*}} : (tensor<3x5xui8>, tensor<5x7xf32>) -> tensor<3x7xi32>
// CHECK-NEXT: graph.cast
// CHECK-NEXT: graph.mul
func.func @integer_not(%x: tensor<3x5xui8>, %w: tensor<5x7xi8>, %v: tensor<7xf32>, %s: tensor<f32>, %rows: tensor<3x1xf32>) -> (tensor<3x7xf32>, tensor<3x7xf32>) {
  %wd = graph.dequantize %w, %v axis = 1 : (tensor<5x7xi8>, tensor<7xf32>) -> tensor<5x7xf32>
  %0 = graph.matmul %x, %wd : (tensor<3x5xui8>, tensor<5x7xf32>) -> tensor<3x7xi32>
  %1 = graph.cast %0 : tensor<3x7xi32> to tensor<3x7xf32>
  %2 = graph.mul %1, %s : (tensor<3x7xf32>, tensor<f32>) -> tensor<3x7xf32>
  %ones = graph.constant dense<1.0> : tensor<7xf32>
  %wd2 = graph.dequantize %w, %ones axis = 1 : (tensor<5x7xi8>, tensor<7xf32>) -> tensor<5x7xf32>
  %3 = graph.matmul %x, %wd2 : (tensor<3x5xui8>, tensor<5x7xf32>) -> tensor<3x7xi32>
  %4 = graph.cast %3 : tensor<3x7xi32> to tensor<3x7xf32>
  %5 = graph.mul %4, %rows : (tensor<3x7xf32>, tensor<3x1xf32>) -> tensor<3x7xf32>
  return %2, %5 : tensor<3x7xf32>, tensor<3x7xf32>
}

// -----

// An FP8 QDQ model's pair on the product (divide, saturating cast to
// E4M3FN and back, multiply) is the matmul's output grid of that type; its
// bias and ReLU follow; the FP8 quantize of the result (divide, saturating
// cast) is the matmul's own FP8 store.
// CHECK-LABEL: func.func @fp8_grid
// CHECK: %[[M:.*]] = graph.matmul %arg0, %arg1 grid_bias %arg2 {activation = #graph.activation<relu>, grid_type = f8E4M3FN, output_grid = array<f32: 2.500000e-01, 0.000000e+00, -4.480000e+02, 4.480000e+02>, output_quant = array<f32: 5.000000e-01, 0.000000e+00>} : (tensor<4x8xf32>, tensor<8x4xf32>, tensor<4xf32>) -> tensor<4x4xf8E4M3FN>
// CHECK-NEXT: return %[[M]]
func.func @fp8_grid(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>, %bias: tensor<4xf32>) -> tensor<4x4xf8E4M3FN> {
  %s = graph.constant dense<2.500000e-01> : tensor<f32>
  %s2 = graph.constant dense<5.000000e-01> : tensor<f32>
  %m = graph.matmul %a, %b : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %d = graph.div %m, %s : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %n = graph.cast %d : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
  %w = graph.cast %n : tensor<4x4xf8E4M3FN> to tensor<4x4xf32>
  %g = graph.mul %w, %s : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %y = graph.add %g, %bias : (tensor<4x4xf32>, tensor<4xf32>) -> tensor<4x4xf32>
  %r = graph.relu %y : tensor<4x4xf32>
  %d2 = graph.div %r, %s2 : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %q = graph.cast %d2 : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
  return %q : tensor<4x4xf8E4M3FN>
}

// -----

// Not a grid or a store: a non-saturating cast (E4M3FN has no infinity:
// overflow is NaN, which the store's saturating cast would not give), and a
// scale that differs between the divide and the multiply.
// CHECK-LABEL: func.func @fp8_kept
// CHECK: graph.matmul %arg0, %arg1 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
// CHECK: graph.cast {{.*}} {saturate = false}
// CHECK: graph.matmul %arg0, %arg1 : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
// CHECK: graph.mul
func.func @fp8_kept(%a: tensor<4x8xf32>, %b: tensor<8x4xf32>) -> (tensor<4x4xf8E4M3FN>, tensor<4x4xf32>) {
  %s = graph.constant dense<2.500000e-01> : tensor<f32>
  %t = graph.constant dense<5.000000e-01> : tensor<f32>
  %m = graph.matmul %a, %b : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %d = graph.div %m, %s : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %n = graph.cast %d {saturate = false} : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
  %m2 = graph.matmul %a, %b : (tensor<4x8xf32>, tensor<8x4xf32>) -> tensor<4x4xf32>
  %d2 = graph.div %m2, %s : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  %n2 = graph.cast %d2 : tensor<4x4xf32> to tensor<4x4xf8E4M3FN>
  %w2 = graph.cast %n2 : tensor<4x4xf8E4M3FN> to tensor<4x4xf32>
  %g2 = graph.mul %w2, %t : (tensor<4x4xf32>, tensor<f32>) -> tensor<4x4xf32>
  return %n, %g2 : tensor<4x4xf8E4M3FN>, tensor<4x4xf32>
}

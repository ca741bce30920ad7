// RUN: rbln-opt %s --split-input-file --graph-quantize-weights | FileCheck %s

// Columns' scales are max |w| / 127: column 0 has 2.54 (scale 0.02, q = w /
// 0.02 rounded half to even: 0.01 -> 0.5 -> 0, 0.03 -> 1.5 -> 2), column 1
// has -1.27 (scale 0.01). A constant read by two matmuls is quantized once;
// a matmul whose weights are not constant is left alone.
// CHECK-LABEL: func.func @per_column
// CHECK: %[[Q:.*]] = graph.constant dense_resource<weight_int8> : tensor<3x2xi8>
// CHECK-NEXT: %[[S:.*]] = graph.constant dense<[2.000000e-02, 0.00999999977]> : tensor<2xf32>
// CHECK-NEXT: %[[W:.*]] = graph.dequantize %[[Q]], %[[S]] axis = 1 : (tensor<3x2xi8>, tensor<2xf32>) -> tensor<3x2xf32>
// CHECK-NEXT: graph.matmul %arg0, %[[W]] :
// CHECK-NEXT: graph.matmul %arg0, %[[W]] :
// CHECK-NEXT: graph.matmul %arg0, %arg1 :
// The blob: 64-byte alignment, then q row by row: 0 0 / 2 -127 / 127 0.
// CHECK: weight_int8: "0x40000000000002817F00"
func.func @per_column(%x: tensor<4x3xf32>, %y: tensor<3x2xf32>) -> (tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>) {
  %w = graph.constant dense<[[0.01, 0.0], [0.03, -1.27], [2.54, 0.0]]> : tensor<3x2xf32>
  %a = graph.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %b = graph.matmul %x, %w : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  %c = graph.matmul %x, %y : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %a, %b, %c : tensor<4x2xf32>, tensor<4x2xf32>, tensor<4x2xf32>
}

// -----

// Transposed weights ([N, K], Gemm's transB): a scale per row. A matmul
// reading a constant through a 2-D transpose (a tied LM head) reads it
// transposed instead, and the transpose goes.
// CHECK-LABEL: func.func @transposed
// CHECK: graph.dequantize %{{.*}}, %{{.*}} axis = 0 : (tensor<2x3xi8>, tensor<2xf32>) -> tensor<2x3xf32>
func.func @transposed(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = graph.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %a = graph.matmul %x, %w {transpose_rhs = true} : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<4x2xf32>
  return %a : tensor<4x2xf32>
}

// CHECK-LABEL: func.func @through_transpose
// CHECK-NOT: graph.transpose
// CHECK: %[[W:.*]] = graph.dequantize %{{.*}}, %{{.*}} axis = 0 : (tensor<2x3xi8>, tensor<2xf32>) -> tensor<2x3xf32>
// CHECK-NEXT: graph.matmul %arg0, %[[W]] {transpose_rhs = true} : (tensor<4x3xf32>, tensor<2x3xf32>) -> tensor<4x2xf32>
// CHECK-NOT: graph.transpose
func.func @through_transpose(%x: tensor<4x3xf32>) -> tensor<4x2xf32> {
  %w = graph.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %t = graph.transpose %w perm = [1, 0] : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %a = graph.matmul %x, %t : (tensor<4x3xf32>, tensor<3x2xf32>) -> tensor<4x2xf32>
  return %a : tensor<4x2xf32>
}

// -----

// int4 (w4a16), a scale per block of group-size rows of a column: K = 64 in
// blocks of 32, so the scale is [2, N]. Block 0 of column 0 has max 7.0
// (scale 1.0), block 1 max 0.7 (scale 0.1): q = round_half_even(w / s) in
// [-7, 7], packed two a byte, low nibble first.
// RUN: rbln-opt %s --split-input-file --graph-quantize-weights="dtype=int4 group-size=32" | FileCheck %s --check-prefix=INT4
// INT4-LABEL: func.func @int4_blocks
// INT4: %[[Q:.*]] = graph.constant dense_resource<weight_int4> : tensor<64x2xi4>
// INT4-NEXT: %[[S:.*]] = graph.constant dense<{{\[}}[1.000000e+00, 1.000000e+00], [{{0.099999|1.000000e-01}}{{[0-9]*}}, 1.000000e+00]]> : tensor<2x2xf32>
// INT4-NEXT: %[[W:.*]] = graph.dequantize %[[Q]], %[[S]] axis = 1 {block_size = 32 : i64} : (tensor<64x2xi4>, tensor<2x2xf32>) -> tensor<64x2xf32>
// INT4-NEXT: graph.matmul %arg0, %[[W]] :
// Rows 0 and 1: (7, 0) and (-2.5 -> -2 half to even, 0): bytes 0x07, 0x0E;
// row 32 (0.7 / (0.7 / 7) -> 7, 0) at byte 32: 0x07 again. Column 1 is all
// zeros: scale 1 in both blocks.
// INT4: weight_int4: "0x40000000070E0000000000000000000000000000000000000000000000000000000000000700000000000000000000000000000000000000000000000000000000000000"
func.func @int4_blocks(%x: tensor<4x64xf32>) -> tensor<4x2xf32> {
  %w = graph.constant dense<[[7.0, 0.0], [-2.5, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.7, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]> : tensor<64x2xf32>
  %a = graph.matmul %x, %w : (tensor<4x64xf32>, tensor<64x2xf32>) -> tensor<4x2xf32>
  return %a : tensor<4x2xf32>
}

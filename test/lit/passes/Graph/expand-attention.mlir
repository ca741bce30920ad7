// RUN: rbln-opt %s --graph-expand-attention | FileCheck %s
// graph.attention with GQA 4:1, a bool mask and causality, as the interim
// kernels: q regrouped per KV head (no repeated K/V), scores by one matmul
// with k transposed and the scale as alpha, selects to -inf, softmax, the
// fully-masked-row guard, and the matmul with v.

// CHECK-LABEL: func.func @gqa
func.func @gqa(%q: tensor<2x8x5x16xf32>, %k: tensor<2x2x7x16xf32>, %v: tensor<2x2x7x12xf32>, %m: tensor<2x1x1x7xi1>) -> tensor<2x8x5x12xf32> {
  // CHECK-DAG: %[[CAUSAL:.*]] = graph.constant dense<{{\[\[}}true, true, true, false, false, false, false], {{.*}}> : tensor<5x7xi1>
  // CHECK-DAG: %[[NINF:.*]] = graph.constant dense<0xFF800000> : tensor<f32>
  // CHECK: %[[QG:.*]] = graph.reshape %arg0 : (tensor<2x8x5x16xf32>) -> tensor<2x2x20x16xf32>
  // CHECK: %[[S:.*]] = graph.matmul %[[QG]], %arg1 {alpha = 2.500000e-01 : f32, transpose_rhs = true} : (tensor<2x2x20x16xf32>, tensor<2x2x7x16xf32>) -> tensor<2x2x20x7xf32>
  // CHECK: graph.reshape %[[S]] : (tensor<2x2x20x7xf32>) -> tensor<2x8x5x7xf32>
  // CHECK: %[[M:.*]] = graph.select %arg3, %{{.*}}, %[[NINF]]
  // CHECK: graph.select %[[CAUSAL]], %[[M]], %[[NINF]]
  // CHECK: %[[P:.*]] = graph.softmax %{{.*}} axis = 3 : tensor<2x8x5x7xf32>
  // CHECK: graph.is_nan %[[P]]
  // CHECK: graph.matmul %{{.*}}, %arg2 : (tensor<2x2x20x7xf32>, tensor<2x2x7x12xf32>) -> tensor<2x2x20x12xf32>
  // CHECK: graph.reshape %{{.*}} : (tensor<2x2x20x12xf32>) -> tensor<2x8x5x12xf32>
  // CHECK-NOT: graph.attention
  %0 = graph.attention %q, %k, %v mask %m {scale = 0.25 : f32, causal = true, causal_offset = 2 : i64} : (tensor<2x8x5x16xf32>, tensor<2x2x7x16xf32>, tensor<2x2x7x12xf32>, tensor<2x1x1x7xi1>) -> tensor<2x8x5x12xf32>
  return %0 : tensor<2x8x5x12xf32>
}

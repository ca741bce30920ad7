// RUN: rbln-opt %s | rbln-opt | FileCheck %s
// Round trip of the indexing, comparison and logic ops.

// CHECK-LABEL: func.func @mask
func.func @mask(%ids: tensor<2x5xi64>, %m: tensor<2x5xi64>, %t: tensor<100x8xf32>, %s: tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32> {
  // CHECK: graph.gather %{{.*}}[%{{.*}}] axis = 0 : (tensor<100x8xf32>, tensor<2x5xi64>) -> tensor<2x5x8xf32>
  %e = graph.gather %t[%ids] axis = 0 : (tensor<100x8xf32>, tensor<2x5xi64>) -> tensor<2x5x8xf32>
  // CHECK: graph.cast %{{.*}} : tensor<2x5xi64> to tensor<2x5xi1>
  %b = graph.cast %m : tensor<2x5xi64> to tensor<2x5xi1>
  // CHECK: graph.view %{{.*}} offset = 0 strides = [5, 0, 0, 1] : (tensor<2x5xi1>) -> tensor<2x1x5x5xi1>
  %v = graph.view %b offset = 0 strides = [5, 0, 0, 1] : (tensor<2x5xi1>) -> tensor<2x1x5x5xi1>
  %z = graph.constant dense<0> : tensor<i64>
  // CHECK: graph.greater %{{.*}}, %{{.*}} : (tensor<2x5xi64>, tensor<i64>) -> tensor<2x5xi1>
  %g = graph.greater %ids, %z : (tensor<2x5xi64>, tensor<i64>) -> tensor<2x5xi1>
  // CHECK: graph.and
  %a = graph.and %v, %v : (tensor<2x1x5x5xi1>, tensor<2x1x5x5xi1>) -> tensor<2x1x5x5xi1>
  // CHECK: graph.not
  %n = graph.not %a : tensor<2x1x5x5xi1>
  %ninf = graph.constant dense<0xFF800000> : tensor<f32>
  // CHECK: graph.select %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x1x5x5xi1>, tensor<f32>, tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32>
  %w = graph.select %n, %ninf, %s : (tensor<2x1x5x5xi1>, tensor<f32>, tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xf32>
  // CHECK: graph.is_nan %{{.*}} : (tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xi1>
  %q = graph.is_nan %w : (tensor<2x4x5x5xf32>) -> tensor<2x4x5x5xi1>
  // CHECK: graph.concat %{{.*}}, %{{.*}} axis = 1 : (tensor<2x4x5x5xf32>, tensor<2x4x5x5xf32>) -> tensor<2x8x5x5xf32>
  %c = graph.concat %w, %w axis = 1 : (tensor<2x4x5x5xf32>, tensor<2x4x5x5xf32>) -> tensor<2x8x5x5xf32>
  return %w : tensor<2x4x5x5xf32>
}

// CHECK-LABEL: func.func @rope
func.func @rope(%x: tensor<1x4x3x8xf32>, %c: tensor<1x1x3x8xf32>, %s: tensor<1x1x3x8xf32>) -> tensor<1x4x3x8xf32> {
  // CHECK: graph.rotary %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x4x3x8xf32>, tensor<1x1x3x8xf32>, tensor<1x1x3x8xf32>) -> tensor<1x4x3x8xf32>
  %0 = graph.rotary %x, %c, %s : (tensor<1x4x3x8xf32>, tensor<1x1x3x8xf32>, tensor<1x1x3x8xf32>) -> tensor<1x4x3x8xf32>
  return %0 : tensor<1x4x3x8xf32>
}

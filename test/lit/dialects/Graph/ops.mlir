// RUN: rbln-opt %s | rbln-opt | FileCheck %s

// CHECK-LABEL: func.func @ops
func.func @ops(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<4xf32>) -> tensor<4x2xf32> {
  // CHECK: %[[W:.*]] = graph.constant dense<1.000000e+00> : tensor<3x4xf32>
  %w = graph.constant dense<1.0> : tensor<3x4xf32>
  // CHECK: %[[M:.*]] = graph.matmul %{{.*}}, %[[W]] bias %{{.*}} {activation = #graph.activation<relu>, alpha = 5.000000e-01 : f32}
  %m = graph.matmul %a, %w bias %c {activation = #graph.activation<relu>, alpha = 0.5 : f32} : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  // CHECK: graph.matmul %{{.*}}, %{{.*}} {transpose_rhs = true}
  %n = graph.matmul %a, %a {transpose_rhs = true} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x2xf32>
  // CHECK: graph.add %[[M]], %{{.*}} : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %s = graph.add %m, %c : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<2x4xf32>
  %d = graph.sub %s, %m : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %e = graph.mul %d, %s : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %f = graph.div %e, %s : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  // CHECK: graph.relu
  %g = graph.relu %f : tensor<2x4xf32>
  // CHECK: graph.sigmoid
  %h = graph.sigmoid %g : tensor<2x4xf32>
  // CHECK: graph.tanh
  %i = graph.tanh %h : tensor<2x4xf32>
  // CHECK: graph.softmax %{{.*}} axis = 1 : tensor<2x4xf32>
  %j = graph.softmax %i axis = 1 : tensor<2x4xf32>
  // CHECK: graph.transpose %{{.*}} perm = [1, 0] : (tensor<2x4xf32>) -> tensor<4x2xf32>
  %k = graph.transpose %j perm = [1, 0] : (tensor<2x4xf32>) -> tensor<4x2xf32>
  // CHECK: graph.reshape %{{.*}} : (tensor<4x2xf32>) -> tensor<8xf32>
  %l = graph.reshape %k : (tensor<4x2xf32>) -> tensor<8xf32>
  %o = graph.reshape %l : (tensor<8xf32>) -> tensor<4x2xf32>
  return %o : tensor<4x2xf32>
}

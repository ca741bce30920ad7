// RUN: rbln-opt %s --npu-plan-memory=target=tiny --npu-tile-partition=target=tiny --npu-materialize-tiles --npu-multi-buffer --npu-insert-sync --npu-allocate-scratchpad=target=tiny --convert-npu-to-npuisa=target=tiny | FileCheck %s --check-prefixes=CHECK,SHM
// RUN: rbln-opt %s --npu-plan-memory="target=tiny use-shm=false" --npu-tile-partition=target=tiny --npu-materialize-tiles --npu-multi-buffer --npu-insert-sync --npu-allocate-scratchpad=target=tiny --convert-npu-to-npuisa=target=tiny | FileCheck %s --check-prefixes=CHECK,DRAM

// A 16x24 @ 24x40 matmul with a row bias and relu on tiny (2 NEs, 8x8 array).
// The input's base address is loaded from the argument block (r1), weights
// are addressed from r2; the intermediate sits in shared memory at a fixed
// offset (r0 reads 0), or without SHM in the DRAM scratch arena (r3). NEs
// get output tiles; the loads signal the mm, the mm the epilogue, the
// epilogue the store; kernels end with a barrier and the function with halt.
// CHECK-LABEL: func.func @mm
// CHECK: npuisa.desc 0 : f32 -> f32
// CHECK: npuisa.ld.i64 rd = r4, space = dram, ra = r1, imm = 0
// CHECK: npuisa.dma.neural[1] dspace = spm, {{.*}}sreg = r2, {{.*}} signal(s[[BIAS0:[0-9]+]])
// CHECK: npuisa.dma.neural[0] dspace = spm, {{.*}}sreg = r4,
// CHECK: npuisa.dma.neural[0] dspace = spm, {{.*}}sreg = r2, {{.*}} signal(s[[LOAD0:[0-9]+]])
// CHECK: npuisa.mm[0] {{.*}} wait(s[[LOAD0]] >= 1) signal(s[[MM0:[0-9]+]])
// CHECK: npuisa.v.add[0] {{.*}}bcast = row{{.*}} wait(s[[BIAS0]] >= 1, s[[MM0]] >= 1)
// CHECK: npuisa.v.relu[0] {{.*}} signal(s[[EPI0:[0-9]+]])
// SHM: npuisa.dma.neural[1] dspace = shm, dreg = r0, {{.*}} wait(s[[EPI0]] >= 1)
// DRAM: npuisa.dma.neural[1] dspace = dram, dreg = r3, {{.*}} wait(s[[EPI0]] >= 1)
// CHECK: npuisa.barrier
// The second kernel reads the first one's result and writes the output,
// whose address comes from argument block slot 1.
// CHECK: npuisa.ld.i64 rd = r4, space = dram, ra = r1, imm = 8
// SHM: npuisa.dma.neural[0] dspace = spm, {{.*}}sspace = shm, sreg = r0,
// DRAM: npuisa.dma.neural[0] dspace = spm, {{.*}}sspace = dram, sreg = r3,
// CHECK: npuisa.v.sigmoid
// CHECK: npuisa.dma.neural[1] dspace = dram, dreg = r4,
// CHECK: npuisa.barrier
// CHECK-NEXT: npuisa.halt
// CHECK-NOT: npu.matmul
// CHECK-NOT: npu.alloc
func.func @mm(%x: memref<16x24xf32, #npu.space<dram>>, %y: memref<16x40xf32, #npu.space<dram>> {rbln.output}) {
  %w = npu.constant dense<1.0> : tensor<24x40xf32> : memref<24x40xf32, #npu.space<dram>>
  %b = npu.constant dense<0.5> : tensor<40xf32> : memref<40xf32, #npu.space<dram>>
  %t = npu.alloc : memref<16x40xf32, #npu.space<dram>>
  npu.matmul ins(%x, %w bias %b) outs(%t) {activation = #npu.activation<relu>, compute_type = f32} : memref<16x24xf32, #npu.space<dram>>, memref<24x40xf32, #npu.space<dram>>, memref<40xf32, #npu.space<dram>> -> memref<16x40xf32, #npu.space<dram>>
  npu.elementwise <sigmoid> ins(%t) outs(%y) : memref<16x40xf32, #npu.space<dram>> -> memref<16x40xf32, #npu.space<dram>>
  return
}

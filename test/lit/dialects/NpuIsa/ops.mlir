// RUN: rbln-opt %s | rbln-opt | FileCheck %s
// One op per instruction of Isa.def, fields as typed attributes; branches
// name labels.

// CHECK-LABEL: func.func @program
func.func @program() {
  // CHECK: npuisa.desc 0 : f32 -> f16 sizes [4, 8] src_strides [16, 1] dst_strides [8, 1]
  npuisa.desc 0 : f32 -> f16 sizes [4, 8] src_strides [16, 1] dst_strides [8, 1]
  // CHECK: npuisa.li rd = r5, imm = -42
  npuisa.li rd = r5, imm = -42
  // CHECK: npuisa.ld.i64 rd = r4, space = dram, ra = r1, imm = 8
  npuisa.ld.i64 rd = r4, space = dram, ra = r1, imm = 8
  // CHECK: npuisa.label L2
  npuisa.label L2
  // CHECK: npuisa.dma.neural[3] dspace = spm, dreg = r0, doff = 0, sspace = dram, sreg = r4, soff = 64, desc = 0 signal(s2)
  npuisa.dma.neural[3] dspace = spm, dreg = r0, doff = 0, sspace = dram, sreg = r4, soff = 64, desc = 0 signal(s2)
  // CHECK: npuisa.mm[1] c = 4096, a = 0, b = 1024, m = 4, n = 8, k = 8, in = f16, acc = 1, ta = 0, tb = 1, bt = i4 wait(s2 >= 1, s7 >= 3) signal(s3)
  npuisa.mm[1] c = 4096, a = 0, b = 1024, m = 4, n = 8, k = 8, in = f16, acc = 1, ta = 0, tb = 1, bt = i4 wait(s2 >= 1, s7 >= 3) signal(s3)
  // CHECK: npuisa.v.add[1] dst = 4096, src0 = 4096, src1 = 8192, rows = 4, cols = 8, bcast = row, scalar = 0.000000e+00
  npuisa.v.add[1] dst = 4096, src0 = 4096, src1 = 8192, rows = 4, cols = 8, bcast = row, scalar = 0.0
  // An F32 field keeps its bits, -inf and NaN included.
  // CHECK: npuisa.v.max[0] {{.*}}bcast = imm, scalar = 0xFF800000
  npuisa.v.max[0] dst = 0, src0 = 0, src1 = 0, rows = 1, cols = 8, bcast = imm, scalar = 0xFF800000
  // CHECK: npuisa.v.softmax_step[2] s = 0, stats = 512, rows = 4, cols = 8, scale = 1.250000e-01
  npuisa.v.softmax_step[2] s = 0, stats = 512, rows = 4, cols = 8, scale = 0.125
  // CHECK: npuisa.v.cast[0] {{.*}}from = f32, to = bf16
  npuisa.v.cast[0] dst = 0, src = 64, rows = 2, cols = 8, from = f32, to = bf16
  // CHECK: npuisa.blt ra = r4, rb = r5, target = L2
  npuisa.blt ra = r4, rb = r5, target = L2
  // CHECK: npuisa.trap code = 1
  npuisa.trap code = 1
  // CHECK: npuisa.barrier
  npuisa.barrier
  // CHECK: npuisa.halt
  npuisa.halt
  return
}

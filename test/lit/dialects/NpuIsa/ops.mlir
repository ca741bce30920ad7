// RUN: rbln-opt %s | rbln-opt | FileCheck %s

// CHECK-LABEL: func.func @program
func.func @program() {
  // CHECK: npuisa.desc 0 : f32 -> f16 sizes [4, 8] src_strides [16, 1] dst_strides [8, 1]
  npuisa.desc 0 : f32 -> f16 sizes [4, 8] src_strides [16, 1] dst_strides [8, 1]
  // CHECK: npuisa.inst li rd = r5, imm = -42
  npuisa.inst li rd = r5, imm = -42
  // CHECK: npuisa.inst ld.i64 rd = r4, space = dram, ra = r1, imm = 8
  npuisa.inst ld.i64 rd = r4, space = dram, ra = r1, imm = 8
  // CHECK: npuisa.inst dma.neural[3] dspace = spm, dreg = r0, doff = 0, sspace = dram, sreg = r4, soff = 64, desc = 0 signal(s2)
  npuisa.inst dma.neural[3] dspace = spm, dreg = r0, doff = 0, sspace = dram, sreg = r4, soff = 64, desc = 0 signal(s2)
  // CHECK: npuisa.inst mm[1] c = 4096, a = 0, b = 1024, m = 4, n = 8, k = 8, in = f16, acc = 1, ta = 0, tb = 1 wait(s2 >= 1, s7 >= 3) signal(s3)
  npuisa.inst mm[1] c = 4096, a = 0, b = 1024, m = 4, n = 8, k = 8, in = f16, acc = 1, ta = 0, tb = 1 wait(s2 >= 1, s7 >= 3) signal(s3)
  // CHECK: npuisa.inst v.add[1] dst = 4096, src0 = 4096, src1 = 8192, rows = 4, cols = 8, bcast = row, scalar = 0
  npuisa.inst v.add[1] dst = 4096, src0 = 4096, src1 = 8192, rows = 4, cols = 8, bcast = row, scalar = 0
  // CHECK: npuisa.inst blt ra = r4, rb = r5, target = 0
  npuisa.inst blt ra = r4, rb = r5, target = 0
  // CHECK: npuisa.inst barrier
  npuisa.inst barrier
  // CHECK: npuisa.inst halt
  npuisa.inst halt
  return
}

// RUN: rbln-opt %s --split-input-file --convert-npu-to-npuisa=target=tiny --verify-diagnostics

// The expansion uses the registers npu-allocate-registers chose; it chooses
// none itself.
func.func @unallocated(%in: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%x = %in : memref<8xi64, #npu.space<dram>>) {
    npu.distribute %item, %iter on %ne items = 1 {
      // expected-error @+1 {{has no command-processor register for each NE (run npu-allocate-registers)}}
      %i = npu.cp.load_index %x[%item] : memref<8xi64, #npu.space<dram>>
      npu.cp.check_range %i, %i <IndexOutOfRange>
    }
  }
  return
}

// -----

// A DMA at a run-time index needs its address formed first.
func.func @not_dynamic(%in: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%x = %in : memref<8xi64, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %t = npu.alloc {offset = 0 : i64} : memref<8xi64, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      %r = npu.cp.const 1 {npu.regs = #npu.regs<r5>}
      // expected-error @+1 {{indexes DRAM/SHM with a run-time value (run npu-dynamic-dma)}}
      npu.dma load %x[%r : !npu.reg] -> %t[%c0] sizes [4] strides [1] -> [1] on %ne : memref<8xi64, #npu.space<dram>> -> memref<8xi64, #npu.space<spm>>
    }
  }
  return
}

// RUN: rbln-opt %s --convert-npu-to-npuisa=target=tiny --verify-diagnostics

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

// RUN: rbln-opt %s --npu-tile-partition=target=tiny --verify-diagnostics

// Two rows buffers of 20000 f32 (80000 bytes each) plus 4 aligned row stats.
func.func @too_long(%a: memref<2x20000xf32, #npu.space<dram>>) {
  // expected-error @+1 {{no tiling of this kernel fits the 131072-byte scratchpad of target 'tiny' (the smallest tile needs 160256 bytes)}}
  npu.softmax ins(%a) outs(%a) : memref<2x20000xf32, #npu.space<dram>> -> memref<2x20000xf32, #npu.space<dram>>
  return
}

// RUN: rbln-opt %s --split-input-file --npu-tile-partition=target=tiny --verify-diagnostics

// Two rows buffers of 20000 f32 (80000 bytes each) plus 4 aligned row stats.
func.func @too_long(%a: memref<2x20000xf32, #npu.space<dram>>) {
  // expected-error @+1 {{no tiling of this kernel fits the 131072-byte scratchpad of target 'tiny' (the smallest tile needs 160256 bytes)}}
  npu.softmax ins(%a) outs(%a) : memref<2x20000xf32, #npu.space<dram>> -> memref<2x20000xf32, #npu.space<dram>>
  return
}

// -----

// A rank-5 transpose that reverses every dim leaves no dims to merge: more
// than a DMA descriptor's 4 strided dims.
func.func @five_dims(%a: memref<2x3x2x3x2xf32, #npu.space<dram>>, %b: memref<2x3x2x3x2xf32, #npu.space<dram>>) {
  // expected-error @+1 {{needs more than the 4 strided dims of a DMA descriptor}}
  npu.elementwise <copy> ins(%a) outs(%b) {perm = array<i64: 4, 3, 2, 1, 0>} : memref<2x3x2x3x2xf32, #npu.space<dram>> -> memref<2x3x2x3x2xf32, #npu.space<dram>>
  return
}

// -----

// Rank 6, but contiguous: one merged dim.
func.func @six_dims_contiguous(%a: memref<1x2x3x4x5x6xf32, #npu.space<dram>>, %b: memref<1x2x3x4x5x6xf32, #npu.space<dram>>) {
  npu.elementwise <relu> ins(%a) outs(%b) : memref<1x2x3x4x5x6xf32, #npu.space<dram>> -> memref<1x2x3x4x5x6xf32, #npu.space<dram>>
  return
}

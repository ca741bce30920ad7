// RUN: rbln-opt %s --split-input-file --npu-tile-partition=target=tiny | FileCheck %s --check-prefix=TINY
// RUN: rbln-opt %s --split-input-file --npu-tile-partition=target=atom | FileCheck %s --check-prefix=ATOM
// RUN: not rbln-opt %s --split-input-file --npu-tile-partition=target=nosuch 2>&1 | FileCheck %s --check-prefix=BADTARGET

// A 512x512x512 f32 matmul does not fit tiny's 128 KiB scratchpad in one
// piece: double-buffered A/B tiles and f32 accumulators must fit,
// 2*(tm*tk + tk*tn)*4 + 2*tm*tn*4 <= 131072; 64x64x64 takes 96 KiB. On atom
// 128x256x64 gives each of the 8 NEs one output tile: its operand rows are
// 256-byte runs (64 f32) and 1 KiB runs (256 f32), where 128x128x32 read
// 128-byte runs, each opening a DRAM page (the target's row-miss cost). (The
// simulator checks the fit independently: e2e/tiny-tiling.)
// TINY-LABEL: func.func @mm512
// TINY: npu.matmul {{.*}}tiling = #npu.tiling<[64, 64, 64], ne = 2, spm = 98304>
// ATOM-LABEL: func.func @mm512
// ATOM: npu.matmul {{.*}}reuse = #npu.reuse<tiled>, tiling = #npu.tiling<[128, 256, 64], ne = 8, spm = 458752>
// BADTARGET: unknown target 'nosuch'
func.func @mm512(%a: memref<512x512xf32, #npu.space<dram>>, %b: memref<512x512xf32, #npu.space<dram>>, %c: memref<512x512xf32, #npu.space<dram>>) {
  npu.matmul ins(%a, %b) outs(%c) {compute_type = f32} : memref<512x512xf32, #npu.space<dram>>, memref<512x512xf32, #npu.space<dram>> -> memref<512x512xf32, #npu.space<dram>>
  return
}

// -----

// A transformer's projection at fp16 with its activations in shared memory
// (a BERT-Large layer: 384 tokens, hidden 1024): tiles span all 384 rows, so
// each weight tile is streamed from DRAM once and the activation rows are
// re-read from SHM, off the DRAM channel.
// ATOM-LABEL: func.func @projection
// ATOM: npu.matmul {{.*}}reuse = #npu.reuse<weights_once>, {{.*}}tiling = #npu.tiling<[384,
func.func @projection(%x: memref<384x1024xf16, #npu.space<shm>>, %w: memref<1024x1024xf16, #npu.space<dram>>, %y: memref<384x1024xf16, #npu.space<shm>>) {
  npu.matmul ins(%x, %w) outs(%y) {compute_type = f16} : memref<384x1024xf16, #npu.space<shm>>, memref<1024x1024xf16, #npu.space<dram>> -> memref<384x1024xf16, #npu.space<shm>>
  return
}

// -----

// Elementwise tiles cover the collapsed [rows, cols] space; rows are split so
// that the tile count is a multiple of the NE count (2 on tiny, 8 on atom,
// where 6 rows give 6 tiles of one row).
// TINY-LABEL: func.func @ew
// TINY: npu.elementwise <add> {{.*}}tiling = #npu.tiling<[3, 1000], ne = 2
// ATOM-LABEL: func.func @ew
// ATOM: npu.elementwise <add> {{.*}}tiling = #npu.tiling<[1, 1000], ne = 8
func.func @ew(%a: memref<6x1000xf32, #npu.space<dram>>, %b: memref<1000xf32, #npu.space<dram>>, %c: memref<6x1000xf32, #npu.space<dram>>) {
  npu.elementwise <add> ins(%a, %b) outs(%c) : memref<6x1000xf32, #npu.space<dram>>, memref<1000xf32, #npu.space<dram>> -> memref<6x1000xf32, #npu.space<dram>>
  return
}

// -----

// Long softmax rows: one row per tile (12000 floats, double-buffered: 94 KiB).
// TINY-LABEL: func.func @long_rows
// TINY: npu.softmax {{.*}}tiling = #npu.tiling<[1], ne = 2
// ATOM-LABEL: func.func @long_rows
// ATOM: npu.softmax {{.*}}tiling = #npu.tiling<[1], ne = 8
func.func @long_rows(%a: memref<2x12000xf32, #npu.space<dram>>) {
  npu.softmax ins(%a) outs(%a) : memref<2x12000xf32, #npu.space<dram>> -> memref<2x12000xf32, #npu.space<dram>>
  return
}

// RUN: rbln-opt %s --split-input-file --npu-allocate-scratchpad=target=tiny | FileCheck %s

// A buffer that already has an offset keeps it (pinned: 64 bytes at 512);
// the others go after it in program order, each at 64 bytes: t (32 bytes)
// at 576; the double-buffered tile (its copies 32 elements apart: (32 + 16)
// x 2 = 96 bytes) at 640, `after` at 768. The kernel's own SHM area goes
// after the function's intermediates in SHM (100 bytes, so from 128).
// CHECK-LABEL: func.func @places
// CHECK: %t = npu.alloc {name = "t", offset = 576 : i64} : memref<8xf32, #npu.space<spm>>
// CHECK: %tile = npu.alloc {name = "tile", offset = 640 : i64} : memref<2x16xf16, strided<[32, 1]>, #npu.space<spm>>
// CHECK: %pinned = npu.alloc {name = "pinned", offset = 512 : i64} : memref<16xf32, #npu.space<spm>>
// CHECK: %after = npu.alloc {name = "after", offset = 768 : i64} : memref<4xf32, #npu.space<spm>>
// CHECK: %partials = npu.alloc {name = "partials", offset = 128 : i64} : memref<4x8xf32, #npu.space<shm>>
func.func @places(%x: memref<8xf32, #npu.space<dram>>) attributes {rbln.shm_scratch_bytes = 100 : i64} {
  npu.tile_program <paged_attention> ne = 1 spm = 1024 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    %t = npu.alloc {name = "t"} : memref<8xf32, #npu.space<spm>>
    %tile = npu.alloc {name = "tile"} : memref<2x16xf16, strided<[32, 1]>, #npu.space<spm>>
    %pinned = npu.alloc {name = "pinned", offset = 512 : i64} : memref<16xf32, #npu.space<spm>>
    %after = npu.alloc {name = "after"} : memref<4xf32, #npu.space<spm>>
    %partials = npu.alloc {name = "partials"} : memref<4x8xf32, #npu.space<shm>>
  }
  return
}

// -----

// Every program is placed on its own: each starts at 0.
// CHECK-LABEL: func.func @two_programs
// CHECK: %a = npu.alloc {name = "a", offset = 0 : i64}
// CHECK: %b = npu.alloc {name = "b", offset = 64 : i64}
// CHECK: %c = npu.alloc {name = "c", offset = 0 : i64}
func.func @two_programs(%x: memref<8xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 128 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    %a = npu.alloc {name = "a"} : memref<8xf32, #npu.space<spm>>
    %b = npu.alloc {name = "b"} : memref<8xf32, #npu.space<spm>>
  }
  npu.tile_program <softmax> ne = 1 spm = 64 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    %c = npu.alloc {name = "c"} : memref<8xf32, #npu.space<spm>>
  }
  return
}

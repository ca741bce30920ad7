// RUN: rbln-opt %s --split-input-file --npu-allocate-scratchpad=target=tiny --verify-diagnostics

// The buffers outgrow the scratchpad the tiling reserved (a materialization
// that allocates more than its layout counted): the error lists them.
func.func @past_tiling(%x: memref<8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{scratchpad buffers take 192 bytes, past the 128 its tiling reserved}}
  npu.tile_program <softmax> ne = 1 spm = 128 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    // expected-note @+1 {{'x': 128 bytes at 0}}
    %x2 = npu.alloc {name = "x"} : memref<32xf32, #npu.space<spm>>
    // expected-note @+1 {{'max': 32 bytes at 128}}
    %m = npu.alloc {name = "max"} : memref<8xf32, #npu.space<spm>>
  }
  return
}

// -----

// The kernel's SHM area goes after the function's intermediates there and
// must fit the target's SHM (tiny: 1 MiB).
func.func @shm_past_target(%x: memref<8xf32, #npu.space<dram>>) attributes {rbln.shm_scratch_bytes = 1048576 : i64} {
  // expected-error @+1 {{shared-memory buffers end at byte 1048640 (after 1048576 bytes of the function's intermediates), target 'tiny' has 1048576}}
  npu.tile_program <paged_attention> ne = 1 spm = 128 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    %p = npu.alloc {name = "partials"} : memref<16xf32, #npu.space<shm>>
  }
  return
}

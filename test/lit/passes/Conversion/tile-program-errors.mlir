// RUN: rbln-opt %s --split-input-file --npu-allocate-registers --convert-npu-to-npuisa=target=tiny --verify-diagnostics

// Only index arithmetic the expansion knows is allowed in a program.
func.func @unknown(%x: memref<8x16xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins(%in = %x : memref<8x16xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    npu.distribute %item, %iter on %ne items = 1 {
      // expected-error @+1 {{cannot be expanded into instructions inside an npu.tile_program}}
      %z = arith.xori %iter, %c0 : index
    }
  }
  return
}

// -----

// Softmax, row and elementwise kernels reach instructions only as tile programs.
func.func @unmaterialized(%x: memref<16x32xf32, #npu.space<dram>>, %y: memref<16x32xf32, #npu.space<dram>>) {
  // expected-error @+1 {{is expanded from its tile program: run npu-materialize-tiles first}}
  npu.softmax ins(%x) outs(%y) {tiling = #npu.tiling<[8], ne = 2, spm = 4352>} : memref<16x32xf32, #npu.space<dram>> -> memref<16x32xf32, #npu.space<dram>>
  return
}

// -----

// A program asking for more scratchpad than the target has.
func.func @too_big(%x: memref<8x16xf32, #npu.space<dram>>) {
  // expected-error @+1 {{needs 1048576 bytes of scratchpad, target 'tiny' has 131072}}
  npu.tile_program <softmax> ne = 1 spm = 1048576 ins(%in = %x : memref<8x16xf32, #npu.space<dram>>) {
  }
  return
}

// -----

// A run-time size is known only for a buffer bound to a function argument.
func.func @dim_of_scratch(%x: memref<8xf32, #npu.space<dram>>) {
  %s = npu.alloc {offset = 0 : i64} : memref<4x8xf32, #npu.space<shm>>
  npu.tile_program <kv_cache_write> ne = 1 spm = 1024 ins(%b = %s : memref<4x8xf32, #npu.space<shm>>) {
    // expected-error @+1 {{needs a buffer the program binds to a function argument}}
    %n = npu.cp.dim %b : memref<4x8xf32, #npu.space<shm>>
  }
  return
}

// -----

// A wait on another NE's semaphore names an NE of the program.
func.func @sem_on_past_ne(%x: memref<8xf32, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 2 spm = 1024 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %s = npu.semaphore "s"
    %t = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    %o = npu.sem_on %s[%c2]
    npu.distribute %item, %iter on %ne items = 2 {
      // expected-error @+1 {{waits on NE 2 of a program on 2}}
      npu.dma load %in[%c0] -> %t[%c0] sizes [8] strides [1] -> [1] on %ne wait(%o >= %c2) : memref<8xf32, #npu.space<dram>> -> memref<8xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

// The kernel's own SHM area fits the target's SHM (tiny: 64 KiB).
func.func @shm_too_big(%x: memref<8xf32, #npu.space<dram>>) {
  npu.tile_program <paged_attention> ne = 1 spm = 1024 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    // expected-error @+1 {{ends at SHM byte 8388608, target 'tiny' has}}
    %p = npu.alloc {offset = 0 : i64} : memref<2097152xf32, #npu.space<shm>>
  }
  return
}

// -----

// The expansion uses the offsets npu-allocate-scratchpad gave; it places
// nothing itself.
func.func @unplaced(%x: memref<8xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    // expected-error @+1 {{has no offset (run npu-allocate-scratchpad)}}
    %t = npu.alloc {name = "t"} : memref<8xf32, #npu.space<spm>>
  }
  return
}

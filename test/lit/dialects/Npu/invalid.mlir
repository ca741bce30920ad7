// RUN: rbln-opt %s --split-input-file --verify-diagnostics

func.func @space(%x: memref<4x8xf32>, %w: memref<8x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{lhs must be a buffer in #npu.space<dram>}}
  npu.matmul ins(%x, %w) outs(%y) {compute_type = f32} : memref<4x8xf32>, memref<8x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @compute(%x: memref<4x8xf32, #npu.space<dram>>, %w: memref<8x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{compute_type must be f32, f16, bf16, u8/i8 for 8-bit integer lhs, or an 8-bit float for 8-bit float operands}}
  npu.matmul ins(%x, %w) outs(%y) {compute_type = i32} : memref<4x8xf32, #npu.space<dram>>, memref<8x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @integer_compute(%x: memref<4x8xui8, #npu.space<dram>>, %w: memref<8x8xi8, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{an 8-bit integer compute_type needs lhs of that type and int8 rhs with a per-column scale}}
  npu.matmul ins(%x, %w) outs(%y) {compute_type = ui8} : memref<4x8xui8, #npu.space<dram>>, memref<8x8xi8, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @contraction(%x: memref<4x7xf32, #npu.space<dram>>, %w: memref<8x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{contraction sizes differ: 7 vs 8}}
  npu.matmul ins(%x, %w) outs(%y) {compute_type = f32} : memref<4x7xf32, #npu.space<dram>>, memref<8x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @tile(%x: memref<4x8xf32, #npu.space<dram>>, %w: memref<8x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{tile sizes must be positive}}
  npu.matmul ins(%x, %w) outs(%y) {compute_type = f32, tiling = #npu.tiling<[4, 0, 8], ne = 2, spm = 0>} : memref<4x8xf32, #npu.space<dram>>, memref<8x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @arity(%x: memref<4x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{kind 'add' takes 2 inputs, got 1}}
  npu.elementwise <add> ins(%x) outs(%y) : memref<4x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @bcast(%x: memref<3x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{does not broadcast to}}
  npu.elementwise <relu> ins(%x) outs(%y) : memref<3x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @perm_kind(%x: memref<4x8xf32, #npu.space<dram>>, %y: memref<8x4xf32, #npu.space<dram>>) {
  // expected-error @+1 {{perm is only allowed on copy}}
  npu.elementwise <relu> ins(%x) outs(%y) {perm = array<i64: 1, 0>} : memref<4x8xf32, #npu.space<dram>> -> memref<8x4xf32, #npu.space<dram>>
  return
}

// -----

func.func @perm_shape(%x: memref<4x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{out dim 0 must equal input dim 1}}
  npu.elementwise <copy> ins(%x) outs(%y) {perm = array<i64: 1, 0>} : memref<4x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @ew_tile(%x: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{tiling must have tile [rows, cols]}}
  npu.elementwise <relu> ins(%x) outs(%x) {tiling = #npu.tiling<[4], ne = 2, spm = 0>} : memref<4x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @softmax_shape(%x: memref<4x8xf32, #npu.space<dram>>, %y: memref<8x4xf32, #npu.space<dram>>) {
  // expected-error @+1 {{input and output shapes must match}}
  npu.softmax ins(%x) outs(%y) : memref<4x8xf32, #npu.space<dram>> -> memref<8x4xf32, #npu.space<dram>>
  return
}

// -----

func.func @softmax_tile(%x: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{a tiling needs ne >= 1, spm >= 0 and splits >= 1}}
  npu.softmax ins(%x) outs(%x) {tiling = #npu.tiling<[1], ne = 0, spm = 0>} : memref<4x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @view() {
  %a = npu.alloc : memref<4x8xf32, #npu.space<dram>>
  // expected-error @+1 {{a reshape view must keep the element count of a contiguous source}}
  %v = npu.view %a : memref<4x8xf32, #npu.space<dram>> to memref<31xf32, #npu.space<dram>>
  return
}

// -----

func.func @view_window_out_of_bounds() {
  %a = npu.alloc : memref<4x8xf32, #npu.space<dram>>
  // expected-error @+1 {{the window reads past its buffer (element 32 of 32)}}
  %v = npu.view %a : memref<4x8xf32, #npu.space<dram>> to memref<4x4xf32, strided<[8, 1], offset: 5>, #npu.space<dram>>
  return
}

// -----

func.func @strided_into_compute(%x: memref<4x8xf32, #npu.space<dram>>) {
  %v = npu.view %x : memref<4x8xf32, #npu.space<dram>> to memref<4x4xf32, strided<[8, 1], offset: 4>, #npu.space<dram>>
  %o = npu.alloc : memref<4x4xf32, #npu.space<dram>>
  // expected-error @+1 {{only copy kernels take strided views}}
  npu.elementwise <exp> ins(%v) outs(%o) : memref<4x4xf32, strided<[8, 1], offset: 4>, #npu.space<dram>> -> memref<4x4xf32, #npu.space<dram>>
  return
}

// -----

func.func @select_arity(%c: memref<4xf32, #npu.space<dram>>, %x: memref<4xf32, #npu.space<dram>>) {
  // expected-error @+1 {{kind 'select' takes 3 inputs, got 2}}
  npu.elementwise <select> ins(%c, %x) outs(%x) : memref<4xf32, #npu.space<dram>>, memref<4xf32, #npu.space<dram>> -> memref<4xf32, #npu.space<dram>>
  return
}

// -----

func.func @gather_index_type(%t: memref<10x4xf32, #npu.space<dram>>, %i: memref<3xf32, #npu.space<dram>>) {
  %o = npu.alloc : memref<3x4xf32, #npu.space<dram>>
  // expected-error @+1 {{indices must be i64 or i32}}
  npu.gather ins(%t[%i]) outs(%o) : memref<10x4xf32, #npu.space<dram>>, memref<3xf32, #npu.space<dram>> -> memref<3x4xf32, #npu.space<dram>>
  return
}

// -----

func.func @gather_rows(%t: memref<10x4xf32, #npu.space<dram>>, %i: memref<3xi64, #npu.space<dram>>) {
  %o = npu.alloc : memref<3x5xf32, #npu.space<dram>>
  // expected-error @+1 {{out must hold one table row per index}}
  npu.gather ins(%t[%i]) outs(%o) : memref<10x4xf32, #npu.space<dram>>, memref<3xi64, #npu.space<dram>> -> memref<3x5xf32, #npu.space<dram>>
  return
}

// -----

func.func @constant() {
  // expected-error @+1 {{value type 'tensor<4xf32>' does not match the buffer}}
  %c = npu.constant dense<1.0> : tensor<4xf32> : memref<4xf16, #npu.space<dram>>
  return
}

// -----

func.func @spm_operand(%x: memref<4x8xf32, #npu.space<spm>>, %w: memref<8x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<shm>>) {
  // expected-error @+1 {{lhs must be a buffer in #npu.space<dram> or #npu.space<shm>}}
  npu.matmul ins(%x, %w) outs(%y) {compute_type = f32} : memref<4x8xf32, #npu.space<spm>>, memref<8x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<shm>>
  return
}

// -----

func.func @weights_in_shm() {
  // expected-error @+1 {{weights live in the DRAM weight pool}}
  %w = npu.constant dense<1.0> : tensor<4xf32> : memref<4xf32, #npu.space<shm>>
  return
}

// -----

func.func @dma_spaces(%x: memref<8x16xf32, #npu.space<dram>>, %y: memref<8x16xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins(%in = %x : memref<8x16xf32, #npu.space<dram>>, %out = %y : memref<8x16xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    npu.distribute %item, %iter on %ne items = 1 {
      // expected-error @+1 {{exactly one side must be in #npu.space<spm>}}
      npu.dma load %in[%c0, %c0] -> %out[%c0, %c0] sizes [8, 16] strides [16, 1] -> [16, 1] on %ne : memref<8x16xf32, #npu.space<dram>> -> memref<8x16xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

func.func @dma_rank(%x: memref<8x16xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins(%in = %x : memref<8x16xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %t = npu.alloc {offset = 0 : i64} : memref<8x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      // expected-error @+1 {{the source takes 2 indices, got 1}}
      npu.dma load %in[%c0] -> %t[%c0, %c0] sizes [8, 16] strides [16, 1] -> [16, 1] on %ne : memref<8x16xf32, #npu.space<dram>> -> memref<8x16xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

func.func @spm_overflow(%x: memref<8x16xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 512 ins(%in = %x : memref<8x16xf32, #npu.space<dram>>) {
    // expected-error @+1 {{ends at byte 1024, past the program's 512 scratchpad bytes}}
    %t = npu.alloc {offset = 512 : i64} : memref<8x16xf32, #npu.space<spm>>
  }
  return
}

// -----

func.func @vec_unary_two_sources(%x: memref<8x16xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins(%in = %x : memref<8x16xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %t = npu.alloc {offset = 0 : i64} : memref<8x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      // expected-error @+1 {{'v.exp' takes one source}}
      npu.vec <v.exp> %t[%c0, %c0] = %t[%c0, %c0], %t[%c0, %c0] [8, 16] on %ne : memref<8x16xf32, #npu.space<spm>>, memref<8x16xf32, #npu.space<spm>>, memref<8x16xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

func.func @vec_not_vector(%x: memref<8x16xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins(%in = %x : memref<8x16xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %t = npu.alloc {offset = 0 : i64} : memref<8x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      // expected-error @+1 {{'mm' is not a vector instruction in Isa.def}}
      npu.vec <mm> %t[%c0, %c0] = %t[%c0, %c0] [8, 16] on %ne : memref<8x16xf32, #npu.space<spm>>, memref<8x16xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

func.func @cp_div_by_zero(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    %r = npu.cp.const 5
    // expected-error @+1 {{divisor must be positive, got 0}}
    %q = npu.cp.div %r, 0
  }
  return
}

// -----

func.func @cp_rem_by_6(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    %r = npu.cp.const 5
    // expected-error @+1 {{divisor must be a power of two, got 6}}
    %q = npu.cp.rem %r, 6
  }
  return
}

// -----

// A run-time skip is one piece: no step boundary inside.
func.func @if_less_with_step(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    %r = npu.cp.const 5
    npu.distribute %item, %iter on %ne items = 1 {
      // expected-error @+1 {{body holds no npu.end_step}}
      npu.cp.if_less %r, %r {
        npu.end_step
      }
    }
  }
  return
}

// -----

func.func @if_less_outside(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    %r = npu.cp.const 5
    // expected-error @+1 {{must be inside an npu.distribute}}
    npu.cp.if_less %r, %r {
    }
  }
  return
}

// -----

// Another NE's semaphore is waited on, never signalled.
func.func @sem_on_signal(%x: memref<8xf32, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 2 spm = 1024 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %s = npu.semaphore "s"
    %t = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    // expected-error @+1 {{is only waited on or counted}}
    %o = npu.sem_on %s[%c1]
    npu.distribute %item, %iter on %ne items = 2 {
      npu.dma load %in[%c0] -> %t[%c0] sizes [8] strides [1] -> [1] on %ne signal(%o) : memref<8xf32, #npu.space<dram>> -> memref<8xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

func.func @cp_rem_not_pow2(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    %r = npu.cp.const 5
    // expected-error @+1 {{divisor must be a power of two, got 0}}
    %q = npu.cp.rem %r, 0
  }
  return
}

// -----

func.func @cp_address_spm(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    %t = npu.alloc {offset = 0 : i64} : memref<4x8xf32, #npu.space<spm>>
    %r = npu.cp.const 1
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{reads DRAM or SHM, not the scratchpad}}
    %a = npu.cp.address %t[%r : !npu.reg, %c0] : memref<4x8xf32, #npu.space<spm>>
  }
  return
}

// -----

func.func @cp_load_index_count(%x: memref<2x8xi32, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<2x8xi32, #npu.space<dram>>) {
    %r = npu.cp.const 1
    // expected-error @+1 {{takes 2 indices, got 1}}
    %a = npu.cp.load_index %in[%r : !npu.reg] : memref<2x8xi32, #npu.space<dram>>
  }
  return
}

// -----

func.func @end_step_outside(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <flash_attention> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    // expected-error @+1 {{must be inside an npu.distribute}}
    npu.end_step
  }
  return
}

// -----

func.func @end_step_with_steps(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <matmul> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    // expected-error @+1 {{with `steps` issues at step granularity already: no npu.end_step inside}}
    npu.distribute %item, %iter on %ne items = 2 steps = 2 (%k, %step) {
      npu.end_step
    }
  }
  return
}

// -----

func.func @deferred_nested(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <flash_attention> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    npu.distribute %item, %iter on %ne items = 2 {
      // expected-error @+1 {{body holds no npu.end_step, npu.deferred or npu.issue_deferred}}
      npu.deferred {
        npu.end_step
      }
    }
  }
  return
}

// -----

// A deferred command issues after later values took their registers.
func.func @deferred_register(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <flash_attention> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    npu.distribute %item, %iter on %ne items = 2 {
      // expected-error @+1 {{body reads or defines no command-processor value}}
      npu.deferred {
        %r = npu.cp.const 3
      }
      npu.end_step
    }
  }
  return
}

// -----

func.func @softmax_step_f16(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <flash_attention> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %s = npu.alloc {offset = 0 : i64} : memref<8xf16, #npu.space<spm>>
    %st = npu.alloc {offset = 64 : i64} : memref<6xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      // expected-error @+1 {{scores and stats must be f32 scratchpad tiles}}
      npu.softmax_step %s[%c0] stats %st[%c0] [2, 4] scale 1.000000e+00 on %ne : memref<8xf16, #npu.space<spm>>, memref<6xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

func.func @deferred_uncut(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <flash_attention> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    // expected-error @+1 {{defers commands only when cut into steps (npu.end_step)}}
    npu.distribute %item, %iter on %ne items = 2 {
      npu.deferred {
      }
    }
  }
  return
}

// -----

func.func @sem_count_outside(%x: memref<8xi64, #npu.space<dram>>) {
  npu.tile_program <flash_attention> ne = 1 spm = 1024 ins(%in = %x : memref<8xi64, #npu.space<dram>>) {
    %s = npu.semaphore "s"
    // expected-error @+1 {{must be inside an npu.distribute}}
    %n = npu.sem_count %s
  }
  return
}

// -----

// Run-time indices address DRAM/SHM (a dynamic DMA), never the scratchpad.
func.func @dma_reg_spm_index(%x: memref<8xf32, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %t = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      %r = npu.cp.const 1
      // expected-error @+1 {{indexes the scratchpad with a run-time value}}
      npu.dma load %in[%c0] -> %t[%r : !npu.reg] sizes [4] strides [1] -> [1] on %ne : memref<8xf32, #npu.space<dram>> -> memref<8xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

func.func @dma_reg_and_at(%x: memref<8xf32, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %x : memref<8xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %t = npu.alloc {offset = 0 : i64} : memref<8xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      %r = npu.cp.const 1
      %a = npu.cp.address %in[%r : !npu.reg] : memref<8xf32, #npu.space<dram>>
      // expected-error @+1 {{has both `at(...)` and run-time indices}}
      npu.dma load %in[%r : !npu.reg] -> %t[%c0] at(%a) sizes [4] strides [1] -> [1] on %ne : memref<8xf32, #npu.space<dram>> -> memref<8xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

func.func @both_local() {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins() {
    // expected-error @+1 {{is both item_local and step_local}}
    %x = npu.alloc {name = "x", item_local, step_local} : memref<16xf32, #npu.space<spm>>
  }
  return
}

// -----

func.func @max_min_out2(%x: memref<4x8xf32, #npu.space<dram>>, %y: memref<4xf32, #npu.space<dram>>) {
  // expected-error @+1 {{max_min, and only max_min, writes a second output}}
  npu.rows <max_min> ins(%x) outs(%y) : memref<4x8xf32, #npu.space<dram>> -> memref<4xf32, #npu.space<dram>>
  return
}

// -----

func.func @int4_odd_rows(%x: memref<4x8xf32, #npu.space<dram>>, %w: memref<8x7xi4, #npu.space<dram>>, %s: memref<1x7xf32, #npu.space<dram>>, %y: memref<4x7xf32, #npu.space<dram>>) {
  // expected-error @+1 {{int4 rhs needs contiguous rows of an even length}}
  npu.matmul ins(%x, %w scale %s) outs(%y) {compute_type = f32, scale_block = 32 : i64} : memref<4x8xf32, #npu.space<dram>>, memref<8x7xi4, #npu.space<dram>> scale memref<1x7xf32, #npu.space<dram>> -> memref<4x7xf32, #npu.space<dram>>
  return
}

// -----

func.func @int4_step_across_blocks(%x: memref<4x64xf32, #npu.space<dram>>, %w: memref<64x8xi4, #npu.space<dram>>, %s: memref<2x8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{tiling's tk must divide scale_block 32}}
  npu.matmul ins(%x, %w scale %s) outs(%y) {compute_type = f32, scale_block = 32 : i64, tiling = #npu.tiling<[4, 8, 64], ne = 1, spm = 0>} : memref<4x64xf32, #npu.space<dram>>, memref<64x8xi4, #npu.space<dram>> scale memref<2x8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

// -----

func.func @int4_needs_blocks(%x: memref<4x8xf32, #npu.space<dram>>, %w: memref<8x8xi4, #npu.space<dram>>, %s: memref<8xf32, #npu.space<dram>>, %y: memref<4x8xf32, #npu.space<dram>>) {
  // expected-error @+1 {{a scale needs int8 rhs (or 8-bit float rhs with a float compute type, or int4 rhs with a scale_block)}}
  npu.matmul ins(%x, %w scale %s) outs(%y) {compute_type = f32} : memref<4x8xf32, #npu.space<dram>>, memref<8x8xi4, #npu.space<dram>> scale memref<8xf32, #npu.space<dram>> -> memref<4x8xf32, #npu.space<dram>>
  return
}

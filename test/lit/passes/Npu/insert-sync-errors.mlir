// RUN: rbln-opt %s --split-input-file --npu-insert-sync --verify-diagnostics

// Only straight-line commands and loops of one engine's are ordered: a loop
// whose iterations hand tiles between engines would need waits per
// iteration.
func.func @loop(%a: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <gather> ne = 1 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %x = npu.alloc {name = "x"} : memref<16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 2 {
      // expected-error @+1 {{npu-insert-sync orders straight-line commands, loops of one engine's and branches on an item's first or last step}}
      scf.for %i = %c0 to %c4 step %c1 {
        npu.dma load %in[%i] -> %x[%c0] sizes [4] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<16xf32, #npu.space<spm>>
        npu.vec <v.exp> %x[%c0] = %x[%c0] [1, 4] on %ne : memref<16xf32, #npu.space<spm>>, memref<16xf32, #npu.space<spm>>
      }
    }
  }
  return
}

// -----

// A buffer's slots must be one kind: copies by the item, or one slot.
func.func @mixed_slots(%a: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %x = npu.alloc {name = "x"} : memref<2x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 2 {
      %buf = arith.remsi %iter, %c2 : index
      npu.dma load %in[%c0] -> %x[%buf, %c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<2x16xf32, #npu.space<spm>>
      // expected-error @+1 {{indexes a scratchpad buffer both by the item's or step's copy and otherwise}}
      npu.vec <v.exp> %x[%c0, %c0] = %x[%c0, %c0] [1, 16] on %ne : memref<2x16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

// An instruction waits on two semaphores at most: a vector op that reads a
// loaded tile and a product of a tile nothing writes, and writes what the
// store read two items back, needs all three.
func.func @three_waits(%a: memref<64xf32, #npu.space<dram>>, %b: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 4096 ins(%in = %a : memref<64xf32, #npu.space<dram>>, %out = %b : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %false = arith.constant false
    %x = npu.alloc {name = "x"} : memref<2x16xf32, #npu.space<spm>>
    %w = npu.alloc {name = "w"} : memref<16xf32, #npu.space<spm>>
    %p = npu.alloc {name = "p"} : memref<2x16xf32, #npu.space<spm>>
    %o = npu.alloc {name = "o"} : memref<2x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 {
      %buf = arith.remsi %iter, %c2 : index
      npu.dma load %in[%c0] -> %x[%buf, %c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<2x16xf32, #npu.space<spm>>
      npu.mm %p[%buf, %c0] = %w[%c0] x %w[%c0] [4, 4, 4] accumulate(%false) on %ne : memref<2x16xf32, #npu.space<spm>>, memref<16xf32, #npu.space<spm>>, memref<16xf32, #npu.space<spm>>
      // expected-error @+1 {{needs 3 waits; an instruction has two}}
      npu.vec <v.add> %o[%buf, %c0] = %x[%buf, %c0], %p[%buf, %c0] [1, 16] on %ne : memref<2x16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>
      npu.dma store %o[%buf, %c0] -> %out[%c0] sizes [16] strides [1] -> [1] on %ne : memref<2x16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
    }
  }
  return
}

// -----

// Only scratchpad accesses are ordered: reading back what a store wrote to
// DRAM (or SHM) is the kernel's to order.
func.func @read_back(%a: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <copy> ne = 1 spm = 1024 ins(%buf = %a : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %x = npu.alloc {name = "x"} : memref<16xf32, #npu.space<spm>>
    %y = npu.alloc {name = "y"} : memref<16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 1 {
      npu.dma store %x[%c0] -> %buf[%c0] sizes [16] strides [1] -> [1] on %ne : memref<16xf32, #npu.space<spm>> -> memref<64xf32, #npu.space<dram>>
      // expected-error @+1 {{reads a buffer the program also writes outside the scratchpad}}
      npu.dma load %buf[%c0] -> %y[%c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<16xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

// With steps, only branches on the item's first or last step are ordered.
func.func @middle_step(%a: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <matmul> ne = 1 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %x = npu.alloc {name = "x"} : memref<16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 2 steps = 3 (%k, %step) {
      %mid = arith.cmpi eq, %k, %c1 : index
      // expected-error @+1 {{orders only branches that run straight-line commands on an item's first or last step}}
      scf.if %mid {
        npu.dma load %in[%c0] -> %x[%c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<16xf32, #npu.space<spm>>
      }
      npu.vec <v.exp> %x[%c0] = %x[%c0] [1, 16] on %ne : memref<16xf32, #npu.space<spm>>, memref<16xf32, #npu.space<spm>>
    }
  }
  return
}

// -----

// A buffer copied per step is for commands of every step: on the last step
// alone, the copy it names is not the one the next item's commands reuse.
func.func @step_copy_on_last(%a: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <matmul> ne = 1 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %c2 = arith.constant 2 : index
    %x = npu.alloc {name = "x"} : memref<2x16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 2 steps = 2 (%k, %step) {
      %s = arith.remsi %step, %c2 : index
      npu.dma load %in[%c0] -> %x[%s, %c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<2x16xf32, #npu.space<spm>>
      %last = arith.cmpi eq, %k, %c1 : index
      scf.if %last {
        // expected-error @+1 {{runs on an item's first or last step but indexes a buffer by the step's copy}}
        npu.vec <v.exp> %x[%s, %c0] = %x[%s, %c0] [1, 16] on %ne : memref<2x16xf32, #npu.space<spm>>, memref<2x16xf32, #npu.space<spm>>
      }
    }
  }
  return
}

// -----

// An every-step command reading what a first-step load writes after it
// needs the previous item's load on the first step and this item's on the
// others: one wait cannot say both.
func.func @varying_need(%a: memref<64xf32, #npu.space<dram>>) {
  npu.tile_program <matmul> ne = 1 spm = 1024 ins(%in = %a : memref<64xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    %x = npu.alloc {name = "x"} : memref<16xf32, #npu.space<spm>>
    %y = npu.alloc {name = "y"} : memref<16xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 4 steps = 2 (%k, %step) {
      // expected-error @+1 {{needs load commands of a different step or item on different steps of its item}}
      npu.vec <v.exp> %y[%c0] = %x[%c0] [1, 16] on %ne : memref<16xf32, #npu.space<spm>>, memref<16xf32, #npu.space<spm>>
      %first = arith.cmpi eq, %k, %c0 : index
      scf.if %first {
        npu.dma load %in[%c0] -> %x[%c0] sizes [16] strides [1] -> [1] on %ne : memref<64xf32, #npu.space<dram>> -> memref<16xf32, #npu.space<spm>>
      }
    }
  }
  return
}

// RUN: rbln-opt %s --split-input-file --npu-multi-buffer --verify-diagnostics
// RUN: not rbln-opt %s --npu-multi-buffer=buffers=0 2>&1 | FileCheck %s --check-prefix=ZERO

// No copies at all is refused.
// ZERO: npu-multi-buffer: buffers must be at least 1, got 0

// An item-local buffer belongs to one distribute's items.
func.func @two_loops(%a: memref<24xf32, #npu.space<dram>>) {
  npu.tile_program <softmax> ne = 1 spm = 1024 ins(%in = %a : memref<24xf32, #npu.space<dram>>) {
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{is item-local but two distributes use it}}
    %x = npu.alloc {name = "x", item_local} : memref<6xf32, #npu.space<spm>>
    npu.distribute %item, %iter on %ne items = 2 {
      npu.dma load %in[%c0] -> %x[%c0] sizes [6] strides [1] -> [1] on %ne : memref<24xf32, #npu.space<dram>> -> memref<6xf32, #npu.space<spm>>
    }
    npu.distribute %item, %iter on %ne items = 2 {
      npu.dma store %x[%c0] -> %in[%c0] sizes [6] strides [1] -> [1] on %ne : memref<6xf32, #npu.space<spm>> -> memref<24xf32, #npu.space<dram>>
    }
  }
  return
}

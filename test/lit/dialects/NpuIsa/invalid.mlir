// RUN: rbln-opt %s --split-input-file --verify-diagnostics

func.func @unknown() {
  // expected-error @+1 {{custom op 'npuisa.frobnicate' is unknown}}
  npuisa.frobnicate
  return
}

// -----

func.func @range() {
  // expected-error @+1 {{mm: field 'm' value 70000 does not fit 16 bits}}
  npuisa.mm[0] c = 0, a = 0, b = 0, m = 70000, n = 8, k = 8, in = f32, acc = 0, ta = 0, tb = 0, bt = f32
  return
}

// -----

func.func @field_value() {
  // expected-error @+1 {{invalid value 'tcm' for field 'dspace'}}
  npuisa.dma.task[0] dspace = tcm, dreg = r0, doff = 0, sspace = dram, sreg = r1, soff = 0, desc = 0
  return
}

// -----

func.func @sem() {
  // expected-error @+1 {{expected a semaphore like s3}}
  npuisa.barrier wait(q1 >= 2)
  return
}

// -----

func.func @desc_dims() {
  // expected-error @+1 {{a DMA descriptor has 1 to 4 dims, got 5}}
  npuisa.desc 0 : f32 -> f32 sizes [1, 1, 1, 1, 1] src_strides [1, 1, 1, 1, 1] dst_strides [1, 1, 1, 1, 1]
  return
}

// -----

func.func @desc_strides() {
  // expected-error @+1 {{strides must have one entry per dim}}
  npuisa.desc 0 : f32 -> f32 sizes [2, 2] src_strides [2] dst_strides [2, 1]
  return
}

// -----

func.func @desc_negative() {
  // expected-error @+1 {{sizes and strides must be non-negative}}
  npuisa.desc 0 : f32 -> f32 sizes [2, 2] src_strides [-2, 1] dst_strides [2, 1]
  return
}

// -----

func.func @desc_type() {
  // expected-error @+1 {{element types must be f32, f16, bf16 or i1/i8/ui8/i32/i64}}
  npuisa.desc 0 : f64 -> f32 sizes [2] src_strides [1] dst_strides [1]
  return
}

// -----

func.func @too_many_waits() {
  // expected-error @+1 {{at most two wait conditions}}
  npuisa.barrier wait(s1 >= 1, s2 >= 2, s3 >= 3)
  return
}

// -----

func.func @missing_field() {
  // A field of the instruction's row that is absent: the op's own
  // (generated) verifier names it.
  // expected-error @+1 {{requires attribute 'imm'}}
  "npuisa.li"() <{rd = 1 : i32}> : () -> ()
  return
}

// -----

func.func @register_range() {
  // expected-error @+1 {{invalid value 'r32' for field 'rd'}}
  npuisa.li rd = r32, imm = 0
  return
}

// -----

func.func @register_attr_range() {
  // expected-error @+1 {{attribute 'rd' failed to satisfy constraint}}
  "npuisa.li"() <{rd = 40 : i32, imm = 0 : i64}> : () -> ()
  return
}

// -----

func.func @signal_range() {
  // expected-error @+1 {{signal semaphore 300 does not fit the encoding}}
  "npuisa.barrier"() <{signal = 300 : i32}> : () -> ()
  return
}

// -----

func.func @dtype_field() {
  // expected-error @+1 {{field 'in' has no ISA element type}}
  npuisa.mm[0] c = 0, a = 0, b = 0, m = 1, n = 1, k = 1, in = f64, acc = 0, ta = 0, tb = 0, bt = f32
  return
}

// -----

func.func @unit_range() {
  // A unit past 8 bits is refused, not truncated to a valid one.
  // expected-error @+1 {{unit 4294967296 does not fit 8 bits}}
  npuisa.v.copy[4294967296] dst = 0, src = 0, rows = 1, cols = 1
  return
}

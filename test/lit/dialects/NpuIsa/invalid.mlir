// RUN: rbln-opt %s --split-input-file --verify-diagnostics

func.func @unknown() {
  // expected-error @+1 {{unknown instruction 'frobnicate'}}
  npuisa.inst frobnicate
  return
}

// -----

func.func @range() {
  // expected-error @+1 {{mm: field 'm' value 70000 does not fit 16 bits}}
  npuisa.inst mm[0] c = 0, a = 0, b = 0, m = 70000, n = 8, k = 8, in = f32, acc = 0, ta = 0, tb = 0
  return
}

// -----

func.func @field_value() {
  // expected-error @+1 {{invalid value 'tcm' for field 'dspace'}}
  npuisa.inst dma.task[0] dspace = tcm, dreg = r0, doff = 0, sspace = dram, sreg = r1, soff = 0, desc = 0
  return
}

// -----

func.func @sem() {
  // expected-error @+1 {{expected a semaphore like s3}}
  npuisa.inst barrier wait(q1 >= 2)
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
  // expected-error @+1 {{element types must be f32, f16, bf16 or i1/i8/i32/i64}}
  npuisa.desc 0 : f64 -> f32 sizes [2] src_strides [1] dst_strides [1]
  return
}

// -----

func.func @too_many_waits() {
  // expected-error @+1 {{at most two wait conditions}}
  "npuisa.inst"() <{mnemonic = "barrier", unit = 0 : i64, fields = array<i64>, waits = array<i64: 1, 1, 2, 2, 3, 3>, signal = -1 : i64}> : () -> ()
  return
}

// -----

func.func @field_count() {
  // expected-error @+1 {{'li' has 2 fields, 1 given}}
  "npuisa.inst"() <{mnemonic = "li", unit = 0 : i64, fields = array<i64: 1>, waits = array<i64>, signal = -1 : i64}> : () -> ()
  return
}

// -----

func.func @signal_range() {
  // expected-error @+1 {{signal semaphore 300 does not fit the encoding}}
  "npuisa.inst"() <{mnemonic = "barrier", unit = 0 : i64, fields = array<i64>, waits = array<i64>, signal = 300 : i64}> : () -> ()
  return
}

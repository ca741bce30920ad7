//===- NpuTileOps.td - The npu dialect's tile-program level -*- tablegen -*-===//
//
// After npu-tile-partition has decided a kernel's tiling, npu-materialize-tiles
// rewrites the kernel into a tile program: what its NEs do, as IR. Scratchpad
// buffers (`npu.alloc` in #npu.space<spm>, placed by npu-allocate-scratchpad),
// work items spread over the NEs (`npu.distribute`), DMA between DRAM/SHM and
// SPM (`npu.dma`), vector-engine instructions on SPM tiles (`npu.vec`), and the
// per-NE semaphores that order them (`npu.semaphore`, the `wait`/`signal` of
// each engine op). Index arithmetic is `arith` on `index`. convert-npu-to-npuisa
// expands a tile program mechanically: one instruction per engine op per work
// item, waits and signals as written.
//
//===----------------------------------------------------------------------===//
#ifndef RBLN_NPU_TILE_OPS
#define RBLN_NPU_TILE_OPS

include "NpuInterfaces.td"

def Npu_SemaphoreType : TypeDef<Npu_Dialect, "Semaphore"> {
  let mnemonic = "sem";
  let summary = "a counting semaphore of each NE, local to one tile program";
  let description = [{
    Each NE of a tile program has its own instance. A `signal` counts one on
    the issuing NE's instance when the command completes; `wait(%s >= n)`
    holds a command until the NE's instance has counted n signals in this
    program (n <= 0: no wait).
  }];
}

def Npu_RegType : TypeDef<Npu_Dialect, "Reg"> {
  let mnemonic = "reg";
  let summary = "a run-time value in a command-processor register";
  let description = [{
    What only the running program knows — an index loaded from DRAM, the
    address formed from it. Index values (`index`) are known per work item
    when the program is expanded; `!npu.reg` values become CP instructions
    on registers the expansion allocates.
  }];
}

def Npu_TrapAttr : AttrDef<Npu_Dialect, "Trap"> {
  let mnemonic = "trap";
  let summary = "a run-time check's trap, by its name in Isa.def's trap table";
  let parameters = (ins "unsigned":$code);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Npu_RegsAttr : AttrDef<Npu_Dialect, "Regs"> {
  let mnemonic = "regs";
  let summary = "the command-processor registers npu-allocate-registers gave a run-time value";
  let description = [{
    On an op defining a `!npu.reg` (as the discardable attribute `npu.regs`):
    `#npu.regs<r6>` is the value's register on every NE; `#npu.regs<r6, r7>`
    one register per NE (a value that lives across `npu.end_step`, while the
    other NEs' steps run); `scratch r9` a register the op's expansion uses
    for an intermediate result.
  }];
  let parameters = (ins ArrayRefParameter<"unsigned">:$regs, "unsigned":$scratch);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The discardable attribute's name on the defining op.
    static constexpr ::llvm::StringLiteral kName = "npu.regs";
    /// The register on NE `ne`.
    unsigned on(unsigned ne) const { return getRegs().size() == 1 ? getRegs()[0] : getRegs()[ne]; }
  }];
}

def Npu_KernelKind : I32EnumAttr<"KernelKind", "what a tile program computes", [
    I32EnumAttrCase<"Matmul", 0, "matmul">,
    I32EnumAttrCase<"Elementwise", 1, "elementwise">,
    I32EnumAttrCase<"Copy", 2, "copy">,
    I32EnumAttrCase<"Softmax", 3, "softmax">,
    I32EnumAttrCase<"Reduction", 4, "reduction">,
    I32EnumAttrCase<"Normalization", 5, "normalization">,
    I32EnumAttrCase<"Gather", 6, "gather">,
    I32EnumAttrCase<"FlashAttention", 7, "flash_attention">,
    I32EnumAttrCase<"KvCacheWrite", 8, "kv_cache_write">,
    I32EnumAttrCase<"PagedAttention", 9, "paged_attention">]> {
  let cppNamespace = "::rbln::npu";
  let genSpecializedAttr = 0;
}
def Npu_KernelKindAttr : EnumAttr<Npu_Dialect, Npu_KernelKind, "kernel"> {
  let assemblyFormat = "`<` $value `>`";
}

def Npu_DmaQueue : I32EnumAttr<"DmaQueue", "which of an NE's neural DMA queues", [
    I32EnumAttrCase<"Load", 0, "load">,
    I32EnumAttrCase<"Store", 1, "store">]> {
  let cppNamespace = "::rbln::npu";
}

def Npu_Broadcast : I32EnumAttr<"Broadcast", "how a vector op's second source is read", [
    I32EnumAttrCase<"None", 0, "none">,
    I32EnumAttrCase<"Row", 1, "row">,
    I32EnumAttrCase<"Col", 2, "col">,
    I32EnumAttrCase<"Imm", 3, "imm">]> {
  let cppNamespace = "::rbln::npu";
}

def Npu_VectorOpAttr : AttrDef<Npu_Dialect, "VectorOp"> {
  let mnemonic = "vop";
  let summary = "a vector-engine instruction, by its Isa.def mnemonic";
  let description = [{
    `#npu.vop<v.exp>`: one of the instructions Isa.def classes as VBinary,
    VUnary or VReduce; the opcode (`rbln::isa::Opcode`'s value: the dialect
    headers stay free of the runtime's `rbln::isa` namespace, which would
    shadow `isa<>` in code under `rbln`) is stored, the mnemonic printed.
  }];
  let parameters = (ins "unsigned":$opcode);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Whether the instruction takes a second source (VBinary).
    bool isBinary() const;
    /// The mnemonic, as Isa.def spells it.
    ::llvm::StringRef getInstMnemonic() const;
  }];
}

def Npu_AnyBuffer : MemRefOf<[F32, F16, BF16, I64, I32, I8, UI8, I1, F8E4M3FN, F8E5M2,
                                F8E4M3FNUZ, F8E5M2FNUZ, I<4>]>;

def Npu_TileProgramOp : Npu_Op<"tile_program", [IsolatedFromAbove, SingleBlock, NoTerminator]> {
  let summary = "one kernel as what its NEs do: buffers, work items, DMA, compute, semaphores";
  let description = [{
    ```
    npu.tile_program <softmax> ne = 8 spm = 263168
        ins(%in = %0 : memref<512x1024xf32>, %out = %1 : memref<512x1024xf32>) {
      %load = npu.semaphore "load"
      %x = npu.alloc {offset = 0 : i64} : memref<2x16x1024xf32, #npu.space<spm>>
      npu.distribute %tile, %t on %ne items = 32 {
        ...
      }
    }
    ```
    The region binds the kernel's DRAM/SHM buffers as block arguments (their
    addresses are formed in operand order when the program starts) and holds
    the program: `npu.semaphore`s, `npu.alloc`s in the scratchpad (the same
    offsets on every NE), and `npu.distribute` loops whose bodies issue engine
    ops. `ne`: the NEs it uses; `spm`: scratchpad bytes per NE; `reuse`: a
    matmul's dataflow as npu-tile-partition chose it (for reports). Programs
    run one after another, separated by a barrier.
  }];
  let arguments = (ins Npu_KernelKindAttr:$kernel, I64Attr:$ne, I64Attr:$spm,
                   Variadic<Npu_AnyBuffer>:$buffers, OptionalAttr<Npu_MatmulReuseAttr>:$reuse);
  let regions = (region SizedRegion<1>:$body);
  let hasCustomAssemblyFormat = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Block &getProgram() { return getBody().front(); }
    /// The program's index constant `v`: its own at the top level, or a new
    /// one at its start (for passes that add index arithmetic).
    ::mlir::Value getIndexConstant(int64_t v);
  }];
}

def Npu_SemaphoreOp : Npu_Op<"semaphore", [DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmResultNames"]>,
                                            HasParent<"TileProgramOp">]> {
  let summary = "a counting semaphore per NE, named for what it counts";
  let arguments = (ins StrAttr:$name);
  let results = (outs Npu_SemaphoreType:$result);
  let assemblyFormat = "$name attr-dict";
}

def Npu_DistributeOp : Npu_Op<"distribute", [SingleBlock, NoTerminator, HasParent<"TileProgramOp">,
    DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmBlockArgumentNames"]>]> {
  let summary = "work items spread round-robin over a tile program's NEs";
  let description = [{
    ```
    npu.distribute %item, %iter on %ne items = 32 { ... }
    ```
    Item i runs on NE i mod N as that NE's iteration i / N (N the program's
    `ne`); the body sees the item, the iteration and the NE as `index`
    values. Issue order: iteration k of every NE before iteration k + 1 of
    any, so bounded queues never hold a command whose producer the command
    processor has not dispatched yet.

    With `steps = S` (e.g. a matmul's k-steps) each item is S steps issued
    in that order at step granularity, and the body also sees the step
    within the item and the NE's running step count:
    `npu.distribute %item, %iter on %ne items = 32 steps = 4 (%k, %step)`.
  }];
  let arguments = (ins I64Attr:$items, DefaultValuedAttr<I64Attr, "1">:$steps);
  let regions = (region SizedRegion<1>:$body);
  let hasCustomAssemblyFormat = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::Value getItem() { return getBody().getArgument(0); }
    ::mlir::Value getIter() { return getBody().getArgument(1); }
    ::mlir::Value getNe() { return getBody().getArgument(2); }
    /// With `steps` > 1: the step within the item, and the NE's step count.
    ::mlir::Value getStepOfItem() { return getBody().getArgument(3); }
    ::mlir::Value getStep() { return getBody().getArgument(4); }
  }];
}

// An index of a CP op or of a DMA's DRAM/SHM side: an `index` known per work item, or a `!npu.reg`
// known only when the program runs (written `%r : !npu.reg`).
def Npu_CpIndex : AnyTypeOf<[Index, Npu_RegType]>;

def Npu_DmaOp : Npu_Op<"dma", [AttrSizedOperandSegments, DeclareOpInterfaceMethods<Npu_EngineOpInterface>]> {
  let summary = "a neural DMA between a DRAM/SHM buffer and an NE's scratchpad, with a cast";
  let description = [{
    ```
    npu.dma load %in[%r0, 0] -> %x[%buf, 0, 0] sizes [%rows, 1024] strides [1024, 1] -> [1024, 1]
        on %ne wait(%store >= %prev) signal(%load) : memref<...> -> memref<...>
    ```
    Copies a box of up to 4 dimensions (`sizes`, element strides per side;
    each a constant or an index value)
    from the element at the source indices to the element at the destination
    indices, converting the element type when the two differ. One side is in
    #npu.space<spm>. `load`/`store` names the NE's queue that carries it.
    A dynamic DMA: an index of the DRAM/SHM side may be a run-time value
    (`%kc[%blk : !npu.reg, %h, %c0, %c0]`, a block id read from a table);
    npu-dynamic-dma turns it into the CP's address of that element
    (`npu.cp.address`) and `at(%addr)`: the side's base address is then
    that register, not the buffer's, and the indices count from it.
    `saturate = false`: a conversion to an 8-bit float gives infinity or NaN
    past the type's largest finite value instead of that value.
  }];
  let arguments = (ins Npu_DmaQueue:$queue, Npu_AnyBuffer:$src, Variadic<Npu_CpIndex>:$src_indices,
                   Npu_AnyBuffer:$dst, Variadic<Npu_CpIndex>:$dst_indices,
                   Variadic<Index>:$sizes, DenseI64ArrayAttr:$static_sizes,
                   Variadic<Index>:$src_dyn_strides, DenseI64ArrayAttr:$src_strides,
                   Variadic<Index>:$dst_dyn_strides, DenseI64ArrayAttr:$dst_strides, Index:$ne,
                   Variadic<Npu_SemaphoreType>:$wait_sems, Variadic<Index>:$wait_counts,
                   Optional<Npu_SemaphoreType>:$signal, Optional<Npu_RegType>:$address,
                   DefaultValuedAttr<BoolAttr, "true">:$saturate);
  let assemblyFormat = [{
    $queue $src `` custom<CpIndices>($src_indices, type($src_indices)) `->`
    $dst `` custom<CpIndices>($dst_indices, type($dst_indices)) (`at` `(` $address^ `)`)?
    `sizes` custom<DynamicIndexList>($sizes, $static_sizes)
    `strides` custom<DynamicIndexList>($src_dyn_strides, $src_strides) `->`
    custom<DynamicIndexList>($dst_dyn_strides, $dst_strides) `on` $ne
    (`wait` `(` custom<Waits>($wait_sems, $wait_counts)^ `)`)? (`signal` `(` $signal^ `)`)?
    attr-dict `:` type($src) `->` type($dst)
  }];
  let hasVerifier = 1;
}

// --- command-processor ops: run-time values --------------------------------

def Npu_CpConstOp : Npu_Op<"cp.const", [Pure]> {
  let summary = "a constant in a CP register";
  let arguments = (ins I64Attr:$value);
  let results = (outs Npu_RegType:$result);
  let assemblyFormat = "$value attr-dict";
}

def Npu_CpFromIndexOp : Npu_Op<"cp.from_index"> {
  let summary = "an index value (known per work item) in a CP register";
  let arguments = (ins Index:$value);
  let results = (outs Npu_RegType:$result);
  let assemblyFormat = "$value attr-dict";
}


def Npu_CpLoadIndexOp : Npu_Op<"cp.load_index"> {
  let summary = "loads an integer element of a DRAM/SHM buffer into a CP register";
  let description = [{
    `%i = npu.cp.load_index %indices[%q] : memref<16xi64>`: the element at
    the indices, sign-extended. The dynamic half of a dynamic DMA: what the
    command processor reads at run time. An index may itself be a run-time
    value: `%blk = npu.cp.load_index %table[%b, %col : !npu.reg]` reads a
    block table at a column the CP computed.
  }];
  let arguments = (ins Npu_AnyBuffer:$buffer, Variadic<Npu_CpIndex>:$indices);
  let results = (outs Npu_RegType:$result);
  let assemblyFormat = "$buffer `` custom<CpIndices>($indices, type($indices)) attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

def Npu_CpDimOp : Npu_Op<"cp.dim"> {
  let summary = "the run-time size of a kernel argument's leading dimension";
  let description = [{
    `%n = npu.cp.dim %k_cache : memref<?x2x16x8xf32, ...>`: the size the
    runtime passed in the argument block (a paged cache's block count).
    The buffer must be bound to a function argument.
  }];
  let arguments = (ins Npu_AnyBuffer:$buffer);
  let results = (outs Npu_RegType:$result);
  let assemblyFormat = "$buffer attr-dict `:` type($buffer)";
}

class Npu_CpByConstOp<string mnemonic, string what> : Npu_Op<mnemonic> {
  let summary = what;
  let arguments = (ins Npu_RegType:$value, I64Attr:$divisor);
  let results = (outs Npu_RegType:$result);
  let assemblyFormat = "$value `,` $divisor attr-dict";
  let hasVerifier = 1;
}
def Npu_CpDivOp : Npu_CpByConstOp<"cp.div",
    "a non-negative value divided by a positive constant (a shift for a power of two)">;
def Npu_CpRemOp : Npu_CpByConstOp<"cp.rem", "a non-negative value modulo a power of two (a mask)">;

// `%r = npu.cp.add %a, %b`: a run-time value and a register or an index
// (an immediate known per work item); one CP instruction, `ra op (rb + imm)`.
class Npu_CpBinaryOp<string mnemonic, string what> : Npu_Op<mnemonic> {
  let summary = what;
  let arguments = (ins Npu_RegType:$lhs, Npu_CpIndex:$rhs);
  let results = (outs Npu_RegType:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($rhs)";
}
def Npu_CpAddOp : Npu_CpBinaryOp<"cp.add", "a run-time sum">;
def Npu_CpSubOp : Npu_CpBinaryOp<"cp.sub", "a run-time difference">;
def Npu_CpMulOp : Npu_CpBinaryOp<"cp.mul", "a run-time product">;
def Npu_CpMinOp : Npu_CpBinaryOp<"cp.min", "a run-time signed minimum">;
def Npu_CpMaxOp : Npu_CpBinaryOp<"cp.max", "a run-time signed maximum">;

def Npu_CpIfLessOp : Npu_Op<"cp.if_less", [SingleBlock, NoTerminator]> {
  let summary = "commands that run only when lhs < rhs at run time; skipped, their signals are given";
  let description = [{
    ```
    npu.cp.if_less %k0, %pos {
      ... block-table loads, K/V DMA, QK^T, softmax, PV ...
    }
    ```
    A run-time branch around the body (signed compare). When it is skipped,
    an empty command on each engine or queue that the body signals from gives
    the same signal in the same order, so every semaphore counts what the
    program was built for either way and later waits stay known when the
    program is expanded. (A paged KV partition past the sequence's length.)
  }];
  let arguments = (ins Npu_RegType:$lhs, Npu_RegType:$rhs);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$lhs `,` $rhs attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def Npu_CpWrapIndexOp : Npu_Op<"cp.wrap_index"> {
  let summary = "a negative index counted from the end: i + (i < 0) * size";
  let arguments = (ins Npu_RegType:$index, I64Attr:$size);
  let results = (outs Npu_RegType:$result);
  let assemblyFormat = "$index `,` $size attr-dict";
}

def Npu_CpCheckRangeOp : Npu_Op<"cp.check_range"> {
  let summary = "traps unless 0 <= value < bound";
  let arguments = (ins Npu_RegType:$value, Npu_RegType:$bound, Npu_TrapAttr:$trap);
  let assemblyFormat = "$value `,` $bound $trap attr-dict";
}

def Npu_CpAddressOp : Npu_Op<"cp.address"> {
  let summary = "the run-time base address of an element of a DRAM/SHM buffer";
  let description = [{
    `%a = npu.cp.address %kc[%blk : !npu.reg, %c0, %slot : !npu.reg, %c0]`:
    the buffer's base register plus each index times its dimension's stride
    in bytes. With `at(%a)` a DMA reads or writes from there (its own
    indices count from that element).
  }];
  let arguments = (ins Npu_AnyBuffer:$buffer, Variadic<Npu_CpIndex>:$indices);
  let results = (outs Npu_RegType:$result);
  let assemblyFormat = "$buffer `` custom<CpIndices>($indices, type($indices)) attr-dict `:` type($buffer)";
  let hasVerifier = 1;
}

def Npu_MmOp : Npu_Op<"mm", [AttrSizedOperandSegments, DeclareOpInterfaceMethods<Npu_EngineOpInterface>]> {
  let summary = "one tensor-engine matrix product on scratchpad tiles, f32 accumulation";
  let description = [{
    ```
    npu.mm %acc[%j, %c0] = %a[%b, %c0] x %b[%b, %c0] [128, 128, %kt] accumulate(%more)
        on %ne wait(%load >= %next) signal(%mm)
    ```
    `acc` (f32, m x n) = a (m x k, or k x m with `transpose_a`) times b
    (k x n, or n x k with `transpose_b`), added to what `acc` holds when
    `accumulate` is true. a and b are in the compute type the tensor engine
    reads.
  }];
  let arguments = (ins Npu_AnyBuffer:$acc, Variadic<Index>:$acc_indices,
                   Npu_AnyBuffer:$a, Variadic<Index>:$a_indices,
                   Npu_AnyBuffer:$b, Variadic<Index>:$b_indices,
                   Variadic<Index>:$shape, DenseI64ArrayAttr:$static_shape, I1:$accumulate,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_a,
                   DefaultValuedAttr<BoolAttr, "false">:$transpose_b, Index:$ne,
                   Variadic<Npu_SemaphoreType>:$wait_sems, Variadic<Index>:$wait_counts,
                   Optional<Npu_SemaphoreType>:$signal);
  let assemblyFormat = [{
    $acc `[` $acc_indices `]` `=` $a `[` $a_indices `]` `x` $b `[` $b_indices `]`
    custom<DynamicIndexList>($shape, $static_shape) `accumulate` `(` $accumulate `)` `on` $ne
    (`wait` `(` custom<Waits>($wait_sems, $wait_counts)^ `)`)? (`signal` `(` $signal^ `)`)?
    attr-dict `:` type($acc) `,` type($a) `,` type($b)
  }];
  let hasVerifier = 1;
}

def Npu_VecOp : Npu_Op<"vec", [AttrSizedOperandSegments, DeclareOpInterfaceMethods<Npu_EngineOpInterface>]> {
  let summary = "one vector-engine instruction on scratchpad tiles";
  let description = [{
    ```
    npu.vec <v.sub> %x[%b, 0, 0] = %x[%b, 0, 0], %max[%b, 0] [%rows, 1024] bcast col on %ne
    ```
    A `rows` x `cols` tile at the destination indices from one or two
    sources (`bcast`: the second source is one row, one column or the
    immediate `scalar`). Reductions (`vred.*`) write one value per row.
  }];
  let arguments = (ins Npu_VectorOpAttr:$op, Npu_AnyBuffer:$dst, Variadic<Index>:$dst_indices,
                   Npu_AnyBuffer:$src0, Variadic<Index>:$src0_indices,
                   Optional<Npu_AnyBuffer>:$src1, Variadic<Index>:$src1_indices,
                   Variadic<Index>:$shape, DenseI64ArrayAttr:$static_shape,
                   DefaultValuedAttr<Npu_Broadcast, "::rbln::npu::Broadcast::None">:$bcast,
                   DefaultValuedAttr<F32Attr, "0.0f">:$scalar, Index:$ne,
                   Variadic<Npu_SemaphoreType>:$wait_sems, Variadic<Index>:$wait_counts,
                   Optional<Npu_SemaphoreType>:$signal);
  let assemblyFormat = [{
    $op $dst `[` $dst_indices `]` `=` $src0 `[` $src0_indices `]`
    (`,` $src1^ `[` $src1_indices `]`)?
    custom<DynamicIndexList>($shape, $static_shape)
    (`bcast` $bcast^)? (`scalar` $scalar^)? `on` $ne
    (`wait` `(` custom<Waits>($wait_sems, $wait_counts)^ `)`)? (`signal` `(` $signal^ `)`)?
    attr-dict `:` type($dst) `,` type($src0) (`,` type($src1)^)?
  }];
  let hasVerifier = 1;
}

def Npu_SoftmaxStepOp : Npu_Op<"softmax_step", [AttrSizedOperandSegments,
    DeclareOpInterfaceMethods<Npu_EngineOpInterface>]> {
  let summary = "one online-softmax step on a score tile, causal and window masks inside";
  let description = [{
    ```
    npu.softmax_step %s[%b, %c0] stats %stats[%b, %c0] [%rq, %rk] scale 1.250000e-01
        causal(%diag) window(%lo) on %ne wait(%mm1 >= %t1)
    ```
    Turns a `rows` x `cols` f32 score tile into probabilities in place and
    updates the running statistics (rows m, l and alpha = exp(m_old - m_new)
    at `stats`, `rows` apart; v.softmax_step's layout). With `causal(%d)`
    scores with column > row + d are -inf first, with `window(%w)` those with
    column < row + w (each as one v.mask_upper, issued only when it masks a
    score of the tile). `shift(%r)` adds a run-time value to both diagonals
    (a paged sequence's position: the masks are then always issued);
    `shared_position`: every row is at the same position (decode rows are
    the heads of one token), so the diagonals do not move down the rows.
    Waits go with the first instruction, the signal with the last.
  }];
  let arguments = (ins Npu_AnyBuffer:$scores, Variadic<Index>:$score_indices,
                   Npu_AnyBuffer:$stats, Variadic<Index>:$stats_indices,
                   Variadic<Index>:$shape, DenseI64ArrayAttr:$static_shape, F32Attr:$scale,
                   Optional<Index>:$causal, Optional<Index>:$window,
                   Optional<Npu_RegType>:$shift, UnitAttr:$shared_position, Index:$ne,
                   Variadic<Npu_SemaphoreType>:$wait_sems, Variadic<Index>:$wait_counts,
                   Optional<Npu_SemaphoreType>:$signal);
  let assemblyFormat = [{
    $scores `[` $score_indices `]` `stats` $stats `[` $stats_indices `]`
    custom<DynamicIndexList>($shape, $static_shape) `scale` $scale
    (`causal` `(` $causal^ `)`)? (`window` `(` $window^ `)`)? (`shift` `(` $shift^ `)`)?
    (`shared_position` $shared_position^)? `on` $ne
    (`wait` `(` custom<Waits>($wait_sems, $wait_counts)^ `)`)? (`signal` `(` $signal^ `)`)?
    attr-dict `:` type($scores) `,` type($stats)
  }];
  let hasVerifier = 1;
}

// --- issue order: steps, deferred work, semaphore counts ----------------------

def Npu_EndStepOp : Npu_Op<"end_step"> {
  let summary = "ends the NE's current step: steps are issued round-robin over the NEs";
  let description = [{
    In a distribute body holding `npu.end_step`, each NE's commands are cut
    into steps here, and step s of every NE is issued before step s + 1 of
    any (items of varying step counts, e.g. one step per KV tile). The items
    are expanded in item order; an empty step is no step, unless `keep_empty`
    (the NE then sits that round out, and its later steps stay aligned with
    the other NEs').

    A command-processor value that lives across an `npu.end_step` (e.g. an
    item's position, read once) gets a register of its own on every NE for
    the whole distribute: the other NEs' steps that come between do not use
    it.
  }];
  let arguments = (ins UnitAttr:$keep_empty);
  let assemblyFormat = "(`keep_empty` $keep_empty^)? attr-dict";
  let hasVerifier = 1;
}

def Npu_DeferredOp : Npu_Op<"deferred", [SingleBlock, NoTerminator]> {
  let summary = "commands issued at the NE's next npu.issue_deferred (software pipelining)";
  let description = [{
    `npu.deferred { ... }`: built here (their semaphore counts are those of
    this point), issued where the NE's next item reaches `npu.issue_deferred`
    — e.g. one item's last softmax and its store behind the next item's
    first QK^T, so the tensor engine need not wait for them — or as the
    NE's last step when no item follows. The body reads and defines no
    `!npu.reg` (registers are allocated in build order, so one read at issue
    time could belong to another value by then).
  }];
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "attr-dict-with-keyword $body";
  let hasVerifier = 1;
}

def Npu_IssueDeferredOp : Npu_Op<"issue_deferred"> {
  let summary = "issues the NE's pending npu.deferred commands here";
  let assemblyFormat = "attr-dict";
  let hasVerifier = 1;
}

def Npu_SemOnOp : Npu_Op<"sem_on", [Pure]> {
  let summary = "another NE's instance of a semaphore, to wait on";
  let description = [{
    `%s = npu.sem_on %store[%n]`: NE %n's instance of `%store` (e.g. a
    flash-decoding combine waiting for every split's partial result). Only
    waits and `npu.sem_count` take it: a command signals its own NE's
    semaphores.
  }];
  let arguments = (ins Npu_SemaphoreType:$sem, Index:$ne_index);
  let results = (outs Npu_SemaphoreType:$result);
  let assemblyFormat = "$sem `[` $ne_index `]` attr-dict";
  let hasVerifier = 1;
}

def Npu_SemCountOp : Npu_Op<"sem_count", [DeclareOpInterfaceMethods<OpAsmOpInterface, ["getAsmResultNames"]>]> {
  let summary = "how many signals of a semaphore this NE has been given so far";
  let description = [{
    `%n = npu.sem_count %mm2`: the signals of `%mm2` the NE's commands built
    before this point carry (in build order), e.g. `wait(%mm2 >= %n)` waits
    for every matrix product issued so far.
  }];
  let arguments = (ins Npu_SemaphoreType:$sem);
  let results = (outs Index:$count);
  let assemblyFormat = "$sem attr-dict";
  let hasVerifier = 1;
}

#endif // RBLN_NPU_TILE_OPS

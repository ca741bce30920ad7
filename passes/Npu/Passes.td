#ifndef RBLN_NPU_PASSES
#define RBLN_NPU_PASSES
include "mlir/Pass/PassBase.td"

def NpuTilePartition : Pass<"npu-tile-partition", "mlir::ModuleOp"> {
  let summary = "Choose every kernel's tile sizes from the target description";
  let description = [{
    For each kernel, enumerates tile shapes that fit the NE scratchpad with
    double-buffered operands (and, for matmul, double-buffered f32
    accumulators and bias), estimates each one's time from the target's
    tensor, vector and DRAM rates and the number of NEs it keeps busy, and
    records the best as the kernel's `tile` attribute. A kernel for which no
    tile fits is an error naming its ONNX node.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"\"",
           "target name or file (default: the module's rbln.target, else atom)">,
    Option<"kvPartitionLen", "kv-partition-len", "int64_t", "0",
           "KV tile length of attention kernels (0: chosen from the target)">
  ];
}

def NpuFoldTransposes : Pass<"npu-fold-transposes", "mlir::func::FuncOp"> {
  let summary = "Fold head split/merge transposes into the DMA strides of attention kernels";
  let description = [{
    A permuting copy kernel (`npu.elementwise <copy>` with `perm`, no cast)
    whose result only attention kernels read as q, k or v becomes a strided
    view of its source: the kernel reads each row through the permuted
    strides. A copy that permutes an attention kernel's result (its only
    other use) becomes the kernel writing rows straight into the copy's
    destination through a strided view. The [B, S, H, D] <-> [B, H, S, D]
    transposes around every attention of an exported transformer then cost
    no kernel and no memory traffic of their own.
  }];
}

def NpuPlanMemory : Pass<"npu-plan-memory", "mlir::ModuleOp"> {
  let summary = "Place buffers: weight pool offsets, intermediates in SHM or a DRAM arena, with liveness";
  let description = [{
    Gives every `npu.constant` a 64-byte aligned offset in the weight pool, in
    program order, and every `npu.alloc` a memory space and an offset there.
    Intermediates go to the target's shared memory (SHM) when they fit beside
    the buffers live at the same time, so kernels exchange activations on
    chip and DRAM carries weights and I/O; the rest go to the DRAM scratch
    arena. In both, buffers whose live ranges (first to last kernel that
    touches them, views included) do not overlap share memory (first-fit).
    The alloc's type (and its views') carry the space chosen. Decode steps
    (paged attention over one token per sequence, whose flash-decoding
    partials use SHM) keep their intermediates in DRAM. Records the arenas as
    `rbln.scratch_bytes` and `rbln.shm_scratch_bytes` on the function and the
    pool size as `rbln.weights_bytes` on the module. Runs before
    npu-tile-partition, whose cost model reads the spaces.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"\"",
           "target name or file (default: the module's rbln.target, else atom)">,
    Option<"useShm", "use-shm", "bool", "true",
           "place intermediates in shared memory when they fit">
  ];
}
def NpuMaterializeTiles : Pass<"npu-materialize-tiles", "mlir::ModuleOp"> {
  let summary = "Rewrite each tiled kernel into a tile program: buffers, work items, DMA, compute, semaphores";
  let description = [{
    Follows each kernel's `#npu.tiling` (npu-tile-partition's decision) and
    writes what its NEs do as an `npu.tile_program`: scratchpad buffers
    (`npu.alloc` in #npu.space<spm>, double-buffered ones with a leading
    dimension of 2, each copy 64-byte aligned; npu-allocate-scratchpad gives
    them offsets), an `npu.distribute` loop over its work items,
    `npu.dma` between DRAM/SHM and the scratchpad, `npu.mm` and `npu.vec` on
    scratchpad tiles, and the per-NE semaphores each engine op waits on and
    signals. convert-npu-to-npuisa then expands the program mechanically.
    Kernels materialized so far: matmul, elementwise, softmax, the row
    kernels (reductions, LayerNorm, RMSNorm), gather and the KV cache write
    (dynamic DMA: the command processor's index and block-table loads, bounds
    traps and addresses as `npu.cp.*` ops on `!npu.reg` values),
    FlashAttention (`npu.softmax_step` with its masks; steps of varying
    count per item issued round-robin with `npu.end_step`, an item's tail
    `npu.deferred` behind the next item's first step, waits counted with
    `npu.sem_count`) and PagedAttention (an item's position read once into
    a per-NE register, a step per KV partition reading block ids from the
    table, skipped at run time past the position with `npu.cp.if_less`, the
    masks shifted by the position; flash-decoding partials in SHM and a
    combine waiting on other NEs' semaphores with `npu.sem_on`): every
    kernel. Index arithmetic written twice is CSE'd per program.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::scf::SCFDialect"];
}
def NpuMultiBuffer : Pass<"npu-multi-buffer", "mlir::ModuleOp"> {
  let summary = "Pipelining: per-item scratchpad buffers several engines touch get a copy per item in flight";
  let description = [{
    A kernel written one work item at a time marks the scratchpad buffers
    each item fills afresh `item_local`. One that more than one engine
    touches (a DMA fills it, the vector engine works on it, a DMA stores it)
    becomes `buffers` copies, each 64-byte aligned, and every access gains
    the leading index `%iter mod buffers`: the NE's items use the copies in
    turn, so the next item's loads overlap this item's work (npu-insert-sync
    then orders each access after the item that last used its copy). A
    buffer one engine alone touches keeps one copy. The kernels' layouts
    reserve two copies; more must be reserved by the tiling
    (npu-allocate-scratchpad refuses a program that outgrows it). A buffer
    marked `step_local` (filled afresh by each step of an item cut into
    steps: a matmul's operand tiles) gets its copies by `%step mod buffers`.
  }];
  let options = [
    Option<"buffers", "buffers", "int64_t", "2", "copies of a buffer several engines touch">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def NpuInsertSync : Pass<"npu-insert-sync", "mlir::ModuleOp"> {
  let summary = "Order a tile program's engines: waits and signals from what each command reads and writes";
  let description = [{
    For a tile program written without any wait or signal, each distribute's
    commands are ordered from their scratchpad accesses. With steps (a
    matmul's k-steps) a command runs on every step or, in an `scf.if` on
    `%k == 0` or `%k == steps - 1`, on the item's first or last step. A
    buffer indexed `[%iter mod n, ...]` is n copies used by the NE's items
    in turn, `[%step mod n, ...]` n copies used by its steps in turn; any
    other is one slot. Consecutive commands on one engine (the DMA load
    queue, the store queue, the vector engine, the tensor engine) on the
    same steps form a run, which waits at its first command and signals at
    its last. A run waits for the latest run of each other engine that
    touched a slot it touches (one of them writing), unless that already
    follows from its other waits and its engine's order (a transitive
    reduction of the graph of runs over unrolled items). A waited run
    signals a semaphore of its own (`load`, `vec`, `store`, `mm`) each time
    it runs, so the run δ items back is `wait(%sem >= %iter + 1 - δ)` (δ
    steps back, for a run of every step: `%step + 1 - δ`). A run touching what an earlier distribute
    of the program touched (a table loaded once per NE) waits on the NE's
    first item for all of that distribute's items on the NE. Programs that
    carry waits or signals are left as written. A loop of one engine's
    commands (run at least once per item) is part of that engine's run: its
    first iteration waits, its last signals. A run needing more than two
    waits, or a count that differs between the steps it runs on, or a
    distribute with other loops or branches, is an error naming it.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def NpuAllocateScratchpad : Pass<"npu-allocate-scratchpad", "mlir::ModuleOp"> {
  let summary = "Place each tile program's scratchpad and shared-memory buffers";
  let description = [{
    Every `npu.alloc` of a tile program without an `offset` gets one: its
    byte offset in the NE's scratchpad (`#npu.space<spm>`, the same on every
    NE) or, for a kernel's own shared-memory area (`#npu.space<shm>`), in
    SHM after the function's intermediates (`rbln.shm_scratch_bytes`, set by
    npu-plan-memory). Buffers are placed in program order at 64 bytes, after
    those that already have an offset; each takes the bytes its type spans
    (a multi-buffer's slices as far apart as its strides say). Nothing is
    shared: a program's distributes overlap in time across engines and NEs.
    The scratchpad used must fit the bytes the tiling reserved (the
    program's `spm`, chosen by npu-tile-partition), else an error lists the
    buffers; SHM must fit the target.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"\"",
           "Target description (default: the module's rbln.target, else atom)">,
  ];
}

def NpuDynamicDma : Pass<"npu-dynamic-dma", "mlir::ModuleOp"> {
  let summary = "Turn DMAs at run-time indices into CP-formed addresses and register-addressed DMA";
  let description = [{
    A tile program's `npu.dma` may index its DRAM/SHM side with run-time
    values (`%kc[%blk : !npu.reg, %h, %slot, %c0]`: a block id read from the
    block table, an embedding row read from the indices). The engine takes
    a base register and static offsets, so before each such DMA this pass
    forms the element's address on the command processor (`npu.cp.address`
    over the register indices: base + index x stride in bytes) and makes the
    DMA read or write `at` that register, its indices counting from there
    (the register indices replaced by 0). The loads of the indices and their
    bounds traps are the kernel's (`npu.cp.load_index`, `npu.cp.check_range`).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def NpuAllocateRegisters : Pass<"npu-allocate-registers", "mlir::ModuleOp"> {
  let summary = "Give each run-time value of a tile program its command-processor register";
  let description = [{
    The command processor has 32 registers: r0 reads zero, r1..r3 hold the
    argument block, weight pool and scratch arena, and each tile program's
    DRAM arguments take the next ones (their addresses, formed in operand
    order when the program starts). Every op defining a `!npu.reg` gets the
    discardable attribute `npu.regs = #npu.regs<...>`: the lowest free
    register, in program order, freed after the value's last use in its
    block (an op reading one register may reuse it for its result; one
    reading several, or a loop, frees them once it is done; a branch —
    `scf.if`, `npu.cp.if_less` — after their last use inside it). A value
    that lives across an `npu.end_step` gets one register per NE for the
    whole distribute (the other NEs' steps run in between); an op whose
    expansion needs an intermediate register (a negative index wrapped, an
    address from several register indices) gets it as `scratch`. A program
    that needs more registers than there are is an error naming the op.
    convert-npu-to-npuisa uses the registers as given.
  }];
}

#endif

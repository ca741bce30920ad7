//===- CommandProcessor.cpp - The CP: scalar code and dispatch -----------===//
//
// The command processor runs the scalar instructions (ALU, loads and stores
// to DRAM/SHM, branches, traps, waits, barriers) and dispatches engine
// commands to their queues, reading DMA addresses from its registers at
// dispatch. It runs until it halts or must wait (a full queue, a semaphore,
// a barrier); the event loop (Simulator.cpp) calls it again after each event.
//
//===----------------------------------------------------------------------===//
#include "SimulatorImpl.h"

#include <cstring>

namespace rbln::sim {
using namespace isa;

std::string Simulator::Impl::where(uint32_t at) const {
  std::string loc = locate && *locate ? (*locate)(at) : std::string();
  return fmt::format("trap in function '{}' at instruction {} `{}`{}", fn->name(), at,
                     at < code->size() ? disassemble((*code)[at]) : "?",
                     loc.empty() ? "" : fmt::format(" (ONNX node '{}')", loc));
}

Status Simulator::Impl::runCp() {
  const std::vector<Inst> &code = *this->code;
  if (cpBlocked) {
    cpTime = std::max(cpTime, now);
    cpBlocked = false;
  }
  while (!halted) {
    if (pc >= code.size())
      return makeError("{}: the program ran past its last instruction without `halt`",
                       where(pc ? pc - 1 : 0));
    if (++steps > opts.maxCpSteps)
      return makeError("{}: the command processor executed {} instructions (runaway loop?)",
                       where(pc), opts.maxCpSteps);
    const Inst &in = code[pc];
    if (in.unitKind() != Unit::Cp) {
      Queue &q = queues[queueOf(in)];
      if (q.pending.size() + (q.busy ? 1 : 0) >= t.cp().queue_depth()) {
        cpBlocked = true;
        --steps;
        return Status::success();
      }
      Cmd cmd{pc, cpTime + t.cp().dispatch_cycles()};
      if (in.op == Opcode::DmaTask || in.op == Opcode::DmaNeural) {
        // Addresses are taken from the registers at dispatch: the CP may
        // change them before the command starts.
        using namespace fld;
        cmd.srcAddr = wrapAdd(regs[in[DmaTask::sreg]], in[DmaTask::soff]);
        cmd.dstAddr = wrapAdd(regs[in[DmaTask::dreg]], in[DmaTask::doff]);
      } else if (in.op == Opcode::VMaskUpper) {
        cmd.reg = regs[in[fld::VMaskUpper::rdiag]];
      }
      q.pending.push_back(cmd);
      ++active;
      if (q.pending.size() == 1)
        consider(unsigned(&q - queues.data()));
      cpTime += t.cp().dispatch_cycles();
      if (++stats->commands > opts.maxCommands)
        return makeError("{}: the program dispatched {} engine commands (runaway loop?)", where(pc),
                         opts.maxCommands);
      ++pc;
      continue;
    }
    ++stats->cpInstructions;
    using namespace fld;
    auto &r = regs;
    auto alu = [&](auto f) {
      int64_t v = f(r[in[Add::ra]], wrapAdd(r[in[Add::rb]], in[Add::imm]));
      if (in[Add::rd] != 0)
        r[in[Add::rd]] = v;
    };
    uint32_t next = pc + 1;
    switch (in.op) {
    case Opcode::Li:
      if (in[Li::rd] != 0) r[in[Li::rd]] = in[Li::imm];
      break;
    case Opcode::Add: alu([](int64_t a, int64_t b) { return int64_t(uint64_t(a) + uint64_t(b)); }); break;
    case Opcode::Sub: alu([](int64_t a, int64_t b) { return int64_t(uint64_t(a) - uint64_t(b)); }); break;
    case Opcode::Mul: alu([](int64_t a, int64_t b) { return int64_t(uint64_t(a) * uint64_t(b)); }); break;
    case Opcode::Shl: alu([](int64_t a, int64_t b) { return b < 0 || b > 63 ? 0 : int64_t(uint64_t(a) << b); }); break;
    case Opcode::Shr: alu([](int64_t a, int64_t b) { return b < 0 || b > 63 ? 0 : int64_t(uint64_t(a) >> b); }); break;
    case Opcode::And: alu([](int64_t a, int64_t b) { return a & b; }); break;
    case Opcode::Min: alu([](int64_t a, int64_t b) { return std::min(a, b); }); break;
    case Opcode::Max: alu([](int64_t a, int64_t b) { return std::max(a, b); }); break;
    case Opcode::Div:
      alu([](int64_t a, int64_t b) {
        return b == 0 || (a == std::numeric_limits<int64_t>::min() && b == -1) ? 0 : a / b;
      });
      break;
    case Opcode::Ld32: case Opcode::Ld64: case Opcode::St32: case Opcode::St64: {
      bool load = in.op == Opcode::Ld32 || in.op == Opcode::Ld64;
      unsigned bytes = (in.op == Opcode::Ld32 || in.op == Opcode::St32) ? 4 : 8;
      Space space = Space(in[Ld32::space]);
      if (space == Space::Spm)
        return makeError("{}: the command processor cannot access a scratchpad", where(pc));
      int64_t addr = wrapAdd(r[in[Ld32::ra]], in[Ld32::imm]);
      // The CP sees memory as the engines left it: a load waits for the
      // lane jobs still writing those bytes, a store for every lane job
      // (any of them may read them).
      if (load)
        awaitWrites(space, addr, bytes);
      else
        lanes->waitAll();
      uint8_t *base = access(space, 0, addr, bytes, !load, load ? "CP load" : "CP store");
      if (!base)
        return makeError("{}: {}", where(pc), trap->message);
      if (load) {
        int64_t v = 0;
        if (bytes == 4) {
          int32_t x;
          std::memcpy(&x, base + addr, 4);
          v = x;
        } else {
          std::memcpy(&v, base + addr, 8);
        }
        if (in[Ld32::rd] != 0) r[in[Ld32::rd]] = v;
      } else {
        int64_t v = r[in[St32::rs]];
        std::memcpy(base + addr, &v, bytes);
      }
      if (space == Space::Dram) {
        // A burst on the DRAM channel (charged to the next DMA on it); a
        // load stalls the CP until its data returns, a store is posted.
        dramDebt += double(t.dram_burst_bytes()) / dramBytesPerCycle(t);
        if (load)
          cpTime += nsToCycles(t, t.dram().access_latency_ns());
      }
      break;
    }
    case Opcode::Blt: if (r[in[Blt::ra]] < r[in[Blt::rb]]) next = uint32_t(in[Blt::target]); break;
    case Opcode::Bge: if (r[in[Blt::ra]] >= r[in[Blt::rb]]) next = uint32_t(in[Blt::target]); break;
    case Opcode::Beq: if (r[in[Blt::ra]] == r[in[Blt::rb]]) next = uint32_t(in[Blt::target]); break;
    case Opcode::Bne: if (r[in[Blt::ra]] != r[in[Blt::rb]]) next = uint32_t(in[Blt::target]); break;
    case Opcode::Jmp: next = uint32_t(in[Jmp::target]); break;
    case Opcode::Trap: {
      int64_t code = in[fld::Trap::code];
      const char *msg = trapMessage(code);
      return makeError("{}: {}", where(pc), msg ? std::string(msg) : fmt::format("error code {}", code));
    }
    case Opcode::Wait:
      if (!waitsHold(in)) {
        cpBlocked = true;
        --steps;
        --stats->cpInstructions;
        return Status::success();
      }
      cpTime = std::max(cpTime, visibleAt(in));
      break;
    case Opcode::Barrier: case Opcode::Halt:
      if (active != 0) {
        cpBlocked = true;
        --steps;
        --stats->cpInstructions;
        return Status::success();
      }
      if (in.op == Opcode::Barrier) {
        // Later commands rely on everything before the barrier being done,
        // with or without semaphores: their jobs wait for every lane's
        // jobs up to here (the event loop itself goes on).
        for (unsigned l = 0; l < lanes->size(); ++l)
          barrierJob[l] = lanes->submitted(l);
        cpTime += t.cp().barrier_cycles();
      } else {
        lanes->waitAll();
        halted = true;
        lastEnd = std::max({lastEnd, cpTime, now});
        return Status::success();
      }
      break;
    default:
      break;
    }
    cpTime += t.cp().scalar_op_cycles();
    pc = next;
  }
  return Status::success();
}

} // namespace rbln::sim

//===- PlanMemory.cpp - Weight pool and scratch arena placement -----------===//
#include "passes/Kernels/KernelGeometry.h"
#include "passes/Npu/Passes.h"
#include "rbln/Target/TargetInfo.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "rbln/Support/Elements.h"
#include "llvm/Support/xxhash.h"

#include <map>
#include <tuple>

namespace rbln::npu {
#define GEN_PASS_DEF_NPUPLANMEMORY
#include "passes/Npu/Passes.h.inc"
} // namespace rbln::npu

using namespace mlir;
using namespace rbln;
using namespace rbln::npu;

namespace {

constexpr int64_t kDramAlign = 64;

int64_t bufferBytes(MemRefType t) {
  return int64_t(dtypeBytes(dtypeOf(t.getElementType()), uint64_t(t.getNumElements())));
}

/// Gives `v` (an alloc, then its views) the memory space `space`.
void moveToSpace(Value v, MemorySpaceAttr space) {
  SmallVector<Value> work{v};
  while (!work.empty()) {
    Value x = work.pop_back_val();
    x.setType(MemRefType::Builder(cast<MemRefType>(x.getType())).setMemorySpace(space));
    for (Operation *user : x.getUsers())
      if (auto view = dyn_cast<ViewOp>(user))
        work.push_back(view.getResult());
  }
}

/// First fit: the lowest offset free over [first, last] given the buffers
/// already placed in the same arena.
struct Arena {
  struct Placed {
    int64_t offset, bytes;
    unsigned first, last;
  };
  SmallVector<Placed> placed;
  int64_t size = 0;
  int64_t fit(int64_t bytes, unsigned first, unsigned last) const {
    std::multimap<int64_t, int64_t> busy; // offset -> end, of overlapping ranges
    for (const Placed &p : placed)
      if (!(p.last < first || last < p.first))
        busy.emplace(p.offset, p.offset + p.bytes);
    int64_t at = 0;
    for (auto [off, end] : busy) {
      if (at + bytes <= off)
        break;
      at = std::max(at, end);
    }
    return at;
  }
  void place(int64_t at, int64_t bytes, unsigned first, unsigned last) {
    placed.push_back({at, bytes, first, last});
    size = std::max(size, at + bytes);
  }
};

struct NpuPlanMemoryPass : rbln::npu::impl::NpuPlanMemoryBase<NpuPlanMemoryPass> {
  using Base::Base;
  void runOnOperation() override {
    Builder b(&getContext());
    auto target = lookupTarget(getOperation(), this->target);
    if (failed(target))
      return signalPassFailure();
    auto shmSpace = MemorySpaceAttr::get(&getContext(), MemorySpace::Shm);
    // Weight pool: one for the module, in program order, aligned; a constant
    // with the same type and bytes as one already placed (the same weight in
    // another entry function) shares its offset.
    int64_t pool = 0;
    std::multimap<uint64_t, std::pair<ConstantOp, int64_t>> placedByHash;
    // The same bytes seen before at the same address (entry functions share
    // one mapping or one converted blob): placed without hashing them again.
    std::map<std::tuple<const char *, size_t, const void *>, int64_t> placedByAddress;
    for (auto fn : getOperation().getOps<func::FuncOp>())
      fn.walk([&](ConstantOp c) {
        std::optional<ArrayRef<char>> data = getElementData(c.getValue());
        if (data) {
          auto it = placedByAddress.find({data->data(), data->size(), c.getType().getAsOpaquePointer()});
          if (it != placedByAddress.end()) {
            c.setOffsetAttr(b.getI64IntegerAttr(it->second));
            return;
          }
        }
        std::vector<char> owned;
        if (!data && getElementBytes(c.getValue(), owned))
          data = ArrayRef<char>(owned);
        if (data) {
          uint64_t h = llvm::xxh3_64bits(
              ArrayRef<uint8_t>(reinterpret_cast<const uint8_t *>(data->data()), data->size()));
          auto [lo, hi] = placedByHash.equal_range(h);
          for (auto it = lo; it != hi; ++it) {
            ConstantOp other = it->second.first;
            if (other.getType() != c.getType())
              continue;
            std::optional<ArrayRef<char>> od = getElementData(other.getValue());
            std::vector<char> ob;
            if (!od && getElementBytes(other.getValue(), ob))
              od = ArrayRef<char>(ob);
            if (od && *od == *data) {
              c.setOffsetAttr(b.getI64IntegerAttr(it->second.second));
              if (owned.empty())
                placedByAddress[{data->data(), data->size(), c.getType().getAsOpaquePointer()}] = it->second.second;
              return;
            }
          }
          placedByHash.insert({h, {c, pool}});
          if (owned.empty())
            placedByAddress[{data->data(), data->size(), c.getType().getAsOpaquePointer()}] = pool;
        }
        c.setOffsetAttr(b.getI64IntegerAttr(pool));
        pool = alignTo(pool + bufferBytes(c.getType()), kDramAlign);
      });
    getOperation()->setAttr("rbln.weights_bytes", b.getI64IntegerAttr(pool));
    for (auto fn : getOperation().getOps<func::FuncOp>()) {
      // Live ranges of scratch buffers over the kernel sequence; a view
      // extends the range of the buffer it looks at.
      llvm::DenseMap<Operation *, unsigned> index;
      unsigned i = 0;
      for (Operation &op : fn.getBody().front())
        index[&op] = i++;
      struct Range {
        AllocOp alloc;
        unsigned first, last;
        int64_t bytes;
      };
      SmallVector<Range> ranges;
      for (Operation &op : fn.getBody().front()) {
        auto a = dyn_cast<AllocOp>(op);
        if (!a)
          continue;
        Range r{a, index[&op], index[&op], alignTo(bufferBytes(a.getType()), kDramAlign)};
        SmallVector<Value> work{a.getResult()};
        while (!work.empty()) {
          Value v = work.pop_back_val();
          for (Operation *user : v.getUsers()) {
            r.last = std::max(r.last, index.lookup(user));
            if (auto view = dyn_cast<ViewOp>(user))
              work.push_back(view.getResult());
          }
        }
        ranges.push_back(r);
      }
      // SHM first, else DRAM. A decode step's paged attention may keep its
      // flash-decoding partials in SHM after the intermediates: at most one
      // item's partials per NE, which stay reserved for it (npu-tile-
      // partition splits only within what the intermediates leave).
      int64_t reserve = 0;
      fn.walk([&](PagedAttentionOp pa) {
        PagedGeometry g = PagedGeometry::get(pa);
        if (g.decode())
          reserve = std::max(reserve, int64_t(target->num_ne()) *
                                          PagedLayout::partialBytes(g, g.itemRows(std::min<int64_t>(g.s, 128))));
      });
      int64_t shmCap = int64_t(target->shm_bytes()) - reserve;
      bool shmFree = useShm && shmCap > 0;
      Arena dram, shm;
      for (Range &r : ranges) {
        if (shmFree) {
          int64_t at = shm.fit(r.bytes, r.first, r.last);
          if (at + r.bytes <= shmCap) {
            shm.place(at, r.bytes, r.first, r.last);
            r.alloc.setOffsetAttr(b.getI64IntegerAttr(at));
            moveToSpace(r.alloc.getResult(), shmSpace);
            continue;
          }
        }
        int64_t at = dram.fit(r.bytes, r.first, r.last);
        dram.place(at, r.bytes, r.first, r.last);
        r.alloc.setOffsetAttr(b.getI64IntegerAttr(at));
      }
      int64_t arena = dram.size;
      fn->setAttr("rbln.shm_scratch_bytes", b.getI64IntegerAttr(shm.size));
      fn->setAttr("rbln.scratch_bytes", b.getI64IntegerAttr(arena));
    }
  }
};

} // namespace

//===- Runtime.cpp - Sessions over a device -------------------------------===//
#include "rbln/runtime/Runtime.h"

#include "rbln/runtime/Checked.h"

#include "rbln/runtime/Target.h"

#include <cstdlib>
#include <cstring>
#ifdef __linux__
#include <sys/mman.h>
#endif

namespace rbln {

#ifdef __linux__
DramImage::~DramImage() {
  if (p_)
    munmap(p_, mapped_);
}

Status DramImage::resize(uint64_t n) {
  if (n <= size_)
    return Status::success();
  if (n > mapped_) {
    // Anonymous pages: zero, and free until touched. mremap moves the page
    // tables, not the bytes, when the range has to move.
    const uint64_t page = 1 << 21;
    uint64_t want = std::max<uint64_t>((n + page - 1) / page * page, mapped_ * 2);
    void *q = p_ ? mremap(p_, mapped_, want, MREMAP_MAYMOVE)
                 : mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED)
      return makeError("cannot allocate {} bytes of simulated device DRAM", n);
    p_ = static_cast<uint8_t *>(q);
    mapped_ = want;
  }
  size_ = n;
  return Status::success();
}
#else
DramImage::~DramImage() { std::free(p_); }

Status DramImage::resize(uint64_t n) {
  if (n <= size_)
    return Status::success();
  if (n > mapped_) {
    uint64_t want = std::max<uint64_t>(n, mapped_ * 2);
    auto *q = static_cast<uint8_t *>(std::realloc(p_, want));
    if (!q)
      return makeError("cannot allocate {} bytes of simulated device DRAM", n);
    std::memset(q + mapped_, 0, want - mapped_);
    p_ = q;
    mapped_ = want;
  }
  size_ = n;
  return Status::success();
}
#endif

namespace {
uint64_t alignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
uint64_t tensorBytes(const proto::TensorSig &s) {
  uint64_t n = dtypeSize(DType(s.dtype()));
  for (int64_t d : s.shape())
    n *= uint64_t(d);
  return n;
}
std::string sigString(const proto::TensorSig &s) {
  std::string out;
  for (int64_t d : s.shape())
    out += fmt::format("{}x", d);
  return out + dtypeName(DType(s.dtype()));
}
} // namespace

Session::~Session() = default;

Expected<std::unique_ptr<Session>> Session::create(std::shared_ptr<Artifact> artifact,
                                                   const SessionOptions &opts) {
  std::unique_ptr<Session> s(new Session());
  s->artifact_ = artifact;
  s->fn_ = artifact->findFunction(opts.function);
  if (s->fn_ < 0) {
    std::string names;
    for (const auto &f : artifact->metadata().functions())
      names += (names.empty() ? "" : ", ") + f.name();
    return makeError("the artifact has no function '{}' (it has: {})", opts.function, names);
  }
  s->target_ = opts.target ? *opts.target : artifact->metadata().target();
  const proto::Function &fn = s->function();
  if (opts.target)
    RBLN_RETURN_IF_ERROR(validateFunctionCode(fn, artifact->code(unsigned(s->fn_)), s->target_));
  // Intermediates the compiler placed in shared memory must fit the target
  // simulated (another one than compiled for may have less).
  if (fn.shm_bytes_used() > s->target_.shm_bytes())
    return makeError("function '{}' keeps {} bytes of intermediates in shared memory; target '{}' "
                     "has {} (recompile for it)",
                     fn.name(), fn.shm_bytes_used(), s->target_.name(), s->target_.shm_bytes());

  // Device DRAM: the weights (and state) once per DeviceMemory; then this
  // session's argument block (an address per argument, then the leading
  // dim of each state argument), scratch arena, inputs and outputs.
  const proto::TargetDesc &t = s->target_;
  s->mem_ = opts.memory;
  if (!s->mem_) {
    auto m = DeviceMemory::withWeights(*artifact, t.dram_bytes());
    if (!m.ok())
      return makeError("function '{}': {}", fn.name(), m.error());
    s->mem_ = std::move(*m);
  }
  DeviceMemory &mem = *s->mem_;
  uint64_t slots = uint64_t(fn.inputs_size() + fn.outputs_size());
  // Each size is at most 2^43 bytes (validated); their sum is checked.
  Checked<uint64_t> total = alignUp(16 * slots, 64);
  total += alignUp(fn.scratch_bytes(), 64);
  for (const auto &in : fn.inputs())
    total += in.state() ? 0 : alignUp(tensorBytes(in), 64);
  for (const auto &out : fn.outputs())
    total += alignUp(tensorBytes(out), 64);
  if (!total.within(t.dram_bytes()))
    return makeError("function '{}': its inputs, outputs and scratch arena need more than the "
                     "target's {} bytes of DRAM", fn.name(), t.dram_bytes());
  uint64_t argBytes = alignUp(16 * slots, 64);
  auto region = mem.grow(total.value(), t.dram_bytes());
  if (!region.ok())
    return makeError("function '{}': {}", fn.name(), region.error());
  uint64_t off = *region;
  s->argBlock_ = off;
  s->scratch_ = off + argBytes;
  off = s->scratch_ + alignUp(fn.scratch_bytes(), 64);
  std::vector<int64_t> leading(slots, 0);
  for (int i = 0; i < fn.inputs_size(); ++i) {
    const proto::TensorSig &in = fn.inputs(i);
    if (in.state()) {
      auto st = mem.state.find(in.name());
      if (st == mem.state.end())
        return makeError("function '{}' reads state '{}' that is not allocated (generation "
                         "artifacts run through the LLM engine: rbln-run --generate)",
                         fn.name(), in.name());
      s->inputAddr_.push_back(st->second.addr);
      leading[size_t(i)] = st->second.leadingDim;
      continue;
    }
    s->inputAddr_.push_back(off);
    off += alignUp(tensorBytes(in), 64);
  }
  for (const auto &out : fn.outputs()) {
    s->outputAddr_.push_back(off);
    off += alignUp(tensorBytes(out), 64);
  }
  uint64_t slot = 0;
  uint8_t *arg = mem.bytes.data() + s->argBlock_;
  for (uint64_t a : s->inputAddr_)
    std::memcpy(arg + 8 * slot++, &a, 8);
  for (uint64_t a : s->outputAddr_)
    std::memcpy(arg + 8 * slot++, &a, 8);
  for (uint64_t i = 0; i < slots; ++i)
    std::memcpy(arg + 8 * (slots + i), &leading[i], 8);
  s->inputSet_.assign(size_t(fn.inputs_size()), false);
  for (int i = 0; i < fn.inputs_size(); ++i)
    s->inputSet_[size_t(i)] = fn.inputs(i).state();
  DeviceOptions so;
  so.compute = opts.compute;
  so.tracePath = opts.tracePath;
  so.threads = opts.simThreads;
  so.maxWallSeconds = opts.timeoutSeconds;
  if (opts.maxCpSteps)
    so.maxCpSteps = opts.maxCpSteps;
  if (opts.maxCommands)
    so.maxCommands = opts.maxCommands;
  if (opts.maxCycles > 0)
    so.maxCycles = opts.maxCycles;
  // Worker lanes pay only when the NEs' jobs are big: for a small model the
  // hand-offs cost more than the tile math (a 64-token prefill chunk of the
  // 2-layer, hidden-64 Llama fixture: 9.8 ms with two lanes, 3.3 ms inline;
  // its decode steps: equal). Results and timing do not depend on it.
  if (opts.simThreads < 0 && artifact->metadata().weights_bytes() < kSmallModelWeightBytes)
    so.threads = 1;
  s->device_ = createSimulator(s->target_, so);
  for (const auto &out : fn.outputs()) {
    HostTensor t;
    t.dtype = DType(out.dtype());
    t.shape.assign(out.shape().begin(), out.shape().end());
    s->outputs_.push_back(std::move(t));
  }
  return s;
}

const proto::Function &Session::function() const {
  return artifact_->metadata().functions(fn_);
}
const proto::TargetDesc &Session::target() const { return target_; }
const Stats &Session::stats() const { return stats_; }

Expected<std::shared_ptr<DeviceMemory>> DeviceMemory::withWeights(const Artifact &artifact,
                                                                  uint64_t limit) {
  auto mem = std::make_shared<DeviceMemory>();
  auto w = mem->grow(artifact.weightsSize(), limit);
  if (!w.ok())
    return makeError("the weights: {}", w.error());
  mem->weights = *w;
  if (artifact.weightsSize())
    std::memcpy(mem->bytes.data() + *w, artifact.weights(), artifact.weightsSize());
  return mem;
}

Expected<uint64_t> DeviceMemory::grow(uint64_t size, uint64_t limit) {
  uint64_t at = alignUp(bytes.size(), 64), end = at + alignUp(size, 64);
  if (end > limit)
    return makeError("needs {} bytes of device DRAM in all, the target has {}", end, limit);
  if (Status st = bytes.resize(end); !st.ok())
    return makeError("{}", st.message());
  return at;
}

int Session::inputIndex(const std::string &name) const {
  for (int i = 0; i < function().inputs_size(); ++i)
    if (function().inputs(i).name() == name)
      return i;
  return -1;
}
int Session::outputIndex(const std::string &name) const {
  for (int i = 0; i < function().outputs_size(); ++i)
    if (function().outputs(i).name() == name)
      return i;
  return -1;
}

Status Session::setInput(unsigned index, const HostTensor &t) {
  const proto::Function &fn = function();
  if (index >= unsigned(fn.inputs_size()))
    return makeError("function '{}' has {} inputs, not {}", fn.name(), fn.inputs_size(), index + 1);
  const proto::TensorSig &sig = fn.inputs(int(index));
  if (sig.state())
    return makeError("input '{}' is device state (a KV cache); it is not set by the caller",
                     sig.name());
  bool same = (DType(sig.dtype()) == t.dtype ||
               (t.raw && dtypeSize(DType(sig.dtype())) == dtypeSize(t.dtype))) &&
              int(t.shape.size()) == sig.shape_size();
  for (int i = 0; same && i < sig.shape_size(); ++i)
    same = sig.shape(i) == t.shape[size_t(i)];
  if (!same)
    return makeError("input '{}' expects {}, got {}", sig.name(), sigString(sig), t.typeString());
  if (!t.data.empty()) // (an empty tensor's data may be null)
    std::memcpy(mem_->bytes.data() + inputAddr_[index], t.data.data(), t.data.size());
  inputSet_[index] = true;
  return Status::success();
}

Status Session::run() {
  const proto::Function &fn = function();
  for (size_t i = 0; i < inputSet_.size(); ++i)
    if (!inputSet_[i])
      return makeError("input '{}' was not set", fn.inputs(int(i)).name());
  LaunchArgs args{int64_t(argBlock_), int64_t(mem_->weights), int64_t(scratch_),
                       artifact_->weightsSize()};
  unsigned fi = unsigned(fn_);
  auto locate = [&](unsigned inst) { return artifact_->location(fi, inst); };
  RBLN_RETURN_IF_ERROR(
      device_->run(fn, artifact_->code(fi), mem_->bytes.data(), mem_->bytes.size(), args,
                       stats_, locate));
  uint64_t in = 0, out = 0;
  for (const auto &sig : fn.inputs())
    in += sig.state() ? 0 : tensorBytes(sig);
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const uint8_t *p = mem_->bytes.data() + outputAddr_[i];
    outputs_[i].data.assign(p, p + tensorBytes(fn.outputs(int(i))));
    out += tensorBytes(fn.outputs(int(i)));
  }
  Stats &st = stats_;
  st.hostBytesIn = in, st.hostBytesOut = out;
  st.hostLinkSeconds = hostLinkSeconds(target_, in + out);
  return Status::success();
}

} // namespace rbln

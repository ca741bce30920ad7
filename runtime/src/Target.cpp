//===- Target.cpp - Built-in and file target descriptions -----------------===//
#include "rbln/runtime/Target.h"

#include "rbln/runtime/DType.h"
#include "rbln/runtime/File.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/json_util.h>

#include <cmath>
#include <sstream>

namespace rbln {

// Generated from runtime/targets/*.textproto at build time.
struct EmbeddedTarget {
  const char *name;
  const char *text;
};
extern const EmbeddedTarget kEmbeddedTargets[];
extern const unsigned kNumEmbeddedTargets;

std::vector<std::string> builtinTargetNames() {
  std::vector<std::string> names;
  for (unsigned i = 0; i < kNumEmbeddedTargets; ++i)
    names.push_back(kEmbeddedTargets[i].name);
  return names;
}

namespace {
class ErrorCollector : public google::protobuf::io::ErrorCollector {
public:
  void AddError(int line, int column, const std::string &message) override {
    if (first.empty())
      first = fmt::format("line {}:{}: {}", line + 1, column + 1, message);
  }
  std::string first;
};
} // namespace

Expected<TargetDesc> parseTarget(std::string_view text, std::string_view what) {
  TargetDesc t;
  google::protobuf::TextFormat::Parser parser;
  ErrorCollector errors;
  parser.RecordErrorsTo(&errors);
  if (!parser.ParseFromString(std::string(text), &t))
    return makeError("target '{}': {}", what, errors.first);
  RBLN_RETURN_IF_ERROR(validateTarget(t));
  return t;
}

Expected<TargetDesc> loadTarget(std::string_view nameOrPath) {
  for (unsigned i = 0; i < kNumEmbeddedTargets; ++i)
    if (nameOrPath == kEmbeddedTargets[i].name)
      return parseTarget(kEmbeddedTargets[i].text, nameOrPath);
  std::string path(nameOrPath);
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    std::string known;
    for (const std::string &n : builtinTargetNames())
      known += (known.empty() ? "" : ", ") + n;
    return makeError("unknown target '{}': not a built-in target ({}) nor a readable file",
                     nameOrPath, known);
  }
  auto text = readRegularFile(path, kMaxTargetFileBytes);
  if (!text.ok())
    return makeError("target '{}': {}", path, text.error());
  std::stringstream ss;
  ss << *text;
  if (path.size() > 5 && path.substr(path.size() - 5) == ".json") {
    TargetDesc t;
    auto st = google::protobuf::util::JsonStringToMessage(ss.str(), &t);
    if (!st.ok())
      return makeError("target '{}': {}", path, st.ToString());
    RBLN_RETURN_IF_ERROR(validateTarget(t));
    return t;
  }
  return parseTarget(ss.str(), path);
}

Status validateTarget(const TargetDesc &t) {
  auto bad = [&](const char *field) {
    return makeError("target '{}': '{}' must be positive", t.name(), field);
  };
  auto positive = [](double x) { return x > 0 && std::isfinite(x); };
  auto atMost = [&](const char *field, uint64_t v, uint64_t limit) {
    return makeError("target '{}': '{}' is {}; at most {} is supported", t.name(), field, v, limit);
  };
  if (t.name().empty()) return makeError("target has no name");
  if (!positive(t.clock_ghz())) return bad("clock_ghz");
  if (t.num_ne() == 0 || t.num_ne() > 64)
    return makeError("target '{}': num_ne must be in 1..64", t.name());
  if (t.spm_bytes() == 0) return bad("spm_bytes");
  if (t.spm_bytes() >= (uint64_t(1) << 24))
    return makeError("target '{}': spm_bytes must be below 16 MiB (24-bit SPM offsets)", t.name());
  if (t.shm_bytes() > kMaxTargetShmBytes) return atMost("shm_bytes", t.shm_bytes(), kMaxTargetShmBytes);
  if (t.dram_bytes() == 0) return bad("dram_bytes");
  if (t.dram_bytes() > kMaxTargetDramBytes) return atMost("dram_bytes", t.dram_bytes(), kMaxTargetDramBytes);
  if (!positive(t.dram_gbps())) return bad("dram_gbps");
  if (!(t.host_link_gbps() >= 0) || !std::isfinite(t.host_link_gbps()))
    return makeError("target '{}': host_link_gbps must be a finite non-negative number (0: not modeled)", t.name());
  if (!(t.shm_gbps() >= 0) || !std::isfinite(t.shm_gbps()))
    return makeError("target '{}': shm_gbps must be a finite non-negative number (0: only the DMA links bound SHM transfers)", t.name());
  if (t.num_task_dma() == 0) return bad("num_task_dma");
  if (t.num_task_dma() > kMaxTargetTaskDma)
    return atMost("num_task_dma", t.num_task_dma(), kMaxTargetTaskDma);
  if (t.neural_dma_queues_per_ne() == 0) return bad("neural_dma_queues_per_ne");
  if (t.num_ne() * t.neural_dma_queues_per_ne() > 255)
    return makeError("target '{}': too many neural DMA queues", t.name());
  if (!positive(t.task_dma_bytes_per_cycle())) return bad("task_dma_bytes_per_cycle");
  if (!positive(t.neural_dma_bytes_per_cycle())) return bad("neural_dma_bytes_per_cycle");
  if (t.dram_burst_bytes() == 0) return bad("dram_burst_bytes");
  const auto &te = t.tensor();
  if (te.array_rows() == 0 || te.array_cols() == 0) return bad("tensor.array_rows/cols");
  auto nonNegative = [](double x) { return x >= 0 && std::isfinite(x); };
  bool perPe = te.fp16_macs_per_pe() != 0 || te.bf16_macs_per_pe() != 0 ||
               te.fp32_macs_per_pe() != 0 || te.int8_macs_per_pe() != 0;
  if (perPe) {
    if (!positive(te.fp16_macs_per_pe()) || !positive(te.bf16_macs_per_pe()) ||
        !positive(te.fp32_macs_per_pe()) || !nonNegative(te.int8_macs_per_pe()) ||
        !nonNegative(te.fp8_macs_per_pe()))
      return bad("tensor.*_macs_per_pe");
    if (!nonNegative(te.clock_ghz()))
      return makeError("target '{}': tensor.clock_ghz must be a finite non-negative number (0: the chip's clock)", t.name());
  } else if (!positive(te.fp32_macs_per_cycle()) || !positive(te.fp16_macs_per_cycle()) ||
             !positive(te.bf16_macs_per_cycle())) {
    return makeError("target '{}': the tensor engine needs its rates: tensor.fp16/bf16/fp32_macs_per_pe "
                     "(or, in descriptions before version 1.3, tensor.*_macs_per_cycle)", t.name());
  }
  const auto &dr = t.dram();
  if (dr.channels() || dr.banks_per_channel() || dr.page_bytes()) {
    if (dr.channels() == 0 || dr.banks_per_channel() == 0 || dr.page_bytes() == 0)
      return makeError("target '{}': dram.channels, dram.banks_per_channel and dram.page_bytes "
                       "are given together (all 0: row buffers not modeled)", t.name());
    if (dr.channels() > 4096 || dr.banks_per_channel() > 1024)
      return makeError("target '{}': dram has {} channels of {} banks; at most 4096 of 1024 are supported",
                       t.name(), dr.channels(), dr.banks_per_channel());
  }
  for (auto [name, v] : {std::pair{"row_miss_ns", dr.row_miss_ns()},
                         {"rw_turnaround_ns", dr.rw_turnaround_ns()},
                         {"refresh_interval_ns", dr.refresh_interval_ns()},
                         {"refresh_ns", dr.refresh_ns()},
                         {"access_latency_ns", dr.access_latency_ns()}})
    if (!nonNegative(v) || v > 1e6)
      return makeError("target '{}': dram.{} is {}; it must be in [0, 1e6] ns", t.name(), name, v);
  if (dr.refresh_ns() > 0 && !(dr.refresh_ns() < dr.refresh_interval_ns()))
    return makeError("target '{}': dram.refresh_ns ({}) must be below dram.refresh_interval_ns ({})",
                     t.name(), dr.refresh_ns(), dr.refresh_interval_ns());
  if (t.cp().semaphore_latency_cycles() > 1000000 || t.cp().barrier_cycles() > 1000000)
    return makeError("target '{}': cp.semaphore_latency_cycles and cp.barrier_cycles must be at most 1e6",
                     t.name());
  if (t.vector().lanes() == 0) return bad("vector.lanes");
  if (t.vector().simple_op_cycles() == 0 || t.vector().transcendental_op_cycles() == 0 ||
      t.vector().reduce_op_cycles() == 0)
    return bad("vector.*_op_cycles");
  if (t.cp().queue_depth() == 0) return bad("cp.queue_depth");
  if (t.cp().queue_depth() > kMaxTargetQueueDepth)
    return atMost("cp.queue_depth", t.cp().queue_depth(), kMaxTargetQueueDepth);
  if (t.cp().num_semaphores() == 0 || t.cp().num_semaphores() > 255)
    return makeError("target '{}': cp.num_semaphores must be in 1..255", t.name());
  if (!(t.cp().host_launch_us() >= 0) || !std::isfinite(t.cp().host_launch_us()))
    return makeError("target '{}': cp.host_launch_us must be a finite non-negative number", t.name());
  return Status::success();
}

double macsPerCycle(const TargetDesc &t, uint32_t dtype) {
  const auto &te = t.tensor();
  double perPe = 0;
  switch (DType(dtype)) {
  case DType::F16: perPe = te.fp16_macs_per_pe(); break;
  case DType::BF16: perPe = te.bf16_macs_per_pe(); break;
  case DType::I8: case DType::U8: perPe = te.int8_macs_per_pe(); break;
  case DType::F8E4M3FN: case DType::F8E5M2: perPe = te.fp8_macs_per_pe(); break;
  default: perPe = te.fp32_macs_per_pe(); break;
  }
  if (te.fp16_macs_per_pe() == 0) { // a description before version 1.3
    switch (DType(dtype)) {
    case DType::F16: return te.fp16_macs_per_cycle();
    case DType::BF16: return te.bf16_macs_per_cycle();
    default: return te.fp32_macs_per_cycle();
    }
  }
  double clock = te.clock_ghz() > 0 ? te.clock_ghz() : t.clock_ghz();
  return double(te.array_rows()) * double(te.array_cols()) * perPe * clock / t.clock_ghz();
}

double dramRefreshFraction(const TargetDesc &t) {
  const auto &d = t.dram();
  return d.refresh_ns() > 0 ? d.refresh_ns() / d.refresh_interval_ns() : 0.0;
}

} // namespace rbln

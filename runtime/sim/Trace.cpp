//===- Trace.cpp - Chrome/Perfetto trace of a run -------------------------===//
#include "SimulatorImpl.h"

#include <fstream>

namespace rbln::sim {
using namespace isa;

Status Simulator::Impl::writeTrace() const {
  std::ofstream out(opts.tracePath);
  if (!out)
    return makeError("cannot write trace '{}'", opts.tracePath);
  double usPerCycle = 1e-3 / t.clock_ghz();
  out << "{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n";
  out << fmt::format("{{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,\"args\":{{\"name\":\"{} ({})\"}}}}",
                     t.name(), fn->name());
  for (unsigned qi = 0; qi < queues.size(); ++qi)
    out << fmt::format(",\n{{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":{},\"args\":{{\"name\":\"{}\"}}}}",
                       qi, queues[qi].name);
  for (const TraceEvent &e : trace) {
    std::string loc = locate && *locate ? (*locate)(e.pc) : std::string();
    std::string safe;
    for (char c : loc)
      safe += (c == '"' || c == '\\') ? '_' : c;
    out << fmt::format(",\n{{\"name\":\"{}\",\"cat\":\"{}\",\"ph\":\"X\",\"pid\":1,\"tid\":{},"
                       "\"ts\":{:.4f},\"dur\":{:.4f},\"args\":{{\"pc\":{},\"node\":\"{}\"}}}}",
                       (*code)[e.pc].spec().mnemonic, unitName(queues[e.queue].unit), e.queue,
                       e.start * usPerCycle, e.dur * usPerCycle, e.pc, safe);
  }
  out << "\n]}\n";
  return Status::success();
}

} // namespace rbln::sim

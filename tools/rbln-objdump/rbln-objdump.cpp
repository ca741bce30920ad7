//===- rbln-objdump.cpp - Inspect a .rbln artifact ------------------------===//
#include "rbln/runtime/Artifact.h"
#include "rbln/runtime/Isa.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

using namespace rbln;

namespace {
std::string sig(const proto::TensorSig &s) {
  std::string shape;
  for (int64_t d : s.shape())
    shape += fmt::format("{}x", d);
  return fmt::format("{}: {}{}", s.name(), shape, dtypeName(DType(s.dtype())));
}
} // namespace

int main(int argc, char **argv) {
  CLI::App app{"rbln-objdump: print the contents of a .rbln artifact (header, sections, "
               "metadata, disassembly).\nWith no flag, prints header, sections and metadata."};
  app.footer("Exit status: 0 printed; 2 usage error or an invalid artifact (the message names "
             "the section, function or instruction at fault).");
  std::string path;
  bool meta = false, dis = false, secs = false, isaTable = false, noVerify = false;
  app.add_option("model", path, "the .rbln artifact");
  app.add_flag("--metadata", meta, "compiler, options, target, I/O signature, op statistics");
  app.add_flag("-d,--disassemble", dis, "disassemble every function, with the ONNX node of each instruction");
  app.add_flag("--sections", secs, "the header and the section table");
  app.add_flag("--isa-table", isaTable, "print the instruction and trap tables (Markdown) and exit");
  app.add_flag("--no-verify-weights", noVerify, "skip the weights checksum (large pools)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e) == 0 ? 0 : 2; // a usage error exits 2, as rbln-run's
  }
  if (isaTable) {
    fmt::print("{}\nTraps (`trap code`):\n\n{}", isa::markdownTable(), isa::markdownTrapTable());
    return 0;
  }
  if (path.empty()) {
    fmt::print(stderr, "rbln-objdump: error: no artifact given (see --help)\n");
    return 2;
  }
  if (!meta && !dis && !secs)
    meta = secs = true;
  Artifact::Options opts;
  opts.verifyWeightsChecksum = !noVerify;
  auto loaded = Artifact::load(path, opts);
  if (!loaded.ok()) {
    fmt::print(stderr, "rbln-objdump: error: {}\n", loaded.error());
    return 2;
  }
  const Artifact &a = **loaded;
  const proto::Metadata &m = a.metadata();
  if (secs) {
    fmt::print("{}: rbln artifact format {}.{}, {} bytes\n", path, a.major(), a.minor(), a.fileSize());
    fmt::print("sections:\n  {:<10} {:>12} {:>12} {:>10}\n", "name", "offset", "size", "crc32");
    for (const SectionInfo &s : a.sections())
      fmt::print("  {:<10} {:>12} {:>12}   {:08x}\n", sectionName(s.kind), s.offset, s.size, s.crc);
  }
  if (meta) {
    fmt::print("producer: {} {}\n", m.producer(), m.compiler_version());
    if (!m.source_model().empty())
      fmt::print("source model: {}\n", m.source_model());
    fmt::print("target: {} ({})\n", m.target().name(), m.target().description());
    fmt::print("options:\n");
    for (const auto &kv : m.options())
      fmt::print("  {} = {}\n", kv.key(), kv.value());
    fmt::print("weights: {} bytes\n", m.weights_bytes());
    for (const proto::Function &f : m.functions()) {
      fmt::print("function {}: {} instructions, {} DMA descriptors, scratch {} bytes, SHM scratch {} "
                 "bytes, SPM plan {} bytes/NE\n",
                 f.name(), f.num_insts(), f.dma_descs_size(), f.scratch_bytes(), f.shm_bytes_used(),
                 f.spm_bytes_used());
      for (const auto &in : f.inputs())
        fmt::print("  input  {}\n", sig(in));
      for (const auto &out : f.outputs())
        fmt::print("  output {}\n", sig(out));
    }
    fmt::print("op statistics:\n");
    for (const auto &s : m.op_stats())
      fmt::print("  {:<24} x{:<4} {}\n", s.op(), s.count(), s.placement());
  }
  if (dis) {
    for (int fi = 0; fi < m.functions_size(); ++fi) {
      const proto::Function &f = m.functions(fi);
      fmt::print("\nfunction {}:\n", f.name());
      for (int d = 0; d < f.dma_descs_size(); ++d) {
        const proto::DmaDesc &desc = f.dma_descs(d);
        auto list = [](const auto &r) {
          std::string s;
          for (int64_t v : r)
            s += (s.empty() ? "" : ",") + std::to_string(v);
          return s;
        };
        fmt::print("  desc {}: {} -> {} sizes [{}] src strides [{}] dst strides [{}]{}\n", d,
                   dtypeName(DType(desc.src_dtype())), dtypeName(DType(desc.dst_dtype())),
                   list(desc.sizes()), list(desc.src_strides()), list(desc.dst_strides()),
                   desc.no_saturate() ? " no-saturate" : "");
      }
      const auto &code = a.code(unsigned(fi));
      std::string lastLoc;
      for (size_t i = 0; i < code.size(); ++i) {
        std::string loc = a.location(unsigned(fi), unsigned(i));
        if (loc != lastLoc && !loc.empty())
          fmt::print("  ; {}\n", loc);
        lastLoc = loc;
        fmt::print("  {:6}: {}\n", i, isa::disassemble(code[i]));
      }
    }
  }
  return 0;
}

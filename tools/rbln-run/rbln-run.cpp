//===- rbln-run.cpp - Run a compiled .rbln on the NPU simulator -----------===//
//
// Conventions follow iree-run-module: inputs as `--input=@x.npy` or
// `--input=2x3xf32=1,2,3,4,5,6` (optionally prefixed by the input's name),
// outputs to `--output=@y.npy` or `--output=-`, and `--expected-output` with
// `--rtol`/`--atol` to check results (exit status 1 on mismatch).
//
//===----------------------------------------------------------------------===//
#include "rbln/runtime/File.h"
#include "rbln/runtime/Llm.h"
#include "rbln/runtime/Runtime.h"
#include "rbln/runtime/Target.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

using namespace rbln;

namespace {

int fail(const std::string &msg) {
  fmt::print(stderr, "rbln-run: error: {}\n", msg);
  return 2;
}

/// `@file.npy` or a literal.
Expected<HostTensor> readTensorArg(const std::string &arg) {
  if (!arg.empty() && arg[0] == '@')
    return readNpy(arg.substr(1));
  return parseTensorLiteral(arg);
}

std::vector<double> asDoubles(const HostTensor &t) {
  std::vector<double> out(t.numel());
  unsigned es = dtypeSize(t.dtype);
  for (size_t i = 0; i < out.size(); ++i) {
    const uint8_t *p = t.data.data() + i * es;
    if (t.dtype == DType::I64) {
      int64_t v;
      std::memcpy(&v, p, 8);
      out[i] = double(v);
    } else {
      out[i] = loadAsFloat(p, t.dtype);
    }
  }
  return out;
}

/// Elementwise |a - b| <= atol + rtol * |b|. A NaN matches only a NaN in the
/// reference; an infinity only the same infinity.
bool compare(const std::string &name, const HostTensor &got, const HostTensor &want, double rtol,
             double atol) {
  if (got.shape != want.shape) {
    fmt::print("[FAILED] {}: shape {} but expected {}\n", name, got.typeString(), want.typeString());
    return false;
  }
  auto a = asDoubles(got), b = asDoubles(want);
  size_t bad = 0, first = 0;
  double maxAbs = 0, maxRel = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    bool bothNan = std::isnan(a[i]) && std::isnan(b[i]);
    double d = (a[i] == b[i] || bothNan) ? 0.0 : std::fabs(a[i] - b[i]);
    bool ok = bothNan || a[i] == b[i] ||
              (!std::isnan(d) && !std::isinf(d) && d <= atol + rtol * std::fabs(b[i]));
    if (std::isnan(d))
      d = INFINITY;
    maxAbs = std::max(maxAbs, d);
    if (b[i] != 0)
      maxRel = std::max(maxRel, d / std::fabs(b[i]));
    if (!ok && bad++ == 0)
      first = i;
  }
  if (bad) {
    fmt::print("[FAILED] {}: {} of {} elements differ (rtol {}, atol {}); first at flat index {}: "
               "got {} expected {}; max abs error {:.3g}, max rel error {:.3g}\n",
               name, bad, a.size(), rtol, atol, first, a[first], b[first], maxAbs, maxRel);
    return false;
  }
  fmt::print("[SUCCESS] {}: {} elements match (max abs error {:.3g}, max rel error {:.3g})\n",
             name, a.size(), maxAbs, maxRel);
  return true;
}

void printStats(const Stats &s, const proto::TargetDesc &t, uint64_t weightBytes) {
  using isa::Unit;
  double us = s.deviceSeconds * 1e6;
  fmt::print("--- modeled on '{}' ({} NEs at {} GHz) ---\n", t.name(), t.num_ne(), t.clock_ghz());
  fmt::print("cycles: {:.0f} ({:.3f} us device) + {:.1f} us host launch = {:.3f} us\n", s.cycles,
             us, s.hostLaunchSeconds * 1e6, us + s.hostLaunchSeconds * 1e6);
  if (s.hostBytesIn + s.hostBytesOut)
    fmt::print("host link: {:.3f} us for {} bytes in and {} bytes out at {} GB/s (apart from the device "
               "time; the weights' upload at load: {:.3f} ms)\n",
               s.hostLinkSeconds * 1e6, s.hostBytesIn, s.hostBytesOut, t.host_link_gbps(),
               hostLinkSeconds(t, weightBytes) * 1e3);
  fmt::print("busy: tensor {:.1f}%  vector {:.1f}%  neural-dma {:.1f}%  task-dma {:.1f}%\n",
             100 * s.utilization(Unit::Tensor), 100 * s.utilization(Unit::Vector),
             100 * s.utilization(Unit::NeuralDma), 100 * s.utilization(Unit::TaskDma));
  auto mib = [](uint64_t b) { return double(b) / (1024.0 * 1024.0); };
  fmt::print("bytes: dram read {:.3f} MiB, write {:.3f} MiB; spm read {:.3f} MiB, write {:.3f} MiB; "
             "shm read {:.3f} MiB, write {:.3f} MiB\n",
             mib(s.dramReadBytes), mib(s.dramWriteBytes), mib(s.spmReadBytes), mib(s.spmWriteBytes),
             mib(s.shmReadBytes), mib(s.shmWriteBytes));
  fmt::print("spm high-water mark: {} of {} bytes per NE ({:.1f}%)\n", s.spmHighWater,
             t.spm_bytes(), 100.0 * double(s.spmHighWater) / double(t.spm_bytes()));
  fmt::print("instructions: {} CP, {} engine commands; tensor MACs: {}\n", s.cpInstructions,
             s.commands, s.tensorMacs);
  if (s.tensorMacs)
    fmt::print("tensor roofline: {:.0f} cycles at peak on {} NEs -> {:.1f}% of tensor peak achieved\n",
               s.tensorRooflineCycles, t.num_ne(), 100.0 * s.tensorRooflineCycles / s.cycles);
}

/// `1,15,27` (commas or spaces) -> token ids.
Expected<std::vector<int64_t>> parseTokens(const std::string &text, const std::string &what) {
  std::vector<int64_t> out;
  std::string cur;
  auto flush = [&]() -> Status {
    if (cur.empty())
      return Status::success();
    size_t used = 0;
    int64_t v = 0;
    try {
      v = std::stoll(cur, &used);
    } catch (...) {
      used = 0;
    }
    if (used != cur.size())
      return makeError("{}: '{}' is not a token id", what, cur);
    out.push_back(v);
    cur.clear();
    return Status::success();
  };
  for (char c : text) {
    if (c == ',' || c == ' ' || c == '\t' || c == '\r') {
      RBLN_RETURN_IF_ERROR(flush());
    } else {
      cur += c;
    }
  }
  RBLN_RETURN_IF_ERROR(flush());
  return out;
}

/// Parses `64M`, `1.5G`, `4096` (bytes).
Expected<uint64_t> parseBytes(const std::string &text) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (...) {
    return makeError("--kv-memory: '{}' is not a size like 512M or 2G", text);
  }
  std::string unit = text.substr(used);
  double mul = unit.empty() || unit == "B" ? 1
               : unit == "K" || unit == "KiB" ? 1024.0
               : unit == "M" || unit == "MiB" ? 1024.0 * 1024
               : unit == "G" || unit == "GiB" ? 1024.0 * 1024 * 1024
                                              : -1;
  if (mul < 0 || !std::isfinite(v) || v < 0)
    return makeError("--kv-memory: '{}' is not a size like 512M or 2G", text);
  double bytes = v * mul;
  // 0 would mean "the default"; past 2^50 (1 PiB) no device has the memory.
  if (bytes < 1 || bytes > std::ldexp(1.0, 50))
    return makeError("--kv-memory: '{}' is outside 1 byte .. 1 PiB", text);
  return uint64_t(bytes);
}

/// The LLM engine of a generation artifact, its caches sized by --kv-memory.
Expected<std::unique_ptr<LlmEngine>> createEngine(std::shared_ptr<Artifact> artifact,
                                                  const SessionOptions &so, const std::string &kvMemory) {
  LlmOptions lo;
  lo.session = so;
  if (!kvMemory.empty()) {
    auto b = parseBytes(kvMemory);
    if (!b.ok())
      return makeError("{}", b.error());
    lo.kvMemoryBytes = *b;
  }
  return LlmEngine::create(std::move(artifact), lo);
}

struct GenerateArgs {
  std::vector<std::string> prompt;
  std::string promptsFile, kvMemory, logitsDir;
  SamplingOptions sampling;
  std::string stop;
  bool noPrefixSharing = false, steps = false;
};

int runGenerate(std::shared_ptr<Artifact> artifact, const SessionOptions &so, GenerateArgs &g) {
  std::vector<std::vector<int64_t>> prompts;
  for (const std::string &p : g.prompt) {
    auto t = parseTokens(p, "--prompt");
    if (!t.ok())
      return fail(t.error());
    prompts.push_back(*t);
  }
  if (!g.promptsFile.empty()) {
    auto file = readRegularFile(g.promptsFile, uint64_t(1) << 30);
    if (!file.ok())
      return fail(fmt::format("--prompts: {}", file.error()));
    std::istringstream in(*file);
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      auto t = parseTokens(line, fmt::format("{} line {}", g.promptsFile, n));
      if (!t.ok())
        return fail(t.error());
      prompts.push_back(*t);
    }
  }
  if (prompts.empty())
    return fail("--generate needs --prompt=1,15,27 or --prompts=file (token ids)");
  if (!g.stop.empty()) {
    auto t = parseTokens(g.stop, "--stop");
    if (!t.ok())
      return fail(t.error());
    g.sampling.stopTokens = *t;
  }
  auto engine = createEngine(artifact, so, g.kvMemory);
  if (!engine.ok())
    return fail(engine.error());
  LlmEngine &e = **engine;
  const proto::LlmConfig &c = e.config();
  g.sampling.sharePrefixes = !g.noPrefixSharing;
  g.sampling.recordLogits = !g.logitsDir.empty();
  GenerateStats st;
  int64_t stepNo = 0;
  auto onStep = [&](const StepInfo &i) {
    ++stepNo;
    if (g.steps)
      fmt::print("step {:4}: {:7} {:3} seq (program batch {:2})  {:10.2f} us modeled  {:8.2f} ms wall  "
                 "KV blocks in use {}{}\n",
                 stepNo, i.kind, i.sequences, i.bucket, i.deviceSeconds * 1e6, i.wallSeconds * 1e3,
                 i.blocksInUse, e.hasLocalLayers() ? fmt::format(" (local {})", i.localBlocksInUse) : "");
  };
  auto out = e.generate(prompts, g.sampling, &st, onStep);
  if (!out.ok())
    return fail(out.error());
  for (size_t i = 0; i < out->size(); ++i) {
    const SequenceOutput &o = (*out)[i];
    std::string toks;
    for (int64_t t : o.tokens)
      toks += (toks.empty() ? "" : ",") + std::to_string(t);
    fmt::print("sequence {}: {} prompt tokens{} -> {}  (finish: {}{})\n", i, prompts[i].size(),
               o.cachedPromptTokens ? fmt::format(" ({} from shared blocks)", o.cachedPromptTokens) : "",
               toks, o.finish, o.preemptions ? fmt::format(", preempted {}x", o.preemptions) : "");
    if (!g.logitsDir.empty()) {
      HostTensor t;
      t.dtype = DType::F32;
      t.shape = {int64_t(o.logits.size()), c.vocab_size()};
      for (const auto &row : o.logits)
        t.data.insert(t.data.end(), reinterpret_cast<const uint8_t *>(row.data()),
                      reinterpret_cast<const uint8_t *>(row.data() + row.size()));
      Status w = writeNpy(fmt::format("{}/logits_{}.npy", g.logitsDir, i), t);
      if (!w.ok())
        return fail(w.message());
    }
  }
  double kvMiB = double(e.kvBytes()) / (1024.0 * 1024.0);
  fmt::print("generated {} tokens for {} sequences in {} prefill + {} decode steps\n",
             st.generatedTokens, prompts.size(), st.prefillSteps, st.decodeSteps);
  fmt::print("modeled: {:.3f} ms on '{}', {:.1f} tokens/s; simulator wall: {:.3f} s, {:.1f} tokens/s\n",
             st.deviceSeconds * 1e3, so.target ? so.target->name() : artifact->metadata().target().name(),
             st.deviceSeconds > 0 ? double(st.generatedTokens) / st.deviceSeconds : 0.0,
             st.wallSeconds, st.wallSeconds > 0 ? double(st.generatedTokens) / st.wallSeconds : 0.0);
  if (e.hasGlobalLayers())
    fmt::print("KV cache: {} blocks of {} tokens ({:.2f} MiB, {} layers), peak {} in use, {} "
               "preemptions; live tokens / allocated slots over decode steps: {:.1f}%\n",
               st.numBlocks - 1, st.blockSize, kvMiB, c.num_layers(), st.peakBlocksInUse,
               st.preemptions, 100 * st.kvUtilization);
  if (e.hasLocalLayers()) {
    double blockMiB = double(c.local_kv_bytes_per_block()) / (1024.0 * 1024.0);
    fmt::print("local KV (sliding window {}): rings of {} blocks per sequence, {} blocks ({:.2f} "
               "MiB), peak {} in use = {:.2f} MiB; global KV peak {} blocks = {:.2f} MiB\n",
               c.sliding_window(), c.local_ring_blocks(), st.numLocalBlocks - 1,
               double(e.localKvBytes()) / (1024.0 * 1024.0), st.peakLocalBlocksInUse,
               st.peakLocalBlocksInUse * blockMiB, st.peakBlocksInUse,
               st.peakBlocksInUse * double(c.kv_bytes_per_block()) / (1024.0 * 1024.0));
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  CLI::App app{"rbln-run: run a compiled .rbln artifact on the NPU instruction-set simulator.\n"
               "Prints the outputs (or writes them with --output), checks them against\n"
               "--expected-output, and reports the modeled time with --stats."};
  app.footer("Exit status: 0 success; 1 an output differs from --expected-output; 2 any other "
             "error (usage, an invalid artifact or input, a trap on the device, --timeout).");
  std::string path, function = "main", targetName, profile;
  std::vector<std::string> inputs, outputs, expected;
  double rtol = 1e-4, atol = 1e-5;
  bool stats = false, noCompute = false, quiet = false;
  app.add_option("model", path, "the .rbln artifact")->required();
  app.add_option("--function", function, "entry function to run")->capture_default_str();
  app.add_option("--input", inputs,
                 "an input, in order: @file.npy or a literal like 2x3xf32=1,2,3,4,5,6; "
                 "may be prefixed by the input's name (x=@x.npy)");
  app.add_option("--output", outputs,
                 "where to put each output, in order: @file.npy, or - to print it");
  app.add_option("--expected-output", expected,
                 "expected value of each output, in order (@file.npy or a literal); exit 1 on "
                 "mismatch (a NaN matches only a NaN in the reference)");
  app.add_option("--rtol", rtol, "relative tolerance for --expected-output")->capture_default_str();
  app.add_option("--atol", atol, "absolute tolerance for --expected-output")->capture_default_str();
  app.add_flag("--stats", stats, "print modeled cycles, engine utilization and bytes moved");
  app.add_option("--profile", profile, "write a Chrome/Perfetto trace of every command (JSON)");
  app.add_option("--target", targetName,
                 "simulate this target (built-in name or file) instead of the compiled one");
  app.add_flag("--no-compute", noCompute,
                "timing only: do not compute results (fast estimates for large models; integer "
               "data such as block tables and positions still moves, as it steers the program)");
  app.add_flag("-q,--quiet", quiet, "do not print outputs that have no --output");
  int simThreads = -1;
  app.add_option("--sim-threads", simThreads,
                 "threads the simulator uses for the NEs' arithmetic (-1: one per core up to the "
                 "NE count, or one for models under 64 MiB of weights; 0 or 1: all on one "
                 "thread); results and timing do not depend on it")
      ->capture_default_str();
  double timeout = 0;
  app.add_option("--timeout", timeout,
                 "fail a run that simulates for longer than this many seconds of wall time (0: no "
                 "limit; runaway programs are also stopped by work limits: CP instructions, "
                 "engine commands, modeled cycles)")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  bool generate = false;
  GenerateArgs gen;
  auto *g = app.add_option_group("generation", "LLM generation (artifacts compiled from a decoder "
                                               "with past_key_values)");
  g->add_flag("--generate", generate, "generate tokens: prefill each prompt, then decode steps");
  g->add_option("--prompt", gen.prompt, "a prompt as token ids, e.g. 1,15,27 (repeatable)");
  g->add_option("--prompts", gen.promptsFile, "a file with one prompt per line, run as one batch");
  g->add_option("--max-new-tokens", gen.sampling.maxNewTokens, "tokens to generate per sequence")
      ->capture_default_str();
  g->add_option("--temperature", gen.sampling.temperature, "sampling temperature (0: greedy)")
      ->capture_default_str();
  g->add_option("--top-k", gen.sampling.topK, "sample from the k most likely tokens (0: all)")
      ->capture_default_str();
  g->add_option("--top-p", gen.sampling.topP, "sample from the smallest set with this mass")
      ->capture_default_str();
  g->add_option("--seed", gen.sampling.seed, "random seed of sampling (per sequence: seed + index)")
      ->capture_default_str();
  g->add_option("--stop", gen.stop, "stop tokens, e.g. 2 or 2,0");
  g->add_option("--kv-memory", gen.kvMemory,
                "device memory for the KV cache, e.g. 64M (default: the largest decode batch at "
                "--max-seq-len); sets the number of KV blocks at load, no recompile");
  g->add_flag("--no-prefix-sharing", gen.noPrefixSharing,
              "do not share KV blocks of common prompt prefixes");
  g->add_flag("--prefill-first", gen.sampling.prefillFirst,
              "prefill every waiting prompt that fits before decoding (default: one prefill chunk "
              "between decode steps)");
  g->add_flag("--steps", gen.steps, "print every prefill/decode step with its modeled latency");
  g->add_option("--logits-dir", gen.logitsDir,
                "write each sequence's per-step logits to DIR/logits_<i>.npy");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    // --help and --version exit 0; a usage error exits 2, as documented
    // (CLI11's own codes are 100 and up).
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }

  auto artifact = Artifact::load(path);
  if (!artifact.ok())
    return fail(artifact.error());
  SessionOptions so;
  so.function = function;
  so.compute = !noCompute;
  so.tracePath = profile;
  so.simThreads = simThreads;
  so.timeoutSeconds = timeout;
  if (!targetName.empty()) {
    auto t = loadTarget(targetName);
    if (!t.ok())
      return fail(t.error());
    so.target = *t;
  }
  if (generate)
    return runGenerate(*artifact, so, gen);
  if ((*artifact)->metadata().has_llm() && function == "main")
    return fail("this is a generation artifact: run it with --generate --prompt=1,15,27 (or pick "
                "--function=prefill/decode_bN)");
  // One step of a generation artifact by hand: its caches (zeroed, sized by
  // --kv-memory) are allocated by the LLM engine.
  std::unique_ptr<LlmEngine> engine;
  std::unique_ptr<Session> own;
  Session *sp = nullptr;
  if ((*artifact)->metadata().has_llm()) {
    auto e = createEngine(*artifact, so, gen.kvMemory);
    if (!e.ok())
      return fail(e.error());
    engine = std::move(*e);
    sp = engine->runner().session(function);
    if (!sp)
      return fail(fmt::format("the artifact has no function '{}'", function));
  } else {
    auto session = Session::create(*artifact, so);
    if (!session.ok())
      return fail(session.error());
    own = std::move(*session);
    sp = own.get();
  }
  Session &s = *sp;
  const proto::Function &fn = s.function();
  int callerInputs = 0;
  for (const auto &in : fn.inputs())
    callerInputs += in.state() ? 0 : 1;
  if (int(inputs.size()) != callerInputs) {
    std::string sig;
    for (const auto &in : fn.inputs()) {
      if (in.state())
        continue;
      std::string shape;
      for (int64_t d : in.shape())
        shape += fmt::format("{}x", d);
      sig += fmt::format("\n  {}: {}{}", in.name(), shape, dtypeName(DType(in.dtype())));
    }
    return fail(fmt::format("function '{}' takes {} inputs, {} given with --input:{}", fn.name(),
                            callerInputs, inputs.size(), sig));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    std::string arg = inputs[i];
    unsigned index = unsigned(i);
    size_t eq = arg.find('=');
    if (eq != std::string::npos && arg[0] != '@') {
      int named = s.inputIndex(arg.substr(0, eq));
      if (named >= 0) {
        index = unsigned(named);
        arg = arg.substr(eq + 1);
      }
    }
    auto t = readTensorArg(arg);
    if (!t.ok())
      return fail(fmt::format("--input {}: {}", i, t.error()));
    Status st = s.setInput(index, *t);
    if (!st.ok())
      return fail(st.message());
  }
  auto wall0 = std::chrono::steady_clock::now();
  Status st = s.run();
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (!st.ok())
    return fail(st.message());

  if (outputs.size() > size_t(fn.outputs_size()))
    return fail(fmt::format("{} --output given, the function has {} outputs", outputs.size(),
                            fn.outputs_size()));
  for (int i = 0; i < fn.outputs_size(); ++i) {
    const HostTensor &t = s.output(unsigned(i));
    std::string dest = size_t(i) < outputs.size() ? outputs[size_t(i)] : (quiet ? "" : "-");
    if (dest == "-") {
      fmt::print("{}: {}\n", fn.outputs(i).name(), noCompute ? "(not computed: --no-compute)" : formatTensor(t));
    } else if (!dest.empty()) {
      if (dest[0] != '@')
        return fail(fmt::format("--output '{}': expected @file.npy or -", dest));
      Status w = writeNpy(dest.substr(1), t);
      if (!w.ok())
        return fail(w.message());
    }
  }
  if (stats) {
    printStats(s.stats(), s.target(), (*artifact)->weightsSize());
    fmt::print("simulator wall time: {:.3f} s\n", wall);
  }
  if (!profile.empty())
    fmt::print("trace written to {}\n", profile);
  if (!expected.empty()) {
    if (noCompute)
      return fail("--expected-output needs computed results (drop --no-compute)");
    if (expected.size() > size_t(fn.outputs_size()))
      return fail(fmt::format("{} --expected-output given, the function has {} outputs",
                              expected.size(), fn.outputs_size()));
    bool ok = true;
    for (size_t i = 0; i < expected.size(); ++i) {
      auto want = readTensorArg(expected[i]);
      if (!want.ok())
        return fail(fmt::format("--expected-output {}: {}", i, want.error()));
      want->withType(s.output(unsigned(i)).dtype); // ml_dtypes' raw float8/bfloat16 bytes
      ok &= compare(fn.outputs(int(i)).name(), s.output(unsigned(i)), *want, rtol, atol);
    }
    return ok ? 0 : 1;
  }
  return 0;
}

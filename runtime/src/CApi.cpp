//===- CApi.cpp - The C API over Session ----------------------------------===//
#include "rbln/runtime/rbln.h"

#include "rbln/runtime/Llm.h"
#include "rbln/runtime/Runtime.h"

#include <cstring>

struct rbln_model {
  std::shared_ptr<rbln::Artifact> artifact;
};
struct rbln_llm {
  std::unique_ptr<rbln::LlmEngine> engine;
  rbln::GenerateStats last;
  rbln::StepOutput lastStep;
};
struct rbln_runtime {
  std::unique_ptr<rbln::Session> session;
};

namespace {
thread_local std::string lastError;
int setError(const std::string &m) {
  lastError = m;
  return 1;
}
} // namespace

extern "C" {

rbln_model *rbln_model_load(const char *path) {
  if (!path) {
    setError("rbln_model_load: path is NULL");
    return nullptr;
  }
  auto a = rbln::Artifact::load(path);
  if (!a.ok()) {
    setError(a.error());
    return nullptr;
  }
  return new rbln_model{*a};
}

void rbln_model_destroy(rbln_model *model) { delete model; }

rbln_runtime *rbln_runtime_create(rbln_model *model, const char *function) {
  if (!model) {
    setError("rbln_runtime_create: model is NULL");
    return nullptr;
  }
  rbln::SessionOptions opts;
  if (function)
    opts.function = function;
  auto s = rbln::Session::create(model->artifact, opts);
  if (!s.ok()) {
    setError(s.error());
    return nullptr;
  }
  return new rbln_runtime{std::move(*s)};
}

void rbln_runtime_destroy(rbln_runtime *rt) { delete rt; }

int rbln_num_inputs(const rbln_runtime *rt) { return rt ? rt->session->function().inputs_size() : 0; }
int rbln_num_outputs(const rbln_runtime *rt) { return rt ? rt->session->function().outputs_size() : 0; }

static size_t sigBytes(const rbln::proto::TensorSig &s) {
  size_t n = rbln::dtypeSize(rbln::DType(s.dtype()));
  for (int64_t d : s.shape())
    n *= size_t(d);
  return n;
}

size_t rbln_input_size(const rbln_runtime *rt, int index) {
  if (!rt || index < 0 || index >= rbln_num_inputs(rt))
    return 0;
  return sigBytes(rt->session->function().inputs(index));
}

size_t rbln_output_size(const rbln_runtime *rt, int index) {
  if (!rt || index < 0 || index >= rbln_num_outputs(rt))
    return 0;
  return sigBytes(rt->session->function().outputs(index));
}

static int tensorInfo(const rbln::proto::TensorSig &sig, rbln_tensor_info *info) {
  if (sig.shape_size() > 8)
    return setError(fmt::format("'{}' has rank {}; rbln_tensor_info holds 8 dims", sig.name(),
                                sig.shape_size()));
  info->name = sig.name().c_str();
  info->dtype = rbln::dtypeName(rbln::DType(sig.dtype()));
  info->rank = sig.shape_size();
  for (int i = 0; i < sig.shape_size(); ++i)
    info->dims[i] = sig.shape(i);
  return 0;
}

int rbln_input_info(const rbln_runtime *rt, int index, rbln_tensor_info *info) {
  if (!rt || !info || index < 0 || index >= rbln_num_inputs(rt))
    return setError(fmt::format("rbln_input_info: no input {}", index));
  return tensorInfo(rt->session->function().inputs(index), info);
}

int rbln_output_info(const rbln_runtime *rt, int index, rbln_tensor_info *info) {
  if (!rt || !info || index < 0 || index >= rbln_num_outputs(rt))
    return setError(fmt::format("rbln_output_info: no output {}", index));
  return tensorInfo(rt->session->function().outputs(index), info);
}

int rbln_set_input(rbln_runtime *rt, int index, const void *data, size_t bytes) {
  if (!rt || !data)
    return setError("rbln_set_input: NULL argument");
  if (index < 0 || index >= rbln_num_inputs(rt))
    return setError(fmt::format("rbln_set_input: no input {}", index));
  const auto &sig = rt->session->function().inputs(index);
  if (bytes != sigBytes(sig))
    return setError(fmt::format("rbln_set_input: input '{}' takes {} bytes, got {}", sig.name(),
                                sigBytes(sig), bytes));
  rbln::HostTensor t;
  t.dtype = rbln::DType(sig.dtype());
  t.shape.assign(sig.shape().begin(), sig.shape().end());
  t.data.assign(static_cast<const uint8_t *>(data), static_cast<const uint8_t *>(data) + bytes);
  rbln::Status s = rt->session->setInput(unsigned(index), t);
  return s.ok() ? 0 : setError(s.message());
}

int rbln_run(rbln_runtime *rt) {
  if (!rt)
    return setError("rbln_run: runtime is NULL");
  rbln::Status s = rt->session->run();
  return s.ok() ? 0 : setError(s.message());
}

const void *rbln_get_output(rbln_runtime *rt, int index, size_t *bytes) {
  if (!rt || index < 0 || index >= rbln_num_outputs(rt)) {
    setError("rbln_get_output: no such output");
    return nullptr;
  }
  const auto &t = rt->session->output(unsigned(index));
  if (bytes)
    *bytes = t.data.size();
  return t.data.data();
}

double rbln_last_run_seconds(const rbln_runtime *rt) {
  return rt ? rt->session->stats().deviceSeconds + rt->session->stats().hostLaunchSeconds : 0.0;
}

const char *rbln_last_error(void) { return lastError.c_str(); }


rbln_llm *rbln_llm_create(rbln_model *model, size_t kv_memory_bytes) {
  if (!model) {
    setError("rbln_llm_create: model is NULL");
    return nullptr;
  }
  rbln::LlmOptions o;
  o.kvMemoryBytes = kv_memory_bytes;
  auto e = rbln::LlmEngine::create(model->artifact, o);
  if (!e.ok()) {
    setError(e.error());
    return nullptr;
  }
  return new rbln_llm{std::move(*e), {}, {}};
}

void rbln_llm_destroy(rbln_llm *llm) { delete llm; }

rbln_llm_options rbln_llm_options_default(void) {
  rbln_llm_options o{};
  o.sim_threads = -1;
  o.compute = 1;
  return o;
}

rbln_llm *rbln_llm_create_with(rbln_model *model, const rbln_llm_options *options) {
  if (!model || !options) {
    setError("rbln_llm_create_with: a NULL argument");
    return nullptr;
  }
  if (options->num_blocks < 0 || options->num_local_blocks < 0) {
    setError("rbln_llm_create_with: negative block count");
    return nullptr;
  }
  rbln::LlmOptions o;
  o.kvMemoryBytes = options->kv_memory_bytes;
  o.numBlocks = options->num_blocks;
  o.numLocalBlocks = options->num_local_blocks;
  o.session.simThreads = options->sim_threads;
  o.session.compute = options->compute != 0;
  auto e = rbln::LlmEngine::create(model->artifact, o);
  if (!e.ok()) {
    setError(e.error());
    return nullptr;
  }
  return new rbln_llm{std::move(*e), {}, {}};
}

int rbln_llm_get_info(const rbln_llm *llm, rbln_llm_info *info) {
  if (!llm || !info)
    return setError("rbln_llm_get_info: a NULL argument");
  const rbln::proto::LlmConfig &c = llm->engine->config();
  rbln::LlmStepRunner &r = llm->engine->runner();
  *info = rbln_llm_info{};
  info->max_seq_len = c.max_seq_len();
  info->block_size = c.block_size();
  info->prefill_chunk = c.prefill_chunk();
  info->vocab_size = c.vocab_size();
  info->num_layers = c.num_layers();
  info->num_blocks = r.numBlocks();
  info->num_local_blocks = r.numLocalBlocks();
  info->kv_bytes_per_block = c.kv_bytes_per_block();
  info->local_kv_bytes_per_block = c.local_kv_bytes_per_block();
  info->sliding_window = c.sliding_window();
  info->local_ring_blocks = c.local_ring_blocks();
  for (int64_t b : r.decodeBuckets())
    if (info->num_decode_buckets < RBLN_MAX_DECODE_BUCKETS)
      info->decode_buckets[info->num_decode_buckets++] = b;
  return 0;
}

int rbln_llm_step(rbln_llm *llm, const rbln_step_seq *seqs, size_t num_seqs, float *logits,
                  size_t logits_capacity) {
  if (!llm || (!seqs && num_seqs) || !logits) {
    setError("rbln_llm_step: a NULL argument");
    return RBLN_INVALID_INPUT;
  }
  llm->lastStep = {};
  std::vector<rbln::StepSequence> step(num_seqs);
  size_t rows = 0;
  for (size_t i = 0; i < num_seqs; ++i) {
    const rbln_step_seq &q = seqs[i];
    if ((!q.tokens && q.num_tokens) || (!q.block_table && q.block_table_len) ||
        (!q.local_block_table && q.local_block_table_len)) {
      setError(fmt::format("rbln_llm_step: sequence {} has a NULL array with a length", i));
      return RBLN_INVALID_INPUT;
    }
    rbln::StepSequence &s = step[i];
    s.tokens.assign(q.tokens, q.tokens + q.num_tokens);
    s.start = q.start;
    s.blockTable.assign(q.block_table, q.block_table + q.block_table_len);
    s.localBlockTable.assign(q.local_block_table, q.local_block_table + q.local_block_table_len);
    s.allLogits = q.all_logits != 0;
    rows += s.allLogits ? q.num_tokens : 1;
  }
  size_t vocab = size_t(llm->engine->config().vocab_size());
  if (logits_capacity / vocab < rows) {
    setError(fmt::format("rbln_llm_step: the logits buffer holds {} floats; {} rows of {} are needed",
                         logits_capacity, rows, vocab));
    return RBLN_INVALID_INPUT;
  }
  auto out = llm->engine->runner().step(step);
  if (!out.ok()) {
    setError(out.error());
    return out.status().kind() == rbln::Status::Kind::InvalidInput ? RBLN_INVALID_INPUT : RBLN_ERROR;
  }
  std::copy(out->logits.begin(), out->logits.end(), logits);
  llm->lastStep = std::move(*out);
  return RBLN_OK;
}

size_t rbln_llm_last_step_runs(const rbln_llm *llm, double *device_seconds, double *wall_seconds) {
  if (!llm)
    return 0;
  if (device_seconds)
    *device_seconds = llm->lastStep.deviceSeconds;
  if (wall_seconds)
    *wall_seconds = llm->lastStep.wallSeconds;
  return llm->lastStep.runs.size();
}

int rbln_llm_last_step_run(const rbln_llm *llm, size_t index, rbln_step_run *run) {
  if (!llm || !run || index >= llm->lastStep.runs.size())
    return setError("rbln_llm_last_step_run: no such run");
  const rbln::StepRun &r = llm->lastStep.runs[index];
  run->function = r.function.c_str();
  run->rows = r.rows;
  run->padded = r.padded;
  run->device_seconds = r.deviceSeconds;
  return 0;
}

int rbln_llm_copy_block(rbln_llm *llm, int from, int to) {
  if (!llm)
    return setError("rbln_llm_copy_block: llm is NULL");
  rbln::Status s = llm->engine->runner().copyBlock(from, to);
  return s.ok() ? 0 : setError(s.message());
}

rbln_sampling rbln_sampling_default(void) {
  rbln_sampling s{};
  s.max_new_tokens = 16;
  s.top_p = 1.0f;
  return s;
}

int rbln_llm_generate(rbln_llm *llm, const long long *const *prompts, const size_t *prompt_lens,
                      size_t num_prompts, const rbln_sampling *sampling, long long *out_tokens,
                      size_t *out_lens) {
  if (!llm || !prompts || !prompt_lens || !sampling || !out_tokens || !out_lens)
    return setError("rbln_llm_generate: a NULL argument");
  std::vector<std::vector<int64_t>> ps(num_prompts);
  for (size_t i = 0; i < num_prompts; ++i) {
    if (!prompts[i] && prompt_lens[i])
      return setError("rbln_llm_generate: prompt " + std::to_string(i) + " is NULL");
    ps[i].assign(prompts[i], prompts[i] + prompt_lens[i]);
  }
  rbln::SamplingOptions o;
  o.maxNewTokens = sampling->max_new_tokens;
  o.temperature = sampling->temperature;
  o.topK = sampling->top_k;
  o.topP = sampling->top_p;
  o.seed = sampling->seed;
  if (sampling->stop_tokens)
    o.stopTokens.assign(sampling->stop_tokens, sampling->stop_tokens + sampling->num_stop_tokens);
  auto out = llm->engine->generate(ps, o, &llm->last);
  if (!out.ok()) {
    setError(out.error());
    return out.status().kind() == rbln::Status::Kind::InvalidInput ? RBLN_INVALID_INPUT : RBLN_ERROR;
  }
  size_t width = size_t(std::max(0, sampling->max_new_tokens));
  for (size_t i = 0; i < num_prompts; ++i) {
    const auto &toks = (*out)[i].tokens;
    out_lens[i] = std::min(width, toks.size());
    for (size_t k = 0; k < out_lens[i]; ++k)
      out_tokens[i * width + k] = toks[k];
  }
  return 0;
}

double rbln_llm_last_device_seconds(const rbln_llm *llm) { return llm ? llm->last.deviceSeconds : 0; }
size_t rbln_llm_num_blocks(const rbln_llm *llm) {
  return llm ? size_t(llm->engine->blocks().numBlocks() - 1) : 0;
}
size_t rbln_llm_peak_blocks(const rbln_llm *llm) { return llm ? size_t(llm->last.peakBlocksInUse) : 0; }

} // extern "C"

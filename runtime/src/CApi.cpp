//===- CApi.cpp - The C API over Session ----------------------------------===//
#include "rbln/runtime/rbln.h"

#include "../sim/Simulator.h"
#include "rbln/runtime/Runtime.h"

#include <cstring>

struct rbln_model {
  std::shared_ptr<rbln::Artifact> artifact;
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

} // extern "C"

/*===- rbln.h - C API of the rbln runtime -------------------------*- C -*-===*
 *
 * In the spirit of the RBLN C API: load a model, create a runtime for one of
 * its functions, set inputs, run, read outputs. Calls that fail return NULL
 * or a non-zero status; rbln_last_error() then says why (per thread).
 *
 *===----------------------------------------------------------------------===*/
#ifndef RBLN_RUNTIME_RBLN_H
#define RBLN_RUNTIME_RBLN_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct rbln_model rbln_model;
typedef struct rbln_runtime rbln_runtime;

rbln_model *rbln_model_load(const char *path);
void rbln_model_destroy(rbln_model *model);

/* function may be NULL for "main". */
rbln_runtime *rbln_runtime_create(rbln_model *model, const char *function);
void rbln_runtime_destroy(rbln_runtime *rt);

int rbln_num_inputs(const rbln_runtime *rt);
int rbln_num_outputs(const rbln_runtime *rt);
/* Byte size of input/output `index`, or 0 if there is none. */
size_t rbln_input_size(const rbln_runtime *rt, int index);
size_t rbln_output_size(const rbln_runtime *rt, int index);

/* Copies `bytes` bytes (exactly the input's size) to the device. 0 on success. */
int rbln_set_input(rbln_runtime *rt, int index, const void *data, size_t bytes);
int rbln_run(rbln_runtime *rt);
/* Valid until the next rbln_run or rbln_runtime_destroy. */
const void *rbln_get_output(rbln_runtime *rt, int index, size_t *bytes);
/* Modeled device time of the last run, in seconds. */
double rbln_last_run_seconds(const rbln_runtime *rt);

const char *rbln_last_error(void);

/* --- Generation (artifacts compiled from a decoder with past_key_values) --- */

typedef struct rbln_llm rbln_llm;

/* Allocates the paged KV caches: kv_memory_bytes of device memory (0: enough
 * for the largest decode batch at the compiled --max-seq-len). */
rbln_llm *rbln_llm_create(rbln_model *model, size_t kv_memory_bytes);
void rbln_llm_destroy(rbln_llm *llm);

typedef struct rbln_sampling {
  int max_new_tokens;
  float temperature;        /* 0: greedy */
  int top_k;                /* 0: all tokens */
  float top_p;              /* 1: no nucleus cut */
  unsigned long long seed;  /* sequence i uses seed + i */
  const long long *stop_tokens;
  size_t num_stop_tokens;
} rbln_sampling;
/* Greedy decoding of up to 16 tokens. */
rbln_sampling rbln_sampling_default(void);

/* Generates for num_prompts prompts scheduled together (continuous
 * batching). out_tokens holds num_prompts * max_new_tokens ids, row i for
 * prompt i; out_lens[i] is how many it got. 0 on success. */
int rbln_llm_generate(rbln_llm *llm, const long long *const *prompts, const size_t *prompt_lens,
                      size_t num_prompts, const rbln_sampling *sampling, long long *out_tokens,
                      size_t *out_lens);
/* Of the last generate: modeled device seconds, and tokens generated. */
double rbln_llm_last_device_seconds(const rbln_llm *llm);
/* KV blocks that exist (the reserved one not counted) and the peak in use
 * during the last generate. */
size_t rbln_llm_num_blocks(const rbln_llm *llm);
size_t rbln_llm_peak_blocks(const rbln_llm *llm);

#ifdef __cplusplus
}
#endif

#endif /* RBLN_RUNTIME_RBLN_H */

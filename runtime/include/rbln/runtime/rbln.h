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

/* Name, element type ("f32", "f16", "bf16", "i64", "i32", "bool", ...) and
 * shape of input/output `index`. 0 on success. */
typedef struct rbln_tensor_info {
  const char *name;  /* valid while the runtime lives */
  const char *dtype;
  int rank;
  long long dims[8];
} rbln_tensor_info;
int rbln_input_info(const rbln_runtime *rt, int index, rbln_tensor_info *info);
int rbln_output_info(const rbln_runtime *rt, int index, rbln_tensor_info *info);

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
 * prompt i; out_lens[i] is how many it got. 0 on success; 2
 * (RBLN_INVALID_INPUT) when a prompt is refused (empty, too long, a token
 * outside the vocabulary) before anything ran; 1 on other errors. */
int rbln_llm_generate(rbln_llm *llm, const long long *const *prompts, const size_t *prompt_lens,
                      size_t num_prompts, const rbln_sampling *sampling, long long *out_tokens,
                      size_t *out_lens);
/* Of the last generate: modeled device seconds, and tokens generated. */
double rbln_llm_last_device_seconds(const rbln_llm *llm);
/* KV blocks that exist (the reserved one not counted) and the peak in use
 * during the last generate. */
size_t rbln_llm_num_blocks(const rbln_llm *llm);
size_t rbln_llm_peak_blocks(const rbln_llm *llm);

/* --- Step API: the caller schedules and owns the block tables ------------- *
 * One engine step runs exactly the sequences handed to it: per sequence the
 * tokens to process (a prefill chunk at any start position, or one decode
 * token), the position of its first token and its block-table rows. Prefill
 * chunks and decode tokens of different sequences may share a step; the
 * runtime picks the programs (prefill per chunk, decode buckets), pads and
 * reports what ran. Block 0 is reserved in each cache (vLLM's null block):
 * padding writes there, so it is never a sequence's block. A handle driven
 * by steps must not also run rbln_llm_generate, whose own block manager
 * would hand out the same blocks. */

typedef struct rbln_llm_options {
  size_t kv_memory_bytes;     /* global cache budget; 0: see num_blocks */
  long long num_blocks;       /* global KV blocks incl. block 0; 0: from kv_memory_bytes, else
                                 enough for the largest decode batch at max_seq_len */
  long long num_local_blocks; /* sliding-window cache blocks incl. block 0; 0: a ring per
                                 sequence of the largest decode batch */
  int sim_threads;            /* simulator threads; -1: one per core */
  int compute;                /* 1: compute results; 0: timing only */
} rbln_llm_options;
rbln_llm_options rbln_llm_options_default(void);
rbln_llm *rbln_llm_create_with(rbln_model *model, const rbln_llm_options *options);

#define RBLN_MAX_DECODE_BUCKETS 32
typedef struct rbln_llm_info {
  long long max_seq_len, block_size, prefill_chunk, vocab_size, num_layers;
  long long num_blocks, num_local_blocks; /* 0 when the model has no such layers */
  long long kv_bytes_per_block, local_kv_bytes_per_block;
  long long sliding_window, local_ring_blocks;
  int num_decode_buckets;
  long long decode_buckets[RBLN_MAX_DECODE_BUCKETS]; /* ascending */
} rbln_llm_info;
int rbln_llm_get_info(const rbln_llm *llm, rbln_llm_info *info);

typedef struct rbln_step_seq {
  const long long *tokens;
  size_t num_tokens;
  long long start;                /* tokens of the sequence already in the cache */
  const int *block_table;         /* >= ceil((start + num_tokens) / block_size) entries */
  size_t block_table_len;
  const int *local_block_table;   /* sliding-window layers; NULL if none */
  size_t local_block_table_len;
  int all_logits;                 /* logits of every token, not only the last */
} rbln_step_seq;

/* Return codes of rbln_llm_step. */
#define RBLN_OK 0
#define RBLN_ERROR 1          /* a run failed (a trap); rbln_last_error says why */
#define RBLN_INVALID_INPUT 2  /* refused before any cache was touched */

/* Runs one step. logits receives rows x vocab floats, rows = the sum over
 * sequences of (all_logits ? num_tokens : 1), in sequence order;
 * logits_capacity is its size in floats. */
int rbln_llm_step(rbln_llm *llm, const rbln_step_seq *seqs, size_t num_seqs, float *logits,
                  size_t logits_capacity);
/* Of the last step: modeled device seconds, simulator wall seconds and the
 * number of program runs; run i's function name, real and padded rows
 * (tokens for prefill), and modeled seconds. */
typedef struct rbln_step_run {
  const char *function;
  long long rows, padded;
  double device_seconds;
} rbln_step_run;
size_t rbln_llm_last_step_runs(const rbln_llm *llm, double *device_seconds, double *wall_seconds);
int rbln_llm_last_step_run(const rbln_llm *llm, size_t index, rbln_step_run *run);
/* Copies global KV block `from` to `to` in every layer (copy-on-write). */
int rbln_llm_copy_block(rbln_llm *llm, int from, int to);

#ifdef __cplusplus
}
#endif

#endif /* RBLN_RUNTIME_RBLN_H */

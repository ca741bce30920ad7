/* Generation through the C API: load a generation artifact, allocate its KV
 * cache, and run greedy decoding for the prompts given on the command line
 * (token ids separated by commas), all scheduled together.
 *
 *   rbln-compile test/models/llama_past.onnx -o llama.rbln --max-seq-len=256 \
 *       --kvcache-block-size=16 --decode-batch-sizes=1,4
 *   rbln-llm-example llama.rbln 1,15,27 7,7,7,7,7 --max-new-tokens=8
 */
#include "rbln/runtime/rbln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t parse_ids(const char *text, long long *out, size_t cap) {
  size_t n = 0;
  const char *p = text;
  while (*p && n < cap) {
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p)
      return (size_t)-1;
    out[n++] = v;
    p = *end == ',' ? end + 1 : end;
    if (*end && *end != ',')
      return (size_t)-1;
  }
  return n;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s model.rbln PROMPT [PROMPT...] [--max-new-tokens=N]\n", argv[0]);
    return 2;
  }
  rbln_sampling sampling = rbln_sampling_default();
  enum { kMaxPrompts = 16, kMaxLen = 4096 };
  static long long storage[kMaxPrompts][kMaxLen];
  const long long *prompts[kMaxPrompts];
  size_t lens[kMaxPrompts], n = 0;
  for (int i = 2; i < argc; ++i) {
    if (strncmp(argv[i], "--max-new-tokens=", 17) == 0) {
      sampling.max_new_tokens = atoi(argv[i] + 17);
      continue;
    }
    if (n == kMaxPrompts) {
      fprintf(stderr, "at most %d prompts\n", kMaxPrompts);
      return 2;
    }
    lens[n] = parse_ids(argv[i], storage[n], kMaxLen);
    if (lens[n] == (size_t)-1 || lens[n] == 0) {
      fprintf(stderr, "'%s' is not a list of token ids like 1,15,27\n", argv[i]);
      return 2;
    }
    prompts[n] = storage[n];
    ++n;
  }
  rbln_model *model = rbln_model_load(argv[1]);
  if (!model) {
    fprintf(stderr, "error: %s\n", rbln_last_error());
    return 1;
  }
  rbln_llm *llm = rbln_llm_create(model, 0);
  if (!llm) {
    fprintf(stderr, "error: %s\n", rbln_last_error());
    rbln_model_destroy(model);
    return 1;
  }
  long long *out = calloc(n * (size_t)sampling.max_new_tokens + 1, sizeof(long long));
  size_t out_lens[kMaxPrompts];
  int status = rbln_llm_generate(llm, prompts, lens, n, &sampling, out, out_lens);
  if (status != 0) {
    fprintf(stderr, "error: %s\n", rbln_last_error());
  } else {
    for (size_t i = 0; i < n; ++i) {
      printf("sequence %zu:", i);
      for (size_t k = 0; k < out_lens[i]; ++k)
        printf("%s%lld", k ? "," : " ", out[i * (size_t)sampling.max_new_tokens + k]);
      printf("\n");
    }
    printf("modeled device time: %.3f ms; KV blocks: peak %zu of %zu\n",
           rbln_llm_last_device_seconds(llm) * 1e3, rbln_llm_peak_blocks(llm), rbln_llm_num_blocks(llm));
  }
  free(out);
  rbln_llm_destroy(llm);
  rbln_model_destroy(model);
  return status == 0 ? 0 : 1;
}

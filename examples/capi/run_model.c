/* run_model.c - the rbln C API in a dozen calls.
 *
 *   rbln-capi-example model.rbln
 *
 * Fills every f32 input with x[i] = sin(0.1 * i), runs the model on the
 * simulator and prints each output's values, one per line.
 */
#include "rbln/runtime/rbln.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s model.rbln\n", argv[0]);
    return 2;
  }
  rbln_model *model = rbln_model_load(argv[1]);
  if (!model) {
    fprintf(stderr, "error: %s\n", rbln_last_error());
    return 1;
  }
  rbln_runtime *rt = rbln_runtime_create(model, NULL);
  if (!rt) {
    fprintf(stderr, "error: %s\n", rbln_last_error());
    rbln_model_destroy(model);
    return 1;
  }
  for (int i = 0; i < rbln_num_inputs(rt); ++i) {
    size_t bytes = rbln_input_size(rt, i);
    float *x = malloc(bytes);
    for (size_t k = 0; k < bytes / sizeof(float); ++k)
      x[k] = sinf(0.1f * (float)k);
    if (rbln_set_input(rt, i, x, bytes) != 0) {
      fprintf(stderr, "error: %s\n", rbln_last_error());
      return 1;
    }
    free(x);
  }
  if (rbln_run(rt) != 0) {
    fprintf(stderr, "error: %s\n", rbln_last_error());
    return 1;
  }
  for (int i = 0; i < rbln_num_outputs(rt); ++i) {
    size_t bytes = 0;
    const float *y = rbln_get_output(rt, i, &bytes);
    printf("output %d\n", i);
    for (size_t k = 0; k < bytes / sizeof(float); ++k)
      printf("%.9g\n", y[k]);
  }
  fprintf(stderr, "modeled time: %.3f us\n", rbln_last_run_seconds(rt) * 1e6);
  rbln_runtime_destroy(rt);
  rbln_model_destroy(model);
  return 0;
}

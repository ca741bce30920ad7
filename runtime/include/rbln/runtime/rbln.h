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

#ifdef __cplusplus
}
#endif

#endif /* RBLN_RUNTIME_RBLN_H */

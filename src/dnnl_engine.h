/* What the convolution kernels and the inference plan share of oneDNN: the process's CPU
 * engine and stream (started on first use; 0 if oneDNN failed to start) and the test of
 * a primitive's implementation. */
#ifndef GCAM_DNNL_ENGINE_H
#define GCAM_DNNL_ENGINE_H

#include <oneapi/dnnl/dnnl.h>

int gcam_dnnl_engine(dnnl_engine_t *engine, dnnl_stream_t *stream);

/* 1 if the primitive descriptor is oneDNN's reference code (slow loops, not worth
 * running instead of the OpenBLAS path or Darknet's layers), or cannot be told. */
int gcam_dnnl_is_reference(dnnl_primitive_desc_t pd);

#endif

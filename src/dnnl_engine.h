/* The process's oneDNN CPU engine and stream, shared by the convolution kernels and the
 * inference plan: started on first use; 0 if oneDNN failed to start. */
#ifndef GCAM_DNNL_ENGINE_H
#define GCAM_DNNL_ENGINE_H

#include <oneapi/dnnl/dnnl.h>

int gcam_dnnl_engine(dnnl_engine_t *engine, dnnl_stream_t *stream);

#endif

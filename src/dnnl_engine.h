/* What the convolution kernels and the inference plan share of oneDNN: the process's CPU
 * engine and stream (started on first use; 0 if oneDNN failed to start), and the making
 * of primitives on them (after gcam_dnnl_engine has started it). */
#ifndef GCAM_DNNL_ENGINE_H
#define GCAM_DNNL_ENGINE_H

#include <oneapi/dnnl/dnnl.h>

int gcam_dnnl_engine(dnnl_engine_t *engine, dnnl_stream_t *stream);

/* A primitive from an operation descriptor (attr and hint may be NULL), or NULL when it
 * fails or would be oneDNN's reference code (slow loops, not worth running instead of the
 * OpenBLAS path or Darknet's layers). With pd_out, the primitive descriptor goes there on
 * success, for the caller to query and destroy. */
dnnl_primitive_t gcam_dnnl_primitive(const void *desc, const_dnnl_primitive_attr_t attr,
                                     dnnl_primitive_desc_t hint, dnnl_primitive_desc_t *pd_out);

/* A reorder from one layout to another, adding into the destination when `accumulate`;
 * NULL if oneDNN has none. */
dnnl_primitive_t gcam_dnnl_reorder(const dnnl_memory_desc_t *from, const dnnl_memory_desc_t *to,
                                   int accumulate);

/* Runs `reorder` (from gcam_dnnl_reorder) from `from` (laid out as from_md) into `to` (as
 * to_md) and waits for it; 1 on success. */
int gcam_dnnl_reorder_run(dnnl_primitive_t reorder, const dnnl_memory_desc_t *from_md,
                          const void *from, const dnnl_memory_desc_t *to_md, void *to);

#endif

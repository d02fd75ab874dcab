/* Activation functions and their gradients. The common ones are inlined loops the
 * compiler vectorises; the rest defer to Darknet's definitions so both kernel sets
 * agree on every activation Darknet knows. Large arrays are split between the kernel
 * threads in contiguous slices (element by element, so the same values). */
#include "darknet_internal.h"
#include "kernels.h"
#include "parallel.h"

#include <math.h>

typedef struct act_job {
    float *x; /* forward: the values; backward: the gradient */
    const float *y;
    size_t n;
    ACTIVATION a;
} act_job;

static void forward_part(void *arg, int part, int parts) {
    const act_job *job = arg;
    size_t lo = job->n * part / parts, hi = job->n * (part + 1) / parts;
    gcam_act_slice(job->x + lo, hi - lo, job->a);
}

static void backward_part(void *arg, int part, int parts) {
    const act_job *job = arg;
    size_t lo = job->n * part / parts, hi = job->n * (part + 1) / parts;
    gcam_act_gradient_slice(job->y + lo, hi - lo, job->a, job->x + lo);
}

void gcam_act_forward(float *x, size_t n, ACTIVATION a) {
    act_job job = {x, NULL, n, a};
    if (a != LINEAR) gcam_parallel_run_sized(forward_part, &job, n);
}

void gcam_act_backward(const float *y, size_t n, ACTIVATION a, float *delta) {
    act_job job = {delta, y, n, a};
    if (a != LINEAR) gcam_parallel_run_sized(backward_part, &job, n);
}

void gcam_act_slice(float *x, size_t n, ACTIVATION a) {
    switch (a) {
    case LINEAR:
        return;
    case RELU:
        for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0;
        return;
    case LEAKY:
        for (size_t i = 0; i < n; ++i) x[i] = x[i] > 0 ? x[i] : 0.1f * x[i];
        return;
    case LOGISTIC:
        for (size_t i = 0; i < n; ++i) x[i] = 1.f / (1.f + expf(-x[i]));
        return;
    default:
        activate_array(x, (int)n, a);
    }
}

void gcam_act_gradient_slice(const float *y, size_t n, ACTIVATION a, float *delta) {
    switch (a) {
    case LINEAR:
        return;
    case RELU:
        for (size_t i = 0; i < n; ++i) delta[i] = y[i] > 0 ? delta[i] : 0;
        return;
    case LEAKY:
        for (size_t i = 0; i < n; ++i) delta[i] *= y[i] > 0 ? 1.f : 0.1f;
        return;
    case LOGISTIC:
        for (size_t i = 0; i < n; ++i) delta[i] *= (1.f - y[i]) * y[i];
        return;
    default:
        gradient_array(y, (int)n, a, delta);
    }
}

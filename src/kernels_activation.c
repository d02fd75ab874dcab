/* Activation functions and their gradients. The common ones are inlined loops the
 * compiler vectorises; the rest defer to Darknet's definitions so both kernel sets
 * agree on every activation Darknet knows. */
#include "darknet_internal.h"
#include "kernels.h"

#include <math.h>

void gcam_act_forward(float *x, size_t n, ACTIVATION a) {
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

void gcam_act_backward(const float *y, size_t n, ACTIVATION a, float *delta) {
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

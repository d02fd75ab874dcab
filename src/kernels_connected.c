/* Fully connected layer on OpenBLAS. Layouts (Darknet's):
 *   input (batch, inputs)   weights (outputs, inputs)   output (batch, outputs) */
#include "kernels.h"

#include <cblas.h>
#include <string.h>

void gcam_connected_forward(layer l, network net) {
    for (int b = 0; b < l.batch; ++b)
        memcpy(l.output + (size_t)b * l.outputs, l.biases, sizeof(float) * (size_t)l.outputs);
    /* With batch norm the bias is BN's beta, added after normalisation. */
    float beta = l.batch_normalize ? 0.f : 1.f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, l.batch, l.outputs, l.inputs, 1.f,
                net.input, l.inputs, l.weights, l.inputs, beta, l.output, l.outputs);
    if (l.batch_normalize)
        gcam_bn_forward(&l, net.train, l.output, l.batch, l.outputs, 1, l.activation, 0);
    else
        gcam_act_forward(l.output, (size_t)l.outputs * l.batch, l.activation);
}

void gcam_connected_backward(layer l, network net) {
    if (l.batch_normalize) {
        gcam_bn_backward(&l, net.train, l.output, l.delta, l.batch, l.outputs, 1, l.activation, 0);
    } else {
        gcam_act_backward(l.output, (size_t)l.outputs * l.batch, l.activation, l.delta);
        if (net.train)
            for (int b = 0; b < l.batch; ++b)
                for (int o = 0; o < l.outputs; ++o)
                    l.bias_updates[o] += l.delta[(size_t)b * l.outputs + o];
    }
    if (net.train)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, l.outputs, l.inputs, l.batch, 1.f,
                    l.delta, l.outputs, net.input, l.inputs, 1.f, l.weight_updates, l.inputs);
    if (net.delta)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, l.batch, l.inputs, l.outputs, 1.f,
                    l.delta, l.outputs, l.weights, l.inputs, 1.f, net.delta, l.inputs);
}

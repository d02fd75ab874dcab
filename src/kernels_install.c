/* Chooses the kernel set and installs it into each layer's function pointers, which is
 * how Darknet's own forward_network/backward_network/update_network reach our code. */
#include "kernels.h"

#include "darknet_internal.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

gcam_kernels gcam_kernels_from_env(void) {
    const char *v = getenv("GCAM_KERNELS");
    if (v && strcmp(v, "darknet") == 0) return GCAM_KERNELS_DARKNET;
    if (v && strcmp(v, "blas") == 0) return GCAM_KERNELS_BLAS;
    return GCAM_KERNELS_FAST;
}

const char *gcam_blas_kernels(void) {
    return openblas_get_corename();
}

void gcam_kernels_install(network *net, gcam_kernels kernels) {
    int fast = kernels != GCAM_KERNELS_DARKNET, dnnl = kernels == GCAM_KERNELS_FAST;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        switch (l->type) {
        case CONVOLUTIONAL:
            l->forward = !fast  ? forward_convolutional_layer
                         : dnnl ? gcam_conv_forward
                                : gcam_conv_forward_blas;
            l->backward = !fast  ? backward_convolutional_layer
                          : dnnl ? gcam_conv_backward
                                 : gcam_conv_backward_blas;
            l->update = fast ? gcam_conv_update : update_convolutional_layer;
            break;
        case CONNECTED:
            l->forward = fast ? gcam_connected_forward : forward_connected_layer;
            l->backward = fast ? gcam_connected_backward : backward_connected_layer;
            l->update = fast ? gcam_connected_update : update_connected_layer;
            break;
        case BATCHNORM:
            l->forward = fast ? gcam_batchnorm_forward : forward_batchnorm_layer;
            l->backward = fast ? gcam_batchnorm_backward : backward_batchnorm_layer;
            break;
        case MAXPOOL:
            l->forward = fast ? gcam_maxpool_forward : forward_maxpool_layer;
            l->backward = fast ? gcam_maxpool_backward : backward_maxpool_layer;
            break;
        case SHORTCUT:
            l->forward = fast ? gcam_shortcut_forward : forward_shortcut_layer;
            l->backward = fast ? gcam_shortcut_backward : backward_shortcut_layer;
            break;
        case DROPOUT:
            l->forward = fast ? gcam_dropout_forward : forward_dropout_layer;
            l->backward = fast ? gcam_dropout_backward : backward_dropout_layer;
            break;
        default:
            break;
        }
    }
}

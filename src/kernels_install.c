/* Chooses the kernel set and installs it into each layer's function pointers, which is
 * how Darknet's own forward_network/backward_network/update_network reach our code. */
#include "darknet_internal.h"
#include "gcam.h"
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

gcam_kernels gcam_kernels_from_env(void) {
    const char *v = getenv("GCAM_KERNELS");
    return v && strcmp(v, "darknet") == 0 ? GCAM_KERNELS_DARKNET : GCAM_KERNELS_FAST;
}

void gcam_kernels_install(network *net, gcam_kernels kernels) {
    int fast = kernels == GCAM_KERNELS_FAST;
    for (int i = 0; i < net->n; ++i) {
        layer *l = &net->layers[i];
        switch (l->type) {
        case CONVOLUTIONAL:
            l->forward = fast ? fast_forward_convolutional : forward_convolutional_layer;
            l->backward = fast ? fast_backward_convolutional : backward_convolutional_layer;
            l->update = fast ? fast_update_convolutional : update_convolutional_layer;
            break;
        case CONNECTED:
            l->forward = fast ? fast_forward_connected : forward_connected_layer;
            l->backward = fast ? fast_backward_connected : backward_connected_layer;
            l->update = fast ? fast_update_connected : update_connected_layer;
            break;
        case BATCHNORM:
            l->forward = fast ? fast_forward_batchnorm : forward_batchnorm_layer;
            l->backward = fast ? fast_backward_batchnorm : backward_batchnorm_layer;
            break;
        case MAXPOOL:
            l->forward = fast ? fast_forward_maxpool : forward_maxpool_layer;
            l->backward = fast ? fast_backward_maxpool : backward_maxpool_layer;
            break;
        case DROPOUT:
            l->forward = fast ? fast_forward_dropout : forward_dropout_layer;
            l->backward = fast ? fast_backward_dropout : backward_dropout_layer;
            break;
        default:
            break;
        }
    }
}

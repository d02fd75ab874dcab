/* Dropout: only the inference-mode backward differs from Darknet's (see kernels.h). */
#include "darknet_internal.h"
#include "kernels.h"

void fast_backward_dropout(layer l, network net) {
    if (net.train) backward_dropout_layer(l, net);
}

/* Functions that libdarknet exports but darknet.h does not declare. We call them for
 * the stock kernel set (GCAM_KERNELS=darknet), for exotic activations, and in tests
 * that compare our kernels with Darknet's. Signatures are those of the 2018-09-14
 * sources that Debian packages. */
#ifndef GCAM_DARKNET_INTERNAL_H
#define GCAM_DARKNET_INTERNAL_H

#include <darknet.h>

void activate_array(float *x, const int n, const ACTIVATION a);
void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta);
ACTIVATION get_activation(char *s);

void forward_convolutional_layer(layer l, network net);
void backward_convolutional_layer(layer l, network net);
void update_convolutional_layer(layer l, update_args a);
void forward_connected_layer(layer l, network net);
void backward_connected_layer(layer l, network net);
void update_connected_layer(layer l, update_args a);
void forward_batchnorm_layer(layer l, network net);
void backward_batchnorm_layer(layer l, network net);
void forward_shortcut_layer(const layer l, network net);
void backward_shortcut_layer(const layer l, network net);
void forward_avgpool_layer(const layer l, network net);
void backward_avgpool_layer(const layer l, network net);
void forward_maxpool_layer(const layer l, network net);
void backward_maxpool_layer(const layer l, network net);
void forward_dropout_layer(layer l, network net);
void backward_dropout_layer(layer l, network net);

void gemm(int TA, int TB, int M, int N, int K, float ALPHA, float *A, int lda, float *B, int ldb,
          float BETA, float *C, int ldc);

#endif

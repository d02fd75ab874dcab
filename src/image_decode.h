/* Images read but not yet decoded: their size is known from the header, so that a caller
 * can choose how much of the image to decode. The training loader uses it to decode a
 * large JPEG at the reduced size its view needs (gcam_image_load decodes whole images). */
#ifndef GCAM_IMAGE_DECODE_H
#define GCAM_IMAGE_DECODE_H

#include "gcam/data.h"

#include <stddef.h>

typedef struct gcam_encoded_image {
    const char *path;     /* borrowed, for messages */
    unsigned char *bytes; /* (size) the file's contents */
    size_t size;
    int w, h; /* from the header; 0 where it could not be read (decoding then fails) */
    int jpeg; /* a JPEG, which can be decoded reduced */
} gcam_encoded_image;

/* Reads the file at path and its header. Fails (with a message naming path) where the
 * file cannot be read, or declares more than GCAM_IMAGE_MAX_PIXELS pixels, or has a PNM
 * header the decoder mishandles. */
int gcam_encoded_image_read(gcam_encoded_image *enc, const char *path, gcam_error *err);

/* Decodes enc with c channels (1 or 3) into im. A JPEG with reduction 2, 4 or 8 is
 * decoded at ceil(w / reduction) x ceil(h / reduction) by libjpeg-turbo's scaled inverse
 * DCT (pixel (i, j) then covers source pixels [i r, (i + 1) r) x [j r, (j + 1) r));
 * everything else, and reduction 1, gives the full image exactly as gcam_image_load. */
int gcam_encoded_image_decode(const gcam_encoded_image *enc, int c, int reduction, gcam_image *im,
                              gcam_error *err);

void gcam_encoded_image_free(gcam_encoded_image *enc);

#endif

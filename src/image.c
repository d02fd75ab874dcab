/* Image decoding (gcam_image_load in gcam/data.h, and the encoded images of
 * image_decode.h): stb_image for every format, compiled here with static linkage so that
 * it cannot clash with the copy that libdarknet exports, behind checks of the headers it
 * mishandles; libjpeg-turbo for JPEGs decoded at a reduced size, which its DCT produces
 * without decoding the full image. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
/* stb defines many functions we do not call; its warnings are reported at the end of
 * the file, so they are silenced for the whole file. */
#pragma GCC diagnostic ignored "-Wunused-function"
/* Inlined into the decode from memory, stb's buffer refill (which a memory source never
 * reaches) looks to GCC as if it read an unset length. */
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <stb_image.h>
#include <turbojpeg.h>

#include "gcam/data.h"

#include "error.h"
#include "image_decode.h"
#include "image_ops.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Binary PNM (P5/P6) headers stb_image mishandles: numbers that overflow its int parser
 * (undefined behaviour) and 16-bit samples, whose path overruns its buffer on short files
 * (both found by fuzzing). Returns the reason to refuse the file, or NULL. */
static const char *pnm_refusal(const unsigned char *bytes, size_t size) {
    char head[256];
    size_t n = size < sizeof head - 1 ? size : sizeof head - 1;
    memcpy(head, bytes, n);
    head[n] = '\0';
    if (n < 2 || head[0] != 'P' || (head[1] != '5' && head[1] != '6')) return NULL;
    size_t i = 2;
    for (int k = 0; k < 3; ++k) { /* width, height, maximum value */
        for (;;) {                /* whitespace and comments */
            while (i < n && isspace((unsigned char)head[i])) ++i;
            if (i < n && head[i] == '#')
                while (i < n && head[i] != '\n') ++i;
            else
                break;
        }
        size_t digits = 0;
        long value = 0;
        while (i < n && isdigit((unsigned char)head[i]) && digits < 10)
            value = value * 10 + (head[i++] - '0'), ++digits;
        if (i < n && isdigit((unsigned char)head[i])) return "a PNM header number is too large";
        if (k < 2 && value > (1 << 24)) return "a PNM header number is too large";
        if (k == 2 && value > 255) return "16-bit PNM images are not supported";
    }
    return NULL;
}

int gcam_encoded_image_read(gcam_encoded_image *enc, const char *path, gcam_error *err) {
    memset(enc, 0, sizeof *enc);
    enc->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) return gcam_fail(err, "%s: cannot open image: %s", path, strerror(errno));
    size_t capacity = 1 << 16;
    unsigned char *bytes = gcam_xmalloc(capacity);
    size_t size = 0, got;
    while ((got = fread(bytes + size, 1, capacity - size, f)) > 0) {
        size += got;
        if (size == capacity) bytes = gcam_xrealloc(bytes, capacity *= 2);
    }
    int read_error = ferror(f);
    fclose(f);
    if (read_error) {
        free(bytes);
        return gcam_fail(err, "%s: cannot read image", path);
    }
    enc->bytes = bytes;
    enc->size = size;
    const char *refusal = pnm_refusal(bytes, size);
    if (refusal) {
        gcam_encoded_image_free(enc);
        return gcam_fail(err, "%s: %s", path, refusal);
    }
    /* A small file may declare a huge image: refuse before decoding allocates it. The
     * size stays unknown (0) where stb cannot read the header; decoding then fails with
     * its reason. */
    int w, h, file_channels;
    if (size <= INT32_MAX && stbi_info_from_memory(bytes, (int)size, &w, &h, &file_channels)) {
        if ((size_t)w * h > GCAM_IMAGE_MAX_PIXELS) {
            gcam_encoded_image_free(enc);
            return gcam_fail(err,
                             "%s: image of %d x %d pixels is larger than the limit of %d "
                             "megapixels",
                             path, w, h, GCAM_IMAGE_MAX_PIXELS >> 20);
        }
        enc->w = w;
        enc->h = h;
    }
    enc->jpeg = size >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff;
    return 0;
}

void gcam_encoded_image_free(gcam_encoded_image *enc) {
    free(enc->bytes);
    memset(enc, 0, sizeof *enc);
}

/* Packed 8-bit pixels (h, w, c) into im's planar floats in [0, 1]. */
static void image_from_bytes(gcam_image *im, const unsigned char *pixels, int w, int h, int c) {
    im->w = w;
    im->h = h;
    im->c = c;
    im->data = gcam_xmalloc(sizeof(float) * (size_t)w * h * c);
    for (int k = 0; k < c; ++k)
        for (size_t i = 0; i < (size_t)w * h; ++i)
            im->data[(size_t)k * w * h + i] = pixels[i * c + k] / 255.f;
}

/* The JPEG reduced by `reduction` in libjpeg-turbo's DCT. */
static int decode_reduced_jpeg(const gcam_encoded_image *enc, int c, int reduction, gcam_image *im,
                               gcam_error *err) {
    tjhandle tj = tjInitDecompress();
    if (!tj) return gcam_fail(err, "%s: cannot start the JPEG decoder", enc->path);
    int w, h, subsampling, colorspace;
    if (tjDecompressHeader3(tj, enc->bytes, enc->size, &w, &h, &subsampling, &colorspace)) {
        int rc = gcam_fail(err, "%s: cannot decode image: %s", enc->path, tjGetErrorStr2(tj));
        tjDestroy(tj);
        return rc;
    }
    tjscalingfactor factor = {1, reduction};
    int rw = TJSCALED(w, factor), rh = TJSCALED(h, factor);
    unsigned char *pixels = gcam_xmalloc((size_t)rw * rh * c); /* (rh, rw, c) */
    int failed = tjDecompress2(tj, enc->bytes, enc->size, pixels, rw, 0, rh,
                               c == 1 ? TJPF_GRAY : TJPF_RGB, TJFLAG_ACCURATEDCT);
    /* A warning (a truncated file, say) still leaves the image decoded, as stb's
     * decoder would; an error leaves nothing to use. */
    if (failed && tjGetErrorCode(tj) != TJERR_WARNING) {
        int rc = gcam_fail(err, "%s: cannot decode image: %s", enc->path, tjGetErrorStr2(tj));
        free(pixels);
        tjDestroy(tj);
        return rc;
    }
    tjDestroy(tj);
    image_from_bytes(im, pixels, rw, rh, c);
    free(pixels);
    return 0;
}

int gcam_encoded_image_decode(const gcam_encoded_image *enc, int c, int reduction, gcam_image *im,
                              gcam_error *err) {
    memset(im, 0, sizeof *im);
    if (c != 1 && c != 3)
        return gcam_fail(err, "%s: networks with %d channels are not supported", enc->path, c);
    if (enc->jpeg && reduction > 1) return decode_reduced_jpeg(enc, c, reduction, im, err);
    if (enc->size > INT32_MAX) return gcam_fail(err, "%s: image file too large", enc->path);
    int w, h, file_channels;
    unsigned char *pixels =
        stbi_load_from_memory(enc->bytes, (int)enc->size, &w, &h, &file_channels, c);
    if (!pixels)
        return gcam_fail(err, "%s: cannot decode image: %s", enc->path, stbi_failure_reason());
    if (w < 1 || h < 1) { /* stb accepts some headers that declare no pixels */
        stbi_image_free(pixels);
        return gcam_fail(err, "%s: image has no pixels (%d x %d)", enc->path, w, h);
    }
    image_from_bytes(im, pixels, w, h, c);
    stbi_image_free(pixels);
    return 0;
}

int gcam_image_load(gcam_image *im, const char *path, int c, gcam_error *err) {
    memset(im, 0, sizeof *im);
    if (c != 1 && c != 3)
        return gcam_fail(err, "%s: networks with %d channels are not supported", path, c);
    gcam_encoded_image enc;
    if (gcam_encoded_image_read(&enc, path, err)) return -1;
    int rc = gcam_encoded_image_decode(&enc, c, 1, im, err);
    gcam_encoded_image_free(&enc);
    return rc;
}

void gcam_image_free(gcam_image *im) {
    free(im->data);
    memset(im, 0, sizeof *im);
}

int gcam_image_load_for_net(const char *path, int w, int h, int c, float *out, gcam_error *err) {
    gcam_image im, sized;
    if (gcam_image_load(&im, path, c, err)) return -1;
    gcam_image_resize(&im, w, h, &sized);
    memcpy(out, sized.data, sizeof(float) * (size_t)w * h * c);
    gcam_image_free(&im);
    gcam_image_free(&sized);
    return 0;
}

/* Image decoding (gcam_image_load in gcam/data.h): stb_image, compiled here with static
 * linkage so that it cannot clash with the copy that libdarknet exports, behind checks
 * of the headers it mishandles. */
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
/* stb defines many functions we do not call; its warnings are reported at the end of
 * the file, so they are silenced for the whole file. */
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image.h>

#include "gcam/data.h"

#include "error.h"
#include "image_ops.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Binary PNM (P5/P6) headers stb_image mishandles: numbers that overflow its int parser
 * (undefined behaviour) and 16-bit samples, whose path overruns its buffer on short files
 * (both found by fuzzing). Returns the reason to refuse f, or NULL; leaves f at its start. */
static const char *pnm_refusal(FILE *f) {
    char head[256];
    size_t n = fread(head, 1, sizeof head - 1, f);
    rewind(f);
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

int gcam_image_load(gcam_image *im, const char *path, int c, gcam_error *err) {
    memset(im, 0, sizeof *im);
    if (c != 1 && c != 3)
        return gcam_fail(err, "%s: networks with %d channels are not supported", path, c);
    FILE *f = fopen(path, "rb");
    if (!f) return gcam_fail(err, "%s: cannot open image: %s", path, strerror(errno));
    const char *refusal = pnm_refusal(f);
    if (refusal) {
        fclose(f);
        return gcam_fail(err, "%s: %s", path, refusal);
    }
    int w, h, file_channels;
    /* A small file may declare a huge image: refuse before decoding allocates it. */
    if (stbi_info_from_file(f, &w, &h, &file_channels) && (size_t)w * h > GCAM_IMAGE_MAX_PIXELS) {
        fclose(f);
        return gcam_fail(err,
                         "%s: image of %d x %d pixels is larger than the limit of %d "
                         "megapixels",
                         path, w, h, GCAM_IMAGE_MAX_PIXELS >> 20);
    }
    unsigned char *pixels = stbi_load_from_file(f, &w, &h, &file_channels, c);
    fclose(f);
    if (!pixels) return gcam_fail(err, "%s: cannot decode image: %s", path, stbi_failure_reason());
    if (w < 1 || h < 1) { /* stb accepts some headers that declare no pixels */
        stbi_image_free(pixels);
        return gcam_fail(err, "%s: image has no pixels (%d x %d)", path, w, h);
    }
    im->w = w;
    im->h = h;
    im->c = c;
    im->data = gcam_xmalloc(sizeof(float) * (size_t)w * h * c);
    for (int k = 0; k < c; ++k)
        for (size_t i = 0; i < (size_t)w * h; ++i)
            im->data[(size_t)k * w * h + i] = pixels[i * c + k] / 255.f;
    stbi_image_free(pixels);
    return 0;
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

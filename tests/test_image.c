/* Image decoding and resizing: grey files become 3 equal channels, an image at the
 * target size is used unchanged, resizing keeps constants constant and linear ramps
 * linear (upscaling), and shrinking averages (a fine checkerboard becomes flat grey). */
#define _DEFAULT_SOURCE /* mkstemps */
#include "check.h"
#include "heatmap.h"
#include "image_ops.h"
#include "testutil.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image_write.h>

static gcam_image make(int w, int h, float (*f)(int, int)) {
    gcam_image im = {w, h, 1, malloc(sizeof(float) * (size_t)w * h)};
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) im.data[y * w + x] = f(x, y);
    return im;
}

static float constant(int x, int y) {
    return 0.3f;
}
static float ramp(int x, int y) {
    return 0.1f * x + 0.05f * y;
}
static float checker(int x, int y) {
    return (float)((x + y) & 1);
}

/* A heatmap's box: a white line one pixel inside a black one along the box's edges
 * (scale 2: each 1 px wide), the pixels inside and outside untouched. */
static void check_boxed_heatmap(void) {
    enum { W = 12, H = 10, S = 2 };
    float image[H * W], map[H * W];
    for (int p = 0; p < H * W; ++p) image[p] = 0.5f, map[p] = 0;
    const float box[4] = {2, 3, 8, 9}; /* x0 y0 x1 y1, input pixels, end exclusive */
    char path[] = "/tmp/gcam-box-XXXXXX.png";
    int fd = mkstemps(path, 4);
    if (fd >= 0) close(fd);
    gcam_error err;
    CHECK(gcam_heatmap_write_png_boxed(path, image, 1, H, W, map, 0, S, box, &err) == 0, "%s",
          err.message);
    gcam_image back = {0};
    CHECK(gcam_image_load(&back, path, 1, &err) == 0 && back.w == W * S && back.h == H * S,
          "the boxed heatmap reads back at %dx%d", W * S, H * S);
    if (back.data) {
        int wrong = 0;
        for (int y = 0; y < H * S; ++y)
            for (int x = 0; x < W * S; ++x) {
                int in = x >= 4 && x <= 15 && y >= 6 && y <= 17; /* the box, canvas pixels */
                int ring = in && (x - 4 < 3 || 15 - x < 3 || y - 6 < 3 || 17 - y < 3);
                int white = ring && (x - 4 == 1 || 15 - x == 1 || y - 6 == 1 || 17 - y == 1) &&
                            x - 4 >= 1 && 15 - x >= 1 && y - 6 >= 1 && 17 - y >= 1;
                float want = white ? 1.f : ring ? 0.f : 128 / 255.f;
                wrong += fabsf(back.data[y * W * S + x] - want) > 0.01f;
            }
        CHECK(wrong == 0, "the outline is white inside black on the box's edges, %d pixels wrong",
              wrong);
    }
    gcam_image_free(&back);
    unlink(path);
}

int main(void) {
    /* grey PNG -> RGB */
    unsigned char grey[6 * 4];
    for (int i = 0; i < 24; ++i) grey[i] = (unsigned char)(i * 10);
    char path[] = "/tmp/gcam-image-XXXXXX.png";
    int fd = mkstemps(path, 4);
    close(fd);
    CHECK(stbi_write_png(path, 6, 4, 1, grey, 6), "write png");
    float rgb[3 * 6 * 4];
    gcam_error err;
    CHECK(gcam_image_load_for_net(path, 6, 4, 3, rgb, &err) == 0, "%s", err.message);
    int same = 1;
    for (int i = 0; i < 24; ++i)
        same &= rgb[i] == grey[i] / 255.f && rgb[24 + i] == rgb[i] && rgb[48 + i] == rgb[i];
    CHECK(same, "grey image not replicated unchanged into 3 channels");
    unlink(path);

    gcam_image c = make(37, 23, constant), out;
    gcam_image_resize(&c, 224, 224, &out);
    CHECK(max_abs_diff(out.data, c.data, 1) < 1e-6, "constant changed");
    double worst = 0;
    for (int i = 0; i < 224 * 224; ++i) worst = fmax(worst, fabs(out.data[i] - 0.3f));
    CHECK(worst < 1e-6, "upscaled constant off by %g", worst);
    gcam_image_free(&out);
    gcam_image_resize(&c, 5, 3, &out);
    worst = 0;
    for (int i = 0; i < 15; ++i) worst = fmax(worst, fabs(out.data[i] - 0.3f));
    CHECK(worst < 1e-6, "downscaled constant off by %g", worst);
    gcam_image_free(&out);
    gcam_image_resize(&c, 37, 23, &out);
    CHECK(memcmp(out.data, c.data, sizeof(float) * 37 * 23) == 0, "same size not a copy");
    gcam_image_free(&out);

    gcam_image r = make(10, 10, ramp);
    gcam_image_resize(&r, 40, 40, &out);
    worst = 0;
    for (int y = 4; y < 36; ++y) /* away from the clamped borders */
        for (int x = 4; x < 36; ++x) {
            double sx = (x + 0.5) / 4 - 0.5, sy = (y + 0.5) / 4 - 0.5;
            worst = fmax(worst, fabs(out.data[y * 40 + x] - (0.1 * sx + 0.05 * sy)));
        }
    CHECK(worst < 1e-5, "upscaled ramp not linear: %g", worst);
    gcam_image_free(&out);

    gcam_image k = make(64, 64, checker);
    gcam_image_resize(&k, 8, 8, &out);
    worst = 0;
    for (int i = 0; i < 64; ++i) worst = fmax(worst, fabs(out.data[i] - 0.5f));
    CHECK(worst < 0.05, "shrunk checkerboard not flat grey: off by %g", worst);
    gcam_image_free(&out);
    gcam_image_free(&c);
    gcam_image_free(&r);
    gcam_image_free(&k);
    /* Hostile PNM headers found by fuzzing: stb_image accepts a zero height, overruns its
     * buffer on short 16-bit files, and overflows on huge numbers. Each is an error. */
    static const struct {
        const char *bytes;
        size_t size;
        const char *message;
    } hostile[] = {
        {"P5\n3 :\n255\n\0002d\226\310\372", 17, "no pixels"},
        {"P5\n3 2\n256\n\0002d\226\252\310\372", 18, "16-bit PNM"},
        {"P5\n99999999999999999999 2\n255\n\001", 31, "too large"},
        {"P6\n# comment\n40000000 2\n255\n\001", 31, "too large"},
    };
    for (size_t k = 0; k < sizeof hostile / sizeof *hostile; ++k) {
        char *path = temp_file_with(hostile[k].bytes, hostile[k].size);
        gcam_image bad;
        int status = gcam_image_load(&bad, path, 3, &err);
        CHECK_ERROR_MENTIONS(status, err, hostile[k].message);
        unlink(path);
        free(path);
    }
    check_boxed_heatmap();
    return check_summary("test_image");
}

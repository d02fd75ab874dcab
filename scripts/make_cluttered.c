/* Cluttered Fashion-MNIST: each item is drawn at a random scale and position on a larger
 * black canvas, among clutter fragments cut from other items, so that the object's
 * position varies and part of the image is misleading. Deterministic for a given seed.
 *
 * usage: make_cluttered IMAGES.idx3 LABELS.idx1 OUT_DIR LIST_FILE BOXES_FILE COUNT SEED
 *                       [CANVAS [CLASSES PER_CLASS SKIP]]
 *
 * Writes COUNT PNG files "<index>_<label>.png" (grey, CANVAS x CANVAS, default 64), item i
 * drawn from source item i (mod the source count), their paths to LIST_FILE, and one
 * line per item to BOXES_FILE: "path x0 y0 x1 y1", the item's tight bounding box in
 * pixels (inclusive x0, y0; exclusive x1, y1) on the canvas.
 *
 * With CLASSES (comma-separated class indices, or "all"), only source items of those
 * classes are drawn, in source order: per class, the first SKIP are passed over and the
 * next PER_CLASS (0: all) are drawn, until COUNT canvases are made or the source runs out.
 * Disjoint sets of one class come from the same source with different SKIPs. Clutter
 * fragments still come from any item. */
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_image_write.h>

#include "../src/rng.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIDE 28
#define MIN_SCALE 0.6f /* item side 17..34 px */
#define MAX_SCALE 1.2f
#define FRAGMENTS 6      /* clutter pieces per canvas */
#define FRAGMENT_SIDE 10 /* source pixels per piece side */
#define INK 32           /* pixel value counted as part of the item for its box */

static const char *const labels[10] = {"T-Shirt", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",  "Shirt",   "Sneaker",  "Bag",   "Ankle-Boot"};

static uint32_t read_be32(FILE *f) {
    unsigned char b[4];
    if (fread(b, 1, 4, f) != 4) return 0;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* Bilinear sample of a 28x28 item at source position (sx, sy), zero outside. */
static float sample(const unsigned char *item, float sx, float sy) {
    if (sx < -0.5f || sy < -0.5f || sx > SIDE - 0.5f || sy > SIDE - 0.5f) return 0;
    float x = sx < 0 ? 0 : (sx > SIDE - 1 ? SIDE - 1 : sx);
    float y = sy < 0 ? 0 : (sy > SIDE - 1 ? SIDE - 1 : sy);
    int x0 = (int)x, y0 = (int)y, x1 = x0 + 1 < SIDE ? x0 + 1 : x0,
        y1 = y0 + 1 < SIDE ? y0 + 1 : y0;
    float fx = x - x0, fy = y - y0;
    float top = item[y0 * SIDE + x0] * (1 - fx) + item[y0 * SIDE + x1] * fx;
    float bottom = item[y1 * SIDE + x0] * (1 - fx) + item[y1 * SIDE + x1] * fx;
    return top * (1 - fy) + bottom * fy;
}

/* Draws the source window [wx, wx + ww) x [wy, wy + wh) of item, scaled by `scale`, with
 * its top-left corner at canvas (cx, cy); pixels combine by maximum. Updates box (x0, y0,
 * x1, y1) with the drawn pixels above INK when box is not NULL. */
static void draw(unsigned char *canvas, int canvas_side, const unsigned char *item, int wx, int wy,
                 int ww, int wh, float scale, int cx, int cy, int *box) {
    int out_w = (int)lroundf(ww * scale), out_h = (int)lroundf(wh * scale);
    for (int y = 0; y < out_h; ++y)
        for (int x = 0; x < out_w; ++x) {
            int px = cx + x, py = cy + y;
            if (px < 0 || py < 0 || px >= canvas_side || py >= canvas_side) continue;
            float v = sample(item, wx + (x + 0.5f) / scale - 0.5f, wy + (y + 0.5f) / scale - 0.5f);
            unsigned char u = (unsigned char)(v > 255 ? 255 : v + 0.5f);
            unsigned char *p = &canvas[py * canvas_side + px];
            if (u > *p) *p = u;
            if (box && u > INK) {
                if (px < box[0]) box[0] = px;
                if (py < box[1]) box[1] = py;
                if (px + 1 > box[2]) box[2] = px + 1;
                if (py + 1 > box[3]) box[3] = py + 1;
            }
        }
}

int main(int argc, char **argv) {
    if (argc != 8 && argc != 9 && argc != 12) {
        fprintf(stderr,
                "usage: %s IMAGES.idx3 LABELS.idx1 OUT_DIR LIST_FILE BOXES_FILE COUNT SEED "
                "[CANVAS [CLASSES PER_CLASS SKIP]]\n",
                argv[0]);
        return 2;
    }
    int wanted[10] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, per_class = 0, skip = 0;
    if (argc == 12) {
        if (strcmp(argv[9], "all")) {
            memset(wanted, 0, sizeof wanted);
            for (const char *p = argv[9]; *p; p += strcspn(p, ",") + (p[strcspn(p, ",")] != 0)) {
                int c = atoi(p);
                if (c < 0 || c > 9) {
                    fprintf(stderr, "make_cluttered: class %d is not in 0..9\n", c);
                    return 2;
                }
                wanted[c] = 1;
            }
        }
        per_class = atoi(argv[10]);
        skip = atoi(argv[11]);
    }
    int count = atoi(argv[6]), canvas_side = argc >= 9 ? atoi(argv[8]) : 64;
    uint64_t seed = strtoull(argv[7], NULL, 10);
    if (count < 1 || canvas_side < 40 || canvas_side > 1024) {
        fprintf(stderr, "make_cluttered: COUNT must be positive and CANVAS in [40, 1024]\n");
        return 2;
    }
    FILE *fi = fopen(argv[1], "rb"), *fl = fopen(argv[2], "rb");
    FILE *list = fopen(argv[4], "w"), *boxes = fopen(argv[5], "w");
    if (!fi || !fl || !list || !boxes) {
        perror("make_cluttered: open");
        return 1;
    }
    uint32_t magic_i = read_be32(fi), n = read_be32(fi), rows = read_be32(fi), cols = read_be32(fi);
    uint32_t magic_l = read_be32(fl), n_labels = read_be32(fl);
    if (magic_i != 2051 || magic_l != 2049 || n != n_labels || rows != SIDE || cols != SIDE) {
        fprintf(stderr, "make_cluttered: %s / %s are not matching 28x28 IDX files\n", argv[1],
                argv[2]);
        return 1;
    }
    /* (n, 28, 28) source items and their labels */
    unsigned char *items = malloc((size_t)n * SIDE * SIDE), *item_labels = malloc(n);
    unsigned char *canvas = malloc((size_t)canvas_side * canvas_side);
    if (!items || !item_labels || !canvas || fread(items, SIDE * SIDE, n, fi) != n ||
        fread(item_labels, 1, n, fl) != n) {
        fprintf(stderr, "make_cluttered: truncated input\n");
        return 1;
    }
    int seen[10] = {0}, taken[10] = {0};
    uint32_t next_source = 0;
    int filtered = argc == 12;
    for (int i = 0; i < count; ++i) {
        gcam_rng rng = gcam_rng_init(seed, (uint64_t)i);
        uint32_t id = (uint32_t)i % n;
        if (filtered) { /* the next source item of a wanted class, past its SKIP */
            for (; next_source < n; ++next_source) {
                int c = item_labels[next_source];
                if (!wanted[c] || seen[c]++ < skip || (per_class && taken[c] >= per_class))
                    continue;
                break;
            }
            if (next_source >= n) break; /* the source ran out */
            id = next_source++;
            ++taken[item_labels[id]];
        }
        memset(canvas, 0, (size_t)canvas_side * canvas_side);
        for (int f = 0; f < FRAGMENTS; ++f) {
            uint32_t other = gcam_rng_next(&rng) % n;
            if (other == id) other = (other + 1) % n;
            int wx = (int)(gcam_rng_next(&rng) % (SIDE - FRAGMENT_SIDE + 1));
            int wy = (int)(gcam_rng_next(&rng) % (SIDE - FRAGMENT_SIDE + 1));
            float scale = gcam_rng_range(&rng, MIN_SCALE, MAX_SCALE) * 1.5f;
            int span = canvas_side - (int)(FRAGMENT_SIDE * scale);
            int cx = (int)(gcam_rng_next(&rng) % (uint32_t)span);
            int cy = (int)(gcam_rng_next(&rng) % (uint32_t)span);
            draw(canvas, canvas_side, items + (size_t)other * SIDE * SIDE, wx, wy, FRAGMENT_SIDE,
                 FRAGMENT_SIDE, scale, cx, cy, NULL);
        }
        float scale = gcam_rng_range(&rng, MIN_SCALE, MAX_SCALE);
        int drawn = (int)lroundf(SIDE * scale);
        int cx = (int)(gcam_rng_next(&rng) % (uint32_t)(canvas_side - drawn + 1));
        int cy = (int)(gcam_rng_next(&rng) % (uint32_t)(canvas_side - drawn + 1));
        int box[4] = {canvas_side, canvas_side, 0, 0};
        draw(canvas, canvas_side, items + (size_t)id * SIDE * SIDE, 0, 0, SIDE, SIDE, scale, cx, cy,
             box);
        if (box[2] == 0) { /* an empty item: its whole square is the box */
            box[0] = cx, box[1] = cy, box[2] = cx + drawn, box[3] = cy + drawn;
        }
        char path[4096];
        snprintf(path, sizeof path, "%s/%05d_%s.png", argv[3], i, labels[item_labels[id]]);
        if (!stbi_write_png(path, canvas_side, canvas_side, 1, canvas, canvas_side)) {
            fprintf(stderr, "make_cluttered: cannot write %s\n", path);
            return 1;
        }
        fprintf(list, "%s\n", path);
        fprintf(boxes, "%s %d %d %d %d\n", path, box[0], box[1], box[2], box[3]);
    }
    if (fclose(list) != 0 || fclose(boxes) != 0) {
        perror("make_cluttered: write");
        return 1;
    }
    fclose(fi);
    fclose(fl);
    free(items);
    free(item_labels);
    free(canvas);
    return 0;
}

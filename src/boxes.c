/* Boxes files (gcam/data.h): "path x0 y0 x1 y1" lines, the ground truth of the pointing
 * game and of box-guided training. */
#include "gcam/data.h"

#include "error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct boxed_path {
    char *path;
    float box[4];
    int line; /* order in the file, so that equal paths keep it */
} boxed_path;

static int by_path(const void *a, const void *b) {
    const boxed_path *x = a, *y = b;
    int c = strcmp(x->path, y->path);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Sorts the boxes by path, so that a lookup is a binary search: training looks up every
 * sample it loads. */
static void sort_by_path(gcam_boxes *b) {
    boxed_path *all = gcam_xmalloc(sizeof *all * (size_t)(b->n + 1));
    for (int i = 0; i < b->n; ++i) {
        all[i].path = b->paths[i];
        memcpy(all[i].box, b->boxes[i], sizeof all[i].box);
        all[i].line = i;
    }
    qsort(all, (size_t)b->n, sizeof *all, by_path);
    for (int i = 0; i < b->n; ++i) {
        b->paths[i] = all[i].path;
        memcpy(b->boxes[i], all[i].box, sizeof all[i].box);
    }
    free(all);
}

int gcam_boxes_read(gcam_boxes *b, const char *path, gcam_error *err) {
    memset(b, 0, sizeof *b);
    FILE *f = fopen(path, "r");
    if (!f) return gcam_fail(err, "%s: cannot open boxes file", path);
    char line[8192];
    int capacity = 0, line_no = 0;
    while (fgets(line, sizeof line, f)) {
        ++line_no;
        char *p = line;
        while (isspace((unsigned char)*p)) ++p;
        if (!*p || *p == '#') continue;
        char image[4096];
        float x0, y0, x1, y1;
        char extra;
        if (sscanf(p, "%4095s %f %f %f %f %c", image, &x0, &y0, &x1, &y1, &extra) != 5 ||
            !(x1 > x0) || !(y1 > y0)) {
            fclose(f);
            gcam_boxes_free(b);
            return gcam_fail(err, "%s:%d: expected 'path x0 y0 x1 y1' with x1 > x0 and y1 > y0",
                             path, line_no);
        }
        if (b->n == capacity) {
            capacity = capacity ? 2 * capacity : 256;
            b->paths = gcam_xrealloc(b->paths, sizeof(char *) * (size_t)capacity);
            b->boxes = gcam_xrealloc(b->boxes, sizeof(float[4]) * (size_t)capacity);
        }
        b->paths[b->n] = gcam_xstrdup(image);
        b->boxes[b->n][0] = x0, b->boxes[b->n][1] = y0, b->boxes[b->n][2] = x1;
        b->boxes[b->n][3] = y1;
        ++b->n;
    }
    fclose(f);
    sort_by_path(b);
    return 0;
}

void gcam_boxes_free(gcam_boxes *b) {
    for (int i = 0; i < b->n; ++i) free(b->paths[i]);
    free(b->paths);
    free(b->boxes);
    memset(b, 0, sizeof *b);
}

const float *gcam_boxes_find(const gcam_boxes *b, const char *path) {
    /* the first of the sorted paths not below `path`: for a path listed twice, the box of
     * its first line */
    int lo = 0, hi = b ? b->n : 0;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (strcmp(b->paths[mid], path) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return b && lo < b->n && !strcmp(b->paths[lo], path) ? b->boxes[lo] : NULL;
}

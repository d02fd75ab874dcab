/* The progress bar (see progress.h). */
#include "progress.h"

void gcam_progress_bar(FILE *out, int done, int total, double elapsed) {
    if (!out) return;
    int width = 30, filled = total ? (int)((double)done / total * width) : width;
    double eta = done ? elapsed / done * (total - done) : 0;
    fprintf(out, "\r[%.*s%*s] %d/%d images  %4.0fs elapsed  ETA %4.0fs", filled,
            "##############################", width - filled, "", done, total, elapsed, eta);
    if (done == total) fputc('\n', out);
    fflush(out);
}

/* A progress bar with an ETA for long work (gcam-eval), redrawn in place on a terminal
 * line. */
#ifndef GCAM_PROGRESS_H
#define GCAM_PROGRESS_H

#include <stdio.h>

/* Draws "[####      ] done/total images  Ns elapsed  ETA Ns" on out (nothing when out is
 * NULL), ending the line once done == total. */
void gcam_progress_bar(FILE *out, int done, int total, double elapsed);

#endif

/* Line plots with real text (titles, axis labels, tick numbers, legends), drawn by one
 * layout code to PNG (through cairo) and to SVG (with <text> elements, so the labels are
 * searchable in the file and in an HTML page). Both outputs have the same layout. */
#ifndef GCAM_PLOT_H
#define GCAM_PLOT_H

#include "gcam/core.h"

#include <stddef.h>

typedef struct gcam_plot_series {
    const char *label;            /* legend entry; NULL: not in the legend */
    const double *x, *y;          /* (n) points; a non-finite x or y leaves a gap in the line;
                                     x NULL: x = 0, 1, ..., n - 1 */
    const double *y_low, *y_high; /* (n) optional error bars (both or NULL: none) */
    int n;
    unsigned char rgb[3];
    int markers; /* 1: a marker at each point and no line (e.g. validations) */
    int dashed;
} gcam_plot_series;

typedef struct gcam_plot_panel {
    const char *title, *xlabel, *ylabel; /* each may be NULL */
    double xmin, xmax, ymin, ymax; /* NAN: from the data (with a little margin, nice round ticks) */
    const char *const *xtick_labels; /* optional categorical axis: label k at x = k
                                        (n_xtick_labels); with NAN limits the axis spans
                                        -0.5 .. n_xtick_labels - 0.5 */
    int n_xtick_labels;
    const gcam_plot_series *series;
    int n_series;
} gcam_plot_panel;

typedef struct gcam_plot {
    const char *title; /* figure title, may be NULL */
    const gcam_plot_panel *panels;
    int n_panels, columns; /* panels fill rows of `columns` (< 1: all in one row) */
    int width, height;     /* pixels of the PNG, user units of the SVG; 1..32767 */
} gcam_plot;

/* Writes the plot as a PNG file (antialiased, white background), atomically. */
int gcam_plot_write_png(const gcam_plot *p, const char *path, gcam_error *err);

/* Writes the plot as an SVG file, atomically: the text gcam_plot_svg returns. */
int gcam_plot_write_svg(const gcam_plot *p, const char *path, gcam_error *err);

/* The plot as SVG text (an XML declaration, then one <svg> element), malloc'd, NUL
 * terminated, *size bytes without the NUL; for inline HTML. NULL if the size is out of
 * range. */
char *gcam_plot_svg(const gcam_plot *p, size_t *size);

/* The palette every plot uses for series k: 8 distinct colour-blind-friendly colours,
 * repeated for k >= 8. */
void gcam_plot_colour(int k, unsigned char rgb[3]);

/* Series k's colour, and a dashed line for k = 8..15 (and every other eight after), so
 * that a plot of more than 8 series tells the ones that share a colour apart. */
void gcam_plot_style(int k, gcam_plot_series *s);

#endif

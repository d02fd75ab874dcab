/* PNG encoding and text on RGB canvases, through cairo: the library's one PNG writer,
 * and the one font setting every picture uses, so that heatmap labels, PNG plots and
 * SVG plots measure and look alike. */
#ifndef GCAM_PNG_H
#define GCAM_PNG_H

#include "gcam/core.h"

#include <cairo.h>

/* Writes an 8-bit RGB canvas (h, w, 3) as a PNG file, atomically. w and h must be in
 * 1..32767 (cairo's limit). */
int gcam_png_write_rgb(const char *path, const unsigned char *rgb, int w, int h, gcam_error *err);

/* The same PNG in memory, for embedding: a malloc'd buffer of *size bytes that the
 * caller frees. NULL (and *size 0) if w or h is out of range. */
unsigned char *gcam_png_encode_rgb(const unsigned char *rgb, int w, int h, int *size);

/* Writes a cairo image surface as a PNG file, atomically (plots render into one). */
int gcam_png_write_surface(const char *path, cairo_surface_t *surface, gcam_error *err);

/* Draws one line of text onto the RGB canvas (h, w, 3): x is its left edge, y its
 * baseline, size the font's em in pixels. Only pixels within a couple of pixels of the
 * text's ink change; text outside the canvas is cut off. */
void gcam_png_draw_text(unsigned char *rgb, int w, int h, double x, double y, const char *text,
                        double size, const unsigned char colour[3]);

/* Advance width in pixels of text at size, as gcam_png_draw_text draws it, so that
 * callers can centre or fit labels. */
double gcam_png_text_width(const char *text, double size);

/* Selects the library's font on cr at size: DejaVu Sans (fontconfig substitutes its
 * sans-serif when it is missing), with unhinted metrics so that widths scale linearly
 * with size and an SVG using the same font and sizes gets the PNG's layout. */
void gcam_png_set_font(cairo_t *cr, double size);

/* A malloc'd copy of text that cairo and XML both accept: each byte that is not part of
 * valid UTF-8, and each control character, becomes '?'. (cairo refuses invalid UTF-8
 * by putting the whole context into an error state, which would blank the rest of a
 * picture.) */
char *gcam_png_clean_text(const char *text);

#endif

/* Data: images (decoded into Darknet's planar float layout), Darknet .data files,
 * labelled image lists, boxes files, and the image arguments of the programs. */
#ifndef GCAM_DATA_H
#define GCAM_DATA_H

#include "gcam/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Images ----------------------------------------------------------------------- */

typedef struct gcam_image {
    int w, h, c;
    float *data; /* (c, h, w), values in [0, 1] */
} gcam_image;

/* Images above this many pixels are refused (32 megapixels, 384 MB as RGB floats). */
#define GCAM_IMAGE_MAX_PIXELS (1 << 25)

/* Decodes path (JPEG, PNG, BMP, GIF, TGA, PSD, PNM, HDR) to c channels (1: luminance,
 * 3: RGB; grey images are replicated). Caller frees with gcam_image_free. */
GCAM_API int gcam_image_load(gcam_image *im, const char *path, int c, gcam_error *err);
GCAM_API void gcam_image_free(gcam_image *im);

/* Resamples src to w x h with a separable triangle filter whose support widens when
 * shrinking (so downscaling averages instead of aliasing); half-pixel centres. An image
 * already w x h is copied unchanged. dst is allocated (caller frees). */
GCAM_API void gcam_image_resize(const gcam_image *src, int w, int h, gcam_image *dst);

/* Loads and resizes to a network input (the preprocessing of validation, prediction and
 * heatmaps): writes (c, h, w) floats into out. */
GCAM_API int gcam_image_load_for_net(const char *path, int w, int h, int c, float *out,
                                     gcam_error *err);

/* ---- Darknet .data files ---------------------------------------------------------- */

/* The labels, classes and lists of a .data file ("key = value" lines). Relative paths
 * inside it are taken as Darknet takes them: relative to the current directory. */
typedef struct gcam_data_files {
    int classes;
    char *train, *valid, *backup; /* NULL when absent */
    char **labels;                /* (n_labels), from names= or labels= */
    int n_labels;
    int top; /* top= (default 5) */
} gcam_data_files;

GCAM_API int gcam_data_files_read(gcam_data_files *d, const char *data_path, gcam_error *err);
GCAM_API void gcam_data_files_free(gcam_data_files *d);

/* ---- Labelled image lists --------------------------------------------------------- */

/* A list line is either "path" or "path<TAB>class_index". For a bare path the class is
 * found from its name: a label matches when it equals a whole directory name, the file
 * name without extension, or one of that name's '_'-separated tokens
 * ("train/00012_T-Shirt.png" is T-Shirt, never Shirt; Darknet instead searches each label
 * as a substring of the whole path). Paths that match no label, or several, are counted,
 * reported with examples and left out. */
typedef struct gcam_dataset {
    int n;
    char **paths; /* (n) */
    int *labels;  /* (n) class indices */
    int classes;
    int unmatched; /* paths left out: no label matched */
    int ambiguous; /* paths left out: several labels matched */
} gcam_dataset;

/* Number of labels that match path (see above); *first gets the first one. */
GCAM_API int gcam_label_match(const char *path, char *const *labels, int n_labels, int *first);

/* Reads list_path. labels may be NULL when every line has a tab and an index. Problems
 * with some lines are reported on stderr (count and first examples); an unreadable
 * list, a bad index, or a list with no usable image is an error. */
GCAM_API int gcam_dataset_load(gcam_dataset *ds, const char *list_path, char *const *labels,
                               int n_labels, int classes, gcam_error *err);
GCAM_API void gcam_dataset_free(gcam_dataset *ds);

/* ---- Boxes ------------------------------------------------------------------------ */

/* One box per image, by path: "path x0 y0 x1 y1" lines in the image's own pixels, end
 * exclusive ('#' starts a comment line). */
typedef struct gcam_boxes {
    int n;
    char **paths;      /* (n) */
    float (*boxes)[4]; /* (n) x0 y0 x1 y1 */
} gcam_boxes;

/* Errors name the file and line. */
GCAM_API int gcam_boxes_read(gcam_boxes *b, const char *path, gcam_error *err);
GCAM_API void gcam_boxes_free(gcam_boxes *b);
/* The box of path, borrowed, or NULL. b may be NULL. */
GCAM_API const float *gcam_boxes_find(const gcam_boxes *b, const char *path);

/* ---- Image arguments -------------------------------------------------------------- */

typedef struct gcam_path_list {
    char **paths; /* (n) */
    int n;
} gcam_path_list;

/* Expands a program's image arguments: an image path stays itself, a folder gives its
 * image files (sorted by name), a .list or .txt file the paths it lists (one per line,
 * anything after a tab ignored). Caller frees with gcam_path_list_free, also on failure. */
GCAM_API int gcam_path_list_expand(gcam_path_list *out, char *const *args, int n_args,
                                   gcam_error *err);
GCAM_API void gcam_path_list_free(gcam_path_list *list);

#ifdef __cplusplus
}
#endif
#endif

/* Data: images (decoded into Darknet's planar float layout), Darknet .data files,
 * labelled image lists, boxes files, and the image arguments of the programs. */
#ifndef GCAM_DATA_H
#define GCAM_DATA_H

#include "gcam/core.h"

#include <stdio.h>

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

/* ---- Darknet .data files ---------------------------------------------------------- */

/* The labels, classes and lists of a .data file ("key = value" lines). Relative paths
 * inside it are taken as Darknet takes them: relative to the current directory. */
typedef struct gcam_data_files {
    int classes;
    char *train, *valid; /* list files; NULL when absent, and for a folder */
    char *backup;        /* NULL when absent */
    char **labels;       /* (n_labels), from names= or labels=; a folder's class names */
    int n_labels;
    int top; /* top= (default 5) */
    /* Read from a folder of images (gcam_image_folder_read): its path, and its images as
     * split for training and validation. NULL and empty for a .data file. */
    char *folder;
    gcam_dataset folder_train, folder_valid;
} gcam_data_files;

GCAM_API int gcam_data_files_read(gcam_data_files *d, const char *data_path, gcam_error *err);
GCAM_API void gcam_data_files_free(gcam_data_files *d);

/* ---- Image folders --------------------------------------------------------------- */

/* How a folder without its own validation images is split: within each class, the
 * images are ordered by a seeded hash of their path below the class folder, and the
 * first round(valid_fraction * n) go to validation (at least one when the class has two
 * or more images, never all of them). The split depends on the seed and the file names
 * alone: it is the same on every run and in every program, and adding an image or a
 * class moves no other image across. */
typedef struct gcam_split_options {
    float valid_fraction; /* 0: no validation images */
    unsigned long seed;
} gcam_split_options;

/* Reads a folder of images by class, in either layout:
 *   dir/train/<class>/... and dir/valid/<class>/... (or dir/val/); without valid/, the
 *   training folder is split as above;
 *   dir/<class>/..., split as above.
 * Class names are the folder names in byte order. Images are found recursively below
 * each class folder, by extension (.jpg .jpeg .png .bmp .tga .gif .pnm .ppm .pgm .psd,
 * any case); names starting with '.' are skipped. Errors name the folder: an empty class,
 * a single class, a validation class that training lacks, a folder of neither layout. The
 * backup folder defaults to backup/<folder name>. */
GCAM_API int gcam_image_folder_read(gcam_data_files *d, const char *dir,
                                    const gcam_split_options *split, gcam_error *err);

/* ---- Data sets, from either ------------------------------------------------------- */

/* The data set a program's -data names: a folder (gcam_image_folder_read) or a Darknet
 * .data file (gcam_data_files_read). Caller frees with gcam_data_files_free. */
GCAM_API int gcam_data_open(gcam_data_files *d, const char *path, const gcam_split_options *split,
                            gcam_error *err);

/* Does the data set have training (valid = 0) or validation (valid = 1) images? */
GCAM_API int gcam_data_has_split(const gcam_data_files *d, int valid);

/* Its training (valid = 0) or validation (valid = 1) images, into ds (freed with
 * gcam_dataset_free): a folder's split, or the .data file's list read with its labels. */
GCAM_API int gcam_data_load_split(const gcam_data_files *d, int valid, gcam_dataset *ds,
                                  gcam_error *err);

/* The network's output count against the data set's classes; the error names the number
 * to set in the cfg's head (filters= or output=, with its line). */
GCAM_API int gcam_data_check_classes(const gcam_data_files *d, const char *data_path,
                                     const char *cfg_path, int net_classes, gcam_error *err);

/* Prints the classes with their image counts (a folder), one line per class. */
GCAM_API void gcam_data_print_classes(const gcam_data_files *d, const char *data_path, FILE *out);

/* For a folder: writes labels.txt, <name>_train.list, <name>_valid.list and <name>.data
 * into dir, each atomically, so that the other programs and stock Darknet read the same
 * classes and split from the .data file. A list line is the bare path when Darknet's and
 * gcam's label rules both find its class from the path alone, else "path<TAB>index".
 * *data_path_out (may be NULL) gets the .data file's path. Nothing to do for a .data
 * file. */
GCAM_API int gcam_data_write_files(const gcam_data_files *d, const char *dir, char *data_path_out,
                                   size_t size, gcam_error *err);

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

/* What counts as an image file, for every module that finds images in folders. */
#ifndef GCAM_PATHS_H
#define GCAM_PATHS_H

#include <stddef.h>

/* Does the file name end in an image extension the decoder reads (any case)? */
int gcam_is_image_name(const char *name);

/* The folder's own name (the last component of its real path), into out. */
void gcam_folder_name(const char *dir, char *out, size_t size);

#endif

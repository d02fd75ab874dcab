/* Folders of images by class (gcam_image_folder_read in gcam/data.h): the layout PyTorch's
 * ImageFolder reads, dir/<class>/..., or with the split made already,
 * dir/train/<class>/... beside dir/valid/<class>/... */
#include "gcam/data.h"

#include "error.h"
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Symbolic links may make a folder its own descendant; no real tree of classes is this
 * deep. */
#define MAX_DEPTH 32

typedef struct name_list {
    char **names; /* (n) */
    int n, capacity;
} name_list;

static void name_list_add(name_list *l, char *owned) {
    if (l->n == l->capacity) {
        l->capacity = l->capacity ? 2 * l->capacity : 64;
        l->names = gcam_xrealloc(l->names, sizeof(char *) * (size_t)l->capacity);
    }
    l->names[l->n++] = owned;
}

static void name_list_free(name_list *l) {
    for (int i = 0; i < l->n; ++i) free(l->names[i]);
    free(l->names);
    memset(l, 0, sizeof *l);
}

static int compare_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = gcam_xmalloc(n);
    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

static int is_folder(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Appends the entries of dir that are folders (folders = 1) or image files (folders = 0),
 * not hidden, as full paths (in no particular order). */
static int list_entries(const char *dir, int folders, name_list *out, gcam_error *err) {
    DIR *d = opendir(dir);
    if (!d) return gcam_fail(err, "%s: cannot read folder: %s", dir, strerror(errno));
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *path = join(dir, e->d_name);
        int keep = folders ? is_folder(path) : !is_folder(path) && gcam_is_image_name(e->d_name);
        if (keep)
            name_list_add(out, path);
        else
            free(path);
    }
    closedir(d);
    return 0;
}

/* Every image file below dir, recursively (in no particular order). */
static int find_images(const char *dir, int depth, name_list *out, gcam_error *err) {
    if (depth > MAX_DEPTH)
        return gcam_fail(err, "%s: folders nested over %d deep (a symbolic link loop?)", dir,
                         MAX_DEPTH);
    name_list sub = {0};
    int status = list_entries(dir, 0, out, err) || list_entries(dir, 1, &sub, err);
    for (int i = 0; i < sub.n && !status; ++i)
        status = find_images(sub.names[i], depth + 1, out, err);
    name_list_free(&sub);
    return status ? -1 : 0;
}

static void sort_names(name_list *l) {
    if (l->n > 1) qsort(l->names, (size_t)l->n, sizeof(char *), compare_names);
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* One layout's part: its class folders (full paths) and, per class, its images. */
typedef struct class_tree {
    name_list classes;
    name_list *images; /* (classes.n) */
    int loose;         /* images directly in the root, outside any class folder */
} class_tree;

static void class_tree_free(class_tree *t) {
    for (int c = 0; t->images && c < t->classes.n; ++c) name_list_free(&t->images[c]);
    free(t->images);
    name_list_free(&t->classes);
}

static int read_class_tree(const char *root, class_tree *t, gcam_error *err) {
    memset(t, 0, sizeof *t);
    name_list loose = {0};
    if (list_entries(root, 1, &t->classes, err) || list_entries(root, 0, &loose, err)) {
        name_list_free(&loose);
        return -1;
    }
    t->loose = loose.n;
    name_list_free(&loose);
    sort_names(&t->classes);
    t->images = gcam_xcalloc((size_t)t->classes.n + 1, sizeof(name_list));
    for (int c = 0; c < t->classes.n; ++c) {
        const char *name = base_name(t->classes.names[c]);
        if (strpbrk(name, "\t\n\r"))
            return gcam_fail(err, "%s: a class name may not hold a tab or a line break",
                             t->classes.names[c]);
        if (find_images(t->classes.names[c], 0, &t->images[c], err)) return -1;
        sort_names(&t->images[c]);
        if (!t->images[c].n)
            return gcam_fail(err, "%s: class folder with no images (%s)", t->classes.names[c],
                             "jpg, jpeg, png, bmp, tga, gif, pnm, ppm, pgm or psd");
    }
    return 0;
}

/* splitmix64's finaliser: a well-mixed 64-bit hash of a 64-bit value. */
static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/* FNV-1a of a string. */
static uint64_t hash_string(const char *s) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; ++s) h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h;
}

typedef struct ranked {
    uint64_t key;
    int index;
} ranked;

static int compare_ranked(const void *a, const void *b) {
    const ranked *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->index - y->index;
}

/* The validation share of a class of n images. */
static int valid_count(int n, float fraction) {
    if (fraction <= 0 || n < 2) return 0;
    int k = (int)(fraction * (float)n + 0.5f);
    if (k < 1) k = 1;
    return k < n ? k : n - 1;
}

/* Marks in is_valid (n) the images of one class that go to validation: the first of
 * them ordered by the seeded hash of their path below the class folder. */
static void split_class(char *const *paths, int n, const char *class_dir,
                        const gcam_split_options *o, int *is_valid) {
    ranked *r = gcam_xmalloc(sizeof *r * (size_t)n);
    size_t skip = strlen(class_dir) + 1;
    for (int i = 0; i < n; ++i) {
        r[i].key = mix64(hash_string(paths[i] + skip) ^ mix64((uint64_t)o->seed));
        r[i].index = i;
        is_valid[i] = 0;
    }
    qsort(r, (size_t)n, sizeof *r, compare_ranked);
    for (int k = valid_count(n, o->valid_fraction); k-- > 0;) is_valid[r[k].index] = 1;
    free(r);
}

static void dataset_add(gcam_dataset *ds, int *capacity, const char *path, int label) {
    if (ds->n == *capacity) {
        *capacity = *capacity ? 2 * *capacity : 256;
        ds->paths = gcam_xrealloc(ds->paths, sizeof(char *) * (size_t)*capacity);
        ds->labels = gcam_xrealloc(ds->labels, sizeof(int) * (size_t)*capacity);
    }
    ds->paths[ds->n] = gcam_xstrdup(path);
    ds->labels[ds->n++] = label;
}

/* The images of tree go to train, or are split between train and valid when valid is
 * not NULL. */
static void fill_sets(const class_tree *tree, const gcam_split_options *o, gcam_dataset *train,
                      gcam_dataset *valid) {
    int train_cap = 0, valid_cap = 0;
    for (int c = 0; c < tree->classes.n; ++c) {
        const name_list *im = &tree->images[c];
        int *is_valid = gcam_xcalloc((size_t)im->n, sizeof(int));
        if (valid) split_class(im->names, im->n, tree->classes.names[c], o, is_valid);
        for (int i = 0; i < im->n; ++i) {
            if (is_valid[i])
                dataset_add(valid, &valid_cap, im->names[i], c);
            else
                dataset_add(train, &train_cap, im->names[i], c);
        }
        free(is_valid);
    }
}

/* valid's classes, by name, to train's indices; the labels of valid are rewritten. */
static int match_valid_classes(const class_tree *train, const class_tree *valid,
                               const char *train_dir, gcam_dataset *valid_set, gcam_error *err) {
    int *to_train = gcam_xcalloc((size_t)valid->classes.n + 1, sizeof(int));
    for (int v = 0; v < valid->classes.n; ++v) {
        const char *name = base_name(valid->classes.names[v]);
        to_train[v] = -1;
        for (int c = 0; c < train->classes.n; ++c)
            if (!strcmp(base_name(train->classes.names[c]), name)) to_train[v] = c;
        if (to_train[v] < 0) {
            free(to_train);
            return gcam_fail(err, "%s: class '%s' is not in %s", valid->classes.names[v], name,
                             train_dir);
        }
    }
    for (int i = 0; i < valid_set->n; ++i) valid_set->labels[i] = to_train[valid_set->labels[i]];
    free(to_train);
    return 0;
}

static void note_loose(const char *root, int loose) {
    if (loose)
        fprintf(stderr,
                "gcam: %s: %d image%s directly in the folder belong%s to no class folder and "
                "%s left out\n",
                root, loose, loose == 1 ? "" : "s", loose == 1 ? "s" : "",
                loose == 1 ? "is" : "are");
}

int gcam_image_folder_read(gcam_data_files *d, const char *dir, const gcam_split_options *split,
                           gcam_error *err) {
    memset(d, 0, sizeof *d);
    char root[GCAM_PATH_MAX];
    snprintf(root, sizeof root, "%s", dir);
    for (size_t n = strlen(root); n > 1 && root[n - 1] == '/';) root[--n] = '\0';
    dir = root;
    char *train_dir = join(dir, "train"), *valid_dir = join(dir, "valid"),
         *val_dir = join(dir, "val");
    class_tree train = {0}, valid = {0};
    int status = 0, has_train = is_folder(train_dir);
    int has_valid = has_train && (is_folder(valid_dir) || is_folder(val_dir));
    if (has_train && is_folder(valid_dir) && is_folder(val_dir))
        status = gcam_fail(err, "%s: has both valid/ and val/; keep one", dir);
    const char *valid_root = is_folder(valid_dir) ? valid_dir : val_dir;
    const char *train_root = has_train ? train_dir : dir;
    if (!status) status = read_class_tree(train_root, &train, err);
    if (!status && !train.classes.n)
        status =
            gcam_fail(err,
                      "%s: not a folder of images by class: expected %s/<class>/<image> "
                      "or %s/train/<class>/<image>%s",
                      train_root, dir, dir, train.loose ? " (its images lie directly in it)" : "");
    if (!status && train.classes.n == 1)
        status = gcam_fail(err, "%s: only one class (%s); a classifier needs two or more",
                           train_root, base_name(train.classes.names[0]));
    if (!status && has_valid) status = read_class_tree(valid_root, &valid, err);
    if (!status) {
        note_loose(train_root, train.loose);
        note_loose(valid_root, valid.loose);
        d->folder = gcam_xstrdup(dir);
        d->classes = d->n_labels = train.classes.n;
        d->labels = gcam_xcalloc((size_t)d->classes, sizeof(char *));
        for (int c = 0; c < d->classes; ++c)
            d->labels[c] = gcam_xstrdup(base_name(train.classes.names[c]));
        d->top = d->classes < 5 ? d->classes : 5;
        d->folder_train.classes = d->folder_valid.classes = d->classes;
        fill_sets(&train, split, &d->folder_train, has_valid ? NULL : &d->folder_valid);
        if (has_valid) {
            fill_sets(&valid, split, &d->folder_valid, NULL);
            status = match_valid_classes(&train, &valid, train_root, &d->folder_valid, err);
        }
        char name[GCAM_PATH_MAX], backup[GCAM_PATH_MAX + 8];
        gcam_folder_name(dir, name, sizeof name);
        snprintf(backup, sizeof backup, "backup/%s", name);
        d->backup = gcam_xstrdup(backup);
    }
    class_tree_free(&train);
    class_tree_free(&valid);
    free(train_dir);
    free(valid_dir);
    free(val_dir);
    if (status) gcam_data_files_free(d); /* a failed read owns nothing */
    return status;
}

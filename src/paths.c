/* The image arguments of the programs (gcam_path_list_expand in gcam/data.h): image
 * files, folders of images and list files. */
#define _DEFAULT_SOURCE /* DT_DIR, strcasecmp, realpath */
#include "gcam/data.h"

#include "datacfg.h"
#include "error.h"
#include "paths.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

typedef struct growing_list {
    gcam_path_list *list;
    int capacity;
} growing_list;

static void add_path(growing_list *g, const char *path) {
    gcam_path_list *l = g->list;
    if (l->n == g->capacity) {
        g->capacity = g->capacity ? 2 * g->capacity : 64;
        l->paths = gcam_xrealloc(l->paths, sizeof(char *) * (size_t)g->capacity);
    }
    l->paths[l->n++] = gcam_xstrdup(path);
}

int gcam_is_image_name(const char *name) {
    static const char *const extensions[] = {".jpg", ".jpeg", ".png", ".bmp", ".tga", ".gif",
                                             ".psd", ".pnm",  ".ppm", ".pgm", NULL};
    const char *dot = strrchr(name, '.');
    for (int i = 0; dot && extensions[i]; ++i)
        if (!strcasecmp(dot, extensions[i])) return 1;
    return 0;
}

void gcam_folder_name(const char *dir, char *out, size_t size) {
    char *resolved = realpath(dir, NULL);
    const char *full = resolved ? resolved : dir, *slash = strrchr(full, '/');
    snprintf(out, size, "%s", slash && slash[1] ? slash + 1 : full);
    free(resolved);
}

static int compare_paths(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int add_folder(growing_list *g, const char *folder, gcam_error *err) {
    DIR *d = opendir(folder);
    if (!d) return gcam_fail(err, "%s: cannot read folder: %s", folder, strerror(errno));
    int first = g->list->n;
    struct dirent *e;
    while ((e = readdir(d)))
        if (gcam_is_image_name(e->d_name)) {
            size_t n = strlen(folder) + strlen(e->d_name) + 2;
            char *path = gcam_xmalloc(n);
            snprintf(path, n, "%s/%s", folder, e->d_name);
            add_path(g, path);
            free(path);
        }
    closedir(d);
    qsort(g->list->paths + first, (size_t)(g->list->n - first), sizeof(char *), compare_paths);
    return 0;
}

static int add_list_file(growing_list *g, const char *list_path, gcam_error *err) {
    char **lines;
    int n;
    if (gcam_lines_read(list_path, &lines, &n, err)) return -1;
    for (int i = 0; i < n; ++i) {
        char *tab = strchr(lines[i], '\t'); /* a labelled list: the path before the tab */
        if (tab) *tab = '\0';
        add_path(g, lines[i]);
    }
    gcam_lines_free(lines, n);
    return 0;
}

int gcam_path_list_expand(gcam_path_list *out, char *const *args, int n_args, gcam_error *err) {
    memset(out, 0, sizeof *out);
    growing_list g = {out, 0};
    for (int i = 0; i < n_args; ++i) {
        const char *arg = args[i], *dot = strrchr(arg, '.');
        struct stat st;
        int status = 0;
        if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
            status = add_folder(&g, arg, err);
        else if (dot && (!strcmp(dot, ".list") || !strcmp(dot, ".txt")))
            status = add_list_file(&g, arg, err);
        else
            add_path(&g, arg);
        if (status) return -1;
    }
    return 0;
}

void gcam_path_list_free(gcam_path_list *list) {
    for (int i = 0; i < list->n; ++i) free(list->paths[i]);
    free(list->paths);
    memset(list, 0, sizeof *list);
}

/* .data files and line lists (see datacfg.h). */
#include "datacfg.h"

#include "error.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Trims leading and trailing whitespace (including '\r' from CRLF files) in place. */
static char *trim(char *s) {
    while (isspace((unsigned char)*s)) ++s;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = '\0';
    return s;
}

int gcam_lines_read(const char *path, char ***lines, int *n, gcam_error *err) {
    *lines = NULL;
    *n = 0;
    FILE *f = fopen(path, "r");
    if (!f) return gcam_fail(err, "%s: cannot open: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, used = 0;
    ssize_t len;
    while ((len = getline(&buf, &cap, f)) >= 0) {
        char *t = trim(buf);
        if (!*t) continue;
        if ((size_t)*n == used) {
            used = used ? used * 2 : 64;
            *lines = realloc(*lines, sizeof(char *) * used);
            if (!*lines) abort();
        }
        (*lines)[(*n)++] = gcam_xstrdup(t);
    }
    free(buf);
    fclose(f);
    return 0;
}

void gcam_lines_free(char **lines, int n) {
    for (int i = 0; i < n; ++i) free(lines[i]);
    free(lines);
}

int gcam_datacfg_read(gcam_datacfg *d, const char *path, gcam_error *err) {
    memset(d, 0, sizeof *d);
    d->path = gcam_xstrdup(path);
    char **lines;
    int n;
    if (gcam_lines_read(path, &lines, &n, err)) return -1;
    d->keys = gcam_xcalloc((size_t)n, sizeof(char *));
    d->values = gcam_xcalloc((size_t)n, sizeof(char *));
    int status = 0;
    for (int i = 0; i < n && !status; ++i) {
        if (lines[i][0] == '#' || lines[i][0] == ';') continue;
        char *eq = strchr(lines[i], '=');
        if (!eq) {
            status = gcam_fail(err, "%s: expected 'key = value', found '%s'", path, lines[i]);
            break;
        }
        *eq = '\0';
        d->keys[d->n] = gcam_xstrdup(trim(lines[i]));
        d->values[d->n] = gcam_xstrdup(trim(eq + 1));
        d->n++;
    }
    gcam_lines_free(lines, n);
    return status;
}

void gcam_datacfg_free(gcam_datacfg *d) {
    for (int i = 0; i < d->n; ++i) {
        free(d->keys[i]);
        free(d->values[i]);
    }
    free(d->keys);
    free(d->values);
    free(d->path);
    memset(d, 0, sizeof *d);
}

const char *gcam_datacfg_get(const gcam_datacfg *d, const char *key) {
    for (int i = 0; i < d->n; ++i)
        if (strcmp(d->keys[i], key) == 0) return d->values[i];
    return NULL;
}

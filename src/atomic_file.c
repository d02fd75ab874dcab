/* Crash-safe file replacement (see atomic_file.h). A crash at any point leaves either
 * the old file or the new one under the final name, plus at worst a stray temporary. */
#include "atomic_file.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gcam_atomic_file_open(gcam_atomic_file *f, const char *path, gcam_error *err) {
    memset(f, 0, sizeof *f);
    size_t n = strlen(path) + 16;
    char *tmp = gcam_xmalloc(n);
    snprintf(tmp, n, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return gcam_fail(err, "%s: cannot create file: %s", path, strerror(e));
    }
    fchmod(fd, 0644);
    f->stream = fdopen(fd, "wb");
    if (!f->stream) {
        int e = errno;
        close(fd);
        unlink(tmp);
        free(tmp);
        return gcam_fail(err, "%s: cannot open stream: %s", path, strerror(e));
    }
    f->tmp_path = tmp;
    f->final_path = gcam_xstrdup(path);
    return 0;
}

static void release(gcam_atomic_file *f) {
    free(f->tmp_path);
    free(f->final_path);
    memset(f, 0, sizeof *f);
}

void gcam_atomic_file_abort(gcam_atomic_file *f) {
    if (f->stream) fclose(f->stream);
    if (f->tmp_path) unlink(f->tmp_path);
    release(f);
}

/* Makes the rename itself durable. */
static void fsync_parent_dir(const char *path) {
    char *copy = gcam_xstrdup(path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

int gcam_atomic_file_commit(gcam_atomic_file *f, gcam_error *err) {
    int failed = fflush(f->stream) != 0 || ferror(f->stream);
    int e = errno;
    if (!failed && fsync(fileno(f->stream)) != 0) failed = 1, e = errno;
    if (fclose(f->stream) != 0 && !failed) failed = 1, e = errno;
    f->stream = NULL;
    if (!failed && rename(f->tmp_path, f->final_path) != 0) failed = 1, e = errno;
    if (failed) {
        gcam_fail(err, "%s: write failed, previous file (if any) left intact: %s", f->final_path,
                  strerror(e));
        unlink(f->tmp_path);
        release(f);
        return -1;
    }
    fsync_parent_dir(f->final_path);
    release(f);
    return 0;
}

int gcam_atomic_rename(const char *from, const char *to, gcam_error *err) {
    if (rename(from, to) != 0)
        return gcam_fail(err, "%s: cannot rename to %s: %s", from, to, strerror(errno));
    fsync_parent_dir(to);
    return 0;
}

int gcam_mkdir_p(const char *dir, gcam_error *err) {
    char tmp[4096];
    if (strlen(dir) >= sizeof tmp) return gcam_fail(err, "%s: path too long", dir);
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; ++p)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
        return gcam_fail(err, "%s: cannot create folder: %s", dir, strerror(errno));
    return 0;
}

/* The backup folder's lock (see backup_lock.h). */
#define _DEFAULT_SOURCE /* flock, gethostname */
#include "backup_lock.h"

#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

int gcam_backup_lock_init(gcam_backup_lock *lock, const char *dir, gcam_error *err) {
    lock->fd = -1;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.lock", dir) >= (int)sizeof path)
        return gcam_fail(err, "%s: backup folder path too long", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return gcam_fail(err, "%s: cannot open the lock file: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int reason = errno;
        char holder[256] = "";
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        close(fd);
        if (reason != EWOULDBLOCK)
            return gcam_fail(err, "%s: cannot lock: %s", path, strerror(reason));
        holder[n > 0 ? n : 0] = '\0';
        holder[strcspn(holder, "\n")] = '\0';
        unsigned long pid = 0;
        char host[256] = "an unknown host";
        if (sscanf(holder, "pid %lu host %255s", &pid, host) < 1)
            return gcam_fail(err,
                             "%s: another gcam-train is training in this backup folder; wait "
                             "for it, or give this run a folder of its own with -backup DIR",
                             dir);
        return gcam_fail(err,
                         "%s: another gcam-train (pid %lu on %s) is training in this backup "
                         "folder; wait for it, or give this run a folder of its own with "
                         "-backup DIR",
                         dir, pid, host);
    }
    char host[HOST_NAME_MAX + 1] = "unknown";
    gethostname(host, sizeof host);
    host[sizeof host - 1] = '\0';
    char line[HOST_NAME_MAX + 64];
    int len = snprintf(line, sizeof line, "pid %ld host %s\n", (long)getpid(), host);
    if (ftruncate(fd, 0) != 0 || pwrite(fd, line, (size_t)len, 0) != len) {
        int reason = errno;
        close(fd);
        return gcam_fail(err, "%s: cannot write the lock file: %s", path, strerror(reason));
    }
    lock->fd = fd;
    return 0;
}

void gcam_backup_lock_free(gcam_backup_lock *lock) {
    if (lock->fd < 0) return;
    close(lock->fd); /* the pid stays in the file: it is read only while the lock is held */
    lock->fd = -1;
}

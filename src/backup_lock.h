/* One run per backup folder: gcam-train holds an advisory lock (flock) on <backup>/.lock
 * for the whole run, with its pid and host written in the file, so that a second run on
 * the same folder is refused at once instead of overwriting the first run's checkpoints.
 * The kernel releases the lock when the process dies, SIGKILL included, so a crashed run
 * never blocks its restart. flock is local to a host on some network file systems (older
 * NFS clients, some FUSE mounts): there it does not see a run on another host. */
#ifndef GCAM_BACKUP_LOCK_H
#define GCAM_BACKUP_LOCK_H

#include "gcam/core.h"

typedef struct gcam_backup_lock {
    int fd; /* the locked <backup>/.lock, or -1 */
} gcam_backup_lock;

/* Locks dir (an existing folder). Fails, naming the folder and the pid and host that hold
 * it, when another process holds the lock. */
int gcam_backup_lock_init(gcam_backup_lock *lock, const char *dir, gcam_error *err);

/* Releases the lock; the file stays. */
void gcam_backup_lock_free(gcam_backup_lock *lock);

#endif

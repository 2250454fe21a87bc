/* act_lock.c — the exclusive lock that keeps two reapers (or a reaper and a
 * restore or purge) off one root or quarantine dir.
 *
 * Owns: <dir>/.ovl2fsck.lock. flock(LOCK_EX|LOCK_NB) on it; the holder
 * writes its pid and start time into it so a refused second run can say
 * who holds it. A holder that did not write (flock(1) in a shell, say) is
 * found through /proc/locks. The file is unlinked on release while still
 * locked; a taker therefore re-checks after locking that the name still
 * is the inode it locked, and retries when it is not. */
#include "act.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* pid of a process holding a flock on (dev, ino), from /proc/locks; 0 if none seen. */
static long proc_locks_holder(dev_t dev, ino_t ino)
{
    FILE *f = fopen("/proc/locks", "re");
    if (!f)
        return 0;
    char line[512];
    long found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        /* "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters carry "->") */
        if (strstr(line, "->") || !strstr(line, "FLOCK"))
            continue;
        long pid;
        unsigned maj, min;
        unsigned long long inode;
        char kind[16], adv[16], mode[16];
        if (sscanf(line, "%*d: %15s %15s %15s %ld %x:%x:%llu", kind, adv, mode, &pid, &maj, &min, &inode) == 7 &&
            makedev(maj, min) == dev && (ino_t)inode == ino)
            found = pid;
    }
    fclose(f);
    return found;
}

static void describe_holder(int fd, const char *what, char *err, size_t errlen)
{
    char buf[256] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
    struct stat st;
    long pid = fstat(fd, &st) == 0 ? proc_locks_holder(st.st_dev, st.st_ino) : 0;
    char comm[64] = "";
    if (pid > 0) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%ld/comm", pid);
        struct file_buf b;
        fs_read_file(AT_FDCWD, path, sizeof comm, &b);
        if (b.status == FILE_OK) {
            snprintf(comm, sizeof comm, "%s", b.data);
            comm[strcspn(comm, "\n")] = '\0';
        }
        file_buf_free(&b);
    }
    char who[160] = "";
    if (pid > 0)
        snprintf(who, sizeof who, " by pid %ld (%s)", pid, comm[0] ? comm : "?");
    if (buf[0])
        snprintf(err, errlen, "%s is locked%s: %s; not running two reapers at once", what, who, buf);
    else
        snprintf(err, errlen, "%s is locked%s; not running two reapers at once", what,
                 who[0] ? who : " by another process");
}

static bool still_same_file(int dirfd, const char *name, int fd)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && fs_lstat(dirfd, name, &b) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

static void write_holder(int fd)
{
    char buf[200], when[40];
    int n = snprintf(buf, sizeof buf, "pid %ld started %s\n", (long)getpid(),
                     act_time_text(act_now(), when, sizeof when));
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) == n)
        fsync(fd);
}

/* An fd of its own on the dir (flock is per open file description). */
static int open_dir_self(int dirfd)
{
    return openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

/* Is the dir itself locked by a run that could not create the lock file? */
static bool dir_lock_held(int dirfd, const char *what, char *err, size_t errlen)
{
    int fd = open_dir_self(dirfd);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) == 0) {
        if (fd >= 0)
            close(fd);   /* closing drops the probe's lock */
        return false;
    }
    describe_holder(fd, what, err, errlen);
    close(fd);
    return true;
}

/* The lock file cannot be created because the disk is full: lock the dir. */
static int take_dir_lock(int dirfd, const char *name, const char *what, int why, char *err, size_t errlen)
{
    int fd = open_dir_self(dirfd);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s to lock it: %s", what, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        describe_holder(fd, what, err, errlen);
        close(fd);
        return -1;
    }
    fprintf(stderr, "ovl2fsck: cannot create the lock file %s/%s (%s): holding a lock on %s itself\n", what, name,
            strerror(why), what);
    return fd;
}

int act_lock_take(int dirfd, const char *name, const char *what, char *err, size_t errlen)
{
    for (int attempt = 0; attempt < 10; attempt++) {
        int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0600);
        if (fd < 0 && fs_errno_is_full(errno)) {
            int why = errno;
            fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
            if (fd < 0 && errno == ENOENT)
                return take_dir_lock(dirfd, name, what, why, err, errlen);
        }
        if (fd < 0) {
            snprintf(err, errlen, "cannot open the lock file %s/%s: %s", what, name, strerror(errno));
            return -1;
        }
        struct stat st;
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
            snprintf(err, errlen, "the lock file %s/%s is not a regular file", what, name);
            close(fd);
            return -1;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno == EWOULDBLOCK)
                describe_holder(fd, what, err, errlen);
            else
                snprintf(err, errlen, "cannot lock %s/%s: %s", what, name, strerror(errno));
            close(fd);
            return -1;
        }
        if (still_same_file(dirfd, name, fd)) {
            if (dir_lock_held(dirfd, what, err, errlen)) {
                close(fd);
                return -1;
            }
            write_holder(fd);
            return fd;
        }
        close(fd);   /* the previous holder unlinked it under us: take the new one */
    }
    snprintf(err, errlen, "cannot lock %s: the lock file keeps changing", what);
    return -1;
}

void act_lock_release(int dirfd, const char *name, int fd)
{
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);   /* the dir lock of a full disk: nothing to unlink */
        return;
    }
    if (still_same_file(dirfd, name, fd))
        unlinkat(dirfd, name, 0);
    close(fd);
}

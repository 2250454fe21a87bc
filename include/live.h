/* live.h — is a dockerd using this root right now? (pidfile, running
 * dockerd processes and their data roots, overlay mounts of the root) */
#ifndef OVL2FSCK_LIVE_H
#define OVL2FSCK_LIVE_H

#include <stdbool.h>
#include <stddef.h>

struct liveness {
    bool running;
    char reason[512];   /* why it looks live, for messages */
};

/* root must be a canonical absolute path (realpath). */
void live_detect(const char *root, const char *pidfile, struct liveness *out);

/* For --apply (reaper, repair): true, with the refusal printed on stderr,
 * when dockerd looks live on root. */
bool live_refuse_apply(const char *root, const char *pidfile);

/* True when an overlay mount (per /proc/self/mountinfo) uses overlay2/<dir>
 * of root as lower, upper or work dir, or a mount point lies inside it. */
bool live_dir_is_mounted(const char *root, const char *dir);

/* True when a mount point or an overlay mount's dir lies at or below
 * root/relpath (relpath root-relative, e.g. "containers/<id>"). */
bool live_path_is_mounted(const char *root, const char *relpath);

/* Read a small /proc (or config) file: NUL-terminated, its length in len. */
bool live_read_small(const char *path, char *buf, size_t buflen, size_t *len);
/* A config file another process's command line names: only a regular file
 * of at most cap bytes is opened for reading (root opening a device it
 * names has side effects), pinned with O_PATH and read through that inode.
 * malloc'd, NUL-terminated; NULL otherwise. */
char *live_read_pinned(const char *path, size_t cap);
/* The same file once symlinks are resolved (else the same string). */
bool live_same_path(const char *a, const char *b);

/* The root a daemon's command line (NUL-separated args, len bytes) says it
 * uses (malloc'd), or NULL. */
typedef char *(*live_root_of_fn)(char *args, size_t len);
/* A running process whose argv[0] base name is name and whose root_of(its
 * command line) is root: why says "NAME (pid P) is running with WHAT ROOT". */
bool live_find_process(const char *name, const char *root, live_root_of_fn root_of, const char *what,
                       char *why, size_t whylen);

/* True when any mount point or overlay mount uses a path inside root/overlay2. */
bool live_root_has_mounts(const char *root, char *why, size_t whylen);

#endif

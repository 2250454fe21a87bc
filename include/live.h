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

/* True when any mount point or overlay mount uses a path inside root/overlay2. */
bool live_root_has_mounts(const char *root, char *why, size_t whylen);

#endif

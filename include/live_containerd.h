/* live_containerd.h — is a containerd (or a dockerd that runs its own
 * containerd) using this containerd root right now? (src/live_containerd.c) */
#ifndef OVL2FSCK_LIVE_CONTAINERD_H
#define OVL2FSCK_LIVE_CONTAINERD_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"

#define CONTAINERD_DEFAULT_SOCKET "/run/containerd/containerd.sock"
#define CONTAINERD_DEFAULT_CONFIG "/etc/containerd/config.toml"

/* root: canonical. True, with why, when a containerd process's root (its
 * --root, else its config file's root, else the default) is root; when
 * root is the default root and the default socket accepts connections;
 * when root is DIR/containerd/daemon and a dockerd is live on DIR (live.c);
 * or when a mount point or overlay mount uses a path under root's
 * snapshots/ (a snapshot's fs mounted). */
bool live_containerd_detect(const char *root, const struct options *o, char *why, size_t whylen);

/* The root = "..." key of a containerd config file's top level (before any
 * [table]); only a regular file is read. NULL when absent. malloc'd. */
char *live_containerd_config_root(const char *path);

#endif

/* store.h — which kind of store a root is (src/store_detect.c): a Docker
 * graphdriver root, a containerd root, or a Docker root on the containerd
 * image store (then the containerd root Docker used is what is checked,
 * with Docker's containers/ beside it). */
#ifndef OVL2FSCK_STORE_H
#define OVL2FSCK_STORE_H

#include <limits.h>
#include <stddef.h>

#include "catalog.h"
#include "opts.h"

#define CONTAINERD_DEFAULT_ROOT "/var/lib/containerd"
#define CONTAINERD_META_DB "io.containerd.metadata.v1.bolt/meta.db"

struct store_target {
    enum store_kind kind;
    char root[PATH_MAX];         /* what is scanned: the Docker root or the containerd root (canonical) */
    char docker_root[PATH_MAX];  /* containerd kind from a Docker root: that root; else "" */
    char how[PATH_MAX + 128];    /* how it was recognised (for the report) */
};

/* root: canonical. Returns 0, or EXIT_OPERATIONAL with a message in err
 * (a non-empty root of no known kind, a containerd root without meta.db). */
int store_detect(const char *root, const struct options *o, struct store_target *t, char *err, size_t errlen);

#endif

/*
 * deeprebuild.c — test/bench helper: rebuild a layer's tar stream with the
 * engine's deep_rebuild_stream() (src/deep.c), the way `docker save` writes
 * layer.tar.
 *
 *   deeprebuild ROOT CHAINID > layer.tar    the rebuilt stream on stdout
 *   deeprebuild -s ROOT CHAINID...          "CHAINID sha256:HEX BYTES" per layer
 *
 * ROOT is a stopped dockerd data root (overlay2). CHAINID with or without
 * "sha256:". Findings go to stderr as "finding CHECK CHAINID DETAIL". Exit 0
 * when every layer rebuilt with no finding, 1 on findings, 2 on errors.
 *
 * Build: cc -std=c11 -D_GNU_SOURCE -Iinclude tests/tools/deeprebuild.c \
 *            build/libovl2fsck.a $(pkg-config --libs sqlite3 libcjson libcrypto zlib) -lpthread
 */
#include "deep.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct sink {
    EVP_MD_CTX *md;      /* -s: hash it */
    unsigned long long bytes;
};

static int findings;

static void on_finding(void *ctx, const char *chain_id, const char *check, const char *detail)
{
    (void)ctx;
    findings++;
    fprintf(stderr, "finding %s %s %s\n", check, chain_id, detail);
}

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int on_write(void *ctx, const void *buf, size_t len)
{
    struct sink *s = ctx;
    s->bytes += len;
    if (s->md != NULL)
        return EVP_DigestUpdate(s->md, buf, len) == 1 ? 0 : 1;
    return write_all(1, buf, len) == 0 ? 0 : 1;
}

/* Read a small layerdb file (diff, cache-id) into buf, trailing newline cut. */
static int read_small(int dirfd, const char *name, char *buf, size_t cap)
{
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        n--;
    buf[n] = 0;
    return 0;
}

static int one(int rootfd, const char *chain, int hash_only)
{
    char path[512], diff_id[128], cache_id[128];
    if (strncmp(chain, "sha256:", 7) == 0)
        chain += 7;
    if (strlen(chain) != 64 || strchr(chain, '/') != NULL) {
        fprintf(stderr, "deeprebuild: bad chain id %s\n", chain);
        return 2;
    }
    snprintf(path, sizeof path, "image/overlay2/layerdb/sha256/%s", chain);
    int lfd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (lfd < 0 || read_small(lfd, "diff", diff_id, sizeof diff_id) < 0 ||
        read_small(lfd, "cache-id", cache_id, sizeof cache_id) < 0 || strchr(cache_id, '/') != NULL) {
        fprintf(stderr, "deeprebuild: %s: cannot read layer metadata: %s\n", chain, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return 2;
    }
    snprintf(path, sizeof path, "overlay2/%s/diff", cache_id);
    int dfd = openat(rootfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
        fprintf(stderr, "deeprebuild: %s: cannot open %s: %s\n", chain, path, strerror(errno));
        close(lfd);
        return 2;
    }
    struct deep_layer_job job = { .chain_id = chain, .layer_dirfd = lfd, .diff_dirfd = dfd, .diff_id = diff_id };
    struct sink s = { .md = hash_only ? EVP_MD_CTX_new() : NULL };
    if (hash_only && (s.md == NULL || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1))
        return 2;
    int before = findings, rc = deep_rebuild_stream(&job, on_write, &s, on_finding, NULL, NULL);
    int err = errno;
    close(lfd);
    close(dfd);
    if (rc < 0) {
        fprintf(stderr, "deeprebuild: %s: %s\n", chain, strerror(err));
        EVP_MD_CTX_free(s.md);
        return 2;
    }
    if (hash_only) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(s.md, md, &len);
        EVP_MD_CTX_free(s.md);
        printf("%s sha256:", chain);
        for (unsigned int i = 0; i < len; i++)
            printf("%02x", md[i]);
        printf(" %llu\n", s.bytes);
    }
    return findings > before ? 1 : 0;
}

int main(int argc, char **argv)
{
    int hash_only = 0, worst = 0;
    if (argc > 1 && strcmp(argv[1], "-s") == 0) {
        hash_only = 1;
        argv++;
        argc--;
    }
    if (argc < 3 || (!hash_only && argc != 3)) {
        fprintf(stderr, "usage: deeprebuild ROOT CHAINID > layer.tar\n"
                        "       deeprebuild -s ROOT CHAINID...\n");
        return 2;
    }
    int rootfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
        fprintf(stderr, "deeprebuild: %s: %s\n", argv[1], strerror(errno));
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        int rc = one(rootfd, argv[i], hash_only);
        if (rc > worst)
            worst = rc;
    }
    close(rootfd);
    return worst;
}

/*
 * deep.c — deep verification of overlay2 layers against their diffIDs
 * (see deep.h for the contract and the findings).
 *
 * Owns: the per-layer engine (tar-split entries -> name checks -> file reads
 * beneath diff/ -> sha256 + CRC-64), confined path resolution (openat2 or a
 * O_NOFOLLOW component walk), finding formatting and capping, and the thread
 * pool of deep_verify_all.
 *
 * One layer is one pass over tar-split.json.gz. Segments go straight into
 * sha256 (and the optional writer); file entries of size > 0 are opened
 * beneath diff/ and streamed through the same sha256 and a CRC-64 in
 * DEEP_CHUNK reads. The parent directory of the last opened file is kept
 * open, since tar streams list a directory's files together.
 */
#include "deep.h"

#include "crc64.h"
#include "ids.h"
#include "tarsplit.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEEP_DETAIL_MAX 2048
#define DEEP_NAME_SHOWN 1024 /* longest quoted name put in a detail */

/* ---------------------------------------------------------------- quoting */

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    size_t len, i;
    unsigned char lo = 0x80, hi = 0xbf;

    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4;
    else
        return 0;
    if (len > n)
        return 0;
    if (p[0] == 0xe0)
        lo = 0xa0; /* overlong */
    else if (p[0] == 0xed)
        hi = 0x9f; /* surrogates */
    else if (p[0] == 0xf0)
        lo = 0x90; /* overlong */
    else if (p[0] == 0xf4)
        hi = 0x8f; /* > U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return len;
}

/*
 * Write name as a double-quoted string into out (cap bytes, always
 * NUL-terminated): printable ASCII and valid UTF-8 as is, '"' and '\\'
 * backslash-escaped, everything else as \xNN. Long names end in "...".
 */
static void quote_name(char *out, size_t cap, const char *name, size_t len)
{
    const unsigned char *p = (const unsigned char *)name;
    size_t o = 0, i = 0;

    if (cap > DEEP_NAME_SHOWN + 8)
        cap = DEEP_NAME_SHOWN + 8;
    out[o++] = '"';
    while (i < len) {
        unsigned char c = p[i];
        size_t seq = c >= 0x80 ? utf8_seq_len(p + i, len - i) : 0;
        size_t need;

        if (seq > 0)
            need = seq;
        else if (c == '"' || c == '\\')
            need = 2;
        else if (c >= 0x20 && c < 0x7f)
            need = 1;
        else
            need = 4;
        if (o + need + 5 > cap) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        if (seq > 0) {
            memcpy(out + o, p + i, seq);
        } else if (need == 4) {
            snprintf(out + o, 5, "\\x%02x", c);
        } else if (need == 2) {
            out[o] = '\\';
            out[o + 1] = (char)c;
        } else {
            out[o] = (char)c;
        }
        o += need;
        i += seq > 0 ? seq : 1;
    }
    out[o++] = '"';
    out[o] = 0;
}

/* -------------------------------------------------------------- name set */

/* Open-addressing set of normalised names (size > 0 entries), per layer. */
struct name_set {
    char **slots;
    size_t cap;  /* power of two, or 0 */
    size_t used;
};

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

static void name_set_free(struct name_set *ns)
{
    for (size_t i = 0; i < ns->cap; i++)
        free(ns->slots[i]);
    free(ns->slots);
    memset(ns, 0, sizeof(*ns));
}

static int name_set_grow(struct name_set *ns)
{
    size_t ncap = ns->cap ? ns->cap * 2 : 1024;
    char **nslots = calloc(ncap, sizeof(*nslots));

    if (nslots == NULL)
        return -1;
    for (size_t i = 0; i < ns->cap; i++) {
        size_t j;

        if (ns->slots[i] == NULL)
            continue;
        j = name_hash(ns->slots[i]) & (ncap - 1);
        while (nslots[j] != NULL)
            j = (j + 1) & (ncap - 1);
        nslots[j] = ns->slots[i];
    }
    free(ns->slots);
    ns->slots = nslots;
    ns->cap = ncap;
    return 0;
}

/* Add name. Returns 1 if added, 0 if already present, -1 on ENOMEM. */
static int name_set_add(struct name_set *ns, const char *name)
{
    size_t j;

    if ((ns->used + 1) * 2 > ns->cap && name_set_grow(ns) < 0)
        return -1;
    j = name_hash(name) & (ns->cap - 1);
    while (ns->slots[j] != NULL) {
        if (strcmp(ns->slots[j], name) == 0)
            return 0;
        j = (j + 1) & (ns->cap - 1);
    }
    ns->slots[j] = strdup(name);
    if (ns->slots[j] == NULL)
        return -1;
    ns->used++;
    return 1;
}

/* ---------------------------------------------------------- name checks */

/*
 * Normalise a tar name into out (room for len + 1 bytes): drop empty and "."
 * components (so "./a//b/" becomes "a/b"). Returns the length, or -1 with
 * *why set for an absolute name or a ".." component. "" is the layer root.
 */
static long normalise_name(const unsigned char *in, size_t len, char *out, const char **why)
{
    size_t i = 0, o = 0;

    if (len > 0 && in[0] == '/') {
        *why = "absolute name";
        return -1;
    }
    while (i < len) {
        size_t start = i, clen;

        while (i < len && in[i] != '/')
            i++;
        clen = i - start;
        if (i < len)
            i++; /* skip the '/' */
        if (clen == 0 || (clen == 1 && in[start] == '.'))
            continue;
        if (clen == 2 && in[start] == '.' && in[start + 1] == '.') {
            *why = "\"..\" component escapes diff/";
            return -1;
        }
        if (o > 0)
            out[o++] = '/';
        memcpy(out + o, in + start, clen);
        o += clen;
    }
    out[o] = 0;
    return (long)o;
}

/* ------------------------------------------------------ path resolution */

static int resolve_mode = DEEP_RESOLVE_AUTO;
static int have_openat2 = 0;
static pthread_once_t openat2_once = PTHREAD_ONCE_INIT;

void deep_set_resolve_mode(int mode)
{
    resolve_mode = mode;
}

static long sys_openat2(int dirfd, const char *path, int flags, unsigned long long resolve)
{
    struct open_how how;

    memset(&how, 0, sizeof(how));
    how.flags = (unsigned long long)flags;
    how.resolve = resolve;
    return syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

static void probe_openat2(void)
{
    long fd = sys_openat2(AT_FDCWD, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_NO_SYMLINKS);

    if (fd >= 0) {
        have_openat2 = 1;
        close((int)fd);
    }
}

static int use_openat2(void)
{
    if (resolve_mode == DEEP_RESOLVE_WALK)
        return 0;
    pthread_once(&openat2_once, probe_openat2);
    return have_openat2;
}

/* Why a directory path could not be opened beneath diff/. */
struct resolve_fail {
    int err;          /* errno of the failing step */
    int symlink;      /* the failing component is a symlink */
    size_t comp_end;  /* path[0..comp_end) is the failing prefix */
};

/*
 * Open dir path (normalised, non-empty) beneath dirfd one component at a
 * time with O_NOFOLLOW|O_DIRECTORY. path is modified temporarily. Returns an
 * O_PATH fd or -1 with *rf filled in.
 */
static int walk_dir(int dirfd, char *path, struct resolve_fail *rf)
{
    int cur = dirfd;
    char *comp = path;

    for (;;) {
        char *slash = strchr(comp, '/');
        int nfd;

        if (slash != NULL)
            *slash = 0;
        nfd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0) {
            struct stat st;

            rf->err = errno;
            rf->symlink = (rf->err == ENOTDIR || rf->err == ELOOP) &&
                          fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                          S_ISLNK(st.st_mode);
            rf->comp_end = (size_t)(comp - path) + strlen(comp);
        }
        if (slash != NULL)
            *slash = '/';
        if (cur != dirfd)
            close(cur);
        if (nfd < 0)
            return -1;
        cur = nfd;
        if (slash == NULL)
            return cur;
        comp = slash + 1;
    }
}

static int open_dir_beneath(int dirfd, char *path, struct resolve_fail *rf)
{
    long fd;
    int tries = 0, err;

    if (!use_openat2())
        return walk_dir(dirfd, path, rf);
    /* EAGAIN: a concurrent rename raced the lookup; the walk below settles it. */
    do {
        fd = sys_openat2(dirfd, path, O_PATH | O_DIRECTORY | O_CLOEXEC,
                         RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    } while (fd < 0 && (errno == EAGAIN || errno == EINTR) && ++tries < 8);
    if (fd >= 0)
        return (int)fd;
    err = errno;
    /* Error path only: the walk names the failing component precisely. */
    fd = walk_dir(dirfd, path, rf);
    if (fd >= 0 && (err == EAGAIN || err == EINTR))
        return (int)fd;
    if (fd >= 0) {
        /* openat2 refused what the walk accepted: report openat2's word. */
        close((int)fd);
        rf->err = ELOOP;
        rf->symlink = 0;
        rf->comp_end = strlen(path);
    }
    return -1;
}

/* The parent directory of the previous file, kept open. */
struct dir_cache {
    int diff_dirfd;
    char *path;        /* normalised parent path, "" for diff/ itself */
    size_t cap;
    int fd;            /* -1 when the cached parent failed */
    int valid;
    struct resolve_fail fail;
};

static void dir_cache_drop(struct dir_cache *dc)
{
    if (dc->valid && dc->fd >= 0 && dc->fd != dc->diff_dirfd)
        close(dc->fd);
    dc->valid = 0;
    dc->fd = -1;
}

/*
 * Parent fd for the normalised name whose parent is name[0..plen). Returns
 * the fd (owned by the cache), or -1 with dc->fail set, or -2 on ENOMEM.
 */
static int dir_cache_get(struct dir_cache *dc, const char *name, size_t plen)
{
    if (dc->valid && strlen(dc->path) == plen && memcmp(dc->path, name, plen) == 0)
        return dc->fd;
    dir_cache_drop(dc);
    if (plen + 1 > dc->cap) {
        char *np = realloc(dc->path, plen + 1);

        if (np == NULL)
            return -2;
        dc->path = np;
        dc->cap = plen + 1;
    }
    memcpy(dc->path, name, plen);
    dc->path[plen] = 0;
    memset(&dc->fail, 0, sizeof(dc->fail));
    dc->fd = plen == 0 ? dc->diff_dirfd : open_dir_beneath(dc->diff_dirfd, dc->path, &dc->fail);
    dc->valid = 1;
    return dc->fd;
}

/* -------------------------------------------------------------- the run */

struct deep_run {
    const struct deep_layer_job *job;
    deep_finding_fn fn;
    void *fctx;
    deep_write_fn wfn;
    void *wctx;
    EVP_MD_CTX *md;
    unsigned char *chunk;
    char *norm;               /* normalised name of the current entry */
    size_t norm_cap;
    struct name_set names;
    struct dir_cache dirs;
    unsigned file_findings;   /* missing + modified emitted */
    uint64_t more_missing, more_modified;
    uint64_t bytes, files;
    int stop;                 /* invalid tar-split, or writer aborted */
    int err;                  /* errno of an operational failure, or 0 */
};

static void emit(struct deep_run *run, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void emit(struct deep_run *run, const char *check, const char *fmt, ...)
{
    char detail[DEEP_DETAIL_MAX];
    va_list ap;

    if (run->fn == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    run->fn(run->fctx, run->job->chain_id, check, detail);
}

/* Counts a per-file finding. Returns 1 if it may be emitted (under the cap). */
static int file_finding_allowed(struct deep_run *run, const char *check)
{
    if (run->file_findings < DEEP_MAX_FILE_FINDINGS) {
        run->file_findings++;
        return 1;
    }
    if (strcmp(check, DEEP_CHECK_FILE_MISSING) == 0)
        run->more_missing++;
    else
        run->more_modified++;
    return 0;
}

static void emit_invalid(struct deep_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void emit_invalid(struct deep_run *run, const char *fmt, ...)
{
    char detail[DEEP_DETAIL_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    emit(run, DEEP_CHECK_TARSPLIT_INVALID, "tar-split.json.gz: %s", detail);
    run->stop = 1;
}

/* Bytes of the rebuilt stream: to sha256 and the writer. */
static int feed(struct deep_run *run, const void *buf, size_t len)
{
    if (len == 0)
        return 0;
    if (EVP_DigestUpdate(run->md, buf, len) != 1) {
        run->err = ENOMEM;
        run->stop = 1;
        return -1;
    }
    run->bytes += len;
    if (run->wfn != NULL && run->wfn(run->wctx, buf, len) != 0) {
        run->err = ECANCELED;
        run->stop = 1;
        return -1;
    }
    return 0;
}

static const char *file_type_name(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISLNK(mode))
        return "a symlink";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

static int is_resource_errno(int err)
{
    return err == EMFILE || err == ENFILE || err == ENOMEM;
}

/* Report why the parent dir of qname could not be opened. */
static void report_parent_fail(struct deep_run *run, const char *qname, int64_t size)
{
    const struct resolve_fail *rf = &run->dirs.fail;
    char qcomp[DEEP_NAME_SHOWN + 8];
    const char *check = DEEP_CHECK_FILE_MISSING;

    if (is_resource_errno(rf->err)) {
        run->err = rf->err;
        run->stop = 1;
        return;
    }
    if (rf->err != ENOENT && rf->err != ENOTDIR && rf->err != ELOOP &&
        rf->err != ENAMETOOLONG && rf->err != EXDEV)
        check = DEEP_CHECK_FILE_MODIFIED;
    if (!file_finding_allowed(run, check))
        return;
    quote_name(qcomp, sizeof(qcomp), run->dirs.path, rf->comp_end);
    if (rf->symlink)
        emit(run, check, "%s (%lld bytes): path component %s is a symlink in diff/ (not followed)",
             qname, (long long)size, qcomp);
    else if (rf->err == ENOTDIR)
        emit(run, check, "%s (%lld bytes): path component %s is not a directory in diff/",
             qname, (long long)size, qcomp);
    else if (rf->err == ENOENT)
        emit(run, check, "%s (%lld bytes) is listed in tar-split but directory %s is absent from diff/",
             qname, (long long)size, qcomp);
    else
        emit(run, check, "%s (%lld bytes): cannot open directory %s: %s",
             qname, (long long)size, qcomp, strerror(rf->err));
}

/*
 * Open the regular file name (normalised) beneath diff/ without following
 * symlinks. Returns the fd with *st filled, or -1 after reporting.
 */
static int open_layer_file(struct deep_run *run, const char *qname, int64_t size, struct stat *st)
{
    const char *slash = strrchr(run->norm, '/');
    size_t plen = slash ? (size_t)(slash - run->norm) : 0;
    const char *base = slash ? slash + 1 : run->norm;
    int pfd = dir_cache_get(&run->dirs, run->norm, plen);
    int fd, flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
    struct stat st2;

    if (pfd == -2) {
        run->err = ENOMEM;
        run->stop = 1;
        return -1;
    }
    if (pfd < 0) {
        report_parent_fail(run, qname, size);
        return -1;
    }
    if (fstatat(pfd, base, st, AT_SYMLINK_NOFOLLOW) < 0) {
        int err = errno;

        if (is_resource_errno(err)) {
            run->err = err;
            run->stop = 1;
        } else if (err == ENOENT) {
            if (file_finding_allowed(run, DEEP_CHECK_FILE_MISSING))
                emit(run, DEEP_CHECK_FILE_MISSING, "%s (%lld bytes) is listed in tar-split but absent from diff/",
                     qname, (long long)size);
        } else if (file_finding_allowed(run, DEEP_CHECK_FILE_MODIFIED)) {
            emit(run, DEEP_CHECK_FILE_MODIFIED, "%s: cannot stat: %s", qname, strerror(err));
        }
        return -1;
    }
    if (!S_ISREG(st->st_mode)) {
        if (file_finding_allowed(run, DEEP_CHECK_FILE_MODIFIED))
            emit(run, DEEP_CHECK_FILE_MODIFIED, "%s is %s in diff/, tar-split lists a %lld-byte file",
                 qname, file_type_name(st->st_mode), (long long)size);
        return -1;
    }
    fd = openat(pfd, base, flags | O_NOATIME);
    if (fd < 0 && errno == EPERM)
        fd = openat(pfd, base, flags);
    if (fd >= 0 && fstat(fd, &st2) == 0 && st2.st_dev == st->st_dev &&
        st2.st_ino == st->st_ino && S_ISREG(st2.st_mode)) {
        *st = st2;
        return fd;
    }
    if (fd < 0 && is_resource_errno(errno)) {
        run->err = errno;
        run->stop = 1;
        return -1;
    }
    if (file_finding_allowed(run, DEEP_CHECK_FILE_MODIFIED)) {
        if (fd < 0)
            emit(run, DEEP_CHECK_FILE_MODIFIED, "%s: cannot open: %s", qname, strerror(errno));
        else
            emit(run, DEEP_CHECK_FILE_MODIFIED, "%s changed while being checked", qname);
    }
    if (fd >= 0)
        close(fd);
    return -1;
}

static uint64_t load_be64(const unsigned char *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Stream one file's first `size` bytes into the run; report any difference. */
static void verify_file(struct deep_run *run, const struct tarsplit_entry *e)
{
    char qname[DEEP_NAME_SHOWN + 8];
    uint64_t want = load_be64(e->payload), crc = 0;
    int64_t left = e->size;
    struct stat st;
    int fd, rerr = 0;

    quote_name(qname, sizeof(qname), run->norm, strlen(run->norm));
    fd = open_layer_file(run, qname, e->size, &st);
    if (fd < 0)
        return;
    run->files++;
    while (left > 0) {
        size_t want_now = left < (int64_t)DEEP_CHUNK ? (size_t)left : DEEP_CHUNK;
        ssize_t n = read(fd, run->chunk, want_now);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            rerr = errno;
        if (n <= 0)
            break;
        crc = crc64_iso_update(crc, run->chunk, (size_t)n);
        if (feed(run, run->chunk, (size_t)n) < 0)
            break;
        left -= n;
    }
    close(fd);
    if (run->stop)
        return;
    if (rerr != 0) {
        if (file_finding_allowed(run, DEEP_CHECK_FILE_MODIFIED))
            emit(run, DEEP_CHECK_FILE_MODIFIED, "%s: read error after %lld of %lld bytes: %s",
                 qname, (long long)(e->size - left), (long long)e->size, strerror(rerr));
    } else if (left > 0 || st.st_size != (off_t)e->size) {
        if (file_finding_allowed(run, DEEP_CHECK_FILE_MODIFIED))
            emit(run, DEEP_CHECK_FILE_MODIFIED, "%s is %lld bytes in diff/, tar-split lists %lld",
                 qname, left > 0 ? (long long)(e->size - left) : (long long)st.st_size,
                 (long long)e->size);
    } else if (crc != want) {
        if (file_finding_allowed(run, DEEP_CHECK_FILE_MODIFIED))
            emit(run, DEEP_CHECK_FILE_MODIFIED, "%s content differs: CRC-64 %016llx, tar-split has %016llx",
                 qname, (unsigned long long)crc, (unsigned long long)want);
    }
}

static int reserve_norm(struct deep_run *run, size_t need)
{
    char *n;

    if (run->norm_cap >= need)
        return 0;
    n = realloc(run->norm, need);
    if (n == NULL)
        return -1;
    run->norm = n;
    run->norm_cap = need;
    return 0;
}

static void handle_file(struct deep_run *run, const struct tarsplit_entry *e)
{
    const char *why = NULL;
    char qname[DEEP_NAME_SHOWN + 8];
    long nlen;
    int added;

    if (reserve_norm(run, e->name_len + 1) < 0) {
        run->err = ENOMEM;
        run->stop = 1;
        return;
    }
    nlen = normalise_name(e->name, e->name_len, run->norm, &why);
    if (nlen < 0) {
        quote_name(qname, sizeof(qname), (const char *)e->name, e->name_len);
        emit_invalid(run, "line %llu: entry %s: %s", (unsigned long long)e->line, qname, why);
        return;
    }
    if (e->size == 0)
        return; /* dirs, links, whiteouts, empty files: nothing to read */
    quote_name(qname, sizeof(qname), (const char *)e->name, e->name_len);
    if (nlen == 0) {
        emit_invalid(run, "line %llu: entry %s of %lld bytes names diff/ itself",
                     (unsigned long long)e->line, qname, (long long)e->size);
        return;
    }
    added = name_set_add(&run->names, run->norm);
    if (added < 0) {
        run->err = ENOMEM;
        run->stop = 1;
        return;
    }
    if (added == 0) {
        emit_invalid(run, "line %llu: duplicate file entry %s", (unsigned long long)e->line, qname);
        return;
    }
    verify_file(run, e);
}

static void finish(struct deep_run *run)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char hex[2 * EVP_MAX_MD_SIZE + 1];

    if (run->more_missing > 0)
        emit(run, DEEP_CHECK_FILE_MISSING, "... and %llu more files listed in tar-split are absent from diff/",
             (unsigned long long)run->more_missing);
    if (run->more_modified > 0)
        emit(run, DEEP_CHECK_FILE_MODIFIED, "... and %llu more files differ from tar-split",
             (unsigned long long)run->more_modified);
    if (EVP_DigestFinal_ex(run->md, md, &mdlen) != 1) {
        run->err = ENOMEM;
        return;
    }
    id_hex_encode(md, mdlen, hex);
    if (strcmp(hex, run->job->diff_id + 7) != 0)
        emit(run, DEEP_CHECK_CONTENT_MISMATCH, "rebuilt tar stream is sha256:%s (%llu bytes), diffID is %s",
             hex, (unsigned long long)run->bytes, run->job->diff_id);
}

/* Open tar-split.json.gz in the layerdb dir. Returns fd, -1 reported, -2 error. */
static int open_tarsplit(struct deep_run *run)
{
    int fd = openat(run->job->layer_dirfd, "tar-split.json.gz",
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct stat st;

    if (fd < 0) {
        if (errno == ENOENT) {
            emit(run, DEEP_CHECK_TARSPLIT_MISSING, "no tar-split.json.gz: the layer content cannot be verified");
            return -1;
        }
        if (errno == ELOOP) {
            emit_invalid(run, "is a symlink (not followed)");
            return -1;
        }
        run->err = errno;
        return -2;
    }
    if (fstat(fd, &st) < 0) {
        run->err = errno;
        close(fd);
        return -2;
    }
    if (!S_ISREG(st.st_mode)) {
        emit_invalid(run, "is %s", file_type_name(st.st_mode));
        close(fd);
        return -1;
    }
    return fd;
}

/* Walk the tar-split entries. */
static void run_entries(struct deep_run *run, int fd)
{
    struct tarsplit_reader *r = tarsplit_open(fd);
    struct tarsplit_entry e;
    int rc;

    if (r == NULL) {
        run->err = errno;
        run->stop = 1;
        return;
    }
    while (!run->stop) {
        rc = tarsplit_next(r, &e);
        if (rc == TARSPLIT_EOF)
            break;
        if (rc == TARSPLIT_INVALID) {
            emit_invalid(run, "%s", tarsplit_error(r));
        } else if (rc == TARSPLIT_ERROR) {
            run->err = errno;
            run->stop = 1;
        } else if (e.type == TARSPLIT_SEGMENT) {
            feed(run, e.payload, e.payload_len);
        } else {
            handle_file(run, &e);
        }
    }
    tarsplit_close(r);
}

static int deep_run_layer(const struct deep_layer_job *job, deep_finding_fn fn, void *fctx,
                          deep_write_fn wfn, void *wctx, struct deep_stats *st)
{
    struct deep_run run;
    int fd;

    if (job == NULL || job->diff_id == NULL || !id_is_digest(job->diff_id, strlen(job->diff_id)) || job->layer_dirfd < 0 ||
        job->diff_dirfd < 0) {
        errno = EINVAL;
        return -1;
    }
    memset(&run, 0, sizeof(run));
    run.job = job;
    run.fn = fn;
    run.fctx = fctx;
    run.wfn = wfn;
    run.wctx = wctx;
    run.dirs.diff_dirfd = job->diff_dirfd;
    run.dirs.fd = -1;
    run.md = EVP_MD_CTX_new();
    run.chunk = malloc(DEEP_CHUNK);
    if (run.md == NULL || run.chunk == NULL || EVP_DigestInit_ex(run.md, EVP_sha256(), NULL) != 1) {
        run.err = ENOMEM;
        goto out;
    }
    fd = open_tarsplit(&run);
    if (fd == -1)
        goto processed;
    if (fd < 0)
        goto out;
    run_entries(&run, fd);
    close(fd);
    if (run.err != 0)
        goto out;
    if (!run.stop)
        finish(&run);
    if (run.err != 0)
        goto out;
processed:
    if (st != NULL) {
        st->layers++;
        st->bytes_hashed += run.bytes;
        st->files += run.files;
    }
out:
    dir_cache_drop(&run.dirs);
    free(run.dirs.path);
    name_set_free(&run.names);
    free(run.norm);
    free(run.chunk);
    EVP_MD_CTX_free(run.md);
    if (run.err != 0) {
        errno = run.err;
        return -1;
    }
    return 0;
}

int deep_verify_layer(const struct deep_layer_job *job, deep_finding_fn fn, void *ctx,
                      struct deep_stats *st)
{
    return deep_run_layer(job, fn, ctx, NULL, NULL, st);
}

int deep_rebuild_stream(const struct deep_layer_job *job, deep_write_fn write_fn, void *wctx,
                        deep_finding_fn fn, void *fctx, struct deep_stats *st)
{
    if (write_fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    return deep_run_layer(job, fn, fctx, write_fn, wctx, st);
}

/* ---------------------------------------------------------- thread pool */

struct deep_pool {
    const struct deep_layer_job *jobs;
    size_t n, next, done;
    deep_finding_fn fn;
    deep_progress_fn progress;
    void *ctx;
    struct deep_stats totals;
    int failed;
    pthread_mutex_t mu;
};

static void pool_finding(void *ctx, const char *chain_id, const char *check, const char *detail)
{
    struct deep_pool *p = ctx;

    pthread_mutex_lock(&p->mu);
    if (p->fn != NULL)
        p->fn(p->ctx, chain_id, check, detail);
    pthread_mutex_unlock(&p->mu);
}

static void *pool_worker(void *arg)
{
    struct deep_pool *p = arg;

    for (;;) {
        struct deep_stats local;
        size_t i;
        int rc, err;

        pthread_mutex_lock(&p->mu);
        i = p->next < p->n ? p->next++ : p->n;
        pthread_mutex_unlock(&p->mu);
        if (i >= p->n)
            return NULL;
        memset(&local, 0, sizeof(local));
        rc = deep_verify_layer(&p->jobs[i], pool_finding, p, &local);
        err = rc < 0 ? errno : 0;
        pthread_mutex_lock(&p->mu);
        p->totals.layers += local.layers;
        p->totals.bytes_hashed += local.bytes_hashed;
        p->totals.files += local.files;
        p->done++;
        if (rc < 0)
            p->failed++;
        if (p->progress != NULL)
            p->progress(p->ctx, &p->jobs[i], rc, err, p->done, p->n, &p->totals);
        pthread_mutex_unlock(&p->mu);
    }
}

int deep_verify_all(const struct deep_layer_job *jobs, size_t n, int threads,
                    deep_finding_fn fn, deep_progress_fn progress, void *ctx,
                    struct deep_stats *st)
{
    struct deep_pool p;
    pthread_t *tids = NULL;
    size_t want, started = 0;

    memset(&p, 0, sizeof(p));
    p.jobs = jobs;
    p.n = n;
    p.fn = fn;
    p.progress = progress;
    p.ctx = ctx;
    if (pthread_mutex_init(&p.mu, NULL) != 0)
        return -1;
    want = threads <= 1 ? 1 : (size_t)threads;
    if (want > n)
        want = n;
    /* The calling thread is one of the workers. */
    if (want > 1)
        tids = calloc(want - 1, sizeof(*tids));
    for (size_t i = 0; tids != NULL && i + 1 < want; i++) {
        if (pthread_create(&tids[i], NULL, pool_worker, &p) != 0)
            break;
        started++;
    }
    pool_worker(&p);
    for (size_t i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(tids);
    pthread_mutex_destroy(&p.mu);
    if (st != NULL)
        *st = p.totals;
    return p.failed;
}

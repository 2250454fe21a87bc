/* reap_quarantine.c — `--reap --apply --quarantine DIR`, `--restore DIR`
 * and `--purge-quarantine DIR --older-than DUR`.
 *
 * Owns: the quarantine's layout and manifest. Quarantining is a rename
 * (same file system, enforced), so content, modes, owners, xattrs such as
 * trusted.overlay.opaque, whiteout devices, hard links and the inode itself
 * are kept as they are; restoring is the rename back.
 *
 *   DIR/.ovl2fsck.lock                 flock while a reaper, restore or purge uses DIR
 *   DIR/<run>/manifest.jsonl          one JSON object per line, fsync'd, append-only
 *   DIR/<run>/items/<seq>-<name>       the moved objects
 *   DIR/purging-<run>/                 a run being purged (never restored)
 *
 * <run> = <UTC time>-<pid>, so names sort by age. Manifest records:
 *   {"type":"run","version":1,"root":"/var/lib/docker","root_dev":n,"time":epoch,"host":"..."}
 *   {"type":"move","seq":n,"check":..,"object":..,"orig":"<root-relative>","stored":"items/<name>",
 *    "dev":n,"ino":n,"mode":n,"uid":n,"gid":n,"nlink":n,"mtime":s,"mtime_nsec":ns,"bytes":n}
 *   {"type":"rename","seq":n,"from":"<root-relative>","to":"<root-relative>","dev":n,"ino":n}
 *   {"type":"untag","seq":n,"path":"image/overlay2/repositories.json","removed":{repo:{ref:id}},
 *    "before":"<the file's old bytes>","after_sha256":"<hex>"}
 *   {"type":"done","seq":n}       the action above completed
 *   {"type":"restored","seq":n}   --restore put it back
 * Each record is written before its action and "done" after it, so a
 * crash in between is resolved on restore by looking where the object is.
 *
 * --restore undoes runs newest first and each run's records in reverse
 * order. It first checks everything: while dockerd is live, or when any
 * destination exists now (or a tag names another image now), it refuses
 * and changes nothing, listing the conflicts. */
#include "reap_internal.h"
#include "exit_codes.h"
#include "grow.h"
#include "fsutil.h"
#include "live.h"
#include "live_containerd.h"
#include "reap_containerd.h"
#include "text.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MANIFEST_CAP (256u * 1024 * 1024)

/* ---- writing (during --reap --apply --quarantine) ---------------------- */

static bool path_is_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

/* DIR must not be the root or inside the store's own dirs. */
/* realpath of dir, or, when it does not exist yet, of its nearest existing
 * ancestor with the missing part appended (where it would be made). */
static bool real_place(const char *dir, char *out)
{
    char buf[PATH_MAX], real[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    const char *rest = "";
    while (!realpath(buf, real)) {
        char *slash = strrchr(buf, '/');
        if (errno != ENOENT)
            return false;
        if (!slash) {               /* the first component of a relative path */
            rest = dir;
            if (!realpath(".", real))
                return false;
            break;
        }
        rest = dir + (slash - buf) + 1;
        if (slash == buf) {
            snprintf(real, sizeof real, "/");
            break;
        }
        *slash = '\0';
    }
    if (!*rest)
        return snprintf(out, PATH_MAX, "%s", real) < PATH_MAX;
    return snprintf(out, PATH_MAX, "%s/%s", strcmp(real, "/") == 0 ? "" : real, rest) < PATH_MAX;
}

static bool bad_place(const char *dir, const char *root, char *err, size_t errlen)
{
    char real[PATH_MAX], sub[PATH_MAX + 32];
    if (!real_place(dir, real))
        return false;
    static const char *const store_dirs[] = {
        "overlay2", "image", "containers", "buildkit",                       /* dockerd's */
        "io.containerd.metadata.v1.bolt", "io.containerd.snapshotter.v1.overlayfs", /* containerd's */
        "io.containerd.content.v1.content",
    };
    if (strcmp(real, root) == 0) {
        snprintf(err, errlen, "--quarantine %s is the root itself", dir);
        return true;
    }
    for (size_t i = 0; i < sizeof store_dirs / sizeof store_dirs[0]; i++) {
        snprintf(sub, sizeof sub, "%s/%s", root, store_dirs[i]);
        if (path_is_under(real, sub)) {
            snprintf(err, errlen, "--quarantine %s is inside %s, where the daemon would see it", dir, sub);
            return true;
        }
    }
    return false;
}

/* A rename from the quarantine into the root must work (EXDEV otherwise,
 * e.g. across bind mounts of one file system). */
static int probe_rename(struct quarantine *q, int rootfd, char *err, size_t errlen)
{
    char name[64];
    snprintf(name, sizeof name, ".ovl2fsck-probe-%ld", (long)getpid());
    if (mkdirat(q->itemsfd, name, 0700) < 0) {
        snprintf(err, errlen, "cannot write into the quarantine: %s", strerror(errno));
        return -1;
    }
    int rc = renameat(q->itemsfd, name, rootfd, name);
    int e = errno;
    if (rc == 0)
        renameat(rootfd, name, q->itemsfd, name);
    unlinkat(q->itemsfd, name, AT_REMOVEDIR);
    if (rc < 0) {
        snprintf(err, errlen, "cannot rename between the quarantine and the root: %s%s", strerror(e),
                 e == EXDEV ? " (the quarantine must be on the root's file system, not a bind mount)" : "");
        return -1;
    }
    return 0;
}

static int write_header(struct quarantine *q, const char *root, dev_t dev)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    cJSON *h = cJSON_CreateObject();
    cJSON_AddStringToObject(h, "type", "run");
    cJSON_AddNumberToObject(h, "version", 1);
    cJSON_AddStringToObject(h, "root", root);
    cJSON_AddNumberToObject(h, "root_dev", (double)dev);
    cJSON_AddNumberToObject(h, "time", (double)time(NULL));
    cJSON_AddStringToObject(h, "host", host);
    int rc = reap_quarantine_record(q, h);
    cJSON_Delete(h);
    return rc;
}

static int make_run(struct quarantine *q, char *err, size_t errlen)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(q->run, sizeof q->run, "%04d%02d%02dT%02d%02d%02dZ-%ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (long)getpid());
    if (mkdirat(q->dirfd, q->run, 0700) < 0 || (q->runfd = fs_open_dir(q->dirfd, q->run)) < 0 ||
        mkdirat(q->runfd, REAP_ITEMS_DIR, 0700) < 0 || (q->itemsfd = fs_open_dir(q->runfd, REAP_ITEMS_DIR)) < 0) {
        snprintf(err, errlen, "cannot make the quarantine run dir %s: %s", q->run, strerror(errno));
        return -1;
    }
    q->manifest_fd = openat(q->runfd, REAP_MANIFEST, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (q->manifest_fd < 0) {
        snprintf(err, errlen, "cannot create the quarantine manifest: %s", strerror(errno));
        return -1;
    }
    act_fsync_dir(q->runfd);
    act_fsync_dir(q->dirfd);
    return 0;
}

/* The dir, or its nearest existing ancestor when it does not exist yet. */
static int stat_existing(const char *dir, struct stat *st)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", dir);
    while (stat(buf, st) < 0) {
        char *slash = strrchr(buf, '/');
        if (errno != ENOENT || !slash)
            return slash ? -1 : stat(".", st);
        if (slash == buf)
            return stat("/", st);
        *slash = '\0';
    }
    return 0;
}

int reap_quarantine_check_place(const char *dir, int rootfd, const char *root, char *err, size_t errlen)
{
    struct stat rst, qst;
    if (fstat(rootfd, &rst) < 0 || stat_existing(dir, &qst) < 0) {
        snprintf(err, errlen, "cannot use --quarantine %s: %s", dir, strerror(errno));
        return -1;
    }
    if (qst.st_dev != rst.st_dev) {
        snprintf(err, errlen, "--quarantine %s is on another file system than %s: a quarantine must be "
                 "reachable by rename (choose a dir on the same file system)", dir, root);
        return -1;
    }
    return bad_place(dir, root, err, errlen) ? -1 : 0;
}

int reap_quarantine_open(struct quarantine *q, const char *dir, int rootfd, const char *root, char *err, size_t errlen)
{
    memset(q, 0, sizeof *q);
    q->dirfd = q->runfd = q->itemsfd = q->manifest_fd = q->lock_fd = -1;
    struct stat rst, qst;
    if (fstat(rootfd, &rst) < 0 || act_mkdir_p(dir) < 0 ||
        (q->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 || fstat(q->dirfd, &qst) < 0) {
        snprintf(err, errlen, "cannot use --quarantine %s: %s", dir, strerror(errno));
        return -1;
    }
    if (qst.st_dev != rst.st_dev) {
        snprintf(err, errlen, "--quarantine %s is on another file system than %s: a quarantine must be "
                 "reachable by rename (choose a dir on the same file system)", dir, root);
        return -1;
    }
    if (bad_place(dir, root, err, errlen))
        return -1;
    q->lock_fd = act_lock_take(q->dirfd, ACT_LOCK_NAME, dir, err, errlen);
    if (q->lock_fd < 0 || make_run(q, err, errlen) < 0)
        return -1;
    if (probe_rename(q, rootfd, err, errlen) < 0 || write_header(q, root, rst.st_dev) < 0) {
        if (!err[0])
            snprintf(err, errlen, "cannot write the quarantine manifest: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int reap_quarantine_begin_apply(struct act_run *run, const char *dir, struct quarantine *q, char **run_dir)
{
    char err[1024];
    int code = act_run_open_root(run);
    if (code)
        return code;
    if (dir && reap_quarantine_check_place(dir, run->rootfd, run->root, err, sizeof err) < 0)
        return act_fail(err, EXIT_OPERATIONAL);
    if ((code = act_run_lock(run)) != 0)
        return code;
    if (dir) {
        if (reap_quarantine_open(q, dir, run->rootfd, run->root, err, sizeof err) < 0)
            return act_fail(err, EXIT_OPERATIONAL);
        *run_dir = act_printf("%s/%s", dir, q->run);
    }
    return 0;
}

void reap_quarantine_close(struct quarantine *q)
{
    if (q->manifest_fd >= 0)
        close(q->manifest_fd);
    if (q->itemsfd >= 0)
        close(q->itemsfd);
    if (q->runfd >= 0)
        close(q->runfd);
    if (q->lock_fd >= 0)
        act_lock_release(q->dirfd, ACT_LOCK_NAME, q->lock_fd);
    if (q->dirfd >= 0)
        close(q->dirfd);
    q->manifest_fd = q->itemsfd = q->runfd = q->lock_fd = q->dirfd = -1;
}

static int append_line(int fd, const cJSON *obj)
{
    char *line = cJSON_PrintUnformatted(obj);
    if (!line)
        return -1;
    size_t len = strlen(line);
    line[len] = '\n';
    const char *p = line;
    size_t left = len + 1;
    int rc = 0;
    while (left && rc == 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            rc = -1;
        else {
            p += n;
            left -= (size_t)n;
        }
    }
    free(line);
    return rc == 0 ? fsync(fd) : -1;
}

int reap_quarantine_record(struct quarantine *q, const cJSON *obj)
{
    return append_line(q->manifest_fd, obj);
}

int reap_quarantine_done(struct quarantine *q, double seq)
{
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "type", "done");
    cJSON_AddNumberToObject(rec, "seq", seq);
    int rc = reap_quarantine_record(q, rec);
    cJSON_Delete(rec);
    return rc;
}

static cJSON *move_record(struct quarantine *q, const char *check, const char *object, int64_t bytes,
                          const char *path, const char *stored, const struct stat *st)
{
    cJSON *rec = cJSON_CreateObject();
    cJSON_AddStringToObject(rec, "type", "move");
    cJSON_AddNumberToObject(rec, "seq", (double)++q->seq);
    cJSON_AddStringToObject(rec, "check", check);
    cJSON_AddStringToObject(rec, "object", object);
    cJSON_AddStringToObject(rec, "orig", path);
    cJSON_AddStringToObject(rec, "stored", stored);
    cJSON_AddNumberToObject(rec, "dev", (double)st->st_dev);
    cJSON_AddNumberToObject(rec, "ino", (double)st->st_ino);
    cJSON_AddNumberToObject(rec, "mode", (double)st->st_mode);
    cJSON_AddNumberToObject(rec, "uid", (double)st->st_uid);
    cJSON_AddNumberToObject(rec, "gid", (double)st->st_gid);
    cJSON_AddNumberToObject(rec, "nlink", (double)st->st_nlink);
    cJSON_AddNumberToObject(rec, "mtime", (double)st->st_mtim.tv_sec);
    cJSON_AddNumberToObject(rec, "mtime_nsec", (double)st->st_mtim.tv_nsec);
    cJSON_AddNumberToObject(rec, "bytes", (double)bytes);
    return rec;
}

int reap_quarantine_move(struct quarantine *q, struct act_run *run, const char *run_dir, const char *check,
                         const char *object, int64_t bytes, const char *path, int dirfd, const char *base,
                         const struct stat *st, char *err, size_t errlen)
{
    char name[NAME_MAX + 1], stored[NAME_MAX + 16];
    snprintf(name, sizeof name, "%lu-%.200s", q->seq + 1, base);
    snprintf(stored, sizeof stored, REAP_ITEMS_DIR "/%s", name);
    cJSON *rec = move_record(q, check, object, bytes, path, stored, st);
    double seq = cJSON_GetObjectItem(rec, "seq")->valuedouble;
    int rc = reap_quarantine_record(q, rec);
    cJSON_Delete(rec);
    if (rc < 0) {
        snprintf(err, errlen, "cannot write the quarantine manifest: %s", strerror(errno));
        return -1;
    }
    cJSON *extra = cJSON_CreateObject();
    char *to = act_printf("%s/%s", run_dir, stored);
    cJSON_AddStringToObject(extra, "to", to);
    free(to);
    rc = -1;
    if (act_run_begin(run, check, object, path, 0, "quarantine", extra)) {
        rc = act_move(dirfd, base, q->itemsfd, name, st->st_dev, st->st_ino);
        if (rc < 0)
            snprintf(err, errlen, "rename %s into the quarantine: %s", path, strerror(errno));
        act_run_end(run, check, object, path, 0, "quarantine", rc < 0 ? err : NULL, extra);
    } else {
        snprintf(err, errlen, "cannot write the journal");
    }
    cJSON_Delete(extra);
    if (rc == 0 && reap_quarantine_done(q, seq) < 0) {
        snprintf(err, errlen, "cannot write the quarantine manifest: %s", strerror(errno));
        rc = -1;
    }
    return rc;
}

/* ---- reading runs -------------------------------------------------------- */

struct record {
    cJSON *obj;
    const char *type;
    long seq;
    bool done, restored;
};

struct run {
    char *name;          /* dir name inside its quarantine dir */
    int runfd, itemsfd, manifest_fd;
    char *root;
    double time;
    struct record *recs;
    size_t count, cap;
    size_t pending;      /* records still to undo */
};

static long rec_seq(const cJSON *o)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "seq");
    return cJSON_IsNumber(s) ? (long)s->valuedouble : -1;
}

static const char *rec_str(const cJSON *o, const char *key)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(s) ? s->valuestring : NULL;
}

static double rec_num(const cJSON *o, const char *key)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(s) ? s->valuedouble : -1;
}

static struct record *find_rec(struct run *r, long seq)
{
    for (size_t i = 0; i < r->count; i++)
        if (r->recs[i].seq == seq)
            return &r->recs[i];
    return NULL;
}

static void add_record(struct run *r, cJSON *o)
{
    const char *type = rec_str(o, "type");
    if (!type) {
        cJSON_Delete(o);
        return;
    }
    if (strcmp(type, "run") == 0) {
        free(r->root);
        r->root = act_strdup(rec_str(o, "root"));
        r->time = rec_num(o, "time");
        cJSON_Delete(o);
        return;
    }
    if (strcmp(type, "done") == 0 || strcmp(type, "restored") == 0) {
        struct record *t = find_rec(r, rec_seq(o));
        if (t && strcmp(type, "done") == 0)
            t->done = true;
        else if (t)
            t->restored = true;
        cJSON_Delete(o);
        return;
    }
    r->recs = grow_array_or_die(r->recs, &r->cap, r->count + 1, sizeof *r->recs);
    r->recs[r->count++] = (struct record){ .obj = o, .type = type, .seq = rec_seq(o) };
}

/* Parse DIR/<name>/manifest.jsonl; a torn last line is ignored. */
static int read_run(int qdirfd, const char *name, struct run *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    r->runfd = r->itemsfd = r->manifest_fd = -1;
    r->name = act_strdup(name);
    r->time = -1;
    r->runfd = fs_open_dir(qdirfd, name);
    if (r->runfd < 0) {
        snprintf(err, errlen, "%s: %s", name, strerror(errno));
        return -1;
    }
    r->itemsfd = fs_open_dir(r->runfd, REAP_ITEMS_DIR);
    struct file_buf b;
    fs_read_file(r->runfd, REAP_MANIFEST, MANIFEST_CAP, &b);
    if (b.status != FILE_OK) {
        char why[128];
        snprintf(err, errlen, "%s/%s: %s", name, REAP_MANIFEST, file_status_text(&b, why, sizeof why));
        file_buf_free(&b);
        return -1;
    }
    char *save = NULL;
    for (char *line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *o = cJSON_Parse(line);
        if (o)
            add_record(r, o);
    }
    file_buf_free(&b);
    if (!r->root) {
        snprintf(err, errlen, "%s/%s has no run header", name, REAP_MANIFEST);
        return -1;
    }
    return 0;
}

static void free_run(struct run *r)
{
    for (size_t i = 0; i < r->count; i++)
        cJSON_Delete(r->recs[i].obj);
    free(r->recs);
    free(r->name);
    free(r->root);
    if (r->itemsfd >= 0)
        close(r->itemsfd);
    if (r->manifest_fd >= 0)
        close(r->manifest_fd);
    if (r->runfd >= 0)
        close(r->runfd);
    memset(r, 0, sizeof *r);
}

struct run_names {
    char **v;
    size_t n, cap;
    int dirfd;
};

static int collect_run(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct run_names *l = ctx;
    struct stat st;
    if (name[0] == '.' || strncmp(name, REAP_PURGING_PREFIX, strlen(REAP_PURGING_PREFIX)) == 0)
        return 0;
    int fd = fs_open_dir(l->dirfd, name);
    bool is_run = fd >= 0 && fs_lstat(fd, REAP_MANIFEST, &st);
    if (fd >= 0)
        close(fd);
    if (!is_run)
        return 0;
    l->v = grow_array_or_die(l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n++] = act_strdup(name);
    return 0;
}

static int cmp_name_desc(const void *a, const void *b)
{
    return strcmp(*(char *const *)b, *(char *const *)a);
}

/* ---- restore ------------------------------------------------------------- */

struct restorer {
    const struct options *o;
    int qdirfd;          /* the dir holding the runs */
    int qlock;
    char qdir[PATH_MAX];
    struct run *runs;
    size_t run_count;
    char root[PATH_MAX];
    int rootfd, rootlock;
    struct act_journal journal;
    char **problems;
    size_t problem_count, problem_cap;
    size_t restored, failed;
};

static void problem(struct restorer *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct restorer *s, const char *fmt, ...)
{
    s->problems = grow_array_or_die(s->problems, &s->problem_cap, s->problem_count + 1, sizeof *s->problems);
    va_list ap;
    va_start(ap, fmt);
    s->problems[s->problem_count++] = act_vprintf(fmt, ap);
    va_end(ap);
}

static bool stored_is(const struct run *r, const cJSON *o)
{
    const char *stored = rec_str(o, "stored");
    struct stat st;
    if (!stored || strncmp(stored, REAP_ITEMS_DIR "/", sizeof REAP_ITEMS_DIR) != 0 || r->itemsfd < 0)
        return false;
    return fs_lstat(r->itemsfd, stored + sizeof REAP_ITEMS_DIR, &st) && (double)st.st_ino == rec_num(o, "ino");
}

static bool root_has(struct restorer *s, const char *rel, double ino)
{
    struct stat st;
    return act_lstat(s->rootfd, rel, &st) && (ino < 0 || (double)st.st_ino == ino);
}

/* A path some store's reaper may touch (the manifest names the root, not
 * its kind): each store's allowlist. */
static bool (*const store_allows[])(const char *relpath) = { reap_path_allowed, reap_containerd_path_allowed };

static bool path_allowed(const char *relpath)
{
    for (size_t i = 0; i < sizeof store_allows / sizeof store_allows[0]; i++)
        if (store_allows[i](relpath))
            return true;
    return false;
}

/* What will a record's undo do? 0 nothing, 1 undo it, -1 cannot (problem noted). */
static int classify(struct restorer *s, struct run *r, struct record *rec, char **will_exist, size_t *will_n)
{
    const cJSON *o = rec->obj;
    if (rec->restored)
        return 0;
    if (strcmp(rec->type, "move") == 0) {
        const char *orig = rec_str(o, "orig");
        if (!orig || !path_allowed(orig)) {
            problem(s, "%s: bad orig path in the manifest %s", r->name, orig);
            return -1;
        }
        if (!stored_is(r, o)) {
            if (root_has(s, orig, rec_num(o, "ino")))
                return 0;   /* never moved (a crash before the rename) */
            problem(s, "%s: %s is neither in the quarantine nor in the root", r->name, orig);
            return -1;
        }
        if (root_has(s, orig, -1)) {
            problem(s, "%s now exists in the root (%s); not overwriting it", orig, r->name);
            return -1;
        }
        will_exist[(*will_n)++] = (char *)orig;
        return 1;
    }
    if (strcmp(rec->type, "rename") == 0) {
        const char *from = rec_str(o, "from"), *to = rec_str(o, "to");
        if (!from || !to || !path_allowed(from) || !path_allowed(to)) {
            problem(s, "%s: bad rename record %s", r->name, from);
            return -1;
        }
        bool to_there = root_has(s, to, -1);
        for (size_t i = 0; !to_there && i < *will_n; i++)
            to_there = strcmp(will_exist[i], to) == 0;
        if (!to_there) {
            if (root_has(s, from, rec_num(o, "ino")))
                return 0;   /* never renamed */
            problem(s, "%s: %s is gone", r->name, to);
            return -1;
        }
        if (root_has(s, from, -1)) {
            problem(s, "%s now exists in the root (%s); not overwriting it", from, r->name);
            return -1;
        }
        return 1;
    }
    if (strcmp(rec->type, "untag") == 0) {
        char err[512];
        const char *before = rec_str(o, "before");
        if (reap_tags_restore(s->rootfd, cJSON_GetObjectItemCaseSensitive(o, "removed"), before, before ? strlen(before) : 0,
                         rec_str(o, "after_sha256"), true, err, sizeof err) < 0) {
            problem(s, "repositories.json: %s (%s)", err, r->name);
            return -1;
        }
        return 1;
    }
    return 0;
}

/* Undo order: newest run first, each run's records by seq descending. */
static int cmp_rec_desc(const void *a, const void *b)
{
    long x = ((const struct record *)a)->seq, y = ((const struct record *)b)->seq;
    return x < y ? 1 : x > y ? -1 : 0;
}

static int check_all(struct restorer *s)
{
    size_t cap = 0;
    for (size_t i = 0; i < s->run_count; i++)
        cap += s->runs[i].count;
    char **will = calloc(cap + 1, sizeof *will);
    size_t will_n = 0;
    for (size_t i = 0; i < s->run_count; i++) {
        struct run *r = &s->runs[i];
        if (r->count)
            qsort(r->recs, r->count, sizeof *r->recs, cmp_rec_desc);
        for (size_t j = 0; j < r->count; j++) {
            int c = classify(s, r, &r->recs[j], will, &will_n);
            r->recs[j].done = c == 1;   /* reused: "to undo" */
            r->pending += c == 1;
        }
    }
    for (size_t i = 0; i < will_n; i++)
        for (size_t j = i + 1; j < will_n; j++)
            if (strcmp(will[i], will[j]) == 0)
                problem(s, "%s would be restored twice", will[i]);
    free(will);
    return s->problem_count ? -1 : 0;
}

static void mark_restored(struct run *r, long seq)
{
    if (r->manifest_fd < 0)
        r->manifest_fd = openat(r->runfd, REAP_MANIFEST, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", "restored");
    cJSON_AddNumberToObject(o, "seq", (double)seq);
    if (r->manifest_fd >= 0)
        append_line(r->manifest_fd, o);
    cJSON_Delete(o);
}

static int undo_move(struct restorer *s, struct run *r, const cJSON *o, char *err, size_t errlen)
{
    const char *orig = rec_str(o, "orig"), *stored = rec_str(o, "stored") + sizeof REAP_ITEMS_DIR;
    const char *base;
    int dirfd = act_open_parent(s->rootfd, orig, &base);
    if (dirfd < 0) {
        snprintf(err, errlen, "cannot open the dir of %s: %s", orig, strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    if (!fs_lstat(r->itemsfd, stored, &st))
        snprintf(err, errlen, "%s: %s", stored, strerror(errno));
    else if ((double)st.st_ino != rec_num(o, "ino"))
        snprintf(err, errlen, "%s is not the object that was quarantined", stored);
    else if ((rc = act_move(r->itemsfd, stored, dirfd, base, st.st_dev, st.st_ino)) < 0)
        snprintf(err, errlen, "rename back to %s: %s", orig, strerror(errno));
    close(dirfd);
    return rc;
}

static int undo_rename(struct restorer *s, const cJSON *o, char *err, size_t errlen)
{
    const char *from = rec_str(o, "from"), *to = rec_str(o, "to");
    const char *fbase, *tbase;
    int fdir = act_open_parent(s->rootfd, from, &fbase);
    int tdir = act_open_parent(s->rootfd, to, &tbase);
    struct stat st;
    int rc = -1;
    if (fdir < 0 || tdir < 0)
        snprintf(err, errlen, "cannot open the dirs of %s: %s", from, strerror(errno));
    else if (!fs_lstat(tdir, tbase, &st))
        snprintf(err, errlen, "%s: %s", to, strerror(errno));
    else if ((rc = act_move(tdir, tbase, fdir, fbase, st.st_dev, st.st_ino)) < 0)
        snprintf(err, errlen, "rename %s back to %s: %s", to, from, strerror(errno));
    if (fdir >= 0)
        close(fdir);
    if (tdir >= 0)
        close(tdir);
    return rc;
}

static int undo_untag(struct restorer *s, const cJSON *o, char *err, size_t errlen)
{
    const char *before = rec_str(o, "before");
    return reap_tags_restore(s->rootfd, cJSON_GetObjectItemCaseSensitive(o, "removed"), before,
                        before ? strlen(before) : 0, rec_str(o, "after_sha256"), false, err, errlen);
}

static const char *record_path(const cJSON *o, const char *type)
{
    if (strcmp(type, "move") == 0)
        return rec_str(o, "orig");
    if (strcmp(type, "rename") == 0)
        return rec_str(o, "from");
    return REAP_TAGS_PATH;
}

static void undo_record(struct restorer *s, struct run *r, struct record *rec)
{
    char err[1024] = "";
    const char *path = record_path(rec->obj, rec->type);
    const char *action = strcmp(rec->type, "untag") == 0 ? "restore-tags" : "restore";
    act_journal_write(&s->journal, rec_str(rec->obj, "check"), rec_str(rec->obj, "object"), path,
                  (int64_t)rec_num(rec->obj, "bytes"), action, "started", NULL, NULL);
    int rc;
    if (strcmp(rec->type, "move") == 0)
        rc = undo_move(s, r, rec->obj, err, sizeof err);
    else if (strcmp(rec->type, "rename") == 0)
        rc = undo_rename(s, rec->obj, err, sizeof err);
    else
        rc = undo_untag(s, rec->obj, err, sizeof err);
    act_journal_end(&s->journal, rec_str(rec->obj, "check"), rec_str(rec->obj, "object"), path,
                (int64_t)rec_num(rec->obj, "bytes"), action, rc < 0 ? err : NULL, NULL);
    if (rc < 0) {
        fprintf(stderr, "ovl2fsck: cannot restore %s: %s\n", path ? path : "?", err);
        s->failed++;
        return;
    }
    mark_restored(r, rec->seq);
    r->pending--;
    s->restored++;
}

/* A fully restored run leaves nothing behind. */
static void remove_run_dir(struct restorer *s, struct run *r)
{
    if (r->pending)
        return;
    if (r->manifest_fd >= 0) {
        close(r->manifest_fd);
        r->manifest_fd = -1;
    }
    unlinkat(r->runfd, REAP_MANIFEST, 0);
    unlinkat(r->runfd, REAP_ITEMS_DIR, AT_REMOVEDIR);
    unlinkat(s->qdirfd, r->name, AT_REMOVEDIR);
    act_fsync_dir(s->qdirfd);
}

static int load_runs(struct restorer *s, const char *dir, char *err, size_t errlen)
{
    struct stat st;
    char real[PATH_MAX];
    if (!realpath(dir, real)) {
        snprintf(err, errlen, "cannot use %s: %s", dir, strerror(errno));
        return -1;
    }
    struct run_names names = { 0 };
    int dfd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        snprintf(err, errlen, "cannot open %.900s: %s", real, strerror(errno));
        return -1;
    }
    if (fs_lstat(dfd, REAP_MANIFEST, &st)) {
        /* DIR is one run: its parent holds the lock */
        char *slash = strrchr(real, '/');
        close(dfd);
        names.v = malloc(sizeof *names.v);
        names.v[0] = act_strdup(slash + 1);
        names.n = 1;
        *slash = '\0';
        snprintf(s->qdir, sizeof s->qdir, "%s", real[0] ? real : "/");
        dfd = open(s->qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    } else {
        snprintf(s->qdir, sizeof s->qdir, "%s", real);
        names.dirfd = dfd;
        fs_list_dir(dfd, collect_run, &names);
        if (names.n)
            qsort(names.v, names.n, sizeof *names.v, cmp_name_desc);
    }
    s->qdirfd = dfd;
    int rc = 0;
    s->runs = calloc(names.n + 1, sizeof *s->runs);
    for (size_t i = 0; i < names.n; i++) {
        if (rc == 0 && read_run(dfd, names.v[i], &s->runs[s->run_count], err, errlen) == 0)
            s->run_count++;
        else if (rc == 0) {
            free_run(&s->runs[s->run_count]);
            rc = -1;
        }
        free(names.v[i]);
    }
    free(names.v);
    if (rc == 0 && s->run_count == 0) {
        snprintf(err, errlen, "%s holds no quarantine runs", dir);
        rc = -1;
    }
    return rc;
}

static int restore_refuse(struct restorer *s, const char *msg)
{
    fprintf(stderr, "ovl2fsck: %s\n", msg);
    for (size_t i = 0; i < s->problem_count; i++)
        fprintf(stderr, "ovl2fsck:   %s\n", s->problems[i]);
    return EXIT_OPERATIONAL;
}

/* A quarantine's root is a Docker or a containerd root: no daemon of
 * either kind may be live on it. */
static bool daemon_live(struct restorer *s, char *why, size_t whylen)
{
    struct liveness live;
    live_detect(s->root, s->o->pidfile, &live);
    if (live.running) {
        snprintf(why, whylen, "dockerd is live: %s", live.reason);
        return true;
    }
    char cwhy[512] = "";
    if (live_containerd_detect(s->root, s->o, cwhy, sizeof cwhy)) {
        snprintf(why, whylen, "containerd is live: %s", cwhy);
        return true;
    }
    return false;
}

static int restore_checks(struct restorer *s, char *err, size_t errlen)
{
    char why[700];
    if (daemon_live(s, why, sizeof why)) {
        snprintf(err, errlen, "refusing to restore while %s", why);
        return restore_refuse(s, err);
    }
    for (size_t i = 0; i < s->problem_count; i++)
        free(s->problems[i]);
    s->problem_count = 0;
    for (size_t i = 0; i < s->run_count; i++)
        s->runs[i].pending = 0;
    if (check_all(s) < 0)
        return restore_refuse(s, "refusing to restore: nothing was changed");
    return 0;
}

static int restore_prepare(struct restorer *s, char *err, size_t errlen)
{
    if (load_runs(s, s->o->restore_dir, err, errlen) < 0)
        return restore_refuse(s, err);
    for (size_t i = 1; i < s->run_count; i++)
        if (strcmp(s->runs[i].root, s->runs[0].root) != 0)
            return restore_refuse(s, "the quarantine holds runs of several roots; restore one run dir at a time");
    snprintf(s->root, sizeof s->root, "%s", s->runs[0].root);
    s->rootfd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->rootfd < 0) {
        snprintf(err, errlen, "cannot open the root %.900s: %s", s->root, strerror(errno));
        return restore_refuse(s, err);
    }
    /* every refusal is decided before anything (a lock file) is written,
     * then decided again under the locks */
    int rc = restore_checks(s, err, errlen);
    if (rc)
        return rc;
    s->qlock = act_lock_take(s->qdirfd, ACT_LOCK_NAME, s->qdir, err, errlen);
    if (s->qlock < 0)
        return restore_refuse(s, err);
    s->rootlock = act_lock_take(s->rootfd, ACT_LOCK_NAME, s->root, err, errlen);
    if (s->rootlock < 0)
        return restore_refuse(s, err);
    rc = restore_checks(s, err, errlen);
    if (rc)
        return rc;
    if (act_journal_open(&s->journal, s->o->journal, err, errlen) < 0)
        return restore_refuse(s, err);
    return 0;
}

static void restore_release(struct restorer *s)
{
    for (size_t i = 0; i < s->run_count; i++)
        free_run(&s->runs[i]);
    free(s->runs);
    for (size_t i = 0; i < s->problem_count; i++)
        free(s->problems[i]);
    free(s->problems);
    act_journal_close(&s->journal);
    if (s->rootlock >= 0)
        act_lock_release(s->rootfd, ACT_LOCK_NAME, s->rootlock);
    if (s->rootfd >= 0)
        close(s->rootfd);
    if (s->qlock >= 0)
        act_lock_release(s->qdirfd, ACT_LOCK_NAME, s->qlock);
    if (s->qdirfd >= 0)
        close(s->qdirfd);
}

int reap_quarantine_restore_main(const struct options *o, volatile sig_atomic_t *stop)
{
    struct restorer s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.qdirfd = s.qlock = s.rootfd = s.rootlock = -1;
    s.journal.fd = -1;
    char err[1024] = "";
    int code = restore_prepare(&s, err, sizeof err);
    bool interrupted = false;
    for (size_t i = 0; code == 0 && i < s.run_count && !interrupted; i++) {
        struct run *r = &s.runs[i];
        for (size_t j = 0; j < r->count; j++) {
            if (stop && *stop) {
                interrupted = true;
                break;
            }
            if (r->recs[j].done)
                undo_record(&s, r, &r->recs[j]);
        }
        remove_run_dir(&s, r);
    }
    if (code == 0) {
        if (o->json)
            printf("{\"version\":1,\"mode\":\"restore\",\"root\":\"%s\",\"restored\":%zu,\"failed\":%zu,"
                   "\"interrupted\":%s}\n", s.root, s.restored, s.failed, interrupted ? "true" : "false");
        else
            printf("Restored %zu object%s into %s from %s%s%s.\n", s.restored, s.restored == 1 ? "" : "s", s.root,
                   s.qdir, s.failed ? "; failures: " : "", s.failed ? "see above" : "");
        code = interrupted ? EXIT_INTERRUPTED : s.failed ? EXIT_FOUND : EXIT_CLEAN;
    }
    restore_release(&s);
    return code;
}

/* ---- purge --------------------------------------------------------------- */

struct purger {
    const struct options *o;
    int dirfd;
    dev_t dev;
    struct act_journal journal;
    size_t purged, kept, failed;
    int64_t freed;
};

static void purge_one(struct purger *p, const char *name)
{
    char target[NAME_MAX + 1];
    if (strncmp(name, REAP_PURGING_PREFIX, strlen(REAP_PURGING_PREFIX)) == 0) {
        snprintf(target, sizeof target, "%s", name);
    } else {
        snprintf(target, sizeof target, REAP_PURGING_PREFIX "%s", name);
        /* first make it unrestorable in one atomic step, then delete */
        if (renameat2(p->dirfd, name, p->dirfd, target, RENAME_NOREPLACE) < 0) {
            fprintf(stderr, "ovl2fsck: cannot purge %s: %s\n", name, strerror(errno));
            p->failed++;
            return;
        }
        act_fsync_dir(p->dirfd);
    }
    char err[1024];
    int64_t freed = 0;
    act_journal_write(&p->journal, NULL, NULL, target, 0, "purge", "started", NULL, NULL);
    int rc = act_safe_delete(p->dirfd, target, p->dev, &freed, err, sizeof err);
    act_journal_end(&p->journal, NULL, NULL, target, freed, "purge", rc < 0 ? err : NULL, NULL);
    p->freed += freed;
    if (rc < 0) {
        fprintf(stderr, "ovl2fsck: cannot purge %s: %s\n", name, err);
        p->failed++;
    } else {
        p->purged++;
    }
}

struct purge_scan {
    struct purger *p;
    char **names;
    size_t n, cap;
};

static int collect_purgeable(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct purge_scan *c = ctx;
    struct purger *p = c->p;
    bool take = strncmp(name, REAP_PURGING_PREFIX, strlen(REAP_PURGING_PREFIX)) == 0;
    if (!take && name[0] != '.') {
        struct run r;
        char err[256];
        if (read_run(p->dirfd, name, &r, err, sizeof err) == 0 && r.time >= 0) {
            take = (double)time(NULL) - r.time >= (double)p->o->older_than;
            p->kept += !take;
        }
        free_run(&r);
    }
    if (!take)
        return 0;
    c->names = grow_array_or_die(c->names, &c->cap, c->n + 1, sizeof *c->names);
    c->names[c->n++] = act_strdup(name);
    return 0;
}

int reap_quarantine_purge_main(const struct options *o, volatile sig_atomic_t *stop)
{
    struct purger p = { .o = o, .dirfd = -1 };
    char err[1024];
    struct stat st;
    p.journal.fd = -1;
    p.dirfd = open(o->purge_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (p.dirfd < 0 || fstat(p.dirfd, &st) < 0) {
        fprintf(stderr, "ovl2fsck: cannot open %s: %s\n", o->purge_dir, strerror(errno));
        if (p.dirfd >= 0)
            close(p.dirfd);
        return EXIT_OPERATIONAL;
    }
    p.dev = st.st_dev;
    int lock = act_lock_take(p.dirfd, ACT_LOCK_NAME, o->purge_dir, err, sizeof err);
    if (lock < 0 || act_journal_open(&p.journal, o->journal, err, sizeof err) < 0) {
        fprintf(stderr, "ovl2fsck: %s\n", err);
        if (lock >= 0)
            act_lock_release(p.dirfd, ACT_LOCK_NAME, lock);
        close(p.dirfd);
        return EXIT_OPERATIONAL;
    }
    act_raise_fd_limit();
    struct purge_scan c = { .p = &p };
    fs_list_dir(p.dirfd, collect_purgeable, &c);
    bool interrupted = false;
    for (size_t i = 0; i < c.n; i++) {
        if (stop && *stop)
            interrupted = true;
        if (!interrupted)
            purge_one(&p, c.names[i]);
        free(c.names[i]);
    }
    free(c.names);
    char dur[32];
    printf("Purged %zu quarantine run%s older than %s from %s (%lld bytes freed); %zu kept%s.\n", p.purged,
           p.purged == 1 ? "" : "s", text_duration(o->older_than, dur, sizeof dur), o->purge_dir,
           (long long)p.freed, p.kept, p.failed ? "; some failed (see above)" : "");
    act_journal_close(&p.journal);
    act_lock_release(p.dirfd, ACT_LOCK_NAME, lock);
    close(p.dirfd);
    return interrupted ? EXIT_INTERRUPTED : p.failed ? EXIT_FOUND : EXIT_CLEAN;
}

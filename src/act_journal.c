/* act_journal.c — the action journal: one JSON object per line, appended
 * and fsync'd before and after every action the reaper, restore or purge
 * takes, so that an operator can always tell what was done to a root.
 *
 * Line shape (stable; fields are always present, null when not known):
 *   {"time":"2024-05-01T12:00:00.123Z","run":"<pid>-<epoch>","check":"overlay-dir-orphaned",
 *    "object":"<id>","path":"overlay2/<id>","bytes":123,"action":"trash",
 *    "result":"started|ok|failed|skipped","error":null, ...extra fields}
 * Actions: rename-aside, trash (rename into the trash dir), delete (delete a
 * trash entry), quarantine (rename into the quarantine), untag,
 * finish-trash, restore, restore-tags, purge.
 *
 * Also owns the test hooks (ACT_CRASH_ENV, ACT_TERM_ENV in reap_internal.h). */
#include "act.h"
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void add_string_or_null(cJSON *o, const char *key, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

char *act_journal_format(const char *run, const char *check, const char *object, const char *path,
                     int64_t bytes, const char *action, const char *result, const char *error,
                     const cJSON *extra, double now)
{
    char when[40];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "time", act_time_text(now, when, sizeof when));
    add_string_or_null(o, "run", run);
    add_string_or_null(o, "check", check);
    add_string_or_null(o, "object", object);
    add_string_or_null(o, "path", path);
    cJSON_AddNumberToObject(o, "bytes", (double)bytes);
    add_string_or_null(o, "action", action);
    add_string_or_null(o, "result", result);
    add_string_or_null(o, "error", error);
    for (const cJSON *e = extra ? extra->child : NULL; e; e = e->next)
        cJSON_AddItemToObject(o, e->string, cJSON_Duplicate(e, 1));
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return line;
}

static int make_parent_dir(const char *path)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        return 0;
    *slash = '\0';
    return act_mkdir_p(dir);
}

/* Where the journal goes while its own file system is full: a file of this
 * run's own (two runs on two full roots never mix their lines), named
 * journal-<pid>-<start>.jsonl, whose first line says which journal its lines
 * belong to; a run killed before it could move them back leaves it for the
 * next run on that journal to adopt. */
static const char *const journal_fallback_dirs[] = { "/run/ovl2fsck", "/dev/shm/ovl2fsck" };
#define FALLBACK_PREFIX "journal-"
#define FALLBACK_HEADER_KEY "ovl2fsck_fallback_for"

/* The first line of a fallback file (malloc'd). */
static char *fallback_header(const char *journal)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, FALLBACK_HEADER_KEY, journal);
    char *line = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return line;
}

/* Append the lines of fallback file path (its header line left out) to the
 * journal at fd; 0 or -1. */
static int append_fallback(int fd, const char *path)
{
    struct file_buf b;
    fs_read_file(AT_FDCWD, path, 64u * 1024 * 1024, &b);
    if (b.status != FILE_OK) {
        file_buf_free(&b);
        return -1;
    }
    const char *body = memchr(b.data, '\n', b.len);
    body = body ? body + 1 : b.data + b.len;
    size_t len = b.len - (size_t)(body - b.data);
    int rc = fs_write_all(fd, body, len) == 0 && (fsync(fd) == 0 || errno == EINVAL) ? 0 : -1;
    file_buf_free(&b);
    return rc;
}

/* Does the fallback file dirfd/name belong to journal, and is its run gone? */
static bool orphan_of(int dirfd, const char *name, const char *journal)
{
    long pid = strncmp(name, FALLBACK_PREFIX, strlen(FALLBACK_PREFIX)) == 0
                   ? strtol(name + strlen(FALLBACK_PREFIX), NULL, 10) : 0;
    if (pid <= 0 || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
        return false;
    struct file_buf b;
    fs_read_file(dirfd, name, 64u * 1024 * 1024, &b);
    bool mine = false;
    if (b.status == FILE_OK) {
        char *nl = memchr(b.data, '\n', b.len);
        cJSON *h = cJSON_ParseWithLength(b.data, nl ? (size_t)(nl - b.data) : b.len);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(h, FALLBACK_HEADER_KEY);
        mine = cJSON_IsString(v) && strcmp(v->valuestring, journal) == 0;
        cJSON_Delete(h);
    }
    file_buf_free(&b);
    return mine;
}

struct adopt_ctx {
    int dirfd;
    const char *dir;
    struct act_journal *j;
};

static int adopt_one(void *ctx, const char *name, unsigned char d_type)
{
    (void)d_type;
    struct adopt_ctx *c = ctx;
    if (!orphan_of(c->dirfd, name, c->j->path))
        return 0;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", c->dir, name);
    if (append_fallback(c->j->fd, path) == 0) {
        unlinkat(c->dirfd, name, 0);
        fprintf(stderr, "ovl2fsck: the journal lines a killed run kept in %s were appended to %s\n", path,
                c->j->path);
    }
    return 0;
}

/* Lines a killed run left in a fallback file for this journal: appended
 * to it now that it can be written. */
static void adopt_orphans(struct act_journal *j)
{
    for (size_t i = 0; i < sizeof journal_fallback_dirs / sizeof journal_fallback_dirs[0]; i++) {
        struct adopt_ctx c = { .dir = journal_fallback_dirs[i], .j = j };
        c.dirfd = open(c.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (c.dirfd < 0)
            continue;
        fs_list_dir(c.dirfd, adopt_one, &c);
        close(c.dirfd);
    }
}

static int open_append(const char *path)
{
    if (make_parent_dir(path) < 0)
        return -1;
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* Switch to the first fallback that opens (not the journal asked for). */
static int open_fallback(struct act_journal *j, int why)
{
    for (size_t i = 0; i < sizeof journal_fallback_dirs / sizeof journal_fallback_dirs[0]; i++) {
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/" FALLBACK_PREFIX "%s.jsonl", journal_fallback_dirs[i], j->run);
        if (strcmp(path, j->path) == 0)
            continue;
        int fd = open_append(path);
        if (fd < 0)
            continue;
        char *header = fallback_header(j->path);
        bool ok = header && fs_write_all(fd, header, strlen(header)) == 0 && fs_write_all(fd, "\n", 1) == 0;
        free(header);
        if (!ok) {
            close(fd);
            unlink(path);
            continue;
        }
        if (j->fd >= 0)
            close(j->fd);
        j->fd = fd;
        snprintf(j->fallback, sizeof j->fallback, "%s", path);
        fprintf(stderr, "ovl2fsck: the journal %s cannot be written (%s): journaling to %s (memory) until "
                "there is room\n", j->path, strerror(why), j->fallback);
        return 0;
    }
    errno = why;
    return -1;
}

int act_journal_open(struct act_journal *j, const char *path, char *err, size_t errlen)
{
    memset(j, 0, sizeof *j);
    j->fd = -1;
    snprintf(j->run, sizeof j->run, "%ld-%lld", (long)getpid(), (long long)time(NULL));
    snprintf(j->path, sizeof j->path, "%s", path);
    const char *hook = getenv(ACT_CRASH_ENV);
    j->crash_after = hook ? strtol(hook, NULL, 10) : 0;
    hook = getenv(ACT_TERM_ENV);
    j->term_after = hook ? strtol(hook, NULL, 10) : 0;
    j->fd = open_append(path);
    if (j->fd < 0 && fs_errno_is_full(errno) && open_fallback(j, errno) == 0)
        return 0;
    if (j->fd < 0) {
        snprintf(err, errlen, "cannot open the journal %s: %s", path, strerror(errno));
        return -1;
    }
    adopt_orphans(j);
    return 0;
}

/* Append what went to the fallback while the disk was full to the journal
 * asked for, when it has room now; else say where the lines are. */
static void move_back(struct act_journal *j)
{
    int fd = open_append(j->path);
    bool moved = fd >= 0 && append_fallback(fd, j->fallback) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (moved) {
        unlink(j->fallback);
        fprintf(stderr, "ovl2fsck: the journal lines kept in %s were appended to %s\n", j->fallback, j->path);
    } else {
        fprintf(stderr, "ovl2fsck: the journal lines of this run are in %s (not in %s: %s)\n", j->fallback,
                j->path, strerror(e));
    }
}

void act_journal_close(struct act_journal *j)
{
    if (j->fd >= 0)
        close(j->fd);
    j->fd = -1;
    if (j->fallback[0])
        move_back(j);
    j->fallback[0] = '\0';
}

/* Append line to the journal; on a full file system the partial line is cut
 * off again (shrinking needs no block) and the line goes to the fallback. */
static int append_line(struct act_journal *j, const char *line, size_t len)
{
    off_t before = lseek(j->fd, 0, SEEK_END);
    if (fs_write_all(j->fd, line, len) == 0 && (fsync(j->fd) == 0 || errno == EINVAL))
        return 0;
    int why = errno;
    if (!fs_errno_is_full(why) || j->fallback[0])
        return -1;
    if (before >= 0 && ftruncate(j->fd, before) < 0) {
        /* the cut failed: the fallback still gets the whole line */
    }
    if (open_fallback(j, why) < 0)
        return -1;
    return fs_write_all(j->fd, line, len) == 0 && (fsync(j->fd) == 0 || errno == EINVAL) ? 0 : -1;
}

int act_journal_write(struct act_journal *j, const char *check, const char *object, const char *path,
                  int64_t bytes, const char *action, const char *result, const char *error,
                  const cJSON *extra)
{
    if (!j || j->fd < 0)
        return 0;
    char *line = act_journal_format(j->run, check, object, path, bytes, action, result, error, extra, act_now());
    if (!line)
        return -1;
    size_t len = strlen(line);
    line[len] = '\n';   /* cJSON's buffer has room: it ends with the NUL we overwrite */
    int rc = append_line(j, line, len + 1);
    free(line);
    return rc;
}

int act_journal_end(struct act_journal *j, const char *check, const char *object, const char *path,
                int64_t bytes, const char *action, const char *error, const cJSON *extra)
{
    const char *result = error ? (strncmp(error, "skipped: ", 9) == 0 ? "skipped" : "failed") : "ok";
    const char *why = error && strncmp(error, "skipped: ", 9) == 0 ? error + 9 : error;
    int rc = act_journal_write(j, check, object, path, bytes, action, result, why, extra);
    if (j) {
        j->actions++;
        if (j->crash_after > 0 && (long)j->actions == j->crash_after)
            raise(SIGKILL);   /* test hook: die as abruptly as a power cut would */
        if (j->term_after > 0 && (long)j->actions == j->term_after)
            raise(SIGTERM);   /* test hook: an operator's Ctrl-C mid-item */
    }
    return rc;
}

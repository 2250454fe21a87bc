/* reap_journal.c — the action journal: one JSON object per line, appended
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
#include "reap_internal.h"
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

/* Where the journal goes while its own file system is full. */
static const char *const journal_fallbacks[] = { "/run/ovl2fsck/journal.jsonl",
                                                 "/dev/shm/ovl2fsck/journal.jsonl" };

static int open_append(const char *path)
{
    if (make_parent_dir(path) < 0)
        return -1;
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
}

/* Switch to the first fallback that opens (not the journal asked for). */
static int open_fallback(struct act_journal *j, int why)
{
    for (size_t i = 0; i < sizeof journal_fallbacks / sizeof journal_fallbacks[0]; i++) {
        if (strcmp(journal_fallbacks[i], j->path) == 0)
            continue;
        int fd = open_append(journal_fallbacks[i]);
        if (fd < 0)
            continue;
        if (j->fd >= 0)
            close(j->fd);
        j->fd = fd;
        snprintf(j->fallback, sizeof j->fallback, "%s", journal_fallbacks[i]);
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
    return 0;
}

/* Append what went to the fallback while the disk was full to the journal
 * asked for, when it has room now; else say where the lines are. */
static void move_back(struct act_journal *j)
{
    struct file_buf b;
    fs_read_file(AT_FDCWD, j->fallback, 64u * 1024 * 1024, &b);
    int fd = b.status == FILE_OK ? open_append(j->path) : -1;
    bool moved = fd >= 0 && fs_write_all(fd, b.data, b.len) == 0 && (fsync(fd) == 0 || errno == EINVAL);
    if (fd >= 0)
        close(fd);
    file_buf_free(&b);
    if (moved) {
        unlink(j->fallback);
        fprintf(stderr, "ovl2fsck: the journal lines kept in %s were appended to %s\n", j->fallback, j->path);
    } else {
        fprintf(stderr, "ovl2fsck: the journal lines of this run are in %s (not in %s: %s)\n", j->fallback,
                j->path, strerror(errno));
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

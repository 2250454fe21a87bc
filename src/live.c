/* live.c — detects a live dockerd on a root: its pidfile, dockerd processes
 * in /proc whose data root is this root, and mounts of the root's dirs. */
#include "live.h"

#include <cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

bool live_read_small(const char *path, char *buf, size_t buflen, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, buflen - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    *len = (size_t)n;
    return true;
}

static bool pid_is_dockerd(long pid)
{
    char path[64], comm[64];
    size_t len;
    snprintf(path, sizeof path, "/proc/%ld/comm", pid);
    if (!live_read_small(path, comm, sizeof comm, &len))
        return false;
    comm[strcspn(comm, "\n")] = '\0';
    return strcmp(comm, "dockerd") == 0;
}

bool live_same_path(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    if (!realpath(a, ra) || !realpath(b, rb))
        return strcmp(a, b) == 0;
    return strcmp(ra, rb) == 0;
}

char *live_read_pinned(const char *path, size_t cap)
{
    int pfd = open(path, O_PATH | O_CLOEXEC);
    if (pfd < 0)
        return NULL;
    struct stat st;
    char proc[64];
    int fd = -1;
    if (fstat(pfd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= cap) {
        snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
        fd = open(proc, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    }
    close(pfd);
    if (fd < 0)
        return NULL;
    /* a bounded read of fd (fs_read_file refuses the magic link); a file
     * grown past cap since is refused */
    char *buf = malloc(cap + 2);
    size_t len = 0;
    while (buf && len < cap + 1) {
        ssize_t n = read(fd, buf + len, cap + 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    if (!buf || len > cap) {
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    return buf;
}

/* data-root from a daemon.json, or NULL. The path comes from another
 * process's command line, and any local user can start a process named
 * dockerd: only a regular file is ever opened for reading (root opening a
 * device it names, a watchdog or a tape, has side effects). */
static char *daemon_json_root(const char *path)
{
    char *text = live_read_pinned(path, 1024 * 1024);
    if (!text)
        return NULL;
    cJSON *doc = cJSON_Parse(text);
    free(text);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "data-root");
    if (!cJSON_IsString(v))
        v = cJSON_GetObjectItemCaseSensitive(doc, "graph");
    char *r = cJSON_IsString(v) ? strdup(v->valuestring) : NULL;
    cJSON_Delete(doc);
    return r;
}

/* The data root a dockerd command line uses. */
static char *dockerd_root(char *args, size_t len)
{
    const char *root = NULL, *config = "/etc/docker/daemon.json";
    for (char *p = args; p < args + len; p += strlen(p) + 1) {
        char *next = p + strlen(p) + 1;
        bool has_next = next < args + len;
        if (strncmp(p, "--data-root=", 12) == 0)
            root = p + 12;
        else if (strncmp(p, "--graph=", 8) == 0)
            root = p + 8;
        else if ((strcmp(p, "--data-root") == 0 || strcmp(p, "--graph") == 0 || strcmp(p, "-g") == 0) && has_next)
            root = next;
        else if (strncmp(p, "--config-file=", 14) == 0)
            config = p + 14;
        else if (strcmp(p, "--config-file") == 0 && has_next)
            config = next;
    }
    if (root)
        return strdup(root);
    char *r = daemon_json_root(config);
    return r ? r : strdup("/var/lib/docker");
}

bool live_find_process(const char *name, const char *root, live_root_of_fn root_of, const char *what,
                       char *why, size_t whylen)
{
    DIR *d = opendir("/proc");
    if (!d)
        return false;
    struct dirent *de;
    bool found = false;
    static char args[65536];
    while (!found && (de = readdir(d)) != NULL) {
        if (!isdigit((unsigned char)de->d_name[0]))
            continue;
        char path[300];
        size_t len;
        snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
        if (!live_read_small(path, args, sizeof args, &len))
            continue;
        const char *base = strrchr(args, '/');   /* argv[0]'s base name */
        if (strcmp(base ? base + 1 : args, name) != 0)
            continue;
        char *r = root_of(args, len);
        if (r && live_same_path(r, root)) {
            snprintf(why, whylen, "%s (pid %s) is running with %s %s", name, de->d_name, what, r);
            found = true;
        }
        free(r);
    }
    closedir(d);
    return found;
}

static bool find_dockerd_process(const char *root, char *why, size_t whylen)
{
    return live_find_process("dockerd", root, dockerd_root, "data root", why, whylen);
}

static bool pidfile_live(const char *pidfile, const char *root, char *why, size_t whylen)
{
    char buf[64];
    size_t len;
    if (!pidfile || !live_read_small(pidfile, buf, sizeof buf, &len))
        return false;
    long pid = strtol(buf, NULL, 10);
    if (pid <= 0 || !pid_is_dockerd(pid))
        return false;
    /* a live dockerd from the pidfile counts unless we know it uses another root */
    char path[64], args[65536];
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    if (live_read_small(path, args, sizeof args, &len)) {
        char *r = dockerd_root(args, len);
        bool other = r && !live_same_path(r, root);
        free(r);
        if (other)
            return false;
    }
    snprintf(why, whylen, "pidfile %s names a running dockerd (pid %ld)", pidfile, pid);
    return true;
}

/* Undo mountinfo's octal escapes (\040 for space) in place. */
static void unescape_mountinfo(char *s)
{
    char *w = s;
    for (char *r = s; *r; r++) {
        if (r[0] == '\\' && r[1] >= '0' && r[1] <= '7' && r[2] >= '0' && r[2] <= '7' && r[3] >= '0' && r[3] <= '7') {
            *w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
            r += 3;
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
}

typedef bool (*mount_path_fn)(void *ctx, const char *path);

/* lowerdir=/a:/b,upperdir=/c,workdir=/d -> fn on each path. */
static bool each_overlay_option_path(char *super, mount_path_fn fn, void *ctx)
{
    char *s1 = NULL;
    for (char *opt = strtok_r(super, ",", &s1); opt; opt = strtok_r(NULL, ",", &s1)) {
        char *eq = strchr(opt, '=');
        if (!eq)
            continue;
        char *s2 = NULL;
        for (char *p = strtok_r(eq + 1, ":", &s2); p; p = strtok_r(NULL, ":", &s2)) {
            unescape_mountinfo(p);
            if (fn(ctx, p))
                return true;
        }
    }
    return false;
}

/* One mountinfo line: "id parent maj:min root mountpoint opts [tags] - fstype source superopts". */
static bool mountinfo_line_hits(char *line, mount_path_fn fn, void *ctx)
{
    line[strcspn(line, "\n")] = '\0';
    char *sep = strstr(line, " - ");
    if (!sep)
        return false;
    *sep = '\0';
    char *save = NULL, *field = NULL;
    int i = 0;
    for (char *t = strtok_r(line, " ", &save); t && i < 5; t = strtok_r(NULL, " ", &save), i++)
        field = t;
    if (i == 5 && field) {
        unescape_mountinfo(field);
        if (fn(ctx, field))
            return true;
    }
    char *fstype = strtok_r(sep + 3, " ", &save);
    char *source = fstype ? strtok_r(NULL, " ", &save) : NULL;
    char *super = source ? strtok_r(NULL, " ", &save) : NULL;
    return fstype && super && strcmp(fstype, "overlay") == 0 && each_overlay_option_path(super, fn, ctx);
}

/* Calls fn for each mount point and each overlay lower/upper/work path
 * until fn returns true. */
static bool each_mount_path(mount_path_fn fn, void *ctx)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    bool hit = false;
    while (!hit && getline(&line, &cap, f) > 0)
        hit = mountinfo_line_hits(line, fn, ctx);
    free(line);
    fclose(f);
    return hit;
}

struct under_ctx {
    char prefix[PATH_MAX + 64];
    size_t plen;
    char *why;
    size_t whylen;
};

static bool path_under(void *ctx, const char *path)
{
    struct under_ctx *u = ctx;
    if (strncmp(path, u->prefix, u->plen) != 0 || (path[u->plen] != '/' && path[u->plen] != '\0'))
        return false;
    if (u->why)
        snprintf(u->why, u->whylen, "%s is mounted or used by an overlay mount", path);
    return true;
}

bool live_dir_is_mounted(const char *root, const char *dir)
{
    struct under_ctx u = { .why = NULL };
    snprintf(u.prefix, sizeof u.prefix, "%s/overlay2/%s", root, dir);
    u.plen = strlen(u.prefix);
    return each_mount_path(path_under, &u);
}

/* Added for the reaper: any mount point or overlay lower/upper/work dir at
 * or below root/relpath (e.g. a container's shm mount under containers/<id>). */
bool live_path_is_mounted(const char *root, const char *relpath)
{
    struct under_ctx u = { .why = NULL };
    snprintf(u.prefix, sizeof u.prefix, "%s/%s", root, relpath);
    u.plen = strlen(u.prefix);
    return each_mount_path(path_under, &u);
}

bool live_root_has_mounts(const char *root, char *why, size_t whylen)
{
    struct under_ctx u = { .why = why, .whylen = whylen };
    snprintf(u.prefix, sizeof u.prefix, "%s/overlay2", root);
    u.plen = strlen(u.prefix);
    return each_mount_path(path_under, &u);
}

void live_detect(const char *root, const char *pidfile, struct liveness *out)
{
    memset(out, 0, sizeof *out);
    out->running = pidfile_live(pidfile, root, out->reason, sizeof out->reason) ||
                   find_dockerd_process(root, out->reason, sizeof out->reason) ||
                   live_root_has_mounts(root, out->reason, sizeof out->reason);
}

bool live_refuse_apply(const char *root, const char *pidfile)
{
    struct liveness live;
    live_detect(root, pidfile, &live);
    if (live.running)
        fprintf(stderr, "ovl2fsck: refusing to --apply while dockerd is live: %s. Stop dockerd first "
                "(a dry run without --apply is safe).\n", live.reason);
    return live.running;
}

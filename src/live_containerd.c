/* live_containerd.c — detects a live containerd on a containerd root: its
 * processes (--root, --config FILE's root, the default root), the default
 * socket, a dockerd that runs its own containerd on DIR/containerd/daemon,
 * and mounts of the root's snapshots (see live_containerd.h). */
#include "live_containerd.h"
#include "live.h"
#include "scan_containerd.h"
#include "store.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CONFIG_CAP (1024 * 1024)

char *live_containerd_config_root(const char *path)
{
    char *text = live_read_pinned(path, CONFIG_CAP);
    if (!text)
        return NULL;
    char *found = NULL, *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line && !found; line = strtok_r(NULL, "\n", &save)) {
        while (*line == ' ' || *line == '\t')
            line++;
        if (*line == '[')
            break;   /* the top level ends at the first table */
        if (strncmp(line, "root", 4) != 0)
            continue;
        char *p = line + 4;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != '=')
            continue;
        while (*p == ' ' || *p == '\t')
            p++;
        char q = *p;
        if (q != '"' && q != '\'')
            continue;
        char *end = strchr(p + 1, q);
        if (end && end > p + 1) {
            *end = '\0';
            found = strdup(p + 1);
        }
    }
    free(text);
    return found;
}

/* The root a containerd command line uses. */
static char *containerd_root(char *args, size_t len)
{
    const char *root = NULL, *config = NULL;
    for (char *p = args; p < args + len; p += strlen(p) + 1) {
        char *next = p + strlen(p) + 1;
        bool has_next = next < args + len;
        if (strncmp(p, "--root=", 7) == 0)
            root = p + 7;
        else if ((strcmp(p, "--root") == 0 || strcmp(p, "-root") == 0) && has_next)
            root = next;
        else if (strncmp(p, "--config=", 9) == 0)
            config = p + 9;
        else if ((strcmp(p, "--config") == 0 || strcmp(p, "-c") == 0) && has_next)
            config = next;
    }
    if (root)
        return strdup(root);
    char *r = live_containerd_config_root(config ? config : CONTAINERD_DEFAULT_CONFIG);
    return r ? r : strdup(CONTAINERD_DEFAULT_ROOT);
}

static bool find_containerd_process(const char *root, char *why, size_t whylen)
{
    return live_find_process("containerd", root, containerd_root, "root", why, whylen);
}

/* Does a unix socket accept connections? */
static bool socket_answers(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* DIR/containerd/daemon is the root of the containerd a dockerd on DIR runs. */
static bool docker_owner_live(const char *root, const struct options *o, char *why, size_t whylen)
{
    static const char suffix[] = "/containerd/daemon";
    size_t n = strlen(root), s = sizeof suffix - 1;
    if (n <= s || strcmp(root + n - s, suffix) != 0)
        return false;
    char docker[PATH_MAX];
    snprintf(docker, sizeof docker, "%.*s", (int)(n - s), root);
    struct liveness l;
    live_detect(docker, o ? o->pidfile : NULL, &l);
    if (l.running)
        snprintf(why, whylen, "the dockerd of %s runs this containerd: %s", docker, l.reason);
    return l.running;
}

bool live_containerd_detect(const char *root, const struct options *o, char *why, size_t whylen)
{
    if (live_path_is_mounted(root, CD_SNAPSHOTS)) {
        snprintf(why, whylen, "a mount uses %s/%s (a snapshot is mounted)", root, CD_SNAPSHOTS);
        return true;
    }
    if (find_containerd_process(root, why, whylen))
        return true;
    if (live_same_path(root, CONTAINERD_DEFAULT_ROOT) && socket_answers(CONTAINERD_DEFAULT_SOCKET)) {
        snprintf(why, whylen, "%s accepts connections", CONTAINERD_DEFAULT_SOCKET);
        return true;
    }
    return docker_owner_live(root, o, why, whylen);
}

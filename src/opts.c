/* opts.c — command-line parsing (getopt_long), durations and usage text. */
#include "opts.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_ROOT "/var/lib/docker"
#define DEFAULT_MIN_AGE (24 * 3600)
#define DEFAULT_PIDFILE "/var/run/docker.pid"

enum long_only {
    OPT_ROOT = 256, OPT_REPORT, OPT_JSON, OPT_DB, OPT_MIN_AGE, OPT_IGNORE, OPT_LIST_CHECKS,
    OPT_SCHEMA, OPT_VERSION, OPT_BYTES, OPT_PIDFILE
};

static const struct option long_options[] = {
    { "root", required_argument, NULL, OPT_ROOT },
    { "report", no_argument, NULL, OPT_REPORT },
    { "json", no_argument, NULL, OPT_JSON },
    { "db", required_argument, NULL, OPT_DB },
    { "min-age", required_argument, NULL, OPT_MIN_AGE },
    { "ignore", required_argument, NULL, OPT_IGNORE },
    { "list-checks", no_argument, NULL, OPT_LIST_CHECKS },
    { "schema", no_argument, NULL, OPT_SCHEMA },
    { "bytes", no_argument, NULL, OPT_BYTES },
    { "pidfile", required_argument, NULL, OPT_PIDFILE },
    { "quiet", no_argument, NULL, 'q' },
    { "verbose", no_argument, NULL, 'v' },
    { "help", no_argument, NULL, 'h' },
    { "version", no_argument, NULL, OPT_VERSION },
    { NULL, 0, NULL, 0 },
};

void opts_usage(FILE *out)
{
    fputs("usage: ovl2fsck [--report] [options]\n"
          "       ovl2fsck --list-checks | --schema | --help | --version\n"
          "\n"
          "Offline consistency checker and garbage finder for Docker's overlay2 store.\n"
          "\n"
          "  --root DIR         Docker data root (default " DEFAULT_ROOT ")\n"
          "  --report           check and report (the default mode)\n"
          "  --json             one JSON object on stdout instead of the human report\n"
          "  --db FILE          keep the scan database in FILE (default: private, temporary)\n"
          "  --min-age DUR      objects younger than DUR are skipped, not reported\n"
          "                     (0, 90s, 30m, 24h, 7d; default 24h)\n"
          "  --ignore CHECK,..  do not run these checks\n"
          "  --bytes            exact byte counts instead of human-readable sizes\n"
          "  --pidfile FILE     dockerd pidfile for the liveness test (default " DEFAULT_PIDFILE ")\n"
          "  -q, --quiet        print nothing on a clean store; only findings otherwise\n"
          "  -v, --verbose      per-stage timing on stderr\n"
          "  --list-checks      print the check catalog\n"
          "  --schema           print the scan database schema (for own checks)\n"
          "  -h, --help         this text\n"
          "  --version          print the version\n"
          "\n"
          "Exit status (bits, as fsck): 0 clean (warnings allowed), 4 errors or garbage\n"
          "found, 8 operational error, 16 usage error, 32 interrupted.\n", out);
}

int parse_duration(const char *s, int64_t *out)
{
    int64_t total = 0;
    const char *p = s;
    if (!*p)
        return -1;
    while (*p) {
        if (*p < '0' || *p > '9')
            return -1;
        errno = 0;
        char *end;
        long long n = strtoll(p, &end, 10);
        if (errno || n < 0)
            return -1;
        int64_t unit = 1;
        switch (*end) {
        case 's': unit = 1; end++; break;
        case 'm': unit = 60; end++; break;
        case 'h': unit = 3600; end++; break;
        case 'd': unit = 86400; end++; break;
        case 'w': unit = 7 * 86400; end++; break;
        case '\0': if (p != s) return -1; break;  /* a bare number only alone */
        default: return -1;
        }
        if (n > (INT64_MAX - total) / unit)
            return -1;
        total += (int64_t)n * unit;
        p = end;
    }
    *out = total;
    return 0;
}

static int set_mode(struct options *o, enum mode m, char *err, size_t errlen)
{
    if (o->mode != MODE_REPORT && o->mode != m) {
        snprintf(err, errlen, "conflicting modes on the command line");
        return -1;
    }
    o->mode = m;
    return 0;
}

static int append_list(char **list, const char *add)
{
    size_t old = *list ? strlen(*list) : 0;
    char *n = realloc(*list, old + strlen(add) + 2);
    if (!n)
        return -1;
    if (old)
        n[old++] = ',';
    strcpy(n + old, add);
    *list = n;
    return 0;
}

int opts_parse(int argc, char **argv, struct options *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->root = DEFAULT_ROOT;
    o->min_age = DEFAULT_MIN_AGE;
    o->pidfile = DEFAULT_PIDFILE;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":qvh", long_options, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case OPT_ROOT: o->root = optarg; break;
        case OPT_REPORT: break;
        case OPT_JSON: o->json = true; break;
        case OPT_DB: o->db_path = optarg; break;
        case OPT_MIN_AGE:
            if (parse_duration(optarg, &o->min_age) < 0) {
                snprintf(err, errlen, "--min-age: '%s' is not a duration (e.g. 0, 90s, 30m, 24h, 7d)", optarg);
                return -1;
            }
            break;
        case OPT_IGNORE: rc = append_list(&o->ignore, optarg); break;
        case OPT_LIST_CHECKS: rc = set_mode(o, MODE_LIST_CHECKS, err, errlen); break;
        case OPT_SCHEMA: rc = set_mode(o, MODE_SCHEMA, err, errlen); break;
        case OPT_BYTES: o->exact_bytes = true; break;
        case OPT_PIDFILE: o->pidfile = optarg; break;
        case 'q': o->quiet = true; break;
        case 'v': o->verbose++; break;
        case 'h': rc = set_mode(o, MODE_HELP, err, errlen); break;
        case OPT_VERSION: rc = set_mode(o, MODE_VERSION, err, errlen); break;
        case ':':
            snprintf(err, errlen, "option %s needs an argument", argv[optind - 1]);
            return -1;
        default:
            snprintf(err, errlen, "unknown option %s", argv[optind - 1]);
            return -1;
        }
        if (rc < 0) {
            if (!err[0])
                snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
        return -1;
    }
    if (!o->root[0]) {
        snprintf(err, errlen, "--root must not be empty");
        return -1;
    }
    return 0;
}

void opts_free(struct options *o)
{
    free(o->ignore);
    o->ignore = NULL;
}

/* opts.c — command-line parsing (getopt_long), durations and usage text. */
#include "opts.h"
#include "grow.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


enum long_only {
    OPT_ROOT = 256, OPT_REPORT, OPT_JSON, OPT_DB, OPT_MIN_AGE, OPT_IGNORE, OPT_LIST_CHECKS,
    OPT_SCHEMA, OPT_VERSION, OPT_BYTES, OPT_PIDFILE, OPT_REAP, OPT_REPAIR, OPT_APPLY, OPT_INCLUDE,
    OPT_QUARANTINE, OPT_RESTORE, OPT_PURGE, OPT_OLDER_THAN, OPT_JOURNAL, OPT_DEEP, OPT_LAYER, OPT_IMAGE,
    OPT_THREADS, OPT_CONFIG, OPT_CHECKS_DIR, OPT_PROMETHEUS, OPT_SKIP_LIST,
    OPT_STORE, OPT_CONTAINERD_ROOT, OPT_IO_DEPTH
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
    { "reap", no_argument, NULL, OPT_REAP },
    { "repair", no_argument, NULL, OPT_REPAIR },
    { "apply", no_argument, NULL, OPT_APPLY },
    { "include", required_argument, NULL, OPT_INCLUDE },
    { "quarantine", required_argument, NULL, OPT_QUARANTINE },
    { "restore", required_argument, NULL, OPT_RESTORE },
    { "purge-quarantine", required_argument, NULL, OPT_PURGE },
    { "older-than", required_argument, NULL, OPT_OLDER_THAN },
    { "journal", required_argument, NULL, OPT_JOURNAL },
    { "deep", no_argument, NULL, OPT_DEEP },
    { "layer", required_argument, NULL, OPT_LAYER },
    { "image", required_argument, NULL, OPT_IMAGE },
    { "threads", required_argument, NULL, OPT_THREADS },
    { "io-depth", required_argument, NULL, OPT_IO_DEPTH },
    { "config", required_argument, NULL, OPT_CONFIG },
    { "checks-dir", required_argument, NULL, OPT_CHECKS_DIR },
    { "prometheus", required_argument, NULL, OPT_PROMETHEUS },
    { "skip-list", required_argument, NULL, OPT_SKIP_LIST },
    { "store", required_argument, NULL, OPT_STORE },
    { "containerd-root", required_argument, NULL, OPT_CONTAINERD_ROOT },
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
          "  --skip-list FILE   accepted findings, one 'CHECK OBJECT' per line (# comments):\n"
          "                     not reported, never reaped or repaired, counted\n"
          "  --bytes            exact byte counts instead of human-readable sizes\n"
          "  --pidfile FILE     dockerd pidfile for the liveness test (default " DEFAULT_PIDFILE ")\n"
          "  --store KIND       docker or containerd (default: detected from the root)\n"
          "  --containerd-root DIR  the containerd root of a Docker root on the containerd\n"
          "                     image store (default ROOT/containerd/daemon, /var/lib/containerd)\n"
          "  --deep             also rebuild each layer's tar stream and verify its diffID\n"
          "  --layer CHAINID    with --deep: only this layer (repeatable)\n"
          "  --image REF        with --deep: only this image's layers (repeatable)\n"
          "  --threads N        worker threads (default: one per core)\n"
          "  --io-depth N       reads the scan keeps in flight, 1 to 256 (default 64;\n"
          "                     1: one at a time, for a rotating disk)\n"
          "  --prometheus FILE  also write a node_exporter textfile\n"
          "  --config FILE      config file (default " DEFAULT_CONFIG " when present)\n"
          "  --checks-dir DIR   own checks, one SQL file each (default " DEFAULT_CHECKS_DIR ")\n"
          "\n"
          "Reaper and repair (dry run unless --apply):\n"
          "  --reap             plan the removal of garbage findings\n"
          "  --repair           plan repairs of links and lower files\n"
          "  --apply            carry the plan out (refused while dockerd runs)\n"
          "  --include CHECK,.. also remove these error classes (image-layer-missing,\n"
          "                     layer-cache-id-dangling)\n"
          "  --quarantine DIR   move instead of delete (same filesystem)\n"
          "  --journal FILE     action journal (default " DEFAULT_JOURNAL ")\n"
          "  --restore DIR      put a quarantine back exactly\n"
          "  --purge-quarantine DIR --older-than DUR\n"
          "                     delete quarantined items older than DUR\n"
          "\n"
          "  -q, --quiet        print nothing on a clean store; only findings otherwise\n"
          "  -v, --verbose      per-stage timing on stderr (twice: and per check)\n"
          "  --list-checks      print the check catalog\n"
          "  --schema           print the scan database schema (for own checks)\n"
          "  -h, --help         this text\n"
          "  --version          print the version\n"
          "\n"
          "Exit status (bits, as fsck): 0 clean (warnings allowed), 1 everything found was\n"
          "fixed (--apply), 4 errors or garbage found, 8 operational error, 16 usage error,\n"
          "32 interrupted.\n", out);
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

static int append_array(char ***arr, size_t *n, size_t *cap, const char *add)
{
    char **v = grow_array(*arr, cap, *n + 1, sizeof *v);
    if (!v)
        return -1;
    *arr = v;
    if (!(v[*n] = strdup(add)))
        return -1;
    (*n)++;
    return 0;
}

static int parse_threads(const char *s, int *out)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*s == '\0' || *end || n < 1 || n > 256)
        return -1;
    *out = (int)n;
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
    o->journal = DEFAULT_JOURNAL;
    o->older_than = -1;
    o->store = -1;
    opterr = 0;
    optind = 0;   /* 0, not 1: glibc then fully re-initialises getopt */
    int c;
    while ((c = getopt_long(argc, argv, ":qvh", long_options, NULL)) != -1) {
        int rc = 0;
        switch (c) {
        case OPT_ROOT: o->root = optarg; o->set_flags |= OPTSET_ROOT; break;
        case OPT_REPORT: break;
        case OPT_JSON: o->json = true; break;
        case OPT_DB: o->db_path = optarg; break;
        case OPT_MIN_AGE:
            if (parse_duration(optarg, &o->min_age) < 0) {
                snprintf(err, errlen, "--min-age: '%s' is not a duration (e.g. 0, 90s, 30m, 24h, 7d)", optarg);
                return -1;
            }
            o->set_flags |= OPTSET_MIN_AGE;
            break;
        case OPT_OLDER_THAN:
            if (parse_duration(optarg, &o->older_than) < 0) {
                snprintf(err, errlen, "--older-than: '%s' is not a duration (e.g. 0, 12h, 7d)", optarg);
                return -1;
            }
            break;
        case OPT_THREADS:
            if (parse_threads(optarg, &o->threads) < 0) {
                snprintf(err, errlen, "--threads: '%s' is not a number from 1 to 256", optarg);
                return -1;
            }
            break;
        case OPT_IO_DEPTH:
            if (parse_threads(optarg, &o->io_depth) < 0) {
                snprintf(err, errlen, "--io-depth: '%s' is not a number from 1 to 256", optarg);
                return -1;
            }
            break;
        case OPT_REAP: o->reap = true; break;
        case OPT_REPAIR: o->repair = true; break;
        case OPT_APPLY: o->apply = true; break;
        case OPT_INCLUDE: rc = append_list(&o->include, optarg); break;
        case OPT_QUARANTINE: o->quarantine = optarg; break;
        case OPT_RESTORE: o->restore_dir = optarg; rc = set_mode(o, MODE_RESTORE, err, errlen); break;
        case OPT_PURGE: o->purge_dir = optarg; rc = set_mode(o, MODE_PURGE, err, errlen); break;
        case OPT_JOURNAL: o->journal = optarg; o->set_flags |= OPTSET_JOURNAL; break;
        case OPT_DEEP: o->deep = true; break;
        case OPT_LAYER: rc = append_array(&o->layers, &o->layer_count, &o->layer_cap, optarg); break;
        case OPT_IMAGE: rc = append_array(&o->images, &o->image_count, &o->image_cap, optarg); break;
        case OPT_CONFIG: o->config_path = optarg; break;
        case OPT_CHECKS_DIR: o->checks_dir = optarg; o->set_flags |= OPTSET_CHECKS_DIR; break;
        case OPT_PROMETHEUS: o->prometheus = optarg; o->set_flags |= OPTSET_PROMETHEUS; break;
        case OPT_SKIP_LIST: o->skip_list = optarg; break;
        case OPT_STORE:
            if (strcmp(optarg, "docker") == 0)
                o->store = 0;
            else if (strcmp(optarg, "containerd") == 0)
                o->store = 1;
            else {
                snprintf(err, errlen, "--store: '%s' is neither docker nor containerd", optarg);
                return -1;
            }
            break;
        case OPT_CONTAINERD_ROOT: o->containerd_root = optarg; break;
        case OPT_IGNORE: rc = append_list(&o->ignore, optarg); break;
        case OPT_LIST_CHECKS: rc = set_mode(o, MODE_LIST_CHECKS, err, errlen); break;
        case OPT_SCHEMA: rc = set_mode(o, MODE_SCHEMA, err, errlen); break;
        case OPT_BYTES: o->exact_bytes = true; break;
        case OPT_PIDFILE: o->pidfile = optarg; o->set_flags |= OPTSET_PIDFILE; break;
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
    return opts_validate(o, err, errlen);
}

/* Combinations that make no sense are usage errors, said plainly. */
int opts_validate(const struct options *o, char *err, size_t errlen)
{
    const char *why = NULL;
    if (!o->root[0])
        why = "--root must not be empty";
    else if (o->apply && !o->reap && !o->repair)
        why = "--apply needs --reap or --repair";
    else if (o->quarantine && !(o->reap && o->apply))
        why = "--quarantine goes with --reap --apply";
    else if (o->include && !o->reap)
        why = "--include goes with --reap";
    else if (o->mode == MODE_PURGE && o->older_than < 0)
        why = "--purge-quarantine needs --older-than DUR";
    else if (o->mode != MODE_PURGE && o->older_than >= 0)
        why = "--older-than goes with --purge-quarantine";
    else if ((o->layer_count || o->image_count) && !o->deep)
        why = "--layer and --image go with --deep";
    else if (o->containerd_root && !o->containerd_root[0])
        why = "--containerd-root must not be empty";
    else if ((o->mode == MODE_RESTORE || o->mode == MODE_PURGE) && (o->reap || o->repair || o->apply))
        why = "--restore and --purge-quarantine stand alone";
    if (why) {
        snprintf(err, errlen, "%s", why);
        return -1;
    }
    return 0;
}

static void free_array(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void opts_free(struct options *o)
{
    free(o->ignore);
    free(o->include);
    free_array(o->layers, o->layer_count);
    free_array(o->images, o->image_count);
    o->ignore = o->include = NULL;
    o->layers = o->images = NULL;
    o->layer_count = o->image_count = o->layer_cap = o->image_cap = 0;
}

int opts_io_depth(const struct options *o)
{
    return o->io_depth > 0 ? o->io_depth : DEFAULT_IO_DEPTH;
}

int opts_threads(const struct options *o)
{
    if (o->threads > 0)
        return o->threads;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

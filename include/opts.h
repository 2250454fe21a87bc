/* opts.h — command-line options (the exit codes: exit_codes.h). */
#ifndef OVL2FSCK_OPTS_H
#define OVL2FSCK_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

enum mode {
    MODE_REPORT,        /* check and report; with --reap / --repair also plan or apply */
    MODE_RESTORE,       /* --restore DIR */
    MODE_PURGE,         /* --purge-quarantine DIR */
    MODE_LIST_CHECKS, MODE_SCHEMA, MODE_HELP, MODE_VERSION
};

struct skip_list;

struct options {
    enum mode mode;
    const char *root;          /* default /var/lib/docker */
    bool json;
    const char *db_path;       /* NULL: private temporary database */
    int64_t min_age;           /* seconds; default 24h */
    char *ignore;              /* comma-separated check names (owned) */
    bool quiet;
    int verbose;
    bool exact_bytes;
    const char *pidfile;       /* dockerd pidfile for liveness */
    int store;                 /* --store: -1 detect, else enum store_kind */
    const char *containerd_root;  /* --containerd-root DIR (Docker on the containerd store) */

    /* reaper and repair (src/reap*.c, src/repair*.c) */
    bool reap;                 /* --reap: plan removal of garbage */
    bool repair;               /* --repair: plan repairs */
    bool apply;                /* --apply: carry the plan out */
    char *include;             /* --include CHECK,..: error classes to remove too (owned) */
    const char *quarantine;    /* --quarantine DIR: move instead of delete */
    const char *restore_dir;   /* --restore DIR */
    const char *purge_dir;     /* --purge-quarantine DIR */
    int64_t older_than;        /* --older-than DUR for --purge-quarantine; -1 unset */
    const char *journal;       /* --journal FILE */

    /* deep verification (src/deep*.c) */
    bool deep;                 /* --deep */
    char **layers;             /* --layer CHAINID, repeatable (owned array) */
    size_t layer_count, layer_cap;
    char **images;             /* --image REF, repeatable (owned array) */
    size_t image_count, image_cap;
    int threads;               /* --threads N; 0 = one per core */
    int io_depth;              /* --io-depth N: scan reads in flight; 0 = DEFAULT_IO_DEPTH */

    /* operations (src/config.c, src/prometheus.c) */
    const char *config_path;   /* --config FILE (NULL: /etc/ovl2fsck.conf if present) */
    const char *checks_dir;    /* --checks-dir DIR (NULL: /etc/ovl2fsck/checks.d if present) */
    const char *prometheus;    /* --prometheus FILE */
    const char *skip_list;     /* --skip-list FILE: "CHECK OBJECT" lines */
    const struct skip_list *skips;  /* config skip.* lines and --skip-list, validated (main.c) */
    unsigned set_flags;        /* OPTSET_* bits: which options the command line gave */
};

/* Bits of options.set_flags: the command line beats the config file. */
enum {
    OPTSET_ROOT = 1u << 0, OPTSET_MIN_AGE = 1u << 1, OPTSET_JOURNAL = 1u << 2,
    OPTSET_PROMETHEUS = 1u << 3, OPTSET_PIDFILE = 1u << 4, OPTSET_CHECKS_DIR = 1u << 5
};

#define DEFAULT_ROOT "/var/lib/docker"
#define DEFAULT_MIN_AGE (24 * 3600)
#define DEFAULT_PIDFILE "/var/run/docker.pid"
#define DEFAULT_JOURNAL "/var/log/ovl2fsck/journal.jsonl"
#define DEFAULT_CONFIG "/etc/ovl2fsck.conf"
#define DEFAULT_CHECKS_DIR "/etc/ovl2fsck/checks.d"
#define DEFAULT_IO_DEPTH 64

/* Parse argv into o. Returns 0, or -1 with a usage message in err. */
int opts_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
/* Worker threads for the run: --threads N, else one per core. */
int opts_threads(const struct options *o);
/* Reads the scan keeps in flight: --io-depth N, else DEFAULT_IO_DEPTH. */
int opts_io_depth(const struct options *o);
/* Re-check option combinations (also after a config file was applied). */
int opts_validate(const struct options *o, char *err, size_t errlen);
void opts_free(struct options *o);
void opts_usage(FILE *out);

/* "0", "90s", "30m", "24h", "7d", "1h30m"; a bare number is seconds. */
int parse_duration(const char *s, int64_t *out);

#endif

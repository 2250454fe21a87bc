/* opts.h — command-line options and the exit codes (fsck-style bits). */
#ifndef OVL2FSCK_OPTS_H
#define OVL2FSCK_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

enum exit_bits {
    EXIT_CLEAN = 0,        /* nothing found (warnings allowed) */
    EXIT_FIXED = 1,        /* --apply: everything found was fixed */
    EXIT_FOUND = 4,        /* errors or garbage found (and left) */
    EXIT_OPERATIONAL = 8,  /* root unreadable, database failure, refused */
    EXIT_USAGE = 16,       /* bad command line */
    EXIT_INTERRUPTED = 32  /* SIGINT/SIGTERM */
};

enum mode { MODE_REPORT, MODE_LIST_CHECKS, MODE_SCHEMA, MODE_HELP, MODE_VERSION };

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
};

/* Parse argv into o. Returns 0, or -1 with a usage message in err. */
int opts_parse(int argc, char **argv, struct options *o, char *err, size_t errlen);
void opts_free(struct options *o);
void opts_usage(FILE *out);

/* "0", "90s", "30m", "24h", "7d", "1h30m"; a bare number is seconds. */
int parse_duration(const char *s, int64_t *out);

#endif

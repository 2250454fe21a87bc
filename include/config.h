/* config.h — the config file (/etc/ovl2fsck.conf or --config FILE):
 * "key = value" lines, # comments, per-check severity overrides in git fsck
 * style (check.NAME = ignore|warning|error|garbage) and accepted findings
 * (skip.CHECK = OBJECT, as fsck.skipList; one line per object). The command line beats
 * the file: config_apply only fills options the command line did not set. */
#ifndef OVL2FSCK_CONFIG_H
#define OVL2FSCK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "catalog.h"
#include "exit_codes.h"
#include "opts.h"
#include "skip.h"

/* check.NAME = SEVERITY, remembered with its line for later errors. */
struct config_check {
    char *name;
    enum severity severity;
    int line;
};

struct config {
    char *path;                /* the file read, for FILE:LINE messages */
    char *root, *journal, *prometheus, *pidfile, *checks_dir;  /* NULL: not set */
    int64_t min_age;
    bool has_min_age;
    struct config_check *checks;
    size_t check_count, check_cap;
    struct skip_list skips;    /* skip.CHECK = OBJECT lines */
};

/* Parse config text (source names it in messages). Every line is parsed;
 * each bad one is reported on errout (when not NULL) as "SOURCE:LINE: why"
 * and the first also in err. Good lines are kept even when others are bad.
 * Returns 0, or -1 when any line was bad. */
int config_parse(const char *source, const char *text, struct config *cfg, FILE *errout, char *err, size_t errlen);

/* Read and parse path. When required is false a missing file is no error.
 * Returns 0 (loaded, or missing and optional), or an exit code: EXIT_USAGE
 * for a bad file or a missing required one, EXIT_OPERATIONAL for a read
 * error. Every message is printed on errout (when not NULL); the first is
 * also in err. */
int config_load(const char *path, bool required, struct config *cfg, FILE *errout, char *err, size_t errlen);

/* Fill the options the command line did not give (options.set_flags). The
 * strings stay owned by cfg, which must outlive o. */
void config_apply(const struct config *cfg, struct options *o);

/* Apply the check.NAME overrides to cat. An unknown name is an error
 * "FILE:LINE: unknown check NAME" (-1); when tolerate_unknown is true (a user
 * check failed to load and may be the one meant) it is only reported on
 * errout. */
int config_apply_checks(const struct config *cfg, struct catalog *cat, bool tolerate_unknown, FILE *errout,
                        char *err, size_t errlen);

void config_free(struct config *cfg);

#endif

/* catalog_dir.h — own checks: every *.sql file of a directory
 * (/etc/ovl2fsck/checks.d or --checks-dir) joins the catalog like a
 * built-in check, with the same header. A broken file is left out and
 * recorded as a failure (by file and line); the others still load. */
#ifndef OVL2FSCK_CATALOG_DIR_H
#define OVL2FSCK_CATALOG_DIR_H

#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "exit_codes.h"
#include "checks.h"

/* Load the *.sql files of dir (in name order, dotfiles skipped) into cat as
 * user checks. Each file that cannot be read, has a bad header, takes a name
 * already in use, or whose SQL does not prepare against the scan schema (or
 * is not one read-only SELECT with an 'object' column) is recorded in failed
 * with source "FILE:LINE" (or "FILE" when there is no line) and the reason.
 * Returns 0; or, when dir itself cannot be read, an exit code with the
 * message in err: EXIT_USAGE when it does not exist and required is true,
 * EXIT_OPERATIONAL otherwise (a missing optional dir is 0). */
int catalog_load_dir(struct catalog *cat, const char *dir, bool required, struct check_run *failed, char *err,
                     size_t errlen);

/* Append one failure (copies both strings). Returns 0 or -1 (out of memory). */
int check_run_add_failure(struct check_run *run, const char *source, const char *message);
/* Append copies of all of src's failures to dst. */
int check_run_add_all(struct check_run *dst, const struct check_run *src);

#endif

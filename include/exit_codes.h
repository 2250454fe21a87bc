/* exit_codes.h — ovl2fsck's exit status: fsck-style bits, or'ed together. */
#ifndef OVL2FSCK_EXIT_CODES_H
#define OVL2FSCK_EXIT_CODES_H

enum exit_bits {
    EXIT_CLEAN = 0,        /* nothing found (warnings allowed) */
    EXIT_FIXED = 1,        /* --apply: everything found was fixed */
    EXIT_FOUND = 4,        /* errors or garbage found (and left) */
    EXIT_OPERATIONAL = 8,  /* root unreadable, database failure, refused */
    EXIT_USAGE = 16,       /* bad command line */
    EXIT_INTERRUPTED = 32  /* SIGINT/SIGTERM */
};

#endif

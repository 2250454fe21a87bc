/* reap.c — placeholder entry points until the reaper lands. */
#include "reap.h"

#include <stdio.h>

int reap_main(const struct options *o, const struct catalog *cat, volatile sig_atomic_t *stop)
{
    (void)o; (void)cat; (void)stop;
    fprintf(stderr, "ovl2fsck: --reap/--repair are not available in this build\n");
    return EXIT_USAGE;
}

int reap_restore_main(const struct options *o, volatile sig_atomic_t *stop)
{
    (void)o; (void)stop;
    fprintf(stderr, "ovl2fsck: --restore is not available in this build\n");
    return EXIT_USAGE;
}

int reap_purge_main(const struct options *o, volatile sig_atomic_t *stop)
{
    (void)o; (void)stop;
    fprintf(stderr, "ovl2fsck: --purge-quarantine is not available in this build\n");
    return EXIT_USAGE;
}

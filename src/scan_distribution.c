/* scan_distribution.c — counts distribution/ entries (statistics only:
 * dockerd never cleans them, so stale entries are not findings). */
#include "scan_internal.h"

static int count_one(void *ctx, const char *name, unsigned char d_type)
{
    (void)name;
    (void)d_type;
    (*(long *)ctx)++;
    return 0;
}

static int count_dir(struct scan *s, const char *rel, const char *stat_key)
{
    long n = 0;
    int fd;
    int rc = scan_walk(s, rel, &fd, count_one, &n);
    if (rc == 0 && db_add_stat(s->db, stat_key, n) < 0)
        return -1;
    return rc;
}

int scan_distribution(struct scan *s)
{
    int rc = count_dir(s, "image/overlay2/distribution/diffid-by-digest/sha256", "distribution_diffid_by_digest");
    if (rc == 0)
        rc = count_dir(s, "image/overlay2/distribution/v2metadata-by-diffid/sha256", "distribution_v2metadata_by_diffid");
    return rc;
}

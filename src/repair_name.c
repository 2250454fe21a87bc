/* repair_name.c — the pure parts of repair: minting an overlay2 short name
 * the way dockerd's overlay2 driver does (26 chars of base32 [A-Z2-7] from
 * random bytes), building a lower string ("l/<parent's name>" followed by
 * the parent's own lower, nearest parent first, at most 128 entries), and
 * choosing a lost name from the evidence still on disk.
 *
 * Nothing here touches the file system except getrandom(). */
#include "repair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

const char repair_name_alphabet[33] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

void repair_name_from_bytes(const unsigned char raw[LINK_NAME_LEN], char out[LINK_NAME_LEN + 1])
{
    for (size_t i = 0; i < LINK_NAME_LEN; i++)
        out[i] = repair_name_alphabet[raw[i] & 31];   /* 256 = 8 * 32: uniform */
    out[LINK_NAME_LEN] = '\0';
}

static void random_bytes(unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got == len)
        return;
    /* no getrandom (very old kernel): still unpredictable enough for a name */
    unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16) ^ (unsigned long)clock();
    for (size_t i = got; i < len; i++) {
        x = x * 6364136223846793005ul + 1442695040888963407ul;
        buf[i] = (unsigned char)(x >> 33);
    }
}

int repair_mint_name(char out[LINK_NAME_LEN + 1], repair_taken_fn taken, void *ctx)
{
    for (int tries = 0; tries < 100; tries++) {
        unsigned char raw[LINK_NAME_LEN];
        random_bytes(raw, sizeof raw);
        repair_name_from_bytes(raw, out);
        if (!taken || !taken(ctx, out))
            return 0;
    }
    out[0] = '\0';
    return -1;
}

size_t repair_lower_count(const char *lower)
{
    if (!lower || !*lower)
        return 0;
    size_t n = 1;
    for (const char *p = lower; *p; p++)
        n += *p == ':';
    return n;
}

char *repair_lower_build(const char *parent_name, const char *parent_lower)
{
    if (!parent_name || strlen(parent_name) != LINK_NAME_LEN)
        return NULL;
    if (1 + repair_lower_count(parent_lower) > REPAIR_MAX_LOWER)
        return NULL;
    size_t len = 2 + LINK_NAME_LEN + (parent_lower && *parent_lower ? 1 + strlen(parent_lower) : 0);
    char *s = malloc(len + 1);
    if (!s)
        return NULL;
    if (parent_lower && *parent_lower)
        snprintf(s, len + 1, "l/%s:%s", parent_name, parent_lower);
    else
        snprintf(s, len + 1, "l/%s", parent_name);
    return s;
}

/* How many children's lowers give name (0 when none). */
static int votes_for(const struct repair_evidence *ev, const char *name)
{
    for (size_t i = 0; i < ev->vote_count; i++)
        if (strcmp(ev->votes[i].name, name) == 0)
            return ev->votes[i].count;
    return 0;
}

/* Is a better than the current best (more votes, then the smaller name)? */
static bool better(const char *a, int a_votes, const char *best, int best_votes)
{
    if (!best)
        return true;
    if (a_votes != best_votes)
        return a_votes > best_votes;
    return strcmp(a, best) < 0;
}

static bool usable(const char *name, repair_taken_fn taken, void *ctx)
{
    return id_is_link_name(name, strlen(name)) && !(taken && taken(ctx, name));
}

enum repair_source repair_pick_name(const struct repair_evidence *ev, repair_taken_fn taken, void *ctx,
                                    char out[LINK_NAME_LEN + 1])
{
    const char *best = NULL;
    int best_votes = 0;
    for (size_t i = 0; i < ev->symlink_count; i++) {
        const char *n = ev->symlinks[i];
        int v = votes_for(ev, n);
        if (usable(n, taken, ctx) && better(n, v, best, best_votes)) {
            best = n;
            best_votes = v;
        }
    }
    if (best) {
        snprintf(out, LINK_NAME_LEN + 1, "%s", best);
        return SRC_SYMLINK;
    }
    for (size_t i = 0; i < ev->vote_count; i++) {
        const struct repair_vote *v = &ev->votes[i];
        if (v->count > 0 && usable(v->name, taken, ctx) && better(v->name, v->count, best, best_votes)) {
            best = v->name;
            best_votes = v->count;
        }
    }
    if (best) {
        snprintf(out, LINK_NAME_LEN + 1, "%s", best);
        return SRC_LOWER;
    }
    out[0] = '\0';
    return SRC_NONE;
}

const char *repair_source_name(enum repair_source s)
{
    switch (s) {
    case SRC_NONE: return "none";
    case SRC_CONSISTENT: return "consistent";
    case SRC_LINK_FILE: return "link-file";
    case SRC_SYMLINK: return "symlink";
    case SRC_LOWER: return "lower";
    case SRC_MINTED: return "minted";
    }
    return "?";
}

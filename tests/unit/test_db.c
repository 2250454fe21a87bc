/* test_db.c — the scan database's temp files (src/db.c): named for the run
 * that made them, removed on close, and swept by the next run when a run
 * was killed: only our own regular files of a dead pid, never a symlink,
 * a dir, another name or a live run's file; and the string map and the
 * string arena of the derive (src/strmap.c, src/arena.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "unit_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arena.h"
#include "db.h"
#include "strmap.h"

static char dir[PATH_MAX];

static void touch(const char *name)
{
    char p[2 * PATH_MAX];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    close(fd);
}

static bool exists(const char *name)
{
    char p[2 * PATH_MAX];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return lstat(p, &st) == 0;
}

static long dead_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    return (long)pid;
}

/* Entries of dir named like our temp files. */
static int count_ours(void)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strncmp(de->d_name, "ovl2fsck-", 9) == 0;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/ovl2fsck-test-db-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return -1;
    setenv("TMPDIR", dir, 1);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void private_db_is_removed_on_close(void **state)
{
    (void)state;
    struct db db;
    char err[256];
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    char want[64];
    snprintf(want, sizeof want, "ovl2fsck-db-%ld-", (long)getpid());
    assert_non_null(strstr(db_path(&db), want));   /* named for this run */
    assert_int_equal(count_ours(), 1);
    db_close(&db);
    assert_int_equal(count_ours(), 0);
}

static void killed_runs_are_swept(void **state)
{
    (void)state;
    char name[8][96], mine[96], live[96];
    long dead = dead_pid();
    snprintf(name[0], sizeof name[0], "ovl2fsck-db-%ld-Ab12Cd", dead);
    snprintf(name[1], sizeof name[1], "ovl2fsck-db-%ld-Ab12Cd-wal", dead);
    snprintf(name[2], sizeof name[2], "ovl2fsck-db-%ld-Ab12Cd-shm", dead);
    snprintf(name[3], sizeof name[3], "ovl2fsck-scan-%ld-zz99ZZ", dead);
    for (int i = 0; i < 4; i++)
        touch(name[i]);
    snprintf(live, sizeof live, "ovl2fsck-db-1-Ab12Cd");   /* init: alive */
    touch(live);
    snprintf(mine, sizeof mine, "ovl2fsck-db-%ld-Qq11Qq", (long)getpid());
    touch(mine);
    /* look-alikes of a dead run that are not ours to remove */
    char lnk[96], sub[96], odd[96], target[2 * PATH_MAX];
    snprintf(lnk, sizeof lnk, "ovl2fsck-db-%ld-Ln00kk", dead);
    snprintf(target, sizeof target, "%s/keep-target", dir);
    touch("keep-target");
    char lp[2 * PATH_MAX];
    snprintf(lp, sizeof lp, "%s/%s", dir, lnk);
    assert_int_equal(symlink(target, lp), 0);
    snprintf(sub, sizeof sub, "ovl2fsck-db-%ld-Dir000", dead);
    snprintf(lp, sizeof lp, "%s/%s", dir, sub);
    assert_int_equal(mkdir(lp, 0700), 0);
    snprintf(odd, sizeof odd, "ovl2fsck-db-%ld-Ab12Cd.bak", dead);
    touch(odd);
    touch("ovl2fsck-db-x-Ab12Cd");

    struct db db;
    char err[256];
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    for (int i = 0; i < 4; i++)
        assert_false(exists(name[i]));   /* a killed run's db, WAL files and scan db */
    assert_true(exists(live));
    assert_true(exists(mine));
    assert_true(exists(lnk));
    assert_true(exists("keep-target"));
    assert_true(exists(sub));
    assert_true(exists(odd));
    assert_true(exists("ovl2fsck-db-x-Ab12Cd"));
    db_close(&db);
}

static void strmap_keeps_minimum_and_numbers(void **state)
{
    (void)state;
    struct strmap m = { 0 };
    char k[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(k, sizeof k, "key%d", i);
        assert_int_equal(strmap_put_num(&m, k, strlen(k), i), 0);
    }
    assert_int_equal(m.count, 5000);
    assert_int_equal(strmap_num(&m, "key4321", 7, -1), 4321);
    assert_int_equal(strmap_num(&m, "key43210", 8, -1), -1);
    assert_int_equal(strmap_put_num(&m, "key7", 4, 99), 0);   /* first insert wins */
    assert_int_equal(strmap_num(&m, "key7", 4, -1), 7);
    assert_int_equal(strmap_set_num(&m, "key7", 4, 99), 0);
    assert_int_equal(strmap_num(&m, "key7", 4, -1), 99);
    /* a key given with a length is the prefix, not the whole string */
    assert_true(strmap_has(&m, "key12345", 5));   /* "key12" */
    strmap_free(&m);

    assert_int_equal(strmap_put_min(&m, "s", 1, "dir-b"), 0);
    assert_int_equal(strmap_put_min(&m, "s", 1, "dir-c"), 0);
    assert_int_equal(strmap_put_min(&m, "s", 1, "dir-a"), 0);
    assert_string_equal(strmap_get(&m, "s", 1)->value, "dir-a");
    assert_int_equal(strmap_put_min(&m, "n", 1, NULL), 0);
    assert_int_equal(strmap_put_min(&m, "n", 1, "x"), 0);
    assert_null(strmap_get(&m, "n", 1)->value);   /* NULL is the smallest */
    strmap_free(&m);
}

/* A reserved map takes its keys without growing, and a reserve keeps the
 * keys already in. */
static void strmap_reserve_sizes_once(void **state)
{
    (void)state;
    struct strmap m = { 0 };
    assert_int_equal(strmap_put_num(&m, "before", 6, 1), 0);
    assert_int_equal(strmap_reserve(&m, 100000), 0);
    size_t cap = m.cap;
    struct strmap_slot *slots = m.slots;
    assert_true(cap >= 2 * 100001);
    char k[32];
    for (int i = 0; i < 99999; i++) {
        snprintf(k, sizeof k, "id-%d", i);
        assert_int_equal(strmap_put_num(&m, k, strlen(k), i), 0);
    }
    assert_int_equal(m.count, 100000);
    assert_int_equal(m.cap, cap);                 /* no growth */
    assert_ptr_equal(m.slots, slots);
    assert_int_equal(strmap_num(&m, "before", 6, -1), 1);
    assert_int_equal(strmap_num(&m, "id-77777", 8, -1), 77777);
    assert_int_equal(strmap_reserve(&m, 10), 0);  /* smaller: nothing to do */
    assert_ptr_equal(m.slots, slots);
    assert_int_equal(strmap_put_num(&m, "one-more", 8, 5), 0);
    assert_int_equal(strmap_num(&m, "one-more", 8, -1), 5);
    strmap_free(&m);
}

/* Copies are whole, NUL-terminated and stay put while the arena fills
 * further blocks; a request larger than a block gets its own. */
static void arena_copies_stay_put(void **state)
{
    (void)state;
    struct arena a = { 0 };
    char *first = arena_strndup(&a, "sha256:abc", 6);
    assert_string_equal(first, "sha256");
    char *ids[20000];
    char k[80];
    for (int i = 0; i < 20000; i++) {   /* > 1 MiB: several blocks */
        snprintf(k, sizeof k, "%064d", i);
        assert_non_null(ids[i] = arena_strndup(&a, k, strlen(k)));
    }
    size_t big = (size_t)3 << 20;
    char *b = arena_alloc(&a, big);
    assert_non_null(b);
    memset(b, 'x', big);
    char *after = arena_strndup(&a, "", 0);
    assert_string_equal(after, "");
    assert_string_equal(first, "sha256");
    for (int i = 0; i < 20000; i += 997) {
        snprintf(k, sizeof k, "%064d", i);
        assert_string_equal(ids[i], k);
    }
    arena_free(&a);
    assert_null(a.head);
    assert_non_null(arena_strndup(&a, "again", 5));   /* usable after a free */
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(private_db_is_removed_on_close),
        cmocka_unit_test(killed_runs_are_swept),
        cmocka_unit_test(strmap_keeps_minimum_and_numbers),
        cmocka_unit_test(strmap_reserve_sizes_once),
        cmocka_unit_test(arena_copies_stay_put),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

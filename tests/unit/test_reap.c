/* test_reap.c — unit tests of the reaper's building blocks: the safe delete
 * walker (symlinks, hard links, nesting, another file system inside), path
 * validation, plan building and ordering on a minimal scan database, the
 * journal's lines, the lock, and repositories.json edits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "derive.h"
#include "embedded.h"
#include "fsutil.h"
#include "reap_internal.h"

static char tmp[PATH_MAX];

static int setup_tmpdir(void **state)
{
    (void)state;
    snprintf(tmp, sizeof tmp, "%s/test_reap.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(tmp) ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "rm -rf --one-file-system '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static void pathf(char *out, size_t outlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *out, size_t outlen, const char *fmt, ...)
{
    char rel[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rel, sizeof rel, fmt, ap);
    va_end(ap);
    snprintf(out, outlen, "%.2048s/%s", tmp, rel);
}

static void mkdirf(const char *rel)
{
    char p[PATH_MAX];
    pathf(p, sizeof p, "%s", rel);
    assert_int_equal(act_mkdir_p(p), 0);
}

static void writef(const char *rel, const char *content)
{
    char p[PATH_MAX];
    pathf(p, sizeof p, "%s", rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void symlinkf(const char *target, const char *rel)
{
    char p[PATH_MAX];
    pathf(p, sizeof p, "%s", rel);
    assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *rel)
{
    char p[PATH_MAX];
    struct stat st;
    pathf(p, sizeof p, "%s", rel);
    return lstat(p, &st) == 0;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int open_tmp(void)
{
    int fd = open(tmp, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    return fd;
}

/* ---- the safe delete walker ------------------------------------------- */

static void test_delete_nested_with_links(void **state)
{
    (void)state;
    mkdirf("outside/dir");
    writef("outside/secret", "secret\n");
    writef("outside/dir/keep", "keep\n");
    writef("outside/hard", "hard\n");
    mkdirf("victim/a/b/c/d");
    writef("victim/a/b/c/d/file", "x");
    writef("victim/a/f", "0123456789");
    char target[PATH_MAX], lpath[PATH_MAX];
    pathf(target, sizeof target, "outside/secret");
    symlinkf(target, "victim/abs-file");
    pathf(target, sizeof target, "outside/dir");
    symlinkf(target, "victim/a/abs-dir");
    symlinkf("../../outside", "victim/a/rel-dir");
    symlinkf("/", "victim/root");
    pathf(target, sizeof target, "outside/hard");
    pathf(lpath, sizeof lpath, "victim/hard");
    assert_int_equal(link(target, lpath), 0);
    pathf(lpath, sizeof lpath, "victim/fifo");
    assert_int_equal(mkfifo(lpath, 0600), 0);

    int fd = open_tmp();
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    int64_t freed = 0;
    char err[256];
    assert_int_equal(act_safe_delete(fd, "victim", st.st_dev, &freed, err, sizeof err), 0);
    close(fd);
    assert_false(exists("victim"));
    assert_true(exists("outside/secret"));
    assert_true(exists("outside/dir/keep"));
    assert_true(exists("outside/hard"));
    assert_true(freed > 0);
    pathf(target, sizeof target, "outside/hard");
    assert_int_equal(stat(target, &st), 0);
    assert_int_equal(st.st_nlink, 1);
}

static void test_delete_symlink_to_dir_is_unlinked_only(void **state)
{
    (void)state;
    mkdirf("outside/dir");
    writef("outside/dir/keep", "keep\n");
    char target[PATH_MAX];
    pathf(target, sizeof target, "outside/dir");
    symlinkf(target, "link-to-dir");
    int fd = open_tmp();
    struct stat st;
    fstat(fd, &st);
    char err[256];
    int64_t freed = 0;
    assert_int_equal(act_safe_delete(fd, "link-to-dir", st.st_dev, &freed, err, sizeof err), 0);
    close(fd);
    assert_false(exists("link-to-dir"));
    assert_true(exists("outside/dir/keep"));
}

static void test_delete_refuses_bad_names(void **state)
{
    (void)state;
    int fd = open_tmp();
    char err[256];
    int64_t freed = 0;
    assert_int_equal(act_safe_delete(fd, "..", 0, &freed, err, sizeof err), -1);
    assert_int_equal(act_safe_delete(fd, ".", 0, &freed, err, sizeof err), -1);
    assert_int_equal(act_safe_delete(fd, "a/b", 0, &freed, err, sizeof err), -1);
    assert_int_equal(act_safe_delete(fd, "", 0, &freed, err, sizeof err), -1);
    close(fd);
}

static void test_delete_wrong_device_refused(void **state)
{
    (void)state;
    mkdirf("victim/sub");
    writef("victim/sub/f", "f");
    int fd = open_tmp();
    struct stat st;
    fstat(fd, &st);
    char err[256];
    int64_t freed = 0;
    /* as if the entry lived on another file system than the root */
    assert_int_equal(act_safe_delete(fd, "victim", st.st_dev + 1, &freed, err, sizeof err), -1);
    assert_non_null(strstr(err, "another file system"));
    assert_true(exists("victim/sub/f"));
    close(fd);
}

static void test_delete_does_not_cross_a_mount(void **state)
{
    (void)state;
    mkdirf("victim/mnt");
    writef("victim/before", "b");
    char mnt[PATH_MAX];
    pathf(mnt, sizeof mnt, "victim/mnt");
    if (mount("o2t-unit", mnt, "tmpfs", 0, "size=1m") != 0) {
        skip();   /* not root, or no mount namespace rights */
        return;
    }
    writef("victim/mnt/on-tmpfs", "survives");
    int fd = open_tmp();
    struct stat st;
    fstat(fd, &st);
    char err[256];
    int64_t freed = 0;
    int rc = act_safe_delete(fd, "victim", st.st_dev, &freed, err, sizeof err);
    close(fd);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "mnt: on another file system"));
    assert_true(exists("victim/mnt/on-tmpfs"));   /* the mounted fs was not entered */
    assert_false(exists("victim/before"));        /* what was on ours is gone */
    assert_int_equal(umount(mnt), 0);
}

/* ---- paths --------------------------------------------------------------- */

#define H64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_path_allowed(void **state)
{
    (void)state;
    assert_true(reap_path_allowed("overlay2/" H64));
    assert_true(reap_path_allowed("overlay2/" H64 "-init"));
    assert_true(reap_path_allowed("overlay2/abcdefghijklmnopqrstuvwxy"));
    assert_true(reap_path_allowed("overlay2/l/ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
    assert_true(reap_path_allowed("image/overlay2/layerdb/sha256/" H64));
    assert_true(reap_path_allowed("image/overlay2/layerdb/sha256/" H64 "-1234-removing"));
    assert_true(reap_path_allowed("image/overlay2/layerdb/tmp/write-set-123"));
    assert_true(reap_path_allowed("image/overlay2/imagedb/content/sha256/.tmp-x123"));
    assert_true(reap_path_allowed("containers/" H64));
    assert_false(reap_path_allowed("overlay2/l"));
    assert_false(reap_path_allowed("overlay2/.."));
    assert_false(reap_path_allowed("overlay2/../etc"));
    assert_false(reap_path_allowed("overlay2/" H64 "/diff"));
    assert_false(reap_path_allowed("overlay2/l/../../etc"));
    assert_false(reap_path_allowed("overlay2/l/.."));
    assert_false(reap_path_allowed("containers/../../etc"));
    assert_false(reap_path_allowed("image/overlay2/repositories.json"));
    assert_false(reap_path_allowed("/etc/passwd"));
    assert_false(reap_path_allowed("etc"));
    assert_false(reap_path_allowed("image/overlay2/layerdb/sha256/notanid"));
    assert_false(reap_path_allowed(NULL));
    /* Docker 26+/28 (issue 17): .tmp-* of the atomic writer, image mounts */
    assert_true(reap_path_allowed("overlay2/" H64 "/.tmp-link2849117613"));
    assert_true(reap_path_allowed("overlay2/l/.tmp-ABCDEFGHIJKLMNOPQRSTUVWXYZ3377"));
    assert_false(reap_path_allowed("overlay2/" H64 "/link"));
    assert_false(reap_path_allowed("overlay2/" H64 "/.tmp-x/y"));
    assert_false(reap_path_allowed("overlay2/../.tmp-x"));
    assert_true(reap_path_allowed("image/overlay2/layerdb/mounts/" H64 "-o2t/classic-a:latest"));
    assert_true(reap_path_allowed("image/overlay2/layerdb/mounts/" H64 "-plainref:latest"));
    assert_true(reap_path_allowed("image/overlay2/layerdb/mounts/" H64 "-o2t"));
    assert_false(reap_path_allowed("image/overlay2/layerdb/mounts/" H64 "-o2t/../../etc"));
    assert_false(reap_path_allowed("image/overlay2/layerdb/mounts/" H64 "-o2t//x"));
    assert_false(reap_path_allowed("image/overlay2/layerdb/mounts/" H64 "-a/b/c/d/e/f/g/h/i"));
    assert_false(reap_path_allowed("image/overlay2/layerdb/mounts/notanid-o2t/x"));
    assert_false(reap_path_allowed("image/overlay2/layerdb/mounts/" H64 "-a b"));
    assert_true(reap_path_allowed("tmp/docker-import-123"));
    assert_true(reap_path_allowed("tmp-old"));
    assert_false(reap_path_allowed("tmp"));
    assert_false(reap_path_allowed("tmp/a/b"));
}

static void test_open_parent_refuses_symlinked_component(void **state)
{
    (void)state;
    mkdirf("real/l");
    symlinkf("real", "overlay2");
    int fd = open_tmp();
    const char *base;
    errno = 0;
    assert_int_equal(act_open_parent(fd, "overlay2/l/ABC", &base), -1);
    assert_true(errno == ELOOP || errno == ENOTDIR);
    assert_int_equal(act_open_parent(fd, "real/../real/l/ABC", &base), -1);
    int p = act_open_parent(fd, "real/l/ABC", &base);
    assert_true(p >= 0);
    assert_string_equal(base, "ABC");
    close(p);
    close(fd);
}

/* ---- the plan -------------------------------------------------------------- */

#define CHAIN_P "1111111111111111111111111111111111111111111111111111111111111111"
#define CHAIN_C "2222222222222222222222222222222222222222222222222222222222222222"
#define DIR_P "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define DIR_C "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define DIR_O "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define LINK_P "PPPPPPPPPPPPPPPPPPPPPPPPPP"
#define LINK_C "CCCCCCCCCCCCCCCCCCCCCCCCCC"
#define LINK_O "OOOOOOOOOOOOOOOOOOOOOOOOOO"
#define MOUNT_M "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"

static void exec_ok(struct db *db, const char *sql)
{
    char err[512];
    if (db_exec(db, sql, err, sizeof err) != 0)
        fail_msg("%s: %s", sql, err);
}

static void make_layer_on_disk(const char *chain, const char *dir, const char *link)
{
    char rel[PATH_MAX], target[PATH_MAX];
    snprintf(rel, sizeof rel, "image/overlay2/layerdb/sha256/%s", chain);
    mkdirf(rel);
    snprintf(rel, sizeof rel, "overlay2/%s/diff", dir);
    mkdirf(rel);
    snprintf(rel, sizeof rel, "overlay2/l/%s", link);
    snprintf(target, sizeof target, "../%s/diff", dir);
    symlinkf(target, rel);
}

static void test_plan_children_first_and_claims(void **state)
{
    (void)state;
    char root[PATH_MAX], err[512];
    snprintf(root, sizeof root, "%s", tmp);
    mkdirf("overlay2/l");
    make_layer_on_disk(CHAIN_P, DIR_P, LINK_P);
    make_layer_on_disk(CHAIN_C, DIR_C, LINK_C);
    mkdirf("overlay2/" DIR_O "/diff");
    symlinkf("../" DIR_O "/diff", "overlay2/l/" LINK_O);
    mkdirf("image/overlay2/layerdb/tmp/write-set-1");

    struct db db;
    assert_int_equal(db_open(&db, NULL, err, sizeof err), 0);
    exec_ok(&db, "INSERT INTO layer VALUES ('" CHAIN_P "',1,1,NULL,'ok',NULL,'missing','" DIR_P "','ok',0,'ok',1,NULL,0,0)");
    exec_ok(&db, "INSERT INTO layer VALUES ('" CHAIN_C "',1,1,NULL,'ok','" CHAIN_P "','ok','" DIR_C "','ok',0,'ok',1,NULL,0,0)");
    exec_ok(&db, "INSERT INTO overlay_dir VALUES ('" DIR_P "','layer',1,'dir','" LINK_P "','ok',NULL,'missing',0,0,0,0)");
    exec_ok(&db, "INSERT INTO overlay_dir VALUES ('" DIR_C "','layer',1,'dir','" LINK_C "','ok',NULL,'missing',0,0,0,0)");
    exec_ok(&db, "INSERT INTO overlay_dir VALUES ('" DIR_O "','layer',1,'dir','" LINK_O "','ok',NULL,'missing',0,0,0,0)");
    exec_ok(&db, "INSERT INTO link VALUES ('" LINK_P "','symlink','../" DIR_P "/diff','" DIR_P "',0)");
    exec_ok(&db, "INSERT INTO link VALUES ('" LINK_C "','symlink','../" DIR_C "/diff','" DIR_C "',0)");
    exec_ok(&db, "INSERT INTO link VALUES ('" LINK_O "','symlink','../" DIR_O "/diff','" DIR_O "',0)");
    /* a container mount also claims P's dir (layer-cache-id-shared): it must stay */
    exec_ok(&db, "INSERT INTO mount VALUES ('" MOUNT_M "',1,'" DIR_P "','ok',NULL,'missing',NULL,'missing',0)");
    /* overlay_ref and expected_lower: the check pass's derived facts */
    char derr[256];
    assert_int_equal(derive_run(&db, derr, sizeof derr), 0);
    /* findings in the catalog's order: leftovers and parents before children */
    exec_ok(&db, "INSERT INTO finding(check_name, severity, object, path, detail, bytes) VALUES"
                 " ('layerdb-tmp-leftover','garbage','write-set-1','image/overlay2/layerdb/tmp/write-set-1','',7),"
                 " ('layer-unreferenced','garbage','" CHAIN_P "','image/overlay2/layerdb/sha256/" CHAIN_P "','',11),"
                 " ('overlay-dir-orphaned','garbage','" DIR_O "','overlay2/" DIR_O "','',13),"
                 " ('layer-unreferenced','garbage','" CHAIN_C "','image/overlay2/layerdb/sha256/" CHAIN_C "','',17),"
                 " ('image-layer-missing','error','" H64 "','x','',0)");

    struct reap_plan plan;
    struct catalog cat = { 0 };
    assert_int_equal(catalog_load_builtin(&cat, err, sizeof err), 0);
    assert_int_equal(reap_plan_build(&plan, &db, root, &cat, NULL, err, sizeof err), 0);
    assert_int_equal(plan.count, 4);
    assert_int_equal(plan.errors_left, 1);   /* not included: left alone */
    /* child layer, parent layer, orphan dir, leftover */
    assert_string_equal(plan.items[0].object, CHAIN_C);
    assert_string_equal(plan.items[1].object, CHAIN_P);
    assert_string_equal(plan.items[2].object, DIR_O);
    assert_string_equal(plan.items[3].object, "write-set-1");

    const struct reap_item *c = &plan.items[0];
    assert_int_equal(c->step_count, 4);
    assert_int_equal(c->steps[0].action, REAP_RENAME_ASIDE);
    assert_string_equal(c->steps[0].path, "image/overlay2/layerdb/sha256/" CHAIN_C);
    assert_int_equal(c->steps[1].action, REAP_REMOVE);
    assert_string_equal(c->steps[1].path, "overlay2/" DIR_C);
    assert_string_equal(c->steps[2].path, "overlay2/l/" LINK_C);
    assert_string_equal(c->steps[2].link_dir, DIR_C);
    assert_int_equal(c->steps[3].action, REAP_REMOVE_ASIDE);
    assert_true(c->steps[1].have_id);
    assert_int_equal(c->bytes, 17);   /* from the finding */

    const struct reap_item *p = &plan.items[1];
    assert_int_equal(p->step_count, 2);   /* its dir is claimed by the mount: kept */
    assert_int_equal(p->steps[0].action, REAP_RENAME_ASIDE);
    assert_int_equal(p->steps[1].action, REAP_REMOVE_ASIDE);
    assert_int_equal(plan.note_count, 1);
    assert_non_null(strstr(plan.notes[0], "overlay2/" DIR_P " is kept"));

    assert_int_equal(plan.items[2].step_count, 2);   /* orphan dir and its link */
    assert_string_equal(plan.items[2].steps[1].path, "overlay2/l/" LINK_O);
    reap_plan_free(&plan);

    /* --include image-layer-missing turns the error into an item, first */
    mkdirf("image/overlay2/imagedb/content/sha256");
    writef("image/overlay2/imagedb/content/sha256/" H64, "{}");
    assert_int_equal(reap_plan_build(&plan, &db, root, &cat, "image-layer-missing", err, sizeof err), 0);
    assert_int_equal(plan.count, 5);
    assert_int_equal(plan.items[0].kind, KIND_IMAGE);
    assert_int_equal(plan.errors_left, 0);
    reap_plan_free(&plan);
    catalog_free(&cat);
    db_close(&db);
}

/* The reference index knows a dir's l/ names from one listing of
 * overlay2/l: a dir whose own link file names nothing that is used is
 * still claimed through an l/ symlink another claimed dir's lower file
 * names; removing that symlink (forget_path) frees it; a symlink added
 * after the load changes the signature (the reaper then reads again). */
/* Layer C (dir DIR_C) on layer P (dir DIR_P), with their l/ symlinks. */
static void make_parent_and_child(void)
{
    mkdirf("overlay2/l");
    make_layer_on_disk(CHAIN_P, DIR_P, LINK_P);
    make_layer_on_disk(CHAIN_C, DIR_C, LINK_C);
    writef("image/overlay2/layerdb/sha256/" CHAIN_P "/cache-id", DIR_P);
    writef("image/overlay2/layerdb/sha256/" CHAIN_C "/cache-id", DIR_C);
    writef("image/overlay2/layerdb/sha256/" CHAIN_C "/parent", "sha256:" CHAIN_P);
}

static void test_refs_claim_through_l_symlink(void **state)
{
    (void)state;
    char err[512], why[512];
    make_parent_and_child();
    writef("overlay2/" DIR_C "/link", LINK_C);
    /* names O's second short name */
    writef("overlay2/" DIR_C "/lower", "l/" LINK_P ":l/" LINK_O "\n");
    mkdirf("overlay2/" DIR_O "/diff");
    writef("overlay2/" DIR_O "/link", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ");
    symlinkf("../" DIR_O "/diff", "overlay2/l/" LINK_O);
    int rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(rootfd >= 0);
    uint64_t sig = reap_refs_signature(rootfd);
    struct reap_refs *r = reap_refs_load(rootfd);
    assert_non_null(r);
    assert_true(reap_refs_dir_claimed(r, DIR_O, NULL, why, sizeof why));
    assert_string_equal(why, "overlay2/" DIR_C " has it as a lower dir");
    /* the lower file's own owner does not count */
    assert_false(reap_refs_dir_claimed(r, DIR_O, CHAIN_C, why, sizeof why));

    char path[PATH_MAX];
    pathf(path, sizeof path, "overlay2/l/%s", LINK_O);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(reap_refs_forget_path(r, "overlay2/l/" LINK_O), 0);
    assert_false(reap_refs_dir_claimed(r, DIR_O, NULL, why, sizeof why));
    assert_int_equal(reap_refs_forget_path(r, "overlay2/l"), -1);
    assert_true(reap_refs_signature(rootfd) != sig);
    sig = reap_refs_signature(rootfd);

    /* another short name of O, made after the load: a new signature, and a
     * new load sees the claim */
    symlinkf("../" DIR_O "/diff", "overlay2/l/" LINK_O);
    assert_true(reap_refs_signature(rootfd) != sig);
    reap_refs_free(r);
    assert_non_null(r = reap_refs_load(rootfd));
    assert_true(reap_refs_dir_claimed(r, DIR_O, NULL, why, sizeof why));
    reap_refs_free(r);
    close(rootfd);
    (void)err;
}

/* rel's bytes (NULs included). */
static void write_bytes(const char *rel, const char *bytes, size_t len)
{
    char p[PATH_MAX];
    pathf(p, sizeof p, "%s", rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

/* The reference index of tmp, freshly loaded (drop_refs frees it). */
static struct reap_refs *fresh_refs(int *rootfd)
{
    *rootfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(*rootfd >= 0);
    struct reap_refs *r = reap_refs_load(*rootfd);
    assert_non_null(r);
    return r;
}

static void drop_refs(struct reap_refs *r, int rootfd)
{
    reap_refs_free(r);
    close(rootfd);
}

/* Whether DIR_O counts as claimed (why in why), on a fresh load. */
/* P and its child C (make_parent_and_child), and a dir O that nothing
 * claims, with a short name of its own in its link file. */
static void make_chain_and_orphan(void)
{
    make_parent_and_child();
    mkdirf("overlay2/" DIR_O "/diff");
    writef("overlay2/" DIR_O "/link", "ZZZZZZZZZZZZZZZZZZZZZZZZZZ");
}

static bool orphan_claimed(const char *except, char *why, size_t whylen)
{
    int rootfd;
    struct reap_refs *r = fresh_refs(&rootfd);
    bool claimed = reap_refs_dir_claimed(r, DIR_O, except, why, whylen);
    drop_refs(r, rootfd);
    return claimed;
}

/* A claimed dir's lower file that cannot be read or trusted names dirs
 * nobody can see: no dir is an orphan while it is there (the owner's own
 * removal aside). A short name no l/ entry has may be that of a dir with
 * none of its own. */
static void test_refs_lower_claims_unknown(void **state)
{
    (void)state;
    char why[512];
    make_chain_and_orphan();
    writef("overlay2/" DIR_C "/lower", "l/" LINK_P "\n");
    assert_false(orphan_claimed(NULL, why, sizeof why));

    /* a NUL inside (a torn write): malformed */
    write_bytes("overlay2/" DIR_C "/lower", "l/" LINK_P "\0\0\0\0", 32);
    assert_true(orphan_claimed(NULL, why, sizeof why));
    assert_string_equal(why, "overlay2/" DIR_C "/lower is malformed, so the dirs it names are unknown");
    assert_false(orphan_claimed(CHAIN_C, why, sizeof why));
    writef("overlay2/" DIR_C "/lower", "l/" LINK_P ":l/bad");
    assert_true(orphan_claimed(NULL, why, sizeof why));
    assert_string_equal(why, "overlay2/" DIR_C "/lower is malformed, so the dirs it names are unknown");
    /* a blank inside an entry: malformed, as the scan reads it */
    writef("overlay2/" DIR_C "/lower", "l/" LINK_P ": l/" LINK_P);
    assert_true(orphan_claimed(NULL, why, sizeof why));
    assert_string_equal(why, "overlay2/" DIR_C "/lower is malformed, so the dirs it names are unknown");
    writef("overlay2/" DIR_C "/lower", " \n");
    assert_true(orphan_claimed(NULL, why, sizeof why));
    assert_string_equal(why, "overlay2/" DIR_C "/lower is empty, so the dirs it names are unknown");
    /* larger than any lower file may be: not read */
    static char big[CAP_ID_FILE + 2];
    memset(big, 'A', sizeof big);
    write_bytes("overlay2/" DIR_C "/lower", big, sizeof big);
    assert_true(orphan_claimed(NULL, why, sizeof why));
    assert_string_equal(why, "overlay2/" DIR_C "/lower cannot be read, so the dirs it names are unknown");

    /* a name no l/ entry has: O keeps its own name (link file), then loses it */
    writef("overlay2/" DIR_C "/lower", "l/" LINK_P ":l/QQQQQQQQQQQQQQQQQQQQQQQQQQ");
    assert_false(orphan_claimed(NULL, why, sizeof why));
    char path[PATH_MAX];
    pathf(path, sizeof path, "overlay2/%s/link", DIR_O);
    assert_int_equal(unlink(path), 0);
    assert_true(orphan_claimed(NULL, why, sizeof why));
    assert_string_equal(why, "it has no short name, and overlay2/" DIR_C
                             "/lower names l/QQQQQQQQQQQQQQQQQQQQQQQQQQ, which no l/ entry has");
    assert_false(orphan_claimed(CHAIN_C, why, sizeof why));
    /* an l/ symlink to O gives it a name again */
    symlinkf("../" DIR_O "/diff", "overlay2/l/" LINK_O);
    assert_false(orphan_claimed(NULL, why, sizeof why));
    pathf(path, sizeof path, "overlay2/l/%s", LINK_O);
    assert_int_equal(unlink(path), 0);
    /* the name resolves (an l/ entry of that name, wherever it points) */
    symlinkf("../" DIR_P "/diff", "overlay2/l/QQQQQQQQQQQQQQQQQQQQQQQQQQ");
    assert_false(orphan_claimed(NULL, why, sizeof why));
}

/* A missing lower file names nothing for a base layer, but on a layer whose
 * parent is lost (no layerdb entry, a damaged parent file) it was the only
 * thing naming the dirs below: no dir is an orphan then. */
static void test_refs_lower_missing_parent_lost(void **state)
{
    (void)state;
    char why[512];
    make_chain_and_orphan();
    assert_false(orphan_claimed(NULL, why, sizeof why));   /* C's lower missing, its parent P is there */
    writef("image/overlay2/layerdb/sha256/" CHAIN_C "/parent", "sha256:nothex");
    assert_true(orphan_claimed(NULL, why, sizeof why));
    assert_string_equal(why, "overlay2/" DIR_C "/lower is missing while the layer below it is lost, so the dirs it"
                             " names are unknown");
    writef("image/overlay2/layerdb/sha256/" CHAIN_C "/parent", "sha256:" CHAIN_P);
    char from[PATH_MAX], to[PATH_MAX];   /* P's layerdb entry lost (moved out of the store) */
    pathf(from, sizeof from, "image/overlay2/layerdb/sha256/%s", CHAIN_P);
    pathf(to, sizeof to, "lost-%s", CHAIN_P);
    assert_int_equal(rename(from, to), 0);
    assert_true(orphan_claimed(NULL, why, sizeof why));
    assert_string_equal(why, "overlay2/" DIR_C "/lower is missing while the layer below it is lost, so the dirs it"
                             " names are unknown");
    assert_false(orphan_claimed(CHAIN_C, why, sizeof why));   /* C's own removal */
    writef("overlay2/" DIR_C "/lower", "l/" LINK_P);           /* a lower file again: it names P's dir only */
    assert_false(orphan_claimed(NULL, why, sizeof why));
}

/* Whether layer P counts as used (why in why), on a fresh load. */
static bool parent_layer_used(char *why, size_t whylen)
{
    int rootfd;
    struct reap_refs *r = fresh_refs(&rootfd);
    bool used = reap_refs_layer_used(r, CHAIN_P, why, whylen);
    drop_refs(r, rootfd);
    return used;
}

/* An image config whose layers cannot be known (torn by a power loss, no
 * rootfs, a malformed diff_id) may name any layer: none is unused. */
static void test_refs_invalid_image_config(void **state)
{
    (void)state;
    char why[512];
    mkdirf("overlay2/l");
    make_layer_on_disk(CHAIN_P, DIR_P, LINK_P);
    writef("image/overlay2/layerdb/sha256/" CHAIN_P "/cache-id", DIR_P);
    mkdirf("image/overlay2/imagedb/content/sha256");
#define HEXA "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
#define IMG "image/overlay2/imagedb/content/sha256/" HEXA
    writef(IMG, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
    assert_false(parent_layer_used(why, sizeof why));
    writef(IMG, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:");
    assert_true(parent_layer_used(why, sizeof why));
    assert_string_equal(why, "the reference graph cannot be trusted: image config " HEXA ": not valid JSON");
    writef(IMG, "{\"config\":{}}");
    assert_true(parent_layer_used(why, sizeof why));
    assert_string_equal(why, "the reference graph cannot be trusted: image config " HEXA ": no rootfs object");
    writef(IMG, "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"sha256:zz\"]}}");
    assert_true(parent_layer_used(why, sizeof why));
    assert_string_equal(why, "the reference graph cannot be trusted: image config " HEXA
                             ": rootfs.diff_ids[0] is not a sha256 digest");
#undef IMG
#undef HEXA
}

static void test_plan_sort_groups(void **state)
{
    (void)state;
    struct reap_item items[6];
    memset(items, 0, sizeof items);
    enum item_kind kinds[6] = { KIND_LEFTOVER, KIND_LAYER, KIND_OVERLAY_ORPHAN, KIND_LAYER, KIND_IMAGE, KIND_MOUNT };
    int depths[6] = { 0, 1, 0, 5, 0, 0 };
    char names[6][2] = { "a", "b", "c", "d", "e", "f" };
    for (int i = 0; i < 6; i++) {
        items[i].kind = kinds[i];
        items[i].depth = depths[i];
        items[i].check = names[i];
        items[i].object = names[i];
    }
    struct reap_plan plan = { .items = items, .count = 6 };
    reap_plan_sort(&plan);
    /* image, mount, layers deepest first, orphan, leftover */
    const char *want = "efdbca";
    for (int i = 0; i < 6; i++)
        assert_int_equal(plan.items[i].object[0], want[i]);
}

/* ---- the journal ------------------------------------------------------------- */

static void test_journal_lines(void **state)
{
    (void)state;
    char path[PATH_MAX], err[256];
    pathf(path, sizeof path, "log/dir/journal.jsonl");
    unsetenv(ACT_CRASH_ENV);
    unsetenv(ACT_TERM_ENV);
    struct act_journal j;
    assert_int_equal(act_journal_open(&j, path, err, sizeof err), 0);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "to", ".ovl2fsck-trash/x");
    assert_int_equal(act_journal_write(&j, "overlay-dir-orphaned", "abc", "overlay2/abc", 0, "trash", "started", NULL, extra), 0);
    assert_int_equal(act_journal_end(&j, "overlay-dir-orphaned", "abc", "overlay2/abc", 4096, "trash", NULL, extra), 0);
    assert_int_equal(act_journal_end(&j, "overlay-dir-orphaned", "abc", "overlay2/abc", 0, "delete", "boom", NULL), 0);
    assert_int_equal(act_journal_end(&j, NULL, NULL, "x", 0, "verify", "skipped: mounted", NULL), 0);
    cJSON_Delete(extra);
    assert_int_equal(j.actions, 3);
    act_journal_close(&j);

    struct stat st;
    char dir[PATH_MAX];
    pathf(dir, sizeof dir, "log/dir");
    assert_int_equal(stat(dir, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);

    char *text = read_all(path);
    assert_non_null(text);
    const char *want_result[4] = { "started", "ok", "failed", "skipped" };
    int n = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), n++) {
        cJSON *o = cJSON_Parse(line);
        assert_non_null(o);
        const char *keys[] = { "time", "run", "check", "object", "path", "bytes", "action", "result", "error" };
        for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
            assert_non_null(cJSON_GetObjectItemCaseSensitive(o, keys[k]));
        assert_string_equal(cJSON_GetObjectItem(o, "result")->valuestring, want_result[n]);
        if (n == 1) {
            assert_int_equal((int)cJSON_GetObjectItem(o, "bytes")->valuedouble, 4096);
            assert_string_equal(cJSON_GetObjectItem(o, "to")->valuestring, ".ovl2fsck-trash/x");
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "error")));
        }
        if (n == 2)
            assert_string_equal(cJSON_GetObjectItem(o, "error")->valuestring, "boom");
        if (n == 3)
            assert_string_equal(cJSON_GetObjectItem(o, "error")->valuestring, "mounted");
        cJSON_Delete(o);
    }
    assert_int_equal(n, 4);
    free(text);
}

static void test_journal_format_escapes(void **state)
{
    (void)state;
    char *line = act_journal_format("1-2", "c", "we\"ird\nname", "p", 1, "a", "ok", NULL, NULL, 0.0);
    assert_non_null(line);
    assert_null(strchr(line, '\n'));
    cJSON *o = cJSON_Parse(line);
    assert_string_equal(cJSON_GetObjectItem(o, "object")->valuestring, "we\"ird\nname");
    assert_string_equal(cJSON_GetObjectItem(o, "time")->valuestring, "1970-01-01T00:00:00.000Z");
    cJSON_Delete(o);
    free(line);
}

/* ---- the lock ---------------------------------------------------------------- */

static void test_lock_second_taker_refused(void **state)
{
    (void)state;
    int fd = open_tmp();
    char err[512];
    int a = act_lock_take(fd, ACT_LOCK_NAME, "ROOT", err, sizeof err);
    assert_true(a >= 0);
    int b = act_lock_take(fd, ACT_LOCK_NAME, "ROOT", err, sizeof err);
    assert_int_equal(b, -1);
    char want[64];
    snprintf(want, sizeof want, "locked by pid %ld", (long)getpid());
    assert_non_null(strstr(err, want));
    assert_non_null(strstr(err, "started"));
    act_lock_release(fd, ACT_LOCK_NAME, a);
    assert_false(exists(ACT_LOCK_NAME));
    b = act_lock_take(fd, ACT_LOCK_NAME, "ROOT", err, sizeof err);
    assert_true(b >= 0);
    act_lock_release(fd, ACT_LOCK_NAME, b);
    close(fd);
}

/* ---- repositories.json ------------------------------------------------------ */

#define IMG_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define IMG_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void test_tags_untag_and_restore(void **state)
{
    (void)state;
    const char *orig = "{\"Repositories\":{\"a\":{\"a:1\":\"sha256:" IMG_A "\",\"a:2\":\"sha256:" IMG_B "\"},"
                       "\"only\":{\"only:x\":\"sha256:" IMG_A "\"},\"z\":{\"z:1\":\"sha256:" IMG_B "\"}}}";
    mkdirf("image/overlay2");
    writef("image/overlay2/repositories.json", orig);
    char path[PATH_MAX];
    pathf(path, sizeof path, "image/overlay2/repositories.json");
    chmod(path, 0600);
    int fd = open_tmp();
    char err[256];
    struct reap_tags_edit e;
    assert_int_equal(reap_tags_prepare_untag(fd, IMG_A, &e, err, sizeof err), 0);
    assert_non_null(e.removed->child);
    assert_int_equal(reap_tags_write_atomic(fd, REAP_TAGS_PATH, e.after, e.after_len, err, sizeof err), 0);
    char *now = read_all(path);
    assert_string_equal(now, "{\"Repositories\":{\"a\":{\"a:2\":\"sha256:" IMG_B "\"},\"z\":{\"z:1\":\"sha256:" IMG_B "\"}}}");
    free(now);
    struct stat st;
    stat(path, &st);
    assert_int_equal(st.st_mode & 0777, 0600);   /* mode kept */
    assert_false(exists("image/overlay2/" REAP_TAGS_TMP));

    /* untouched since: the old bytes come back verbatim */
    assert_int_equal(reap_tags_restore(fd, e.removed, e.before, e.before_len, e.after_sha, false, err, sizeof err), 0);
    now = read_all(path);
    assert_string_equal(now, orig);
    free(now);

    /* changed since, and a removed tag now names another image: conflict */
    writef("image/overlay2/repositories.json", "{\"Repositories\":{\"only\":{\"only:x\":\"sha256:" IMG_B "\"}}}");
    assert_int_equal(reap_tags_restore(fd, e.removed, e.before, e.before_len, e.after_sha, true, err, sizeof err), -1);
    assert_non_null(strstr(err, "only:x"));

    /* changed since, no conflict: the tags are merged back in key order */
    writef("image/overlay2/repositories.json", "{\"Repositories\":{\"z\":{\"z:1\":\"sha256:" IMG_B "\"}}}");
    assert_int_equal(reap_tags_restore(fd, e.removed, e.before, e.before_len, e.after_sha, false, err, sizeof err), 0);
    now = read_all(path);
    assert_string_equal(now, "{\"Repositories\":{\"a\":{\"a:1\":\"sha256:" IMG_A "\"},\"only\":{\"only:x\":\"sha256:" IMG_A
                             "\"},\"z\":{\"z:1\":\"sha256:" IMG_B "\"}}}");
    free(now);
    reap_tags_edit_free(&e);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_delete_nested_with_links, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_delete_symlink_to_dir_is_unlinked_only, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_delete_refuses_bad_names, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_delete_wrong_device_refused, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_delete_does_not_cross_a_mount, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_path_allowed),
        cmocka_unit_test_setup_teardown(test_open_parent_refuses_symlinked_component, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_plan_children_first_and_claims, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_plan_sort_groups),
        cmocka_unit_test_setup_teardown(test_refs_claim_through_l_symlink, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_refs_lower_claims_unknown, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_refs_lower_missing_parent_lost, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_refs_invalid_image_config, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_journal_lines, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_journal_format_escapes),
        cmocka_unit_test_setup_teardown(test_lock_second_taker_refused, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_tags_untag_and_restore, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

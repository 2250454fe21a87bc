/* fsutil.h — the only way ovl2fsck reads the store: openat() relative to a
 * dir fd, never following a symlink, never blocking on a FIFO, with a size cap
 * on every file. */
#ifndef OVL2FSCK_FSUTIL_H
#define OVL2FSCK_FSUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

enum file_status {
    FILE_OK,          /* data/len hold the content (NUL-terminated) */
    FILE_MISSING,     /* ENOENT */
    FILE_NOT_REGULAR, /* symlink, dir, FIFO, device ... */
    FILE_TOO_LARGE,   /* larger than the cap */
    FILE_UNREADABLE   /* permission or I/O error; err holds errno */
};

struct file_buf {
    char *data;       /* malloc'd, NUL-terminated; NULL unless FILE_OK */
    size_t len;
    enum file_status status;
    int err;
    struct stat st;   /* valid unless FILE_MISSING */
};

/* Caps on what one file may cost. */
#define CAP_ID_FILE     (64u * 1024)           /* diff, parent, cache-id, link, lower ... */
#define CAP_JSON_FILE   (8u * 1024 * 1024)     /* image configs, config.v2.json, repositories.json */

/* Read dirfd/name into out (always fills out->status; free with file_buf_free). */
void fs_read_file(int dirfd, const char *name, size_t cap, struct file_buf *out);
void file_buf_free(struct file_buf *b);
const char *file_status_text(const struct file_buf *b, char *buf, size_t buflen);

/* Open dirfd/name as a directory without following a symlink; -1 with errno. */
int fs_open_dir(int dirfd, const char *name);

/* lstat of dirfd/name; false (errno set) when it does not exist or fails. */
bool fs_lstat(int dirfd, const char *name, struct stat *st);

/* Short word for a file type: dir, file, symlink, fifo, socket, chardev, blockdev. */
const char *fs_type_name(mode_t mode);

/* Call fn for every entry of dirfd except . and .. (the fd is not consumed).
 * Returns 0, or -1 with errno when the dir cannot be listed. fn returning
 * non-zero stops the walk and is returned. */
typedef int (*fs_entry_fn)(void *ctx, const char *name, unsigned char d_type);
int fs_list_dir(int dirfd, fs_entry_fn fn, void *ctx);
/* fs_list_dir in byte order of the names (the order of the scan database's
 * keys: appending to a b-tree is far cheaper than inserting at random).
 * When the listing fails part way, fn still gets what was read, then -1. */
int fs_list_dir_sorted(int dirfd, fs_entry_fn fn, void *ctx);
/* The names of a dir with their d_type, sorted as fs_list_dir_sorted calls
 * them: 0, or -1 with errno and what was read before the error in *out.
 * Free with fs_names_free either way. */
struct fs_name {
    char *name;
    unsigned char d_type;
};
struct fs_names {
    struct fs_name *v;
    size_t n, cap;
};
int fs_names_read(int dirfd, struct fs_names *out);
/* The same in the order fs_list_dir gives them. */
int fs_names_read_unsorted(int dirfd, struct fs_names *out);
void fs_names_free(struct fs_names *l);

/* readlinkat into buf (NUL-terminated); -1 with errno. */
long fs_readlink(int dirfd, const char *name, char *buf, size_t buflen);

/* write() all of buf, retrying on EINTR; 0, or -1 with errno. */
int fs_write_all(int fd, const void *buf, size_t len);

/* Bytes available on the file system of path, as df shows them (without
 * the blocks reserved for root); -1 when it cannot be told. */
long long fs_free_bytes(const char *path);
/* errno of a full file system (ENOSPC, or EDQUOT: a quota is full). */
bool fs_errno_is_full(int err);
/* Does an error message carry the text of such an errno? */
bool fs_text_says_full(const char *msg);

#endif

/* tiny.c — a static, libc-free program for the demo store's images: 8 KB
 * instead of busybox's 2 MB, so that a store captured from a real dockerd fits
 * a small fixture. x86_64 Linux only.
 *
 *   tiny                      prints "tiny was here"
 *   tiny [OP]... [FILE TEXT]  runs the ops in order, then writes TEXT to FILE
 *     -u PATH   unlink        (a whiteout in the layer)
 *     -d PATH   rmdir         (with -m of the same dir: an opaque dir)
 *     -m PATH   mkdir 0755
 *
 * Exits 1 on the first failing operation.
 * Build: cc -static -nostdlib -no-pie -Os -ffreestanding -fno-stack-protector \
 *           -fno-asynchronous-unwind-tables -Wl,--build-id=none -s -o tiny tiny.c
 */
static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall"
                     : "=a"(r)
                     : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return r;
}

enum { SYS_write = 1, SYS_open = 2, SYS_exit = 60, SYS_mkdir = 83, SYS_rmdir = 84, SYS_unlink = 87 };

static unsigned long len(const char *s)
{
    unsigned long n = 0;
    while (s[n])
        n++;
    return n;
}

static int is_op(const char *a, char c)
{
    return a[0] == '-' && a[1] == c && a[2] == 0;
}

static long put(long fd, const char *text)
{
    return sys3(SYS_write, fd, (long)text, (long)len(text));
}

__attribute__((noreturn, used)) void tiny_main(long *sp);
__attribute__((noreturn, used)) void tiny_main(long *sp)
{
    long argc = sp[0], i, rc = 0;
    char **argv = (char **)(sp + 1);

    if (argc < 2)
        rc = put(1, "tiny was here\n") < 0;
    for (i = 1; i < argc && rc == 0; i++) {
        if (i + 1 < argc && is_op(argv[i], 'u'))
            rc = sys3(SYS_unlink, (long)argv[++i], 0, 0) < 0;
        else if (i + 1 < argc && is_op(argv[i], 'd'))
            rc = sys3(SYS_rmdir, (long)argv[++i], 0, 0) < 0;
        else if (i + 1 < argc && is_op(argv[i], 'm'))
            rc = sys3(SYS_mkdir, (long)argv[++i], 0755, 0) < 0;
        else {
            /* open(FILE, O_WRONLY|O_CREAT|O_TRUNC, 0644) */
            long fd = sys3(SYS_open, (long)argv[i], 01 | 0100 | 01000, 0644);
            const char *text = i + 1 < argc ? argv[++i] : "tiny was here\n";
            rc = fd < 0 || put(fd, text) < 0;
        }
    }
    sys3(SYS_exit, rc, 0, 0);
    for (;;) {
    }
}

__asm__(".globl _start\n"
        "_start:\n"
        "  mov %rsp, %rdi\n"
        "  and $-16, %rsp\n"
        "  call tiny_main\n");

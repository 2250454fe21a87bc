/* text.c — printable escaping of store bytes, human sizes and durations. */
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Length of a valid UTF-8 sequence at s (1-4), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n;
    unsigned min;
    unsigned cp;
    if ((s[0] & 0xE0) == 0xC0) { n = 2; cp = s[0] & 0x1F; min = 0x80; }
    else if ((s[0] & 0xF0) == 0xE0) { n = 3; cp = s[0] & 0x0F; min = 0x800; }
    else if ((s[0] & 0xF8) == 0xF0) { n = 4; cp = s[0] & 0x07; min = 0x10000; }
    else return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

char *text_escape(const char *s)
{
    if (!s)
        return NULL;
    size_t len = strlen(s);
    char *out = malloc(len * 4 + 1);
    if (!out)
        return NULL;
    const unsigned char *p = (const unsigned char *)s;
    char *w = out;
    while (*p) {
        size_t n = utf8_seq_len(p);
        if (n == 1 && *p >= 0x20 && *p != 0x7F && *p != '\\') {
            *w++ = (char)*p++;
        } else if (n == 2 && p[0] == 0xC2 && p[1] < 0xA0) {
            /* C1 controls (U+0080..U+009F, e.g. CSI) drive terminals too */
            w += sprintf(w, "\\x%02x\\x%02x", p[0], p[1]);
            p += 2;
        } else if (n > 1) {
            memcpy(w, p, n);
            w += n;
            p += n;
        } else if (*p == '\\') {
            *w++ = '\\';
            *w++ = '\\';
            p++;
        } else {
            w += sprintf(w, "\\x%02x", *p++);
        }
    }
    *w = '\0';
    return out;
}

const char *text_size(int64_t bytes, int exact, char *buf, size_t buflen)
{
    static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
    if (exact || bytes < 1024) {
        snprintf(buf, buflen, "%lld%s", (long long)bytes, exact ? "" : " B");
        return buf;
    }
    double v = (double)bytes;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, buflen, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
    return buf;
}

const char *text_duration(int64_t s, char *buf, size_t buflen)
{
    if (s == 0)
        snprintf(buf, buflen, "0");
    else if (s % 86400 == 0)
        snprintf(buf, buflen, "%lldd", (long long)(s / 86400));
    else if (s % 3600 == 0)
        snprintf(buf, buflen, "%lldh", (long long)(s / 3600));
    else if (s % 60 == 0)
        snprintf(buf, buflen, "%lldm", (long long)(s / 60));
    else
        snprintf(buf, buflen, "%llds", (long long)s);
    return buf;
}

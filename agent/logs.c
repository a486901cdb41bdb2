/*
 * DESIGN: container logs on disk and how they are read back.
 *
 * The shim (runtime.c) writes the CRI log format the kubelet uses
 * (kubernetes/cri-api, "CRI container logs"): one line per record,
 *   <RFC3339Nano timestamp> <stdout|stderr> <F|P> <content>
 * where P marks a partial line (a line longer than the shim's buffer is
 * split). Files are per container *run* (`<restartCount>.log`, so
 * `previous=true` is the file before), rotated once to `.log.1` past a size
 * cap: at most 2 × cap bytes per run are kept.
 *
 * Reading applies the pods/log options in Kubernetes's order: sinceSeconds
 * filters, tailLines keeps the last N of what is left, timestamps prefixes
 * each line, limitBytes cuts the result.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agent/agent_int.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/err.h"

#define LOG_READ_CAP (64LL << 20)

size_t agent_log_format_line(const char *in, size_t len, bool timestamps,
                             int64_t since_ns, struct buf *out)
{
    const char *nl = memchr(in, '\n', len), *sp1, *sp2, *sp3;
    size_t used;

    if (nl == NULL)
        return 0;
    used = (size_t)(nl - in) + 1;
    sp1 = memchr(in, ' ', (size_t)(nl - in));
    sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(nl - sp1 - 1)) : NULL;
    sp3 = sp2 ? memchr(sp2 + 1, ' ', (size_t)(nl - sp2 - 1)) : NULL;
    if (sp3 == NULL) {
        /* Not ours: pass it through as it is. */
        buf_append(out, in, used);
        return used;
    }
    if (since_ns > 0) {
        char ts[64];
        int64_t t = 0;
        size_t n = (size_t)(sp1 - in);
        if (n < sizeof ts) {
            memcpy(ts, in, n);
            ts[n] = '\0';
            if (clock_parse_rfc3339(ts, &t) == 0 && t < since_ns)
                return used;
        }
    }
    if (timestamps)
        buf_append(out, in, (size_t)(sp1 - in) + 1);
    buf_append(out, sp3 + 1, (size_t)(nl - sp3 - 1));
    if (sp2[1] != 'P')
        buf_append(out, "\n", 1);
    return used;
}

static int slurp(const char *path, struct buf *b, long long *ret_size)
{
    FILE *f = fopen(path, "re");
    char chunk[65536];
    size_t n;
    int rv = 0;

    if (f == NULL)
        return errno == ENOENT ? K1S_ENOTFOUND : err_from_errno(errno);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if ((long long)(b->len + n) > LOG_READ_CAP) {
            rv = K1S_ETOOLARGE;
            break;
        }
        rv = buf_append(b, chunk, n);
        if (rv != 0)
            break;
        if (ret_size)
            *ret_size += (long long)n;
    }
    fclose(f);
    return rv;
}

int agent_log_read(const char *log_path, const struct agent_log_opts *o,
                   struct buf *out, long long *ret_offset)
{
    struct buf raw, fmt;
    char old[PATH_MAX];
    long long cur = 0;
    size_t pos = 0, start = 0;
    long lines = 0;
    int rv;

    buf_init(&raw);
    buf_init(&fmt);
    snprintf(old, sizeof old, "%s.1", log_path);
    rv = slurp(old, &raw, NULL);
    if (rv != 0 && rv != K1S_ENOTFOUND)
        goto out;
    rv = slurp(log_path, &raw, &cur);
    if (rv != 0 && rv != K1S_ENOTFOUND)
        goto out;
    rv = 0;
    if (ret_offset)
        *ret_offset = cur;
    /* Format everything that passes sinceSeconds, then keep the tail. */
    while (pos < raw.len) {
        size_t u = agent_log_format_line(raw.data + pos, raw.len - pos,
                                         o->timestamps, o->since_ns, &fmt);
        if (u == 0)
            break;
        pos += u;
    }
    if (o->tail_lines >= 0) {
        start = fmt.len;
        while (start > 0) {
            size_t i = start - 1;
            /* the newline that ends the line before this one */
            while (i > 0 && fmt.data[i - 1] != '\n')
                i--;
            if (lines >= o->tail_lines)
                break;
            lines++;
            start = i;
        }
    }
    {
        size_t n = fmt.len - start;
        if (o->limit_bytes > 0 && (long long)n > o->limit_bytes)
            n = (size_t)o->limit_bytes;
        if (n > 0)
            rv = buf_append(out, fmt.data + start, n);
    }
out:
    buf_close(&raw);
    buf_close(&fmt);
    return rv;
}

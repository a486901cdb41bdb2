/*
 * DESIGN: the transport-neutral request: query parsing (URL-decoded, '+'
 * as space, as Go's url.Values), Python-style booleans ("True"), and the
 * helpers every handler uses to read it.
 */
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

#include "apiserver/api_int.h"
#include "lib/err.h"

void api_req_clear(struct api_req *r)
{
    for (size_t i = 0; i < r->nquery; i++) {
        free(r->query[i].key);
        free(r->query[i].val);
    }
    r->nquery = 0;
    free(r->path);
    r->path = NULL;
}

void api_resp_clear(struct api_resp *o)
{
    json_decref(o->json);
    free(o->text);
    if (o->watcher)
        api_watcher_destroy(o->watcher);
    if (o->log)
        api_logstream_destroy(o->log);
    memset(o, 0, sizeof *o);
}

const char *api_query(const struct api_req *r, const char *key)
{
    for (size_t i = 0; i < r->nquery; i++)
        if (strcmp(r->query[i].key, key) == 0)
            return r->query[i].val;
    return NULL;
}

bool api_query_bool(const struct api_req *r, const char *key)
{
    const char *v = api_query(r, key);

    return v && (strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static char *url_decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *w = out;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+')
            *w++ = ' ';
        else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
                 hexval(s[i + 2]) >= 0) {
            *w++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else
            *w++ = s[i];
    }
    *w = '\0';
    return out;
}

int api_req_parse_query(struct api_req *r, const char *qs)
{
    while (qs && *qs) {
        const char *amp = strchr(qs, '&');
        size_t n = amp ? (size_t)(amp - qs) : strlen(qs);
        const char *eq = memchr(qs, '=', n);
        if (n > 0) {
            if (r->nquery >= API_QUERY_MAX)
                return K1S_EBADREQ;
            size_t kn = eq ? (size_t)(eq - qs) : n;
            r->query[r->nquery].key = url_decode(qs, kn);
            r->query[r->nquery].val =
                eq ? url_decode(eq + 1, n - kn - 1) : strdup("");
            r->nquery++;
        }
        qs = amp ? amp + 1 : NULL;
    }
    return 0;
}

void api_uuid(char *out)
{
    unsigned char b[16];
    /* getrandom(2): one system call, no file descriptor (opening
     * /dev/urandom on every create was 4% of the create path). */
    ssize_t n = getrandom(b, sizeof b, 0);

    if (n != (ssize_t)sizeof b) {
        /* Should not happen; fall back to a weaker source, never a
         * constant. */
        for (size_t i = 0; i < sizeof b; i++)
            b[i] = (unsigned char)(rand() & 0xff);
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x"
             "%02x",
             b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10],
             b[11], b[12], b[13], b[14], b[15]);
}

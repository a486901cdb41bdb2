#include "lib/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"

void buf_init(struct buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_close(struct buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    buf_init(b);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

int buf_reserve(struct buf *b, size_t extra)
{
    size_t need = b->len + extra + 1, cap = b->cap ? b->cap : 64;
    char *p;

    if (need < b->len) /* overflow */
        return K1S_ENOMEM;
    if (need <= b->cap)
        return 0;
    while (cap < need)
        cap = cap * 2 > cap ? cap * 2 : need;
    p = realloc(b->data, cap);
    if (p == NULL)
        return K1S_ENOMEM;
    if (b->data == NULL)
        p[0] = '\0';
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *data, size_t len)
{
    int rv = buf_reserve(b, len);
    if (rv != 0)
        return rv;
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n, rv;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return K1S_EINVAL;
    rv = buf_reserve(b, (size_t)n);
    if (rv != 0)
        return rv;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *buf_steal(struct buf *b, size_t *ret_len)
{
    char *p;
    if (b->data == NULL && buf_reserve(b, 0) != 0)
        return NULL;
    if (b->data == NULL)
        return NULL;
    p = b->data;
    b->data[b->len] = '\0';
    if (ret_len)
        *ret_len = b->len;
    buf_init(b);
    return p;
}

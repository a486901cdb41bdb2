/*
 * buf — a growable byte buffer, always NUL-terminated.
 *
 * Caller-allocated (buf_init/buf_close). Not thread-safe: one owner at a
 * time. Appending never fails silently: on allocation failure the buffer
 * keeps its old contents and the call returns K1S_ENOMEM.
 */
#ifndef K1S_LIB_BUF_H
#define K1S_LIB_BUF_H

#include <stddef.h>

struct buf {
    char *data; /* NUL-terminated; NULL until the first append */
    size_t len;
    size_t cap;
};

void buf_init(struct buf *b);
/* Frees the storage; the buffer may be reused after buf_init. NULL ok. */
void buf_close(struct buf *b);
void buf_reset(struct buf *b); /* len = 0, storage kept */

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *data, size_t len);
int buf_append_str(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands the storage to the caller (free() it); the buffer is left empty.
 * Returns "" (heap-allocated) for an empty buffer, NULL on ENOMEM. */
char *buf_steal(struct buf *b, size_t *ret_len);

#endif

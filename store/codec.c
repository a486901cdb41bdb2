/*
 * DESIGN: the encoding of a store write inside a log entry's data. Fixed
 * little-endian layout, versioned by its first byte so that a later format
 * can be told apart:
 *
 *   u8 version (1) | u8 op | u32 keylen | key | i64 expect_rev |
 *   u32 vlen | value
 *
 * The decoder checks every length against the buffer: a log entry is
 * checksummed, but a decoder never trusts its input.
 */
#include <string.h>

#include "lib/err.h"
#include "store/store_int.h"

#define CMD_VERSION 1

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

size_t store_cmd_size(const struct store_cmd *c)
{
    return 1 + 1 + 4 + c->keylen + 8 + 4 + c->vlen;
}

void store_cmd_encode(const struct store_cmd *c, uint8_t *out)
{
    uint8_t *p = out;

    *p++ = CMD_VERSION;
    *p++ = c->op;
    put_u32(p, (uint32_t)c->keylen);
    p += 4;
    memcpy(p, c->key, c->keylen);
    p += c->keylen;
    put_u64(p, (uint64_t)c->expect_rev);
    p += 8;
    put_u32(p, (uint32_t)c->vlen);
    p += 4;
    if (c->vlen > 0)
        memcpy(p, c->value, c->vlen);
}

int store_cmd_decode(const void *data, size_t len, struct store_cmd *ret)
{
    const uint8_t *p = data;
    size_t off = 0;
    uint32_t n;

    if (len < 1 + 1 + 4 + 8 + 4 || p[0] != CMD_VERSION)
        return K1S_ECORRUPT;
    ret->op = p[1];
    if (ret->op < STORE_OP_CREATE || ret->op > STORE_OP_DELETE)
        return K1S_ECORRUPT;
    n = get_u32(p + 2);
    off = 6;
    if (n == 0 || n > STORE_MAX_KEY || n > len - off - 12)
        return K1S_ECORRUPT;
    ret->key = (const char *)p + off;
    ret->keylen = n;
    off += n;
    ret->expect_rev = (int64_t)get_u64(p + off);
    off += 8;
    n = get_u32(p + off);
    off += 4;
    if (n != len - off || n > STORE_MAX_VALUE)
        return K1S_ECORRUPT;
    ret->value = p + off;
    ret->vlen = n;
    return 0;
}

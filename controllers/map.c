/*
 * DESIGN: a string-keyed hash map with separate chaining (FNV-1a), doubling
 * when the load passes 1. Keys are copied; values are the caller's. Used
 * for informer stores, work-queue sets and the scheduler's node cache, so
 * lookups stay O(1) with tens of thousands of pods.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/controllers.h"
#include "lib/err.h"

struct map_entry {
    struct map_entry *next;
    uint32_t hash;
    void *val;
    char key[];
};

struct ctrl_map {
    struct map_entry **slots;
    size_t nslots;
    size_t len;
};

static uint32_t hash_str(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 16777619u;
    }
    return h;
}

struct ctrl_map *ctrl_map_create(void)
{
    struct ctrl_map *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->nslots = 16;
    m->slots = calloc(m->nslots, sizeof *m->slots);
    if (m->slots == NULL) {
        free(m);
        return NULL;
    }
    return m;
}

void ctrl_map_destroy(struct ctrl_map *m, void (*free_cb)(void *))
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->nslots; i++) {
        struct map_entry *e = m->slots[i], *next;
        for (; e; e = next) {
            next = e->next;
            if (free_cb)
                free_cb(e->val);
            free(e);
        }
    }
    free(m->slots);
    free(m);
}

static struct map_entry **find(const struct ctrl_map *m, const char *key,
                               uint32_t h)
{
    struct map_entry **pp = &m->slots[h & (m->nslots - 1)];
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
            return pp;
    return pp;
}

void *ctrl_map_get(const struct ctrl_map *m, const char *key)
{
    struct map_entry **pp = find(m, key, hash_str(key));
    return *pp ? (*pp)->val : NULL;
}

static void grow(struct ctrl_map *m)
{
    size_t n = m->nslots * 2;
    struct map_entry **slots = calloc(n, sizeof *slots);
    if (slots == NULL)
        return; /* stays correct, only slower */
    for (size_t i = 0; i < m->nslots; i++) {
        struct map_entry *e = m->slots[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = slots[e->hash & (n - 1)];
            slots[e->hash & (n - 1)] = e;
        }
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = n;
}

int ctrl_map_put(struct ctrl_map *m, const char *key, void *val, void **ret_old)
{
    uint32_t h = hash_str(key);
    struct map_entry **pp = find(m, key, h), *e;
    size_t klen;

    if (*pp) {
        if (ret_old)
            *ret_old = (*pp)->val;
        (*pp)->val = val;
        return 0;
    }
    klen = strlen(key);
    e = malloc(sizeof *e + klen + 1);
    if (e == NULL)
        return K1S_ENOMEM;
    memcpy(e->key, key, klen + 1);
    e->hash = h;
    e->val = val;
    e->next = NULL;
    *pp = e;
    m->len++;
    if (ret_old)
        *ret_old = NULL;
    if (m->len > m->nslots)
        grow(m);
    return 0;
}

void *ctrl_map_del(struct ctrl_map *m, const char *key)
{
    struct map_entry **pp = find(m, key, hash_str(key)), *e = *pp;
    void *val;

    if (e == NULL)
        return NULL;
    *pp = e->next;
    val = e->val;
    free(e);
    m->len--;
    return val;
}

size_t ctrl_map_len(const struct ctrl_map *m)
{
    return m->len;
}

void ctrl_map_each(const struct ctrl_map *m,
                   int (*cb)(const char *key, void *val, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nslots; i++)
        for (struct map_entry *e = m->slots[i]; e; e = e->next)
            if (cb(e->key, e->val, arg) != 0)
                return;
}

/*
 * DESIGN: Kubernetes strategic merge patch, as the API server applies it
 * (sigs.k8s.io/.../strategicpatch mergeMap with MergeParallelList and
 * IgnoreUnmatchedNulls, the options of a server-side PATCH).
 *
 * smp_map(original, patch, type) builds a new map:
 *   1. "$patch": "replace" → the patch itself (its directives applied to
 *      nothing); "delete" → {}; "merge" → an ordinary merge.
 *   2. "$retainKeys": [...] drops every original key not listed.
 *   3. "$setElementOrder/<list>": merges the list with patch[<list>] (if
 *      any) and orders the result by the directive.
 *   4. every other key: null deletes; a map merges recursively (unless the
 *      field's strategy is replace); a list with strategy "merge" merges by
 *      the field's merge key (a list of primitives is a set union); any
 *      other value replaces.
 *   5. "$deleteFromPrimitiveList/<list>": [...] removes those values.
 * smp_list(original, patch, field) for merge lists: items carrying
 * {"$patch": "delete", key: v} remove the originals with that key,
 * {"$patch": "replace"} makes the list exactly the patch's items, other
 * items merge into the original with the same key or are appended.
 *
 * Ordering follows the "preserve order in strategic merge patch" design:
 * items named by the patch (or by $setElementOrder) come in the patch's
 * order, items only on the server keep theirs, and the two sequences are
 * interleaved by their positions in the live list (mergeSortedSlice).
 * Items are identified by a "key string" of their merge-key value (or of
 * the primitive itself), so the lookups are hash lookups in a jansson
 * object and a merge is linear in the sizes of the lists.
 *
 * Inputs are never modified; nesting is checked once against
 * API_PATCH_MAX_DEPTH before anything recurses, and lists longer than
 * API_SMP_MAX_LIST items are refused.
 */
#include "apiserver/patch.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/patch_int.h"
#include "lib/buf.h"
#include "lib/err.h"

#define API_SMP_MAX_LIST 100000

#define ORDER_PREFIX "$setElementOrder/"
#define DELETE_PREFIX "$deleteFromPrimitiveList/"

struct smp {
    char *errbuf;
    size_t errlen;
};

static int smp_map(struct smp *c, const json_t *orig, const json_t *patch,
                   const struct api_smp_type *type, json_t **ret);

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* A string identifying a key value: equal values (1 and 1.0 too) give
 * equal strings. Written into b (reset first). */
static int key_string(const json_t *v, struct buf *b)
{
    double d;
    char *s;
    int rv;

    buf_reset(b);
    switch (json_typeof(v)) {
    case JSON_STRING:
        rv = buf_append_str(b, "s");
        return rv ? rv
                  : buf_append(b, json_string_value(v),
                               strlen(json_string_value(v)));
    case JSON_INTEGER:
        return buf_printf(b, "n%" JSON_INTEGER_FORMAT, json_integer_value(v));
    case JSON_REAL:
        d = json_real_value(v);
        if (d == floor(d) && fabs(d) < 9e18)
            return buf_printf(b, "n%lld", (long long)d);
        return buf_printf(b, "r%.17g", d);
    case JSON_TRUE:
        return buf_append_str(b, "t");
    case JSON_FALSE:
        return buf_append_str(b, "f");
    case JSON_NULL:
        return buf_append_str(b, "z");
    default:
        s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        if (s == NULL)
            return K1S_ENOMEM;
        rv = buf_printf(b, "o%s", s);
        free(s);
        return rv;
    }
}

/* The key string of a list item: its merge key's value (key != NULL) or
 * the item itself. Returns 1 if the item has no key (never matches). */
static int item_key(const json_t *item, const char *key, struct buf *b)
{
    const json_t *v = key ? json_object_get(item, key) : item;
    if (v == NULL)
        return 1;
    return key_string(v, b);
}

/* index[keystr] = first position in list[0, n), for keyed items. */
static int build_index(const json_t *list, size_t n, const char *key,
                       json_t **ret)
{
    json_t *idx = json_object();
    struct buf b;
    int rv = 0;

    if (idx == NULL)
        return K1S_ENOMEM;
    buf_init(&b);
    for (size_t i = 0; i < n && rv >= 0; i++) {
        rv = item_key(json_array_get(list, i), key, &b);
        if (rv == 0 && json_object_get(idx, b.data) == NULL &&
            json_object_set_new(idx, b.data, json_integer((json_int_t)i)))
            rv = K1S_ENOMEM;
    }
    buf_close(&b);
    if (rv < 0) {
        json_decref(idx);
        return rv;
    }
    *ret = idx;
    return 0;
}

/* Position of item in an index, -1 if absent. */
static long long lookup(const json_t *idx, const json_t *item, const char *key,
                        struct buf *b)
{
    const json_t *v;

    if (item_key(item, key, b) != 0)
        return -1;
    v = json_object_get(idx, b->data);
    return v ? (long long)json_integer_value(v) : -1;
}

struct ranked {
    json_t *item;   /* borrowed from the merged list */
    long long rank; /* position in the order list (patch items) or in the
                       live list (server-only items; -1 if not there) */
    size_t pos;     /* position in the merged list: stable tie-break */
    long long live; /* patch items: position in the live list, or -1 */
};

static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* normalizeElementOrder + mergeSortedSlice: items of `merged` named in
 * `order` come in that order; the others keep their place; both are
 * interleaved by their positions in merged[0, nserver) (the live list). */
static int order_list(const json_t *merged, size_t nserver, const json_t *order,
                      const char *key, json_t **ret)
{
    size_t n = json_array_size(merged), np = 0, ns = 0, i, j;
    json_t *oidx = NULL, *sidx = NULL, *res = NULL;
    struct ranked *pitems = NULL, *sitems = NULL;
    struct buf b;
    int rv;

    buf_init(&b);
    rv = build_index(order, json_array_size(order), key, &oidx);
    if (rv == 0)
        rv = build_index(merged, nserver, key, &sidx);
    if (rv != 0)
        goto out;
    pitems = calloc(n + 1, sizeof *pitems);
    sitems = calloc(n + 1, sizeof *sitems);
    res = json_array();
    if (pitems == NULL || sitems == NULL || res == NULL) {
        rv = K1S_ENOMEM;
        goto out;
    }
    for (i = 0; i < n; i++) {
        json_t *it = json_array_get(merged, i);
        long long r = lookup(oidx, it, key, &b);
        long long s = lookup(sidx, it, key, &b);
        if (r >= 0)
            pitems[np++] = (struct ranked){it, r, i, s};
        else
            sitems[ns++] = (struct ranked){it, s, i, -1};
    }
    qsort(pitems, np, sizeof *pitems, cmp_ranked);
    for (i = 0, j = 0; i < ns || j < np;) {
        json_t *pick;
        if (i >= ns) {
            pick = pitems[j++].item;
        } else if (j >= np) {
            pick = sitems[i++].item;
        } else if (sitems[i].rank >= 0 && pitems[j].live >= 0 &&
                   sitems[i].rank < pitems[j].live) {
            pick = sitems[i++].item;
        } else {
            pick = pitems[j++].item;
        }
        if (json_array_append(res, pick) != 0) {
            rv = K1S_ENOMEM;
            goto out;
        }
    }
    *ret = res;
    res = NULL;
out:
    json_decref(res);
    json_decref(oidx);
    json_decref(sidx);
    free(pitems);
    free(sitems);
    buf_close(&b);
    return rv;
}

static int nomem(struct smp *c)
{
    return api_patch_fail(c->errbuf, c->errlen, K1S_ENOMEM,
                          "strategic merge patch: out of memory");
}

/* A list of primitives with strategy merge: set union, then ordered. */
static int merge_primitives(struct smp *c, const json_t *orig,
                            const json_t *patch, const json_t *order,
                            json_t **ret)
{
    json_t *merged = json_array(), *seen = json_object(), *v;
    const json_t *lists[2] = {orig, patch};
    struct buf b;
    size_t i;
    int rv = 0;

    buf_init(&b);
    if (merged == NULL || seen == NULL) {
        rv = nomem(c);
        goto out;
    }
    for (int l = 0; l < 2 && rv == 0; l++) {
        json_array_foreach (lists[l], i, v) {
            if (key_string(v, &b) != 0 ||
                (json_object_get(seen, b.data) == NULL &&
                 (json_object_set_new(seen, b.data, json_true()) != 0 ||
                  json_array_append_new(merged, json_deep_copy(v)) != 0))) {
                rv = nomem(c);
                break;
            }
        }
    }
    if (rv == 0 &&
        order_list(merged, json_array_size(orig), order, NULL, ret) != 0)
        rv = nomem(c);
out:
    json_decref(merged);
    json_decref(seen);
    buf_close(&b);
    return rv;
}

/* mergeSlice for a list of maps with merge key f->merge_key. */
static int merge_maps(struct smp *c, const json_t *orig, const json_t *patch,
                      const struct api_smp_field *f, const json_t *order,
                      json_t **ret)
{
    const char *key = f->merge_key;
    json_t *work = NULL, *deleted = NULL, *idx = NULL, *items = NULL, *e;
    json_t *res;
    bool replace = false;
    struct buf b;
    size_t i, nserver;
    int rv = 0;

    buf_init(&b);
    deleted = json_object();
    work = json_array();
    items = json_array(); /* the patch's ordinary items */
    if (deleted == NULL || work == NULL || items == NULL) {
        rv = nomem(c);
        goto out;
    }
    /* mergeSliceWithSpecialElements */
    json_array_foreach (patch, i, e) {
        const json_t *d = json_object_get(e, "$patch");
        const char *ds = json_string_value(d);
        if (d == NULL || (ds && strcmp(ds, "merge") == 0)) {
            if (json_object_get(e, key) == NULL) {
                char *s = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
                rv = api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                                    "map: %.200s does not contain declared "
                                    "merge key: %s",
                                    s ? s : "?", key);
                free(s);
                goto out;
            }
            if (json_array_append(items, e) != 0) {
                rv = nomem(c);
                goto out;
            }
        } else if (ds && strcmp(ds, "replace") == 0) {
            replace = true;
        } else if (ds && strcmp(ds, "delete") == 0) {
            const json_t *kv = json_object_get(e, key);
            if (kv == NULL) {
                rv = api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                                    "delete directive in list %s does not "
                                    "contain declared merge key: %s",
                                    f->name, key);
                goto out;
            }
            if (key_string(kv, &b) != 0 ||
                json_object_set_new(deleted, b.data, json_true()) != 0) {
                rv = nomem(c);
                goto out;
            }
        } else {
            rv = api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                                "unknown patch type: %s in list %s",
                                ds ? ds : "(not a string)", f->name);
            goto out;
        }
    }
    if (!replace) {
        json_array_foreach (orig, i, e) {
            if (item_key(e, key, &b) == 0 &&
                json_object_get(deleted, b.data) != NULL)
                continue;
            if (json_array_append_new(work, json_deep_copy(e)) != 0) {
                rv = nomem(c);
                goto out;
            }
        }
    }
    nserver = json_array_size(work);
    rv = build_index(work, nserver, key, &idx);
    if (rv != 0) {
        rv = nomem(c);
        goto out;
    }
    /* mergeSliceWithoutSpecialElements */
    json_array_foreach (items, i, e) {
        long long at = lookup(idx, e, key, &b);
        json_t *merged;
        rv = smp_map(c, at >= 0 ? json_array_get(work, (size_t)at) : NULL, e,
                     f->type, &merged);
        if (rv != 0)
            goto out;
        if (at >= 0) {
            rv = json_array_set_new(work, (size_t)at, merged);
        } else {
            rv = json_array_append_new(work, merged);
            if (rv == 0 && item_key(e, key, &b) == 0)
                rv = json_object_set_new(
                    idx, b.data,
                    json_integer((json_int_t)json_array_size(work) - 1));
        }
        if (rv != 0) {
            rv = nomem(c);
            goto out;
        }
    }
    if (order_list(work, nserver, order ? order : items, key, &res) != 0) {
        rv = nomem(c);
        goto out;
    }
    *ret = res;
out:
    json_decref(work);
    json_decref(deleted);
    json_decref(idx);
    json_decref(items);
    buf_close(&b);
    return rv;
}

/* mergeSlice: a list field with strategy merge. orig may be NULL; order is
 * the $setElementOrder list or NULL. */
static int smp_list(struct smp *c, const json_t *orig, const json_t *patch,
                    const struct api_smp_field *f, const json_t *order,
                    json_t **ret)
{
    const json_t *lists[3] = {orig, patch, order};
    bool maps = false, prims = false;
    json_t *e, *empty = NULL;
    size_t i;
    int rv;

    for (int l = 0; l < 3; l++) {
        if (json_array_size(lists[l]) > API_SMP_MAX_LIST)
            return api_patch_fail(c->errbuf, c->errlen, K1S_EINVALID,
                                  "list %s has more than %d items", f->name,
                                  API_SMP_MAX_LIST);
        json_array_foreach (lists[l], i, e) {
            if (json_is_object(e))
                maps = true;
            else
                prims = true;
        }
    }
    if (maps && prims)
        return api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                              "strategic merge patch: list %s mixes maps and "
                              "other values",
                              f->name);
    if (json_array_size(orig) == 0 && json_array_size(patch) == 0) {
        *ret = orig ? json_deep_copy(orig) : json_array();
        return *ret ? 0 : nomem(c);
    }
    if (orig == NULL)
        orig = empty = json_array();
    if (empty == NULL && orig == NULL)
        return nomem(c);
    if (!maps) {
        rv = merge_primitives(c, orig, patch, order ? order : patch, ret);
    } else if (f->merge_key == NULL) {
        rv = api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                            "cannot merge lists without merge key for %s",
                            f->name);
    } else {
        rv = merge_maps(c, orig, patch, f, order, ret);
    }
    json_decref(empty);
    return rv;
}

/* The new value of one field: orig (may be NULL) patched with v. */
static int smp_value(struct smp *c, const json_t *orig, const json_t *v,
                     const struct api_smp_field *f, json_t **ret)
{
    unsigned strategy = f ? f->strategy : API_SMP_NONE;
    const struct api_smp_type *sub = f ? f->type : NULL;

    if (json_is_object(v)) {
        if ((strategy & API_SMP_REPLACE) || !json_is_object(orig))
            orig = NULL;
        return smp_map(c, orig, v, sub, ret);
    }
    if (json_is_array(v) && (strategy & API_SMP_MERGE))
        return smp_list(c, json_is_array(orig) ? orig : NULL, v, f, NULL, ret);
    *ret = json_deep_copy(v);
    return *ret ? 0 : nomem(c);
}

/* True if patch carries key `prefix``name`. */
static const json_t *directive_for(const json_t *patch, const char *prefix,
                                   const char *name)
{
    size_t pl = strlen(prefix), nl = strlen(name);
    char *k = malloc(pl + nl + 1);
    const json_t *v;

    if (k == NULL)
        return NULL;
    memcpy(k, prefix, pl);
    memcpy(k + pl, name, nl + 1);
    v = json_object_get(patch, k);
    free(k);
    return v;
}

static int apply_retain_keys(struct smp *c, json_t *res, const json_t *keep)
{
    const char *k;
    json_t *v, *e;
    void *tmp;
    size_t i;

    if (!json_is_null(keep) && !json_is_array(keep))
        return api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                              "$retainKeys must be a list of strings");
    json_array_foreach (keep, i, e)
        if (!json_is_string(e))
            return api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                                  "$retainKeys must be a list of strings");
    json_object_foreach_safe (res, tmp, k, v) {
        bool kept = false;
        json_array_foreach (keep, i, e)
            if (strcmp(json_string_value(e), k) == 0)
                kept = true;
        if (!kept)
            json_object_del(res, k);
    }
    return 0;
}

/* $deleteFromPrimitiveList/<name>: removes the listed values. */
static int delete_from_list(struct smp *c, json_t *res, const char *name,
                            const json_t *what)
{
    json_t *list = json_object_get(res, name), *kept, *e, *w;
    size_t i, j;

    if (!json_is_array(what))
        return api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                              "%s%s must be a list", DELETE_PREFIX, name);
    if (!json_is_array(list))
        return 0;
    kept = json_array();
    if (kept == NULL)
        return nomem(c);
    json_array_foreach (list, i, e) {
        bool drop = false;
        json_array_foreach (what, j, w)
            if (json_equal(e, w))
                drop = true;
        if (!drop && json_array_append(kept, e) != 0) {
            json_decref(kept);
            return nomem(c);
        }
    }
    if (json_object_set_new(res, name, kept) != 0)
        return nomem(c);
    return 0;
}

static int smp_map(struct smp *c, const json_t *orig, const json_t *patch,
                   const struct api_smp_type *type, json_t **ret)
{
    const json_t *d = json_object_get(patch, "$patch"), *keep;
    const char *k;
    json_t *v, *res, *nv;
    int rv;

    if (d != NULL) {
        const char *ds = json_string_value(d);
        if (ds != NULL && strcmp(ds, "replace") == 0) {
            json_t *bare = json_copy((json_t *)patch);
            if (bare == NULL)
                return nomem(c);
            json_object_del(bare, "$patch");
            rv = smp_map(c, NULL, bare, type, ret);
            json_decref(bare);
            return rv;
        }
        if (ds != NULL && strcmp(ds, "delete") == 0) {
            *ret = json_object();
            return *ret ? 0 : nomem(c);
        }
        if (ds == NULL || strcmp(ds, "merge") != 0)
            return api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                                  "unknown patch type: %s in map",
                                  ds ? ds : "(not a string)");
    }
    res = json_is_object(orig) ? json_deep_copy(orig) : json_object();
    if (res == NULL)
        return nomem(c);

    keep = json_object_get(patch, "$retainKeys");
    if (keep != NULL && (rv = apply_retain_keys(c, res, keep)) != 0)
        goto err_after_res;

    /* $setElementOrder/<list>: merge that list and order it */
    json_object_foreach ((json_t *)patch, k, v) {
        const char *name;
        const json_t *plist;
        const struct api_smp_field *f;

        if (!has_prefix(k, ORDER_PREFIX))
            continue;
        name = k + strlen(ORDER_PREFIX);
        if (!json_is_array(v)) {
            rv = api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                                "%s must be a list", k);
            goto err_after_res;
        }
        plist = json_object_get(patch, name);
        if (json_is_null(plist))
            continue; /* the list is deleted below */
        if (plist != NULL && !json_is_array(plist)) {
            rv = api_patch_fail(c->errbuf, c->errlen, K1S_EBADREQ,
                                "%s is not a list but has %s", name, k);
            goto err_after_res;
        }
        f = api_smp_lookup(type, name);
        if (f == NULL || !(f->strategy & API_SMP_MERGE)) {
            /* no merge strategy: the patch list (if any) replaces */
            if (plist != NULL &&
                json_object_set_new(res, name, json_deep_copy(plist)) != 0) {
                rv = nomem(c);
                goto err_after_res;
            }
            continue;
        }
        {
            json_t *empty = json_array();
            const json_t *ol = json_object_get(res, name);
            if (empty == NULL) {
                rv = nomem(c);
                goto err_after_res;
            }
            rv = smp_list(c, json_is_array(ol) ? ol : NULL,
                          plist ? plist : empty, f, v, &nv);
            json_decref(empty);
        }
        if (rv != 0)
            goto err_after_res;
        if (json_object_set_new(res, name, nv) != 0) {
            rv = nomem(c);
            goto err_after_res;
        }
    }

    json_object_foreach ((json_t *)patch, k, v) {
        const json_t *order;

        if (k[0] == '$' &&
            (strcmp(k, "$patch") == 0 || strcmp(k, "$retainKeys") == 0 ||
             has_prefix(k, ORDER_PREFIX) || has_prefix(k, DELETE_PREFIX)))
            continue;
        if (json_is_null(v)) {
            json_object_del(res, k);
            continue;
        }
        order = directive_for(patch, ORDER_PREFIX, k);
        if (json_is_array(order) && json_is_array(v))
            continue; /* merged with its $setElementOrder above */
        rv = smp_value(c, json_object_get(res, k), v, api_smp_lookup(type, k),
                       &nv);
        if (rv != 0)
            goto err_after_res;
        if (json_object_set_new(res, k, nv) != 0) {
            rv = nomem(c);
            goto err_after_res;
        }
    }

    json_object_foreach ((json_t *)patch, k, v) {
        if (!has_prefix(k, DELETE_PREFIX))
            continue;
        rv = delete_from_list(c, res, k + strlen(DELETE_PREFIX), v);
        if (rv != 0)
            goto err_after_res;
    }
    *ret = res;
    return 0;

err_after_res:
    json_decref(res);
    return rv;
}

int api_strategic_merge_patch(const json_t *doc, const json_t *patch,
                              const char *api_version, const char *kind,
                              json_t **ret, char *errbuf, size_t errlen)
{
    struct smp c = {errbuf, errlen};

    if (!json_is_object(patch))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "strategic merge patch must be a JSON object");
    if (api_json_too_deep(doc, API_PATCH_MAX_DEPTH) ||
        api_json_too_deep(patch, API_PATCH_MAX_DEPTH))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "strategic merge patch: nesting deeper than "
                              "%d levels",
                              API_PATCH_MAX_DEPTH);
    return smp_map(&c, json_is_object(doc) ? doc : NULL, patch,
                   api_smp_kind_type(api_version, kind), ret);
}

/*
 * DESIGN: RFC 7386 JSON merge patch as the API server's library applies it
 * (evanphx/json-patch v4 MergePatch, checked against `kubectl patch --local
 * --type merge`), plus the helpers the patch_*.c files share. Beyond the
 * RFC: nulls inside a value that has nothing to merge into are dropped at
 * every depth, and a top-level patch that is not an object or an array is
 * refused. The merge is written functionally: merge(target, patch) builds a
 * new value from a borrowed target and a borrowed patch, so neither input
 * is ever modified and a failure half-way leaves nothing to undo but the
 * partial result. Depth is checked before any recursion starts
 * (api_json_too_deep), so the recursion below is bounded by
 * API_PATCH_MAX_DEPTH.
 */
#include "apiserver/patch.h"

#include <stdarg.h>
#include <stdio.h>

#include "apiserver/patch_int.h"
#include "lib/err.h"

int api_patch_fail(char *errbuf, size_t errlen, int rv, const char *fmt, ...)
{
    va_list ap;

    if (errbuf != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rv;
}

static bool too_deep(const json_t *v, int left)
{
    const char *k;
    json_t *child;
    size_t i;

    if (!json_is_object(v) && !json_is_array(v))
        return false;
    if (left <= 0)
        return true;
    if (json_is_object(v)) {
        json_object_foreach ((json_t *)v, k, child)
            if (too_deep(child, left - 1))
                return true;
    } else {
        json_array_foreach (v, i, child)
            if (too_deep(child, left - 1))
                return true;
    }
    return false;
}

bool api_json_too_deep(const json_t *v, int max)
{
    return v != NULL && too_deep(v, max);
}

/* pruneNulls: a patch value with nothing to merge into loses its null
 * members, at any depth (array items are kept, their members pruned). */
static json_t *prune(const json_t *v)
{
    const char *k;
    json_t *x, *res, *sub;
    size_t i;

    if (json_is_object(v)) {
        res = json_object();
        json_object_foreach ((json_t *)v, k, x) {
            if (res == NULL)
                break;
            if (json_is_null(x))
                continue;
            sub = prune(x);
            if (sub == NULL || json_object_set_new(res, k, sub) != 0) {
                json_decref(res);
                res = NULL;
            }
        }
        return res;
    }
    if (json_is_array(v)) {
        res = json_array();
        json_array_foreach (v, i, x) {
            if (res == NULL)
                break;
            sub = prune(x);
            if (sub == NULL || json_array_append_new(res, sub) != 0) {
                json_decref(res);
                res = NULL;
            }
        }
        return res;
    }
    return json_deep_copy(v);
}

/* RFC 7386 §2 MergePatch(Target, Patch) as evanphx/json-patch's
 * mergeDocs/merge do it: a value merged into a non-object is pruned of
 * nulls, a non-object value merged into an object replaces it as sent. */
static json_t *merge(const json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v, *res, *sub;

    if (!json_is_object(target))
        return prune(patch);
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    res = json_object();
    if (res == NULL)
        return NULL;
    json_object_foreach ((json_t *)target, k, v) {
        if (json_object_get(patch, k) != NULL)
            continue; /* decided by the patch below */
        if (json_object_set_new(res, k, json_deep_copy(v)) != 0)
            goto err_after_res;
    }
    json_object_foreach ((json_t *)patch, k, v) {
        if (json_is_null(v))
            continue; /* deletes the key */
        sub = merge(json_object_get(target, k), v);
        if (sub == NULL || json_object_set_new(res, k, sub) != 0)
            goto err_after_res;
    }
    return res;

err_after_res:
    json_decref(res);
    return NULL;
}

int api_merge_patch(const json_t *doc, const json_t *patch, json_t **ret,
                    char *errbuf, size_t errlen)
{
    json_t *res;

    /* a patch that is not an object or an array is "Invalid JSON Patch"
     * for the library; an array is the (pruned) result itself */
    if (!json_is_object(patch) && !json_is_array(patch))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "Invalid JSON Patch");
    if (api_json_too_deep(doc, API_PATCH_MAX_DEPTH) ||
        api_json_too_deep(patch, API_PATCH_MAX_DEPTH))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "merge patch: nesting deeper than %d levels",
                              API_PATCH_MAX_DEPTH);
    res = json_is_array(patch) ? prune(patch) : merge(doc, patch);
    if (res == NULL)
        return api_patch_fail(errbuf, errlen, K1S_ENOMEM,
                              "merge patch: out of memory");
    *ret = res;
    return 0;
}

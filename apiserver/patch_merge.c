/*
 * DESIGN: RFC 7386 JSON merge patch, plus the helpers the patch_*.c files
 * share. The merge is written functionally: merge(target, patch) builds a
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

/* RFC 7386 §2 MergePatch(Target, Patch); target may be NULL (absent). */
static json_t *merge(const json_t *target, const json_t *patch)
{
    const char *k;
    json_t *v, *res, *sub;

    if (!json_is_object(patch))
        return json_deep_copy(patch);
    res = json_object();
    if (res == NULL)
        return NULL;
    if (json_is_object(target)) {
        json_object_foreach ((json_t *)target, k, v) {
            if (json_object_get(patch, k) != NULL)
                continue; /* decided by the patch below */
            if (json_object_set_new(res, k, json_deep_copy(v)) != 0)
                goto err_after_res;
        }
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

    if (patch == NULL)
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "merge patch: empty patch");
    if (api_json_too_deep(doc, API_PATCH_MAX_DEPTH) ||
        api_json_too_deep(patch, API_PATCH_MAX_DEPTH))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "merge patch: nesting deeper than %d levels",
                              API_PATCH_MAX_DEPTH);
    res = merge(doc, patch);
    if (res == NULL)
        return api_patch_fail(errbuf, errlen, K1S_ENOMEM,
                              "merge patch: out of memory");
    *ret = res;
    return 0;
}

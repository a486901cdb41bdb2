/*
 * DESIGN: RFC 6902 JSON patch over RFC 6901 JSON pointers.
 *
 * The document is deep-copied once; operations then edit the copy in
 * place, in order, and the first failure discards it (RFC 6902 §5: a patch
 * is atomic). A pointer is split into unescaped reference tokens ("~1" is
 * "/", "~0" is "~"); every token but the last is walked from the root to
 * find the container the operation works on.
 *
 * Growth is bounded: `copy` can double the document each time, so each
 * operation's added cost (nodes + string bytes) is charged against
 * API_JSON_PATCH_MAX_COST, and the nesting depth at the destination plus
 * the depth of the value must stay under API_PATCH_MAX_DEPTH.
 *
 * Messages follow the JSON patch library Kubernetes uses
 * ("add operation does not apply: doc is missing path: ...",
 * "testing value /x failed: test failed"). As in Kubernetes, numbers
 * compare by value in `test` (1 equals 1.0).
 */
#include "apiserver/patch.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/patch_int.h"
#include "lib/err.h"

#define API_JSON_PATCH_MAX_COST (64u << 20)
#define API_JSON_PATCH_MAX_TOKENS API_PATCH_MAX_DEPTH

struct ptr {
    char **tok; /* unescaped tokens, heap */
    size_t n;
};

static void ptr_free(struct ptr *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->tok[i]);
    free(p->tok);
    p->tok = NULL;
    p->n = 0;
}

/* RFC 6901 §3/§4. Errors: K1S_EBADREQ (syntax), K1S_ENOMEM. */
static int ptr_parse(const char *s, struct ptr *p)
{
    const char *seg, *end;
    char *t;
    size_t len, j;

    p->tok = NULL;
    p->n = 0;
    if (*s == '\0')
        return 0;
    if (*s != '/')
        return K1S_EBADREQ;
    seg = s + 1;
    for (;;) {
        char **nt;

        if (p->n >= API_JSON_PATCH_MAX_TOKENS)
            goto err;
        end = strchr(seg, '/');
        len = end ? (size_t)(end - seg) : strlen(seg);
        t = malloc(len + 1);
        if (t == NULL)
            goto err_nomem;
        j = 0;
        for (size_t i = 0; i < len; i++) {
            if (seg[i] != '~') {
                t[j++] = seg[i];
            } else if (i + 1 < len && seg[i + 1] == '0') {
                t[j++] = '~';
                i++;
            } else if (i + 1 < len && seg[i + 1] == '1') {
                t[j++] = '/';
                i++;
            } else {
                free(t);
                goto err;
            }
        }
        t[j] = '\0';
        nt = realloc(p->tok, (p->n + 1) * sizeof *nt);
        if (nt == NULL) {
            free(t);
            goto err_nomem;
        }
        p->tok = nt;
        p->tok[p->n++] = t;
        if (end == NULL)
            break;
        seg = end + 1;
    }
    return 0;

err:
    ptr_free(p);
    return K1S_EBADREQ;
err_nomem:
    ptr_free(p);
    return K1S_ENOMEM;
}

/* An array index token: "0" or [1-9][0-9]*, no sign, no leading zero. */
static bool parse_index(const char *t, size_t *ret)
{
    size_t v = 0;

    if (t[0] == '\0' || (t[0] == '0' && t[1] != '\0'))
        return false;
    for (const char *c = t; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        if (v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(*c - '0');
    }
    *ret = v;
    return true;
}

/* The value at tokens [0, n) from root, borrowed; NULL if absent. */
static json_t *walk(json_t *root, const struct ptr *p, size_t n)
{
    json_t *cur = root;
    size_t idx;

    for (size_t i = 0; i < n && cur != NULL; i++) {
        if (json_is_object(cur))
            cur = json_object_get(cur, p->tok[i]);
        else if (json_is_array(cur) && parse_index(p->tok[i], &idx))
            cur = json_array_get(cur, idx);
        else
            cur = NULL;
    }
    return cur;
}

/* Cost of a value for the growth cap; stops counting past `cap`. */
static size_t cost(const json_t *v, size_t cap)
{
    const char *k;
    json_t *c;
    size_t i, sum = 1;

    if (json_is_string(v))
        return 1 + json_string_length(v);
    if (json_is_object(v)) {
        json_object_foreach ((json_t *)v, k, c) {
            sum += strlen(k) + cost(c, cap);
            if (sum > cap)
                return sum;
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, c) {
            sum += cost(c, cap);
            if (sum > cap)
                return sum;
        }
    }
    return sum;
}

static int depth_of(const json_t *v)
{
    const char *k;
    json_t *c;
    size_t i;
    int d, max = 0;

    if (json_is_object(v)) {
        json_object_foreach ((json_t *)v, k, c)
            if ((d = depth_of(c)) > max)
                max = d;
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, c)
            if ((d = depth_of(c)) > max)
                max = d;
    } else {
        return 0;
    }
    return max + 1;
}

/* Deep equality as Kubernetes decodes JSON: numbers compare as float64. */
static bool equal(const json_t *a, const json_t *b)
{
    const char *k;
    json_t *c;
    size_t i;

    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach ((json_t *)a, k, c)
            if (!equal(c, json_object_get(b, k)) ||
                json_object_get(b, k) == NULL)
                return false;
        return true;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        json_array_foreach (a, i, c)
            if (!equal(c, json_array_get(b, i)))
                return false;
        return true;
    }
    return json_equal(a, b);
}

struct jp {
    json_t *doc; /* owned, the working copy */
    size_t cost;
    char *errbuf;
    size_t errlen;
    size_t opno;
};

/* Inserts `val` (reference stolen, also on failure) at p. */
static int do_add(struct jp *jp, const struct ptr *p, const char *path,
                  json_t *val, const char *opname)
{
    json_t *parent;
    const char *last;
    size_t idx;
    int rv;

    if ((int)p->n + depth_of(val) > API_PATCH_MAX_DEPTH) {
        json_decref(val);
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                              "%s operation does not apply: the result "
                              "would nest deeper than %d levels",
                              opname, API_PATCH_MAX_DEPTH);
    }
    if (p->n == 0) {
        json_decref(jp->doc);
        jp->doc = val;
        return 0;
    }
    parent = walk(jp->doc, p, p->n - 1);
    last = p->tok[p->n - 1];
    if (json_is_object(parent)) {
        rv = json_object_set_new(parent, last, val);
    } else if (json_is_array(parent)) {
        if (strcmp(last, "-") == 0) {
            rv = json_array_append_new(parent, val);
        } else if (parse_index(last, &idx) && idx <= json_array_size(parent)) {
            rv = json_array_insert_new(parent, idx, val);
        } else {
            json_decref(val);
            return api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                                  "%s operation does not apply: unable to "
                                  "access invalid index: %s: invalid index "
                                  "referenced",
                                  opname, last);
        }
    } else {
        json_decref(val);
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                              "%s operation does not apply: doc is missing "
                              "path: \"%s\": missing value",
                              opname, path);
    }
    if (rv != 0)
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_ENOMEM,
                              "json patch: out of memory");
    return 0;
}

/* Detaches the value at p; *ret_val gets its reference (may be NULL). */
static int do_remove(struct jp *jp, const struct ptr *p, const char *path,
                     const char *opname, const char *what, json_t **ret_val)
{
    json_t *parent, *v = NULL;
    const char *last;
    size_t idx;

    if (p->n == 0)
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                              "%s operation does not apply: cannot remove "
                              "the whole document",
                              opname);
    parent = walk(jp->doc, p, p->n - 1);
    last = p->tok[p->n - 1];
    if (json_is_object(parent)) {
        v = json_object_get(parent, last);
        if (v != NULL) {
            json_incref(v);
            json_object_del(parent, last);
        }
    } else if (json_is_array(parent) && parse_index(last, &idx) &&
               idx < json_array_size(parent)) {
        v = json_incref(json_array_get(parent, idx));
        json_array_remove(parent, idx);
    }
    if (v == NULL)
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                              "%s operation does not apply: doc is missing "
                              "%s: \"%s\": missing value",
                              opname, what, path);
    if (ret_val != NULL)
        *ret_val = v;
    else
        json_decref(v);
    return 0;
}

static int charge(struct jp *jp, const json_t *v, const char *opname)
{
    jp->cost += cost(v, API_JSON_PATCH_MAX_COST);
    if (jp->cost > API_JSON_PATCH_MAX_COST)
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                              "%s operation does not apply: the patched "
                              "document would be too large",
                              opname);
    return 0;
}

/* True if pointer a is a proper prefix of pointer b (move into itself). */
static bool ptr_is_ancestor(const struct ptr *a, const struct ptr *b)
{
    if (a->n >= b->n)
        return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->tok[i], b->tok[i]) != 0)
            return false;
    return true;
}

static int apply_op(struct jp *jp, const json_t *op)
{
    const char *name, *path, *from = NULL;
    json_t *value, *v;
    struct ptr p, fp = {NULL, 0};
    int rv;

    if (!json_is_object(op))
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_EBADREQ,
                              "json patch operation %zu is not an object",
                              jp->opno);
    name = json_string_value(json_object_get(op, "op"));
    path = json_string_value(json_object_get(op, "path"));
    value = json_object_get(op, "value");
    if (name == NULL)
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_EBADREQ,
                              "json patch operation %zu: missing \"op\"",
                              jp->opno);
    if (path == NULL)
        return api_patch_fail(jp->errbuf, jp->errlen, K1S_EBADREQ,
                              "%s operation %zu: missing \"path\"", name,
                              jp->opno);
    rv = ptr_parse(path, &p);
    if (rv == K1S_EBADREQ)
        return api_patch_fail(jp->errbuf, jp->errlen, rv,
                              "%s operation %zu: invalid JSON pointer "
                              "\"%s\"",
                              name, jp->opno, path);
    if (rv != 0)
        return api_patch_fail(jp->errbuf, jp->errlen, rv, "out of memory");
    if (strcmp(name, "move") == 0 || strcmp(name, "copy") == 0) {
        from = json_string_value(json_object_get(op, "from"));
        if (from == NULL) {
            rv = api_patch_fail(jp->errbuf, jp->errlen, K1S_EBADREQ,
                                "%s operation %zu: missing \"from\"", name,
                                jp->opno);
            goto out;
        }
        rv = ptr_parse(from, &fp);
        if (rv != 0) {
            rv = api_patch_fail(jp->errbuf, jp->errlen, rv,
                                "%s operation %zu: invalid JSON pointer "
                                "\"%s\"",
                                name, jp->opno, from);
            goto out;
        }
    }
    if ((strcmp(name, "add") == 0 || strcmp(name, "replace") == 0 ||
         strcmp(name, "test") == 0) &&
        value == NULL) {
        rv = api_patch_fail(jp->errbuf, jp->errlen, K1S_EBADREQ,
                            "%s operation %zu: missing \"value\"", name,
                            jp->opno);
        goto out;
    }

    if (strcmp(name, "add") == 0) {
        rv = charge(jp, value, name);
        if (rv == 0)
            rv = do_add(jp, &p, path, json_deep_copy(value), name);
    } else if (strcmp(name, "remove") == 0) {
        rv = do_remove(jp, &p, path, name, "path", NULL);
    } else if (strcmp(name, "replace") == 0) {
        if (walk(jp->doc, &p, p.n) == NULL) {
            rv = api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                                "replace operation does not apply: doc is "
                                "missing key: %s: missing value",
                                path);
            goto out;
        }
        rv = charge(jp, value, name);
        if (rv == 0 && p.n > 0)
            rv = do_remove(jp, &p, path, name, "key", NULL);
        if (rv == 0)
            rv = do_add(jp, &p, path, json_deep_copy(value), name);
    } else if (strcmp(name, "move") == 0) {
        if (ptr_is_ancestor(&fp, &p)) {
            rv = api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                                "move operation does not apply: \"from\" %s "
                                "is an ancestor of \"path\" %s",
                                from, path);
            goto out;
        }
        if (fp.n == 0) {
            /* Moving the root onto itself (path "" too) changes nothing. */
            if (p.n != 0)
                rv = api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                                    "move operation does not apply: cannot "
                                    "move the whole document");
            goto out;
        }
        rv = do_remove(jp, &fp, from, name, "from path", &v);
        if (rv == 0)
            rv = do_add(jp, &p, path, v, name);
    } else if (strcmp(name, "copy") == 0) {
        v = walk(jp->doc, &fp, fp.n);
        if (v == NULL) {
            rv = api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                                "copy operation does not apply: doc is "
                                "missing from path: %s: missing value",
                                from);
            goto out;
        }
        rv = charge(jp, v, name);
        if (rv == 0)
            rv = do_add(jp, &p, path, json_deep_copy(v), name);
    } else if (strcmp(name, "test") == 0) {
        v = walk(jp->doc, &p, p.n);
        if (v == NULL || !equal(v, value))
            rv = api_patch_fail(jp->errbuf, jp->errlen, K1S_EINVALID,
                                "testing value %s failed: test failed", path);
    } else {
        rv = api_patch_fail(jp->errbuf, jp->errlen, K1S_EBADREQ,
                            "Unexpected kind: %s", name);
    }
out:
    ptr_free(&p);
    ptr_free(&fp);
    return rv;
}

int api_json_patch(const json_t *doc, const json_t *ops, json_t **ret,
                   char *errbuf, size_t errlen)
{
    struct jp jp = {NULL, 0, errbuf, errlen, 0};
    json_t *op;
    size_t i;
    int rv;

    if (!json_is_array(ops))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "json patch must be an array of operations");
    if (json_array_size(ops) > API_JSON_PATCH_MAX_OPS)
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "json patch has more than %d operations",
                              API_JSON_PATCH_MAX_OPS);
    if (api_json_too_deep(doc, API_PATCH_MAX_DEPTH) ||
        api_json_too_deep(ops, API_PATCH_MAX_DEPTH + 2))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "json patch: nesting deeper than %d levels",
                              API_PATCH_MAX_DEPTH);
    jp.doc = doc ? json_deep_copy(doc) : json_null();
    if (jp.doc == NULL)
        return api_patch_fail(errbuf, errlen, K1S_ENOMEM,
                              "json patch: out of memory");
    jp.cost = cost(jp.doc, API_JSON_PATCH_MAX_COST);
    json_array_foreach (ops, i, op) {
        jp.opno = i;
        rv = apply_op(&jp, op);
        if (rv != 0)
            goto err_after_doc;
    }
    *ret = jp.doc;
    return 0;

err_after_doc:
    json_decref(jp.doc);
    return rv;
}

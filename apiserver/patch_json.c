/*
 * DESIGN: RFC 6902 JSON patch over RFC 6901 JSON pointers, with the exact
 * behaviour of the library the Kubernetes API server applies it with
 * (github.com/evanphx/json-patch v4), checked against kubectl's copy of it
 * (`kubectl patch --local --type json`) on generated patches. Its
 * departures from the RFC are kept, because clients see them:
 *  - `replace` of a missing object member adds it; `test` of a missing
 *    member against null succeeds; `copy` from a missing member copies
 *    null; a missing "value" is null;
 *  - array indexes parse like Go's Atoi ("01", "+1") and negative ones
 *    count from the end ("-1" is the last item; `add` at "-1" appends);
 *  - pointer tokens decode "~1" and "~0" and leave any other "~" alone; a
 *    pointer's first segment is ignored ("data/k" is "/k"); the root ""
 *    works for `test` and `replace` (a non-container value leaves the
 *    document unchanged), and is "missing" for the other operations;
 *  - `move` removes first, then adds, so moving a member into itself fails
 *    with "doc is missing destination path".
 * Messages are the library's, word for word.
 *
 * The document is deep-copied once; operations then edit the copy in
 * place, in order, and the first failure discards it (RFC 6902 §5).
 * Growth is bounded, beyond what the library does: each operation's added
 * cost (nodes + string bytes) is charged against API_JSON_PATCH_MAX_COST,
 * and the nesting depth at the destination plus the value's depth must
 * stay within API_PATCH_MAX_DEPTH, so `copy` cannot blow up memory or the
 * stack.
 */
#include "apiserver/patch.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/patch_int.h"
#include "lib/err.h"

#define API_JSON_PATCH_MAX_COST (64u << 20)

struct jp {
    json_t *doc; /* owned, the working copy */
    size_t cost;
    char *errbuf;
    size_t errlen;
};

static int fail(struct jp *jp, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct jp *jp, const char *fmt, ...)
{
    va_list ap;

    if (jp->errbuf != NULL && jp->errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(jp->errbuf, jp->errlen, fmt, ap);
        va_end(ap);
    }
    return K1S_EINVALID;
}

static int nomem(struct jp *jp)
{
    return api_patch_fail(jp->errbuf, jp->errlen, K1S_ENOMEM,
                          "json patch: out of memory");
}

/* decodePatchKey: one left-to-right pass, "~1" → "/", "~0" → "~". */
static char *decode_key(const char *s, size_t n)
{
    char *t = malloc(n + 1);
    size_t j = 0;

    if (t == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '~' && i + 1 < n && (s[i + 1] == '0' || s[i + 1] == '1')) {
            t[j++] = s[i + 1] == '1' ? '/' : '~';
            i++;
        } else {
            t[j++] = s[i];
        }
    }
    t[j] = '\0';
    return t;
}

/* strconv.Atoi: optional sign, decimal digits, within int64. */
static bool go_atoi(const char *s, long long *ret)
{
    char *end;

    if (s[0] == '\0' ||
        !(s[0] == '+' || s[0] == '-' || (s[0] >= '0' && s[0] <= '9')))
        return false;
    errno = 0;
    *ret = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' &&
           !((s[0] == '+' || s[0] == '-') && s[1] == '\0');
}

/* partialArray.get's index rules: negative counts from the end. Returns
 * the index or -1, with the library's message in msg. */
static long long array_index(const json_t *a, const char *key, char *msg,
                             size_t len)
{
    long long idx, n = (long long)json_array_size(a);

    if (!go_atoi(key, &idx)) {
        snprintf(msg, len, "strconv.Atoi: parsing \"%.100s\": invalid syntax",
                 key);
        return -1;
    }
    if (idx < 0) {
        if (idx < -n) {
            snprintf(msg, len,
                     "Unable to access invalid index: %lld: invalid index "
                     "referenced",
                     idx);
            return -1;
        }
        idx += n;
    }
    if (idx >= n) {
        snprintf(msg, len,
                 "Unable to access invalid index: %lld: invalid index "
                 "referenced",
                 idx);
        return -1;
    }
    return idx;
}

/* container.get: *ret borrowed, NULL for a missing object member (not an
 * error, as in the library). false with msg for a bad array index. */
static bool c_get(json_t *con, const char *key, json_t **ret, char *msg,
                  size_t len)
{
    long long idx;

    if (json_is_object(con)) {
        *ret = json_object_get(con, key);
        return true;
    }
    idx = array_index(con, key, msg, len);
    if (idx < 0)
        return false;
    *ret = json_array_get(con, (size_t)idx);
    return true;
}

/* findObject: the container holding the pointer's last token, and that
 * token decoded (heap, *ret_key). NULL when the path does not lead to a
 * container (the library's "missing"). */
static json_t *find_object(json_t *doc, const char *path, char **ret_key)
{
    const char *seg, *slash, *last;
    json_t *con = doc, *next;
    char msg[160];

    *ret_key = NULL;
    slash = strchr(path, '/');
    if (slash == NULL)
        return NULL;
    last = strrchr(path, '/') + 1;
    seg = slash + 1;
    while (seg < last) {
        const char *end = strchr(seg, '/');
        char *part = decode_key(seg, (size_t)(end - seg));
        bool ok;
        if (part == NULL)
            return NULL;
        ok = c_get(con, part, &next, msg, sizeof msg);
        free(part);
        if (!ok || !(json_is_object(next) || json_is_array(next)))
            return NULL;
        con = next;
        seg = end + 1;
    }
    *ret_key = decode_key(last, strlen(last));
    return *ret_key ? con : NULL;
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

static int path_depth(const char *path)
{
    int n = 0;
    for (const char *c = path; *c; c++)
        n += *c == '/';
    return n;
}

/* Deep equality as Go decodes JSON: numbers compare as float64. */
static bool equal(const json_t *a, const json_t *b)
{
    const char *k;
    json_t *c, *o;
    size_t i;

    if (json_is_number(a) && json_is_number(b))
        return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach ((json_t *)a, k, c) {
            o = json_object_get(b, k);
            if (o == NULL || !equal(c, o))
                return false;
        }
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

/* Our caps, checked before a value lands at `path`. */
static int check_growth(struct jp *jp, const char *opname, const char *path,
                        const json_t *val, bool charge)
{
    if (path_depth(path) + depth_of(val) > API_PATCH_MAX_DEPTH)
        return fail(jp,
                    "%s operation does not apply: the result would nest "
                    "deeper than %d levels",
                    opname, API_PATCH_MAX_DEPTH);
    if (charge) {
        jp->cost += cost(val, API_JSON_PATCH_MAX_COST);
        if (jp->cost > API_JSON_PATCH_MAX_COST)
            return fail(jp,
                        "%s operation does not apply: the patched document "
                        "would be too large",
                        opname);
    }
    return 0;
}

/* container.add; steals val. msg set on failure. */
static bool c_add(json_t *con, const char *key, json_t *val, char *msg,
                  size_t len, bool *oom)
{
    long long idx, n;

    *oom = false;
    if (json_is_object(con)) {
        if (json_object_set_new(con, key, val) != 0)
            *oom = true;
        return !*oom;
    }
    n = (long long)json_array_size(con);
    if (strcmp(key, "-") == 0) {
        if (json_array_append_new(con, val) != 0)
            *oom = true;
        return !*oom;
    }
    if (!go_atoi(key, &idx)) {
        snprintf(msg, len,
                 "value was not a proper array index: '%.100s': "
                 "strconv.Atoi: parsing \"%.100s\": invalid syntax",
                 key, key);
        json_decref(val);
        return false;
    }
    if (idx > n || idx < -(n + 1)) {
        snprintf(msg, len,
                 "Unable to access invalid index: %lld: invalid index "
                 "referenced",
                 idx);
        json_decref(val);
        return false;
    }
    if (idx < 0)
        idx += n + 1;
    if (json_array_insert_new(con, (size_t)idx, val) != 0)
        *oom = true;
    return !*oom;
}

/* container.remove; *ret_val (may be NULL) gets the removed value. */
static bool c_remove(json_t *con, const char *key, json_t **ret_val, char *msg,
                     size_t len)
{
    json_t *v;
    long long idx;

    if (json_is_object(con)) {
        v = json_object_get(con, key);
        if (v == NULL) {
            snprintf(msg, len,
                     "Unable to remove nonexistent key: %.200s: missing "
                     "value",
                     key);
            return false;
        }
        if (ret_val != NULL)
            *ret_val = json_incref(v);
        json_object_del(con, key);
        return true;
    }
    idx = array_index(con, key, msg, len);
    if (idx < 0)
        return false;
    if (ret_val != NULL)
        *ret_val = json_incref(json_array_get(con, (size_t)idx));
    json_array_remove(con, (size_t)idx);
    return true;
}

static const char *get_str(const json_t *op, const char *k)
{
    return json_string_value(json_object_get(op, k));
}

/* The operation's value: a missing "value" is null, as in the library. */
static json_t *op_value(const json_t *op)
{
    json_t *v = json_object_get(op, "value");
    return v ? v : json_null();
}

static int op_add(struct jp *jp, const json_t *op)
{
    const char *path = get_str(op, "path");
    char msg[320], *key;
    json_t *con, *val = op_value(op);
    bool oom;
    int rv;

    if (path == NULL)
        return fail(jp, "add operation failed to decode path: missing value");
    con = find_object(jp->doc, path, &key);
    if (con == NULL) {
        free(key);
        return fail(jp,
                    "add operation does not apply: doc is missing path: "
                    "\"%s\": missing value",
                    path);
    }
    rv = check_growth(jp, "add", path, val, true);
    if (rv == 0) {
        json_t *copy = json_deep_copy(val);
        if (copy == NULL)
            rv = nomem(jp);
        else if (!c_add(con, key, copy, msg, sizeof msg, &oom))
            rv = oom ? nomem(jp)
                     : fail(jp, "error in add for path: '%s': %s", path, msg);
    }
    free(key);
    return rv;
}

static int op_remove(struct jp *jp, const json_t *op)
{
    const char *path = get_str(op, "path");
    char msg[320], *key;
    json_t *con;
    int rv = 0;

    if (path == NULL)
        return fail(jp,
                    "remove operation failed to decode path: missing value");
    con = find_object(jp->doc, path, &key);
    if (con == NULL)
        rv = fail(jp,
                  "remove operation does not apply: doc is missing path: "
                  "\"%s\": missing value",
                  path);
    else if (!c_remove(con, key, NULL, msg, sizeof msg))
        rv = fail(jp, "error in remove for path: '%s': %s", path, msg);
    free(key);
    return rv;
}

static int op_replace(struct jp *jp, const json_t *op)
{
    const char *path = get_str(op, "path");
    char msg[320], *key = NULL;
    json_t *con, *cur, *val = op_value(op), *copy;
    int rv;

    if (path == NULL)
        return fail(jp,
                    "replace operation failed to decode path: missing value");
    if (path[0] == '\0') {
        /* the whole document; a scalar value changes nothing (the library
         * wraps a nil error there) */
        if (!json_is_object(val) && !json_is_array(val))
            return 0;
        rv = check_growth(jp, "replace", path, val, true);
        if (rv != 0)
            return rv;
        copy = json_deep_copy(val);
        if (copy == NULL)
            return nomem(jp);
        json_decref(jp->doc);
        jp->doc = copy;
        return 0;
    }
    con = find_object(jp->doc, path, &key);
    if (con == NULL) {
        free(key);
        return fail(jp,
                    "replace operation does not apply: doc is missing path: "
                    "%s: missing value",
                    path);
    }
    if (!c_get(con, key, &cur, msg, sizeof msg)) {
        free(key);
        return fail(jp,
                    "replace operation does not apply: doc is missing key: "
                    "%s: missing value",
                    path);
    }
    rv = check_growth(jp, "replace", path, val, true);
    if (rv == 0) {
        copy = json_deep_copy(val);
        if (copy == NULL)
            rv = nomem(jp);
        else if (json_is_object(con))
            rv = json_object_set_new(con, key, copy) ? nomem(jp) : 0;
        else
            rv = json_array_set_new(
                     con, (size_t)array_index(con, key, msg, sizeof msg), copy)
                     ? nomem(jp)
                     : 0;
    }
    free(key);
    return rv;
}

static int op_move(struct jp *jp, const json_t *op)
{
    const char *from = get_str(op, "from"), *path = get_str(op, "path");
    char msg[320], *key;
    json_t *con, *val = NULL;
    bool oom;
    int rv = 0;

    if (from == NULL)
        return fail(jp, "move operation failed to decode from: missing value");
    con = find_object(jp->doc, from, &key);
    if (con == NULL) {
        free(key);
        return fail(jp,
                    "move operation does not apply: doc is missing from "
                    "path: %s: missing value",
                    from);
    }
    if (!c_remove(con, key, &val, msg, sizeof msg)) {
        rv = fail(jp, "error in move for path: '%s': %s", key, msg);
        free(key);
        return rv;
    }
    free(key);
    if (path == NULL) {
        json_decref(val);
        return fail(jp, "move operation failed to decode path: missing value");
    }
    con = find_object(jp->doc, path, &key);
    if (con == NULL) {
        json_decref(val);
        free(key);
        return fail(jp,
                    "move operation does not apply: doc is missing "
                    "destination path: %s: missing value",
                    path);
    }
    rv = check_growth(jp, "move", path, val, false);
    if (rv != 0)
        json_decref(val);
    else if (!c_add(con, key, val, msg, sizeof msg, &oom))
        rv = oom ? nomem(jp)
                 : fail(jp, "error in move for path: '%s': %s", path, msg);
    free(key);
    return rv;
}

static int op_copy(struct jp *jp, const json_t *op)
{
    const char *from = get_str(op, "from"), *path = get_str(op, "path");
    char msg[320], *key;
    json_t *con, *val, *copy;
    bool oom;
    int rv;

    if (from == NULL)
        return fail(jp, "copy operation failed to decode from: missing value");
    con = find_object(jp->doc, from, &key);
    if (con == NULL) {
        free(key);
        return fail(jp,
                    "copy operation does not apply: doc is missing from "
                    "path: %s: missing value",
                    from);
    }
    if (!c_get(con, key, &val, msg, sizeof msg)) {
        free(key);
        return fail(jp, "error in copy for from: '%s': %s", from, msg);
    }
    free(key);
    if (val == NULL)
        val = json_null(); /* a missing member copies as null */
    if (path == NULL)
        return fail(jp, "copy operation failed to decode path: missing value");
    con = find_object(jp->doc, path, &key);
    if (con == NULL) {
        free(key);
        return fail(jp,
                    "copy operation does not apply: doc is missing "
                    "destination path: %s: missing value",
                    path);
    }
    rv = check_growth(jp, "copy", path, val, true);
    if (rv == 0) {
        copy = json_deep_copy(val);
        if (copy == NULL)
            rv = nomem(jp);
        else if (!c_add(con, key, copy, msg, sizeof msg, &oom))
            rv =
                oom ? nomem(jp)
                    : fail(jp, "error while adding value during copy: %s", msg);
    }
    free(key);
    return rv;
}

static int op_test(struct jp *jp, const json_t *op)
{
    const char *path = get_str(op, "path");
    char msg[320], *key;
    json_t *con, *cur, *val = op_value(op);
    bool ok;

    if (path == NULL)
        return fail(jp, "test operation failed to decode path: missing value");
    if (path[0] == '\0')
        return equal(jp->doc, val)
                   ? 0
                   : fail(jp, "testing value %s failed: test failed", path);
    con = find_object(jp->doc, path, &key);
    if (con == NULL) {
        free(key);
        return fail(jp,
                    "test operation does not apply: is missing path: %s: "
                    "missing value",
                    path);
    }
    ok = c_get(con, key, &cur, msg, sizeof msg);
    free(key);
    if (!ok)
        return fail(jp, "error in test for path: '%s': %s", path, msg);
    /* a missing member or a JSON null equals a null value */
    if (cur == NULL || json_is_null(cur))
        return json_is_null(val)
                   ? 0
                   : fail(jp, "testing value %s failed: test failed", path);
    if (json_is_null(val) || !equal(cur, val))
        return fail(jp, "testing value %s failed: test failed", path);
    return 0;
}

int api_json_patch(const json_t *doc, const json_t *ops, json_t **ret,
                   char *errbuf, size_t errlen)
{
    struct jp jp = {NULL, 0, errbuf, errlen};
    json_t *op;
    size_t i;
    int rv;

    if (!json_is_array(ops))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "json: cannot unmarshal %s into Go value of "
                              "type jsonpatch.Patch",
                              json_is_object(ops) ? "object" : "value");
    json_array_foreach (ops, i, op) {
        if (!json_is_object(op))
            return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                                  "json: cannot unmarshal %s into Go value "
                                  "of type jsonpatch.Operation",
                                  json_is_array(op)    ? "array"
                                  : json_is_string(op) ? "string"
                                  : json_is_number(op) ? "number"
                                                       : "value");
    }
    if (json_array_size(ops) > API_JSON_PATCH_MAX_OPS)
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "json patch has more than %d operations",
                              API_JSON_PATCH_MAX_OPS);
    if (api_json_too_deep(doc, API_PATCH_MAX_DEPTH) ||
        api_json_too_deep(ops, API_PATCH_MAX_DEPTH + 2))
        return api_patch_fail(errbuf, errlen, K1S_EBADREQ,
                              "json patch: nesting deeper than %d levels",
                              API_PATCH_MAX_DEPTH);
    if (!json_is_object(doc) && !json_is_array(doc))
        return api_patch_fail(errbuf, errlen, K1S_EINVALID,
                              "json patch: the document is not an object");
    jp.doc = json_deep_copy(doc);
    if (jp.doc == NULL)
        return nomem(&jp);
    jp.cost = cost(jp.doc, API_JSON_PATCH_MAX_COST);
    json_array_foreach (ops, i, op) {
        const char *kind = get_str(op, "op");
        if (kind == NULL)
            kind = "unknown";
        if (strcmp(kind, "add") == 0)
            rv = op_add(&jp, op);
        else if (strcmp(kind, "remove") == 0)
            rv = op_remove(&jp, op);
        else if (strcmp(kind, "replace") == 0)
            rv = op_replace(&jp, op);
        else if (strcmp(kind, "move") == 0)
            rv = op_move(&jp, op);
        else if (strcmp(kind, "copy") == 0)
            rv = op_copy(&jp, op);
        else if (strcmp(kind, "test") == 0)
            rv = op_test(&jp, op);
        else
            rv = fail(&jp, "Unexpected kind: %s", kind);
        if (rv != 0)
            goto err_after_doc;
    }
    *ret = jp.doc;
    return 0;

err_after_doc:
    json_decref(jp.doc);
    return rv;
}

/*
 * DESIGN: kubectl's client-side apply patch, computed as
 * k8s.io/apimachinery v0.32 computes it (pkg/util/strategicpatch
 * CreateThreeWayMergePatch with overwrite=true; pkg/util/jsonmergepatch
 * CreateThreeWayJSONMergePatch when there is no schema), so that kubectl
 * and kubectl-lite can take turns on one object. Same inputs, same patch:
 * list order included (the order of keys in an object is not content).
 *
 * Strategic merge patch:
 *   deletions = diff(original -> modified), keeping only deletions: null
 *               for a dropped key, {"$patch":"delete", key: v} for a
 *               dropped item of a merge list, $deleteFromPrimitiveList/
 *               for a dropped primitive of a merge list;
 *   delta     = diff(current -> modified), ignoring deletions: what the
 *               live object lacks or has differently;
 *   patch     = delta merged into deletions (mergeMap without merging the
 *               parallel lists: the directives are carried, not applied).
 * The diff (diffMaps) walks `modified`: a new key or a value of another
 * type is taken whole; maps recurse; merge lists (patch strategy "merge")
 * are diffed item by item by their merge key, in the string order of the
 * keys' %v form (as Go sorts them), and the result is ordered like
 * modified with the deletions last; a list the patch touches, or whose
 * order changed, gets $setElementOrder/<list> (the modified order); other
 * lists are replaced whole when different. A field with "retainKeys" gets
 * $retainKeys (the sorted non-null keys of modified) when its patch is not
 * empty or original had keys modified dropped.
 *
 * Go quirks kept on purpose because kubectl has them: diffing a primitive
 * merge list sorts the old list in place before comparing it with the new
 * one, so a live list out of sorted order always earns a
 * $setElementOrder (e.g. finalizers ["b","a"]); primitives and merge keys
 * are compared by their %v text when sorting; JSON merge patch compares
 * numbers as float64 (1 == 1.0) where strategic merge patch does not; a
 * value of the delta that the deletions lack (or hold with another type)
 * is taken without the maps that carry "$patch", at any depth
 * (removeDirectives: only a manifest that holds "$patch" itself gets
 * there).
 *
 * Known differences: patch strategy "replace" (unused by built-in types)
 * is treated as no strategy, since struct kctl_smp_field cannot carry it;
 * a field the schema does not describe has no metadata instead of failing
 * (openapi.c); nulls among a list's items are refused instead of crashing
 * as Go does; items of an ordering directive that are absent from it are
 * sorted after those present (Go's comparator is not a strict order there;
 * kubectl never produces that case).
 *
 * Inputs are borrowed and never modified; every value in the patch is a
 * new copy. Nesting deeper than SMP_MAX_DEPTH is refused up front, so no
 * recursion below can go deeper.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"

#define SMP_MAX_DEPTH 100

#define PATCH_KEY "$patch"
#define RETAIN_KEY "$retainKeys"
#define ORDER_PREFIX "$setElementOrder"
#define DELETE_PREFIX "$deleteFromPrimitiveList"

/* ------------------------------------------------------------- values */

/* Go's dynamic types of a decoded JSON value (k8s.io/apimachinery's JSON
 * decoder: whole numbers are int64, others float64). */
enum vclass { VC_NULL, VC_BOOL, VC_INT, VC_REAL, VC_STRING, VC_MAP, VC_LIST };

static enum vclass vclass(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return VC_MAP;
    case JSON_ARRAY:
        return VC_LIST;
    case JSON_STRING:
        return VC_STRING;
    case JSON_INTEGER:
        return VC_INT;
    case JSON_REAL:
        return VC_REAL;
    case JSON_TRUE:
    case JSON_FALSE:
        return VC_BOOL;
    case JSON_NULL:
    default:
        return VC_NULL;
    }
}

/* Go's == on interface values: an absent value is nil, like null. */
static bool go_eq(const json_t *a, const json_t *b)
{
    bool anil = a == NULL || json_is_null(a);
    bool bnil = b == NULL || json_is_null(b);

    if (anil || bnil)
        return anil && bnil;
    return json_equal((json_t *)a, (json_t *)b);
}

/* Go's fmt "%v" of a float64: %g with the shortest digits that read back,
 * exponent form below 1e-4 and from 1e6 on (strconv uses precision 6 for
 * that decision when the digits are the shortest). */
static void fmt_float(double d, char *out, size_t len)
{
    char tmp[64];
    int p, exp;

    for (p = 1; p < 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
    if (strchr(tmp, 'e') == NULL) { /* not finite: jansson has none */
        snprintf(out, len, "%s", tmp);
        return;
    }
    exp = atoi(strchr(tmp, 'e') + 1);
    if (exp < -4 || exp >= 6)
        snprintf(out, len, "%s", tmp);
    else
        snprintf(out, len, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, d);
}

/* The "%v" text of a value, as Go sorts and compares scalars and merge
 * keys (new string, free()). NULL when out of memory. */
static char *fmt_v(const json_t *v)
{
    char tmp[64];

    switch (vclass(v)) {
    case VC_STRING:
        return strdup(json_string_value(v));
    case VC_INT:
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        return strdup(tmp);
    case VC_REAL:
        fmt_float(json_real_value(v), tmp, sizeof tmp);
        return strdup(tmp);
    case VC_BOOL:
        return strdup(json_is_true(v) ? "true" : "false");
    case VC_NULL:
        return strdup("<nil>");
    case VC_MAP:
    case VC_LIST:
    default:
        return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    }
}

/* Puts a new reference under key; takes v (NULL: out of memory). */
static int put_new(json_t *obj, const char *key, json_t *v)
{
    return json_object_set_new(obj, key, v) == 0 ? 0 : K1S_ENOMEM;
}

static int put_copy(json_t *obj, const char *key, const json_t *v)
{
    return put_new(obj, key, json_deep_copy(v));
}

static int append_new(json_t *arr, json_t *v)
{
    return json_array_append_new(arr, v) == 0 ? 0 : K1S_ENOMEM;
}

/* "<prefix>/<key>" (new string, free()). */
static char *directive_key(const char *prefix, const char *key)
{
    char *s = NULL;
    if (asprintf(&s, "%s/%s", prefix, key) < 0)
        return NULL;
    return s;
}

static bool has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* Nesting deeper than SMP_MAX_DEPTH (the top object is level 1). */
static int check_depth(const json_t *v, int depth)
{
    const char *k;
    json_t *c;
    size_t i;

    if (!json_is_object(v) && !json_is_array(v))
        return 0;
    if (depth > SMP_MAX_DEPTH)
        return K1S_EINVAL;
    if (json_is_object(v)) {
        json_object_foreach ((json_t *)v, k, c) {
            if (check_depth(c, depth + 1) != 0)
                return K1S_EINVAL;
        }
    } else {
        json_array_foreach (v, i, c) {
            if (check_depth(c, depth + 1) != 0)
                return K1S_EINVAL;
        }
    }
    return 0;
}

/* ------------------------------------------------------ sorting by %v */

struct sitem {
    json_t *v;
    char *s;
    size_t i;
};

static int sitem_cmp(const void *a, const void *b)
{
    const struct sitem *x = a, *y = b;
    int c = strcmp(x->s, y->s);
    if (c != 0)
        return c;
    return x->i < y->i ? -1 : x->i > y->i;
}

static void sitems_free(struct sitem *it, size_t n)
{
    for (size_t i = 0; it != NULL && i < n; i++)
        free(it[i].s);
    free(it);
}

/* The items of list sorted by the %v text of the item (mkey NULL) or of
 * its merge key (an item without one sorts as "<nil>", as in Go).
 * *ret: n items (free with sitems_free). */
static int sort_by_text(const json_t *list, const char *mkey,
                        struct sitem **ret)
{
    size_t n = json_array_size(list);
    struct sitem *it = calloc(n ? n : 1, sizeof *it);

    *ret = NULL;
    if (it == NULL)
        return K1S_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(list, i);
        it[i].v = v;
        it[i].i = i;
        it[i].s = fmt_v(mkey ? json_object_get(v, mkey) : v);
        if (it[i].s == NULL) {
            sitems_free(it, n);
            return K1S_ENOMEM;
        }
    }
    qsort(it, n, sizeof *it, sitem_cmp);
    *ret = it;
    return 0;
}

/* ------------------------------------------------------- list helpers */

/* sliceElementType: the one class of every item of a and b (b may be
 * NULL). Mixed classes, lists of lists, null items and two empty lists
 * are refused. */
static int element_class(const json_t *a, const json_t *b, enum vclass *ret)
{
    const json_t *lists[2] = {a, b};
    bool seen = false;

    for (int l = 0; l < 2; l++) {
        size_t i;
        const json_t *v;
        json_array_foreach (lists[l], i, v) {
            enum vclass c = vclass(v);
            if (c == VC_LIST || c == VC_NULL)
                return K1S_EINVAL;
            if (seen && c != *ret)
                return K1S_EINVAL;
            *ret = c;
            seen = true;
        }
    }
    return seen ? 0 : K1S_EINVAL;
}

/* The merge-key value of a list item (NULL: not a map, or no key). */
static const json_t *key_of(const json_t *item, const char *mkey)
{
    return json_is_object(item) ? json_object_get(item, mkey) : NULL;
}

/* Every item of list is a map carrying mkey. */
static bool all_have_key(const json_t *list, const char *mkey)
{
    size_t i;
    const json_t *v;

    json_array_foreach (list, i, v) {
        if (key_of(v, mkey) == NULL)
            return false;
    }
    return true;
}

static bool is_delete_item(const json_t *v)
{
    const char *d = json_string_value(json_object_get(v, PATCH_KEY));
    return d != NULL && strcmp(d, "delete") == 0;
}

/* Go's index(): the first position of v in list, compared by merge key
 * (maps) or by value; SIZE_MAX when absent. */
static size_t index_in(const json_t *list, const json_t *v, const char *mkey)
{
    const json_t *want = mkey ? key_of(v, mkey) : v;
    size_t i;
    const json_t *x;

    json_array_foreach (list, i, x) {
        if (go_eq(want, mkey ? key_of(x, mkey) : x))
            return i;
    }
    return SIZE_MAX;
}

struct oitem {
    json_t *v;
    size_t key; /* index in the order list */
    size_t i;   /* original position: the sort is stable */
};

static int oitem_cmp(const void *a, const void *b)
{
    const struct oitem *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* normalizeSliceOrder: a new list of the items of `list` sorted (stably)
 * by their position in `order`; for maps (mkey set) every item of both
 * must carry the merge key, and `$patch: delete` items go last, in their
 * own order. */
static int normalize_order(const json_t *list, const json_t *order,
                           const char *mkey, json_t **ret)
{
    size_t n = json_array_size(list), m = 0;
    struct oitem *it;
    json_t *out = NULL, *v;
    int rv = K1S_ENOMEM;
    size_t i;

    *ret = NULL;
    if (mkey != NULL && (!all_have_key(list, mkey) ||
                         !all_have_key(order ? order : list, mkey)))
        return K1S_EINVAL;
    it = calloc(n ? n : 1, sizeof *it);
    if (it == NULL)
        return K1S_ENOMEM;
    json_array_foreach (list, i, v) {
        if (mkey != NULL && is_delete_item(v))
            continue;
        it[m].v = v;
        it[m].key = index_in(order, v, mkey);
        it[m].i = i;
        m++;
    }
    qsort(it, m, sizeof *it, oitem_cmp);
    if ((out = json_array()) == NULL)
        goto out;
    for (i = 0; i < m; i++) {
        if (json_array_append(out, it[i].v) != 0)
            goto out;
    }
    json_array_foreach (list, i, v) {
        if (mkey != NULL && is_delete_item(v) && json_array_append(out, v))
            goto out;
    }
    *ret = out;
    out = NULL;
    rv = 0;
out:
    json_decref(out);
    free(it);
    return rv;
}

/* mergeSortedSlice: interleaves the server-only items (left) with the
 * patch items (right); a left item goes first only when both are in the
 * live order and it comes earlier there. */
static int merge_sorted(const json_t *left, const json_t *right,
                        const json_t *server, const char *mkey, json_t **ret)
{
    size_t nl = json_array_size(left), nr = json_array_size(right);
    size_t i = 0, j = 0;
    json_t *out = json_array();

    *ret = NULL;
    if (out == NULL)
        return K1S_ENOMEM;
    while (i < nl || j < nr) {
        json_t *take;
        if (i >= nl) {
            take = json_array_get(right, j++);
        } else if (j >= nr) {
            take = json_array_get(left, i++);
        } else {
            size_t li = index_in(server, json_array_get(left, i), mkey);
            size_t ri = index_in(server, json_array_get(right, j), mkey);
            if (li != SIZE_MAX && ri != SIZE_MAX && li < ri)
                take = json_array_get(left, i++);
            else
                take = json_array_get(right, j++);
        }
        if (json_array_append(out, take) != 0) {
            json_decref(out);
            return K1S_ENOMEM;
        }
    }
    *ret = out;
    return 0;
}

/* normalizeElementOrder: the patch items in the patch's order, the
 * server-only items in the live order, interleaved. */
static int normalize_element_order(const json_t *patch_items,
                                   const json_t *server_only,
                                   const json_t *patch_order,
                                   const json_t *server_order, const char *mkey,
                                   json_t **ret)
{
    json_t *p = NULL, *s = NULL;
    int rv;

    rv = normalize_order(patch_items, patch_order, mkey, &p);
    if (rv == 0)
        rv = normalize_order(server_only, server_order, mkey, &s);
    if (rv == 0)
        rv = merge_sorted(s, p, server_order, mkey, ret);
    json_decref(p);
    json_decref(s);
    return rv;
}

/* Splits `list` into the items present in `by` (by merge key, or by value
 * for primitives) and the others. */
static int partition(const json_t *list, const json_t *by, const char *mkey,
                     json_t **ret_in, json_t **ret_out)
{
    json_t *in = json_array(), *out = json_array(), *v;
    size_t i;

    *ret_in = *ret_out = NULL;
    if (in == NULL || out == NULL)
        goto nomem;
    json_array_foreach (list, i, v) {
        bool found;
        if (mkey != NULL) {
            if (key_of(v, mkey) == NULL) {
                json_decref(in);
                json_decref(out);
                return K1S_EINVAL;
            }
            found = false;
            size_t j;
            const json_t *b;
            json_array_foreach (by, j, b) {
                if (!json_is_object(b)) {
                    json_decref(in);
                    json_decref(out);
                    return K1S_EINVAL;
                }
                if (key_of(b, mkey) != NULL &&
                    go_eq(key_of(b, mkey), key_of(v, mkey))) {
                    found = true;
                    break;
                }
            }
        } else {
            found = index_in(by, v, NULL) != SIZE_MAX;
        }
        if (json_array_append(found ? in : out, v) != 0)
            goto nomem;
    }
    *ret_in = in;
    *ret_out = out;
    return 0;
nomem:
    json_decref(in);
    json_decref(out);
    return K1S_ENOMEM;
}

/* deduplicateScalars, with its order: a duplicate is replaced by the last
 * item. Returns a new list. */
static json_t *dedup_scalars(const json_t *list)
{
    size_t n = json_array_size(list);
    json_t **s = calloc(n ? n : 1, sizeof *s), *out = NULL;

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        s[i] = json_array_get(list, i);
    if (n > 0) {
        size_t last = n - 1;
        for (size_t i = 0; i < last; i++) {
            for (size_t j = i + 1; j <= last; j++) {
                if (go_eq(s[i], s[j])) {
                    s[j] = s[last];
                    last--;
                    j--;
                }
            }
        }
        n = last + 1;
    }
    if ((out = json_array()) != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (json_array_append(out, s[i]) != 0) {
                json_decref(out);
                out = NULL;
                break;
            }
        }
    }
    free(s);
    return out;
}

/* ---------------------------------------------------------------- diff */

struct dopt {
    bool ignore_changes;   /* DiffOptions.IgnoreChangesAndAdditions */
    bool ignore_deletions; /* DiffOptions.IgnoreDeletions */
};

static int diff_maps(const json_t *orig, const json_t *mod,
                     const struct kctl_smp_schema *s, bool retain,
                     const struct dopt *o, int depth, json_t **ret);

/* diffListsOfMaps: the changed and added items (patch) and the delete
 * directives of the dropped ones (dels), walking both lists in the %v
 * order of their merge keys. */
static int diff_lists_of_maps(const json_t *orig, const json_t *mod,
                              const struct kctl_smp_schema *s, const char *mkey,
                              bool retain, const struct dopt *o, int depth,
                              json_t *patch, json_t *dels)
{
    size_t no = json_array_size(orig), nm = json_array_size(mod);
    struct sitem *so = NULL, *sm = NULL;
    size_t oi = 0, mi = 0;
    int rv;

    if (mkey == NULL || !all_have_key(orig, mkey) || !all_have_key(mod, mkey))
        return K1S_EINVAL;
    if ((rv = sort_by_text(orig, mkey, &so)) != 0 ||
        (rv = sort_by_text(mod, mkey, &sm)) != 0)
        goto out;
    while (rv == 0 && (oi < no || mi < nm)) {
        int c = oi >= no ? 1 : mi >= nm ? -1 : strcmp(so[oi].s, sm[mi].s);
        if (c == 0) {
            json_t *pv = NULL;
            rv = diff_maps(so[oi].v, sm[mi].v, s, retain, o, depth + 1, &pv);
            if (rv == 0 && json_object_size(pv) > 0) {
                rv = put_copy(pv, mkey, json_object_get(sm[mi].v, mkey));
                if (rv == 0)
                    rv = json_array_append(patch, pv) ? K1S_ENOMEM : 0;
            }
            json_decref(pv);
            oi++;
            mi++;
        } else if (c > 0) { /* added in modified */
            if (!o->ignore_changes)
                rv = append_new(patch, json_deep_copy(sm[mi].v));
            mi++;
        } else { /* dropped from modified */
            if (!o->ignore_deletions)
                rv = append_new(
                    dels,
                    json_pack("{s:o, s:s}", mkey,
                              json_deep_copy(json_object_get(so[oi].v, mkey)),
                              PATCH_KEY, "delete"));
            oi++;
        }
    }
out:
    sitems_free(so, no);
    sitems_free(sm, nm);
    return rv;
}

/* diffListsOfScalars: the added and the dropped primitives, walking both
 * lists sorted by %v; *ret_sorted is the old list sorted (Go sorts it in
 * place, and diffLists then compares it with modified). */
static int diff_lists_of_scalars(const json_t *orig, const json_t *mod,
                                 const struct dopt *o, json_t **ret_add,
                                 json_t **ret_del, json_t **ret_sorted)
{
    size_t no = json_array_size(orig), nm = json_array_size(mod);
    struct sitem *so = NULL, *sm = NULL;
    json_t *add = json_array(), *del = json_array(), *sorted = json_array();
    size_t oi = 0, mi = 0;
    int rv = K1S_ENOMEM;

    if (add == NULL || del == NULL || sorted == NULL)
        goto out;
    if ((rv = sort_by_text(orig, NULL, &so)) != 0 ||
        (rv = sort_by_text(mod, NULL, &sm)) != 0)
        goto out;
    for (size_t i = 0; rv == 0 && i < no; i++)
        rv = json_array_append(sorted, so[i].v) ? K1S_ENOMEM : 0;
    while (rv == 0 && (oi < no || mi < nm)) {
        int c = oi >= no ? 1 : mi >= nm ? -1 : strcmp(so[oi].s, sm[mi].s);
        if (c == 0) {
            oi++;
            mi++;
        } else if (c > 0) {
            if (!o->ignore_changes)
                rv = append_new(add, json_deep_copy(sm[mi].v));
            mi++;
        } else {
            if (!o->ignore_deletions)
                rv = append_new(del, json_deep_copy(so[oi].v));
            oi++;
        }
    }
    if (rv == 0) {
        json_t *d = dedup_scalars(del);
        json_decref(del);
        del = d;
        rv = d ? 0 : K1S_ENOMEM;
    }
out:
    sitems_free(so, no);
    sitems_free(sm, nm);
    if (rv != 0) {
        json_decref(add);
        json_decref(del);
        json_decref(sorted);
        return rv;
    }
    *ret_add = add;
    *ret_del = del;
    *ret_sorted = sorted;
    return 0;
}

/* isOrderSame: the merge keys of orig and mod, position by position. */
static int is_order_same(const json_t *orig, const json_t *mod,
                         const char *mkey, bool *ret)
{
    size_t i;
    const json_t *m;

    *ret = false;
    if (json_array_size(orig) != json_array_size(mod))
        return 0;
    json_array_foreach (mod, i, m) {
        const json_t *a = key_of(json_array_get(orig, i), mkey);
        const json_t *b = key_of(m, mkey);
        if (a == NULL || b == NULL)
            return K1S_EINVAL;
        if (!go_eq(a, b))
            return 0;
    }
    *ret = true;
    return 0;
}

/* diffLists for a merge list: the patch list, the parallel deletion list
 * (primitives) and the $setElementOrder list; each NULL or new. */
static int diff_lists(const json_t *orig, const json_t *mod,
                      const struct kctl_smp_schema *s, const char *mkey,
                      bool retain, const struct dopt *o, int depth,
                      json_t **ret_patch, json_t **ret_del, json_t **ret_order)
{
    json_t *patch = NULL, *dels = NULL, *sorted = NULL, *order = NULL;
    json_t *norm = NULL;
    enum vclass cls;
    int rv;

    *ret_patch = *ret_del = *ret_order = NULL;
    if (json_array_size(orig) == 0) {
        if (json_array_size(mod) == 0 || o->ignore_changes)
            return 0;
        *ret_patch = json_deep_copy(mod);
        return *ret_patch ? 0 : K1S_ENOMEM;
    }
    if ((rv = element_class(orig, mod, &cls)) != 0)
        return rv;

    if (cls == VC_MAP) {
        bool same;
        size_t i;
        json_t *v;

        patch = json_array();
        dels = json_array();
        if (patch == NULL || dels == NULL) {
            rv = K1S_ENOMEM;
            goto out;
        }
        rv = diff_lists_of_maps(orig, mod, s, mkey, retain, o, depth, patch,
                                dels);
        if (rv == 0)
            rv = normalize_order(patch, mod, mkey, &norm);
        if (rv == 0)
            rv = is_order_same(orig, mod, mkey, &same);
        if (rv != 0)
            goto out;
        json_decref(patch);
        patch = norm;
        norm = NULL;
        if (json_array_extend(patch, dels) != 0) {
            rv = K1S_ENOMEM;
            goto out;
        }
        if ((!o->ignore_changes && (json_array_size(patch) > 0 || !same)) ||
            (!o->ignore_deletions && json_array_size(patch) > 0)) {
            if ((order = json_array()) == NULL) {
                rv = K1S_ENOMEM;
                goto out;
            }
            json_array_foreach (mod, i, v) {
                rv = append_new(
                    order, json_pack("{s:o}", mkey,
                                     json_deep_copy(json_object_get(v, mkey))));
                if (rv != 0)
                    goto out;
            }
        }
        *ret_patch = patch;
        *ret_order = order;
        patch = order = NULL;
    } else {
        json_t *add = NULL;
        rv = diff_lists_of_scalars(orig, mod, o, &add, &dels, &sorted);
        if (rv != 0)
            goto out;
        rv = normalize_order(add, mod, NULL, &patch);
        json_decref(add);
        if (rv != 0)
            goto out;
        if ((!o->ignore_deletions && json_array_size(dels) > 0) ||
            (!o->ignore_changes && !json_equal(sorted, (json_t *)mod))) {
            if ((order = json_deep_copy(mod)) == NULL) {
                rv = K1S_ENOMEM;
                goto out;
            }
        }
        *ret_patch = patch;
        *ret_del = dels;
        *ret_order = order;
        patch = dels = order = NULL;
    }
out:
    json_decref(patch);
    json_decref(dels);
    json_decref(sorted);
    json_decref(order);
    json_decref(norm);
    return rv;
}

/* handleSliceDiff: a list field of both maps. */
static int diff_list_field(const char *key, const json_t *ov, const json_t *mv,
                           json_t *patch, const struct kctl_smp_schema *s,
                           const struct dopt *o, int depth)
{
    struct kctl_smp_field f;
    json_t *add = NULL, *del = NULL, *order = NULL;
    char *dkey = NULL, *okey = NULL;
    int rv;

    kctl_smp_lookup(s, key, &f);
    if (!f.merge) {
        if (o->ignore_changes || json_equal((json_t *)ov, (json_t *)mv))
            return 0;
        return put_copy(patch, key, mv);
    }
    rv = diff_lists(ov, mv, f.sub, f.merge_key, f.retain_keys, o, depth, &add,
                    &del, &order);
    if (rv != 0)
        return rv;
    if (json_array_size(add) > 0) {
        rv = put_new(patch, key, add);
        add = NULL;
    }
    if (rv == 0 && json_array_size(del) > 0) {
        dkey = directive_key(DELETE_PREFIX, key);
        rv = dkey ? put_new(patch, dkey, del) : K1S_ENOMEM;
        del = NULL;
    }
    if (rv == 0 && json_array_size(order) > 0) {
        okey = directive_key(ORDER_PREFIX, key);
        rv = okey ? put_new(patch, okey, order) : K1S_ENOMEM;
        order = NULL;
    }
    json_decref(add);
    json_decref(del);
    json_decref(order);
    free(dkey);
    free(okey);
    return rv;
}

/* hasAdditionalNewField: orig has a non-null key that mod lacks. */
static bool has_dropped_field(const json_t *orig, const json_t *mod)
{
    const char *k;
    json_t *v;

    json_object_foreach ((json_t *)orig, k, v) {
        if (!json_is_null(v) && json_object_get(mod, k) == NULL)
            return true;
    }
    return false;
}

/* The $retainKeys list: the keys of mod whose value is not null, sorted
 * (keys are unique, so any sort gives Go's order). */
static json_t *retain_list(const json_t *mod)
{
    size_t n = json_object_size(mod), m = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    json_t *out = NULL, *v;
    const char *k;

    if (keys == NULL)
        return NULL;
    json_object_foreach ((json_t *)mod, k, v) {
        if (!json_is_null(v))
            keys[m++] = k;
    }
    qsort(keys, m, sizeof *keys, kctl_cmp_str);
    if ((out = json_array()) != NULL) {
        for (size_t i = 0; i < m; i++) {
            if (json_array_append_new(out, json_string(keys[i])) != 0) {
                json_decref(out);
                out = NULL;
                break;
            }
        }
    }
    free(keys);
    return out;
}

/* diffMaps: the patch that takes orig to mod, minus what o ignores. */
static int diff_maps(const json_t *orig, const json_t *mod,
                     const struct kctl_smp_schema *s, bool retain,
                     const struct dopt *o, int depth, json_t **ret)
{
    json_t *patch, *mv, *ov;
    const char *key;
    bool keep_any = false;
    int rv = 0;

    *ret = NULL;
    if (depth > SMP_MAX_DEPTH)
        return K1S_EINVAL;
    if ((patch = json_object()) == NULL)
        return K1S_ENOMEM;
    json_object_foreach ((json_t *)mod, key, mv) {
        if (!json_is_null(mv))
            keep_any = true;
        ov = json_object_get(orig, key);
        if (ov == NULL) {
            if (!o->ignore_changes)
                rv = put_copy(patch, key, mv);
        } else if (strcmp(key, PATCH_KEY) == 0) {
            if (!json_is_string(ov) || !json_is_string(mv))
                rv = K1S_EINVAL;
            else if (!json_equal(ov, mv))
                rv = put_copy(patch, key, mv);
        } else if (vclass(ov) != vclass(mv)) {
            if (!o->ignore_changes)
                rv = put_copy(patch, key, mv);
        } else if (json_is_object(ov)) {
            struct kctl_smp_field f;
            json_t *sub = NULL;
            kctl_smp_lookup(s, key, &f);
            rv = diff_maps(ov, mv, f.sub, f.retain_keys, o, depth + 1, &sub);
            if (rv == 0 && json_object_size(sub) > 0)
                rv = json_object_set(patch, key, sub) ? K1S_ENOMEM : 0;
            json_decref(sub);
        } else if (json_is_array(ov)) {
            rv = diff_list_field(key, ov, mv, patch, s, o, depth + 1);
        } else if (!o->ignore_changes && !json_equal(ov, mv)) {
            rv = put_copy(patch, key, mv);
        }
        if (rv != 0)
            goto err;
    }
    if (!o->ignore_deletions) {
        json_object_foreach ((json_t *)orig, key, ov) {
            if (json_object_get(mod, key) == NULL &&
                (rv = put_new(patch, key, json_null())) != 0)
                goto err;
        }
    }
    if (retain && keep_any &&
        (json_object_size(patch) > 0 || has_dropped_field(orig, mod))) {
        if ((rv = put_new(patch, RETAIN_KEY, retain_list(mod))) != 0)
            goto err;
    }
    *ret = patch;
    return 0;
err:
    json_decref(patch);
    return rv;
}

/* --------------------------------------------------------------- merge */

/*
 * mergeMap(deletions, delta) with MergeOptions{} as CreateThreeWayMergePatch
 * calls it: the directives of both patches are carried into the result
 * (they must agree where both have one), not applied. The merge builds new
 * containers and shares the untouched values of its inputs.
 */
static int merge_map(const json_t *orig, const json_t *patch,
                     const struct kctl_smp_schema *s, int depth, json_t **ret);

/* mergeSliceWithSpecialElements: applies the `$patch` items of a merge
 * list patch to the old list. *ret_orig is the old list without the
 * deleted items (or the patch's plain items, for `$patch: replace`),
 * *ret_patch the patch's plain items (NULL after a replace). */
static int merge_special(const json_t *orig, const json_t *patch,
                         const char *mkey, json_t **ret_orig,
                         json_t **ret_patch)
{
    json_t *o = json_copy((json_t *)orig), *p = json_array(), *v;
    bool replace = false;
    size_t i;
    int rv = 0;

    if (o == NULL || p == NULL) {
        rv = K1S_ENOMEM;
        goto out;
    }
    json_array_foreach (patch, i, v) {
        const json_t *d = json_object_get(v, PATCH_KEY);
        const char *ds = json_string_value(d);
        if (d == NULL) {
            if (json_array_append(p, v) != 0)
                rv = K1S_ENOMEM;
        } else if (ds != NULL && strcmp(ds, "delete") == 0) {
            const json_t *want = json_object_get(v, mkey);
            if (want == NULL) {
                rv = K1S_EINVAL;
            } else {
                for (size_t j = 0; rv == 0 && j < json_array_size(o);) {
                    json_t *x = json_array_get(o, j);
                    if (!json_is_object(x))
                        rv = K1S_EINVAL;
                    else if (json_object_get(x, mkey) != NULL &&
                             go_eq(json_object_get(x, mkey), want))
                        json_array_remove(o, j);
                    else
                        j++;
                }
            }
        } else if (ds != NULL && strcmp(ds, "replace") == 0) {
            replace = true;
        } else {
            rv = K1S_EINVAL; /* "merge" is refused by Go too */
        }
        if (rv != 0)
            goto out;
    }
    if (replace) {
        json_decref(o);
        *ret_orig = p;
        *ret_patch = NULL;
    } else {
        *ret_orig = o;
        *ret_patch = p;
    }
    return 0;
out:
    json_decref(o);
    json_decref(p);
    return rv;
}

/* mergeSlice for a merge list: a new list. */
static int merge_slice(const json_t *orig, const json_t *patch,
                       const struct kctl_smp_schema *s, const char *mkey,
                       int depth, json_t **ret)
{
    json_t *o2 = NULL, *p2 = NULL, *merged = NULL, *in = NULL, *out = NULL;
    const json_t *order, *server;
    enum vclass cls;
    int rv;

    *ret = NULL;
    if (depth > SMP_MAX_DEPTH)
        return K1S_EINVAL;
    if (json_array_size(orig) == 0 && json_array_size(patch) == 0) {
        *ret = json_incref((json_t *)orig);
        return 0;
    }
    if ((rv = element_class(orig, patch, &cls)) != 0)
        return rv;
    if (cls != VC_MAP) {
        json_t *both = json_copy((json_t *)orig);
        if (both == NULL || json_array_extend(both, (json_t *)patch) != 0) {
            json_decref(both);
            return K1S_ENOMEM;
        }
        merged = dedup_scalars(both);
        json_decref(both);
        if (merged == NULL)
            return K1S_ENOMEM;
        mkey = NULL;
        order = patch;
        server = orig;
    } else {
        size_t i;
        json_t *v;

        if (mkey == NULL || mkey[0] == '\0')
            return K1S_EINVAL;
        if ((rv = merge_special(orig, patch, mkey, &o2, &p2)) != 0)
            goto out;
        /* mergeSliceWithoutSpecialElements */
        if ((merged = json_copy(o2)) == NULL) {
            rv = K1S_ENOMEM;
            goto out;
        }
        json_array_foreach (p2, i, v) {
            const json_t *want = json_object_get(v, mkey);
            size_t j, at = SIZE_MAX;
            json_t *x;
            if (want == NULL) {
                rv = K1S_EINVAL;
                goto out;
            }
            json_array_foreach (merged, j, x) {
                if (!json_is_object(x)) {
                    rv = K1S_EINVAL;
                    goto out;
                }
                if (json_object_get(x, mkey) != NULL &&
                    go_eq(json_object_get(x, mkey), want)) {
                    at = j;
                    break;
                }
            }
            if (at != SIZE_MAX) {
                json_t *m = NULL;
                rv = merge_map(x, v, s, depth + 1, &m);
                if (rv == 0 && json_array_set_new(merged, at, m) != 0)
                    rv = K1S_ENOMEM;
            } else if (json_array_append(merged, v) != 0) {
                rv = K1S_ENOMEM;
            }
            if (rv != 0)
                goto out;
        }
        order = p2;
        server = o2;
    }
    if ((rv = partition(merged, order, mkey, &in, &out)) != 0)
        goto out;
    rv = normalize_element_order(in, out, order, server, mkey, ret);
out:
    json_decref(o2);
    json_decref(p2);
    json_decref(merged);
    json_decref(in);
    json_decref(out);
    return rv;
}

/* validatePatchWithSetOrderList: the plain items of the patch list come
 * in the order of the $setElementOrder list. */
static int check_order(const json_t *plist, const json_t *order,
                       const char *mkey)
{
    size_t np = json_array_size(plist), no = json_array_size(order);
    size_t pi = 0, oi = 0;

    if (np == 0 || no == 0)
        return 0;
    while (pi < np && oi < no) {
        const json_t *p = json_array_get(plist, pi);
        const json_t *o = json_array_get(order, oi);
        if (mkey != NULL && is_delete_item(p)) {
            pi++;
            continue;
        }
        if (json_is_object(p) && json_object_get(p, PATCH_KEY) != NULL) {
            pi++;
            continue;
        }
        if (mkey != NULL) {
            if (key_of(p, mkey) == NULL || key_of(o, mkey) == NULL)
                return K1S_EINVAL;
            if (go_eq(key_of(p, mkey), key_of(o, mkey)))
                pi++;
        } else if (go_eq(p, o)) {
            pi++;
        }
        oi++;
    }
    /* the items left must all be delete directives */
    for (; pi < np; pi++) {
        if (mkey == NULL || !is_delete_item(json_array_get(plist, pi)))
            return K1S_EINVAL;
    }
    return 0;
}

/* A map carrying "$patch". */
static bool has_patch_marker(const json_t *v)
{
    return json_is_object(v) && json_object_get(v, PATCH_KEY) != NULL;
}

/* removeDirectives: a copy of v without the maps that carry "$patch"
 * (dropped from their list, or their key dropped from their map), at any
 * depth. NULL when out of memory (or too deep, which check_depth has
 * already refused). */
static json_t *without_directives(const json_t *v, int depth)
{
    json_t *out, *c, *n;
    const char *k;
    size_t i;

    if (depth > SMP_MAX_DEPTH)
        return NULL;
    if (json_is_object(v)) {
        if ((out = json_object()) == NULL)
            return NULL;
        json_object_foreach ((json_t *)v, k, c) {
            if (has_patch_marker(c))
                continue;
            n = without_directives(c, depth + 1);
            if (n == NULL || json_object_set_new(out, k, n) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    if (json_is_array(v)) {
        if ((out = json_array()) == NULL)
            return NULL;
        json_array_foreach (v, i, c) {
            if (has_patch_marker(c))
                continue;
            n = without_directives(c, depth + 1);
            if (n == NULL || json_array_append_new(out, n) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    return json_incref((json_t *)v);
}

/* mergePatchIntoOriginal for one "$setElementOrder/<list>" of the patch:
 * carries the directive into res and merges <list>, ordered by it.
 * *ret_done: the list was set in res (the main loop must skip it). */
static int merge_order_directive(json_t *res, const json_t *orig,
                                 const json_t *patch, const char *key,
                                 const json_t *order,
                                 const struct kctl_smp_schema *s, int depth,
                                 bool *ret_done)
{
    const json_t *have = json_object_get(res, key), *ol, *pl;
    const char *lkey = strchr(key, '/');
    json_t *merged = NULL, *in = NULL, *out = NULL, *both = NULL;
    struct kctl_smp_field f;
    const char *mkey;
    enum vclass cls;
    int rv;

    *ret_done = false;
    if (have != NULL && !json_equal((json_t *)have, (json_t *)order))
        return K1S_EINVAL;
    if (have == NULL && json_object_set(res, key, (json_t *)order) != 0)
        return K1S_ENOMEM;
    if (!json_is_array(order) || lkey == NULL ||
        (size_t)(lkey - key) != strlen(ORDER_PREFIX))
        return K1S_EINVAL;
    lkey++;
    ol = json_object_get(orig, lkey);
    pl = json_object_get(patch, lkey);
    if ((ol != NULL && !json_is_array(ol)) ||
        (pl != NULL && !json_is_array(pl)))
        return K1S_EINVAL;
    kctl_smp_lookup(s, lkey, &f);
    mkey = f.merge_key && f.merge_key[0] ? f.merge_key : NULL;
    if ((rv = check_order(pl, order, mkey)) != 0)
        return rv;
    if (ol == NULL && pl == NULL)
        return 0;
    if (ol != NULL && pl == NULL)
        merged = json_incref((json_t *)ol);
    else if (ol == NULL) {
        /* the list was added: taken without its directives */
        if ((merged = without_directives(pl, depth)) == NULL)
            return K1S_ENOMEM;
    } else if (!f.merge)
        merged = json_incref((json_t *)pl);
    else if ((rv = merge_slice(ol, pl, f.sub, mkey, depth + 1, &merged)) != 0)
        return rv;

    if ((rv = element_class(ol, pl, &cls)) != 0)
        goto out;
    if (cls != VC_MAP)
        mkey = NULL;
    else if (mkey == NULL) {
        rv = K1S_EINVAL;
        goto out;
    }
    if ((rv = partition(merged, order, mkey, &in, &out)) != 0)
        goto out;
    if ((rv = normalize_element_order(in, out, order, ol, mkey, &both)) != 0)
        goto out;
    rv = put_new(res, lkey, both);
    *ret_done = rv == 0;
out:
    json_decref(merged);
    json_decref(in);
    json_decref(out);
    return rv;
}

static int merge_map(const json_t *orig, const json_t *patch,
                     const struct kctl_smp_schema *s, int depth, json_t **ret)
{
    const json_t *d = json_object_get(patch, PATCH_KEY);
    json_t *res = NULL, *done = NULL, *pv;
    const char *k;
    int rv = 0;

    *ret = NULL;
    if (depth > SMP_MAX_DEPTH)
        return K1S_EINVAL;
    if (d != NULL) { /* handleDirectiveInMergeMap */
        const char *ds = json_string_value(d);
        if (ds != NULL && strcmp(ds, "replace") == 0) {
            res = json_copy((json_t *)patch);
            if (res == NULL)
                return K1S_ENOMEM;
            json_object_del(res, PATCH_KEY);
        } else if (ds != NULL && strcmp(ds, "delete") == 0) {
            if ((res = json_object()) == NULL)
                return K1S_ENOMEM;
        } else {
            return K1S_EINVAL;
        }
        *ret = res;
        return 0;
    }
    if ((res = json_copy((json_t *)orig)) == NULL ||
        (done = json_object()) == NULL) {
        rv = K1S_ENOMEM;
        goto out;
    }

    /* applyRetainKeysDirective: both patches must say the same */
    pv = json_object_get(patch, RETAIN_KEY);
    if (pv != NULL) {
        const json_t *have = json_object_get(res, RETAIN_KEY);
        if (have != NULL && !json_equal((json_t *)have, pv)) {
            rv = K1S_EINVAL;
            goto out;
        }
        if (have == NULL && json_object_set(res, RETAIN_KEY, pv) != 0) {
            rv = K1S_ENOMEM;
            goto out;
        }
    }

    /* mergePatchIntoOriginal */
    json_object_foreach ((json_t *)patch, k, pv) {
        bool set;
        if (!has_prefix(k, ORDER_PREFIX))
            continue;
        rv = merge_order_directive(res, orig, patch, k, pv, s, depth, &set);
        if (rv == 0 && set)
            rv = json_object_set_new(done, strchr(k, '/') + 1, json_true())
                     ? K1S_ENOMEM
                     : 0;
        if (rv != 0)
            goto out;
    }

    json_object_foreach ((json_t *)patch, k, pv) {
        const json_t *ov;
        struct kctl_smp_field f;
        json_t *m = NULL;

        if (strcmp(k, RETAIN_KEY) == 0 || has_prefix(k, ORDER_PREFIX) ||
            json_object_get(done, k) != NULL)
            continue;
        ov = json_object_get(res, k);
        if (has_prefix(k, DELETE_PREFIX) || json_is_null(pv) ||
            (ov != NULL && vclass(ov) == vclass(pv) && !json_is_object(pv) &&
             !json_is_array(pv))) {
            rv = json_object_set(res, k, pv) ? K1S_ENOMEM : 0;
        } else if (ov == NULL || vclass(ov) != vclass(pv)) {
            /* taken whole, less its "$patch" maps (removeDirectives) */
            if (has_patch_marker(pv)) {
                json_object_del(res, k);
            } else {
                m = without_directives(pv, depth + 1);
                rv = m ? put_new(res, k, m) : K1S_ENOMEM;
            }
        } else {
            kctl_smp_lookup(s, k, &f);
            if (json_is_object(pv))
                rv = merge_map(ov, pv, f.sub, depth + 1, &m);
            else if (f.merge)
                rv = merge_slice(ov, pv, f.sub, f.merge_key, depth + 1, &m);
            else
                m = json_incref(pv);
            if (rv == 0)
                rv = put_new(res, k, m);
        }
        if (rv != 0)
            goto out;
    }
    *ret = res;
    res = NULL;
out:
    json_decref(res);
    json_decref(done);
    return rv;
}

/* ---------------------------------------------------- JSON merge patch */

/*
 * CreateThreeWayJSONMergePatch (evanphx/json-patch v4 underneath): the
 * changes and additions of diff(current -> modified) with every null
 * dropped, merged (RFC 7386, nulls pruned from what is added) into the
 * nulls of diff(original -> modified). Numbers are float64 there.
 */

enum jclass { JC_NULL, JC_BOOL, JC_NUMBER, JC_STRING, JC_MAP, JC_LIST };

static enum jclass jclass(const json_t *v)
{
    switch (vclass(v)) {
    case VC_BOOL:
        return JC_BOOL;
    case VC_INT:
    case VC_REAL:
        return JC_NUMBER;
    case VC_STRING:
        return JC_STRING;
    case VC_MAP:
        return JC_MAP;
    case VC_LIST:
        return JC_LIST;
    case VC_NULL:
    default:
        return JC_NULL;
    }
}

/* matchesValue: deep equality with numbers compared as float64. */
static bool jmp_equal(const json_t *a, const json_t *b)
{
    const char *k;
    json_t *v;
    size_t i;

    if (jclass(a) != jclass(b))
        return false;
    switch (jclass(a)) {
    case JC_NUMBER:
        return json_number_value(a) == json_number_value(b);
    case JC_MAP:
        if (json_object_size(a) != json_object_size(b))
            return false;
        json_object_foreach ((json_t *)b, k, v) {
            const json_t *av = json_object_get(a, k);
            if (av == NULL || !jmp_equal(av, v))
                return false;
        }
        return true;
    case JC_LIST:
        if (json_array_size(a) != json_array_size(b))
            return false;
        json_array_foreach (a, i, v) {
            if (!jmp_equal(v, json_array_get(b, i)))
                return false;
        }
        return true;
    case JC_NULL:
    case JC_BOOL:
    case JC_STRING:
    default:
        return json_equal((json_t *)a, (json_t *)b);
    }
}

/* getDiff: the merge patch from a to b (both maps). */
static int jmp_diff(const json_t *a, const json_t *b, int depth, json_t **ret)
{
    json_t *into = json_object(), *bv, *av;
    const char *k;
    int rv = 0;

    *ret = NULL;
    if (into == NULL)
        return K1S_ENOMEM;
    if (depth > SMP_MAX_DEPTH) {
        json_decref(into);
        return K1S_EINVAL;
    }
    json_object_foreach ((json_t *)b, k, bv) {
        av = json_object_get(a, k);
        if (av == NULL || jclass(av) != jclass(bv)) {
            rv = put_copy(into, k, bv);
        } else if (json_is_object(av)) {
            json_t *sub = NULL;
            rv = jmp_diff(av, bv, depth + 1, &sub);
            if (rv == 0 && json_object_size(sub) > 0)
                rv = json_object_set(into, k, sub) ? K1S_ENOMEM : 0;
            json_decref(sub);
        } else if (!jmp_equal(av, bv)) {
            rv = put_copy(into, k, bv);
        }
        if (rv != 0)
            goto err;
    }
    json_object_foreach ((json_t *)a, k, av) {
        if (json_object_get(b, k) == NULL &&
            (rv = put_new(into, k, json_null())) != 0)
            goto err;
    }
    *ret = into;
    return 0;
err:
    json_decref(into);
    return rv;
}

/* keepOrDeleteNullInObj: only the nulls (keep_null) or everything but
 * them; a map left empty is dropped, an empty map in the diff is a value. */
static int jmp_filter(const json_t *m, bool keep_null, int depth, json_t **ret)
{
    json_t *out = json_object(), *v;
    const char *k;
    int rv = 0;

    *ret = NULL;
    if (out == NULL)
        return K1S_ENOMEM;
    if (depth > SMP_MAX_DEPTH) {
        json_decref(out);
        return K1S_EINVAL;
    }
    json_object_foreach ((json_t *)m, k, v) {
        if (json_is_null(v)) {
            if (keep_null)
                rv = put_new(out, k, json_null());
        } else if (json_is_object(v) && json_object_size(v) == 0) {
            if (!keep_null)
                rv = json_object_set(out, k, v) ? K1S_ENOMEM : 0;
        } else if (json_is_object(v)) {
            json_t *sub = NULL;
            rv = jmp_filter(v, keep_null, depth + 1, &sub);
            if (rv == 0 && json_object_size(sub) > 0)
                rv = json_object_set(out, k, sub) ? K1S_ENOMEM : 0;
            json_decref(sub);
        } else if (!keep_null) {
            rv = json_object_set(out, k, v) ? K1S_ENOMEM : 0;
        }
        if (rv != 0) {
            json_decref(out);
            return rv;
        }
    }
    *ret = out;
    return 0;
}

/* pruneNulls: a copy of v without the null members of its maps (also in
 * maps inside lists; null list items stay). */
static json_t *jmp_pruned(const json_t *v, int depth)
{
    json_t *out, *c;
    const char *k;
    size_t i;

    if (depth > SMP_MAX_DEPTH)
        return NULL;
    if (json_is_object(v)) {
        if ((out = json_object()) == NULL)
            return NULL;
        json_object_foreach ((json_t *)v, k, c) {
            if (json_is_null(c))
                continue;
            if (json_object_set_new(out, k, jmp_pruned(c, depth + 1)) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    if (json_is_array(v)) {
        if ((out = json_array()) == NULL)
            return NULL;
        json_array_foreach (v, i, c) {
            if (json_array_append_new(out, jmp_pruned(c, depth + 1)) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    return json_deep_copy(v);
}

/* mergeDocs(doc, patch) without mergeMerge: doc is ours, changed in place
 * (every map in it was made by jmp_filter). */
static int jmp_merge(json_t *doc, const json_t *patch, int depth)
{
    const char *k;
    json_t *v;

    if (depth > SMP_MAX_DEPTH)
        return K1S_EINVAL;
    json_object_foreach ((json_t *)patch, k, v) {
        json_t *cur = json_object_get(doc, k);
        int rv = 0;
        if (json_is_null(v)) {
            json_object_del(doc, k);
        } else if (cur == NULL || json_is_null(cur) || !json_is_object(cur)) {
            rv = put_new(doc, k, jmp_pruned(v, depth + 1));
        } else if (!json_is_object(v)) {
            rv = json_object_set(doc, k, v) ? K1S_ENOMEM : 0;
        } else {
            rv = jmp_merge(cur, v, depth + 1);
        }
        if (rv != 0)
            return rv;
    }
    return 0;
}

static int jmp_three_way(const json_t *original, const json_t *modified,
                         const json_t *current, json_t **ret)
{
    json_t *d1 = NULL, *d2 = NULL, *add = NULL, *del = NULL;
    int rv;

    if ((rv = jmp_diff(current, modified, 1, &d1)) == 0 &&
        (rv = jmp_filter(d1, false, 1, &add)) == 0 &&
        (rv = jmp_diff(original, modified, 1, &d2)) == 0 &&
        (rv = jmp_filter(d2, true, 1, &del)) == 0 &&
        (rv = jmp_merge(del, add, 1)) == 0) {
        *ret = del;
        del = NULL;
    }
    json_decref(d1);
    json_decref(d2);
    json_decref(add);
    json_decref(del);
    return rv;
}

/* ---------------------------------------------------------------- API */

int kctl_smp_three_way(const json_t *original, const json_t *modified,
                       const json_t *current,
                       const struct kctl_smp_schema *schema, json_t **ret_patch)
{
    static const struct dopt delta_opt = {false, true};
    static const struct dopt deletions_opt = {true, false};
    json_t *empty = NULL, *delta = NULL, *deletions = NULL;
    int rv;

    if (!json_is_object(modified) ||
        (original != NULL && !json_is_object(original)) ||
        (current != NULL && !json_is_object(current)))
        return K1S_EINVAL;
    if (check_depth(modified, 1) != 0 ||
        (original != NULL && check_depth(original, 1) != 0) ||
        (current != NULL && check_depth(current, 1) != 0))
        return K1S_EINVAL;
    if ((empty = json_object()) == NULL)
        return K1S_ENOMEM;
    if (original == NULL)
        original = empty;
    if (current == NULL)
        current = empty;

    if (schema == NULL) {
        rv = jmp_three_way(original, modified, current, ret_patch);
        goto out;
    }
    rv = diff_maps(current, modified, schema, false, &delta_opt, 1, &delta);
    if (rv == 0)
        rv = diff_maps(original, modified, schema, false, &deletions_opt, 1,
                       &deletions);
    if (rv == 0)
        rv = merge_map(deletions, delta, schema, 1, ret_patch);
out:
    json_decref(empty);
    json_decref(delta);
    json_decref(deletions);
    return rv;
}

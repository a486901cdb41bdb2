/*
 * DESIGN: `get TYPE[,TYPE] [NAME…] | TYPE/NAME…`, printed as kubectl 1.32
 * prints it (k8s.io/kubectl/pkg/cmd/get, cli-runtime printers).
 *
 * Human output (default, -o wide) asks the server for meta.k8s.io/v1 Table
 * (kubectl-wire.md §4.4): the server formats every cell, ages included, so
 * this file only decorates and aligns. Each response (a list or one
 * object) is an "info"; infos print in request order through one
 * tabwriter. As in kubectl: a new resource type flushes the writer, forgets
 * the column widths and, once something was written, puts an empty line
 * before its header; a header prints only when a table's column
 * definitions differ from the last ones printed; NAME cells become
 * "kind.group/name" when the infos span more than one kind; -A adds
 * NAMESPACE first (namespaced types only), -L adds one column per label
 * key, --show-labels adds LABELS last. --sort-by sorts each info's rows
 * (asked with includeObject=Object), or for the other outputs the one
 * list of all items, by a JSONPath. -o custom-columns is
 * print_custom().
 * The writer is liggitt/tabwriter as kubectl configures it: every column
 * but the last is padded to max(6, widest cell + 3), widths are remembered
 * across flushes (a watch keeps its alignment, growing only).
 *
 * -o json|yaml|name|jsonpath ask for plain JSON; one named object prints
 * as itself, anything else as a `kind: List` (apiVersion v1, metadata
 * resourceVersion ""), managedFields omitted. -w prints the first state,
 * then follows ?watch=1 from the list's resourceVersion (a named object:
 * resourceVersion 0 and a metadata.name field selector, the synthetic
 * first ADDED skipped) until the server closes the stream or SIGINT ends
 * the process; stdout is flushed after every event.
 */
#include <stdlib.h>
#include <string.h>

#include "kubectl-lite/jsonpath.h"
#include "kubectl-lite/kctl_int.h"
#include "lib/clock.h"
#include "lib/err.h"

#define TABLE_ACCEPT                                                           \
    "application/json;as=Table;v=v1;g=meta.k8s.io,"                            \
    "application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

enum out_fmt {
    OUT_TABLE,
    OUT_WIDE,
    OUT_NAME,
    OUT_JSON,
    OUT_YAML,
    OUT_JSONPATH,
    OUT_CUSTOM /* custom-columns=HEADER:PATH,… (spec in tmpl) */
};

struct get_opts {
    enum out_fmt fmt;
    const char *tmpl; /* jsonpath template */
    const char *selector, *field_selector;
    char *sort_by;       /* --sort-by as a {…} template (heap), or NULL */
    struct kctl_strv lc; /* -L label keys, one per entry (split at ',') */
    bool all_ns, watch, watch_only, show_labels, no_headers, ignore_nf,
        show_kind;
};

/* One response: a Table (human output) or an object / list items. */
struct info {
    struct kctl_resource r;
    json_t *obj; /* new reference */
};

struct infos {
    struct info *v;
    size_t n;
};

static int infos_add(struct infos *is, const struct kctl_resource *r,
                     json_t *obj)
{
    struct info *nv = realloc(is->v, sizeof *nv * (is->n + 1));
    if (nv == NULL) {
        json_decref(obj);
        return K1S_ENOMEM;
    }
    nv[is->n].r = *r;
    nv[is->n].obj = obj;
    is->v = nv;
    is->n++;
    return 0;
}

static void infos_close(struct infos *is)
{
    for (size_t i = 0; i < is->n; i++)
        json_decref(is->v[i].obj);
    free(is->v);
}

/* ------------------------------------------------------------ tabwriter */

struct tw {
    json_t *lines;  /* arrays of cell strings, pending until tw_flush */
    size_t *widths; /* remembered column widths */
    size_t nwidths;
    size_t written; /* bytes written so far (kubectl's trackingWriter) */
    bool sep_ready; /* an empty line goes before the next output */
};

static void tw_init(struct tw *t)
{
    memset(t, 0, sizeof *t);
    t->lines = json_array();
}

static void tw_close(struct tw *t)
{
    json_decref(t->lines);
    free(t->widths);
}

static void out_write(struct tw *t, const char *s, size_t len)
{
    if (len == 0)
        return;
    if (t->sep_ready) {
        fputc('\n', stdout);
        t->written++;
        t->sep_ready = false;
    }
    fwrite(s, 1, len, stdout);
    t->written += len;
}

static void tw_flush(struct tw *t)
{
    size_t i, j, ncols = 0;
    json_t *line;
    struct buf b;

    json_array_foreach (t->lines, i, line) {
        if (json_array_size(line) > ncols)
            ncols = json_array_size(line);
    }
    if (ncols > 1 && t->nwidths < ncols - 1) {
        size_t *nw = realloc(t->widths, sizeof *nw * (ncols - 1));
        if (nw == NULL)
            return;
        for (j = t->nwidths; j < ncols - 1; j++)
            nw[j] = 0;
        t->widths = nw;
        t->nwidths = ncols - 1;
    }
    for (j = 0; j + 1 < ncols; j++) {
        size_t w = 6; /* kubectl's tabwriter minwidth */
        json_array_foreach (t->lines, i, line) {
            const char *c = json_string_value(json_array_get(line, j));
            size_t l = c ? kctl_runes(c, strlen(c)) + 3 : 0;
            if (j + 1 < json_array_size(line) && l > w)
                w = l;
        }
        if (t->widths[j] < w)
            t->widths[j] = w;
    }
    buf_init(&b);
    json_array_foreach (t->lines, i, line) {
        size_t n = json_array_size(line);
        buf_reset(&b);
        for (j = 0; j < n; j++) {
            const char *c = json_string_value(json_array_get(line, j));
            if (c == NULL)
                c = "";
            buf_append_str(&b, c);
            if (j + 1 < n)
                for (size_t k = kctl_runes(c, strlen(c)); k < t->widths[j]; k++)
                    buf_append_str(&b, " ");
        }
        buf_append_str(&b, "\n");
        out_write(t, b.data, b.len);
    }
    buf_close(&b);
    json_array_clear(t->lines);
}

static void tw_forget_widths(struct tw *t)
{
    free(t->widths);
    t->widths = NULL;
    t->nwidths = 0;
}

/* --------------------------------------------------------------- helpers */

static const char *jstr(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const json_t *meta(const json_t *obj)
{
    return json_object_get(obj, "metadata");
}

/* "deployment.apps" from a kind and group (kubectl's lower-cased
 * GroupKind.String()). */
static void kind_group(const char *kind, const char *group, char *out,
                       size_t len)
{
    size_t i;
    for (i = 0; kind[i] != '\0' && i + 1 < len; i++)
        out[i] =
            (char)((kind[i] >= 'A' && kind[i] <= 'Z') ? kind[i] + 32 : kind[i]);
    out[i] = '\0';
    if (group != NULL && group[0] != '\0') {
        size_t l = strlen(out);
        snprintf(out + l, len - l, ".%s", group);
    }
}

/* labels.FormatLabels: sorted "k=v" joined by ",", "<none>" when empty. */
/* A plain object or list turned into the NAME/AGE Table kubectl shows
 * when a server does not print (kubectl-wire.md §4.4). New reference. */
static json_t *fallback_table(const json_t *v)
{
    json_t *t =
        json_pack("{s:s, s:[{s:s, s:s, s:s, s:i}, {s:s, s:s, s:s,"
                  " s:i}], s:[]}",
                  "kind", "Table", "columnDefinitions", "name", "Name", "type",
                  "string", "format", "name", "priority", 0, "name", "Age",
                  "type", "string", "format", "", "priority", 0, "rows");
    const json_t *items = json_object_get(v, "items");
    json_t *one = NULL, *it;
    size_t i;
    int64_t now = clock_real_ns();

    if (t == NULL)
        return NULL;
    if (!json_is_array(items)) {
        one = json_pack("[O]", v);
        items = one;
    }
    json_array_foreach (items, i, it) {
        const char *ts = jstr(json_object_get(meta(it), "creationTimestamp"));
        int64_t tns;
        char age[32] = "<unknown>";
        if (ts != NULL && clock_parse_rfc3339(ts, &tns) == 0)
            kctl_human_duration(now - tns, age, sizeof age);
        json_array_append_new(
            json_object_get(t, "rows"),
            json_pack("{s:[s, s], s:O}", "cells",
                      jstr(json_object_get(meta(it), "name"))
                          ? jstr(json_object_get(meta(it), "name"))
                          : "",
                      age, "object", it));
    }
    json_object_set_new(
        t, "metadata",
        json_pack("{s:s}", "resourceVersion",
                  jstr(json_object_get(meta(v), "resourceVersion"))
                      ? jstr(json_object_get(meta(v), "resourceVersion"))
                      : ""));
    json_decref(one);
    return t;
}

/* ------------------------------------------------------------- requests */

static void add_selectors(struct buf *p, const struct get_opts *o, char *sep)
{
    if (o->selector != NULL) {
        buf_printf(p, "%clabelSelector=", *sep);
        kctl_query_escape(p, o->selector);
        *sep = '&';
    }
    if (o->field_selector != NULL) {
        buf_printf(p, "%cfieldSelector=", *sep);
        kctl_query_escape(p, o->field_selector);
        *sep = '&';
    }
}

/* Prints a failed response; returns 1 for "counts as an error", 0 for a
 * NotFound ignored by --ignore-not-found. */
static int report(const struct kctl_resp *r, const struct get_opts *o)
{
    if (r->status == 404 && o->ignore_nf)
        return 0;
    kctl_print_status(r, NULL);
    return 1;
}

/* GETs one object or a whole list (following `continue`), in Table form
 * when `table`. The result is appended to `is`. Returns 0, 1 after
 * printing an error, or -1 on a connection failure (printed). */
/* --sort-by: one element of the sorted array, its key (the template's
 * first value, NULL if none) and where it was, so that the sort is
 * stable. */
struct sort_el {
    json_t *el, *key;
    size_t at;
};

/* kubectl's sorter: numbers by value, strings byte-wise (not natural
 * order: n10 < n100 < n9, as checked against kubectl 1.32), false before
 * true; a missing value first; otherwise the order as listed. */
static int sort_cmp(const void *pa, const void *pb)
{
    const struct sort_el *a = pa, *b = pb;
    int c = 0;

    if (a->key == NULL || b->key == NULL)
        c = (a->key != NULL) - (b->key != NULL);
    else if (json_is_number(a->key) && json_is_number(b->key))
        c = (json_number_value(a->key) > json_number_value(b->key)) -
            (json_number_value(a->key) < json_number_value(b->key));
    else if (json_is_string(a->key) && json_is_string(b->key))
        c = strcmp(json_string_value(a->key), json_string_value(b->key));
    else if (json_is_boolean(a->key) && json_is_boolean(b->key))
        c = json_is_true(a->key) - json_is_true(b->key);
    if (c == 0)
        c = (a->at > b->at) - (a->at < b->at);
    return c;
}

/* Sorts arr in place by tmpl evaluated on each element (or on its member
 * `sub`: a Table row's object). */
static void sort_objects(json_t *arr, const char *sub, const char *tmpl)
{
    size_t n = json_array_size(arr), i;
    struct sort_el *v;
    json_t *el;
    char err[256];

    if (n < 2 || (v = calloc(n, sizeof *v)) == NULL)
        return;
    json_array_foreach (arr, i, el) {
        json_t *vals = NULL;
        v[i].el = json_incref(el);
        v[i].at = i;
        if (kctl_jsonpath_values(tmpl, sub ? json_object_get(el, sub) : el,
                                 &vals, err, sizeof err) == 0 &&
            json_array_size(vals) > 0)
            v[i].key = json_incref(json_array_get(vals, 0));
        json_decref(vals);
    }
    qsort(v, n, sizeof *v, sort_cmp);
    json_array_clear(arr);
    for (i = 0; i < n; i++) {
        json_array_append_new(arr, v[i].el);
        json_decref(v[i].key);
    }
    free(v);
}

static int fetch(struct kctl_client *cl, const struct kctl_target *t,
                 const struct get_opts *o, bool table, struct infos *is)
{
    const char *ns = o->all_ns ? NULL : kctl_namespace(cl);
    json_t *acc = NULL;
    char *cont = NULL;

    do {
        struct buf p;
        struct kctl_resp r;
        json_t *v;
        char sep = '?';

        buf_init(&p);
        kctl_resource_path(&p, &t->r, ns, t->name);
        if (table && o->sort_by != NULL) {
            /* rows carry whole objects, to be sorted by (as kubectl asks) */
            buf_printf(&p, "%cincludeObject=Object", sep);
            sep = '&';
        }
        if (t->name == NULL) {
            add_selectors(&p, o, &sep);
            buf_printf(&p, "%climit=500", sep);
            if (cont != NULL) {
                buf_printf(&p, "&continue=");
                kctl_query_escape(&p, cont);
            }
        }
        free(cont);
        cont = NULL;
        if (kctl_http(cl, "GET", p.data, NULL, NULL, 0,
                      table ? TABLE_ACCEPT : NULL, &r) != 0) {
            buf_close(&p);
            kctl_resp_close(&r);
            json_decref(acc);
            return -1;
        }
        buf_close(&p);
        if (r.status < 200 || r.status > 299) {
            int rv;
            if (t->name == NULL)
                kctl_wrap_list_error(&r, &t->r, o->selector, o->field_selector);
            rv = report(&r, o);
            kctl_resp_close(&r);
            json_decref(acc);
            return rv;
        }
        v = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
        kctl_resp_close(&r);
        if (v == NULL) {
            fprintf(stderr, "error: the server sent an unreadable response\n");
            json_decref(acc);
            return 1;
        }
        if (table) {
            const char *kind = jstr(json_object_get(v, "kind"));
            if (kind == NULL || strcmp(kind, "Table") != 0) {
                json_t *tb = fallback_table(v);
                json_decref(v);
                v = tb;
            }
        }
        if (jstr(json_object_get(meta(v), "continue")) != NULL &&
            jstr(json_object_get(meta(v), "continue"))[0] != '\0')
            cont = strdup(jstr(json_object_get(meta(v), "continue")));
        if (acc == NULL) {
            acc = v;
        } else {
            const char *key = table ? "rows" : "items";
            json_array_extend(json_object_get(acc, key),
                              json_object_get(v, key));
            json_object_set(acc, "metadata", json_object_get(v, "metadata"));
            json_decref(v);
        }
    } while (cont != NULL);
    if (o->sort_by != NULL && table) /* other outputs: the whole list */
        sort_objects(json_object_get(acc, "rows"), "object", o->sort_by);
    return infos_add(is, &t->r, acc) == 0 ? 0 : 1;
}

/* ----------------------------------------------------------- human print */

struct printer {
    const struct kctl_resource *r; /* the mapping being printed */
    json_t *last_cols;             /* column definitions last printed */
    bool with_ns, with_kind;
};

/* Prints one Table through the writer (kubectl's decorateTable +
 * printTable). */
static void print_table(struct tw *t, struct printer *pr, const json_t *tb,
                        const struct get_opts *o)
{
    const json_t *cols = json_object_get(tb, "columnDefinitions");
    const json_t *rows = json_object_get(tb, "rows");
    bool wide = o->fmt == OUT_WIDE, headers = !o->no_headers;
    size_t i, j, name_col = (size_t)-1;
    json_t *col, *row;
    char kg[160];

    if (json_array_size(cols) > 0) {
        if (pr->last_cols != NULL && json_equal(pr->last_cols, cols))
            headers = false;
        json_decref(pr->last_cols);
        pr->last_cols = json_deep_copy(cols);
    } else {
        headers = false;
        cols = pr->last_cols;
    }
    if (json_array_size(rows) == 0)
        return;
    json_array_foreach (cols, i, col) {
        const char *f = jstr(json_object_get(col, "format"));
        const char *ty = jstr(json_object_get(col, "type"));
        if (f && ty && strcmp(f, "name") == 0 && strcmp(ty, "string") == 0) {
            name_col = i;
            break;
        }
    }
    kind_group(pr->r->kind, pr->r->group, kg, sizeof kg);
    if (headers) {
        json_t *h = json_array();
        if (pr->with_ns)
            json_array_append_new(h, json_string("NAMESPACE"));
        json_array_foreach (cols, i, col) {
            const char *name = jstr(json_object_get(col, "name"));
            char up[256];
            size_t k;
            if (!wide && json_integer_value(json_object_get(col, "priority")))
                continue;
            for (k = 0; name && name[k] && k + 1 < sizeof up; k++)
                up[k] = (char)((name[k] >= 'a' && name[k] <= 'z') ? name[k] - 32
                                                                  : name[k]);
            up[k] = '\0';
            json_array_append_new(h, json_string(up));
        }
        for (int k = 0; k < o->lc.n; k++) {
            /* the key's last path segment, upper-cased
             * (app.kubernetes.io/name → NAME) */
            const char *seg = strrchr(o->lc.v[k], '/');
            char up[256];
            size_t m;
            seg = seg ? seg + 1 : o->lc.v[k];
            for (m = 0; seg[m] && m + 1 < sizeof up; m++)
                up[m] = (char)((seg[m] >= 'a' && seg[m] <= 'z') ? seg[m] - 32
                                                                : seg[m]);
            up[m] = '\0';
            json_array_append_new(h, json_string(up));
        }
        if (o->show_labels)
            json_array_append_new(h, json_string("LABELS"));
        json_array_append_new(t->lines, h);
    }
    json_array_foreach (rows, i, row) {
        const json_t *cells = json_object_get(row, "cells");
        const json_t *obj = json_object_get(row, "object");
        json_t *line = json_array();
        struct buf c;

        buf_init(&c);
        if (pr->with_ns) {
            const char *ns = jstr(json_object_get(meta(obj), "namespace"));
            json_array_append_new(line, json_string(ns ? ns : ""));
        }
        json_array_foreach (cols, j, col) {
            const json_t *cell = json_array_get(cells, j);
            if (!wide && json_integer_value(json_object_get(col, "priority")))
                continue;
            buf_reset(&c);
            buf_append_str(&c, "");
            if (j == name_col && pr->with_kind)
                buf_printf(&c, "%s/", kg);
            if (json_is_string(cell)) {
                const char *s = json_string_value(cell);
                size_t brk = strcspn(s, "\f\n\r");
                for (size_t k = 0; k < brk; k++) {
                    if (s[k] == '\x1b')
                        buf_append_str(&c, "^[");
                    else
                        buf_append(&c, s + k, 1);
                }
                if (s[brk] != '\0')
                    buf_append_str(&c, "...");
            } else if (json_is_integer(cell)) {
                buf_printf(&c, "%lld", (long long)json_integer_value(cell));
            } else if (json_is_real(cell)) {
                buf_printf(&c, "%g", json_real_value(cell));
            } else if (json_is_boolean(cell)) {
                buf_append_str(&c, json_is_true(cell) ? "true" : "false");
            } else if (cell != NULL && !json_is_null(cell)) {
                kctl_json_go(cell, 0, &c);
            }
            json_array_append_new(line, json_string(c.data));
        }
        for (int k = 0; k < o->lc.n; k++) {
            const char *lv = jstr(json_object_get(
                json_object_get(meta(obj), "labels"), o->lc.v[k]));
            json_array_append_new(line, json_string(lv ? lv : ""));
        }
        if (o->show_labels) {
            buf_reset(&c);
            kctl_format_labels(json_object_get(meta(obj), "labels"), &c);
            json_array_append_new(line, json_string(c.data ? c.data : ""));
        }
        buf_close(&c);
        json_array_append_new(t->lines, line);
    }
}

static bool same_resource(const struct kctl_resource *a,
                          const struct kctl_resource *b)
{
    return strcmp(a->group, b->group) == 0 &&
           strcmp(a->version, b->version) == 0 &&
           strcmp(a->resource, b->resource) == 0;
}

/* More than one group/kind among the infos: names get "kind/" prefixes. */
static bool multiple_kinds(const struct infos *is)
{
    for (size_t i = 1; i < is->n; i++)
        if (strcmp(is->v[i].r.group, is->v[0].r.group) != 0 ||
            strcmp(is->v[i].r.kind, is->v[0].r.kind) != 0)
            return true;
    return false;
}

/* kubectl's human-readable path over the collected infos. */
static void print_human(struct tw *t, struct printer *pr,
                        const struct infos *is, const struct get_opts *o)
{
    bool with_kind = o->show_kind || multiple_kinds(is);
    const struct kctl_resource *last = NULL;

    for (size_t i = 0; i < is->n; i++) {
        const struct kctl_resource *r = &is->v[i].r;
        if (last == NULL || !same_resource(last, r)) {
            tw_flush(t);
            tw_forget_widths(t);
            if (last != NULL && !o->no_headers && t->written > 0)
                t->sep_ready = true;
            json_decref(pr->last_cols);
            pr->last_cols = NULL;
            pr->r = r;
            pr->with_ns = o->all_ns && r->namespaced;
            pr->with_kind = with_kind;
            last = r;
        }
        print_table(t, pr, is->v[i].obj, o);
    }
    tw_flush(t);
}

/* --------------------------------------------------------- generic print */

/* Sets apiVersion/kind on list items that lack them (the list's kind minus
 * "List"), drops metadata.managedFields. */
static void normalise_items(json_t *list, const struct kctl_resource *r)
{
    json_t *it;
    size_t i;
    char av[128];

    if (r->group[0] != '\0')
        snprintf(av, sizeof av, "%s/%s", r->group, r->version);
    else
        snprintf(av, sizeof av, "%s", r->version);
    json_array_foreach (json_object_get(list, "items"), i, it) {
        if (json_object_get(it, "apiVersion") == NULL)
            json_object_set_new(it, "apiVersion", json_string(av));
        if (json_object_get(it, "kind") == NULL)
            json_object_set_new(it, "kind", json_string(r->kind));
        json_object_del(json_object_get(it, "metadata"), "managedFields");
    }
}

/* Prints one object (or List) in a generic format. yaml_count numbers the
 * YAML documents ("---" before every one but the first). Returns 0 or 1
 * after printing an error. */
/* One custom-columns column's template: the spec's path relaxed to a
 * {…} action, as kubectl's RelaxedJSONPathExpression makes it. */
static void relaxed_path(const char *p, size_t len, struct buf *out)
{
    if (len > 0 && p[0] == '{')
        buf_append(out, p, len);
    else
        buf_printf(out, "{%s%.*s}", len > 0 && p[0] == '.' ? "" : ".", (int)len,
                   p);
}

/* -o custom-columns=NAME:.metadata.name,IP:.status.podIP (kubectl's
 * CustomColumnsPrinter): a header line unless --no-headers, then a line
 * per object; several results of one column joined by ",", none is
 * "<none>"; aligned as kubectl's tabwriter aligns. Returns 0 or 1. */
static int print_custom(const json_t *obj, const struct get_opts *o)
{
    const json_t *items = json_object_get(obj, "items");
    json_t *one = NULL, *it, *heads = json_array(), *paths = json_array();
    char *spec = strdup(o->tmpl), *save = NULL;
    struct tw tw;
    size_t i;
    int rv = 0;

    tw_init(&tw);
    for (char *col = spec ? strtok_r(spec, ",", &save) : NULL; col != NULL;
         col = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(col, ':');
        struct buf t;
        if (colon == NULL || colon == col) {
            fprintf(stderr,
                    "error: unexpected custom-columns spec: %s, expected "
                    "<header>:<json-path-expr>\n",
                    col);
            rv = 1;
            goto out;
        }
        json_array_append_new(heads, json_stringn(col, (size_t)(colon - col)));
        buf_init(&t);
        relaxed_path(colon + 1, strlen(colon + 1), &t);
        json_array_append_new(paths, json_string(t.data ? t.data : ""));
        buf_close(&t);
    }
    if (!o->no_headers)
        json_array_append(tw.lines, heads);
    if (!json_is_array(items))
        items = one = json_pack("[O]", obj);
    json_array_foreach (items, i, it) {
        json_t *line = json_array(), *p;
        size_t c;
        json_array_foreach (paths, c, p) {
            json_t *vals = NULL, *v;
            char err[256];
            struct buf cell;
            size_t k;
            buf_init(&cell);
            buf_append_str(&cell, "");
            if (kctl_jsonpath_values(json_string_value(p), it, &vals, err,
                                     sizeof err) != 0) {
                fprintf(stderr, "error: %s\n", err);
                rv = 1;
            }
            json_array_foreach (vals, k, v) {
                if (k > 0)
                    buf_append_str(&cell, ",");
                kctl_go_v(v, &cell);
            }
            json_array_append_new(
                line,
                json_string(json_array_size(vals) ? cell.data : "<none>"));
            json_decref(vals);
            buf_close(&cell);
        }
        json_array_append_new(tw.lines, line);
    }
    tw_flush(&tw);
out:
    tw_close(&tw);
    json_decref(one);
    json_decref(heads);
    json_decref(paths);
    free(spec);
    return rv;
}

static int print_generic(const json_t *obj, const struct get_opts *o,
                         int *yaml_count)
{
    struct buf b;
    int rv = 0;

    buf_init(&b);
    switch (o->fmt) {
    case OUT_JSON:
        kctl_json_go(obj, 4, &b);
        buf_append_str(&b, "\n");
        break;
    case OUT_YAML:
        if ((*yaml_count)++ > 0)
            buf_append_str(&b, "---\n");
        if (kctl_yaml_emit(obj, &b) != 0)
            rv = 1;
        break;
    case OUT_NAME: {
        const json_t *items = json_object_get(obj, "items");
        json_t *one = NULL, *it;
        size_t i;
        if (!json_is_array(items))
            items = one = json_pack("[O]", obj);
        json_array_foreach (items, i, it) {
            const char *av = jstr(json_object_get(it, "apiVersion"));
            const char *kind = jstr(json_object_get(it, "kind"));
            const char *slash = av ? strchr(av, '/') : NULL;
            char group[128] = "", kg[256];
            if (slash != NULL)
                snprintf(group, sizeof group, "%.*s", (int)(slash - av), av);
            kind_group(kind ? kind : "", group, kg, sizeof kg);
            buf_printf(&b, "%s/%s\n", kg,
                       jstr(json_object_get(meta(it), "name"))
                           ? jstr(json_object_get(meta(it), "name"))
                           : "");
        }
        json_decref(one);
        break;
    }
    case OUT_JSONPATH: {
        char err[512];
        int jr = kctl_jsonpath(o->tmpl, obj, &b, err, sizeof err);
        if (jr != 0) {
            /* kubectl adds the object as Go's %#v; compact JSON here */
            struct buf qb, ob;
            buf_init(&qb);
            buf_init(&ob);
            kctl_go_quote(o->tmpl, &qb);
            kctl_json_go(obj, 0, &ob);
            fprintf(stderr,
                    "error: error executing jsonpath %s: Error executing "
                    "template: %s. Printing more information for debugging "
                    "the template:\n\ttemplate was:\n\t\t%s\n\tobject "
                    "given to jsonpath engine was:\n\t\t%s\n\n\n",
                    qb.data ? qb.data : "", err, o->tmpl,
                    ob.data ? ob.data : "");
            buf_close(&qb);
            buf_close(&ob);
            rv = 1;
        }
        break;
    }
    case OUT_CUSTOM:
        fwrite(b.data ? b.data : "", 1, b.len, stdout);
        buf_reset(&b);
        rv = print_custom(obj, o);
        break;
    case OUT_TABLE:
    case OUT_WIDE:
        break;
    }
    if (b.len > 0)
        fwrite(b.data, 1, b.len, stdout);
    buf_close(&b);
    return rv;
}

/* kubectl's printGeneric: one implied item as itself, else a List. */
static int print_generic_infos(const struct infos *is, const struct get_opts *o,
                               bool single)
{
    int yc = 0, rv;
    json_t *list;

    if (single && is->n == 1)
        return print_generic(is->v[0].obj, o, &yc);
    list = json_pack("{s:s, s:[], s:s, s:{s:s}}", "apiVersion", "v1", "items",
                     "kind", "List", "metadata", "resourceVersion", "");
    for (size_t i = 0; i < is->n; i++) {
        const json_t *obj = is->v[i].obj;
        if (json_is_array(json_object_get(obj, "items")))
            json_array_extend(json_object_get(list, "items"),
                              json_object_get(obj, "items"));
        else
            json_array_append(json_object_get(list, "items"), (json_t *)obj);
    }
    if (o->sort_by != NULL) /* kubectl sorts the one list, all types */
        sort_objects(json_object_get(list, "items"), NULL, o->sort_by);
    rv = print_generic(list, o, &yc);
    json_decref(list);
    return rv;
}

/* ----------------------------------------------------------------- watch */

struct watch_ctx {
    const struct get_opts *o;
    struct tw *t;
    struct printer *pr;
    bool skip_first;    /* a named object's synthetic ADDED */
    bool custom_headed; /* custom-columns header already printed */
    int yaml_count;
    int rv;
};

static int watch_line_cb(const char *line, size_t len, void *arg)
{
    struct watch_ctx *w = arg;
    json_t *ev = json_loadb(line, len, 0, NULL);
    const char *type = jstr(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");

    if (ev == NULL || type == NULL || obj == NULL) {
        json_decref(ev);
        return 0;
    }
    if (strcmp(type, "BOOKMARK") == 0) {
        json_decref(ev);
        return 0;
    }
    if (strcmp(type, "ERROR") == 0) {
        struct kctl_resp r;
        char *s = json_dumps(obj, JSON_COMPACT);
        memset(&r, 0, sizeof r);
        buf_init(&r.body);
        if (s != NULL)
            buf_append_str(&r.body, s);
        r.status = (long)json_integer_value(json_object_get(obj, "code"));
        kctl_print_status(&r, NULL);
        free(s);
        buf_close(&r.body);
        json_decref(ev);
        w->rv = 1;
        return 1;
    }
    if (w->skip_first) {
        w->skip_first = false;
        json_decref(ev);
        return 0;
    }
    if (w->o->fmt == OUT_TABLE || w->o->fmt == OUT_WIDE) {
        const char *kind = jstr(json_object_get(obj, "kind"));
        if (kind != NULL && strcmp(kind, "Table") == 0) {
            print_table(w->t, w->pr, obj, w->o);
        } else {
            json_t *tb = fallback_table(obj);
            print_table(w->t, w->pr, tb, w->o);
            json_decref(tb);
        }
        tw_flush(w->t);
    } else {
        struct get_opts eo = *w->o;
        json_object_del(json_object_get(obj, "metadata"), "managedFields");
        if (eo.fmt == OUT_CUSTOM) {
            eo.no_headers = eo.no_headers || w->custom_headed;
            w->custom_headed = true;
        }
        if (print_generic(obj, &eo, &w->yaml_count) != 0)
            w->rv = 1;
    }
    fflush(stdout);
    json_decref(ev);
    return 0;
}

static int run_watch(struct kctl_client *cl, const struct kctl_target *t,
                     const struct get_opts *o)
{
    bool table = o->fmt == OUT_TABLE || o->fmt == OUT_WIDE;
    struct infos is = {0};
    struct tw tw;
    struct printer pr = {0};
    struct watch_ctx w = {0};
    const char *rv_s = "0";
    struct buf p;
    char sep = '?';
    int rv;

    tw_init(&tw);
    rv = fetch(cl, t, o, table, &is);
    if (rv != 0)
        goto out;
    if (!o->watch_only) {
        if (table) {
            pr.r = &is.v[0].r;
            pr.with_ns = o->all_ns && t->r.namespaced;
            pr.with_kind = o->show_kind;
            print_table(&tw, &pr, is.v[0].obj, o);
            tw_flush(&tw);
        } else {
            const json_t *items = json_object_get(is.v[0].obj, "items");
            json_t *it;
            size_t i;
            if (t->name == NULL && o->fmt == OUT_CUSTOM) {
                /* one table, header once (kubectl) */
                normalise_items(is.v[0].obj, &t->r);
                if (print_generic(is.v[0].obj, o, &w.yaml_count) != 0)
                    rv = 1;
            } else if (t->name == NULL) {
                normalise_items(is.v[0].obj, &t->r);
                json_array_foreach (items, i, it) {
                    if (print_generic(it, o, &w.yaml_count) != 0)
                        rv = 1;
                }
            } else {
                json_object_del(json_object_get(is.v[0].obj, "metadata"),
                                "managedFields");
                if (print_generic(is.v[0].obj, o, &w.yaml_count) != 0)
                    rv = 1;
            }
        }
    } else if (table) {
        pr.r = &is.v[0].r;
        pr.with_ns = o->all_ns && t->r.namespaced;
        pr.with_kind = o->show_kind;
    }
    fflush(stdout);
    if (t->name == NULL)
        rv_s = jstr(json_object_get(meta(is.v[0].obj), "resourceVersion"));
    buf_init(&p);
    kctl_resource_path(&p, &t->r, o->all_ns ? NULL : kctl_namespace(cl), NULL);
    if (t->name != NULL) {
        buf_printf(&p, "?fieldSelector=metadata.name%%3D");
        kctl_query_escape(&p, t->name);
        sep = '&';
        w.skip_first = true;
    } else {
        add_selectors(&p, o, &sep);
    }
    if (rv_s != NULL && rv_s[0] != '\0') {
        buf_printf(&p, "%cresourceVersion=", sep);
        kctl_query_escape(&p, rv_s);
        sep = '&';
    }
    buf_printf(&p, "%cwatch=1", sep);
    /* custom columns: the header once (with the list, or with the first
     * change under --watch-only), then a row per change (kubectl) */
    w.custom_headed = !o->watch_only;
    w.o = o;
    w.t = &tw;
    w.pr = &pr;
    if (kctl_stream(cl, p.data, table ? TABLE_ACCEPT : NULL, watch_line_cb,
                    &w) < 0)
        rv = 1;
    if (w.rv != 0)
        rv = w.rv;
    buf_close(&p);
    fflush(stdout);
out:
    json_decref(pr.last_cols);
    tw_close(&tw);
    infos_close(&is);
    return rv < 0 ? 1 : rv;
}

/* ------------------------------------------------------------- the verb */

static int parse_output(const char *v, struct get_opts *o)
{
    if (v == NULL || v[0] == '\0') {
        o->fmt = OUT_TABLE;
    } else if (strcmp(v, "wide") == 0) {
        o->fmt = OUT_WIDE;
    } else if (strcmp(v, "name") == 0) {
        o->fmt = OUT_NAME;
    } else if (strcmp(v, "json") == 0) {
        o->fmt = OUT_JSON;
    } else if (strcmp(v, "yaml") == 0) {
        o->fmt = OUT_YAML;
    } else if (strncmp(v, "custom-columns=", 15) == 0) {
        if (v[15] == '\0') {
            fprintf(stderr, "error: custom-columns format specified but no "
                            "custom columns given\n");
            return 1;
        }
        o->fmt = OUT_CUSTOM;
        o->tmpl = v + 15;
    } else if (strncmp(v, "jsonpath", 8) == 0 &&
               (v[8] == '\0' || v[8] == '=')) {
        char err[256];
        struct buf b;
        int rv;
        if (v[8] == '\0' || v[9] == '\0') {
            fprintf(stderr, "error: template format specified but no template "
                            "given\n");
            return 1;
        }
        o->fmt = OUT_JSONPATH;
        o->tmpl = v + 9;
        buf_init(&b);
        rv = kctl_jsonpath(o->tmpl, json_null(), &b, err, sizeof err);
        buf_close(&b);
        if (rv == K1S_EINVAL) {
            fprintf(stderr, "error: error parsing jsonpath %s, %s\n", o->tmpl,
                    err);
            return 1;
        }
    } else {
        fprintf(stderr,
                "error: unable to match a printer suitable for the output "
                "format \"%s\", allowed formats are: custom-columns,"
                "custom-columns-file,go-template,go-template-file,json,"
                "jsonpath,jsonpath-as-json,jsonpath-file,name,template,"
                "templatefile,wide,yaml\n",
                v);
        return 1;
    }
    return 0;
}

/* --raw PATH: the response body as it came. */
static int get_raw(struct kctl_client *cl, const char *path)
{
    struct kctl_resp r;
    int rv = 0;

    if (kctl_http(cl, "GET", path, NULL, NULL, 0, "application/json, */*",
                  &r) != 0) {
        kctl_resp_close(&r);
        return 1;
    }
    if (r.status < 200 || r.status > 299) {
        kctl_print_status(&r, NULL);
        rv = 1;
    } else if (r.body.len > 0) {
        fwrite(r.body.data, 1, r.body.len, stdout);
    }
    kctl_resp_close(&r);
    return rv;
}

/* "all" (and any other category) expanded into the resources that list
 * it in discovery, preferred version first, each once. New string. */
static char *expand_categories(struct kctl_client *cl, const char *types)
{
    char *dup = strdup(types), *save = NULL;
    struct buf out;

    if (dup == NULL)
        return NULL;
    buf_init(&out);
    buf_append_str(&out, "");
    for (char *t = strtok_r(dup, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        const json_t *all = strcmp(t, "all") == 0 ? kctl_discovery(cl) : NULL;
        json_t *e, *seen = json_object();
        size_t i;
        if (all == NULL) {
            buf_printf(&out, "%s%s", out.len ? "," : "", t);
            json_decref(seen);
            continue;
        }
        json_array_foreach ((json_t *)all, i, e) {
            size_t k;
            json_t *c;
            char key[160];
            bool in = false;
            json_array_foreach (json_object_get(e, "categories"), k, c) {
                if (jstr(c) && strcmp(jstr(c), t) == 0)
                    in = true;
            }
            snprintf(key, sizeof key, "%s.%s",
                     jstr(json_object_get(e, "resource")),
                     jstr(json_object_get(e, "group")));
            if (!in || json_object_get(seen, key) != NULL)
                continue;
            json_object_set_new(seen, key, json_true());
            buf_printf(&out, "%s%s", out.len ? "," : "", key);
            if (out.data[out.len - 1] == '.')
                out.data[--out.len] = '\0';
        }
        json_decref(seen);
    }
    free(dup);
    return buf_steal(&out, NULL);
}

int kctl_cmd_get(struct kctl_client *cl, int argc, char **argv)
{
    struct get_opts o = {0};
    const char *output = NULL, *chunk = NULL, *raw = NULL, *sort_by = NULL;
    struct kctl_strv label_cols = {0};
    char *lc_copy = NULL;
    bool watch_events = false;
    const struct kctl_opt opts[] = {
        {"output", 'o', KCTL_OPT_STR, &output},
        {"selector", 'l', KCTL_OPT_STR, &o.selector},
        {"field-selector", 0, KCTL_OPT_STR, &o.field_selector},
        {"all-namespaces", 'A', KCTL_OPT_BOOL, &o.all_ns},
        {"watch", 'w', KCTL_OPT_BOOL, &o.watch},
        {"watch-only", 0, KCTL_OPT_BOOL, &o.watch_only},
        {"show-labels", 0, KCTL_OPT_BOOL, &o.show_labels},
        {"sort-by", 0, KCTL_OPT_STR, &sort_by},
        {"label-columns", 'L', KCTL_OPT_STRS, &label_cols},
        {"no-headers", 0, KCTL_OPT_BOOL, &o.no_headers},
        {"ignore-not-found", 0, KCTL_OPT_BOOL, &o.ignore_nf},
        {"show-kind", 0, KCTL_OPT_BOOL, &o.show_kind},
        /* accepted for kubectl's sake; lists are read in pages of 500 */
        {"chunk-size", 0, KCTL_OPT_STR, &chunk},
        /* accepted, not implemented: no EVENT column yet */
        {"output-watch-events", 0, KCTL_OPT_BOOL, &watch_events},
        {"raw", 0, KCTL_OPT_STR, &raw},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    struct kctl_target *t = NULL;
    struct infos is = {0};
    char *types = NULL;
    const char **args = NULL;
    int nt = 0, rv = 0;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (parse_output(output, &o) != 0) {
        rv = 1;
        goto out;
    }
    if (o.watch_only)
        o.watch = true;
    if (sort_by != NULL && sort_by[0] != '\0') {
        /* kubectl's RelaxedJSONPathExpression: "a.b", ".a.b", "{.a.b}" */
        struct buf b;
        char err[256];
        buf_init(&b);
        if (sort_by[0] == '{')
            buf_append_str(&b, sort_by);
        else
            buf_printf(&b, "{%s%s}", sort_by[0] == '.' ? "" : ".", sort_by);
        o.sort_by = buf_steal(&b, NULL);
        buf_init(&b);
        if (kctl_jsonpath(o.sort_by, json_null(), &b, err, sizeof err) ==
            K1S_EINVAL) {
            fprintf(stderr, "error: error parsing jsonpath %s, %s\n", o.sort_by,
                    err);
            buf_close(&b);
            rv = 1;
            goto out;
        }
        buf_close(&b);
    }
    if (label_cols.n > 0) {
        /* -L a,b -L c: one column per key, in order */
        struct buf all;
        buf_init(&all);
        for (int k = 0; k < label_cols.n; k++)
            buf_printf(&all, "%s%s", k ? "," : "", label_cols.v[k]);
        lc_copy = buf_steal(&all, NULL);
        for (char *tok = strtok(lc_copy, ","); tok; tok = strtok(NULL, ",")) {
            const char **nv =
                realloc(o.lc.v, sizeof *nv * (size_t)(o.lc.n + 1));
            if (nv == NULL)
                break;
            o.lc.v = nv;
            o.lc.v[o.lc.n++] = tok;
        }
    }
    if (raw != NULL) {
        rv = get_raw(cl, raw);
        goto out;
    }
    if (pos.n == 0) {
        fprintf(stderr,
                "You must specify the type of resource to get. Use "
                "\"kubectl api-resources\" for a complete list of supported "
                "resources.\n\nerror: Required resource not specified.\nUse "
                "\"kubectl explain <resource>\" for a detailed description "
                "of that resource (e.g. kubectl explain pods).\nSee "
                "'kubectl get -h' for help and examples\n");
        rv = 1;
        goto out;
    }
    args = malloc(sizeof *args * (size_t)pos.n);
    if (args == NULL) {
        rv = 1;
        goto out;
    }
    memcpy(args, pos.v, sizeof *args * (size_t)pos.n);
    if (strchr(args[0], '/') == NULL) {
        types = expand_categories(cl, args[0]);
        if (types == NULL) {
            rv = 1;
            goto out;
        }
        args[0] = types;
    }
    if (kctl_targets(cl, args, pos.n, &t, &nt) != 0) {
        rv = 1;
        goto out;
    }
    for (int i = 0; i < nt; i++) {
        if (t[i].name == NULL)
            continue;
        if (o.selector != NULL || o.field_selector != NULL) {
            fprintf(stderr, "error: name cannot be provided when a selector "
                            "is specified\n");
            rv = 1;
            goto out;
        }
        if (o.all_ns && t[i].r.namespaced) {
            fprintf(stderr, "error: a resource cannot be retrieved by name "
                            "across all namespaces\n");
            rv = 1;
            goto out;
        }
    }

    if (o.watch) {
        for (int i = 1; i < nt; i++)
            if (!same_resource(&t[0].r, &t[i].r)) {
                fprintf(stderr, "error: you may only specify a single resource "
                                "type\n");
                rv = 1;
                goto out;
            }
        if (nt == 1) {
            rv = run_watch(cl, &t[0], &o);
            goto out;
        }
        /* several names: kubectl prints them, then refuses to watch */
    }

    {
        bool table = o.fmt == OUT_TABLE || o.fmt == OUT_WIDE;
        bool single = nt == 1 && t[0].name != NULL;
        for (int i = 0; i < nt; i++) {
            int fr = fetch(cl, &t[i], &o, table, &is);
            if (fr < 0) {
                rv = 1;
                goto out;
            }
            if (fr != 0)
                rv = 1;
        }
        if (table) {
            struct tw tw;
            struct printer pr = {0};
            tw_init(&tw);
            print_human(&tw, &pr, &is, &o);
            if (tw.written == 0 && !o.ignore_nf && rv == 0) {
                bool all_namespaced = !o.all_ns;
                for (size_t i = 0; i < is.n; i++)
                    all_namespaced = all_namespaced && is.v[i].r.namespaced;
                if (all_namespaced)
                    fprintf(stderr, "No resources found in %s namespace.\n",
                            kctl_namespace(cl));
                else
                    fprintf(stderr, "No resources found\n");
            }
            json_decref(pr.last_cols);
            tw_close(&tw);
        } else {
            if (single && rv != 0)
                goto out;
            for (size_t i = 0; i < is.n; i++) {
                if (json_is_array(json_object_get(is.v[i].obj, "items")))
                    normalise_items(is.v[i].obj, &is.v[i].r);
                else
                    json_object_del(json_object_get(is.v[i].obj, "metadata"),
                                    "managedFields");
            }
            if (!(is.n == 0 && o.ignore_nf) &&
                print_generic_infos(&is, &o, single) != 0)
                rv = 1;
        }
        if (o.watch && nt > 1) {
            fflush(stdout);
            fprintf(stderr, "error: you may only watch a single resource or "
                            "type of resource at a time\n");
            rv = 1;
        }
    }
out:
    infos_close(&is);
    free(t);
    free(types);
    free(args);
    free(pos.v);
    free(o.sort_by);
    free(o.lc.v);
    free(lc_copy);
    free(label_cols.v);
    return rv;
}

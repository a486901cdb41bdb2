/*
 * DESIGN: `api-resources`, from the server's discovery (kctl_discovery):
 * the preferred version of every resource (subresources left out), sorted
 * as kubectl sorts them — by API group, core first, then by name — in
 * kubectl's columns NAME SHORTNAMES APIVERSION NAMESPACED KIND (+ VERBS
 * CATEGORIES with -o wide), aligned by the same tabwriter rule as `get`
 * (every column but the last padded to max(6, widest + 3)). -o name prints
 * "resource.group". Filters: --namespaced=true|false, --api-group=G,
 * --verbs=v1,v2 (all of them), --categories=c.
 */
#include <stdlib.h>
#include <string.h>

#include "kubectl-lite/kctl_int.h"

static const char *jstr(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

static int cmp_entries(const void *a, const void *b)
{
    const json_t *x = *(const json_t *const *)a, *y = *(const json_t *const *)b;
    int c = strcmp(jstr(json_object_get(x, "group")),
                   jstr(json_object_get(y, "group")));
    if (c != 0)
        return c;
    return strcmp(jstr(json_object_get(x, "resource")),
                  jstr(json_object_get(y, "resource")));
}

static int cmp_field(const json_t *x, const json_t *y, const char *field)
{
    return strcmp(jstr(json_object_get(x, field)),
                  jstr(json_object_get(y, field)));
}

/* "a,b,c" of a string array. */
static void join(const json_t *arr, struct buf *out)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        buf_printf(out, "%s%s", i ? "," : "", jstr(v));
    }
}

static bool contains(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach (arr, i, v) {
        if (strcmp(jstr(v), s) == 0)
            return true;
    }
    return false;
}

/* Prints rows (arrays of strings, all the same length) aligned. */
static void print_aligned(const json_t *rows)
{
    size_t ncols = json_array_size(json_array_get(rows, 0)), i, j;
    size_t *w = calloc(ncols ? ncols : 1, sizeof *w);
    json_t *row;

    if (w == NULL)
        return;
    for (j = 0; j < ncols; j++) {
        w[j] = 6;
        json_array_foreach (rows, i, row) {
            const char *c = jstr(json_array_get(row, j));
            size_t l = kctl_runes(c, strlen(c)) + 3;
            if (l > w[j])
                w[j] = l;
        }
    }
    json_array_foreach (rows, i, row) {
        for (j = 0; j < ncols; j++) {
            const char *c = jstr(json_array_get(row, j));
            fputs(c, stdout);
            if (j + 1 < ncols)
                for (size_t k = kctl_runes(c, strlen(c)); k < w[j]; k++)
                    fputc(' ', stdout);
        }
        fputc('\n', stdout);
    }
    free(w);
}

int kctl_cmd_api_resources(struct kctl_client *cl, int argc, char **argv)
{
    const char *output = NULL, *namespaced = NULL, *group = NULL, *verbs = NULL,
               *sort_by = NULL, *categories = NULL;
    bool no_headers = false, cached = false;
    const struct kctl_opt opts[] = {
        {"output", 'o', KCTL_OPT_STR, &output},
        {"namespaced", 0, KCTL_OPT_STR, &namespaced},
        {"api-group", 0, KCTL_OPT_STR, &group},
        {"verbs", 0, KCTL_OPT_STR, &verbs},
        {"sort-by", 0, KCTL_OPT_STR, &sort_by},
        {"categories", 0, KCTL_OPT_STR, &categories},
        {"no-headers", 0, KCTL_OPT_BOOL, &no_headers},
        {"cached", 0, KCTL_OPT_BOOL, &cached},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    const json_t *all;
    const json_t **sel = NULL;
    json_t *seen = NULL, *e, *rows = NULL, *verb_list = NULL;
    size_t i, n = 0;
    bool wide = false, name_only = false;
    int ns_filter = -1; /* -1 any, 0 cluster, 1 namespaced */
    int rv = 0;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (pos.n > 0) {
        fprintf(stderr,
                "error: unexpected arguments: [%s]\nSee 'kubectl "
                "api-resources -h' for help and examples\n",
                pos.v[0]);
        rv = 1;
        goto out;
    }
    if (output != NULL) {
        if (strcmp(output, "wide") == 0) {
            wide = true;
        } else if (strcmp(output, "name") == 0) {
            name_only = true;
        } else {
            fprintf(stderr, "error: --output %s is not available\n", output);
            rv = 1;
            goto out;
        }
    }
    if (namespaced != NULL) {
        if (strcmp(namespaced, "true") == 0) {
            ns_filter = 1;
        } else if (strcmp(namespaced, "false") == 0) {
            ns_filter = 0;
        } else {
            fprintf(stderr,
                    "error: invalid argument \"%s\" for \"--namespaced\" "
                    "flag: strconv.ParseBool: parsing \"%s\": invalid "
                    "syntax\nSee 'kubectl api-resources --help' for "
                    "usage.\n",
                    namespaced, namespaced);
            rv = 1;
            goto out;
        }
    }
    if (sort_by != NULL && strcmp(sort_by, "name") != 0 &&
        strcmp(sort_by, "kind") != 0) {
        fprintf(stderr,
                "error: --sort-by accepts only name or kind\nSee 'kubectl "
                "api-resources -h' for help and examples\n");
        rv = 1;
        goto out;
    }
    all = kctl_discovery(cl);
    if (all == NULL) {
        rv = 1;
        goto out;
    }
    if (verbs != NULL) {
        char *dup = strdup(verbs), *save = NULL;
        verb_list = json_array();
        for (char *v = dup ? strtok_r(dup, ",", &save) : NULL; v != NULL;
             v = strtok_r(NULL, ",", &save))
            json_array_append_new(verb_list, json_string(v));
        free(dup);
    }
    sel = malloc(sizeof *sel * (json_array_size(all) + 1));
    seen = json_object();
    if (sel == NULL || seen == NULL) {
        rv = 1;
        goto out;
    }
    json_array_foreach ((json_t *)all, i, e) {
        char key[200];
        size_t k;
        json_t *v;
        bool ok = true;

        /* discovery lists preferred versions first: keep the first */
        snprintf(key, sizeof key, "%s/%s", jstr(json_object_get(e, "group")),
                 jstr(json_object_get(e, "resource")));
        if (json_object_get(seen, key) != NULL)
            continue;
        json_object_set_new(seen, key, json_true());
        if (ns_filter >= 0 &&
            json_is_true(json_object_get(e, "namespaced")) != ns_filter)
            continue;
        if (group != NULL &&
            strcmp(jstr(json_object_get(e, "group")), group) != 0)
            continue;
        json_array_foreach (verb_list, k, v) {
            if (!contains(json_object_get(e, "verbs"), jstr(v)))
                ok = false;
        }
        if (categories != NULL &&
            !contains(json_object_get(e, "categories"), categories))
            ok = false;
        if (ok)
            sel[n++] = e;
    }
    /* sort.Stable by group then name (or by name / kind with --sort-by):
     * an insertion sort keeps it stable */
    for (size_t a = 1; a < n; a++) {
        for (size_t b = a; b > 0; b--) {
            int c;
            if (sort_by == NULL)
                c = cmp_entries(&sel[b - 1], &sel[b]);
            else if (strcmp(sort_by, "name") == 0)
                c = cmp_field(sel[b - 1], sel[b], "resource");
            else
                c = cmp_field(sel[b - 1], sel[b], "kind");
            if (c <= 0)
                break;
            const json_t *tmp = sel[b];
            sel[b] = sel[b - 1];
            sel[b - 1] = tmp;
        }
    }
    if (name_only) {
        for (i = 0; i < n; i++) {
            const char *g = jstr(json_object_get(sel[i], "group"));
            printf("%s%s%s\n", jstr(json_object_get(sel[i], "resource")),
                   g[0] ? "." : "", g);
        }
        goto out;
    }
    rows = json_array();
    if (!no_headers)
        json_array_append_new(
            rows, wide ? json_pack("[s,s,s,s,s,s,s]", "NAME", "SHORTNAMES",
                                   "APIVERSION", "NAMESPACED", "KIND", "VERBS",
                                   "CATEGORIES")
                       : json_pack("[s,s,s,s,s]", "NAME", "SHORTNAMES",
                                   "APIVERSION", "NAMESPACED", "KIND"));
    for (i = 0; i < n; i++) {
        const json_t *r = sel[i];
        const char *g = jstr(json_object_get(r, "group"));
        struct buf sn, av, vb, ct;
        json_t *row;

        buf_init(&sn);
        buf_init(&av);
        buf_init(&vb);
        buf_init(&ct);
        buf_append_str(&sn, "");
        buf_append_str(&vb, "");
        buf_append_str(&ct, "");
        join(json_object_get(r, "shortNames"), &sn);
        buf_printf(&av, "%s%s%s", g, g[0] ? "/" : "",
                   jstr(json_object_get(r, "version")));
        join(json_object_get(r, "verbs"), &vb);
        join(json_object_get(r, "categories"), &ct);
        row = json_pack(
            "[s,s,s,s,s]", jstr(json_object_get(r, "resource")), sn.data,
            av.data,
            json_is_true(json_object_get(r, "namespaced")) ? "true" : "false",
            jstr(json_object_get(r, "kind")));
        if (wide && row != NULL) {
            json_array_append_new(row, json_string(vb.data));
            json_array_append_new(row, json_string(ct.data));
        }
        json_array_append_new(rows, row);
        buf_close(&sn);
        buf_close(&av);
        buf_close(&vb);
        buf_close(&ct);
    }
    print_aligned(rows);
out:
    json_decref(rows);
    json_decref(seen);
    json_decref(verb_list);
    free(sel);
    free(pos.v);
    return rv;
}

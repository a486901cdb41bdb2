/*
 * DESIGN: `label` and `annotate`, one engine for both (kubectl's label.go
 * and annotate.go differ only in the details kept below).
 *
 * Arguments are resources first, then changes ("k=v" sets, "k-" removes;
 * cmdutil.GetResourcesAndPairs). Each object the arguments name is read
 * (TYPE NAME, TYPE/NAME, TYPE -l SEL, TYPE --all, -f FILE), its map
 * changed in memory, and the difference sent as a JSON merge patch of
 * metadata.labels / metadata.annotations with fieldManager=kubectl-label /
 * kubectl-annotate (kubectl-wire.md §4.7); --resource-version adds
 * metadata.resourceVersion to the patch so the server checks it.
 *
 * The differences between the two verbs, as kubectl has them:
 *   - without --overwrite, both refuse only a *different* value; label
 *     says "'k' already has a value (v), and --overwrite is false",
 *     annotate lists them after "--overwrite is false but found the
 *     following declared annotation(s): " and always lets
 *     kubernetes.io/change-cause through;
 *   - label says "labeled", "unlabeled" (a removal without --overwrite) or
 *     "not labeled" (nothing changed) and reports `label "k" not found.`;
 *     annotate always says "annotated";
 *   - --list on several objects: label writes its "Listing labels for …"
 *     heading to stderr, annotate to stdout.
 */
#include <stdlib.h>
#include <string.h>

#include "kubectl-lite/kctl_int.h"

#define CHANGE_CAUSE "kubernetes.io/change-cause"

struct meta_verb {
    const char *verb;    /* "label" */
    const char *field;   /* "labels" */
    const char *manager; /* "kubectl-label" */
    bool is_label;
};

struct meta_opts {
    const struct meta_verb *mv;
    bool overwrite, list, all;
    const char *selector, *field_selector, *resource_version;
    const char *dry_run;
    json_t *set;        /* key -> value */
    json_t *remove;     /* array of keys */
    bool single;        /* one object named: --list prints no heading */
    const char *output; /* -o: NULL, "name", "json", "yaml" */
};

/* Splits arguments into resources and key changes, as
 * cmdutil.GetResourcesAndPairs. Returns 0 or -1 after printing. */
static int split_args(const struct kctl_strv *pos, const char *pair_type,
                      struct kctl_strv *res, json_t *set, json_t *remove)
{
    bool found_pair = false;
    struct buf invalid;
    int rv = 0;

    buf_init(&invalid);
    res->v = calloc((size_t)pos->n + 1, sizeof *res->v);
    res->n = 0;
    for (int i = 0; i < pos->n; i++) {
        const char *s = pos->v[i];
        size_t len = strlen(s);
        bool is_set = strchr(s, '=') != NULL && s[0] != '=';
        bool is_rm = len > 1 && s[len - 1] == '-';
        if (is_set || is_rm) {
            found_pair = true;
            if (is_set) {
                const char *eq = strchr(s, '=');
                char *k = strndup(s, (size_t)(eq - s));
                json_object_set_new(set, k, json_string(eq + 1));
                free(k);
            } else {
                char *k = strndup(s, len - 1);
                json_array_append_new(remove, json_string(k));
                free(k);
            }
            continue;
        }
        if (found_pair) {
            if (strchr(s, '=') != NULL || strcmp(s, "-") == 0) {
                if (invalid.len > 0)
                    buf_append_str(&invalid, ", ");
                buf_append_str(&invalid, s);
                continue;
            }
            fprintf(stderr,
                    "error: all resources must be specified before %s "
                    "changes: %s\n",
                    pair_type, s);
            rv = -1;
            break;
        }
        res->v[res->n++] = s;
    }
    if (rv == 0 && invalid.len > 0) {
        fprintf(stderr, "error: invalid %s format: %s\n", pair_type,
                invalid.data);
        rv = -1;
    }
    buf_close(&invalid);
    return rv;
}

/* Go's encoding/json length of a map[string]string field with omitempty,
 * as it contributes to the object's JSON (0 when empty). */
static size_t field_len(const char *field, const json_t *m)
{
    char *s;
    size_t n;

    if (json_object_size(m) == 0)
        return 0;
    s = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    n = strlen(field) + 4 + (s ? strlen(s) : 0);
    free(s);
    return n;
}

/* kubectl's printer after a change: "KIND/NAME labeled", or -o name |
 * json | yaml of the changed object. */
static void print_result(const struct kctl_resource *r, const char *name,
                         const char *msg, const struct meta_opts *o,
                         const json_t *obj)
{
    char q[160];

    if (o->output == NULL || o->output[0] == '\0') {
        kctl_print_action(r, name, msg, o->dry_run);
        return;
    }
    kctl_resource_qualified(r, true, q, sizeof q);
    if (strcmp(o->output, "name") == 0 || obj == NULL) {
        printf("%s/%s\n", q, name);
    } else {
        kctl_print_object(obj, o->output);
    }
}

/* Changes one object; returns 0 or -1 after printing the error. */
static int change_one(struct kctl_client *cl, const struct kctl_resource *r,
                      const char *ns, json_t *obj, const struct meta_opts *o)
{
    const struct meta_verb *mv = o->mv;
    json_t *md = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(md, "name"));
    json_t *old = json_object_get(md, mv->field);
    json_t *cur = json_is_object(old) ? json_deep_copy(old) : json_object();
    json_t *patch_map = json_object();
    const char *key;
    json_t *val;
    size_t i;
    struct buf errs;
    int nerr = 0, rv = 0;
    const char *msg;

    /* overwrite checks (kubectl walks a Go map: order varies; ours is
     * the order given) */
    buf_init(&errs);
    if (!o->overwrite) {
        json_object_foreach (o->set, key, val) {
            const char *have = json_string_value(json_object_get(cur, key));
            if (have == NULL)
                continue;
            if (mv->is_label) {
                if (strcmp(have, json_string_value(val)) == 0)
                    continue;
                if (nerr++ > 0)
                    buf_append_str(&errs, ", ");
                buf_printf(&errs,
                           "'%s' already has a value (%s), and --overwrite "
                           "is false",
                           key, have);
            } else {
                if (strcmp(key, CHANGE_CAUSE) == 0 ||
                    strcmp(have, json_string_value(val)) == 0)
                    continue;
                if (nerr++ > 0)
                    buf_append_str(&errs, "; ");
                buf_printf(&errs, "'%s' already has a value (%s)", key, have);
            }
        }
    }
    if (nerr > 0) {
        if (mv->is_label)
            fprintf(stderr, "error: %s%s%s\n", nerr > 1 ? "[" : "", errs.data,
                    nerr > 1 ? "]" : "");
        else
            fprintf(stderr,
                    "error: --overwrite is false but found the following "
                    "declared annotation(s): %s\n",
                    errs.data);
        buf_close(&errs);
        json_decref(cur);
        json_decref(patch_map);
        return -1;
    }
    buf_close(&errs);

    if (mv->is_label && !o->list &&
        !(o->dry_run && strcmp(o->dry_run, "client") == 0)) {
        json_array_foreach (o->remove, i, val) {
            if (json_object_get(cur, json_string_value(val)) == NULL)
                printf("label \"%s\" not found.\n", json_string_value(val));
        }
    }
    size_t old_len = field_len(mv->field, cur);
    json_object_foreach (o->set, key, val) {
        const char *have = json_string_value(json_object_get(cur, key));
        if (have == NULL || strcmp(have, json_string_value(val)) != 0)
            json_object_set(patch_map, key, val);
        json_object_set(cur, key, val);
    }
    json_array_foreach (o->remove, i, val) {
        const char *k = json_string_value(val);
        if (json_object_get(cur, k) != NULL) {
            json_object_del(cur, k);
            json_object_set_new(patch_map, k, json_null());
        }
    }
    size_t new_len = field_len(mv->field, cur);

    if (mv->is_label) {
        bool changed =
            json_object_size(patch_map) > 0 || o->resource_version != NULL;
        msg = "not labeled";
        if (changed) {
            msg = "labeled";
            if (!o->overwrite && new_len < old_len)
                msg = "unlabeled";
        }
    } else {
        msg = "annotated";
    }

    if (o->list) {
        /* --list shows the object with the changes applied in memory
         * only (kubectl's outputObj); kubectl walks a Go map, in random
         * order: ours is sorted */
        const char *indent = "";
        json_t *shown = cur;
        const char **keys;
        size_t n = json_object_size(shown), k = 0;
        if (!o->single) {
            FILE *f = mv->is_label ? stderr : stdout;
            indent = " ";
            fprintf(f, "Listing %s for %s.%s/%s:\n", mv->field, r->kind,
                    r->group, name);
        }
        keys = calloc(n + 1, sizeof *keys);
        json_object_foreach (shown, key, val) {
            keys[k++] = key;
        }
        for (size_t a = 0; a < k; a++)
            for (size_t b = a + 1; b < k; b++)
                if (strcmp(keys[a], keys[b]) > 0) {
                    const char *t = keys[a];
                    keys[a] = keys[b];
                    keys[b] = t;
                }
        for (size_t a = 0; a < k; a++)
            printf("%s%s=%s\n", indent, keys[a],
                   json_string_value(json_object_get(shown, keys[a])));
        free(keys);
        json_decref(cur);
        json_decref(patch_map);
        return 0;
    }

    json_t *result = NULL;
    if (o->dry_run == NULL || strcmp(o->dry_run, "server") == 0) {
        json_t *pmd = json_object();
        json_t *patch = json_pack("{s:o}", "metadata", pmd);
        struct buf p;
        json_object_set(pmd, mv->field, patch_map);
        if (o->resource_version != NULL)
            json_object_set_new(pmd, "resourceVersion",
                                json_string(o->resource_version));
        buf_init(&p);
        kctl_resource_path(&p, r, ns, name);
        buf_printf(&p, "?fieldManager=%s", mv->manager);
        if (o->dry_run != NULL)
            buf_append_str(&p, "&dryRun=All");
        rv = kctl_json(cl, "PATCH", p.data, "application/merge-patch+json",
                       patch, false, &result);
        buf_close(&p);
        json_decref(patch);
    } else {
        /* client dry run: the object with the change made in memory */
        result = json_deep_copy(obj);
        json_object_set(json_object_get(result, "metadata"), mv->field, cur);
    }
    if (rv == 0)
        print_result(r, name, msg, o, result);
    json_decref(result);
    json_decref(cur);
    json_decref(patch_map);
    return rv;
}

static int run_meta(struct kctl_client *cl, int argc, char **argv,
                    const struct meta_verb *mv)
{
    struct kctl_strv pos, files = {0}, res = {0};
    const char *dry = NULL, *output = NULL;
    bool local = false, recursive = false;
    struct meta_opts o = {.mv = mv};
    const struct kctl_opt opts[] = {
        {"overwrite", 0, KCTL_OPT_BOOL, &o.overwrite},
        {"list", 0, KCTL_OPT_BOOL, &o.list},
        {"local", 0, KCTL_OPT_BOOL, &local},
        {"selector", 'l', KCTL_OPT_STR, &o.selector},
        {"field-selector", 0, KCTL_OPT_STR, &o.field_selector},
        {"all", 0, KCTL_OPT_BOOL, &o.all},
        {"resource-version", 0, KCTL_OPT_STR, &o.resource_version},
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"dry-run", 0, KCTL_OPT_STR, &dry},
        {"output", 'o', KCTL_OPT_STR, &output},
        {NULL, 0, 0, NULL},
    };
    struct kctl_target *t = NULL;
    int nt = 0, rv = 0;
    const char *ns;
    const char *pair_type = mv->is_label ? "label" : "annotation";

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    o.set = json_object();
    o.remove = json_array();
    if (split_args(&pos, pair_type, &res, o.set, o.remove) != 0 ||
        kctl_parse_dry_run(dry, &o.dry_run) != 0) {
        rv = 1;
        goto out;
    }
    if (kctl_check_output(output, KCTL_OUTPUT_ALL_PRINTERS) != 0) {
        rv = 1;
        goto out;
    }
    o.output = output;
    if (o.all && o.selector != NULL) {
        fprintf(stderr,
                "error: cannot set --all and --selector at the same time\n");
        rv = 1;
        goto out;
    }
    if (o.all && o.field_selector != NULL) {
        fprintf(stderr, "error: cannot set --all and --field-selector at the "
                        "same time\n");
        rv = 1;
        goto out;
    }
    if (res.n < 1 && files.n == 0) {
        fprintf(stderr, "error: one or more resources must be specified as "
                        "<resource> <name> or <resource>/<name>\n");
        rv = 1;
        goto out;
    }
    if (json_object_size(o.set) == 0 && json_array_size(o.remove) == 0 &&
        !o.list) {
        fprintf(stderr, "error: at least one %s update is required\n",
                pair_type);
        rv = 1;
        goto out;
    }
    {
        size_t i;
        json_t *k;
        struct buf both;
        buf_init(&both);
        json_array_foreach (o.remove, i, k) {
            if (json_object_get(o.set, json_string_value(k)) == NULL)
                continue;
            if (both.len > 0)
                buf_append_str(&both, ", ");
            buf_append_str(&both, json_string_value(k));
        }
        if (both.len > 0) {
            if (mv->is_label)
                fprintf(stderr, "error: can not both modify and remove a "
                                "label in the same command\n");
            else
                fprintf(stderr,
                        "error: can not both modify and remove the following "
                        "%s(s) in the same command: %s\n",
                        pair_type, both.data);
            buf_close(&both);
            rv = 1;
            goto out;
        }
        buf_close(&both);
    }

    ns = kctl_namespace(cl);
    if (files.n > 0) {
        json_t *objs, *sources, *obj;
        size_t i;
        if (kctl_read_manifests(mv->verb, files.v, files.n, recursive, &objs,
                                &sources) != 0) {
            rv = 1;
            goto out;
        }
        o.single = json_array_size(objs) == 1 && res.n == 0;
        json_array_foreach (objs, i, obj) {
            struct kctl_resource r;
            const char *ons;
            json_t *live = NULL;
            struct buf p;
            if (kctl_prepare_object(cl, obj, &r, &ons) != 0) {
                rv = 1;
                continue;
            }
            buf_init(&p);
            kctl_resource_path(&p, &r, ons,
                               json_string_value(json_object_get(
                                   json_object_get(obj, "metadata"), "name")));
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &live) != 0 ||
                change_one(cl, &r, ons, live, &o) != 0)
                rv = 1;
            json_decref(live);
            buf_close(&p);
        }
        json_decref(objs);
        json_decref(sources);
    }
    if (res.n == 0)
        goto out;
    if (kctl_targets(cl, res.v, res.n, &t, &nt) != 0) {
        rv = 1;
        goto out;
    }
    o.single = nt == 1 && t[0].name != NULL && files.n == 0;
    if (o.resource_version != NULL && !o.single) {
        fprintf(stderr, "error: --resource-version may only be used with a "
                        "single resource\n");
        rv = 1;
        goto out;
    }
    for (int i = 0; i < nt; i++) {
        struct buf p;
        json_t *got = NULL;
        buf_init(&p);
        if (t[i].name != NULL) {
            kctl_resource_path(&p, &t[i].r, ns, t[i].name);
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &got) != 0 ||
                change_one(cl, &t[i].r, ns, got, &o) != 0)
                rv = 1;
        } else if (o.selector == NULL && o.field_selector == NULL && !o.all) {
            fprintf(stderr, "error: resource(s) were provided, but no name "
                            "was specified\n");
            rv = 1;
            buf_close(&p);
            break;
        } else {
            size_t k;
            json_t *it;
            if (kctl_list(cl, &t[i].r, ns, o.selector, o.field_selector,
                          &got) != 0)
                rv = 1;
            json_array_foreach (json_object_get(got, "items"), k, it) {
                /* list items carry no kind/apiVersion */
                if (change_one(
                        cl, &t[i].r,
                        json_string_value(json_object_get(
                            json_object_get(it, "metadata"), "namespace")),
                        it, &o) != 0)
                    rv = 1;
            }
        }
        json_decref(got);
        buf_close(&p);
    }
out:
    free(t);
    free(res.v);
    free(pos.v);
    free(files.v);
    json_decref(o.set);
    json_decref(o.remove);
    return rv;
}

int kctl_cmd_label(struct kctl_client *cl, int argc, char **argv)
{
    static const struct meta_verb mv = {"label", "labels", "kubectl-label",
                                        true};
    return run_meta(cl, argc, argv, &mv);
}

int kctl_cmd_annotate(struct kctl_client *cl, int argc, char **argv)
{
    static const struct meta_verb mv = {"annotate", "annotations",
                                        "kubectl-annotate", false};
    return run_meta(cl, argc, argv, &mv);
}

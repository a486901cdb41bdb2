/*
 * DESIGN: `apply`, kubectl's client-side apply, so kubectl and kubectl-lite
 * can take turns on the same objects (kubectl-wire.md §4.1).
 *
 * For each manifest object: the namespace is defaulted, the object is
 * serialised the way kubectl serialises it (Go's encoding/json: keys
 * sorted, compact, HTML characters escaped, a trailing newline) into the
 * `kubectl.kubernetes.io/last-applied-configuration` annotation; the live
 * object is fetched; absent → POST; present → the three-way patch of
 * (last applied, new manifest, live) is computed (smp.c, with the patch
 * metadata the server publishes in OpenAPI v3, or a JSON merge patch for a
 * kind it does not describe, as kubectl does for CRDs) and sent as a PATCH
 * unless empty ("unchanged"). A 409 on the PATCH re-reads and retries, as
 * kubectl does (5 times). --server-side sends the manifest as an apply
 * patch instead; --prune deletes previously applied objects matching -l
 * that the manifests no longer contain.
 */
#include <stdlib.h>
#include <string.h>

#include "apiserver/apiserver.h"
#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"

#define LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* Go's encoding/json escapes these inside strings; they only ever occur
 * inside strings in JSON text, so a textual replacement is exact. */
static char *go_json(const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY |
                                JSON_REAL_PRECISION(17));
    struct buf b;

    if (s == NULL)
        return NULL;
    buf_init(&b);
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '<')
            buf_append_str(&b, "\\u003c");
        else if (*p == '>')
            buf_append_str(&b, "\\u003e");
        else if (*p == '&')
            buf_append_str(&b, "\\u0026");
        else if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
                 ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9)) {
            buf_printf(&b, "\\u%s",
                       (unsigned char)p[2] == 0xa8 ? "2028" : "2029");
            p += 2;
        } else
            buf_append(&b, p, 1);
    }
    buf_append_str(&b, "\n");
    free(s);
    return buf_steal(&b, NULL);
}

int kctl_prepare_object(struct kctl_client *cl, json_t *obj,
                        struct kctl_resource *ret_r, const char **ret_ns)
{
    json_t *md;
    const char *ns;
    const char *flag_ns = cl->g.namespace;

    if (kctl_resource_for_kind(
            cl, json_string_value(json_object_get(obj, "apiVersion")),
            json_string_value(json_object_get(obj, "kind")), ret_r) != 0)
        return -1;
    md = json_object_get(obj, "metadata");
    if (!json_is_object(md)) {
        md = json_object();
        json_object_set_new(obj, "metadata", md);
    }
    if (json_string_value(json_object_get(md, "name")) == NULL &&
        json_string_value(json_object_get(md, "generateName")) == NULL) {
        fprintf(stderr,
                "error: error when retrieving current configuration "
                "of:\nResource: \"%s\"\nfrom server for: resource "
                "name may not be empty\n",
                ret_r->resource);
        return -1;
    }
    *ret_ns = NULL;
    if (!ret_r->namespaced) {
        json_object_del(md, "namespace");
        return 0;
    }
    ns = json_string_value(json_object_get(md, "namespace"));
    if (ns != NULL && ns[0] != '\0' && flag_ns != NULL &&
        strcmp(ns, flag_ns) != 0) {
        fprintf(stderr,
                "error: the namespace from the provided object \"%s\" does "
                "not match the namespace \"%s\". You must pass "
                "'--namespace=%s' to perform this operation.\n",
                ns, flag_ns, ns);
        return -1;
    }
    if (ns == NULL || ns[0] == '\0')
        json_object_set_new(md, "namespace", json_string(kctl_namespace(cl)));
    *ret_ns = json_string_value(json_object_get(md, "namespace"));
    return 0;
}

int kctl_set_last_applied(json_t *obj)
{
    json_t *md = json_object_get(obj, "metadata");
    json_t *ann = json_object_get(md, "annotations");
    char *text;

    /* kubectl keeps an empty "annotations": {} in what it records */
    if (!json_is_object(ann)) {
        ann = json_object();
        json_object_set_new(md, "annotations", ann);
    }
    json_object_del(ann, LAST_APPLIED);
    text = go_json(obj);
    if (text == NULL)
        return K1S_ENOMEM;
    json_object_set_new(ann, LAST_APPLIED, json_string(text));
    free(text);
    return 0;
}

int kctl_apply_patch(struct kctl_client *cl, const struct kctl_resource *r,
                     const json_t *modified, const json_t *current,
                     json_t **ret_patch, const char **ret_ctype)
{
    const char *orig_s = json_string_value(json_object_get(
        json_object_get(json_object_get(current, "metadata"), "annotations"),
        LAST_APPLIED));
    json_t *original = NULL;
    const struct kctl_smp_schema *schema;
    int rv;

    if (orig_s != NULL)
        original = json_loads(orig_s, 0, NULL);
    schema = kctl_openapi_schema(cl, r->group, r->version, r->kind);
    rv = kctl_smp_three_way(original, modified, current, schema, ret_patch);
    json_decref(original);
    *ret_ctype = schema ? "application/strategic-merge-patch+json"
                        : "application/merge-patch+json";
    if (rv != 0)
        fprintf(stderr, "error: cannot compute the patch: %s\n", err_str(rv));
    return rv == 0 ? 0 : -1;
}

struct apply_opts {
    const char *dry_run; /* NULL, "client", "server" */
    bool server_side, force_conflicts;
    const char *field_manager;
    const char *selector;
    bool prune;
};

static void add_query(struct buf *p, const struct apply_opts *o,
                      const char *manager)
{
    buf_printf(p, "?fieldManager=");
    kctl_query_escape(p, manager);
    buf_printf(p, "&fieldValidation=Strict");
    if (o->dry_run != NULL && strcmp(o->dry_run, "server") == 0)
        buf_printf(p, "&dryRun=All");
}

/* The pretty name kubectl's errors use: "deployments.apps" / "pods". */
static void when_text(char *out, size_t len, const char *verb,
                      const char *source)
{
    snprintf(out, len, "error when %s \"%s\"", verb, source);
}

static int apply_server_side(struct kctl_client *cl,
                             const struct kctl_resource *r, const char *ns,
                             json_t *obj, const char *source,
                             const struct apply_opts *o)
{
    const char *name = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "name"));
    struct buf p;
    struct kctl_resp resp;
    char *body;
    int rv;

    buf_init(&p);
    kctl_resource_path(&p, r, ns, name);
    buf_printf(&p, "?fieldManager=");
    kctl_query_escape(&p, o->field_manager ? o->field_manager : "kubectl");
    buf_printf(&p, "&fieldValidation=Strict&force=%s",
               o->force_conflicts ? "true" : "false");
    if (o->dry_run != NULL)
        buf_printf(&p, "&dryRun=All");
    body = json_dumps(obj, JSON_COMPACT);
    rv = kctl_http(cl, "PATCH", p.data, "application/apply-patch+yaml", body,
                   strlen(body), NULL, &resp);
    free(body);
    buf_close(&p);
    if (rv == 0 && (resp.status < 200 || resp.status > 299)) {
        char when[1024];
        when_text(when, sizeof when, "patching", source);
        kctl_print_status(&resp, when);
        rv = -1;
    } else if (rv == 0) {
        kctl_print_action(r, name, "serverside-applied",
                          o->dry_run ? "server" : NULL);
    }
    kctl_resp_close(&resp);
    return rv;
}

/* Applies one object; returns 0, or -1 after printing an error. `applied`
 * collects "resource/ns/name" keys for --prune. */
static int apply_one(struct kctl_client *cl, json_t *obj, const char *source,
                     const struct apply_opts *o, json_t *applied,
                     json_t *namespaces)
{
    struct kctl_resource r;
    const char *ns, *name;
    struct buf p;
    json_t *current = NULL, *patch = NULL;
    int rv;

    if (kctl_prepare_object(cl, obj, &r, &ns) != 0)
        return -1;
    name = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "name"));
    if (ns != NULL)
        json_object_set_new(namespaces, ns, json_true());
    if (name != NULL) {
        struct buf key;
        buf_init(&key);
        buf_printf(&key, "%s/%s/%s/%s", r.group, r.resource, ns ? ns : "",
                   name);
        json_object_set_new(applied, key.data, json_true());
        buf_close(&key);
    }
    if (o->server_side)
        return apply_server_side(cl, &r, ns, obj, source, o);
    if (kctl_set_last_applied(obj) != 0)
        return -1;

    for (int attempt = 0;; attempt++) {
        buf_init(&p);
        kctl_resource_path(&p, &r, ns, name);
        rv = name ? kctl_json(cl, "GET", p.data, NULL, NULL, true, &current)
                  : -2;
        if (rv == -2) {
            /* absent: create */
            buf_reset(&p);
            kctl_resource_path(&p, &r, ns, NULL);
            add_query(&p, o, "kubectl-client-side-apply");
            if (o->dry_run == NULL || strcmp(o->dry_run, "client") != 0) {
                struct kctl_resp resp;
                char *body = json_dumps(obj, JSON_COMPACT);
                rv = kctl_http(cl, "POST", p.data, "application/json", body,
                               strlen(body), NULL, &resp);
                free(body);
                if (rv == 0 && (resp.status < 200 || resp.status > 299)) {
                    char when[1024];
                    when_text(when, sizeof when, "creating", source);
                    kctl_print_status(&resp, when);
                    rv = -1;
                }
                if (rv == 0 && name == NULL) {
                    json_t *made =
                        json_loadb(resp.body.data, resp.body.len, 0, NULL);
                    kctl_print_action(
                        &r,
                        json_string_value(json_object_get(
                            json_object_get(made, "metadata"), "name")),
                        "created", o->dry_run);
                    json_decref(made);
                    kctl_resp_close(&resp);
                    buf_close(&p);
                    return 0;
                }
                kctl_resp_close(&resp);
            } else {
                rv = 0;
            }
            if (rv == 0)
                kctl_print_action(&r, name, "created", o->dry_run);
            buf_close(&p);
            return rv;
        }
        if (rv != 0) {
            buf_close(&p);
            return -1;
        }
        if (json_object_get(
                json_object_get(json_object_get(current, "metadata"),
                                "annotations"),
                LAST_APPLIED) == NULL &&
            attempt == 0)
            fprintf(stderr,
                    "Warning: resource %s/%s is missing the %s annotation "
                    "which is required by kubectl-lite apply. kubectl-lite "
                    "apply should only be used on resources created "
                    "declaratively by either kubectl-lite create "
                    "--save-config or kubectl-lite apply. The missing "
                    "annotation will be patched automatically.\n",
                    r.resource, name, LAST_APPLIED);
        {
            const char *ctype;
            struct kctl_resp resp;
            char *body;

            if (kctl_apply_patch(cl, &r, obj, current, &patch, &ctype) != 0) {
                json_decref(current);
                buf_close(&p);
                return -1;
            }
            json_decref(current);
            current = NULL;
            if (json_object_size(patch) == 0) {
                kctl_print_action(&r, name, "unchanged", o->dry_run);
                json_decref(patch);
                buf_close(&p);
                return 0;
            }
            if (o->dry_run != NULL && strcmp(o->dry_run, "client") == 0) {
                kctl_print_action(&r, name, "configured", o->dry_run);
                json_decref(patch);
                buf_close(&p);
                return 0;
            }
            add_query(&p, o, "kubectl-client-side-apply");
            body = json_dumps(patch, JSON_COMPACT);
            json_decref(patch);
            rv = kctl_http(cl, "PATCH", p.data, ctype, body, strlen(body), NULL,
                           &resp);
            free(body);
            buf_close(&p);
            if (rv != 0) {
                kctl_resp_close(&resp);
                return -1;
            }
            if (resp.status == 409 && attempt < 4) {
                kctl_resp_close(&resp);
                continue;
            }
            if (resp.status < 200 || resp.status > 299) {
                char when[1024];
                when_text(when, sizeof when, "patching", source);
                kctl_print_status(&resp, when);
                kctl_resp_close(&resp);
                return -1;
            }
            kctl_resp_close(&resp);
            kctl_print_action(&r, name, "configured", o->dry_run);
            return 0;
        }
    }
}

/* kubectl's default prune allow-list (apply.go's
 * prune.GetRESTMappings defaults), by resource name. */
static const char *const prune_kinds[] = {
    "configmaps",
    "endpoints",
    "namespaces",
    "persistentvolumeclaims",
    "persistentvolumes",
    "pods",
    "replicationcontrollers",
    "secrets",
    "services",
    "jobs",
    "cronjobs",
    "ingresses",
    "daemonsets",
    "deployments",
    "replicasets",
    "statefulsets",
    NULL,
};

static int prune(struct kctl_client *cl, const struct apply_opts *o,
                 const json_t *applied, const json_t *namespaces)
{
    int rv = 0;

    for (int k = 0; prune_kinds[k] != NULL; k++) {
        struct kctl_resource r;
        const json_t *all = kctl_discovery(cl);
        size_t i;
        json_t *e;
        bool found = false;

        json_array_foreach (all, i, e) {
            if (strcmp(json_string_value(json_object_get(e, "resource")),
                       prune_kinds[k]) == 0) {
                found = true;
                break;
            }
        }
        if (!found || kctl_resource_find(cl, prune_kinds[k], &r) != 0)
            continue;
        const char *nsv[64];
        int nns = 0;
        const char *key;
        json_t *val;
        if (r.namespaced) {
            json_object_foreach ((json_t *)namespaces, key, val) {
                if (nns < 64)
                    nsv[nns++] = key;
            }
        } else {
            nsv[nns++] = NULL;
        }
        for (int n = 0; n < nns; n++) {
            struct buf p;
            json_t *list = NULL, *item;
            buf_init(&p);
            kctl_resource_path(&p, &r, nsv[n], NULL);
            buf_printf(&p, "?labelSelector=");
            kctl_query_escape(&p, o->selector ? o->selector : "");
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &list) != 0) {
                buf_close(&p);
                rv = -1;
                continue;
            }
            json_array_foreach (json_object_get(list, "items"), i, item) {
                json_t *md = json_object_get(item, "metadata");
                const char *name =
                    json_string_value(json_object_get(md, "name"));
                struct buf k2;
                if (json_object_get(json_object_get(md, "annotations"),
                                    LAST_APPLIED) == NULL)
                    continue;
                buf_init(&k2);
                buf_printf(&k2, "%s/%s/%s/%s", r.group, r.resource,
                           nsv[n] ? nsv[n] : "", name);
                if (json_object_get(applied, k2.data) == NULL) {
                    buf_reset(&p);
                    kctl_resource_path(&p, &r, nsv[n], name);
                    if (o->dry_run && strcmp(o->dry_run, "server") == 0)
                        buf_printf(&p, "?dryRun=All");
                    if (o->dry_run && strcmp(o->dry_run, "client") == 0)
                        kctl_print_action(&r, name, "pruned", o->dry_run);
                    else if (kctl_json(cl, "DELETE", p.data, NULL, NULL, true,
                                       NULL) == 0)
                        kctl_print_action(&r, name, "pruned", o->dry_run);
                }
                buf_close(&k2);
            }
            json_decref(list);
            buf_close(&p);
        }
    }
    return rv;
}

int kctl_parse_dry_run(const char *v, const char **ret)
{
    if (v == NULL || strcmp(v, "none") == 0 || strcmp(v, "false") == 0) {
        *ret = NULL;
        return 0;
    }
    if (strcmp(v, "client") == 0 || strcmp(v, "true") == 0) {
        *ret = "client";
        return 0;
    }
    if (strcmp(v, "server") == 0) {
        *ret = "server";
        return 0;
    }
    fprintf(stderr,
            "error: Invalid dry-run value (%s). Must be \"none\", "
            "\"server\", or \"client\".\n",
            v);
    return -1;
}

int kctl_cmd_apply(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv files = {0}, pos;
    bool recursive = false, validate_ignored = false;
    const char *dry = NULL, *validate = NULL;
    struct apply_opts o = {0};
    const struct kctl_opt opts[] = {
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"dry-run", 0, KCTL_OPT_STR, &dry},
        {"server-side", 0, KCTL_OPT_BOOL, &o.server_side},
        {"force-conflicts", 0, KCTL_OPT_BOOL, &o.force_conflicts},
        {"field-manager", 0, KCTL_OPT_STR, &o.field_manager},
        {"selector", 'l', KCTL_OPT_STR, &o.selector},
        {"prune", 0, KCTL_OPT_BOOL, &o.prune},
        {"validate", 0, KCTL_OPT_STR, &validate},
        {"overwrite", 0, KCTL_OPT_BOOL, &validate_ignored},
        {NULL, 0, 0, NULL},
    };
    json_t *objs = NULL, *sources = NULL, *applied, *namespaces;
    size_t i;
    json_t *obj;
    int rv = 0;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    free(pos.v);
    if (files.n == 0) {
        fprintf(stderr, "error: must specify one of -f and -k\n");
        free(files.v);
        return 1;
    }
    if (kctl_parse_dry_run(dry, &o.dry_run) != 0) {
        free(files.v);
        return 1;
    }
    if (o.prune && o.selector == NULL) {
        fprintf(stderr, "error: all resources selected for prune without "
                        "explicitly passing --all. To prune all resources, "
                        "pass the --all flag. If you did not mean to prune "
                        "all resources, specify a label selector\n");
        free(files.v);
        return 1;
    }
    if (kctl_read_manifests("apply", files.v, files.n, recursive, &objs,
                            &sources) != 0) {
        free(files.v);
        return 1;
    }
    free(files.v);
    applied = json_object();
    namespaces = json_object();
    if (o.selector != NULL) {
        /* -l: only the objects of the files that match, as kubectl's
         * resource builder filters them */
        json_t *kept = json_array(), *ksrc = json_array();
        char err[512];
        json_array_foreach (objs, i, obj) {
            int m = api_labels_match(
                o.selector,
                json_object_get(json_object_get(obj, "metadata"), "labels"),
                err, sizeof err);
            if (m < 0) {
                fprintf(stderr,
                        "error: the provided selector \"%s\" is not valid: "
                        "%s\n",
                        o.selector, err);
                rv = 1;
                break;
            }
            if (m == 1) {
                json_array_append(kept, obj);
                json_array_append(ksrc, json_array_get(sources, i));
            }
        }
        json_decref(objs);
        json_decref(sources);
        objs = kept;
        sources = ksrc;
        if (rv == 0 && json_array_size(objs) == 0) {
            fprintf(stderr, "error: no objects passed to apply\n");
            rv = 1;
        }
        if (rv != 0)
            json_array_clear(objs);
    }
    json_array_foreach (objs, i, obj) {
        const char *src = json_string_value(json_array_get(sources, i));
        if (apply_one(cl, obj, src, &o, applied, namespaces) != 0)
            rv = 1;
    }
    if (o.prune && rv == 0 && prune(cl, &o, applied, namespaces) != 0)
        rv = 1;
    json_decref(applied);
    json_decref(namespaces);
    json_decref(objs);
    json_decref(sources);
    return rv;
}

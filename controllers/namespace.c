/*
 * DESIGN: the namespace controller (pkg/controller/namespace). A namespace
 * with a deletionTimestamp is Terminating: every namespaced resource the
 * API serves (found by discovery: /api/v1 and each group's preferred
 * version, resources that can be listed and deleted) is listed in it and
 * each object deleted; while anything is left the namespace is looked at
 * again a second later. When it is empty, the "kubernetes" finalizer is
 * removed through namespaces/<name>/finalize and the API server removes the
 * namespace. A namespace that disappears without passing through
 * Terminating is swept the same way, so nothing is left behind in it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/ctrl_int.h"
#include "lib/err.h"
#include "lib/log.h"

static void ns_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct ctrl_manager *m = arg;
    json_t *d;
    if (new_obj == NULL) {
        /* gone without passing through Terminating (or we missed it):
         * whatever is left in it is swept all the same */
        ctrl_wq_add(m->ns.wq, ctrl_jstr(old_obj, "metadata.name"));
        return;
    }
    d = ctrl_jget(new_obj, "metadata.deletionTimestamp");
    if (d && !json_is_null(d))
        ctrl_wq_add(m->ns.wq, ctrl_jstr(new_obj, "metadata.name"));
}

int ctrl_ns_init(struct ctrl_manager *m)
{
    return ctrl_informer_add_handler(m->nss, ns_cb, m);
}

static bool has_verb(const json_t *r, const char *v)
{
    json_t *verbs = json_object_get(r, "verbs"), *x;
    size_t i;
    json_array_foreach (verbs, i, x) {
        if (json_is_string(x) && strcmp(json_string_value(x), v) == 0)
            return true;
    }
    return false;
}

/* Appends "<prefix>/<gv>/namespaces/%s/<plural>" format strings. */
static void add_group(struct ctrl_manager *m, const char *prefix,
                      const char *gv, json_t *out)
{
    char path[300];
    json_t *body = NULL, *r;
    size_t i;

    snprintf(path, sizeof path, "%s/%s", prefix, gv);
    if (m->api.call(m->api.ctx, "GET", path, NULL, NULL, &body) != 200)
        goto out;
    json_array_foreach (json_object_get(body, "resources"), i, r) {
        const char *name = json_string_value(json_object_get(r, "name"));
        if (name == NULL || strchr(name, '/') ||
            !json_is_true(json_object_get(r, "namespaced")) ||
            !has_verb(r, "list") || !has_verb(r, "delete"))
            continue;
        json_array_append_new(out, json_pack("[ss]", path, name));
    }
out:
    json_decref(body);
}

static json_t *discover(struct ctrl_manager *m)
{
    json_t *out = json_array(), *groups = NULL, *g;
    size_t i;

    add_group(m, "/api", "v1", out);
    if (m->api.call(m->api.ctx, "GET", "/apis", NULL, NULL, &groups) == 200) {
        json_array_foreach (json_object_get(groups, "groups"), i, g) {
            const char *gv = ctrl_jstr(g, "preferredVersion.groupVersion");
            if (gv)
                add_group(m, "/apis", gv, out);
        }
    }
    json_decref(groups);
    return out;
}

/* Adds n to the count under name in counts (an object of integers). */
static void count_add(json_t *counts, const char *name, size_t n)
{
    json_int_t have = json_integer_value(json_object_get(counts, name));
    json_object_set_new(counts, name, json_integer(have + (json_int_t)n));
}

/* "a <verb> 1 resource instances, b <verb> 2 ..." from counts, keys sorted
 * (jansson keeps insertion order; the controller's messages are sorted). */
static void count_text(const json_t *counts, const char *verb, char *out,
                       size_t len)
{
    const char *keys[64];
    size_t n = 0, used = 0;
    const char *k;
    json_t *v;

    out[0] = '\0';
    json_object_foreach ((json_t *)counts, k, v) {
        if (n < 64)
            keys[n++] = k;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(keys[j - 1], keys[j]) > 0; j--) {
            const char *t = keys[j];
            keys[j] = keys[j - 1];
            keys[j - 1] = t;
        }
    for (size_t i = 0; i < n && used < len; i++) {
        used += (size_t)snprintf(out + used, len - used, "%s", i ? ", " : "");
        if (used < len)
            used +=
                (size_t)snprintf(out + used, len - used,
                                 "%s %s %lld resource instances", keys[i], verb,
                                 (long long)json_integer_value(
                                     json_object_get(counts, keys[i])));
    }
}

/* The conditions Kubernetes's namespace controller keeps on a Terminating
 * namespace (what is left, and which finalizers hold it), written through
 * namespaces/<n>/status when they change. */
static void ns_conditions(struct ctrl_manager *m, const json_t *ns,
                          const json_t *left, const json_t *fins)
{
    json_t *copy = json_deep_copy(ns), *body = NULL;
    char msg[1024], list[900], path[300];
    bool changed = false;

    changed |= ctrl_set_condition(
        copy, "NamespaceDeletionDiscoveryFailure", "False",
        "ResourcesDiscovered", "All resources successfully discovered", false);
    changed |=
        ctrl_set_condition(copy, "NamespaceDeletionGroupVersionParsingFailure",
                           "False", "ParsedGroupVersions",
                           "All legacy kube types successfully parsed", false);
    changed |= ctrl_set_condition(
        copy, "NamespaceDeletionContentFailure", "False", "ContentDeleted",
        "All content successfully deleted, may be waiting on finalization",
        false);
    if (json_object_size(left) > 0) {
        count_text(left, "has", list, sizeof list);
        snprintf(msg, sizeof msg, "Some resources are remaining: %s", list);
        changed |= ctrl_set_condition(copy, "NamespaceContentRemaining", "True",
                                      "SomeResourcesRemain", msg, false);
    } else {
        changed |= ctrl_set_condition(
            copy, "NamespaceContentRemaining", "False", "ContentRemoved",
            "All content successfully removed", false);
    }
    if (json_object_size(fins) > 0) {
        count_text(fins, "in", list, sizeof list);
        snprintf(msg, sizeof msg,
                 "Some content in the namespace has finalizers remaining: %s",
                 list);
        changed |=
            ctrl_set_condition(copy, "NamespaceFinalizersRemaining", "True",
                               "SomeFinalizersRemain", msg, false);
    } else {
        changed |= ctrl_set_condition(copy, "NamespaceFinalizersRemaining",
                                      "False", "ContentHasNoFinalizers",
                                      "All content-preserving finalizers "
                                      "finished",
                                      false);
    }
    if (changed) {
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/status",
                 ctrl_jstr(ns, "metadata.name"));
        m->api.call(m->api.ctx, "PUT", path, NULL, copy, &body);
        json_decref(body);
    }
    json_decref(copy);
}

int ctrl_ns_reconcile(struct ctrl_manager *m, const char *key)
{
    json_t *ns = ctrl_informer_get(m->nss, key), *res = NULL, *r;
    json_t *d, *body = NULL, *left_by = json_object(), *fins_by = json_object();
    size_t i, left = 0;
    char path[700];
    int st, rv = 0;

    if (ns != NULL) {
        d = ctrl_jget(ns, "metadata.deletionTimestamp");
        if (d == NULL || json_is_null(d))
            goto out;
    }
    res = discover(m);
    json_array_foreach (res, i, r) {
        json_t *list = NULL, *it;
        size_t j;
        snprintf(path, sizeof path, "%s/namespaces/%s/%s",
                 json_string_value(json_array_get(r, 0)), key,
                 json_string_value(json_array_get(r, 1)));
        if (m->api.call(m->api.ctx, "GET", path, NULL, NULL, &list) != 200) {
            json_decref(list);
            continue;
        }
        /* "pods." / "deployments.apps": resource.group, as the real
         * controller words it */
        const char *gp = json_string_value(json_array_get(r, 0));
        const char *slash;
        char gr[200];
        size_t here = 0;
        gp = strncmp(gp, "/apis/", 6) == 0 ? gp + 6 : "";
        slash = strchr(gp, '/');
        snprintf(gr, sizeof gr, "%s.%.*s",
                 json_string_value(json_array_get(r, 1)),
                 slash ? (int)(slash - gp) : 0, gp);
        json_array_foreach (json_object_get(list, "items"), j, it) {
            json_t *dt = ctrl_jget(it, "metadata.deletionTimestamp");
            const json_t *still = it; /* as it is after this pass */
            json_t *f;
            size_t k;
            char opath[1000];
            body = NULL;
            if (dt == NULL || json_is_null(dt)) {
                snprintf(opath, sizeof opath, "%s/%s", path,
                         ctrl_jstr(it, "metadata.name"));
                st =
                    m->api.call(m->api.ctx, "DELETE", opath, NULL, NULL, &body);
                /* gone: a Success Status (or 404); held by finalizers or
                 * a grace period: the object itself comes back */
                if (st == 404 ||
                    (st == 200 &&
                     strcmp(ctrl_jstr(body, "kind") ? ctrl_jstr(body, "kind")
                                                    : "",
                            "Status") == 0)) {
                    json_decref(body);
                    continue;
                }
                if (st == 200 || st == 202)
                    still = body;
            }
            here++;
            json_array_foreach (ctrl_jget(still, "metadata.finalizers"), k, f) {
                if (json_is_string(f))
                    count_add(fins_by, json_string_value(f), 1);
            }
            json_decref(body);
        }
        if (here > 0)
            count_add(left_by, gr, here);
        left += here;
        json_decref(list);
    }
    if (left > 0) {
        if (ns != NULL)
            ns_conditions(m, ns, left_by, fins_by);
        ctrl_wq_add_after(m->ns.wq, key, 1000000000LL);
        goto out;
    }
    if (ns != NULL) {
        json_t *copy = json_deep_copy(ns), *fs;
        fs = ctrl_jget(copy, "spec.finalizers");
        if (json_is_array(fs))
            json_array_clear(fs);
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/finalize", key);
        body = NULL;
        st = m->api.call(m->api.ctx, "PUT", path, NULL, copy, &body);
        json_decref(body);
        json_decref(copy);
        if (st != 200 && st != 201 && st != 404) {
            log_debug("namespace: finalize %s: %d", key, st);
            rv = K1S_EIO;
        }
    }
out:
    json_decref(left_by);
    json_decref(fins_by);
    json_decref(res);
    json_decref(ns);
    return rv;
}

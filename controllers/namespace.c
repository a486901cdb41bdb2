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

int ctrl_ns_reconcile(struct ctrl_manager *m, const char *key)
{
    json_t *ns = ctrl_informer_get(m->nss, key), *res = NULL, *r;
    json_t *d, *body = NULL;
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
        json_array_foreach (json_object_get(list, "items"), j, it) {
            json_t *dt = ctrl_jget(it, "metadata.deletionTimestamp");
            char opath[1000];
            left++;
            if (dt && !json_is_null(dt))
                continue;
            snprintf(opath, sizeof opath, "%s/%s", path,
                     ctrl_jstr(it, "metadata.name"));
            body = NULL;
            m->api.call(m->api.ctx, "DELETE", opath, NULL, NULL, &body);
            json_decref(body);
        }
        json_decref(list);
    }
    if (left > 0) {
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
    json_decref(res);
    json_decref(ns);
    return rv;
}

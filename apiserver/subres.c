/*
 * DESIGN: the subresources other than status.
 *
 *  - scale (autoscaling/v1 Scale) for deployments, replicasets and
 *    statefulsets: GET builds the Scale from the parent (status.selector is
 *    the label selector in string form); PUT and PATCH (all patch types)
 *    apply to that Scale and write spec.replicas back to the parent with
 *    its resourceVersion as precondition, so a concurrent change is 409.
 *  - pods/binding (POST Binding): sets spec.nodeName once (409 if the pod
 *    is already bound) and the PodScheduled condition.
 *  - pods/eviction (POST policy/v1 Eviction): no PodDisruptionBudgets are
 *    served, so an eviction is a delete with the Eviction's deleteOptions;
 *    201 with a Success Status, as Kubernetes answers.
 *  - pods/log: streamed from the node agent (podlog.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "apiserver/objects_int.h"
#include "lib/clock.h"
#include "lib/err.h"

static char *selector_string(const json_t *sel)
{
    char buf[1024] = "";
    size_t used = 0, i;
    const char *k;
    json_t *v, *req;

    json_object_foreach (json_object_get(sel, "matchLabels"), k, v) {
        if (used < sizeof buf)
            used += (size_t)snprintf(
                buf + used, sizeof buf - used, "%s%s=%s", used ? "," : "", k,
                json_is_string(v) ? json_string_value(v) : "");
    }
    json_array_foreach (json_object_get(sel, "matchExpressions"), i, req) {
        const char *op = json_string_value(json_object_get(req, "operator"));
        const char *key = json_string_value(json_object_get(req, "key"));
        size_t j;
        json_t *val;
        if (op == NULL || key == NULL || used >= sizeof buf)
            continue;
        if (strcmp(op, "Exists") == 0)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                     used ? "," : "", key);
        else if (strcmp(op, "DoesNotExist") == 0)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s!%s",
                                     used ? "," : "", key);
        else {
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s %s (",
                                     used ? "," : "", key,
                                     strcmp(op, "In") == 0 ? "in" : "notin");
            json_array_foreach (json_object_get(req, "values"), j, val) {
                if (used < sizeof buf)
                    used += (size_t)snprintf(
                        buf + used, sizeof buf - used, "%s%s", j ? "," : "",
                        json_is_string(val) ? json_string_value(val) : "");
            }
            if (used < sizeof buf)
                used += (size_t)snprintf(buf + used, sizeof buf - used, ")");
        }
    }
    return strdup(buf);
}

static json_t *scale_of(const json_t *obj)
{
    const json_t *m = json_object_get(obj, "metadata");
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *st = json_object_get(obj, "status");
    char *sel = selector_string(json_object_get(spec, "selector"));
    json_t *meta = json_object();
    static const char *const keys[] = {"name", "namespace", "uid",
                                       "resourceVersion", "creationTimestamp"};
    json_t *s;

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (json_object_get(m, keys[i]))
            json_object_set(meta, keys[i], json_object_get(m, keys[i]));
    s = json_pack(
        "{s:s, s:s, s:o, s:{s:I}, s:{s:I, s:s}}", "kind", "Scale", "apiVersion",
        "autoscaling/v1", "metadata", meta, "spec", "replicas",
        (json_int_t)json_integer_value(json_object_get(spec, "replicas")),
        "status", "replicas",
        (json_int_t)json_integer_value(json_object_get(st, "replicas")),
        "selector", sel ? sel : "");
    free(sel);
    return s;
}

/* 405 unless the request's method is `method`. */
static bool method_is(struct api_ctx *c, const char *method)
{
    if (strcmp(c->r->method, method) == 0)
        return true;
    api_resp_status(c->o, K1S_EMETHOD, NULL,
                    "the server does not allow this method on the requested "
                    "resource");
    return false;
}

/* The body of a `method` request (answered 405/400/415 and false if not). */
static bool method_body(struct api_ctx *c, const char *method, json_t **ret)
{
    *ret = NULL;
    return method_is(c, method) && api_decode_body(c, ret) == 0;
}

static void do_scale(struct api_ctx *c)
{
    json_t *obj = NULL, *scale = NULL, *body = NULL, *ns = NULL;
    int64_t rev;
    int rv;

    for (int attempt = 0; attempt < 8; attempt++) {
        json_decref(obj);
        json_decref(scale);
        json_decref(ns);
        obj = scale = ns = NULL;
        rv = api_load(c, c->name, &obj, &rev);
        if (rv != 0) {
            api_resp_store_err(c, rv, c->name);
            goto out;
        }
        scale = scale_of(obj);
        if (strcmp(c->r->method, "GET") == 0) {
            api_resp_json(c->o, 200, scale);
            scale = NULL;
            goto out;
        }
        if (body == NULL && api_decode_body(c, &body) != 0)
            goto out;
        if (strcmp(c->r->method, "PUT") == 0) {
            ns = json_incref(body);
        } else if (strcmp(c->r->method, "PATCH") == 0) {
            int t = api_patch_type(c->r->content_type);
            if (t == P_APPLY)
                t = P_MERGE;
            if (api_apply_patch(c, t, scale, body, "autoscaling/v1", "Scale",
                                &ns) != 0)
                goto out;
        } else {
            method_is(c, "PUT"); /* answers 405 */
            goto out;
        }
        const json_t *r =
            json_object_get(json_object_get(ns, "spec"), "replicas");
        /* A resourceVersion precondition is one the client sent (in a PUT
         * body or a merge/strategic patch), never the one the patched copy
         * inherits from the stored object: otherwise a concurrent status
         * write by a controller fails the PATCH with 409 where Kubernetes
         * retries it (GuaranteedUpdate). */
        const char *want_rv = json_string_value(json_object_get(
            json_object_get(body, "metadata"), "resourceVersion"));
        if (!json_is_integer(r) || json_integer_value(r) < 0) {
            struct api_errs e;
            api_errs_init(&e);
            api_errs_add(&e, "FieldValueInvalid", "spec.replicas",
                         "Invalid value: %lld: must be greater than or equal "
                         "to 0",
                         (long long)json_integer_value(r));
            api_resp_json(
                c->o, 422,
                api_status_new(K1S_EINVALID,
                               "Scale.autoscaling \"\" is invalid: "
                               "spec.replicas: Invalid value: must be "
                               "greater than or equal to 0",
                               json_pack("{s:s, s:s, s:s, s:O}", "name",
                                         c->name, "group", "autoscaling",
                                         "kind", "Scale", "causes", e.causes)));
            api_errs_close(&e);
            goto out;
        }
        json_t *upd = json_deep_copy(obj);
        json_object_set(json_object_get(upd, "spec"), "replicas", (json_t *)r);
        if (want_rv && *want_rv)
            json_object_set_new(api_meta(upd), "resourceVersion",
                                json_string(want_rv));
        else
            json_object_del(api_meta(upd), "resourceVersion");
        struct api_resp sub;
        struct api_resp *save = c->o;
        memset(&sub, 0, sizeof sub);
        c->o = &sub;
        rv = api_update_from(c, upd, obj, rev, false, !(want_rv && *want_rv));
        c->o = save;
        if (rv == K1S_ECONFLICT) {
            api_resp_clear(&sub);
            continue;
        }
        if (sub.status != 200) {
            *c->o = sub;
            goto out;
        }
        api_resp_json(c->o, 200, scale_of(sub.json));
        api_resp_clear(&sub);
        goto out;
    }
    api_resp_conflict(c->o, c->res, c->name);
out:
    json_decref(obj);
    json_decref(scale);
    json_decref(body);
    json_decref(ns);
}

static json_t *success(int code)
{
    return json_pack("{s:s, s:s, s:{}, s:s, s:i}", "kind", "Status",
                     "apiVersion", "v1", "metadata", "status", "Success",
                     "code", code);
}

static void do_binding(struct api_ctx *c)
{
    json_t *body = NULL, *pod = NULL;
    const char *node;
    int64_t rev;
    int rv;

    if (!method_body(c, "POST", &body))
        return;
    node = json_string_value(
        json_object_get(json_object_get(body, "target"), "name"));
    if (node == NULL || *node == '\0') {
        struct api_errs e;
        api_errs_init(&e);
        api_errs_add(&e, "FieldValueRequired", "target.name", "Required value");
        api_resp_invalid(c->o, c->res, c->name, &e);
        api_errs_close(&e);
        goto out;
    }
    for (int attempt = 0; attempt < 8; attempt++) {
        json_decref(pod);
        pod = NULL;
        rv = api_load(c, c->name, &pod, &rev);
        if (rv != 0) {
            api_resp_store_err(c, rv, c->name);
            goto out;
        }
        json_t *spec = json_object_get(pod, "spec");
        const char *cur = json_string_value(json_object_get(spec, "nodeName"));
        if (cur && *cur) {
            api_resp_status(c->o, K1S_ECONFLICT,
                            json_pack("{s:s, s:s, s:s}", "name", c->name,
                                      "group", "", "kind", "pods/binding"),
                            "Operation cannot be fulfilled on pods/binding "
                            "\"%s\": pod %s is already assigned to node "
                            "\"%s\"",
                            c->name, c->name, cur);
            goto out;
        }
        if (api_meta_str(pod, "deletionTimestamp")) {
            api_resp_status(c->o, K1S_ECONFLICT, NULL,
                            "Operation cannot be fulfilled on pods/binding "
                            "\"%s\": pod %s is being deleted, cannot be "
                            "assigned to a host",
                            c->name, c->name);
            goto out;
        }
        json_t *upd = json_deep_copy(pod);
        json_object_set_new(json_object_get(upd, "spec"), "nodeName",
                            json_string(node));
        json_t *st = json_object_get(upd, "status");
        if (!json_is_object(st)) {
            st = json_object();
            json_object_set_new(upd, "status", st);
        }
        json_t *conds = json_object_get(st, "conditions");
        if (!json_is_array(conds)) {
            conds = json_array();
            json_object_set_new(st, "conditions", conds);
        }
        char ts[32];
        api_now(ts, sizeof ts);
        size_t i;
        json_t *cd;
        bool found = false;
        json_array_foreach (conds, i, cd) {
            const char *t = json_string_value(json_object_get(cd, "type"));
            if (t && strcmp(t, "PodScheduled") == 0) {
                json_object_set_new(cd, "status", json_string("True"));
                json_object_del(cd, "reason");
                json_object_del(cd, "message");
                json_object_set_new(cd, "lastTransitionTime", json_string(ts));
                found = true;
            }
        }
        if (!found)
            json_array_append_new(
                conds, json_pack("{s:s, s:s, s:n, s:s}", "type", "PodScheduled",
                                 "status", "True", "lastProbeTime",
                                 "lastTransitionTime", ts));
        /* spec.nodeName is written through the status path's rules: the
         * pod validation allows setting it once */
        json_object_del(api_meta(upd), "resourceVersion");
        struct api_resp sub;
        struct api_resp *save = c->o;
        memset(&sub, 0, sizeof sub);
        c->o = &sub;
        /* status is kept from upd: bypass the main-resource status rule by
         * writing through a status update of a pod whose spec already
         * changed */
        rv = api_bind_write(c, upd, pod, rev);
        c->o = save;
        if (rv == K1S_ECONFLICT) {
            api_resp_clear(&sub);
            continue;
        }
        if (sub.status >= 300) {
            *c->o = sub;
            goto out;
        }
        api_resp_clear(&sub);
        api_resp_json(c->o, 201, success(201));
        goto out;
    }
    api_resp_conflict(c->o, c->res, c->name);
out:
    json_decref(body);
    json_decref(pod);
}

static void do_eviction(struct api_ctx *c)
{
    json_t *body = NULL;
    struct api_delopts d;
    const json_t *dopts;

    memset(&d, 0, sizeof d);
    d.grace = -1;
    if (!method_body(c, "POST", &body))
        return;
    /* deleteOptions.dryRun too: kubectl drain --dry-run=server sends it
     * there, and an eviction that ignored it would evict for real. */
    dopts = json_object_get(body, "deleteOptions");
    api_delopts_fields(c, dopts, &d);
    struct api_resp sub;
    struct api_resp *save = c->o;
    memset(&sub, 0, sizeof sub);
    c->o = &sub;
    int rv = api_delete_one(c, c->name, &d);
    c->o = save;
    if (rv != 0)
        *c->o = sub;
    else {
        api_resp_clear(&sub);
        api_resp_json(c->o, 201, success(201));
    }
    json_decref(body);
}

static void do_log(struct api_ctx *c)
{
    json_t *pod = NULL, *node = NULL;
    const char *nodename, *container = api_query(c->r, "container");
    const json_t *cs;
    int rv;

    if (!method_is(c, "GET"))
        return;
    rv = api_load(c, c->name, &pod, NULL);
    if (rv != 0) {
        api_resp_store_err(c, rv, c->name);
        return;
    }
    cs = json_object_get(json_object_get(pod, "spec"), "containers");
    if (container == NULL || *container == '\0') {
        if (json_array_size(cs) != 1) {
            char names[512] = "";
            size_t used = 0, i;
            json_t *ct;
            json_array_foreach (cs, i, ct) {
                if (used < sizeof names)
                    used += (size_t)snprintf(
                        names + used, sizeof names - used, "%s%s", i ? " " : "",
                        json_string_value(json_object_get(ct, "name")));
            }
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "a container name must be specified for pod %s, "
                            "choose one of: [%s]",
                            c->name, names);
            goto out;
        }
    } else {
        size_t i;
        json_t *ct;
        bool found = false;
        json_array_foreach (cs, i, ct) {
            const char *n = json_string_value(json_object_get(ct, "name"));
            if (n && strcmp(n, container) == 0)
                found = true;
        }
        if (!found) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "container %s is not valid for pod %s", container,
                            c->name);
            goto out;
        }
    }
    nodename = json_string_value(
        json_object_get(json_object_get(pod, "spec"), "nodeName"));
    if (nodename == NULL || *nodename == '\0') {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        "container \"%s\" in pod \"%s\" is waiting to start: "
                        "ContainerCreating",
                        container && *container
                            ? container
                            : json_string_value(json_object_get(
                                  json_array_get(cs, 0), "name")),
                        c->name);
        goto out;
    }
    {
        struct api_ctx nc = *c;
        nc.res = api_resource_find("", "v1", "nodes");
        nc.ns[0] = '\0';
        rv = api_load(&nc, nodename, &node, NULL);
        if (rv != 0) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "node \"%s\" of pod \"%s\" is not known: %s",
                            nodename, c->name, err_str(rv));
            goto out;
        }
    }
    api_pod_log(c->srv, c->r, pod, node, c->o);
out:
    json_decref(pod);
    json_decref(node);
}

/* PUT namespaces/<name>/finalize: the body's spec.finalizers replace the
 * stored ones, nothing else is taken from it (as Kubernetes's finalize
 * REST). A terminating namespace left with no finalizers is removed. */
static void do_finalize(struct api_ctx *c)
{
    json_t *obj = NULL, *body = NULL, *upd, *fins, *spec;
    int64_t rev;
    int rv;

    if (!method_body(c, "PUT", &body))
        return;
    {
        /* a Namespace: an object, spec an object, finalizers strings */
        const json_t *bspec = json_object_get(body, "spec"), *f;
        size_t k;
        bool ok =
            json_is_object(body) && (bspec == NULL || json_is_object(bspec));
        fins = json_object_get(bspec, "finalizers");
        if (fins != NULL && !json_is_array(fins))
            ok = false;
        json_array_foreach (fins, k, f) {
            if (!json_is_string(f) || json_string_length(f) == 0)
                ok = false;
        }
        if (!ok) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "the request body must be a Namespace whose "
                            "spec.finalizers is a list of non-empty strings");
            goto out;
        }
    }
    for (int attempt = 0; attempt < 8; attempt++) {
        json_decref(obj);
        obj = NULL;
        rv = api_load(c, c->name, &obj, &rev);
        if (rv != 0) {
            api_resp_store_err(c, rv, c->name);
            goto out;
        }
        upd = json_deep_copy(obj);
        spec = json_object_get(upd, "spec");
        if (!json_is_object(spec)) {
            spec = json_object();
            json_object_set_new(upd, "spec", spec);
        }
        json_object_set_new(spec, "finalizers",
                            fins ? json_deep_copy(fins) : json_array());
        json_object_del(api_meta(upd), "resourceVersion");
        struct api_resp sub;
        struct api_resp *save = c->o;
        memset(&sub, 0, sizeof sub);
        c->o = &sub;
        rv = api_update_from(c, upd, obj, rev, false, true);
        c->o = save;
        if (rv == K1S_ECONFLICT) {
            api_resp_clear(&sub);
            continue;
        }
        *c->o = sub;
        goto out;
    }
    api_resp_conflict(c->o, c->res, c->name);
out:
    json_decref(obj);
    json_decref(body);
}

bool api_subresource(struct api_ctx *c)
{
    unsigned s = c->res->subresources;

    if (strcmp(c->sub, "scale") == 0 && (s & API_SUB_SCALE))
        do_scale(c);
    else if (strcmp(c->sub, "binding") == 0 && (s & API_SUB_BINDING))
        do_binding(c);
    else if (strcmp(c->sub, "eviction") == 0 && (s & API_SUB_EVICTION))
        do_eviction(c);
    else if (strcmp(c->sub, "log") == 0 && (s & API_SUB_LOG))
        do_log(c);
    else if (strcmp(c->sub, "finalize") == 0 && (s & API_SUB_FINALIZE))
        do_finalize(c);
    else
        return false;
    return true;
}

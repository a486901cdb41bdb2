/*
 * DESIGN: routing and the object verbs over the store (API conventions;
 * "Kubernetes API Concepts": resource URIs, efficient detection of changes,
 * retrieving large results in chunks, dry-run, server-side apply).
 *
 * A request path is resolved against the registry into (resource,
 * namespace, name, subresource). Objects are stored as their JSON without
 * metadata.resourceVersion, which is the store revision of the key's last
 * change and is filled in on every read — so a list's resourceVersion and
 * its objects' come from the one counter.
 *
 * Writes: create (uid, creationTimestamp, generateName, generation 1,
 * defaults, validation) → store_create; update/patch read the current
 * object, build the new one (immutable metadata kept, the status
 * subresource split, generation bumped when spec changes) and write it
 * with the current mod_rev as compare-and-swap precondition — a patch
 * retries on a concurrent change, an update with a stale
 * metadata.resourceVersion is 409 Conflict. An unchanged object is not
 * written. Graceful deletion sets deletionTimestamp and keeps the object
 * while finalizers remain (or, for a pod on a node, until the node confirms
 * with gracePeriodSeconds=0); the update that removes the last finalizer of
 * a terminating object deletes it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apiserver/api_int.h"
#include "apiserver/objects_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/version.h"
#include "store/store.h"

#define PATCH_RETRIES 8

/* --- small JSON helpers ----------------------------------------------- */

json_t *api_meta(json_t *obj)
{
    json_t *m = json_object_get(obj, "metadata");
    if (!json_is_object(m)) {
        m = json_object();
        json_object_set_new(obj, "metadata", m);
    }
    return m;
}

const char *api_meta_str(const json_t *obj, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(obj, "metadata"), key));
}

void api_set_rv(json_t *obj, int64_t rev)
{
    char s[32];
    snprintf(s, sizeof s, "%lld", (long long)rev);
    json_object_set_new(api_meta(obj), "resourceVersion", json_string(s));
}

json_t *api_obj_from_kv(const struct store_kv *kv, int64_t rev)
{
    json_t *obj = json_loadb(kv->value, kv->value_len, 0, NULL);
    if (obj == NULL)
        return NULL;
    api_set_rv(obj, rev ? rev : kv->mod_rev);
    return obj;
}

static int64_t parse_rv(const char *s, bool *ok)
{
    char *end;
    long long v;

    *ok = true;
    if (s == NULL || *s == '\0')
        return 0;
    v = strtoll(s, &end, 10);
    if (*end || v < 0) {
        *ok = false;
        return 0;
    }
    return v;
}

void api_now(char *out, size_t len)
{
    clock_rfc3339(clock_real_ns(), out, len);
}

/* --- reading and writing the store --------------------------------- */

int api_load(struct api_ctx *c, const char *name, json_t **ret,
             int64_t *ret_rev)
{
    char key[768];
    struct store_kv kv;
    int rv;

    rv = api_resource_key(c->res, c->ns, name, key, sizeof key);
    if (rv != 0)
        return rv;
    rv = store_get(c->srv->store, key, &kv, NULL);
    if (rv != 0)
        return rv;
    *ret = api_obj_from_kv(&kv, 0);
    if (ret_rev)
        *ret_rev = kv.mod_rev;
    store_kv_clear(&kv);
    return *ret ? 0 : K1S_ECORRUPT;
}

static char *dump_for_store(json_t *obj, size_t *len)
{
    json_t *m = json_object_get(obj, "metadata");
    json_t *rv = json_incref(json_object_get(m, "resourceVersion"));
    char *s;

    json_object_del(m, "resourceVersion");
    s = api_json_dump(obj, len);
    if (rv)
        json_object_set_new(m, "resourceVersion", rv);
    return s;
}

static int store_put(struct api_ctx *c, const char *name, json_t *obj,
                     bool create, int64_t expect, int64_t *ret_rev)
{
    char key[768];
    size_t len;
    char *s;
    int rv;

    rv = api_resource_key(c->res, c->ns, name, key, sizeof key);
    if (rv != 0)
        return rv;
    s = dump_for_store(obj, &len);
    if (s == NULL)
        return K1S_ENOMEM;
    if (create)
        rv = store_create(c->srv->store, key, s, len, ret_rev);
    else
        rv = store_update(c->srv->store, key, s, len, expect, ret_rev);
    free(s);
    return rv;
}

static int store_del(struct api_ctx *c, const char *name, int64_t expect,
                     int64_t *ret_rev)
{
    char key[768];
    int rv = api_resource_key(c->res, c->ns, name, key, sizeof key);
    if (rv != 0)
        return rv;
    return store_delete(c->srv->store, key, expect, NULL, ret_rev);
}

/* A store error as the Status a client expects. */
void api_resp_store_err(struct api_ctx *c, int rv, const char *name)
{
    switch (rv) {
    case K1S_ENOTFOUND:
        api_resp_notfound(c->o, c->res, name);
        break;
    case K1S_EEXIST:
        api_resp_exists(c->o, c->res, name);
        break;
    case K1S_ECONFLICT:
        api_resp_conflict(c->o, c->res, name);
        break;
    case K1S_ETOOLARGE:
        api_resp_status(c->o, K1S_ETOOLARGE, NULL,
                        "the object is too large to store");
        break;
    case K1S_EGONE:
        api_resp_status(c->o, K1S_EGONE, NULL, "too old resource version");
        break;
    case K1S_ESHUTDOWN:
    case K1S_ENOTLEADER:
    case K1S_EUNAVAIL:
        api_resp_status(c->o, rv, NULL, "the store is unavailable: %s",
                        err_str(rv));
        break;
    default:
        api_resp_status(c->o, K1S_EINTERNAL, NULL,
                        "Internal error occurred: store: %s", err_str(rv));
        break;
    }
}

/* --- bodies ------------------------------------------------------------- */

static bool ctype_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (ct == NULL)
        return false;
    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, want, n) == 0 &&
           (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Decodes the request body into a new JSON value. On failure o holds the
 * Status and the return is non-zero. */
int api_decode_body(struct api_ctx *c, json_t **ret)
{
    struct api_req *r = c->r;
    char err[512];
    int rv;

    *ret = NULL;
    if (r->in_process) {
        if (r->body_json == NULL) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "the request body is empty");
            return K1S_EBADREQ;
        }
        *ret = json_deep_copy(r->body_json);
        return 0;
    }
    if (r->body_too_large) {
        api_resp_status(c->o, K1S_ETOOLARGE, NULL,
                        "the request body is too large: limit is %u bytes",
                        API_BODY_MAX);
        return K1S_ETOOLARGE;
    }
    if (ctype_is(r->content_type, "application/vnd.kubernetes.protobuf")) {
        rv = api_protobuf_decode(r->body, r->body_len, ret, err, sizeof err);
        if (rv != 0) {
            api_resp_status(c->o, rv, NULL, "%s", err);
            return rv;
        }
        return 0;
    }
    if (r->content_type && *r->content_type &&
        !ctype_is(r->content_type, "application/json") &&
        !ctype_is(r->content_type, "application/merge-patch+json") &&
        !ctype_is(r->content_type, "application/strategic-merge-patch+json") &&
        !ctype_is(r->content_type, "application/json-patch+json") &&
        !ctype_is(r->content_type, "application/apply-patch+yaml") &&
        !ctype_is(r->content_type, "*/*")) {
        api_resp_status(c->o, K1S_EMEDIA, NULL,
                        "the body of the request was in an unknown format - "
                        "accepted media types include: application/json, "
                        "application/yaml");
        return K1S_EMEDIA;
    }
    rv = api_json_decode(r->body, r->body_len, ret, err, sizeof err);
    if (rv != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL, "%s", err);
        return rv;
    }
    return 0;
}

/* --- metadata preparation --------------------------------------------------
 */

static void random_suffix(char *out, size_t n)
{
    static const char alpha[] = "bcdfghjklmnpqrstvwxz2456789";
    char u[40];
    api_uuid(u);
    for (size_t i = 0; i < n; i++) {
        unsigned v =
            (unsigned char)u[i * 2] * 31u + (unsigned char)u[i * 2 + 1];
        out[i] = alpha[v % (sizeof alpha - 1)];
    }
    out[n] = '\0';
}

/* Checks apiVersion/kind against the resource and fills them. */
static int check_type(struct api_ctx *c, json_t *obj, const char *want_kind,
                      const char *want_gv)
{
    const char *kind = json_string_value(json_object_get(obj, "kind"));
    const char *av = json_string_value(json_object_get(obj, "apiVersion"));

    if (!json_is_object(obj)) {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        "the request body must be a JSON object");
        return K1S_EBADREQ;
    }
    if ((kind && *kind && strcmp(kind, want_kind) != 0) ||
        (av && *av && strcmp(av, want_gv) != 0)) {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        "the API version in the data (%s) does not match the "
                        "expected API version (%s) or the kind (%s) does not "
                        "match %s",
                        av ? av : "", want_gv, kind ? kind : "", want_kind);
        return K1S_EBADREQ;
    }
    /* apiVersion, kind and metadata first, as Kubernetes writes them */
    json_t *tmp = json_object();
    const char *k;
    json_t *v;
    json_object_set_new(tmp, "apiVersion", json_string(want_gv));
    json_object_set_new(tmp, "kind", json_string(want_kind));
    if (json_object_get(obj, "metadata"))
        json_object_set(tmp, "metadata", json_object_get(obj, "metadata"));
    json_object_foreach (obj, k, v) {
        if (strcmp(k, "apiVersion") != 0 && strcmp(k, "kind") != 0 &&
            strcmp(k, "metadata") != 0)
            json_object_set(tmp, k, v);
    }
    json_object_clear(obj);
    json_object_update(obj, tmp);
    json_decref(tmp);
    return 0;
}

/* fieldValidation: Strict rejects unknown fields (400), Warn adds a
 * Warning header, Ignore (and absent) accepts them. */
static int check_fields(struct api_ctx *c, const json_t *obj)
{
    const char *fv = api_query(c->r, "fieldValidation");
    char unk[400];

    if (fv == NULL || strcasecmp(fv, "Ignore") == 0)
        return 0;
    if (strcasecmp(fv, "Strict") != 0 && strcasecmp(fv, "Warn") != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        "fieldValidation: Unsupported value: \"%s\": "
                        "supported values: \"Ignore\", \"Warn\", \"Strict\"",
                        fv);
        return K1S_EBADREQ;
    }
    if (api_unknown_fields(c->res, obj, unk, sizeof unk) == 0)
        return 0;
    if (strcasecmp(fv, "Warn") == 0) {
        /* RFC 7234 warn-text: a quoted-string, inner quotes escaped */
        char esc[sizeof c->o->warning];
        size_t o = 0;
        for (const char *p = unk; *p && o + 3 < sizeof esc; p++) {
            if (*p == '"' || *p == '\\')
                esc[o++] = '\\';
            esc[o++] = *p;
        }
        esc[o] = '\0';
        snprintf(c->o->warning, sizeof c->o->warning, "299 - \"%.400s\"", esc);
        return 0;
    }
    api_resp_status(c->o, K1S_EBADREQ, NULL,
                    "%s in version \"%s\" cannot be handled as a %s: strict "
                    "decoding error: %s",
                    c->res->kind, c->res->version, c->res->kind, unk);
    return K1S_EBADREQ;
}

static bool dry_run(struct api_ctx *c)
{
    const char *d = api_query(c->r, "dryRun");
    return d && strcmp(d, "All") == 0;
}

static int check_dry_run(struct api_ctx *c)
{
    const char *d = api_query(c->r, "dryRun");
    if (d && *d && strcmp(d, "All") != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        "dryRun: Unsupported value: \"%s\": supported "
                        "values: \"All\"",
                        d);
        return K1S_EBADREQ;
    }
    return 0;
}

static int validate(struct api_ctx *c, const json_t *obj, const json_t *old)
{
    struct api_errs e;

    api_errs_init(&e);
    api_validate_meta(c->res, obj, &e);
    if (c->res->validate)
        c->res->validate(obj, old, &e);
    if (e.n == 0) {
        api_errs_close(&e);
        return 0;
    }
    api_resp_invalid(c->o, c->res, api_meta_str(obj, "name"), &e);
    api_errs_close(&e);
    return K1S_EINVALID;
}

/* Create: obj is taken. Answers 201 with the stored object. */
void api_create(struct api_ctx *c, json_t *obj)
{
    char gv[64], ts[32], uid[40];
    json_t *m;
    const char *name, *ns;
    enum api_ns_state ns_state = API_NS_ACTIVE;
    int64_t rev = 0;
    int rv;

    api_resource_gv(c->res, gv, sizeof gv);
    if (check_type(c, obj, c->res->kind, gv) != 0 ||
        check_fields(c, obj) != 0 || check_dry_run(c) != 0)
        goto out;
    m = api_meta(obj);
    ns = json_string_value(json_object_get(m, "namespace"));
    if (c->res->namespaced) {
        if (ns && *ns && strcmp(ns, c->ns) != 0) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "the namespace of the provided object does not "
                            "match the namespace sent on the request");
            goto out;
        }
        json_object_set_new(m, "namespace", json_string(c->ns));
        ns_state = api_nscache_lookup(&c->srv->nscache, c->srv->store, c->ns);
        if (ns_state == API_NS_MISSING) {
            api_resp_status(c->o, K1S_ENOTFOUND,
                            json_pack("{s:s, s:s, s:s}", "name", c->ns, "group",
                                      "", "kind", "namespaces"),
                            "namespaces \"%s\" not found", c->ns);
            goto out;
        }
    } else {
        json_object_del(m, "namespace");
    }
    name = json_string_value(json_object_get(m, "name"));
    if ((name == NULL || *name == '\0') &&
        json_is_string(json_object_get(m, "generateName")) &&
        *json_string_value(json_object_get(m, "generateName"))) {
        char gen[300], suf[6];
        random_suffix(suf, 5);
        snprintf(gen, sizeof gen, "%s%s",
                 json_string_value(json_object_get(m, "generateName")), suf);
        json_object_set_new(m, "name", json_string(gen));
    }
    if (ns_state == API_NS_TERMINATING) {
        /* NamespaceLifecycle: the namespace controller is deleting what is
         * in it; nothing new may appear there meanwhile. Shaped as the
         * real admission plugin shapes it, cause included. */
        char what[128], msg[320];
        const char *oname = api_meta_str(obj, "name");
        api_resource_qualified(c->res, what, sizeof what);
        snprintf(msg, sizeof msg, "namespace %s is being terminated", c->ns);
        api_resp_status(
            c->o, K1S_EFORBIDDEN,
            json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "name",
                      oname ? oname : "", "group", c->res->group, "kind",
                      c->res->resource, "causes", "reason",
                      "NamespaceTerminating", "message", msg, "field",
                      "metadata.namespace"),
            "%s \"%s\" is forbidden: unable to create new content in "
            "namespace %s because it is being terminated",
            what, oname ? oname : "", c->ns);
        goto out;
    }
    api_uuid(uid);
    api_now(ts, sizeof ts);
    json_object_set_new(m, "uid", json_string(uid));
    json_object_set_new(m, "creationTimestamp", json_string(ts));
    json_object_del(m, "resourceVersion");
    json_object_del(m, "deletionTimestamp");
    json_object_del(m, "deletionGracePeriodSeconds");
    json_object_del(m, "selfLink");
    if (c->res->flags & API_RF_GENERATION)
        json_object_set_new(m, "generation", json_integer(1));
    else
        json_object_del(m, "generation");
    if (c->res->flags & API_RF_RESET_STATUS)
        json_object_del(obj, "status");
    if (c->res->defaults)
        c->res->defaults(obj);
    if (strcmp(c->res->kind, "Pod") == 0) {
        const struct api_config *cfg = &c->srv->cfg;
        api_admit_pod_tolerations(obj,
                                  cfg->default_not_ready_toleration_s > 0
                                      ? cfg->default_not_ready_toleration_s
                                      : 300,
                                  cfg->default_unreachable_toleration_s > 0
                                      ? cfg->default_unreachable_toleration_s
                                      : 300);
    }
    if (validate(c, obj, NULL) != 0)
        goto out;
    name = api_meta_str(obj, "name");
    if (dry_run(c)) {
        api_resp_json(c->o, 201, obj);
        return;
    }
    rv = store_put(c, name, obj, true, 0, &rev);
    if (rv != 0) {
        api_resp_store_err(c, rv, name);
        goto out;
    }
    api_set_rv(obj, rev);
    api_resp_json(c->o, 201, obj);
    return;
out:
    json_decref(obj);
}

static bool json_eq_key(const json_t *a, const json_t *b, const char *k)
{
    const json_t *x = json_object_get(a, k), *y = json_object_get(b, k);
    if (x == NULL && y == NULL)
        return true;
    if (x == NULL || y == NULL)
        return false;
    return json_equal(x, y);
}

/* Builds the object to store from `obj` (taken) and the current `old`
 * (borrowed, mod_rev `old_rev`), then writes it. status_only: the
 * /status subresource. Answers 200 (or deletes a terminating object whose
 * last finalizer went). Returns K1S_ECONFLICT without answering when
 * `retry_conflict` and the store reported a conflict. */
int api_update_from(struct api_ctx *c, json_t *obj, const json_t *old,
                    int64_t old_rev, bool status_only, bool retry_conflict)
{
    char gv[64];
    json_t *m, *om = json_object_get(old, "metadata");
    const char *name = api_meta_str(old, "name");
    const char *rvs;
    int64_t expect = old_rev, rev = 0;
    bool ok;
    int rv;

    api_resource_gv(c->res, gv, sizeof gv);
    if (check_type(c, obj, c->res->kind, gv) != 0 || check_dry_run(c) != 0)
        goto out;
    if (!status_only && check_fields(c, obj) != 0)
        goto out;
    m = api_meta(obj);
    rvs = json_string_value(json_object_get(m, "resourceVersion"));
    if (rvs && *rvs) {
        int64_t want = parse_rv(rvs, &ok);
        if (!ok) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "metadata.resourceVersion: Invalid value: "
                            "\"%s\": must be a decimal number",
                            rvs);
            goto out;
        }
        if (want != old_rev) {
            api_resp_conflict(c->o, c->res, name);
            goto out;
        }
    }
    {
        const char *n2 = json_string_value(json_object_get(m, "name"));
        if (n2 && *n2 && strcmp(n2, name) != 0) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "the name of the object (%s) does not match the "
                            "name on the URL (%s)",
                            n2, name);
            goto out;
        }
    }
    if (status_only) {
        /* /status: everything but status comes from the stored object */
        json_t *st = json_incref(json_object_get(obj, "status"));
        json_decref(obj);
        obj = json_deep_copy(old);
        if (st)
            json_object_set_new(obj, "status", st);
        else
            json_object_del(obj, "status");
        m = api_meta(obj);
    } else {
        /* immutable and system-owned metadata come from the stored object */
        static const char *const keep[] = {"name",
                                           "namespace",
                                           "uid",
                                           "creationTimestamp",
                                           "deletionTimestamp",
                                           "deletionGracePeriodSeconds",
                                           "generation"};
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
            json_t *v = json_object_get(om, keep[i]);
            if (v)
                json_object_set(m, keep[i], v);
            else
                json_object_del(m, keep[i]);
        }
        if (c->res->subresources & API_SUB_STATUS) {
            json_t *st = json_object_get(old, "status");
            if (st)
                json_object_set(obj, "status", st);
            else
                json_object_del(obj, "status");
        }
        if (c->res->defaults)
            c->res->defaults(obj);
        if ((c->res->flags & API_RF_GENERATION) &&
            !json_eq_key(obj, old, "spec")) {
            json_int_t g =
                json_integer_value(json_object_get(om, "generation"));
            json_object_set_new(m, "generation", json_integer(g + 1));
        }
    }
    json_object_del(m, "resourceVersion");
    if (validate(c, obj, old) != 0)
        goto out;
    /* A terminating object whose last finalizer is gone is deleted. */
    if (json_object_get(m, "deletionTimestamp") &&
        !api_deletion_blocked(c->res, obj) &&
        !(strcmp(c->res->resource, "pods") == 0 &&
          json_object_get(json_object_get(obj, "spec"), "nodeName") &&
          json_array_size(json_object_get(om, "finalizers")) == 0)) {
        if (!dry_run(c)) {
            rv = store_del(c, name, expect, &rev);
            if (rv == K1S_ECONFLICT && retry_conflict)
                goto conflict;
            if (rv != 0 && rv != K1S_ENOTFOUND) {
                api_resp_store_err(c, rv, name);
                goto out;
            }
            api_set_rv(obj, rev);
        }
        api_resp_json(c->o, 200, obj);
        return 0;
    }
    {
        /* unchanged: nothing is written, the resourceVersion stays */
        json_t *cmp = json_deep_copy(old);
        json_object_del(api_meta(cmp), "resourceVersion");
        ok = json_equal(cmp, obj);
        json_decref(cmp);
        if (ok) {
            api_set_rv(obj, old_rev);
            api_resp_json(c->o, 200, obj);
            return 0;
        }
    }
    if (dry_run(c)) {
        api_set_rv(obj, old_rev);
        api_resp_json(c->o, 200, obj);
        return 0;
    }
    rv = store_put(c, name, obj, false, expect, &rev);
    if (rv == K1S_ECONFLICT && retry_conflict)
        goto conflict;
    if (rv != 0) {
        api_resp_store_err(c, rv, name);
        goto out;
    }
    api_set_rv(obj, rev);
    api_resp_json(c->o, 200, obj);
    return 0;
conflict:
    json_decref(obj);
    return K1S_ECONFLICT;
out:
    json_decref(obj);
    return 0;
}

/* Writes a pod bound by pods/binding: spec.nodeName and the PodScheduled
 * condition, compare-and-swap on old_rev. */
int api_bind_write(struct api_ctx *c, json_t *obj, const json_t *old,
                   int64_t old_rev)
{
    const char *name = api_meta_str(old, "name");
    int64_t rev;
    int rv = store_put(c, name, obj, false, old_rev, &rev);

    if (rv == K1S_ECONFLICT) {
        json_decref(obj);
        return rv;
    }
    if (rv != 0) {
        api_resp_store_err(c, rv, name);
        json_decref(obj);
        return rv;
    }
    api_set_rv(obj, rev);
    api_resp_json(c->o, 201, obj);
    return 0;
}

/* --- verbs ---------------------------------------------------------------- */

static void do_get(struct api_ctx *c)
{
    json_t *obj;
    int rv = api_load(c, c->name, &obj, NULL);

    if (rv != 0) {
        api_resp_store_err(c, rv, c->name);
        return;
    }
    if (api_accept_pick(c->r->accept, true, false) == 1) {
        json_t *items = json_pack("[o]", obj);
        const char *rvs = api_meta_str(obj, "resourceVersion");
        api_resp_json(
            c->o, 200,
            api_table_new(c->res, items, rvs, NULL, true, include_opt(c)));
        c->o->ctype = "application/json;as=Table;v=v1;g=meta.k8s.io";
        json_decref(items);
        return;
    }
    api_resp_json(c->o, 200, obj);
}

static void do_update(struct api_ctx *c, bool status_only)
{
    json_t *body, *old;
    int64_t old_rev;
    int rv;

    if (api_decode_body(c, &body) != 0)
        return;
    rv = api_load(c, c->name, &old, &old_rev);
    if (rv == K1S_ENOTFOUND && !status_only) {
        /* PUT creates when the kind allows it (AllowCreateOnUpdate is
         * false for the built-in kinds served here). */
        json_decref(body);
        api_resp_notfound(c->o, c->res, c->name);
        return;
    }
    if (rv != 0) {
        json_decref(body);
        api_resp_store_err(c, rv, c->name);
        return;
    }
    /* Without a resourceVersion in the body the update is unconditional:
     * like Kubernetes's GuaranteedUpdate it is retried on a fresh read when
     * a concurrent write (a controller's status update) wins the race, so
     * the client never sees a 409 it did not ask for. */
    bool uncond = api_meta_str(body, "resourceVersion") == NULL;
    for (int attempt = 0;; attempt++) {
        json_t *try_body = uncond ? json_deep_copy(body) : json_incref(body);
        bool retry = uncond && attempt < 8;
        /* api_update_from takes ownership of try_body */
        rv = api_update_from(c, try_body, old, old_rev, status_only, retry);
        json_decref(old);
        old = NULL;
        if (rv != K1S_ECONFLICT || !retry)
            break;
        rv = api_load(c, c->name, &old, &old_rev);
        if (rv != 0) {
            api_resp_store_err(c, rv, c->name);
            break;
        }
    }
    json_decref(body);
}

enum api_include include_opt(struct api_ctx *c)
{
    const char *v = api_query(c->r, "includeObject");
    if (v && strcmp(v, "None") == 0)
        return API_INC_NONE;
    if (v && strcmp(v, "Object") == 0)
        return API_INC_OBJECT;
    return API_INC_METADATA;
}

/* Continue tokens: base64url of {"rv":R,"start":"<last key>"}. */
static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *b64_enc(const char *s, size_t n)
{
    char *out = malloc(n * 4 / 3 + 5), *w = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        *w++ = b64[(v >> 18) & 63];
        *w++ = b64[(v >> 12) & 63];
        if (i + 1 < n)
            *w++ = b64[(v >> 6) & 63];
        if (i + 2 < n)
            *w++ = b64[v & 63];
    }
    *w = '\0';
    return out;
}

static char *b64_dec(const char *s, size_t *ret_n)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    unsigned v = 0;
    int bits = 0;
    size_t o = 0;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *p = strchr(b64, s[i]);
        if (s[i] == '=')
            break;
        if (p == NULL || s[i] == '\0') {
            free(out);
            return NULL;
        }
        v = (v << 6) | (unsigned)(p - b64);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((v >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    *ret_n = o;
    return out;
}

static void do_list(struct api_ctx *c)
{
    char prefix[768], err[512], lkind[96], gv[64];
    const char *lim = api_query(c->r, "limit");
    const char *cont = api_query(c->r, "continue");
    const char *rvq = api_query(c->r, "resourceVersion");
    const char *rvm = api_query(c->r, "resourceVersionMatch");
    void *ls = NULL, *fs = NULL;
    json_t *items = json_array();
    char *start = NULL, *next_cont = NULL;
    int64_t at_rev = 0, list_rev = 0;
    size_t limit = 0, batch;
    bool ok, more = false;
    int rv;

    rv = api_sel_parse(c->res, api_query(c->r, "labelSelector"),
                       api_query(c->r, "fieldSelector"), &ls, &fs, err,
                       sizeof err);
    if (rv != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL, "%s", err);
        goto out;
    }
    if (lim && *lim) {
        long long l = strtoll(lim, NULL, 10);
        if (l > 0)
            limit = (size_t)l;
    }
    int64_t want = parse_rv(rvq, &ok);
    if (!ok) {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        "resourceVersion: Invalid value: \"%s\": must be a "
                        "decimal number",
                        rvq);
        goto out;
    }
    if (rvm && *rvm) {
        if (strcmp(rvm, "Exact") != 0 && strcmp(rvm, "NotOlderThan") != 0) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "resourceVersionMatch: Unsupported value: "
                            "\"%s\": supported values: \"Exact\", "
                            "\"NotOlderThan\"",
                            rvm);
            goto out;
        }
        if (rvq == NULL || *rvq == '\0') {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "resourceVersionMatch: Forbidden: "
                            "resourceVersionMatch is forbidden unless "
                            "resourceVersion is provided");
            goto out;
        }
        if (strcmp(rvm, "Exact") == 0 && want == 0) {
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "resourceVersionMatch: Forbidden: "
                            "resourceVersionMatch \"exact\" is forbidden "
                            "for resourceVersion \"0\"");
            goto out;
        }
    }
    if (cont && *cont) {
        size_t n;
        char *raw = b64_dec(cont, &n);
        json_t *tok = raw ? json_loadb(raw, n, 0, NULL) : NULL;
        free(raw);
        if (!json_is_object(tok) ||
            !json_is_integer(json_object_get(tok, "rv")) ||
            !json_is_string(json_object_get(tok, "start"))) {
            json_decref(tok);
            api_resp_status(c->o, K1S_EBADREQ, NULL,
                            "continue key is not valid: incorrect encoded "
                            "start resourceVersion (version meta.k8s.io/v1)");
            goto out;
        }
        at_rev = json_integer_value(json_object_get(tok, "rv"));
        start = strdup(json_string_value(json_object_get(tok, "start")));
        json_decref(tok);
    } else if (want > 0) {
        int64_t cur = store_revision(c->srv->store);
        if (rvm && strcmp(rvm, "Exact") == 0)
            at_rev = want;
        else if (want > cur) {
            api_resp_status(c->o, K1S_ETIMEOUT,
                            json_pack("{s:[{s:s, s:s}], s:i}", "causes",
                                      "reason", "ResourceVersionTooLarge",
                                      "message", "Too large resource version",
                                      "retryAfterSeconds", 1),
                            "Too large resource version: %lld, current: "
                            "%lld",
                            (long long)want, (long long)cur);
            goto out;
        }
    }
    rv = api_resource_key(c->res, c->ns, "", prefix, sizeof prefix);
    if (rv == 0 && api_sel_name(fs) && c->res->namespaced == (c->ns[0] != 0))
        rv = api_resource_key(c->res, c->ns, api_sel_name(fs), prefix,
                              sizeof prefix);
    if (rv != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL, "bad path");
        goto out;
    }
    batch = limit ? limit : 1000;
    for (int rounds = 0; rounds < 100000; rounds++) {
        struct store_list l;
        rv = store_list(c->srv->store, prefix, start, batch, at_rev, &l);
        if (rv != 0) {
            if (rv == K1S_EGONE && cont)
                api_resp_status(
                    c->o, K1S_EGONE, NULL,
                    "The provided continue parameter is too old to display a "
                    "consistent list result. You can start a new list "
                    "without the continue parameter, or use the continue "
                    "token in this response to retrieve the remainder of the "
                    "results. Continuing with the provided token results in "
                    "an inconsistent list - objects that were created, "
                    "modified, or deleted between the time the first chunk "
                    "was returned and now may show up in the list.");
            else if (rv == K1S_EGONE)
                api_resp_status(
                    c->o, K1S_EGONE, NULL,
                    "too old resource version: %lld (%lld)", (long long)at_rev,
                    (long long)store_compact_revision(c->srv->store));
            else
                api_resp_store_err(c, rv, "");
            goto out;
        }
        list_rev = l.rev;
        at_rev = l.rev;
        for (size_t i = 0; i < l.n; i++) {
            json_t *obj = api_obj_from_kv(&l.items[i], 0);
            free(start);
            start = strdup(l.items[i].key);
            if (obj == NULL)
                continue;
            if (api_sel_match(ls, fs, obj))
                json_array_append_new(items, obj);
            else
                json_decref(obj);
            if (limit && json_array_size(items) >= limit) {
                more = i + 1 < l.n || l.more;
                break;
            }
        }
        bool store_more = l.more;
        size_t got = l.n;
        store_list_free(&l);
        if (more || !store_more || got == 0 ||
            json_array_size(items) >= API_LIST_MAX)
            break;
    }
    if (more) {
        json_t *tok = json_pack("{s:s, s:I, s:s}", "v", "meta.k8s.io/v1", "rv",
                                (json_int_t)list_rev, "start", start);
        char *raw = api_json_dump(tok, NULL);
        json_decref(tok);
        next_cont = raw ? b64_enc(raw, strlen(raw)) : NULL;
        free(raw);
    }
    char rvbuf[32];
    snprintf(rvbuf, sizeof rvbuf, "%lld", (long long)list_rev);
    if (api_accept_pick(c->r->accept, true, false) == 1) {
        api_resp_json(c->o, 200,
                      api_table_new(c->res, items, rvbuf, next_cont, true,
                                    include_opt(c)));
        c->o->ctype = "application/json;as=Table;v=v1;g=meta.k8s.io";
        goto out;
    }
    api_resource_gv(c->res, gv, sizeof gv);
    snprintf(lkind, sizeof lkind, "%sList", c->res->kind);
    json_t *list =
        json_pack("{s:s, s:s, s:{s:s}, s:O}", "kind", lkind, "apiVersion", gv,
                  "metadata", "resourceVersion", rvbuf, "items", items);
    if (next_cont)
        json_object_set_new(json_object_get(list, "metadata"), "continue",
                            json_string(next_cont));
    api_resp_json(c->o, 200, list);
out:
    free(start);
    free(next_cont);
    json_decref(items);
    api_sel_free(ls, fs);
}

static void do_watch(struct api_ctx *c)
{
    struct api_watch_opts wo;
    const char *rvq = api_query(c->r, "resourceVersion");
    const char *to = api_query(c->r, "timeoutSeconds");
    char err[512];
    bool ok;
    int rv;

    memset(&wo, 0, sizeof wo);
    wo.res = c->res;
    snprintf(wo.ns, sizeof wo.ns, "%s", c->ns);
    wo.from_rev = parse_rv(rvq, &ok);
    if (!ok) {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        "resourceVersion: Invalid value: \"%s\": must be a "
                        "decimal number",
                        rvq);
        return;
    }
    wo.initial_events = wo.from_rev == 0;
    wo.bookmarks = api_query_bool(c->r, "allowWatchBookmarks");
    wo.table =
        !c->r->in_process && api_accept_pick(c->r->accept, true, false) == 1;
    wo.include = include_opt(c);
    wo.timeout_s = to ? strtoll(to, NULL, 10) : 0;
    if (wo.timeout_s < 0)
        wo.timeout_s = 0;
    rv = api_sel_parse(c->res, api_query(c->r, "labelSelector"),
                       api_query(c->r, "fieldSelector"), &wo.lsel, &wo.fsel,
                       err, sizeof err);
    if (rv != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL, "%s", err);
        return;
    }
    rv = api_watcher_create(c->srv, &wo, NULL, NULL, &c->o->watcher);
    if (rv != 0) {
        if (rv == K1S_EGONE)
            api_resp_status(c->o, K1S_EGONE, NULL,
                            "too old resource version: %lld (%lld)",
                            (long long)wo.from_rev,
                            (long long)store_compact_revision(c->srv->store));
        else
            api_resp_store_err(c, rv, "");
        return;
    }
    c->o->status = 200;
    c->o->stream_kind = API_STREAM_WATCH;
}

/* --- patch ------------------------------------------------------------ */

int api_patch_type(const char *ct)
{
    if (ctype_is(ct, "application/merge-patch+json"))
        return P_MERGE;
    if (ctype_is(ct, "application/strategic-merge-patch+json"))
        return P_SMP;
    if (ctype_is(ct, "application/json-patch+json"))
        return P_JSON;
    if (ctype_is(ct, "application/apply-patch+yaml"))
        return P_APPLY;
    return P_NONE;
}

int api_apply_patch(struct api_ctx *c, int type, const json_t *doc,
                    const json_t *patch, const char *gv, const char *kind,
                    json_t **ret)
{
    char err[512] = "";
    int rv = K1S_EMEDIA;

    *ret = NULL;
    switch (type) {
    case P_MERGE:
        rv = api_merge_patch(doc, patch, ret, err, sizeof err);
        break;
    case P_SMP:
    case P_APPLY:
        rv = api_strategic_merge_patch(doc, patch, gv, kind, ret, err,
                                       sizeof err);
        break;
    case P_JSON:
        rv = api_json_patch(doc, patch, ret, err, sizeof err);
        break;
    default:
        break;
    }
    if (rv == K1S_EMEDIA) {
        api_resp_status(c->o, K1S_EMEDIA, NULL,
                        "the body of the request was in an unknown format - "
                        "accepted media types include: "
                        "application/json-patch+json, "
                        "application/merge-patch+json, "
                        "application/apply-patch+yaml, "
                        "application/strategic-merge-patch+json");
    } else if (rv == K1S_EINVALID) {
        api_resp_status(c->o, K1S_EINVALID, NULL,
                        "the server rejected our request due to an error in "
                        "our request: %s",
                        err);
    } else if (rv != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL, "%s", err);
    }
    return rv;
}

static void do_patch(struct api_ctx *c, bool status_only)
{
    int t = api_patch_type(c->r->content_type);
    json_t *patch = NULL, *old = NULL, *res;
    char gv[64];
    int64_t old_rev;
    int rv;

    if (t == P_NONE) {
        api_resp_status(c->o, K1S_EMEDIA, NULL,
                        "the body of the request was in an unknown format - "
                        "accepted media types include: "
                        "application/json-patch+json, "
                        "application/merge-patch+json, "
                        "application/apply-patch+yaml, "
                        "application/strategic-merge-patch+json");
        return;
    }
    if (t == P_APPLY) {
        const char *fm = api_query(c->r, "fieldManager");
        if (fm == NULL || *fm == '\0') {
            api_resp_status(c->o, K1S_EINVALID,
                            json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}",
                                      "name", "", "group", "meta.k8s.io",
                                      "kind", "PatchOptions", "causes",
                                      "reason", "FieldValueRequired", "message",
                                      "Required value: is required for "
                                      "apply patch",
                                      "field", "fieldManager"),
                            "PatchOptions.meta.k8s.io \"\" is invalid: "
                            "fieldManager: Required value: is required for "
                            "apply patch");
            return;
        }
    }
    if (api_decode_body(c, &patch) != 0)
        return;
    if ((t == P_JSON && !json_is_array(patch)) ||
        (t != P_JSON && !json_is_object(patch))) {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        t == P_JSON ? "json: cannot unmarshal object into Go "
                                      "value of type []handlers.jsonPatchOp"
                                    : "the patch must be a JSON object");
        goto out;
    }
    api_resource_gv(c->res, gv, sizeof gv);
    for (int attempt = 0; attempt < PATCH_RETRIES; attempt++) {
        rv = api_load(c, c->name, &old, &old_rev);
        if (rv == K1S_ENOTFOUND && t == P_APPLY && !status_only) {
            /* server-side apply is an upsert: 201 on create */
            json_t *obj = json_deep_copy(patch);
            json_t *m = api_meta(obj);
            if (json_string_value(json_object_get(m, "name")) == NULL)
                json_object_set_new(m, "name", json_string(c->name));
            json_object_del(m, "managedFields");
            api_ssa_merge(obj, NULL, patch, api_query(c->r, "fieldManager"),
                          gv);
            api_create(c, obj);
            goto out;
        }
        if (rv != 0) {
            api_resp_store_err(c, rv, c->name);
            goto out;
        }
        if (t == P_APPLY) {
            const char *n = api_meta_str(patch, "name");
            if (n && strcmp(n, c->name) != 0) {
                api_resp_status(c->o, K1S_EBADREQ, NULL,
                                "the name of the object (%s) does not match "
                                "the name on the URL (%s)",
                                n, c->name);
                goto out;
            }
        }
        if (api_apply_patch(c, t, old, patch, gv, c->res->kind, &res) != 0)
            goto out;
        if (t == P_APPLY)
            api_ssa_merge(res, old, patch, api_query(c->r, "fieldManager"), gv);
        /* a patch without resourceVersion retries on a concurrent write */
        bool has_rv = api_meta_str(patch, "resourceVersion") != NULL;
        if (!has_rv)
            json_object_del(api_meta(res), "resourceVersion");
        rv = api_update_from(c, res, old, old_rev, status_only, !has_rv);
        json_decref(old);
        old = NULL;
        if (rv != K1S_ECONFLICT)
            goto out;
    }
    api_resp_conflict(c->o, c->res, c->name);
out:
    json_decref(old);
    json_decref(patch);
}

/* --- delete ------------------------------------------------------------- */

void api_delopts_fields(struct api_ctx *c, const json_t *o,
                        struct api_delopts *d)
{
    const json_t *v = json_object_get(o, "gracePeriodSeconds");
    const json_t *pre = json_object_get(o, "preconditions");

    if (json_is_integer(v))
        d->grace = json_integer_value(v);
    v = json_object_get(o, "propagationPolicy");
    if (json_is_string(v))
        d->propagation = json_string_value(v);
    d->pre_uid = json_string_value(json_object_get(pre, "uid"));
    d->pre_rv = json_string_value(json_object_get(pre, "resourceVersion"));
    if (json_is_array(json_object_get(o, "dryRun")) &&
        json_array_size(json_object_get(o, "dryRun")) &&
        api_query(c->r, "dryRun") == NULL) {
        /* body dryRun: treated as the query parameter */
        c->body_dry_run = true;
    }
}

int api_parse_delopts(struct api_ctx *c, struct api_delopts *d)
{
    const char *g = api_query(c->r, "gracePeriodSeconds");
    const char *p = api_query(c->r, "propagationPolicy");

    memset(d, 0, sizeof *d);
    d->grace = -1;
    if (!c->r->in_process && c->r->body_len > 0 &&
        !ctype_is(c->r->content_type, "application/vnd.kubernetes.protobuf")) {
        if (api_decode_body(c, &d->body) != 0)
            return K1S_EBADREQ;
    } else if (c->r->in_process && c->r->body_json) {
        d->body = json_deep_copy(c->r->body_json);
    }
    if (d->body && json_is_object(d->body))
        api_delopts_fields(c, d->body, d);
    if (g && *g)
        d->grace = strtoll(g, NULL, 10);
    if (p && *p)
        d->propagation = p;
    if (d->propagation && strcmp(d->propagation, "Foreground") != 0 &&
        strcmp(d->propagation, "Background") != 0 &&
        strcmp(d->propagation, "Orphan") != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL,
                        "propagationPolicy: Unsupported value: \"%s\": "
                        "supported values: \"Foreground\", \"Background\", "
                        "\"Orphan\"",
                        d->propagation);
        return K1S_EBADREQ;
    }
    return 0;
}

bool api_deletion_blocked(const struct api_resource *res, const json_t *obj)
{
    if (json_array_size(json_object_get(json_object_get(obj, "metadata"),
                                        "finalizers")) > 0)
        return true;
    /* a namespace also waits for spec.finalizers ("kubernetes": the
     * namespace controller, cleared through namespaces/finalize) */
    return strcmp(res->resource, "namespaces") == 0 &&
           json_array_size(
               json_object_get(json_object_get(obj, "spec"), "finalizers")) > 0;
}

static bool has_finalizer(const json_t *m, const char *f)
{
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(m, "finalizers"), i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), f) == 0)
            return true;
    }
    return false;
}

static json_t *success_status(struct api_ctx *c, const char *name,
                              const char *uid)
{
    json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:{s:s, s:s, s:s}}", "kind",
                           "Status", "apiVersion", "v1", "metadata", "status",
                           "Success", "details", "name", name, "group",
                           c->res->group, "kind", c->res->resource);
    if (uid)
        json_object_set_new(json_object_get(st, "details"), "uid",
                            json_string(uid));
    return st;
}

/* Deletes one object; answers o. Returns 0 or the error answered. */
int api_delete_one(struct api_ctx *c, const char *name,
                   const struct api_delopts *d)
{
    json_t *obj, *m;
    int64_t rev, grace = 0;
    bool is_pod = strcmp(c->res->resource, "pods") == 0;
    bool dry = dry_run(c) || c->body_dry_run;
    int rv;

    for (int attempt = 0; attempt < PATCH_RETRIES; attempt++) {
        rv = api_load(c, name, &obj, &rev);
        if (rv != 0) {
            api_resp_store_err(c, rv, name);
            return rv;
        }
        m = api_meta(obj);
        const char *ouid = api_meta_str(obj, "uid");
        const char *orv = api_meta_str(obj, "resourceVersion");
        if (ouid == NULL)
            ouid = "";
        if (orv == NULL)
            orv = "";
        if (d->pre_uid && strcmp(d->pre_uid, ouid) != 0) {
            api_resp_status(c->o, K1S_ECONFLICT, NULL,
                            "Precondition failed: UID in precondition: %s, "
                            "UID in object meta: %s",
                            d->pre_uid, ouid);
            json_decref(obj);
            return K1S_ECONFLICT;
        }
        if (d->pre_rv && strcmp(d->pre_rv, orv) != 0) {
            api_resp_status(c->o, K1S_ECONFLICT, NULL,
                            "Precondition failed: ResourceVersion in "
                            "precondition: %s, ResourceVersion in object "
                            "meta: %s",
                            d->pre_rv, orv);
            json_decref(obj);
            return K1S_ECONFLICT;
        }
        if (strcmp(c->res->resource, "namespaces") == 0) {
            if (strcmp(name, "default") == 0 ||
                strcmp(name, "kube-system") == 0 ||
                strcmp(name, "kube-public") == 0) {
                api_resp_status(
                    c->o, K1S_EFORBIDDEN,
                    json_pack("{s:s, s:s, s:s}", "name", name, "group", "",
                              "kind", "namespaces"),
                    "namespaces \"%s\" is forbidden: this namespace may not "
                    "be deleted",
                    name);
                json_decref(obj);
                return K1S_EFORBIDDEN;
            }
        }
        /* grace period: pods on a node get theirs; everything else goes
         * at once */
        if (is_pod) {
            const json_t *spec = json_object_get(obj, "spec");
            const char *phase = json_string_value(
                json_object_get(json_object_get(obj, "status"), "phase"));
            grace = d->grace;
            if (grace < 0) {
                json_t *t =
                    json_object_get(spec, "terminationGracePeriodSeconds");
                grace = json_is_integer(t) ? json_integer_value(t) : 30;
            }
            if (json_string_value(json_object_get(spec, "nodeName")) == NULL ||
                (phase && (strcmp(phase, "Succeeded") == 0 ||
                           strcmp(phase, "Failed") == 0)))
                grace = 0;
        }
        bool changed = false;
        if (d->propagation && strcmp(d->propagation, "Foreground") == 0 &&
            !has_finalizer(m, "foregroundDeletion")) {
            json_t *f = json_object_get(m, "finalizers");
            if (!json_is_array(f)) {
                f = json_array();
                json_object_set_new(m, "finalizers", f);
            }
            json_array_append_new(f, json_string("foregroundDeletion"));
            changed = true;
        } else if (d->propagation && strcmp(d->propagation, "Orphan") == 0 &&
                   !has_finalizer(m, "orphan")) {
            json_t *f = json_object_get(m, "finalizers");
            if (!json_is_array(f)) {
                f = json_array();
                json_object_set_new(m, "finalizers", f);
            }
            json_array_append_new(f, json_string("orphan"));
            changed = true;
        }
        bool fins = api_deletion_blocked(c->res, obj);
        bool terminating = json_object_get(m, "deletionTimestamp") != NULL;
        if (fins || grace > 0) {
            if (!terminating || changed ||
                (is_pod && grace > 0 &&
                 json_integer_value(json_object_get(
                     m, "deletionGracePeriodSeconds")) > grace)) {
                char ts[32];
                clock_rfc3339(clock_real_ns() + grace * 1000000000ll, ts,
                              sizeof ts);
                if (!terminating || is_pod)
                    json_object_set_new(m, "deletionTimestamp",
                                        json_string(ts));
                if (strcmp(c->res->resource, "namespaces") == 0) {
                    /* Terminating until the namespace controller has
                     * emptied it and cleared spec.finalizers */
                    json_t *st = json_object_get(obj, "status");
                    if (!json_is_object(st)) {
                        st = json_object();
                        json_object_set_new(obj, "status", st);
                    }
                    json_object_set_new(st, "phase",
                                        json_string("Terminating"));
                }
                json_object_set_new(m, "deletionGracePeriodSeconds",
                                    json_integer(grace));
                if (c->res->flags & API_RF_GENERATION)
                    json_object_set_new(
                        m, "generation",
                        json_integer(json_integer_value(
                                         json_object_get(m, "generation")) +
                                     1));
                if (!dry) {
                    int64_t nrev;
                    rv = store_put(c, name, obj, false, rev, &nrev);
                    if (rv == K1S_ECONFLICT) {
                        json_decref(obj);
                        continue;
                    }
                    if (rv != 0) {
                        api_resp_store_err(c, rv, name);
                        json_decref(obj);
                        return rv;
                    }
                    api_set_rv(obj, nrev);
                }
            }
            api_resp_json(c->o, 200, obj);
            return 0;
        }
        if (!dry) {
            rv = store_del(c, name, rev, NULL);
            if (rv == K1S_ECONFLICT) {
                json_decref(obj);
                continue;
            }
            if (rv != 0) {
                api_resp_store_err(c, rv, name);
                json_decref(obj);
                return rv;
            }
        }
        api_resp_json(c->o, 200,
                      success_status(c, name, api_meta_str(obj, "uid")));
        json_decref(obj);
        return 0;
    }
    api_resp_conflict(c->o, c->res, name);
    return K1S_ECONFLICT;
}

static void do_delete(struct api_ctx *c)
{
    struct api_delopts d;

    if (api_parse_delopts(c, &d) != 0 || check_dry_run(c) != 0) {
        json_decref(d.body);
        return;
    }
    api_delete_one(c, c->name, &d);
    json_decref(d.body);
}

static void do_delete_collection(struct api_ctx *c)
{
    char prefix[512], err[512], gv[64], lkind[96];
    struct api_delopts d;
    struct store_list l;
    void *ls = NULL, *fs = NULL;
    json_t *items = json_array();
    int rv;

    if (api_parse_delopts(c, &d) != 0 || check_dry_run(c) != 0)
        goto out;
    rv = api_sel_parse(c->res, api_query(c->r, "labelSelector"),
                       api_query(c->r, "fieldSelector"), &ls, &fs, err,
                       sizeof err);
    if (rv != 0) {
        api_resp_status(c->o, K1S_EBADREQ, NULL, "%s", err);
        goto out;
    }
    api_resource_key(c->res, c->ns, "", prefix, sizeof prefix);
    rv = store_list(c->srv->store, prefix, NULL, API_LIST_MAX, 0, &l);
    if (rv != 0) {
        api_resp_store_err(c, rv, "");
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        json_t *obj = api_obj_from_kv(&l.items[i], 0);
        if (obj && api_sel_match(ls, fs, obj)) {
            struct api_resp sub;
            struct api_resp *save = c->o;
            char ns[256];
            memset(&sub, 0, sizeof sub);
            snprintf(ns, sizeof ns, "%s", c->ns);
            if (c->res->namespaced)
                snprintf(c->ns, sizeof c->ns, "%s",
                         api_meta_str(obj, "namespace"));
            c->o = &sub;
            if (api_delete_one(c, api_meta_str(obj, "name"), &d) == 0)
                json_array_append(items, obj);
            c->o = save;
            snprintf(c->ns, sizeof c->ns, "%s", ns);
            api_resp_clear(&sub);
        }
        json_decref(obj);
    }
    store_list_free(&l);
    api_resource_gv(c->res, gv, sizeof gv);
    snprintf(lkind, sizeof lkind, "%sList", c->res->kind);
    api_resp_json(c->o, 200,
                  json_pack("{s:s, s:s, s:{}, s:O}", "kind", lkind,
                            "apiVersion", gv, "metadata", "items", items));
out:
    json_decref(d.body);
    json_decref(items);
    api_sel_free(ls, fs);
}

/* --- routing ------------------------------------------------------------- */

static void reply_version(struct api_resp *o)
{
    api_resp_json(o, 200,
                  json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                            "major", K1S_KUBE_MAJOR, "minor", K1S_KUBE_MINOR,
                            "gitVersion", K1S_KUBE_VERSION, "gitCommit",
                            "0000000000000000000000000000000000000000",
                            "gitTreeState", "clean", "buildDate",
                            "2026-11-25T00:00:00Z", "goVersion", "go1.23.0",
                            "compiler", "gc", "platform", "linux/amd64"));
}

static bool path_is(const char *url, const char *path)
{
    size_t n = strlen(path);
    return strncmp(url, path, n) == 0 &&
           (url[n] == '\0' || (url[n] == '/' && url[n + 1] == '\0'));
}

/* Splits path into at most max segments (in place). */
static size_t split(char *p, char **seg, size_t max)
{
    size_t n = 0;
    char *save = NULL, *tok;
    for (tok = strtok_r(p, "/", &save); tok && n < max;
         tok = strtok_r(NULL, "/", &save))
        seg[n++] = tok;
    if (tok)
        return max + 1;
    return n;
}

static void not_found_path(struct api_resp *o)
{
    api_resp_status(o, K1S_ENOTFOUND, NULL,
                    "the server could not find the requested resource");
}

static void method_not_allowed(struct api_resp *o)
{
    api_resp_status(o, K1S_EMETHOD, NULL,
                    "the server does not allow this method on the requested "
                    "resource");
}

void api_dispatch(struct api_server *srv, struct api_req *r, struct api_resp *o)
{
    struct api_ctx c;
    char *seg[10], *dup;
    size_t n, i = 0;
    const char *group = "", *version;

    memset(&c, 0, sizeof c);
    c.srv = srv;
    c.r = r;
    c.o = o;
    /* one trailing slash is ignored: the Python client asks for "/api/" */
    {
        size_t pl = strlen(r->path);
        if (pl > 1 && r->path[pl - 1] == '/')
            r->path[pl - 1] = '\0';
    }
    if (path_is(r->path, "/healthz") || path_is(r->path, "/livez")) {
        api_resp_text(o, 200, "text/plain; charset=utf-8", "ok");
        return;
    }
    if (path_is(r->path, "/readyz")) {
        if (atomic_load(&srv->ready))
            api_resp_text(o, 200, "text/plain; charset=utf-8", "ok");
        else
            api_resp_text(o, 503, "text/plain; charset=utf-8", "not ready");
        return;
    }
    if (path_is(r->path, "/version")) {
        reply_version(o);
        return;
    }
    if (api_discovery_serve(srv, r, o))
        return;
    if (srv->store == NULL) {
        not_found_path(o);
        return;
    }
    dup = strdup(r->path);
    if (dup == NULL) {
        api_resp_status(o, K1S_ENOMEM, NULL, "out of memory");
        return;
    }
    n = split(dup, seg, 10);
    if (n < 3 || n > 10)
        goto notfound;
    if (strcmp(seg[0], "api") == 0) {
        version = seg[1];
        i = 2;
    } else if (strcmp(seg[0], "apis") == 0 && n >= 4) {
        group = seg[1];
        version = seg[2];
        i = 3;
    } else
        goto notfound;
    /* namespaces/<ns>/<resource>... or <resource>... */
    if (n - i >= 3 && strcmp(seg[i], "namespaces") == 0 &&
        (c.res = api_resource_find(group, version, seg[i + 2])) != NULL &&
        c.res->namespaced) {
        snprintf(c.ns, sizeof c.ns, "%s", seg[i + 1]);
        i += 3;
    } else {
        c.res = api_resource_find(group, version, seg[i]);
        if (c.res == NULL)
            goto notfound;
        i += 1;
    }
    if (i < n)
        snprintf(c.name, sizeof c.name, "%s", seg[i++]);
    if (i < n)
        snprintf(c.sub, sizeof c.sub, "%s", seg[i++]);
    if (i < n)
        goto notfound;
    if (c.res->namespaced && c.ns[0] == '\0' && c.name[0]) {
        goto notfound;
    }
    if (!c.res->namespaced && strcmp(c.res->resource, "namespaces") != 0 &&
        c.ns[0])
        goto notfound;
    if (strcmp(c.res->resource, "namespaces") == 0) {
        /* the namespace resource is cluster-scoped; its name is its own
         * namespace for metadata purposes */
        c.ns[0] = '\0';
    }
    free(dup);
    dup = NULL;

    if (c.name[0] == '\0') {
        if (strcmp(r->method, "GET") == 0) {
            if (api_query_bool(r, "watch"))
                do_watch(&c);
            else
                do_list(&c);
        } else if (strcmp(r->method, "POST") == 0) {
            if (c.res->namespaced && c.ns[0] == '\0')
                method_not_allowed(o);
            else {
                json_t *body;
                if (api_decode_body(&c, &body) == 0)
                    api_create(&c, body);
            }
        } else if (strcmp(r->method, "DELETE") == 0) {
            do_delete_collection(&c);
        } else
            method_not_allowed(o);
        return;
    }
    if (c.sub[0] == '\0') {
        if (strcmp(r->method, "GET") == 0)
            do_get(&c);
        else if (strcmp(r->method, "PUT") == 0)
            do_update(&c, false);
        else if (strcmp(r->method, "PATCH") == 0)
            do_patch(&c, false);
        else if (strcmp(r->method, "DELETE") == 0)
            do_delete(&c);
        else
            method_not_allowed(o);
        return;
    }
    if (strcmp(c.sub, "status") == 0 &&
        (c.res->subresources & API_SUB_STATUS)) {
        if (strcmp(r->method, "GET") == 0)
            do_get(&c);
        else if (strcmp(r->method, "PUT") == 0)
            do_update(&c, true);
        else if (strcmp(r->method, "PATCH") == 0)
            do_patch(&c, true);
        else
            method_not_allowed(o);
        return;
    }
    if (api_subresource(&c))
        return;
    not_found_path(o);
    return;
notfound:
    free(dup);
    not_found_path(o);
}

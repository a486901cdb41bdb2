/*
 * DESIGN: the garbage collector (pkg/controller/garbagecollector), without
 * the full dependency graph: the informers of the kinds it tracks are the
 * graph. Keys are "<index>|<ns>/<name>" (index into m->gc_inf).
 *
 *   dependent pass  for an object with ownerReferences: every owner is
 *                   looked up (in the informers by uid, else with a GET
 *                   of the owner's kind by name, comparing uid). If none
 *                   exists any more, the object is deleted (propagation
 *                   Background, or Foreground when it has dependents of
 *                   its own, so a foreground chain waits for the
 *                   grand-children); if only some are gone, the dangling
 *                   references are removed. An owner that is being
 *                   deleted in the foreground makes a blocking dependent
 *                   be deleted too.
 *   owner pass      for an object being deleted with the "orphan"
 *                   finalizer: its dependents lose their reference to it,
 *                   then the finalizer is removed. With
 *                   "foregroundDeletion": its dependents are deleted, and
 *                   once none is left the finalizer is removed (the API
 *                   server then deletes the owner).
 *
 * Every object is visited when its informer lists it, so dependents of
 * owners deleted while k1s was down are collected after a restart; owner
 * deletions enqueue their dependents. A dependent is only judged when all
 * informers have synced, so a missing owner is never a not-yet-listed one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/ctrl_int.h"
#include "lib/err.h"
#include "lib/log.h"

struct gc_handler {
    struct ctrl_manager *m;
    int index;
};

/* One manager per process (k1s server), so the handler arguments can be
 * static: they only carry the informer's index. */
static struct gc_handler handlers[CTRL_GC_MAX];

static bool deleting(const json_t *o)
{
    json_t *d = ctrl_jget(o, "metadata.deletionTimestamp");
    return d != NULL && !json_is_null(d);
}

static bool has_finalizer(const json_t *o, const char *f)
{
    json_t *fs = ctrl_jget(o, "metadata.finalizers"), *x;
    size_t i;
    json_array_foreach (fs, i, x) {
        if (json_is_string(x) && strcmp(json_string_value(x), f) == 0)
            return true;
    }
    return false;
}

static void enqueue(struct ctrl_manager *m, int idx, const json_t *o)
{
    char key[600], ok[512];
    snprintf(key, sizeof key, "%d|%s", idx, ctrl_obj_key(o, ok, sizeof ok));
    ctrl_wq_add(m->gc.wq, key);
}

struct dep_filter {
    const char *uid;
};

static bool refers_to(const json_t *o, void *arg)
{
    json_t *refs = ctrl_jget(o, "metadata.ownerReferences"), *r;
    size_t i;
    json_array_foreach (refs, i, r) {
        const char *u = json_string_value(json_object_get(r, "uid"));
        if (u && strcmp(u, arg) == 0)
            return true;
    }
    return false;
}

/* Enqueues every tracked object that names uid as an owner. */
static void enqueue_dependents(struct ctrl_manager *m, const char *uid,
                               const char *ns)
{
    for (int i = 0; i < m->ngc; i++) {
        json_t *l = ctrl_informer_list(m->gc_inf[i],
                                       m->gc_res[i]->namespaced ? ns : NULL,
                                       refers_to, (void *)uid);
        size_t j;
        json_t *o;
        json_array_foreach (l, j, o)
            enqueue(m, i, o);
        json_decref(l);
    }
}

bool ctrl_gc_interested(const json_t *obj)
{
    const json_t *m = json_object_get(obj, "metadata");
    return json_array_size(json_object_get(m, "ownerReferences")) > 0 ||
           json_array_size(json_object_get(m, "finalizers")) > 0 ||
           json_object_get(m, "deletionTimestamp") != NULL;
}

static void gc_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct gc_handler *h = arg;
    const json_t *o = new_obj ? new_obj : old_obj;

    if (new_obj == NULL) {
        const char *uid = ctrl_jstr(old_obj, "metadata.uid");
        if (uid)
            enqueue_dependents(h->m, uid,
                               ctrl_jstr(old_obj, "metadata.namespace"));
        return;
    }
    if (json_array_size(ctrl_jget(o, "metadata.ownerReferences")) > 0 ||
        (deleting(o) && (has_finalizer(o, "orphan") ||
                         has_finalizer(o, "foregroundDeletion"))))
        enqueue(h->m, h->index, o);
}

int ctrl_gc_init(struct ctrl_manager *m)
{
    for (int i = 0; i < m->ngc; i++) {
        int rv;
        handlers[i].m = m;
        handlers[i].index = i;
        rv = ctrl_informer_add_handler(m->gc_inf[i], gc_cb, &handlers[i]);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static void obj_path(const struct ctrl_gc_resource *r, const char *ns,
                     const char *name, char *buf, size_t len)
{
    const char *root = strchr(r->group_version, '/') ? "/apis" : "/api";
    if (r->namespaced)
        snprintf(buf, len, "%s/%s/namespaces/%s/%s/%s", root, r->group_version,
                 ns, r->plural, name);
    else
        snprintf(buf, len, "%s/%s/%s/%s", root, r->group_version, r->plural,
                 name);
}

static bool uid_is(const json_t *o, void *uid)
{
    const char *u = ctrl_jstr(o, "metadata.uid");
    return u && strcmp(u, uid) == 0;
}

/* Looks the owner up: 1 exists (*ret_owner set when we have it), 0 gone,
 * negative: cannot tell (API error). */
static int owner_exists(struct ctrl_manager *m, const json_t *ref,
                        const char *ns, json_t **ret_owner)
{
    const char *uid = json_string_value(json_object_get(ref, "uid"));
    const char *kind = json_string_value(json_object_get(ref, "kind"));
    const char *av = json_string_value(json_object_get(ref, "apiVersion"));
    const char *name = json_string_value(json_object_get(ref, "name"));
    char path[700];
    json_t *got = NULL;
    int st;

    *ret_owner = NULL;
    if (uid == NULL || kind == NULL || name == NULL)
        return 0;
    for (int i = 0; i < m->ngc; i++) {
        json_t *l;
        if (strcmp(m->gc_res[i]->kind, kind) != 0)
            continue;
        l = ctrl_informer_list(m->gc_inf[i],
                               m->gc_res[i]->namespaced ? ns : NULL, uid_is,
                               (void *)uid);
        if (json_array_size(l) > 0) {
            *ret_owner = json_incref(json_array_get(l, 0));
            json_decref(l);
            return 1;
        }
        json_decref(l);
        /* a tracked kind, informer synced: it is gone unless the informer
         * lags; confirm with a GET below */
    }
    /* GET by name; an absent owner is 404 or another uid */
    {
        static const char *const cluster_kinds[] = {"Node", "Namespace",
                                                    "PersistentVolume"};
        bool cluster = false;
        char plural[128];
        size_t n;
        const char *root = av && strchr(av, '/') ? "/apis" : "/api";
        for (size_t i = 0; i < 3; i++)
            if (strcmp(kind, cluster_kinds[i]) == 0)
                cluster = true;
        n = strlen(kind);
        if (n + 3 >= sizeof plural)
            return 0;
        for (size_t i = 0; i <= n; i++)
            plural[i] =
                (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] - 'A' + 'a'
                                                        : kind[i]);
        if (n > 0 && plural[n - 1] == 's')
            strcat(plural, "es");
        else if (n > 0 && plural[n - 1] == 'y')
            strcpy(plural + n - 1, "ies");
        else
            strcat(plural, "s");
        if (cluster)
            snprintf(path, sizeof path, "%s/%s/%s/%s", root, av ? av : "v1",
                     plural, name);
        else
            snprintf(path, sizeof path, "%s/%s/namespaces/%s/%s/%s", root,
                     av ? av : "v1", ns, plural, name);
    }
    st = m->api.call(m->api.ctx, "GET", path, NULL, NULL, &got);
    if (st == 404 || st == 410) {
        json_decref(got);
        return 0;
    }
    if (st != 200) {
        json_decref(got);
        return st < 0 ? st : K1S_EIO;
    }
    if (!uid_is(got, (void *)uid)) {
        json_decref(got);
        return 0;
    }
    *ret_owner = got;
    return 1;
}

static bool has_dependents(struct ctrl_manager *m, const json_t *o)
{
    const char *uid = ctrl_jstr(o, "metadata.uid");
    for (int i = 0; uid && i < m->ngc; i++) {
        json_t *l =
            ctrl_informer_list(m->gc_inf[i], ctrl_jstr(o, "metadata.namespace"),
                               refers_to, (void *)uid);
        size_t n = json_array_size(l);
        json_decref(l);
        if (n > 0)
            return true;
    }
    return false;
}

static int delete_obj(struct ctrl_manager *m, int idx, const json_t *o,
                      bool foreground)
{
    char path[700];
    json_t *body, *ret = NULL;
    int st;

    obj_path(m->gc_res[idx], ctrl_jstr(o, "metadata.namespace"),
             ctrl_jstr(o, "metadata.name"), path, sizeof path);
    body = json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind", "DeleteOptions",
                     "apiVersion", "v1", "propagationPolicy",
                     foreground ? "Foreground" : "Background", "preconditions",
                     "uid", ctrl_jstr(o, "metadata.uid"));
    st = m->api.call(m->api.ctx, "DELETE", path, NULL, body, &ret);
    json_decref(body);
    json_decref(ret);
    if (st == 200 || st == 202 || st == 404 || st == 409)
        return 0;
    return st < 0 ? st : K1S_EIO;
}

/* Sets one metadata field of o (value stolen; NULL removes it) with a JSON
 * merge patch that carries o's resourceVersion as its precondition — the
 * informers of some kinds hold metadata only, so the collector never
 * writes whole objects back. 0 (also when o is gone) or an error
 * (K1S_ECONFLICT: o changed; the next event brings it again). */
static int patch_meta(struct ctrl_manager *m, int idx, const json_t *o,
                      const char *field, json_t *value)
{
    char path[700];
    json_t *body;
    int rv;

    body = json_pack("{s:{s:s?, s:o}}", "metadata", "resourceVersion",
                     ctrl_jstr(o, "metadata.resourceVersion"), field,
                     value ? value : json_null());
    if (body == NULL)
        return K1S_ENOMEM;
    obj_path(m->gc_res[idx], ctrl_jstr(o, "metadata.namespace"),
             ctrl_jstr(o, "metadata.name"), path, sizeof path);
    rv = ctrl_write(m, "PATCH", path, "application/merge-patch+json", body,
                    NULL);
    json_decref(body);
    return rv == K1S_ENOTFOUND ? 0 : rv;
}

/* Removes the ownerReferences to the given uids from o. */
static int remove_refs(struct ctrl_manager *m, int idx, const json_t *o,
                       json_t *gone_uids)
{
    json_t *refs = json_deep_copy(ctrl_jget(o, "metadata.ownerReferences"));
    json_t *r;
    size_t i;

    if (refs == NULL)
        return 0;
    for (i = 0; i < json_array_size(refs);) {
        size_t j;
        json_t *u;
        bool gone = false;
        r = json_array_get(refs, i);
        json_array_foreach (gone_uids, j, u) {
            if (json_equal(u, json_object_get(r, "uid")))
                gone = true;
        }
        if (gone)
            json_array_remove(refs, i);
        else
            i++;
    }
    if (json_array_size(refs) == 0) {
        json_decref(refs);
        refs = NULL;
    }
    return patch_meta(m, idx, o, "ownerReferences", refs);
}

static int remove_finalizer(struct ctrl_manager *m, int idx, const json_t *o,
                            const char *f)
{
    json_t *fs = json_deep_copy(ctrl_jget(o, "metadata.finalizers"));
    size_t i;

    if (fs == NULL)
        return 0;
    for (i = 0; i < json_array_size(fs);) {
        const char *x = json_string_value(json_array_get(fs, i));
        if (x && strcmp(x, f) == 0)
            json_array_remove(fs, i);
        else
            i++;
    }
    return patch_meta(m, idx, o, "finalizers", fs);
}

/* The owner pass. */
static int process_owner(struct ctrl_manager *m, int idx, const json_t *o,
                         const char *key)
{
    const char *uid = ctrl_jstr(o, "metadata.uid");
    const char *ns = ctrl_jstr(o, "metadata.namespace");
    int rv = 0;

    if (has_finalizer(o, "orphan")) {
        for (int i = 0; i < m->ngc && rv == 0; i++) {
            json_t *l = ctrl_informer_list(m->gc_inf[i],
                                           m->gc_res[i]->namespaced ? ns : NULL,
                                           refers_to, (void *)uid);
            json_t *uids = json_pack("[s]", uid);
            size_t j;
            json_t *d;
            json_array_foreach (l, j, d) {
                if ((rv = remove_refs(m, i, d, uids)) != 0)
                    break;
            }
            json_decref(uids);
            json_decref(l);
        }
        if (rv == 0)
            rv = remove_finalizer(m, idx, o, "orphan");
        return rv;
    }
    if (has_finalizer(o, "foregroundDeletion")) {
        bool blocking = false;
        for (int i = 0; i < m->ngc && rv == 0; i++) {
            json_t *l = ctrl_informer_list(m->gc_inf[i],
                                           m->gc_res[i]->namespaced ? ns : NULL,
                                           refers_to, (void *)uid);
            size_t j;
            json_t *d;
            json_array_foreach (l, j, d) {
                blocking = true;
                if (!deleting(d))
                    rv = delete_obj(m, i, d, has_dependents(m, d));
                else
                    enqueue(m, i, d); /* its own foreground chain */
            }
            json_decref(l);
        }
        if (rv == 0 && !blocking)
            rv = remove_finalizer(m, idx, o, "foregroundDeletion");
        else if (rv == 0)
            ctrl_wq_add_after(m->gc.wq, key, 500000000LL);
        return rv;
    }
    return 0;
}

int ctrl_gc_reconcile(struct ctrl_manager *m, const char *key)
{
    char *bar = strchr(key, '|');
    int idx = atoi(key), rv = 0, nrefs, ngone = 0;
    json_t *o, *refs, *r, *gone = NULL;
    const char *ns;
    bool waiting_fg = false;
    size_t i;

    if (bar == NULL || idx < 0 || idx >= m->ngc)
        return 0;
    for (int i2 = 0; i2 < m->ngc; i2++) {
        if (!ctrl_informer_synced(m->gc_inf[i2])) {
            ctrl_wq_add_after(m->gc.wq, key, 1000000000LL);
            return 0;
        }
    }
    o = ctrl_informer_get(m->gc_inf[idx], bar + 1);
    if (o == NULL)
        return 0;
    if (deleting(o)) {
        rv = process_owner(m, idx, o, key);
        goto out;
    }
    ns = ctrl_jstr(o, "metadata.namespace");
    refs = ctrl_jget(o, "metadata.ownerReferences");
    nrefs = (int)json_array_size(refs);
    if (nrefs == 0)
        goto out;
    gone = json_array();
    json_array_foreach (refs, i, r) {
        json_t *owner = NULL;
        int e = owner_exists(m, r, ns, &owner);
        if (e < 0) {
            rv = e;
            goto out;
        }
        if (e == 0) {
            json_array_append(gone, json_object_get(r, "uid"));
            ngone++;
        } else if (deleting(owner) &&
                   has_finalizer(owner, "foregroundDeletion") &&
                   json_is_true(json_object_get(r, "blockOwnerDeletion"))) {
            waiting_fg = true;
        }
        json_decref(owner);
    }
    if (ngone == nrefs) {
        log_debug("gc: %s: all owners gone, deleting", key);
        rv = delete_obj(m, idx, o, has_dependents(m, o));
    } else if (waiting_fg) {
        rv = delete_obj(m, idx, o, has_dependents(m, o));
    } else if (ngone > 0) {
        rv = remove_refs(m, idx, o, gone);
    }
out:
    json_decref(gone);
    json_decref(o);
    return rv;
}

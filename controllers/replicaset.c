/*
 * DESIGN: the ReplicaSet controller (pkg/controller/replicaset).
 *
 * reconcile(ns/name): the active pods the ReplicaSet controls (controller
 * ownerReference with its uid; orphans that match its selector are adopted
 * by adding the reference) are compared with spec.replicas. Missing pods
 * are created from the template (generateName "<rs>-", the template's
 * labels, an ownerReference with controller and blockOwnerDeletion) in
 * slow-start batches 1, 2, 4, ...; surplus pods are deleted in
 * ActivePodsWithRanks order. At most 500 creates or deletes per pass
 * (burstReplicas). Before writing, the controller records expectations
 * (how many creates/deletes it is about to see through the watch) and does
 * not manage the set again until the pod informer has observed them (or
 * 5 minutes pass), so it never over-creates while its own writes are in
 * flight. Status (replicas, fullyLabeledReplicas, readyReplicas,
 * availableReplicas with minReadySeconds, observedGeneration) is written
 * through /status when it changed; a pod that will become available later
 * re-queues the key for then.
 *
 * Pod events that can only raise the counts (a pod created while more
 * creates are still expected, a pod turning Running or Ready, a resync)
 * and the echo of our own status write queue the set coalesced
 * (ctrl_wq_add_coalesced): at most one sync per 100 us per replica
 * (100 ms for 1,000 pods), the first one after a quiet spell at once.
 * A sync walks every pod of the set, so without this a set whose 1,000
 * pods each change twice costs 2,000 walks of 1,000 pods. Anything that
 * lets the set act or lowers a count (the last expected create, a
 * delete, a pod failing or losing Ready, labels or owners changing, a
 * spec change) queues it at once, so the status only ever lags on the
 * side of fewer ready pods.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/ctrl_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"

#define COMPONENT "replicaset-controller"
#define COALESCE_PER_REPLICA_NS 100000LL
#define COALESCE_MAX_NS 500000000LL

static bool is_rs_ref(const json_t *ref)
{
    const char *k = json_string_value(json_object_get(ref, "kind"));
    return k && strcmp(k, "ReplicaSet") == 0;
}

/* Queues the set: at once, or coalesced with its other status-only
 * changes (see DESIGN). */
static void enqueue_rs(struct ctrl_manager *m, const char *key, bool urgent)
{
    json_t *rs;
    int64_t interval;

    if (urgent) {
        ctrl_wq_add(m->rs.wq, key);
        return;
    }
    rs = ctrl_informer_get(m->rss, key);
    interval = ctrl_jint(rs, "spec.replicas", 1) * COALESCE_PER_REPLICA_NS;
    json_decref(rs);
    if (interval > COALESCE_MAX_NS)
        interval = COALESCE_MAX_NS;
    ctrl_wq_add_coalesced(m->rs.wq, key, interval);
}

static void enqueue_owner(struct ctrl_manager *m, const json_t *pod,
                          bool urgent)
{
    const json_t *ref = ctrl_controller_ref(pod);
    const char *ns = ctrl_jstr(pod, "metadata.namespace");
    char key[512];
    if (ref == NULL || !is_rs_ref(ref) || ns == NULL)
        return;
    snprintf(key, sizeof key, "%s/%s", ns,
             json_string_value(json_object_get(ref, "name")));
    enqueue_rs(m, key, urgent);
}

static bool deleting(const json_t *o)
{
    json_t *d = ctrl_jget(o, "metadata.deletionTimestamp");
    return d != NULL && !json_is_null(d);
}

static bool match_rs_selector(const json_t *rs, void *arg)
{
    return ctrl_selector_matches(ctrl_jget(rs, "spec.selector"),
                                 ctrl_jget(arg, "metadata.labels"));
}

static bool same_at(const json_t *a, const json_t *b, const char *path)
{
    json_t *x = ctrl_jget(a, path), *y = ctrl_jget(b, path);
    return (x == NULL && y == NULL) || (x && y && json_equal(x, y));
}

/* Does a pod update change anything the ReplicaSet counts or decides on? */
static bool matters_to_owner(const json_t *old_obj, const json_t *new_obj)
{
    static const char *const paths[] = {
        "metadata.labels",
        "metadata.ownerReferences",
        "metadata.deletionTimestamp",
        "status.phase",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (!same_at(old_obj, new_obj, paths[i]))
            return true;
    return ctrl_pod_is_ready(old_obj) != ctrl_pod_is_ready(new_obj);
}

/* A pod update that matters to its owner only by raising its counts: same
 * labels, owners and deletion state, still active, and not losing
 * Ready. */
static bool only_progress(const json_t *old_obj, const json_t *new_obj)
{
    static const char *const paths[] = {
        "metadata.labels",
        "metadata.ownerReferences",
        "metadata.deletionTimestamp",
    };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (!same_at(old_obj, new_obj, paths[i]))
            return false;
    if (!ctrl_pod_is_active(new_obj))
        return false;
    return !ctrl_pod_is_ready(old_obj) || ctrl_pod_is_ready(new_obj);
}

static void pod_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct ctrl_manager *m = arg;
    const json_t *o = new_obj ? new_obj : old_obj;
    const json_t *ref = ctrl_controller_ref(o);
    bool urgent = true;
    char key[512];

    if (ref && is_rs_ref(ref)) {
        snprintf(key, sizeof key, "%s/%s", ctrl_jstr(o, "metadata.namespace"),
                 json_string_value(json_object_get(ref, "name")));
        if (old_obj == NULL && new_obj && !deleting(new_obj)) {
            ctrl_exp_observe(m, key, 1, 0);
            /* the last create expected lets the set act again */
            urgent = ctrl_exp_satisfied(m, key);
        } else if (new_obj == NULL && !deleting(old_obj))
            ctrl_exp_observe(m, key, 0, 1);
        else if (old_obj && new_obj && old_obj != new_obj &&
                 !deleting(old_obj) && deleting(new_obj))
            ctrl_exp_observe(m, key, 0, 1);
    }
    if (old_obj && new_obj && old_obj != new_obj) {
        const json_t *oref = ctrl_controller_ref(old_obj);
        if (oref && !json_equal((json_t *)oref, (json_t *)ref))
            enqueue_owner(m, old_obj, true);
    }
    if (ref) {
        if (old_obj && new_obj && old_obj != new_obj) {
            if (!matters_to_owner(old_obj, new_obj))
                return; /* e.g. the binding: nothing the set counts changed */
            urgent = !only_progress(old_obj, new_obj);
        } else if (old_obj == new_obj) {
            urgent = false; /* a resync */
        }
        enqueue_owner(m, o, urgent);
    } else if (new_obj && ctrl_pod_is_active(new_obj)) {
        /* an orphan: every ReplicaSet that selects it may adopt it */
        json_t *rss =
            ctrl_informer_list(m->rss, ctrl_jstr(o, "metadata.namespace"),
                               match_rs_selector, (void *)new_obj);
        size_t i;
        json_t *rs;
        json_array_foreach (rss, i, rs)
            ctrl_wq_add(m->rs.wq, ctrl_obj_key(rs, key, sizeof key));
        json_decref(rss);
    }
}

/* A ReplicaSet update that changed only its status (our own write, most
 * often) or nothing (a resync). */
static bool rs_status_only(const json_t *old_obj, const json_t *new_obj)
{
    static const char *const paths[] = {
        "spec",
        "metadata.generation",
        "metadata.labels",
        "metadata.ownerReferences",
        "metadata.deletionTimestamp",
    };
    if (old_obj == NULL || new_obj == NULL)
        return false;
    for (size_t i = 0; old_obj != new_obj && i < sizeof paths / sizeof paths[0];
         i++)
        if (!same_at(old_obj, new_obj, paths[i]))
            return false;
    return true;
}

static void rs_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct ctrl_manager *m = arg;
    char key[512];
    ctrl_obj_key(new_obj ? new_obj : old_obj, key, sizeof key);
    enqueue_rs(m, key, !rs_status_only(old_obj, new_obj));
}

int ctrl_rs_init(struct ctrl_manager *m)
{
    int rv = ctrl_informer_add_handler(m->pods, pod_cb, m);
    if (rv == 0)
        rv = ctrl_informer_add_handler(m->rss, rs_cb, m);
    return rv;
}

/* The active pods we control, through the pods informer's controller-uid
 * index (no scan of every pod, and no ownerReferences walk: the index is
 * by that uid), and in *ret_orphans (when asked) the active pods without a
 * controller that match our selector, which we may adopt. NULL on
 * ENOMEM. */
static json_t *select_pods(struct ctrl_manager *m, const char *ns,
                           const char *uid, const json_t *selector,
                           json_t **ret_orphans)
{
    json_t *cand = ctrl_informer_by_index(m->pods, uid, ns), *out, *orph;
    size_t i;
    json_t *p;

    out = json_array();
    if (cand == NULL || out == NULL) {
        json_decref(cand);
        json_decref(out);
        return NULL;
    }
    json_array_foreach (cand, i, p) {
        if (ctrl_pod_is_active(p))
            json_array_append(out, p);
    }
    json_decref(cand);
    if (ret_orphans == NULL)
        return out;
    *ret_orphans = json_array();
    orph = ctrl_informer_by_index(m->pods, "", ns);
    json_array_foreach (orph, i, p) {
        if (ctrl_pod_is_active(p) && ctrl_controller_ref(p) == NULL &&
            ctrl_selector_matches(selector, ctrl_jget(p, "metadata.labels")))
            json_array_append(*ret_orphans, p);
    }
    json_decref(orph);
    return out;
}

static json_t *owner_ref(const json_t *rs)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "apiVersion", "apps/v1",
                     "kind", "ReplicaSet", "name",
                     ctrl_jstr(rs, "metadata.name"), "uid",
                     ctrl_jstr(rs, "metadata.uid"), "controller", 1,
                     "blockOwnerDeletion", 1);
}

/* Adds our controller reference to an orphan pod. 0 or an error. */
static int adopt(struct ctrl_manager *m, const json_t *rs, const json_t *pod)
{
    json_t *copy = json_deep_copy(pod), *refs;
    char path[600];
    int rv;

    refs = ctrl_jget(copy, "metadata.ownerReferences");
    if (!json_is_array(refs)) {
        refs = json_array();
        json_object_set_new(json_object_get(copy, "metadata"),
                            "ownerReferences", refs);
    }
    json_array_append_new(refs, owner_ref(rs));
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s",
             ctrl_jstr(pod, "metadata.namespace"),
             ctrl_jstr(pod, "metadata.name"));
    rv = ctrl_put(m, path, copy, NULL);
    json_decref(copy);
    return rv;
}

static json_t *pod_from_template(const json_t *rs)
{
    json_t *tmpl = ctrl_jget(rs, "spec.template");
    json_t *meta = json_object(), *pod;
    json_t *labels = ctrl_jget(tmpl, "metadata.labels");
    json_t *ann = ctrl_jget(tmpl, "metadata.annotations");
    json_t *fin = ctrl_jget(tmpl, "metadata.finalizers");
    char gen[300];

    snprintf(gen, sizeof gen, "%.240s-", ctrl_jstr(rs, "metadata.name"));
    json_object_set_new(meta, "generateName", json_string(gen));
    json_object_set_new(meta, "namespace",
                        json_string(ctrl_jstr(rs, "metadata.namespace")));
    if (json_is_object(labels))
        json_object_set_new(meta, "labels", json_deep_copy(labels));
    if (json_is_object(ann))
        json_object_set_new(meta, "annotations", json_deep_copy(ann));
    if (json_is_array(fin))
        json_object_set_new(meta, "finalizers", json_deep_copy(fin));
    json_object_set_new(meta, "ownerReferences",
                        json_pack("[o]", owner_ref(rs)));
    pod = json_pack("{s:s,s:s,s:o,s:o}", "apiVersion", "v1", "kind", "Pod",
                    "metadata", meta, "spec",
                    json_is_object(json_object_get(tmpl, "spec"))
                        ? json_deep_copy(json_object_get(tmpl, "spec"))
                        : json_object());
    return pod;
}

struct create_ctx {
    struct ctrl_manager *m;
    const json_t *rs;
    const json_t *pod;
    const char *path;
    pthread_mutex_t mu;
    char msg[512]; /* the first failure's message */
};

static int create_one(void *arg, int i)
{
    struct create_ctx *c = arg;
    json_t *ret = NULL;
    int st = c->m->api.call(c->m->api.ctx, "POST", c->path, NULL, c->pod, &ret);
    (void)i;
    if (st == 201 || st == 200) {
        ctrl_event(c->m->events, c->rs, COMPONENT, "Normal", "SuccessfulCreate",
                   "Created pod: %s", ctrl_jstr(ret, "metadata.name"));
        json_decref(ret);
        return 0;
    }
    pthread_mutex_lock(&c->mu);
    if (c->msg[0] == '\0') {
        const char *msg = ctrl_jstr(ret, "message");
        snprintf(c->msg, sizeof c->msg, "%s",
                 msg ? msg : "the API server refused the pod");
    }
    pthread_mutex_unlock(&c->mu);
    json_decref(ret);
    return -1;
}

/* slowStartBatch: batches of 1, 2, 4, ... created in parallel; a batch
 * with a failure ends the pass, and the creates never tried are taken off
 * the expectations. */
static int create_pods(struct ctrl_manager *m, const char *key,
                       const json_t *rs, int64_t n)
{
    char path[600];
    struct create_ctx c;
    int64_t done = 0;
    int rv = 0;

    memset(&c, 0, sizeof c);
    c.m = m;
    c.rs = rs;
    c.pod = pod_from_template(rs);
    c.path = path;
    if (c.pod == NULL)
        return K1S_ENOMEM;
    pthread_mutex_init(&c.mu, NULL);
    ctrl_exp_expect(m, key, n, 0);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods",
             ctrl_jstr(rs, "metadata.namespace"));
    while (done < n) {
        int64_t batch = ctrl_slow_start_batch(done, n - done);
        int failed = ctrl_parallel((int)batch, 16, create_one, &c);
        done += batch;
        if (failed > 0) {
            ctrl_event(m->events, rs, COMPONENT, "Warning", "FailedCreate",
                       "Error creating: %s", c.msg);
            ctrl_exp_observe(m, key, failed + (n - done), 0);
            rv = K1S_EIO;
            break;
        }
    }
    pthread_mutex_destroy(&c.mu);
    json_decref((json_t *)c.pod);
    return rv;
}

struct delete_ctx {
    struct ctrl_manager *m;
    const char *key;
    const json_t *rs;
    json_t *pods;
};

static int delete_one(void *arg, int i)
{
    struct delete_ctx *c = arg;
    json_t *p = json_array_get(c->pods, (size_t)i), *ret = NULL;
    char path[600];
    int st;

    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s",
             ctrl_jstr(p, "metadata.namespace"), ctrl_jstr(p, "metadata.name"));
    st = c->m->api.call(c->m->api.ctx, "DELETE", path, NULL, NULL, &ret);
    json_decref(ret);
    if (st == 200 || st == 202) {
        ctrl_event(c->m->events, c->rs, COMPONENT, "Normal", "SuccessfulDelete",
                   "Deleted pod: %s", ctrl_jstr(p, "metadata.name"));
        return 0;
    }
    ctrl_exp_observe(c->m, c->key, 0, 1);
    if (st == 404)
        return 0;
    ctrl_event(c->m->events, c->rs, COMPONENT, "Warning", "FailedDelete",
               "Error deleting: pod %s: %d", ctrl_jstr(p, "metadata.name"), st);
    return -1;
}

static int delete_pods(struct ctrl_manager *m, const char *key,
                       const json_t *rs, json_t *pods, int64_t n)
{
    struct delete_ctx c = {m, key, rs, pods};
    ctrl_sort_pods_for_deletion(pods);
    ctrl_exp_expect(m, key, 0, n);
    return ctrl_parallel((int)n, 16, delete_one, &c) ? K1S_EIO : 0;
}

static bool status_differs(const json_t *rs, const json_t *st)
{
    static const char *const f[] = {"replicas", "fullyLabeledReplicas",
                                    "readyReplicas", "availableReplicas",
                                    "observedGeneration"};
    json_t *cur = ctrl_jget(rs, "status");
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        int64_t a = json_integer_value(json_object_get(cur, f[i]));
        int64_t b = json_integer_value(json_object_get(st, f[i]));
        if (a != b || (json_object_get(cur, f[i]) == NULL && b != 0))
            return true;
    }
    return json_object_get(cur, "observedGeneration") == NULL;
}

int ctrl_rs_reconcile(struct ctrl_manager *m, const char *key)
{
    json_t *rs = ctrl_informer_get(m->rss, key), *pods = NULL, *st = NULL;
    json_t *orphans = NULL;
    const json_t *selector;
    const char *uid;
    int64_t replicas, diff, recheck = 0;
    bool may_manage, adopt_ok;
    int rv = 0;
    size_t i;
    json_t *p;

    if (rs == NULL) {
        ctrl_exp_delete(m, key);
        return 0;
    }
    /* Expectations before the pods, as upstream: a create observed
     * between the two would otherwise be counted as missing and made
     * twice. */
    may_manage = !deleting(rs) && ctrl_exp_satisfied(m, key);
    uid = ctrl_jstr(rs, "metadata.uid");
    selector = ctrl_jget(rs, "spec.selector");
    adopt_ok = !deleting(rs) && json_is_object(selector) &&
               json_object_size(selector) > 0;
    if (uid == NULL)
        goto out;
    pods = select_pods(m, ctrl_jstr(rs, "metadata.namespace"), uid, selector,
                       adopt_ok ? &orphans : NULL);
    if (pods == NULL) {
        rv = K1S_ENOMEM;
        goto out;
    }
    json_array_foreach (orphans, i, p) {
        if (adopt(m, rs, p) == 0) /* else somebody else got it */
            json_array_append(pods, p);
    }
    replicas = ctrl_jint(rs, "spec.replicas", 1);
    if (may_manage) {
        diff = (int64_t)json_array_size(pods) - replicas;
        if (diff < 0) {
            int64_t n =
                -diff > CTRL_BURST_REPLICAS ? CTRL_BURST_REPLICAS : -diff;
            rv = create_pods(m, key, rs, n);
        } else if (diff > 0) {
            int64_t n = diff > CTRL_BURST_REPLICAS ? CTRL_BURST_REPLICAS : diff;
            rv = delete_pods(m, key, rs, pods, n);
        }
    }
    st = ctrl_rs_status(rs, pods, clock_real_ns(), &recheck);
    if (st && status_differs(rs, st)) {
        json_t *copy = json_deep_copy(rs), *cur;
        char path[600];
        int prv;
        cur = json_object_get(copy, "status");
        if (!json_is_object(cur)) {
            cur = json_object();
            json_object_set_new(copy, "status", cur);
        }
        json_object_update(cur, st);
        snprintf(path, sizeof path,
                 "/apis/apps/v1/namespaces/%s/replicasets/%s/status",
                 ctrl_jstr(rs, "metadata.namespace"),
                 ctrl_jstr(rs, "metadata.name"));
        prv = ctrl_put(m, path, copy, NULL);
        json_decref(copy);
        if (prv == K1S_ECONFLICT)
            ctrl_wq_add_after(m->rs.wq, key, 50000000LL); /* newer copy */
        else if (prv != 0 && prv != K1S_ENOTFOUND && rv == 0)
            rv = prv;
    }
    if (recheck > 0)
        ctrl_wq_add_after(m->rs.wq, key, recheck);
out:
    json_decref(st);
    json_decref(orphans);
    json_decref(pods);
    json_decref(rs);
    return rv;
}

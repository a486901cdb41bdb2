/*
 * DESIGN: the Deployment controller (pkg/controller/deployment), reduced
 * to its decisions:
 *
 *   new ReplicaSet   the owned set whose template equals the Deployment's
 *                    once pod-template-hash is ignored; created as
 *                    <name>-<hash> (hash of template + collisionCount; on
 *                    a name clash with a different template collisionCount
 *                    is bumped). It carries revision = max(old) + 1, so a
 *                    rollback (kubectl rollout undo writes an old template
 *                    back into the Deployment) re-uses the old set and
 *                    bumps its revision.
 *   scaling event    a set's desired-replicas annotation differs from
 *                    spec.replicas: scale proportionally (or the only
 *                    active set), do not roll.
 *   RollingUpdate    grow the new set while total <= replicas + maxSurge;
 *                    shrink old sets (unhealthy first) while available
 *                    stays >= replicas - maxUnavailable.
 *   Recreate         old sets to 0, wait until their pods are gone, then
 *                    the new set to replicas.
 *   paused           only scaling and clean-up; Progressing is Unknown
 *                    (DeploymentPaused / DeploymentResumed).
 *   clean-up         old sets at 0 beyond revisionHistoryLimit (10).
 *   status           replicas, updated/ready/available/unavailable,
 *                    observedGeneration, collisionCount, conditions
 *                    Available (MinimumReplicasAvailable /
 *                    MinimumReplicasUnavailable) and Progressing
 *                    (NewReplicaSetCreated, FoundNewReplicaSet,
 *                    ReplicaSetUpdated, NewReplicaSetAvailable,
 *                    ProgressDeadlineExceeded) with upstream's messages.
 *
 * Each pass makes at most one kind of change and returns; the watch of the
 * ReplicaSets it wrote brings the next pass (level-triggered).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/ctrl_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"

#define COMPONENT "deployment-controller"

struct dep_ctx {
    struct ctrl_manager *m;
    json_t *d;               /* the Deployment (a private deep copy) */
    json_t *new_rs;          /* borrowed from rss (owned array) or NULL */
    json_t *olds;            /* array of old sets (private copies) */
    json_t *rss;             /* all owned sets (private copies) */
    char ns[254], name[254]; /* copies: c->d is replaced by updates */
    int64_t desired, surge, unavail;
    bool rolling;
};

static bool deleting(const json_t *o)
{
    json_t *d = ctrl_jget(o, "metadata.deletionTimestamp");
    return d != NULL && !json_is_null(d);
}

static void enqueue_dep_of_rs(struct ctrl_manager *m, const json_t *rs)
{
    const json_t *ref = ctrl_controller_ref(rs);
    const char *k = json_string_value(json_object_get(ref, "kind"));
    char key[512];
    if (ref == NULL || k == NULL || strcmp(k, "Deployment") != 0)
        return;
    snprintf(key, sizeof key, "%s/%s", ctrl_jstr(rs, "metadata.namespace"),
             json_string_value(json_object_get(ref, "name")));
    ctrl_wq_add(m->dep.wq, key);
}

static void dep_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct ctrl_manager *m = arg;
    char key[512];
    (void)old_obj;
    ctrl_obj_key(new_obj ? new_obj : old_obj, key, sizeof key);
    ctrl_wq_add(m->dep.wq, key);
}

static void rs_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct ctrl_manager *m = arg;
    if (old_obj && new_obj && old_obj == new_obj)
        return; /* the Deployment's own resync covers it */
    enqueue_dep_of_rs(m, new_obj ? new_obj : old_obj);
}

/* A pod gone: a Recreate rollout may be waiting for it. */
static void pod_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct ctrl_manager *m = arg;
    const json_t *ref;
    char key[512];
    json_t *rs;

    if (new_obj != NULL)
        return;
    ref = ctrl_controller_ref(old_obj);
    if (ref == NULL)
        return;
    snprintf(key, sizeof key, "%s/%s", ctrl_jstr(old_obj, "metadata.namespace"),
             json_string_value(json_object_get(ref, "name")));
    rs = ctrl_informer_get(m->rss, key);
    if (rs)
        enqueue_dep_of_rs(m, rs);
    json_decref(rs);
}

int ctrl_dep_init(struct ctrl_manager *m)
{
    int rv = ctrl_informer_add_handler(m->deps, dep_cb, m);
    if (rv == 0)
        rv = ctrl_informer_add_handler(m->rss, rs_cb, m);
    if (rv == 0)
        rv = ctrl_informer_add_handler(m->pods, pod_cb, m);
    return rv;
}

/* ------------------------------------------------------------ helpers */

static int64_t replicas_of(const json_t *rs)
{
    return ctrl_jint(rs, "spec.replicas", 1);
}

static int64_t sum(const json_t *rss, const char *path)
{
    size_t i;
    json_t *r;
    int64_t s = 0;
    json_array_foreach (rss, i, r) {
        if (strcmp(path, "spec.replicas") == 0)
            s += replicas_of(r);
        else
            s += ctrl_jint(r, path, 0);
    }
    return s;
}

static void set_ann(json_t *obj, const char *k, const char *v)
{
    json_t *meta = json_object_get(obj, "metadata");
    json_t *a = json_object_get(meta, "annotations");
    if (!json_is_object(a)) {
        a = json_object();
        json_object_set_new(meta, "annotations", a);
    }
    json_object_set_new(a, k, json_string(v));
}

static const char *get_ann(const json_t *obj, const char *k)
{
    return json_string_value(
        json_object_get(ctrl_jget(obj, "metadata.annotations"), k));
}

static void set_replicas_ann(struct dep_ctx *c, json_t *rs)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)c->desired);
    set_ann(rs, CTRL_DESIRED_ANN, buf);
    snprintf(buf, sizeof buf, "%lld", (long long)(c->desired + c->surge));
    set_ann(rs, CTRL_MAX_ANN, buf);
}

static int rs_put(struct dep_ctx *c, json_t *rs)
{
    char path[600];
    json_t *ret = NULL;
    int rv;
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/replicasets/%s",
             c->ns, ctrl_jstr(rs, "metadata.name"));
    rv = ctrl_put(c->m, path, rs, &ret);
    if (rv == 0 && json_is_object(ret)) {
        /* keep our copy current for the rest of the pass */
        json_object_update(rs, ret);
    }
    json_decref(ret);
    return rv;
}

static bool streq_ann(const json_t *obj, const char *k, const char *v)
{
    const char *x = get_ann(obj, k);
    return x && strcmp(x, v) == 0;
}

/* Scales rs (a private copy, updated in place). */
static int scale_rs(struct dep_ctx *c, json_t *rs, int64_t to)
{
    int64_t from = replicas_of(rs);
    char buf[32];
    int rv;

    snprintf(buf, sizeof buf, "%lld", (long long)c->desired);
    if (from == to && streq_ann(rs, CTRL_DESIRED_ANN, buf))
        return 0;
    json_object_set_new(json_object_get(rs, "spec"), "replicas",
                        json_integer(to));
    set_replicas_ann(c, rs);
    rv = rs_put(c, rs);
    if (rv == 0 && from != to)
        ctrl_event(c->m->events, c->d, COMPONENT, "Normal", "ScalingReplicaSet",
                   "Scaled %s replica set %s from %lld "
                   "to %lld",
                   to > from ? "up" : "down", ctrl_jstr(rs, "metadata.name"),
                   (long long)from, (long long)to);
    return rv;
}

static int64_t max_revision(const json_t *rss)
{
    size_t i;
    json_t *r;
    int64_t m = 0;
    json_array_foreach (rss, i, r) {
        int64_t v = ctrl_revision(r);
        if (v > m)
            m = v;
    }
    return m;
}

static bool owned_by(const json_t *rs, void *uid)
{
    const json_t *ref = ctrl_controller_ref(rs);
    const char *u = json_string_value(json_object_get(ref, "uid"));
    return u && strcmp(u, uid) == 0 && !deleting(rs);
}

static int load(struct dep_ctx *c, const char *key)
{
    json_t *d = ctrl_informer_get(c->m->deps, key), *shared, *r;
    json_t *tmpl;
    size_t i;
    int64_t new_created = 0;

    if (d == NULL)
        return K1S_ENOTFOUND;
    c->d = json_deep_copy(d);
    json_decref(d);
    snprintf(c->ns, sizeof c->ns, "%s",
             ctrl_jstr(c->d, "metadata.namespace")
                 ? ctrl_jstr(c->d, "metadata.namespace")
                 : "");
    snprintf(c->name, sizeof c->name, "%s",
             ctrl_jstr(c->d, "metadata.name") ? ctrl_jstr(c->d, "metadata.name")
                                              : "");
    c->desired = ctrl_jint(c->d, "spec.replicas", 1);
    c->rolling =
        !(ctrl_jstr(c->d, "spec.strategy.type") &&
          strcmp(ctrl_jstr(c->d, "spec.strategy.type"), "Recreate") == 0);
    if (c->rolling)
        ctrl_resolve_fenceposts(
            ctrl_jget(c->d, "spec.strategy.rollingUpdate.maxSurge"),
            ctrl_jget(c->d, "spec.strategy.rollingUpdate.maxUnavailable"),
            c->desired, &c->surge, &c->unavail);
    shared = ctrl_informer_by_index(
        c->m->rss,
        ctrl_jstr(c->d, "metadata.uid") ? ctrl_jstr(c->d, "metadata.uid") : "-",
        c->ns);
    c->rss = json_array();
    c->olds = json_array();
    if (shared == NULL || c->rss == NULL || c->olds == NULL) {
        json_decref(shared);
        return K1S_ENOMEM;
    }
    tmpl = ctrl_jget(c->d, "spec.template");
    json_array_foreach (shared, i, r) {
        if (owned_by(r, (void *)ctrl_jstr(c->d, "metadata.uid")))
            json_array_append_new(c->rss, json_deep_copy(r));
    }
    json_decref(shared);
    json_array_foreach (c->rss, i, r) {
        int64_t created =
            ctrl_time_ns(ctrl_jstr(r, "metadata.creationTimestamp"));
        if (ctrl_templates_equal(ctrl_jget(r, "spec.template"), tmpl) &&
            (c->new_rs == NULL || created < new_created)) {
            c->new_rs = r;
            new_created = created;
        }
    }
    json_array_foreach (c->rss, i, r) {
        if (r != c->new_rs)
            json_array_append(c->olds, r);
    }
    return 0;
}

static void ctx_close(struct dep_ctx *c)
{
    json_decref(c->d);
    json_decref(c->rss);
    json_decref(c->olds);
}

static void set_progressing(struct dep_ctx *c, const char *status,
                            const char *reason, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void set_progressing(struct dep_ctx *c, const char *status,
                            const char *reason, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ctrl_set_condition(c->d, "Progressing", status, reason, msg, true);
}

/* Annotations a Deployment passes to its ReplicaSets. */
static bool skip_ann(const char *k)
{
    return strcmp(k, "kubectl.kubernetes.io/last-applied-configuration") == 0 ||
           strcmp(k, CTRL_REVISION_ANN) == 0 ||
           strcmp(k, CTRL_HISTORY_ANN) == 0 ||
           strcmp(k, CTRL_DESIRED_ANN) == 0 || strcmp(k, CTRL_MAX_ANN) == 0;
}

static void copy_annotations(const json_t *d, json_t *rs)
{
    const char *k;
    json_t *v;
    json_object_foreach (ctrl_jget(d, "metadata.annotations"), k, v) {
        if (!skip_ann(k) && json_is_string(v))
            set_ann(rs, k, json_string_value(v));
    }
}

static int update_dep(struct dep_ctx *c)
{
    char path[600];
    json_t *ret = NULL;
    int rv;
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/deployments/%s",
             c->ns, c->name);
    rv = ctrl_put(c->m, path, c->d, &ret);
    if (rv == 0 && json_is_object(ret)) {
        json_t *st = json_deep_copy(json_object_get(c->d, "status"));
        json_object_update(c->d, ret);
        if (st)
            json_object_set_new(c->d, "status", st);
    }
    json_decref(ret);
    return rv;
}

/* Finds or (create) makes the new ReplicaSet; syncs revisions. */
static int get_new_rs(struct dep_ctx *c, bool create)
{
    int64_t rev = max_revision(c->olds) + 1;
    char revs[32], hash[32], name[300], path[600];
    json_t *rs, *ret = NULL, *tmpl, *sel, *labels;
    int64_t collision = ctrl_jint(c->d, "status.collisionCount", 0);
    int st, rv;

    snprintf(revs, sizeof revs, "%lld", (long long)rev);
    if (c->new_rs) {
        if (ctrl_revision(c->new_rs) < rev) {
            const char *old = get_ann(c->new_rs, CTRL_REVISION_ANN);
            if (old) {
                /* revision-history: the revisions this set had before */
                const char *h = get_ann(c->new_rs, CTRL_HISTORY_ANN);
                char hist[512];
                snprintf(hist, sizeof hist, "%s%s%s", h ? h : "", h ? "," : "",
                         old);
                set_ann(c->new_rs, CTRL_HISTORY_ANN, hist);
            }
            set_ann(c->new_rs, CTRL_REVISION_ANN, revs);
            copy_annotations(c->d, c->new_rs);
            rv = rs_put(c, c->new_rs);
            if (rv != 0)
                return rv;
        }
        if (!streq_ann(c->d, CTRL_REVISION_ANN,
                       get_ann(c->new_rs, CTRL_REVISION_ANN))) {
            set_ann(c->d, CTRL_REVISION_ANN,
                    get_ann(c->new_rs, CTRL_REVISION_ANN));
            rv = update_dep(c);
            if (rv != 0)
                return rv;
        }
        if (ctrl_get_condition(c->d, "Progressing") == NULL)
            set_progressing(c, "True", "FoundNewReplicaSet",
                            "Found new replica set \"%s\"",
                            ctrl_jstr(c->new_rs, "metadata.name"));
        return 0;
    }
    if (!create)
        return 0;

    tmpl = json_deep_copy(ctrl_jget(c->d, "spec.template"));
    if (tmpl == NULL)
        return K1S_EINVALID;
    ctrl_template_hash(tmpl, collision, hash, sizeof hash);
    if (!json_is_object(json_object_get(tmpl, "metadata")))
        json_object_set_new(tmpl, "metadata", json_object());
    labels = ctrl_jget(tmpl, "metadata.labels");
    if (!json_is_object(labels)) {
        labels = json_object();
        json_object_set_new(json_object_get(tmpl, "metadata"), "labels",
                            labels);
    }
    json_object_set_new(labels, CTRL_HASH_LABEL, json_string(hash));
    sel = json_deep_copy(ctrl_jget(c->d, "spec.selector"));
    if (!json_is_object(sel))
        sel = json_object();
    if (!json_is_object(json_object_get(sel, "matchLabels")))
        json_object_set_new(sel, "matchLabels", json_object());
    json_object_set_new(json_object_get(sel, "matchLabels"), CTRL_HASH_LABEL,
                        json_string(hash));
    snprintf(name, sizeof name, "%.240s-%s", c->name, hash);
    rs = json_pack(
        "{s:s,s:s,s:{s:s,s:s,s:O,s:[{s:s,s:s,s:s,s:s,s:b,s:b}]},"
        "s:{s:I,s:I,s:o,s:o}}",
        "apiVersion", "apps/v1", "kind", "ReplicaSet", "metadata", "name", name,
        "namespace", c->ns, "labels", labels, "ownerReferences", "apiVersion",
        "apps/v1", "kind", "Deployment", "name", c->name, "uid",
        ctrl_jstr(c->d, "metadata.uid"), "controller", 1, "blockOwnerDeletion",
        1, "spec", "replicas",
        (json_int_t)(c->rolling ? ctrl_rolling_new_replicas(
                                      c->desired, c->surge,
                                      sum(c->olds, "spec.replicas"), 0)
                                : c->desired),
        "minReadySeconds",
        (json_int_t)ctrl_jint(c->d, "spec.minReadySeconds", 0), "selector", sel,
        "template", tmpl);
    if (rs == NULL)
        return K1S_ENOMEM;
    copy_annotations(c->d, rs);
    set_ann(rs, CTRL_REVISION_ANN, revs);
    set_replicas_ann(c, rs);
    snprintf(path, sizeof path, "/apis/apps/v1/namespaces/%s/replicasets",
             c->ns);
    st = c->m->api.call(c->m->api.ctx, "POST", path, NULL, rs, &ret);
    if (st == 409) {
        /* a set with our name: ours with the same template is fine (an
         * informer lagging); anything else is a hash collision */
        json_t *got = NULL;
        char gpath[1000];
        snprintf(gpath, sizeof gpath, "%s/%s", path, name);
        json_decref(ret);
        ret = NULL;
        st = c->m->api.call(c->m->api.ctx, "GET", gpath, NULL, NULL, &got);
        if (st == 200 &&
            owned_by(got, (void *)ctrl_jstr(c->d, "metadata.uid")) &&
            ctrl_templates_equal(ctrl_jget(got, "spec.template"),
                                 ctrl_jget(c->d, "spec.template"))) {
            json_decref(got);
            json_decref(rs);
            return K1S_EAGAIN; /* wait for the informer */
        }
        json_decref(got);
        json_object_set_new(json_object_get(c->d, "status"), "collisionCount",
                            json_integer(collision + 1));
        snprintf(gpath, sizeof gpath,
                 "/apis/apps/v1/namespaces/%s/deployments/%s/status", c->ns,
                 c->name);
        ctrl_put(c->m, gpath, c->d, NULL);
        json_decref(rs);
        return K1S_EAGAIN;
    }
    if (st != 201 && st != 200) {
        const char *msg = ctrl_jstr(ret, "message");
        ctrl_set_condition(c->d, "ReplicaFailure", "True", "FailedCreate",
                           msg ? msg : "cannot create replica set", true);
        json_decref(ret);
        json_decref(rs);
        return K1S_EIO;
    }
    if (replicas_of(ret) > 0)
        ctrl_event(c->m->events, c->d, COMPONENT, "Normal", "ScalingReplicaSet",
                   "Scaled up replica set %s from 0 to "
                   "%lld",
                   name, (long long)replicas_of(ret));
    json_array_append(c->rss, ret);
    c->new_rs = ret;
    json_decref(ret);
    json_decref(rs);
    set_progressing(c, "True", "NewReplicaSetCreated",
                    "Created new replica set \"%s\"", name);
    if (!streq_ann(c->d, CTRL_REVISION_ANN, revs)) {
        set_ann(c->d, CTRL_REVISION_ANN, revs);
        rv = update_dep(c);
        if (rv != 0)
            return rv;
    }
    return 0;
}

static bool is_scaling_event(struct dep_ctx *c)
{
    size_t i;
    json_t *r;
    json_array_foreach (c->rss, i, r) {
        const char *a = get_ann(r, CTRL_DESIRED_ANN);
        if (replicas_of(r) <= 0 || a == NULL)
            continue;
        if (strtoll(a, NULL, 10) != c->desired)
            return true;
    }
    return false;
}

/* DeploymentController.scale */
static int scale(struct dep_ctx *c)
{
    json_t *active = json_array(), *r, *only = NULL;
    struct ctrl_rs_size *sz = NULL;
    size_t i, n;
    int rv = 0;

    json_array_foreach (c->rss, i, r) {
        if (replicas_of(r) > 0)
            json_array_append(active, r);
    }
    n = json_array_size(active);
    if (n == 0) {
        /* the latest: new set, else the newest old one */
        only = c->new_rs;
        if (only == NULL) {
            int64_t best = -1;
            json_array_foreach (c->olds, i, r) {
                int64_t t =
                    ctrl_time_ns(ctrl_jstr(r, "metadata.creationTimestamp"));
                if (t > best) {
                    best = t;
                    only = r;
                }
            }
        }
    } else if (n == 1) {
        only = json_array_get(active, 0);
    }
    if (only != NULL || n <= 1) {
        if (only && replicas_of(only) != c->desired)
            rv = scale_rs(c, only, c->desired);
        goto out;
    }
    if (c->new_rs && replicas_of(c->new_rs) == c->desired &&
        ctrl_jint(c->new_rs, "status.availableReplicas", 0) >= c->desired) {
        json_array_foreach (c->olds, i, r) {
            if (replicas_of(r) > 0 && (rv = scale_rs(c, r, 0)) != 0)
                goto out;
        }
        goto out;
    }
    if (!c->rolling)
        goto out;
    sz = calloc(n, sizeof *sz);
    if (sz == NULL) {
        rv = K1S_ENOMEM;
        goto out;
    }
    json_array_foreach (active, i, r) {
        const char *a = get_ann(r, CTRL_MAX_ANN);
        sz[i].replicas = replicas_of(r);
        sz[i].created_ns =
            ctrl_time_ns(ctrl_jstr(r, "metadata.creationTimestamp"));
        sz[i].annotated_max = a ? strtoll(a, NULL, 10) : -1;
    }
    ctrl_proportional_scale(sz, n, c->desired, c->surge,
                            ctrl_jint(c->d, "status.replicas", 0));
    json_array_foreach (active, i, r) {
        if ((rv = scale_rs(c, r, sz[i].new_size)) != 0)
            break;
    }
out:
    free(sz);
    json_decref(active);
    return rv;
}

static int cmp_revision(const void *a, const void *b)
{
    int64_t x = ctrl_revision(*(json_t *const *)a);
    int64_t y = ctrl_revision(*(json_t *const *)b);
    return x < y ? -1 : x > y;
}

static void cleanup(struct dep_ctx *c)
{
    int64_t limit = ctrl_jint(c->d, "spec.revisionHistoryLimit", 10);
    json_t **cand;
    size_t n = 0, i;
    json_t *r;

    cand = calloc(json_array_size(c->olds) + 1, sizeof *cand);
    if (cand == NULL)
        return;
    json_array_foreach (c->olds, i, r) {
        if (replicas_of(r) == 0 && ctrl_jint(r, "status.replicas", 0) == 0 &&
            ctrl_jint(r, "status.observedGeneration", 0) >=
                ctrl_jint(r, "metadata.generation", 0))
            cand[n++] = r;
    }
    if ((int64_t)n > limit) {
        qsort(cand, n, sizeof *cand, cmp_revision);
        for (i = 0; i < n - (size_t)limit; i++) {
            char path[600];
            json_t *ret = NULL;
            snprintf(path, sizeof path,
                     "/apis/apps/v1/namespaces/%s/replicasets/%s", c->ns,
                     ctrl_jstr(cand[i], "metadata.name"));
            c->m->api.call(c->m->api.ctx, "DELETE", path, NULL, NULL, &ret);
            json_decref(ret);
        }
    }
    free(cand);
}

static bool complete(const struct dep_ctx *c, const json_t *st)
{
    return json_integer_value(json_object_get(st, "updatedReplicas")) ==
               c->desired &&
           json_integer_value(json_object_get(st, "replicas")) == c->desired &&
           json_integer_value(json_object_get(st, "availableReplicas")) ==
               c->desired &&
           json_integer_value(json_object_get(st, "observedGeneration")) >=
               ctrl_jint(c->d, "metadata.generation", 0);
}

static bool progressed(const json_t *old, const json_t *st)
{
    int64_t ou = json_integer_value(json_object_get(old, "updatedReplicas"));
    int64_t nu = json_integer_value(json_object_get(st, "updatedReplicas"));
    int64_t oo = json_integer_value(json_object_get(old, "replicas")) - ou;
    int64_t no = json_integer_value(json_object_get(st, "replicas")) - nu;
    return nu > ou || no < oo ||
           json_integer_value(json_object_get(st, "readyReplicas")) >
               json_integer_value(json_object_get(old, "readyReplicas")) ||
           json_integer_value(json_object_get(st, "availableReplicas")) >
               json_integer_value(json_object_get(old, "availableReplicas"));
}

/* Computes and writes the status; re-queues for the progress deadline. */
/* A status counter, omitted when zero (omitempty). */
static void set_count(json_t *st, const char *key, int64_t v)
{
    if (v > 0)
        json_object_set_new(st, key, json_integer(v));
    else
        json_object_del(st, key);
}

static int sync_status(struct dep_ctx *c, const char *key, bool rollout)
{
    json_t *old = json_deep_copy(json_object_get(c->d, "status"));
    json_t *st = json_object_get(c->d, "status");
    int64_t avail = sum(c->rss, "status.availableReplicas");
    int64_t total = sum(c->rss, "spec.replicas");
    int64_t deadline = ctrl_jint(c->d, "spec.progressDeadlineSeconds", 600);
    const char *nrs = c->new_rs ? ctrl_jstr(c->new_rs, "metadata.name") : "";
    bool paused = json_is_true(ctrl_jget(c->d, "spec.paused"));
    int64_t requeue = 0;
    char path[600];
    int rv = 0;

    if (old == NULL)
        old = json_object();
    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(c->d, "status", st);
    }
    json_object_set_new(
        st, "observedGeneration",
        json_integer(ctrl_jint(c->d, "metadata.generation", 0)));
    /* DeploymentStatus's counters are omitempty in Kubernetes: a zero is
     * absent, as kubectl get -o yaml shows on a real cluster. */
    set_count(st, "replicas", sum(c->rss, "status.replicas"));
    set_count(st, "updatedReplicas",
              c->new_rs ? ctrl_jint(c->new_rs, "status.replicas", 0) : 0);
    set_count(st, "readyReplicas", sum(c->rss, "status.readyReplicas"));
    set_count(st, "availableReplicas", avail);
    set_count(st, "unavailableReplicas", total - avail);
    if (avail >= c->desired - c->unavail)
        ctrl_set_condition(c->d, "Available", "True",
                           "MinimumReplicasAvailable",
                           "Deployment has minimum availability.", true);
    else
        ctrl_set_condition(
            c->d, "Available", "False", "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.", true);
    if (paused) {
        const json_t *pc = ctrl_get_condition(c->d, "Progressing");
        const char *r = json_string_value(json_object_get(pc, "reason"));
        if (r == NULL || strcmp(r, "DeploymentPaused") != 0)
            ctrl_set_condition(c->d, "Progressing", "Unknown",
                               "DeploymentPaused", "Deployment is paused",
                               true);
    } else if (rollout) {
        const json_t *pc = ctrl_get_condition(c->d, "Progressing");
        const char *r = json_string_value(json_object_get(pc, "reason"));
        if (r && strcmp(r, "DeploymentPaused") == 0) {
            ctrl_set_condition(c->d, "Progressing", "Unknown",
                               "DeploymentResumed", "Deployment is resumed",
                               true);
            pc = ctrl_get_condition(c->d, "Progressing");
            r = "DeploymentResumed";
        }
        if (complete(c, st)) {
            set_progressing(c, "True", "NewReplicaSetAvailable",
                            "ReplicaSet \"%s\" has successfully progressed.",
                            nrs);
        } else if (progressed(old, st) || pc == NULL ||
                   (r && strcmp(r, "DeploymentResumed") == 0)) {
            char now[32];
            set_progressing(c, "True", "ReplicaSetUpdated",
                            "ReplicaSet \"%s\" is progressing.", nrs);
            json_object_set_new(
                (json_t *)ctrl_get_condition(c->d, "Progressing"),
                "lastUpdateTime", json_string(ctrl_now(now, sizeof now)));
            requeue = deadline * 1000000000LL + 1000000000LL;
        } else if (r && strcmp(r, "NewReplicaSetAvailable") != 0 &&
                   strcmp(r, "ProgressDeadlineExceeded") != 0) {
            int64_t last = ctrl_time_ns(
                json_string_value(json_object_get(pc, "lastUpdateTime")));
            int64_t due = last + deadline * 1000000000LL;
            if (last && due <= clock_real_ns()) {
                set_progressing(c, "False", "ProgressDeadlineExceeded",
                                "ReplicaSet \"%s\" has timed out "
                                "progressing.",
                                nrs);
            } else if (last) {
                requeue = due - clock_real_ns() + 1000000000LL;
            }
        }
    }
    if (!json_equal(old, st)) {
        snprintf(path, sizeof path,
                 "/apis/apps/v1/namespaces/%s/deployments/%s/status", c->ns,
                 c->name);
        rv = ctrl_put(c->m, path, c->d, NULL);
        if (rv == K1S_ECONFLICT || rv == K1S_ENOTFOUND) {
            if (rv == K1S_ECONFLICT)
                ctrl_wq_add_after(c->m->dep.wq, key, 50000000LL);
            rv = 0;
        }
    }
    if (requeue > 0)
        ctrl_wq_add_after(c->m->dep.wq, key, requeue);
    json_decref(old);
    return rv;
}

static bool old_pods_running(struct dep_ctx *c)
{
    size_t i;
    json_t *r;
    json_array_foreach (c->olds, i, r) {
        if (ctrl_jint(r, "status.replicas", 0) > 0)
            return true;
    }
    return false;
}

static int rollout_recreate(struct dep_ctx *c, const char *key)
{
    size_t i;
    json_t *r;
    bool scaled = false;
    int rv = get_new_rs(c, false);
    if (rv != 0)
        return rv;
    json_array_foreach (c->olds, i, r) {
        if (replicas_of(r) > 0) {
            if ((rv = scale_rs(c, r, 0)) != 0)
                return rv;
            scaled = true;
        }
    }
    if (scaled || old_pods_running(c))
        return sync_status(c, key, true);
    if (c->new_rs == NULL && (rv = get_new_rs(c, true)) != 0)
        return rv;
    if (replicas_of(c->new_rs) != c->desired) {
        rv = scale_rs(c, c->new_rs, c->desired);
        if (rv != 0)
            return rv;
    }
    if (complete(c, json_object_get(c->d, "status")))
        cleanup(c);
    return sync_status(c, key, true);
}

static int cmp_created(const void *a, const void *b)
{
    int64_t x = ctrl_time_ns(
        ctrl_jstr(*(json_t *const *)a, "metadata.creationTimestamp"));
    int64_t y = ctrl_time_ns(
        ctrl_jstr(*(json_t *const *)b, "metadata.creationTimestamp"));
    return x < y ? -1 : x > y;
}

/* reconcileOldReplicaSets: true when something was scaled. */
static int reconcile_olds(struct dep_ctx *c, bool *ret_scaled)
{
    int64_t old_count = sum(c->olds, "spec.replicas");
    int64_t all = sum(c->rss, "spec.replicas");
    int64_t min_avail = c->desired - c->unavail;
    int64_t new_unavail =
        c->new_rs ? replicas_of(c->new_rs) -
                        ctrl_jint(c->new_rs, "status.availableReplicas", 0)
                  : 0;
    int64_t max_down = all - min_avail - new_unavail, cleaned = 0, avail;
    size_t n = json_array_size(c->olds), i;
    json_t **olds;
    int rv = 0;

    *ret_scaled = false;
    if (old_count == 0 || max_down <= 0)
        return 0;
    olds = calloc(n, sizeof *olds);
    if (olds == NULL)
        return K1S_ENOMEM;
    for (i = 0; i < n; i++)
        olds[i] = json_array_get(c->olds, i);
    qsort(olds, n, sizeof *olds, cmp_created);
    /* cleanupUnhealthyReplicas */
    for (i = 0; i < n && cleaned < max_down; i++) {
        int64_t rep = replicas_of(olds[i]);
        int64_t av = ctrl_jint(olds[i], "status.availableReplicas", 0);
        int64_t down = rep - av;
        if (rep == 0 || down <= 0)
            continue;
        if (down > max_down - cleaned)
            down = max_down - cleaned;
        if ((rv = scale_rs(c, olds[i], rep - down)) != 0)
            goto out;
        cleaned += down;
        *ret_scaled = true;
    }
    /* scaleDownOldReplicaSetsForRollingUpdate */
    avail = sum(c->rss, "status.availableReplicas");
    if (avail > min_avail) {
        int64_t total = avail - min_avail, done = 0;
        for (i = 0; i < n && done < total; i++) {
            int64_t rep = replicas_of(olds[i]), down;
            if (rep == 0)
                continue;
            down = rep < total - done ? rep : total - done;
            if ((rv = scale_rs(c, olds[i], rep - down)) != 0)
                goto out;
            done += down;
            *ret_scaled = true;
        }
    }
out:
    free(olds);
    return rv;
}

static int rollout_rolling(struct dep_ctx *c, const char *key)
{
    bool scaled = false;
    int rv = get_new_rs(c, true);
    int64_t want;

    if (rv != 0)
        return rv;
    /* reconcileNewReplicaSet */
    if (replicas_of(c->new_rs) > c->desired) {
        rv = scale_rs(c, c->new_rs, c->desired);
        scaled = true;
    } else if (replicas_of(c->new_rs) < c->desired) {
        want = ctrl_rolling_new_replicas(c->desired, c->surge,
                                         sum(c->rss, "spec.replicas"),
                                         replicas_of(c->new_rs));
        if (want != replicas_of(c->new_rs)) {
            rv = scale_rs(c, c->new_rs, want);
            scaled = true;
        }
    }
    if (rv != 0)
        return rv;
    if (scaled)
        return sync_status(c, key, true);
    rv = reconcile_olds(c, &scaled);
    if (rv != 0)
        return rv;
    if (!scaled) {
        json_t *st;
        rv = sync_status(c, key, true);
        st = json_object_get(c->d, "status");
        if (rv == 0 && complete(c, st))
            cleanup(c);
        return rv;
    }
    return sync_status(c, key, true);
}

int ctrl_dep_reconcile(struct ctrl_manager *m, const char *key)
{
    struct dep_ctx c;
    int rv;

    memset(&c, 0, sizeof c);
    c.m = m;
    rv = load(&c, key);
    if (rv == K1S_ENOTFOUND) {
        ctx_close(&c);
        return 0;
    }
    if (rv != 0)
        goto out;
    if (deleting(c.d)) {
        rv = sync_status(&c, key, false);
        goto out;
    }
    if (json_is_true(ctrl_jget(c.d, "spec.paused"))) {
        rv = get_new_rs(&c, false);
        if (rv == 0)
            rv = scale(&c);
        if (rv == 0) {
            cleanup(&c);
            rv = sync_status(&c, key, false);
        }
        goto out;
    }
    if (c.new_rs && is_scaling_event(&c)) {
        rv = get_new_rs(&c, false);
        if (rv == 0)
            rv = scale(&c);
        if (rv == 0)
            rv = sync_status(&c, key, false);
        goto out;
    }
    rv = c.rolling ? rollout_rolling(&c, key) : rollout_recreate(&c, key);
out:
    if (rv == K1S_EAGAIN) {
        ctrl_wq_add_after(m->dep.wq, key, 100000000LL);
        rv = 0;
    } else if (rv == K1S_ECONFLICT) {
        ctrl_wq_add_after(m->dep.wq, key, 50000000LL);
        rv = 0;
    }
    ctx_close(&c);
    return rv;
}

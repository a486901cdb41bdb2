/*
 * DESIGN: kube-scheduler's scheduling cycle, one pod at a time on one
 * thread, over a cache fed by two informers.
 *
 *   cache (mutex)   nodes by name → struct sched_node (node object, the
 *                   pods bound to it and their summed requests); pods by
 *                   key → node name, for bound and *assumed* pods: a pod
 *                   is added to its node as soon as the bind is sent, so
 *                   the next pod already sees the resources taken
 *                   (upstream's "assume" step). Pods bound to a node
 *                   not seen yet wait in a per-node set and join the
 *                   node when it appears (no scan of every pod per new
 *                   node, which made a restart with many nodes and pods
 *                   quadratic).
 *   active queue    a ctrl_wq of pending pod keys (de-duplicated).
 *   unschedulable   keys that fit nowhere. They go back to the active
 *                   queue when a node is added or changes in a way that
 *                   matters (allocatable, labels, taints, unschedulable,
 *                   Ready), when a bound pod goes away, when the pod
 *                   itself changes, and in any case after 5 minutes
 *                   (upstream's podMaxInUnschedulablePodsDuration) —
 *                   never in a loop.
 *
 * A cycle: filter nodes starting at a rotating index until enough feasible
 * nodes are found (percentageOfNodesToScore: 50% - nodes/125, at least
 * 5%, at least 100 nodes), score them, assume, unlock, POST
 * pods/<name>/binding. The mutex is never held across the API call. On
 * failure the pod is forgotten from its node and retried with back-off.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/controllers.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "scheduler/sched_int.h"
#include "scheduler/scheduler.h"

#define SCHED_NAME "default-scheduler"
#define UNSCHED_FLUSH_NS (300 * 1000000000LL)
#define SCHED_BINDERS 8

struct sched {
    struct ctrl_api api;
    struct ctrl_informer *pods;
    struct ctrl_informer *nodes;
    bool shared; /* pods and nodes are attached to, not owned */
    struct ctrl_events *events;
    struct ctrl_wq *queue;
    pthread_mutex_t mu;
    struct ctrl_map *node_cache;     /* name -> struct sched_node* */
    struct ctrl_map *pod_node;       /* pod key -> char* node name */
    struct ctrl_map *waiting;        /* node name -> struct ctrl_map* of
                                        pod key -> json_t* (new ref): pods
                                        on a node not in node_cache */
    struct ctrl_map *unsched;        /* pod key -> (void*)1 */
    const struct sched_node **order; /* nodes sorted by name */
    size_t order_cap;
    bool order_valid; /* false when the node set changed */
    unsigned next_start;
    unsigned salt;
    /* the cycle's scratch, grown to the number of nodes and reused (worker
     * thread only): a cycle allocates nothing in proportion to nodes */
    const struct sched_node **feasible;
    struct sched_fail *fails;
    size_t scratch_cap;
    pthread_t worker;
    bool worker_started;
    /* binding is asynchronous, as upstream's binding cycle: the scheduling
     * thread assumes and moves on; binders POST the bindings */
    pthread_mutex_t bmu;
    pthread_cond_t bcond;
    struct bind_job *bhead, *btail;
    bool bstop;
    pthread_t binders[SCHED_BINDERS];
    int nbinders;
};

struct bind_job {
    struct bind_job *next;
    json_t *pod;
    char key[512];
    char node[256];
};

static bool is_ours_pending(const json_t *pod)
{
    const char *sn = ctrl_jstr(pod, "spec.schedulerName");
    const char *node = ctrl_jstr(pod, "spec.nodeName");
    if (node && node[0])
        return false;
    if (sn && sn[0] && strcmp(sn, SCHED_NAME) != 0)
        return false;
    return ctrl_pod_is_active(pod);
}

static bool is_bound_active(const json_t *pod)
{
    const char *node = ctrl_jstr(pod, "spec.nodeName");
    const char *phase = ctrl_jstr(pod, "status.phase");
    if (node == NULL || node[0] == '\0')
        return false;
    /* a terminating pod still holds its resources until it is gone */
    return phase == NULL ||
           (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0);
}

static void node_free(void *v)
{
    struct sched_node *n = v;
    if (n) {
        sched_node_close(n);
        free(n);
    }
}

static int move_one(const char *key, void *val, void *arg)
{
    struct sched *s = arg;
    (void)val;
    ctrl_wq_add(s->queue, key);
    return 0;
}

/* Locked. */
static void move_all_to_active(struct sched *s)
{
    if (ctrl_map_len(s->unsched) == 0)
        return;
    ctrl_map_each(s->unsched, move_one, s);
    ctrl_map_destroy(s->unsched, NULL);
    s->unsched = ctrl_map_create();
}

static void decref_cb(void *v)
{
    json_decref(v);
}

static void destroy_set(void *v)
{
    ctrl_map_destroy(v, decref_cb);
}

/* Locked: pod (by key) is on node_name, which is not cached yet. */
static void waiting_put(struct sched *s, const char *node_name, const char *key,
                        const json_t *pod)
{
    struct ctrl_map *set = ctrl_map_get(s->waiting, node_name);
    json_t *old = NULL;
    if (set == NULL) {
        set = ctrl_map_create();
        if (set == NULL || ctrl_map_put(s->waiting, node_name, set, NULL)) {
            ctrl_map_destroy(set, NULL);
            return;
        }
    }
    if (ctrl_map_put(set, key, json_incref((json_t *)pod), (void **)&old))
        json_decref((json_t *)pod);
    json_decref(old);
}

/* Locked. */
static void waiting_del(struct sched *s, const char *node_name, const char *key)
{
    struct ctrl_map *set = ctrl_map_get(s->waiting, node_name);
    if (set == NULL)
        return;
    json_decref(ctrl_map_del(set, key));
    if (ctrl_map_len(set) == 0)
        destroy_set(ctrl_map_del(s->waiting, node_name));
}

/* Locked: removes the pod (by key) from the node it is cached on. */
static void cache_forget_pod(struct sched *s, const char *key,
                             const json_t *pod)
{
    char *node = ctrl_map_del(s->pod_node, key);
    if (node) {
        struct sched_node *n = ctrl_map_get(s->node_cache, node);
        if (n)
            sched_node_remove_pod(n, pod);
        else
            waiting_del(s, node, key);
        free(node);
    }
}

/* Locked. */
static void cache_add_pod(struct sched *s, const char *key, const json_t *pod,
                          const char *node_name)
{
    struct sched_node *n = ctrl_map_get(s->node_cache, node_name);
    char *nn = strdup(node_name);
    if (nn == NULL)
        return;
    if (ctrl_map_put(s->pod_node, key, nn, NULL) != 0) {
        free(nn);
        return;
    }
    if (n)
        sched_node_add_pod(n, pod);
    else
        waiting_put(s, node_name, key, pod);
}

static bool same_json(const json_t *a, const json_t *b)
{
    return json_equal((json_t *)a, (json_t *)b);
}

static void pod_event_cb(void *arg, const json_t *old_obj,
                         const json_t *new_obj)
{
    struct sched *s = arg;
    char key[512];
    const json_t *o = new_obj ? new_obj : old_obj;

    ctrl_obj_key(o, key, sizeof key);
    pthread_mutex_lock(&s->mu);
    if (new_obj && is_bound_active(new_obj)) {
        /* bound (or confirmed after our assume): replace the cached copy */
        cache_forget_pod(s, key, new_obj);
        cache_add_pod(s, key, new_obj, ctrl_jstr(new_obj, "spec.nodeName"));
        ctrl_map_del(s->unsched, key);
    } else if (ctrl_map_get(s->pod_node, key) &&
               (new_obj == NULL || !is_ours_pending(new_obj))) {
        /* a bound pod went away or finished: room for the waiting ones */
        cache_forget_pod(s, key, o);
        move_all_to_active(s);
    }
    if (new_obj && is_ours_pending(new_obj) &&
        ctrl_map_get(s->pod_node, key) == NULL) {
        bool waiting = ctrl_map_get(s->unsched, key) != NULL;
        /* an unschedulable pod is retried only when its spec or labels
         * changed, not on our own status writes or a resync */
        if (!waiting || old_obj == NULL ||
            !same_json(ctrl_jget(old_obj, "spec"),
                       ctrl_jget(new_obj, "spec")) ||
            !same_json(ctrl_jget(old_obj, "metadata.labels"),
                       ctrl_jget(new_obj, "metadata.labels"))) {
            ctrl_map_del(s->unsched, key);
            ctrl_wq_add(s->queue, key);
        }
    }
    if (new_obj == NULL)
        ctrl_map_del(s->unsched, key);
    pthread_mutex_unlock(&s->mu);
}

static bool node_changed_for_scheduling(const json_t *a, const json_t *b)
{
    static const char *const paths[] = {
        "status.allocatable",
        "metadata.labels",
        "spec.taints",
        "spec.unschedulable",
    };
    const json_t *ra, *rb;
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
        if (!same_json(ctrl_jget(a, paths[i]), ctrl_jget(b, paths[i])))
            return true;
    ra = ctrl_get_condition(a, "Ready");
    rb = ctrl_get_condition(b, "Ready");
    return !same_json(json_object_get(ra, "status"),
                      json_object_get(rb, "status"));
}

static int add_waiting(const char *key, void *val, void *arg)
{
    (void)key;
    sched_node_add_pod(arg, val);
    return 0;
}

static void node_event_cb(void *arg, const json_t *old_obj,
                          const json_t *new_obj)
{
    struct sched *s = arg;
    const char *name = ctrl_jstr(new_obj ? new_obj : old_obj, "metadata.name");
    struct sched_node *n, *prev;
    struct ctrl_map *set;
    size_t i;
    json_t *p;

    if (name == NULL)
        return;
    if (new_obj == NULL) {
        pthread_mutex_lock(&s->mu);
        n = ctrl_map_del(s->node_cache, name);
        /* its pods wait for the node to come back */
        json_array_foreach (n ? n->pods : NULL, i, p) {
            char key[512];
            waiting_put(s, name, ctrl_obj_key(p, key, sizeof key), p);
        }
        node_free(n);
        s->order_valid = false;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    n = calloc(1, sizeof *n);
    if (n == NULL || sched_node_init(n, new_obj) != 0) {
        free(n);
        return;
    }
    pthread_mutex_lock(&s->mu);
    prev = ctrl_map_get(s->node_cache, name);
    if (prev) {
        /* keep the pods (bound and assumed) of the previous version */
        json_array_foreach (prev->pods, i, p)
            sched_node_add_pod(n, p);
    } else {
        /* pods bound before their node was seen */
        set = ctrl_map_del(s->waiting, name);
        if (set)
            ctrl_map_each(set, add_waiting, n);
        destroy_set(set);
    }
    ctrl_map_put(s->node_cache, name, n, (void **)&prev);
    node_free(prev);
    s->order_valid = false;
    if (old_obj == NULL || node_changed_for_scheduling(old_obj, new_obj))
        move_all_to_active(s);
    pthread_mutex_unlock(&s->mu);
}

struct collect_ctx {
    struct sched *s;
    size_t n;
};

static int collect_node(const char *key, void *val, void *arg)
{
    struct collect_ctx *c = arg;
    (void)key;
    c->s->order[c->n++] = val;
    return 0;
}

static int cmp_node_name(const void *a, const void *b)
{
    const struct sched_node *x = *(const struct sched_node *const *)a;
    const struct sched_node *y = *(const struct sched_node *const *)b;
    return strcmp(x->name, y->name);
}

static size_t nodes_to_find(size_t all)
{
    size_t pct, n;
    if (all < 100)
        return all;
    pct = all / 125 >= 45 ? 5 : 50 - all / 125;
    n = all * pct / 100;
    return n < 100 ? 100 : n;
}

static void set_unschedulable(struct sched *s, const json_t *pod,
                              const char *msg)
{
    json_t *copy = json_deep_copy(pod), *ret = NULL;
    char path[600];
    int st;

    if (copy == NULL)
        return;
    if (ctrl_set_condition(copy, "PodScheduled", "False", "Unschedulable", msg,
                           false)) {
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/status",
                 ctrl_jstr(pod, "metadata.namespace"),
                 ctrl_jstr(pod, "metadata.name"));
        st = s->api.call(s->api.ctx, "PUT", path, NULL, copy, &ret);
        if (st != 200)
            log_debug("scheduler: status of %s: %d", path, st);
        json_decref(ret);
    }
    json_decref(copy);
}

/* One scheduling cycle for key. Returns 0, or an error to retry with
 * back-off. */
static int schedule_one(struct sched *s, const char *key)
{
    json_t *pod = ctrl_informer_get(s->pods, key);
    struct sched_pod sp;
    struct sched_fail *fails;
    const struct sched_node **feasible;
    struct collect_ctx cc = {s, 0};
    size_t nall, nfeas = 0, nfail = 0, want;
    char node_name[256] = "";
    char *msg = NULL;
    int rv = 0;

    if (pod == NULL || !is_ours_pending(pod))
        goto out;
    sched_pod_init(&sp, pod);

    pthread_mutex_lock(&s->mu);
    if (ctrl_map_get(s->pod_node, key)) { /* assumed already */
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    nall = ctrl_map_len(s->node_cache);
    if (nall > s->order_cap) {
        const struct sched_node **o = realloc(s->order, nall * sizeof *o);
        if (o == NULL) {
            pthread_mutex_unlock(&s->mu);
            rv = K1S_ENOMEM;
            goto out;
        }
        s->order = o;
        s->order_cap = nall;
    }
    if (!s->order_valid) {
        ctrl_map_each(s->node_cache, collect_node, &cc);
        if (nall > 0)
            qsort(s->order, nall, sizeof *s->order, cmp_node_name);
        s->order_valid = true;
    }
    if (nall > s->scratch_cap) {
        const struct sched_node **fe =
            realloc(s->feasible, nall * sizeof *s->feasible);
        struct sched_fail *fa;
        if (fe != NULL)
            s->feasible = fe;
        fa = fe ? realloc(s->fails, nall * sizeof *s->fails) : NULL;
        if (fa == NULL) {
            pthread_mutex_unlock(&s->mu);
            rv = K1S_ENOMEM;
            goto out;
        }
        s->fails = fa;
        s->scratch_cap = nall;
    }
    feasible = s->feasible;
    fails = s->fails;
    want = nodes_to_find(nall);
    for (size_t k = 0; k < nall && nfeas < want; k++) {
        const struct sched_node *n = s->order[(s->next_start + k) % nall];
        if (sched_filter_pod(&sp, n, &fails[nfail]))
            feasible[nfeas++] = n;
        else
            nfail++;
    }
    if (nall)
        s->next_start = (s->next_start + (unsigned)(nfeas + nfail)) % nall;
    if (nfeas == 0) {
        ctrl_map_put(s->unsched, key, (void *)1, NULL);
        pthread_mutex_unlock(&s->mu);
        msg = sched_fit_message(nall, fails, nfail);
        if (msg) {
            log_debug("scheduler: %s: %s", key, msg);
            ctrl_event(s->events, pod, SCHED_NAME, "Warning",
                       "FailedScheduling", "%s", msg);
            set_unschedulable(s, pod, msg);
        }
        ctrl_wq_add_after(s->queue, key, UNSCHED_FLUSH_NS);
        goto out;
    }
    {
        size_t best = sched_pick_pod(&sp, feasible, nfeas, s->salt++);
        snprintf(node_name, sizeof node_name, "%s", feasible[best]->name);
    }
    cache_add_pod(s, key, pod, node_name); /* assume */
    pthread_mutex_unlock(&s->mu);
    {
        struct bind_job *j = calloc(1, sizeof *j);
        if (j == NULL) {
            pthread_mutex_lock(&s->mu);
            cache_forget_pod(s, key, pod);
            pthread_mutex_unlock(&s->mu);
            rv = K1S_ENOMEM;
            goto out;
        }
        j->pod = json_incref(pod);
        snprintf(j->key, sizeof j->key, "%s", key);
        snprintf(j->node, sizeof j->node, "%s", node_name);
        pthread_mutex_lock(&s->bmu);
        if (s->btail)
            s->btail->next = j;
        else
            s->bhead = j;
        s->btail = j;
        pthread_cond_signal(&s->bcond);
        pthread_mutex_unlock(&s->bmu);
    }
out:
    free(msg);
    json_decref(pod);
    return rv;
}

static void bind_one(struct sched *s, struct bind_job *j)
{
    json_t *body, *ret = NULL;
    const char *ns = ctrl_jstr(j->pod, "metadata.namespace");
    const char *name = ctrl_jstr(j->pod, "metadata.name");
    char path[600];
    int st;

    body = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s,s:s}}", "apiVersion",
                     "v1", "kind", "Binding", "metadata", "name", name,
                     "namespace", ns, "target", "apiVersion", "v1", "kind",
                     "Node", "name", j->node);
    snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/binding", ns,
             name);
    st = body ? s->api.call(s->api.ctx, "POST", path, NULL, body, &ret)
              : K1S_ENOMEM;
    json_decref(body);
    json_decref(ret);
    if (st == 201 || st == 200) {
        ctrl_event(s->events, j->pod, SCHED_NAME, "Normal", "Scheduled",
                   "Successfully assigned %s to %s", j->key, j->node);
        ctrl_wq_forget(s->queue, j->key);
        return;
    }
    pthread_mutex_lock(&s->mu);
    cache_forget_pod(s, j->key, j->pod);
    pthread_mutex_unlock(&s->mu);
    log_debug("scheduler: bind %s to %s: %d", j->key, j->node, st);
    if (st != 404 && st != 409)
        ctrl_wq_add_rate_limited(s->queue, j->key);
}

static void *binder_main(void *arg)
{
    struct sched *s = arg;
    pthread_setname_np(pthread_self(), "k1s-binder");
    pthread_mutex_lock(&s->bmu);
    for (;;) {
        struct bind_job *j;
        while (!s->bstop && s->bhead == NULL)
            pthread_cond_wait(&s->bcond, &s->bmu);
        j = s->bhead;
        if (j == NULL)
            break; /* stopping and drained */
        s->bhead = j->next;
        if (s->bhead == NULL)
            s->btail = NULL;
        pthread_mutex_unlock(&s->bmu);
        if (!s->bstop)
            bind_one(s, j);
        json_decref(j->pod);
        free(j);
        pthread_mutex_lock(&s->bmu);
    }
    pthread_mutex_unlock(&s->bmu);
    return NULL;
}

static void *worker_main(void *arg)
{
    struct sched *s = arg;
    char *key;

    pthread_setname_np(pthread_self(), "k1s-scheduler");
    ctrl_informer_wait_synced(s->nodes, 30 * 1000000000LL);
    ctrl_informer_wait_synced(s->pods, 30 * 1000000000LL);
    while (ctrl_wq_get(s->queue, &key) == 0) {
        pthread_mutex_lock(&s->mu);
        ctrl_map_del(s->unsched, key);
        pthread_mutex_unlock(&s->mu);
        if (schedule_one(s, key) != 0)
            ctrl_wq_add_rate_limited(s->queue, key);
        ctrl_wq_done(s->queue, key);
        free(key);
    }
    return NULL;
}

static void free_str(void *p)
{
    free(p);
}

void sched_stop(struct sched *s)
{
    if (s == NULL)
        return;
    if (s->queue)
        ctrl_wq_shutdown(s->queue);
    if (s->worker_started)
        pthread_join(s->worker, NULL);
    pthread_mutex_lock(&s->bmu);
    s->bstop = true;
    pthread_cond_broadcast(&s->bcond);
    pthread_mutex_unlock(&s->bmu);
    for (int i = 0; i < s->nbinders; i++)
        pthread_join(s->binders[i], NULL);
    pthread_mutex_destroy(&s->bmu);
    pthread_cond_destroy(&s->bcond);
    /* both stopped before either is freed: a handler of one reads the
     * other */
    if (s->shared) {
        ctrl_informer_detach(s->pods, pod_event_cb, s);
        ctrl_informer_detach(s->nodes, node_event_cb, s);
    } else {
        ctrl_informer_stop(s->pods);
        ctrl_informer_stop(s->nodes);
        ctrl_informer_destroy(s->pods);
        ctrl_informer_destroy(s->nodes);
    }
    ctrl_events_stop(s->events);
    ctrl_wq_destroy(s->queue);
    ctrl_map_destroy(s->node_cache, node_free);
    ctrl_map_destroy(s->pod_node, free_str);
    ctrl_map_destroy(s->waiting, destroy_set);
    ctrl_map_destroy(s->unsched, NULL);
    free(s->order);
    free(s->feasible);
    free(s->fails);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

int sched_start(const struct ctrl_api *api, struct sched **ret)
{
    return sched_start_shared(api, NULL, NULL, ret);
}

int sched_start_shared(const struct ctrl_api *api, struct ctrl_informer *pods,
                       struct ctrl_informer *nodes, struct sched **ret)
{
    struct sched *s = calloc(1, sizeof *s);
    int rv;

    if (s == NULL)
        return K1S_ENOMEM;
    s->api = *api;
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->bmu, NULL);
    pthread_cond_init(&s->bcond, NULL);
    s->node_cache = ctrl_map_create();
    s->pod_node = ctrl_map_create();
    s->unsched = ctrl_map_create();
    s->waiting = ctrl_map_create();
    if (!s->node_cache || !s->pod_node || !s->unsched || !s->waiting) {
        rv = K1S_ENOMEM;
        goto err;
    }
    rv = ctrl_wq_create("scheduler", &s->queue);
    if (rv == 0)
        rv = ctrl_events_start(api, &s->events);
    if (rv == 0 && pods != NULL && nodes != NULL) {
        /* nodes first: a pod's handler looks its node up */
        s->shared = true;
        s->pods = pods;
        s->nodes = nodes;
        rv = ctrl_informer_attach(nodes, node_event_cb, s);
        if (rv == 0) {
            rv = ctrl_informer_attach(pods, pod_event_cb, s);
            if (rv != 0)
                ctrl_informer_detach(nodes, node_event_cb, s);
        }
        if (rv != 0) {
            s->pods = s->nodes = NULL;
            goto err;
        }
    } else if (rv == 0) {
        rv = ctrl_informer_create(api, "/api/v1/nodes", 0, &s->nodes);
        if (rv == 0)
            rv = ctrl_informer_create(api, "/api/v1/pods", 0, &s->pods);
        if (rv != 0)
            goto err;
        ctrl_informer_add_handler(s->nodes, node_event_cb, s);
        ctrl_informer_add_handler(s->pods, pod_event_cb, s);
        rv = ctrl_informer_start(s->nodes);
        if (rv == 0)
            rv = ctrl_informer_start(s->pods);
    }
    if (rv != 0)
        goto err;
    for (int i = 0; i < SCHED_BINDERS; i++) {
        if (pthread_create(&s->binders[i], NULL, binder_main, s) != 0)
            break;
        s->nbinders++;
    }
    if (s->nbinders == 0 ||
        pthread_create(&s->worker, NULL, worker_main, s) != 0) {
        rv = K1S_ENOMEM;
        goto err;
    }
    s->worker_started = true;
    *ret = s;
    return 0;
err:
    sched_stop(s);
    return rv;
}

/*
 * DESIGN: the controller manager (kube-controller-manager, reduced). It
 * owns the shared informers (pods, replicasets, deployments, nodes, leases
 * in kube-node-lease, namespaces, and the extra kinds the garbage
 * collector tracks), one event recorder, and one ctrl_loop per controller:
 * a de-duplicating work queue drained by worker threads that call the
 * controller's level-triggered reconcile(key). Informers resync every
 * 5 minutes, so a lost event is repaired by the next resync at the latest.
 * A monitor thread runs the node-lifecycle pass every
 * node_monitor_period.
 *
 * Start order: create informers → controllers register handlers → start
 * workers → start informers. Stop: informers (no more handlers) → queues
 * shut down → workers joined → recorder stopped.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controllers/ctrl_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"

#define RESYNC_NS (300 * 1000000000LL)
#define EXP_TTL_NS (300 * 1000000000LL)

struct ctrl_exp {
    int64_t add, del, ts;
};

static const struct ctrl_gc_resource gc_builtin[] = {
    {"v1", "Pod", "pods", true, true},
    {"apps/v1", "ReplicaSet", "replicasets", true, true},
    {"apps/v1", "Deployment", "deployments", true, true},
    {"v1", "ConfigMap", "configmaps", true, false},
    {"v1", "Secret", "secrets", true, false},
    {"v1", "Service", "services", true, false},
};

/* The pods' and replicasets' index: the controller's uid ("" for none). */
static const char *controller_uid(const json_t *obj, char *buf, size_t len)
{
    const char *u =
        json_string_value(json_object_get(ctrl_controller_ref(obj), "uid"));
    (void)buf;
    (void)len;
    return u ? u : "";
}

static void *loop_main(void *arg)
{
    struct ctrl_loop *l = arg;
    char *key;
    char name[16];

    snprintf(name, sizeof name, "k1s-%.10s", l->name);
    pthread_setname_np(pthread_self(), name);
    while (ctrl_wq_get(l->wq, &key) == 0) {
        int rv = l->reconcile(l->m, key);
        if (rv == 0) {
            ctrl_wq_forget(l->wq, key);
        } else {
            log_debug("%s: %s: %s (retrying)", l->name, key, err_str(rv));
            ctrl_wq_add_rate_limited(l->wq, key);
        }
        ctrl_wq_done(l->wq, key);
        free(key);
    }
    return NULL;
}

static int loop_init(struct ctrl_manager *m, struct ctrl_loop *l,
                     const char *name,
                     int (*reconcile)(struct ctrl_manager *, const char *))
{
    l->name = name;
    l->reconcile = reconcile;
    l->m = m;
    return ctrl_wq_create(name, &l->wq);
}

static int loop_start(struct ctrl_loop *l, int workers)
{
    if (workers > 4)
        workers = 4;
    for (int i = 0; i < workers; i++) {
        if (pthread_create(&l->th[i], NULL, loop_main, l) != 0)
            return K1S_ENOMEM;
        l->nth++;
    }
    return 0;
}

static void loop_stop(struct ctrl_loop *l)
{
    if (l->wq == NULL)
        return;
    ctrl_wq_shutdown(l->wq);
    for (int i = 0; i < l->nth; i++)
        pthread_join(l->th[i], NULL);
    l->nth = 0;
    ctrl_wq_destroy(l->wq);
    l->wq = NULL;
}

void ctrl_exp_expect(struct ctrl_manager *m, const char *key, int64_t add,
                     int64_t del)
{
    struct ctrl_exp *e;
    pthread_mutex_lock(&m->mu);
    e = ctrl_map_get(m->expectations, key);
    if (e == NULL) {
        e = calloc(1, sizeof *e);
        if (e && ctrl_map_put(m->expectations, key, e, NULL) != 0) {
            free(e);
            e = NULL;
        }
    }
    if (e) {
        e->add = add;
        e->del = del;
        e->ts = clock_mono_ns();
    }
    pthread_mutex_unlock(&m->mu);
}

void ctrl_exp_observe(struct ctrl_manager *m, const char *key, int64_t add,
                      int64_t del)
{
    struct ctrl_exp *e;
    pthread_mutex_lock(&m->mu);
    e = ctrl_map_get(m->expectations, key);
    if (e) {
        e->add -= add;
        e->del -= del;
    }
    pthread_mutex_unlock(&m->mu);
}

bool ctrl_exp_satisfied(struct ctrl_manager *m, const char *key)
{
    struct ctrl_exp *e;
    bool ok;
    pthread_mutex_lock(&m->mu);
    e = ctrl_map_get(m->expectations, key);
    ok = e == NULL || (e->add <= 0 && e->del <= 0) ||
         clock_mono_ns() - e->ts > EXP_TTL_NS;
    pthread_mutex_unlock(&m->mu);
    return ok;
}

void ctrl_exp_delete(struct ctrl_manager *m, const char *key)
{
    pthread_mutex_lock(&m->mu);
    free(ctrl_map_del(m->expectations, key));
    pthread_mutex_unlock(&m->mu);
}

int ctrl_put(struct ctrl_manager *m, const char *path, const json_t *obj,
             json_t **ret)
{
    return ctrl_write(m, "PUT", path, NULL, obj, ret);
}

int ctrl_write(struct ctrl_manager *m, const char *method, const char *path,
               const char *ctype, const json_t *body, json_t **ret)
{
    json_t *r = NULL;
    int st = m->api.call(m->api.ctx, method, path, ctype, body, &r);
    if (ret)
        *ret = r;
    else
        json_decref(r);
    if (st == 200 || st == 201)
        return 0;
    if (st == 409)
        return K1S_ECONFLICT;
    if (st == 404)
        return K1S_ENOTFOUND;
    return st < 0 ? st : K1S_EIO;
}

static void *monitor_main(void *arg)
{
    struct ctrl_manager *m = arg;
    struct timespec ts;

    pthread_setname_np(pthread_self(), "k1s-nodemon");
    ctrl_informer_wait_synced(m->nodes, 30 * 1000000000LL);
    pthread_mutex_lock(&m->mu);
    while (!m->stopping) {
        int64_t next = clock_mono_ns() + m->cfg.node_monitor_period_ns;
        pthread_mutex_unlock(&m->mu);
        ctrl_node_monitor(m);
        pthread_mutex_lock(&m->mu);
        ts.tv_sec = next / 1000000000LL;
        ts.tv_nsec = next % 1000000000LL;
        while (!m->stopping && clock_mono_ns() < next)
            pthread_cond_timedwait(&m->cond, &m->mu, &ts);
    }
    pthread_mutex_unlock(&m->mu);
    return NULL;
}

static void free_ptr(void *p)
{
    free(p);
}

struct ctrl_informer *ctrl_manager_informer(struct ctrl_manager *m,
                                            const char *which)
{
    if (m == NULL)
        return NULL;
    if (strcmp(which, "pods") == 0)
        return m->pods;
    if (strcmp(which, "nodes") == 0)
        return m->nodes;
    return NULL;
}

void ctrl_manager_stop(struct ctrl_manager *m)
{
    if (m == NULL)
        return;
    pthread_mutex_lock(&m->mu);
    m->stopping = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->mu);
    if (m->monitor_started)
        pthread_join(m->monitor, NULL);
    for (int i = 0; i < m->ngc; i++)
        ctrl_informer_stop(m->gc_inf[i]);
    ctrl_informer_stop(m->nodes);
    ctrl_informer_stop(m->leases);
    ctrl_informer_stop(m->nss);
    loop_stop(&m->rs);
    loop_stop(&m->dep);
    loop_stop(&m->gc);
    loop_stop(&m->ns);
    loop_stop(&m->node);
    for (int i = 0; i < m->ngc; i++)
        ctrl_informer_destroy(m->gc_inf[i]);
    ctrl_informer_destroy(m->nodes);
    ctrl_informer_destroy(m->leases);
    ctrl_informer_destroy(m->nss);
    ctrl_events_stop(m->events);
    ctrl_map_destroy(m->expectations, free_ptr);
    ctrl_map_destroy(m->node_health, free_ptr);
    pthread_mutex_destroy(&m->mu);
    pthread_cond_destroy(&m->cond);
    free(m);
}

int ctrl_manager_start(const struct ctrl_api *api,
                       const struct ctrl_config *cfg, struct ctrl_manager **ret)
{
    struct ctrl_manager *m = calloc(1, sizeof *m);
    pthread_condattr_t ca;
    int rv = 0, workers;
    char path[256];

    if (m == NULL)
        return K1S_ENOMEM;
    m->api = *api;
    if (cfg)
        m->cfg = *cfg;
    if (m->cfg.node_grace_ns <= 0)
        m->cfg.node_grace_ns = 40 * 1000000000LL;
    if (m->cfg.default_toleration_ns <= 0)
        m->cfg.default_toleration_ns = 300 * 1000000000LL;
    if (m->cfg.node_monitor_period_ns <= 0)
        m->cfg.node_monitor_period_ns = 5 * 1000000000LL;
    if (m->cfg.node_monitor_period_ns > m->cfg.node_grace_ns / 2)
        m->cfg.node_monitor_period_ns = m->cfg.node_grace_ns / 2;
    workers = m->cfg.workers > 0 ? m->cfg.workers : 2;
    pthread_mutex_init(&m->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    m->expectations = ctrl_map_create();
    m->node_health = ctrl_map_create();
    if (!m->expectations || !m->node_health) {
        rv = K1S_ENOMEM;
        goto err;
    }
    rv = ctrl_events_start(api, &m->events);
    for (size_t i = 0; rv == 0 && i < sizeof gc_builtin / sizeof gc_builtin[0];
         i++) {
        const struct ctrl_gc_resource *r = &gc_builtin[i];
        snprintf(path, sizeof path, "%s/%s/%s",
                 strchr(r->group_version, '/') ? "/apis" : "/api",
                 r->group_version, r->plural);
        rv = ctrl_informer_create(api, path, RESYNC_NS, &m->gc_inf[m->ngc]);
        if (rv == 0)
            m->gc_res[m->ngc++] = r;
        if (rv == 0 && !r->full)
            rv = ctrl_informer_set_metadata_only(m->gc_inf[m->ngc - 1],
                                                 ctrl_gc_interested);
    }
    if (rv != 0)
        goto err;
    m->pods = m->gc_inf[0];
    m->rss = m->gc_inf[1];
    m->deps = m->gc_inf[2];
    rv = ctrl_informer_set_index(m->pods, controller_uid);
    if (rv == 0)
        rv = ctrl_informer_set_index(m->rss, controller_uid);
    if (rv != 0)
        goto err;
    rv = ctrl_informer_create(api, "/api/v1/nodes", RESYNC_NS, &m->nodes);
    if (rv == 0)
        rv = ctrl_informer_create(
            api,
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/"
            "leases",
            0, &m->leases);
    if (rv == 0)
        rv =
            ctrl_informer_create(api, "/api/v1/namespaces", RESYNC_NS, &m->nss);
    if (rv == 0)
        rv = loop_init(m, &m->rs, "replicaset", ctrl_rs_reconcile);
    if (rv == 0)
        rv = loop_init(m, &m->dep, "deployment", ctrl_dep_reconcile);
    if (rv == 0)
        rv = loop_init(m, &m->gc, "gc", ctrl_gc_reconcile);
    if (rv == 0)
        rv = loop_init(m, &m->ns, "namespace", ctrl_ns_reconcile);
    if (rv == 0)
        rv = loop_init(m, &m->node, "nodelifecycle", ctrl_node_reconcile);
    if (rv == 0)
        rv = ctrl_rs_init(m);
    if (rv == 0)
        rv = ctrl_dep_init(m);
    if (rv == 0)
        rv = ctrl_gc_init(m);
    if (rv == 0)
        rv = ctrl_ns_init(m);
    if (rv == 0)
        rv = ctrl_node_init(m);
    if (rv == 0)
        rv = loop_start(&m->rs, workers);
    if (rv == 0)
        rv = loop_start(&m->dep, workers);
    if (rv == 0)
        rv = loop_start(&m->gc, workers);
    if (rv == 0)
        rv = loop_start(&m->ns, 1);
    if (rv == 0)
        rv = loop_start(&m->node, 1);
    for (int i = 0; rv == 0 && i < m->ngc; i++)
        rv = ctrl_informer_start(m->gc_inf[i]);
    if (rv == 0)
        rv = ctrl_informer_start(m->nodes);
    if (rv == 0)
        rv = ctrl_informer_start(m->leases);
    if (rv == 0)
        rv = ctrl_informer_start(m->nss);
    if (rv != 0)
        goto err;
    if (pthread_create(&m->monitor, NULL, monitor_main, m) != 0) {
        rv = K1S_ENOMEM;
        goto err;
    }
    m->monitor_started = true;
    *ret = m;
    return 0;
err:
    ctrl_manager_stop(m);
    return rv;
}

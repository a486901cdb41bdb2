/*
 * DESIGN: the node lifecycle controller (pkg/controller/nodelifecycle) and
 * its taint-based eviction (NoExecuteTaintManager), reduced.
 *
 * Health: a node is alive while its Lease in kube-node-lease (or its Ready
 * condition's lastHeartbeatTime) keeps changing. The time of the last
 * change is the controller's own monotonic clock when it *saw* the change
 * (as upstream, so clock skew between machines does not matter). After
 * node_grace_ns without a change the Ready, MemoryPressure, DiskPressure
 * and PIDPressure conditions become Unknown (NodeStatusUnknown, "Kubelet
 * stopped posting node status."), the pods on the node are marked not
 * Ready, a NodeNotReady event is recorded, and the node gets the
 * node.kubernetes.io/unreachable:NoExecute taint (not-ready:NoExecute if
 * Ready is False). When the lease moves again, a Ready condition that we
 * set to Unknown is set back to True (standing in for the kubelet's next
 * status post) and the taints are removed.
 *
 * Eviction (reconcile(node)): a pod on a node with NoExecute taints is
 * deleted at once if it does not tolerate one, else when the shortest
 * tolerationSeconds since the taint's timeAdded has passed. A pod without
 * any toleration for not-ready/unreachable is given default_toleration_ns
 * (the DefaultTolerationSeconds admission plugin's 300 s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/ctrl_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"

#define COMPONENT "node-controller"
#define UNREACHABLE "node.kubernetes.io/unreachable"
#define NOT_READY "node.kubernetes.io/not-ready"

struct ctrl_node_health {
    char lease_renew[64];
    char heartbeat[64];
    int64_t observed; /* mono ns */
};

static void node_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct ctrl_manager *m = arg;
    (void)old_obj;
    if (new_obj && json_array_size(ctrl_jget(new_obj, "spec.taints")) > 0)
        ctrl_wq_add(m->node.wq, ctrl_jstr(new_obj, "metadata.name"));
}

static void pod_cb(void *arg, const json_t *old_obj, const json_t *new_obj)
{
    struct ctrl_manager *m = arg;
    const char *n;
    json_t *node;
    (void)old_obj;
    if (new_obj == NULL)
        return;
    n = ctrl_jstr(new_obj, "spec.nodeName");
    if (n == NULL || n[0] == '\0')
        return;
    node = ctrl_informer_get(m->nodes, n);
    if (node && json_array_size(ctrl_jget(node, "spec.taints")) > 0)
        ctrl_wq_add(m->node.wq, n);
    json_decref(node);
}

int ctrl_node_init(struct ctrl_manager *m)
{
    int rv = ctrl_informer_add_handler(m->nodes, node_cb, m);
    if (rv == 0)
        rv = ctrl_informer_add_handler(m->pods, pod_cb, m);
    return rv;
}

static json_t *find_taint(const json_t *node, const char *key)
{
    json_t *ts = ctrl_jget(node, "spec.taints"), *t;
    size_t i;
    json_array_foreach (ts, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *e = json_string_value(json_object_get(t, "effect"));
        if (k && e && strcmp(k, key) == 0 && strcmp(e, "NoExecute") == 0)
            return t;
    }
    return NULL;
}

/* Makes the NoExecute taints of node (a copy) match `want` (a key or
 * NULL). Returns true when it changed anything. */
static bool reconcile_taints(json_t *node, const char *want)
{
    static const char *const keys[] = {UNREACHABLE, NOT_READY};
    json_t *spec = json_object_get(node, "spec"), *ts;
    bool changed = false;
    char now[32];

    if (!json_is_object(spec)) {
        spec = json_object();
        json_object_set_new(node, "spec", spec);
    }
    ts = json_object_get(spec, "taints");
    if (!json_is_array(ts)) {
        ts = json_array();
        json_object_set_new(spec, "taints", ts);
    }
    for (size_t k = 0; k < 2; k++) {
        json_t *t = find_taint(node, keys[k]);
        bool wanted = want && strcmp(want, keys[k]) == 0;
        if (t && !wanted) {
            size_t i;
            json_t *x;
            json_array_foreach (ts, i, x) {
                if (x == t) {
                    json_array_remove(ts, i);
                    break;
                }
            }
            changed = true;
        } else if (!t && wanted) {
            json_array_append_new(ts,
                                  json_pack("{s:s,s:s,s:s}", "key", keys[k],
                                            "effect", "NoExecute", "timeAdded",
                                            ctrl_now(now, sizeof now)));
            changed = true;
        }
    }
    if (json_array_size(ts) == 0)
        json_object_del(spec, "taints");
    return changed;
}

static bool on_node(const json_t *pod, void *arg)
{
    const char *n = ctrl_jstr(pod, "spec.nodeName");
    return n && strcmp(n, arg) == 0 && ctrl_pod_is_active(pod);
}

static void mark_pods_not_ready(struct ctrl_manager *m, const char *node)
{
    json_t *pods = ctrl_informer_list(m->pods, NULL, on_node, (void *)node);
    size_t i;
    json_t *p;
    json_array_foreach (pods, i, p) {
        json_t *copy;
        char path[600];
        if (!ctrl_pod_is_ready(p))
            continue;
        copy = json_deep_copy(p);
        ctrl_set_condition(copy, "Ready", "False", NULL, NULL, false);
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s/status",
                 ctrl_jstr(p, "metadata.namespace"),
                 ctrl_jstr(p, "metadata.name"));
        ctrl_put(m, path, copy, NULL);
        json_decref(copy);
    }
    json_decref(pods);
}

static void monitor_one(struct ctrl_manager *m, const json_t *node, int64_t now)
{
    const char *name = ctrl_jstr(node, "metadata.name");
    char lkey[400], path[600];
    json_t *lease, *copy;
    const json_t *ready;
    const char *renew, *hb, *rs, *reason;
    struct ctrl_node_health *h;
    bool stale, changed = false, status_changed = false;
    const char *want;

    snprintf(lkey, sizeof lkey, "kube-node-lease/%s", name);
    lease = ctrl_informer_get(m->leases, lkey);
    renew = ctrl_jstr(lease, "spec.renewTime");
    ready = ctrl_get_condition(node, "Ready");
    hb = json_string_value(json_object_get(ready, "lastHeartbeatTime"));
    pthread_mutex_lock(&m->mu);
    h = ctrl_map_get(m->node_health, name);
    if (h == NULL) {
        h = calloc(1, sizeof *h);
        if (h == NULL || ctrl_map_put(m->node_health, name, h, NULL) != 0) {
            free(h);
            pthread_mutex_unlock(&m->mu);
            json_decref(lease);
            return;
        }
        h->observed = now;
    }
    if (strcmp(h->lease_renew, renew ? renew : "") != 0 ||
        strcmp(h->heartbeat, hb ? hb : "") != 0) {
        snprintf(h->lease_renew, sizeof h->lease_renew, "%s",
                 renew ? renew : "");
        snprintf(h->heartbeat, sizeof h->heartbeat, "%s", hb ? hb : "");
        h->observed = now;
    }
    stale = now - h->observed > m->cfg.node_grace_ns;
    pthread_mutex_unlock(&m->mu);
    json_decref(lease);

    copy = json_deep_copy(node);
    if (copy == NULL)
        return;
    rs = json_string_value(json_object_get(ready, "status"));
    reason = json_string_value(json_object_get(ready, "reason"));
    if (stale && (rs == NULL || strcmp(rs, "Unknown") != 0)) {
        static const char *const types[] = {"Ready", "MemoryPressure",
                                            "DiskPressure", "PIDPressure"};
        for (size_t i = 0; i < 4; i++)
            ctrl_set_condition(copy, types[i], "Unknown", "NodeStatusUnknown",
                               "Kubelet stopped posting node status.", false);
        status_changed = true;
        log_info("node-lifecycle: node %s stopped renewing its lease: "
                 "NotReady",
                 name);
        ctrl_event(m->events, node, COMPONENT, "Normal", "NodeNotReady",
                   "Node %s status is now: NodeNotReady", name);
        mark_pods_not_ready(m, name);
    } else if (!stale && rs && strcmp(rs, "Unknown") == 0 && reason &&
               strcmp(reason, "NodeStatusUnknown") == 0) {
        ctrl_set_condition(copy, "Ready", "True", "KubeletReady",
                           "kubelet is posting ready status", false);
        status_changed = true;
        ctrl_event(m->events, node, COMPONENT, "Normal", "NodeReady",
                   "Node %s status is now: NodeReady", name);
    }
    if (status_changed) {
        json_t *ret = NULL;
        snprintf(path, sizeof path, "/api/v1/nodes/%s/status", name);
        if (ctrl_put(m, path, copy, &ret) == 0 && json_is_object(ret)) {
            json_decref(copy);
            copy = json_deep_copy(ret);
        }
        json_decref(ret);
        if (copy == NULL)
            return;
    }
    rs = json_string_value(
        json_object_get(ctrl_get_condition(copy, "Ready"), "status"));
    want = rs == NULL || strcmp(rs, "True") == 0 ? NULL
           : strcmp(rs, "Unknown") == 0          ? UNREACHABLE
                                                 : NOT_READY;
    if (ready == NULL && rs == NULL)
        want = NULL; /* a node that never reported: leave it alone */
    changed = reconcile_taints(copy, want);
    if (changed) {
        snprintf(path, sizeof path, "/api/v1/nodes/%s", name);
        ctrl_put(m, path, copy, NULL);
    }
    json_decref(copy);
}

void ctrl_node_monitor(struct ctrl_manager *m)
{
    json_t *nodes = ctrl_informer_list(m->nodes, NULL, NULL, NULL), *n;
    int64_t now = clock_mono_ns();
    size_t i;
    json_array_foreach (nodes, i, n)
        monitor_one(m, n, now);
    json_decref(nodes);
}

/* Seconds the pod tolerates taint (-1: forever, 0: not at all). */
static int64_t tolerated_for(struct ctrl_manager *m, const json_t *pod,
                             const json_t *taint)
{
    json_t *tols = ctrl_jget(pod, "spec.tolerations"), *t;
    const char *key = json_string_value(json_object_get(taint, "key"));
    int64_t best = 0;
    bool any = false, keyed = false;
    size_t i;

    json_array_foreach (tols, i, t) {
        bool ok = false;
        const char *k = json_string_value(json_object_get(t, "key"));
        /* v1.Toleration.ToleratesTaint, for NoExecute taints */
        {
            const char *op = json_string_value(json_object_get(t, "operator"));
            const char *e = json_string_value(json_object_get(t, "effect"));
            const char *v = json_string_value(json_object_get(t, "value"));
            const char *tv = json_string_value(json_object_get(taint, "value"));
            if ((e == NULL || e[0] == '\0' || strcmp(e, "NoExecute") == 0) &&
                (k == NULL || k[0] == '\0' || (key && strcmp(k, key) == 0))) {
                if (op && strcmp(op, "Exists") == 0)
                    ok = true;
                else if (k && k[0] && strcmp(v ? v : "", tv ? tv : "") == 0)
                    ok = true;
            }
        }
        if (k && key && strcmp(k, key) == 0)
            keyed = true;
        if (!ok)
            continue;
        if (!json_is_integer(json_object_get(t, "tolerationSeconds")))
            return -1;
        {
            int64_t s =
                json_integer_value(json_object_get(t, "tolerationSeconds"));
            if (!any || s < best)
                best = s < 0 ? 0 : s;
            any = true;
        }
    }
    if (any)
        return best;
    if (!keyed && key &&
        (strcmp(key, UNREACHABLE) == 0 || strcmp(key, NOT_READY) == 0))
        return m->cfg.default_toleration_ns / 1000000000LL;
    return 0;
}

int ctrl_node_reconcile(struct ctrl_manager *m, const char *key)
{
    json_t *node = ctrl_informer_get(m->nodes, key), *pods = NULL, *p;
    json_t *taints;
    int64_t now = clock_real_ns(), next = 0;
    size_t i;

    if (node == NULL)
        return 0;
    taints = ctrl_jget(node, "spec.taints");
    pods = ctrl_informer_list(m->pods, NULL, on_node, (void *)key);
    json_array_foreach (pods, i, p) {
        size_t j;
        json_t *t;
        int64_t evict_at = -1; /* -1 never */
        json_array_foreach (taints, j, t) {
            const char *e = json_string_value(json_object_get(t, "effect"));
            int64_t secs, added, at;
            if (e == NULL || strcmp(e, "NoExecute") != 0)
                continue;
            secs = tolerated_for(m, p, t);
            if (secs < 0)
                continue;
            added = ctrl_time_ns(
                json_string_value(json_object_get(t, "timeAdded")));
            if (added == 0)
                added = now;
            at = added + secs * 1000000000LL;
            if (evict_at < 0 || at < evict_at)
                evict_at = at;
        }
        if (evict_at < 0)
            continue;
        if (evict_at <= now) {
            char path[600];
            json_t *ret = NULL;
            snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s",
                     ctrl_jstr(p, "metadata.namespace"),
                     ctrl_jstr(p, "metadata.name"));
            ctrl_event(m->events, p, "taint-eviction-controller", "Normal",
                       "TaintManagerEviction", "Marking for deletion Pod %s/%s",
                       ctrl_jstr(p, "metadata.namespace"),
                       ctrl_jstr(p, "metadata.name"));
            m->api.call(m->api.ctx, "DELETE", path, NULL, NULL, &ret);
            json_decref(ret);
        } else if (next == 0 || evict_at - now < next) {
            next = evict_at - now;
        }
    }
    if (next > 0)
        ctrl_wq_add_after(m->node.wq, key, next + 100000000LL);
    json_decref(pods);
    json_decref(node);
    return 0;
}

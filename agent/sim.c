/*
 * DESIGN: simulated nodes (`k1s agent --simulate N`), what kubemark's
 * hollow kubelets are to Kubernetes: N Nodes registered from one process,
 * their Leases renewed every 10 s and status every minute, and every pod
 * bound to one of them reported Running and Ready at once without running
 * anything; a pod being deleted is confirmed at once.
 *
 * One watch on all pods (pages of 500 for the list) instead of N watches;
 * a pod is ours when spec.nodeName is "<prefix>-<i>" with i < N. Per pod
 * nothing is kept: whether a pod still needs a report is read from the
 * event itself (phase Running and Ready=True means done), so memory does
 * not grow with the number of pods. Reports are written by a worker thread
 * so that the watch stream is never stalled by them; its queue is capped.
 */
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <poll.h>

#include "agent/agent.h"
#include "agent/agent_client.h"
#include "agent/agent_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/version.h"

#define SIM_QUEUE_CAP 200000

struct job {
    struct job *next;
    bool del;
    bool gates;         /* readiness gates all True: report Ready */
    char gate_msg[300]; /* else why not */
    json_t *pod;        /* only what the report needs */
};

struct sim {
    const struct agent_config *cfg;
    char prefix[200];
    int n;
    volatile int stop;
    char kube_version[64];
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, *tail;
    size_t qlen;
    long reported;
};

static int64_t mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

static void pause_ms(struct sim *s, int ms)
{
    int64_t end = mono_ms() + ms;
    while (!s->stop && mono_ms() < end)
        poll(NULL, 0, 50);
}

static bool ours(struct sim *s, const char *node)
{
    size_t pl = strlen(s->prefix);
    char *end;
    long i;

    if (node == NULL || strncmp(node, s->prefix, pl) != 0 || node[pl] != '-')
        return false;
    i = strtol(node + pl + 1, &end, 10);
    return *end == '\0' && i >= 0 && i < s->n;
}

/* Whether the server has the status we would report: Running, and Ready
 * exactly when the pod's readiness gates (if any) are all True. */
static bool reported(const json_t *pod, bool gates)
{
    const json_t *st = json_object_get(pod, "status"), *c;
    size_t i;
    const char *phase = json_string_value(json_object_get(st, "phase"));

    if (phase == NULL || strcmp(phase, "Running") != 0)
        return false;
    json_array_foreach (json_object_get(st, "conditions"), i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        const char *v = json_string_value(json_object_get(c, "status"));
        if (t && v && strcmp(t, "Ready") == 0)
            return (strcmp(v, "True") == 0) == gates;
    }
    return false;
}

static void consider(struct sim *s, const json_t *pod)
{
    const json_t *md = json_object_get(pod, "metadata");
    const json_t *spec = json_object_get(pod, "spec");
    bool del = json_object_get(md, "deletionTimestamp") != NULL;
    const char *phase = json_string_value(
        json_object_get(json_object_get(pod, "status"), "phase"));
    struct job *j;
    char gate_msg[300];
    bool gates;

    if (!ours(s, json_string_value(json_object_get(spec, "nodeName"))))
        return;
    gates = agent_pod_gates_ready(pod, gate_msg, sizeof gate_msg);
    if (!del &&
        (reported(pod, gates) || (phase && (strcmp(phase, "Succeeded") == 0 ||
                                            strcmp(phase, "Failed") == 0))))
        return;
    j = calloc(1, sizeof *j);
    if (j == NULL)
        return;
    j->del = del;
    j->gates = gates;
    snprintf(j->gate_msg, sizeof j->gate_msg, "%s", gate_msg);
    j->pod = json_pack("{s:O,s:O,s:O,s:O}", "name", json_object_get(md, "name"),
                       "namespace", json_object_get(md, "namespace"), "uid",
                       json_object_get(md, "uid"), "containers",
                       json_object_get(spec, "containers"));
    pthread_mutex_lock(&s->lock);
    if (s->qlen >= SIM_QUEUE_CAP || j->pod == NULL) {
        pthread_mutex_unlock(&s->lock);
        json_decref(j->pod);
        free(j);
        return;
    }
    if (s->tail)
        s->tail->next = j;
    else
        s->head = j;
    s->tail = j;
    s->qlen++;
    pthread_cond_signal(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static json_t *running_status(const json_t *p, bool gates, const char *gate_msg)
{
    char ts[32], ip[32];
    const json_t *c;
    const char *uid = json_string_value(json_object_get(p, "uid"));
    unsigned h = 5381;
    json_t *cs = json_array(), *conds = json_array();
    static const char *const types[4] = {"PodScheduled", "Initialized",
                                         "ContainersReady", "Ready"};
    size_t i;

    for (const char *u = uid ? uid : ""; *u; u++)
        h = h * 33 + (unsigned char)*u;
    snprintf(ip, sizeof ip, "10.%u.%u.%u", (h >> 16) & 255, (h >> 8) & 255,
             (h & 253) + 1);
    clock_rfc3339(clock_real_ns(), ts, sizeof ts);
    for (int k = 0; k < 4; k++) {
        bool ok = k < 3 || gates;
        json_t *cond =
            json_pack("{s:s,s:s,s:s}", "type", types[k], "status",
                      ok ? "True" : "False", "lastTransitionTime", ts);
        if (!ok) {
            json_object_set_new(cond, "reason",
                                json_string("ReadinessGatesNotReady"));
            json_object_set_new(cond, "message", json_string(gate_msg));
        }
        json_array_append_new(conds, cond);
    }
    json_array_foreach (json_object_get(p, "containers"), i, c) {
        const char *img = json_string_value(json_object_get(c, "image"));
        char iid[300], cid[300];
        snprintf(iid, sizeof iid, "k1s-sim://%s", img ? img : "");
        snprintf(cid, sizeof cid, "k1s-sim://%s-%zu", uid ? uid : "", i);
        json_array_append_new(
            cs, json_pack("{s:O,s:s,s:s,s:s,s:b,s:b,s:i,s:{s:{s:s}},s:{}}",
                          "name", json_object_get(c, "name"), "image",
                          img ? img : "", "imageID", iid, "containerID", cid,
                          "ready", 1, "started", 1, "restartCount", 0, "state",
                          "running", "startedAt", ts, "lastState"));
    }
    return json_pack("{s:s,s:o,s:o,s:s,s:[{s:s}],s:s,s:[{s:s}],s:s,s:s}",
                     "phase", "Running", "conditions", conds,
                     "containerStatuses", cs, "podIP", ip, "podIPs", "ip", ip,
                     "hostIP", "127.0.0.1", "hostIPs", "ip", "127.0.0.1",
                     "startTime", ts, "qosClass", "BestEffort");
}

static void *worker_main(void *arg)
{
    struct sim *s = arg;
    struct agent_http h;

    pthread_setname_np(pthread_self(), "sim-report");
    agent_http_init(&h, s->cfg->server_url, s->cfg->token);
    h.stop = &s->stop;
    for (;;) {
        struct job *j;
        char path[1024];
        json_t *body;
        int rv;

        pthread_mutex_lock(&s->lock);
        if (s->head == NULL && !s->stop) {
            /* A burst is over: give its queue's memory back. */
            pthread_mutex_unlock(&s->lock);
            malloc_trim(0);
            pthread_mutex_lock(&s->lock);
        }
        while (s->head == NULL && !s->stop)
            pthread_cond_wait(&s->cond, &s->lock);
        j = s->head;
        if (j) {
            s->head = j->next;
            if (s->head == NULL)
                s->tail = NULL;
            s->qlen--;
        }
        pthread_mutex_unlock(&s->lock);
        if (j == NULL)
            break;
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s%s",
                 json_string_value(json_object_get(j->pod, "namespace")),
                 json_string_value(json_object_get(j->pod, "name")),
                 j->del ? "" : "/status");
        if (j->del)
            body = json_pack("{s:i,s:{s:O}}", "gracePeriodSeconds", 0,
                             "preconditions", "uid",
                             json_object_get(j->pod, "uid"));
        else
            body = json_pack("{s:{s:O},s:o}", "metadata", "uid",
                             json_object_get(j->pod, "uid"), "status",
                             running_status(j->pod, j->gates, j->gate_msg));
        /* strategic: conditions merge by type (readiness gates' stay) */
        rv = agent_http_call(&h, j->del ? "DELETE" : "PATCH", path,
                             j->del ? NULL
                                    : "application/strategic-merge-patch+json",
                             body, 10000, NULL);
        if (rv == 200 && !j->del)
            __atomic_add_fetch(&s->reported, 1, __ATOMIC_RELAXED);
        json_decref(body);
        json_decref(j->pod);
        free(j);
    }
    agent_http_close(&h);
    return NULL;
}

struct wstate {
    struct sim *s;
    char rv[64];
    bool expired;
};

static bool on_event(const json_t *ev, void *arg)
{
    struct wstate *w = arg;
    const char *type = json_string_value(json_object_get(ev, "type"));
    const json_t *obj = json_object_get(ev, "object");
    const char *rv = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));

    if (type == NULL || strcmp(type, "ERROR") == 0) {
        w->expired = true;
        return false;
    }
    if (rv)
        snprintf(w->rv, sizeof w->rv, "%s", rv);
    if (strcmp(type, "ADDED") == 0 || strcmp(type, "MODIFIED") == 0)
        consider(w->s, obj);
    return !w->s->stop;
}

static void *watch_main(void *arg)
{
    struct sim *s = arg;
    struct agent_http h;
    struct wstate w;

    pthread_setname_np(pthread_self(), "sim-watch");
    agent_http_init(&h, s->cfg->server_url, s->cfg->token);
    h.stop = &s->stop;
    memset(&w, 0, sizeof w);
    w.s = s;
    while (!s->stop) {
        char path[2048], cont[1024] = "";
        int rv = 0;
        /* List in pages. */
        for (int page = 0; page < 100000 && !s->stop; page++) {
            json_t *list = NULL;
            const json_t *it;
            const char *c;
            size_t i;
            snprintf(path, sizeof path, "/api/v1/pods?limit=500%s%s",
                     cont[0] ? "&continue=" : "", cont);
            rv = agent_http_call(&h, "GET", path, NULL, NULL, 60000, &list);
            if (rv != 200) {
                json_decref(list);
                break;
            }
            json_array_foreach (json_object_get(list, "items"), i, it)
                consider(s, it);
            c = json_string_value(
                json_object_get(json_object_get(list, "metadata"), "continue"));
            if (page == 0 || !(c && c[0]))
                snprintf(
                    w.rv, sizeof w.rv, "%s",
                    json_string_value(json_object_get(
                        json_object_get(list, "metadata"), "resourceVersion"))
                        ? json_string_value(
                              json_object_get(json_object_get(list, "metadata"),
                                              "resourceVersion"))
                        : "0");
            snprintf(cont, sizeof cont, "%s", c ? c : "");
            json_decref(list);
            rv = 0;
            if (cont[0] == '\0')
                break;
        }
        if (rv != 0) {
            pause_ms(s, 1000);
            continue;
        }
        while (!s->stop) {
            w.expired = false;
            snprintf(path, sizeof path,
                     "/api/v1/pods?watch=true&allowWatchBookmarks=true&"
                     "timeoutSeconds=300&resourceVersion=%s",
                     w.rv);
            rv = agent_http_watch(&h, path, on_event, &w);
            if (w.expired || rv != 0)
                break;
        }
        if (rv != 0)
            pause_ms(s, 1000);
    }
    agent_http_close(&h);
    return NULL;
}

static void node_desc(struct sim *s, int i, char *name, size_t len,
                      struct agent_node_desc *d)
{
    snprintf(name, len, "%s-%d", s->prefix, i);
    memset(d, 0, sizeof *d);
    d->name = name;
    d->ip = "127.0.0.1";
    d->port = 0;
    d->kube_version = s->kube_version;
    d->simulated = true;
}

static void *beat_main(void *arg)
{
    struct sim *s = arg;
    struct agent_http h;
    int64_t next_status = mono_ms() + 60000;

    pthread_setname_np(pthread_self(), "sim-beat");
    agent_http_init(&h, s->cfg->server_url, s->cfg->token);
    h.stop = &s->stop;
    while (!s->stop) {
        int64_t start = mono_ms();
        bool status = start >= next_status;
        char name[300], err[256];
        struct agent_node_desc d;

        for (int i = 0; i < s->n && !s->stop; i++) {
            node_desc(s, i, name, sizeof name, &d);
            agent_lease_renew(&h, name);
            if (status && agent_node_post_status(&h, &d, err, sizeof err) ==
                              K1S_ENOTFOUND)
                agent_node_register(&h, &d, err, sizeof err);
        }
        if (status)
            next_status = start + 60000;
        {
            int64_t took = mono_ms() - start;
            if (took > 10000)
                log_warn("sim: renewing %d leases took %lld ms (> 10 s)", s->n,
                         (long long)took);
            else
                pause_ms(s, (int)(10000 - took));
        }
    }
    agent_http_close(&h);
    return NULL;
}

int agent_sim_main(const struct agent_config *cfg, int n, const sigset_t *sigs)
{
    struct sim *s = calloc(1, sizeof *s);
    struct agent_http h;
    pthread_t beat, watch, worker;
    int sig = 0, registered = 0;

    if (s == NULL)
        return 1;
    s->cfg = cfg;
    s->n = n;
    snprintf(s->prefix, sizeof s->prefix, "%s",
             cfg->node_name && cfg->node_name[0] ? cfg->node_name : "sim");
    snprintf(s->kube_version, sizeof s->kube_version, "%s", K1S_KUBE_VERSION);
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    agent_http_global_init();
    if (agent_http_init(&h, cfg->server_url, cfg->token) != 0) {
        log_error("sim: cannot set up an HTTP client for %s", cfg->server_url);
        free(s);
        return 1;
    }
    while (agent_server_version(&h, s->kube_version, sizeof s->kube_version) !=
           0) {
        struct timespec sec = {1, 0};
        siginfo_t si;
        log_warn("sim: API server %s not answering; retrying", cfg->server_url);
        if (sigtimedwait(sigs, &si, &sec) > 0) {
            agent_http_close(&h);
            free(s);
            return 0;
        }
    }
    for (int i = 0; i < n; i++) {
        char name[300], err[256];
        struct agent_node_desc d;
        node_desc(s, i, name, sizeof name, &d);
        if (agent_node_register(&h, &d, err, sizeof err) == 0 &&
            agent_lease_renew(&h, name) == 0)
            registered++;
        else
            log_warn("sim: node %s: %s", name, err);
    }
    agent_http_close(&h);
    log_info("sim: %d of %d simulated nodes registered (%s-0 .. %s-%d)",
             registered, n, s->prefix, s->prefix, n - 1);
    pthread_create(&worker, NULL, worker_main, s);
    pthread_create(&watch, NULL, watch_main, s);
    pthread_create(&beat, NULL, beat_main, s);
    while (sigwait(sigs, &sig) != 0)
        ;
    log_info("sim: %s received, stopping (%ld pod reports sent)",
             strsignal(sig), s->reported);
    s->stop = 1;
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(beat, NULL);
    pthread_join(watch, NULL);
    pthread_join(worker, NULL);
    while (s->head) {
        struct job *j = s->head;
        s->head = j->next;
        json_decref(j->pod);
        free(j);
    }
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
    return 0;
}

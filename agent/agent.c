/*
 * DESIGN: the node agent — threads and the loop that runs pods.
 *
 *   agent-watch  LIST then WATCH /api/v1/pods?fieldSelector=spec.nodeName=N
 *                (allowWatchBookmarks); every event is queued for the sync
 *                thread; after each LIST a RESYNC marker carries the uids
 *                the server knows, so pods deleted while we were away are
 *                stopped. 410 Gone or a broken stream → re-list; server
 *                down → retry every second. Nothing else depends on it:
 *                running pods keep running while the API is away.
 *   agent-sync   owns every struct agent_pod: applies queued events,
 *                drives agent_pod_sync(), writes pod status with a
 *                strategic merge patch of pods/<name>/status, as the
 *                kubelet does (conditions merge by type, so the ones of
 *                readiness gates, set by others, stay), when it changed
 * (without waiting: up to 16 writes in flight, answers handled by the same
 * loop; retried until the server takes it), and when a terminating pod's
 * processes are gone confirms the deletion with gracePeriodSeconds=0 and a uid
 *                precondition.
 *   agent-beat   registers the Node, renews the Lease every 10 s, posts
 *                node status every minute (re-registers a deleted Node).
 *   agent-logs   the log server (logsrv.c).
 *
 * On start the sync thread adopts every pod directory under
 * DATA_DIR/pods (their processes were left running by the previous agent);
 * the first LIST decides which of them still exist.
 *
 * Lock order: only `qlock` (the event queue), never held across a call.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/agent_client.h"
#include "agent/agent_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/version.h"

#define MAX_PODS 1024
#define EVENT_QUEUE_CAP 100000

struct event {
    struct event *next;
    char type[16]; /* ADDED, MODIFIED, DELETED, RESYNC */
    json_t *obj;   /* the pod (agent_pod_keep: its spec is shared with the
                      watch thread's parse, which is safe as jansson's
                      reference counts are atomic and nobody modifies it),
                      or for RESYNC an array of uids */
};

struct entry {
    struct agent_pod *pod;
    char *last_sent; /* status the server has, as compact sorted JSON:
                        ~1 KiB, where a json_t tree would take ~5 */
    bool dirty;
    bool gone;        /* deleted from the API */
    bool unconfirmed; /* adopted, not yet seen in a LIST */
    bool inflight;    /* a status write is under way */
    int64_t retry_at;
};

struct agent {
    char server[512], token[1024], node[256], data_dir[PATH_MAX],
        pods_dir[PATH_MAX], ip[64], kube_version[64];
    size_t log_max;
    bool trim_heap;
    struct agent_caps caps;
    struct agent_timing timing;
    struct agent_pod_env env;
    struct agent_logsrv *logsrv;
    int port;
    volatile int stop;
    int wake[2];
    pthread_t sync_thr, watch_thr, beat_thr;
    pthread_mutex_t qlock;
    struct event *qhead, *qtail;
    size_t qlen;
    struct agent_http sync_http; /* owned by agent-sync */
    struct entry *pods; /* heap, grown as pods come (MAX_PODS at most) */
    size_t n_pods, cap_pods;
    size_t since_trim; /* events applied since the last malloc_trim */
};

static int64_t mono_ms(void)
{
    return clock_mono_ns() / 1000000;
}

/* Sleeps up to ms, returning early when the agent stops. */
static void pause_ms(struct agent *a, int ms)
{
    int64_t end = mono_ms() + ms;
    while (!a->stop && mono_ms() < end)
        poll(NULL, 0, 50);
}

static void wake_sync(struct agent *a)
{
    char c = 1;
    if (write(a->wake[1], &c, 1) < 0) {
        /* full pipe: it is awake already */
    }
}

static void enqueue(struct agent *a, const char *type, json_t *obj)
{
    struct event *e = calloc(1, sizeof *e);
    if (e == NULL) {
        json_decref(obj);
        return;
    }
    snprintf(e->type, sizeof e->type, "%s", type);
    e->obj = obj;
    pthread_mutex_lock(&a->qlock);
    if (a->qlen >= EVENT_QUEUE_CAP) {
        pthread_mutex_unlock(&a->qlock);
        log_warn("agent: event queue full, dropping %s", type);
        json_decref(obj);
        free(e);
        return;
    }
    if (a->qtail)
        a->qtail->next = e;
    else
        a->qhead = e;
    a->qtail = e;
    a->qlen++;
    pthread_mutex_unlock(&a->qlock);
    wake_sync(a);
}

/* ------------------------------------------------------------ objects */

static int get_object(void *arg, const char *kind, const char *ns,
                      const char *name, json_t **ret)
{
    struct agent *a = arg;
    char path[1024];
    int rv;

    snprintf(path, sizeof path, "/api/v1/namespaces/%s/%s/%s", ns, kind, name);
    rv = agent_http_call(&a->sync_http, "GET", path, NULL, NULL, 5000, ret);
    if (rv == 200)
        return 0;
    json_decref(*ret);
    *ret = NULL;
    return rv == 404 ? K1S_ENOTFOUND : rv < 0 ? rv : K1S_EIO;
}

/* ------------------------------------------------------------ watch */

struct watch_state {
    struct agent *a;
    char rv[64];
    bool expired;
    json_t *specs; /* uid -> the spec last passed on for that pod */
};

/* What is queued for a pod event: agent_pod_keep's part of it (the
 * server's status and managedFields are freed here and now), with the
 * spec replaced by the one passed on before for the same pod when they
 * are equal. A pod's spec hardly ever changes while every status write
 * comes back as a MODIFIED event, so the queue and the pods then share
 * one spec per pod rather than holding a parse of it per event. */
static json_t *keep_event_pod(json_t *specs, const char *type, json_t *obj)
{
    json_t *kept = agent_pod_keep(obj, NULL);
    const char *uid = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "uid"));
    json_t *spec = json_object_get(kept, "spec");
    json_t *prev = uid ? json_object_get(specs, uid) : NULL;

    if (kept == NULL || uid == NULL || spec == NULL)
        return kept;
    if (strcmp(type, "DELETED") == 0)
        json_object_del(specs, uid);
    else if (prev && prev != spec && json_equal(prev, spec))
        json_object_set(kept, "spec", prev); /* kept is ours alone */
    else
        json_object_set(specs, uid, spec);
    return kept;
}

static bool on_event(const json_t *ev, void *arg)
{
    struct watch_state *w = arg;
    const char *type = json_string_value(json_object_get(ev, "type"));
    json_t *obj = json_object_get(ev, "object");
    const char *rv = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "resourceVersion"));

    if (type == NULL || obj == NULL)
        return false;
    if (strcmp(type, "ERROR") == 0) {
        w->expired = true;
        return false;
    }
    if (rv)
        snprintf(w->rv, sizeof w->rv, "%s", rv);
    if (strcmp(type, "BOOKMARK") == 0)
        return !w->a->stop;
    enqueue(w->a, type, keep_event_pod(w->specs, type, obj));
    return !w->a->stop;
}

static void *watch_main(void *arg)
{
    struct agent *a = arg;
    struct agent_http h;
    struct watch_state w;
    char path[1024];

    pthread_setname_np(pthread_self(), "agent-watch");
    agent_http_init(&h, a->server, a->token);
    h.stop = &a->stop;
    memset(&w, 0, sizeof w);
    w.a = a;
    while (!a->stop) {
        json_t *list = NULL, *uids, *it, *specs;
        size_t i;
        int rv;

        snprintf(path, sizeof path,
                 "/api/v1/pods?fieldSelector=spec.nodeName%%3D%s", a->node);
        rv = agent_http_call(&h, "GET", path, NULL, NULL, 30000, &list);
        if (rv != 200) {
            json_decref(list);
            log_debug("agent: listing pods failed (%d); retrying", rv);
            pause_ms(a, 1000);
            continue;
        }
        /* The specs of the pods listed: a pod deleted meanwhile drops
         * out. */
        specs = json_object();
        uids = json_array();
        json_array_foreach (json_object_get(list, "items"), i, it) {
            json_t *kept = keep_event_pod(w.specs, "ADDED", it);
            const char *uid = json_string_value(
                json_object_get(json_object_get(it, "metadata"), "uid"));
            json_array_append(
                uids, json_object_get(json_object_get(it, "metadata"), "uid"));
            if (uid && json_object_get(kept, "spec"))
                json_object_set(specs, uid, json_object_get(kept, "spec"));
            enqueue(a, "ADDED", kept);
        }
        json_decref(w.specs);
        w.specs = specs;
        enqueue(a, "RESYNC", uids);
        snprintf(
            w.rv, sizeof w.rv, "%s",
            json_string_value(json_object_get(json_object_get(list, "metadata"),
                                              "resourceVersion"))
                ? json_string_value(json_object_get(
                      json_object_get(list, "metadata"), "resourceVersion"))
                : "0");
        json_decref(list);
        /* Watch from the list's revision until it ends or expires. */
        while (!a->stop) {
            w.expired = false;
            snprintf(path, sizeof path,
                     "/api/v1/pods?fieldSelector=spec.nodeName%%3D%s"
                     "&watch=true&allowWatchBookmarks=true"
                     "&timeoutSeconds=300&resourceVersion=%s",
                     a->node, w.rv);
            rv = agent_http_watch(&h, path, on_event, &w);
            if (w.expired || rv != 0)
                break;
        }
        if (!a->stop && rv != 0)
            pause_ms(a, 1000);
    }
    json_decref(w.specs);
    agent_http_close(&h);
    return NULL;
}

/* ------------------------------------------------------------ sync */

static struct entry *find(struct agent *a, const char *uid)
{
    for (size_t i = 0; i < a->n_pods; i++)
        if (strcmp(agent_pod_uid(a->pods[i].pod), uid) == 0)
            return &a->pods[i];
    return NULL;
}

/* A new, zeroed entry at the end, or NULL (ENOMEM). Entries move: a
 * pointer to one is good until the next add_entry. */
static struct entry *add_entry(struct agent *a)
{
    struct entry *e;

    if (a->n_pods == a->cap_pods) {
        size_t cap = a->cap_pods ? a->cap_pods * 2 : 16;
        e = realloc(a->pods, cap * sizeof *e);
        if (e == NULL)
            return NULL;
        a->pods = e;
        a->cap_pods = cap;
    }
    e = &a->pods[a->n_pods++];
    memset(e, 0, sizeof *e);
    return e;
}

static void drop(struct agent *a, struct entry *e)
{
    agent_pod_destroy(e->pod, true);
    free(e->last_sent);
    *e = a->pods[--a->n_pods];
    memset(&a->pods[a->n_pods], 0, sizeof a->pods[0]);
}

static int64_t deletion_grace_ms(struct agent *a, const json_t *pod)
{
    const json_t *g = json_object_get(json_object_get(pod, "metadata"),
                                      "deletionGracePeriodSeconds");
    return json_is_integer(g) ? json_integer_value(g) * a->timing.second_ms
                              : -1;
}

static void apply_event(struct agent *a, struct event *ev, int64_t now)
{
    const json_t *md = json_object_get(ev->obj, "metadata");
    const char *uid = json_string_value(json_object_get(md, "uid"));
    const char *phase = json_string_value(
        json_object_get(json_object_get(ev->obj, "status"), "phase"));
    struct entry *e;

    if (strcmp(ev->type, "RESYNC") == 0) {
        for (size_t i = 0; i < a->n_pods; i++) {
            bool known = false;
            const json_t *u;
            size_t k;
            json_array_foreach (ev->obj, k, u) {
                if (strcmp(json_string_value(u),
                           agent_pod_uid(a->pods[i].pod)) == 0)
                    known = true;
            }
            a->pods[i].unconfirmed = false;
            if (!known && !a->pods[i].gone) {
                log_info("agent: %s is no longer bound here; stopping it",
                         agent_pod_key(a->pods[i].pod));
                a->pods[i].gone = true;
                agent_pod_terminate(a->pods[i].pod, -1, now);
            }
        }
        return;
    }
    if (uid == NULL)
        return;
    e = find(a, uid);
    if (strcmp(ev->type, "DELETED") == 0) {
        if (e) {
            e->gone = true;
            agent_pod_terminate(e->pod, deletion_grace_ms(a, ev->obj), now);
        }
        return;
    }
    if (e == NULL) {
        struct agent_pod *p;
        int rv;
        /* A finished pod we no longer know: nothing to run. */
        if (phase &&
            (strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0))
            return;
        if (json_object_get(md, "deletionTimestamp")) {
            /* Never started here: confirm at once. */
            char path[1024];
            json_t *body = json_pack("{s:i,s:{s:s}}", "gracePeriodSeconds", 0,
                                     "preconditions", "uid", uid);
            snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s",
                     json_string_value(json_object_get(md, "namespace")),
                     json_string_value(json_object_get(md, "name")));
            agent_http_call(&a->sync_http, "DELETE", path, NULL, body, 5000,
                            NULL);
            json_decref(body);
            return;
        }
        if (a->n_pods >= MAX_PODS) {
            log_warn("agent: too many pods (%d); ignoring %s", MAX_PODS, uid);
            return;
        }
        rv = agent_pod_create(&a->env, ev->obj, &p);
        if (rv != 0) {
            log_warn("agent: cannot run pod %s: %s", uid, err_str(rv));
            return;
        }
        e = add_entry(a);
        if (e == NULL) {
            agent_pod_destroy(p, false);
            return;
        }
        e->pod = p;
        e->dirty = true;
        log_info("agent: pod %s (%s) bound here", agent_pod_key(p), uid);
    } else {
        agent_pod_update(e->pod, ev->obj);
    }
    if (json_object_get(md, "deletionTimestamp"))
        agent_pod_terminate(e->pod, deletion_grace_ms(a, ev->obj), now);
}

static void split_key(const char *key, char *ns, size_t nl, char *name,
                      size_t nml)
{
    const char *s = strchr(key, '/');
    snprintf(ns, nl, "%.*s", s ? (int)(s - key) : 0, key);
    snprintf(name, nml, "%s", s ? s + 1 : key);
}

/* A status write under way: which pod, and what it sends. */
struct pending {
    char uid[128];
    char phase[16];
    char *sent; /* the status as compact sorted JSON */
};

static void status_done(void *tag, int status, void *arg)
{
    struct agent *a = arg;
    struct pending *pd = tag;
    struct entry *e = find(a, pd->uid);

    if (e) {
        e->inflight = false;
        if (status == 200) {
            log_debug("agent: status of %s written (%s)", agent_pod_key(e->pod),
                      pd->phase);
            free(e->last_sent);
            e->last_sent = pd->sent;
            pd->sent = NULL;
        } else if (status == 404) {
            e->dirty = false; /* gone: the watch says so soon */
        } else {
            e->dirty = true;
            e->retry_at = mono_ms() + 1000;
        }
    }
    free(pd->sent);
    free(pd);
}

/* Starts a status write for every pod whose status changed, without
 * waiting: writes proceed while other pods start, and several share the
 * server's commits. A pod has at most one write under way. */
static void push_statuses(struct agent *a, int64_t now)
{
    for (size_t i = 0; i < a->n_pods; i++) {
        struct entry *e = &a->pods[i];
        struct agent_http_req r;
        struct pending *pd;
        char ns[256], name[256], *sent;
        json_t *st;
        int rv;

        if (!e->dirty || e->inflight || e->gone || now < e->retry_at ||
            agent_pod_terminated(e->pod))
            continue;
        if (agent_http_async_busy(&a->sync_http) >= AGENT_HTTP_ASYNC_SLOTS)
            return;
        st = agent_pod_status(e->pod);
        sent = json_dumps(st, JSON_COMPACT | JSON_SORT_KEYS);
        if (sent && e->last_sent && strcmp(sent, e->last_sent) == 0) {
            free(sent);
            json_decref(st);
            e->dirty = false;
            continue;
        }
        pd = calloc(1, sizeof *pd);
        if (pd == NULL || sent == NULL) {
            free(pd);
            free(sent);
            json_decref(st);
            return;
        }
        snprintf(pd->uid, sizeof pd->uid, "%s", agent_pod_uid(e->pod));
        snprintf(pd->phase, sizeof pd->phase, "%s",
                 json_string_value(json_object_get(st, "phase"))
                     ? json_string_value(json_object_get(st, "phase"))
                     : "");
        pd->sent = sent;
        split_key(agent_pod_key(e->pod), ns, sizeof ns, name, sizeof name);
        memset(&r, 0, sizeof r);
        r.method = "PATCH";
        snprintf(r.path, sizeof r.path, "/api/v1/namespaces/%s/pods/%s/status",
                 ns, name);
        r.ctype = "application/strategic-merge-patch+json";
        r.body = json_pack("{s:{s:s},s:O}", "metadata", "uid", pd->uid,
                           "status", st);
        rv = agent_http_async_start(&a->sync_http, &r, pd);
        json_decref(r.body);
        json_decref(st);
        if (rv != 0) {
            free(pd->sent);
            free(pd);
            return;
        }
        e->inflight = true;
        e->dirty = false;
    }
}

static void confirm_deletion(struct agent *a, struct entry *e)
{
    char ns[256], name[256], path[1024];
    json_t *body;
    int rv;

    if (!e->gone) {
        split_key(agent_pod_key(e->pod), ns, sizeof ns, name, sizeof name);
        snprintf(path, sizeof path, "/api/v1/namespaces/%s/pods/%s", ns, name);
        body = json_pack("{s:i,s:{s:s}}", "gracePeriodSeconds", 0,
                         "preconditions", "uid", agent_pod_uid(e->pod));
        rv = agent_http_call(&a->sync_http, "DELETE", path, NULL, body, 5000,
                             NULL);
        json_decref(body);
        if (rv != 200 && rv != 202 && rv != 404 && rv != 409) {
            e->retry_at = mono_ms() + 1000;
            return;
        }
    }
    log_info("agent: pod %s stopped and removed", agent_pod_key(e->pod));
    drop(a, e);
}

static void adopt_all(struct agent *a)
{
    DIR *d = opendir(a->pods_dir);
    struct dirent *de;

    while (d && (de = readdir(d)) != NULL && a->n_pods < MAX_PODS) {
        char dir[PATH_MAX];
        json_t *pod;
        struct agent_pod *p;

        if (de->d_name[0] == '.')
            continue;
        snprintf(dir, sizeof dir, "%s/%s", a->pods_dir, de->d_name);
        pod = agent_pod_load(dir);
        if (pod == NULL)
            continue;
        if (agent_pod_create(&a->env, pod, &p) == 0) {
            struct entry *e = add_entry(a);
            if (e == NULL) {
                agent_pod_destroy(p, false);
                json_decref(pod);
                break;
            }
            e->pod = p;
            e->dirty = true;
            e->unconfirmed = true;
            log_info("agent: adopting pod %s from %s", agent_pod_key(p), dir);
        }
        json_decref(pod);
    }
    if (d)
        closedir(d);
}

static void *sync_main(void *arg)
{
    struct agent *a = arg;

    pthread_setname_np(pthread_self(), "agent-sync");
    adopt_all(a);
    while (!a->stop) {
        struct event *q;
        int64_t now = mono_ms(), wake = now + 500;
        char drain[64];

        pthread_mutex_lock(&a->qlock);
        q = a->qhead;
        a->qhead = a->qtail = NULL;
        a->qlen = 0;
        pthread_mutex_unlock(&a->qlock);
        if (q == NULL && a->trim_heap && a->since_trim >= 64) {
            /* A burst is over (pods created, a re-list): give the pages
             * its events and answers used back to the kernel; glibc keeps
             * free memory below the top of a heap otherwise. */
            malloc_trim(0);
            a->since_trim = 0;
        }
        while (q) {
            struct event *next = q->next;
            apply_event(a, q, now);
            json_decref(q->obj);
            free(q);
            q = next;
            a->since_trim++;
        }
        for (size_t i = 0, fresh = 0; i < a->n_pods;) {
            struct entry *e = &a->pods[i];
            int64_t w;
            if (agent_pod_sync(e->pod, now)) {
                e->dirty = true;
                /* During a burst of starts, begin the status writes every
                 * few pods rather than after the whole burst. */
                if (++fresh % 4 == 0) {
                    agent_http_async_poll(&a->sync_http, status_done, a);
                    push_statuses(a, now);
                }
            }
            if (agent_pod_terminated(e->pod)) {
                if (now >= e->retry_at) {
                    size_t before = a->n_pods;
                    confirm_deletion(a, e);
                    if (a->n_pods < before)
                        continue; /* e now holds the next pod */
                }
                i++;
                continue;
            }
            w = agent_pod_next_wake(e->pod, now);
            if (w < wake)
                wake = w;
            if (e->dirty && e->retry_at < wake && e->retry_at > now)
                wake = e->retry_at;
            i++;
        }
        agent_http_async_poll(&a->sync_http, status_done, a);
        push_statuses(a, now);
        {
            int64_t t = wake - mono_ms();
            if (t < 5)
                t = 5;
            /* Wakes for an event, a status answer or the next pod wake. */
            agent_http_async_wait(&a->sync_http, a->wake[0], (int)t);
            while (read(a->wake[0], drain, sizeof drain) > 0)
                ;
            agent_http_async_poll(&a->sync_http, status_done, a);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------ heartbeat */

static void *beat_main(void *arg)
{
    struct agent *a = arg;
    struct agent_http h;
    struct agent_node_desc d;
    char err[256];
    bool registered = false;
    int64_t next_lease = 0, next_status = 0;

    pthread_setname_np(pthread_self(), "agent-beat");
    agent_http_init(&h, a->server, a->token);
    h.stop = &a->stop;
    memset(&d, 0, sizeof d);
    d.name = a->node;
    d.ip = a->ip;
    d.port = a->port;
    d.data_dir = a->data_dir;
    d.kube_version = a->kube_version;
    clock_rfc3339(clock_real_ns(), d.since, sizeof d.since);
    while (!a->stop) {
        int64_t now = mono_ms();
        if (!registered) {
            if (agent_server_version(&h, a->kube_version,
                                     sizeof a->kube_version) == 0 &&
                agent_node_register(&h, &d, err, sizeof err) == 0) {
                registered = true;
                next_status = now + 60000;
                log_info("agent: node %s registered (%s, logs on %s:%d)",
                         a->node, a->kube_version, a->ip, a->port);
            } else {
                pause_ms(a, 1000);
                continue;
            }
        }
        if (now >= next_lease) {
            int rv = agent_lease_renew(&h, a->node);
            next_lease = now + (rv == 0 ? 10000 : 1000);
        }
        if (now >= next_status) {
            int rv = agent_node_post_status(&h, &d, err, sizeof err);
            if (rv == K1S_ENOTFOUND)
                registered = false; /* deleted: register again */
            next_status = now + (rv == 0 ? 60000 : 2000);
        }
        pause_ms(a, 200);
    }
    agent_http_close(&h);
    return NULL;
}

/* ------------------------------------------------------------ start/stop */

int agent_start(const struct agent_config *cfg, struct agent **ret, char *err,
                size_t errlen)
{
    struct agent *a;
    char line[512];
    int rv;

    if (cfg->server_url == NULL || cfg->data_dir == NULL) {
        snprintf(err, errlen, "agent: --server and --data-dir are required");
        return K1S_EINVAL;
    }
    a = calloc(1, sizeof *a);
    if (a == NULL)
        return K1S_ENOMEM;
    snprintf(a->server, sizeof a->server, "%s", cfg->server_url);
    snprintf(a->token, sizeof a->token, "%s", cfg->token ? cfg->token : "");
    if (cfg->node_name && cfg->node_name[0])
        snprintf(a->node, sizeof a->node, "%s", cfg->node_name);
    else if (gethostname(a->node, sizeof a->node - 1) != 0)
        snprintf(a->node, sizeof a->node, "k1s-node");
    snprintf(a->ip, sizeof a->ip, "%s",
             cfg->node_ip ? cfg->node_ip : "127.0.0.1");
    snprintf(a->data_dir, sizeof a->data_dir, "%s", cfg->data_dir);
    snprintf(a->pods_dir, sizeof a->pods_dir, "%s/pods", cfg->data_dir);
    snprintf(a->kube_version, sizeof a->kube_version, "%s", K1S_KUBE_VERSION);
    a->log_max = cfg->log_max_bytes ? cfg->log_max_bytes : 10u << 20;
    a->trim_heap = cfg->trim_heap;
    rv = fs_mkdir_p(a->pods_dir, 0700);
    if (rv != 0) {
        snprintf(err, errlen, "agent: cannot create %s: %s", a->pods_dir,
                 err_str(rv));
        goto err_after_alloc;
    }
    agent_caps_detect(&a->caps, a->node, line, sizeof line);
    log_info("agent: runtime: %s", line);
    agent_timing_default(&a->timing);
    a->env.caps = &a->caps;
    a->env.timing = &a->timing;
    a->env.pods_dir = a->pods_dir;
    a->env.node_name = a->node;
    a->env.host_ip = a->ip;
    a->env.log_max_bytes = a->log_max;
    a->env.get_object = get_object;
    a->env.get_object_arg = a;
    agent_http_global_init();
    rv = agent_http_init(&a->sync_http, a->server, a->token);
    if (rv != 0)
        goto err_after_alloc;
    a->sync_http.stop = &a->stop;
    if (pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        rv = err_from_errno(errno);
        goto err_after_http;
    }
    pthread_mutex_init(&a->qlock, NULL);
    rv =
        agent_logsrv_start(a->ip, cfg->port, a->pods_dir, &a->logsrv, &a->port);
    if (rv != 0) {
        snprintf(err, errlen, "agent: cannot serve logs on %s:%d: %s", a->ip,
                 cfg->port, err_str(rv));
        goto err_after_pipe;
    }
    if (pthread_create(&a->sync_thr, NULL, sync_main, a) != 0) {
        rv = K1S_ENOMEM;
        goto err_after_logsrv;
    }
    if (pthread_create(&a->watch_thr, NULL, watch_main, a) != 0) {
        rv = K1S_ENOMEM;
        goto err_after_sync;
    }
    if (pthread_create(&a->beat_thr, NULL, beat_main, a) != 0) {
        rv = K1S_ENOMEM;
        goto err_after_watch;
    }
    log_info("agent: node %s, server %s, data %s", a->node, a->server,
             a->data_dir);
    *ret = a;
    return 0;

err_after_watch:
    a->stop = 1;
    pthread_join(a->watch_thr, NULL);
err_after_sync:
    a->stop = 1;
    wake_sync(a);
    pthread_join(a->sync_thr, NULL);
err_after_logsrv:
    agent_logsrv_stop(a->logsrv);
err_after_pipe:
    close(a->wake[0]);
    close(a->wake[1]);
    pthread_mutex_destroy(&a->qlock);
err_after_http:
    agent_http_close(&a->sync_http);
err_after_alloc:
    if (err[0] == '\0')
        snprintf(err, errlen, "agent: %s", err_str(rv));
    for (size_t i = 0; i < a->n_pods; i++) { /* adopted: left running */
        agent_pod_destroy(a->pods[i].pod, false);
        free(a->pods[i].last_sent);
    }
    free(a->pods);
    free(a);
    return rv;
}

void agent_stop(struct agent *a)
{
    struct event *q;

    if (a == NULL)
        return;
    a->stop = 1;
    wake_sync(a);
    pthread_join(a->beat_thr, NULL);
    pthread_join(a->watch_thr, NULL);
    pthread_join(a->sync_thr, NULL);
    agent_logsrv_stop(a->logsrv);
    agent_http_async_cancel(&a->sync_http, status_done, a);
    /* Pods keep running: their state stays on disk for the next agent. */
    for (size_t i = 0; i < a->n_pods; i++) {
        agent_pod_destroy(a->pods[i].pod, false);
        free(a->pods[i].last_sent);
    }
    free(a->pods);
    for (q = a->qhead; q;) {
        struct event *n = q->next;
        json_decref(q->obj);
        free(q);
        q = n;
    }
    close(a->wake[0]);
    close(a->wake[1]);
    pthread_mutex_destroy(&a->qlock);
    agent_http_close(&a->sync_http);
    free(a);
}

/* ------------------------------------------------------------ k1s agent */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: k1s agent --server URL [flags]\n"
            "\n"
            "Runs a node agent: registers a Node, renews its Lease and runs "
            "the pods\nbound to it as host processes.\n"
            "\n"
            "Flags:\n"
            "  --server URL       the API server (http://127.0.0.1:6443)\n"
            "  --token T          bearer token\n"
            "  --node-name N      this node's name (default: the hostname)\n"
            "  --data-dir D       pods, logs, volumes (default "
            "/var/lib/k1s-agent)\n"
            "  --node-ip IP       InternalIP to publish (default 127.0.0.1)\n"
            "  --port N           log server port (default 0: any free "
            "port)\n"
            "  --log-max-bytes N  per-container log file cap (default 10 "
            "MiB)\n"
            "  --simulate N       register N simulated nodes instead; their "
            "pods are\n"
            "                     reported Running and Ready without running "
            "anything\n"
            "  --log-level L      error, warn, info (default) or debug\n"
            "  -h, --help         this text\n");
}

int agent_main(int argc, char **argv)
{
    enum {
        O_SERVER = 256,
        O_TOKEN,
        O_NODE,
        O_DATA,
        O_IP,
        O_PORT,
        O_LOGMAX,
        O_SIM,
        O_LEVEL
    };
    static const struct option longopts[] = {
        {"server", required_argument, NULL, O_SERVER},
        {"token", required_argument, NULL, O_TOKEN},
        {"node-name", required_argument, NULL, O_NODE},
        {"data-dir", required_argument, NULL, O_DATA},
        {"node-ip", required_argument, NULL, O_IP},
        {"port", required_argument, NULL, O_PORT},
        {"log-max-bytes", required_argument, NULL, O_LOGMAX},
        {"simulate", required_argument, NULL, O_SIM},
        {"log-level", required_argument, NULL, O_LEVEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct agent_config cfg;
    struct agent *a = NULL;
    enum log_level level;
    char err[512] = "", *end;
    long v;
    int c, simulate = 0, sig = 0;
    sigset_t sigs;

    /* A few threads, little memory: glibc's per-thread arenas would
     * otherwise keep megabytes each. */
    mallopt(M_ARENA_MAX, 2);
    memset(&cfg, 0, sizeof cfg);
    cfg.data_dir = "/var/lib/k1s-agent";
    cfg.trim_heap = true;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_SERVER:
            cfg.server_url = optarg;
            break;
        case O_TOKEN:
            cfg.token = optarg;
            break;
        case O_NODE:
            cfg.node_name = optarg;
            break;
        case O_DATA:
            cfg.data_dir = optarg;
            break;
        case O_IP:
            cfg.node_ip = optarg;
            break;
        case O_PORT:
        case O_LOGMAX:
        case O_SIM:
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || *end || v < 0 || (c == O_PORT && v > 65535) ||
                (c == O_SIM && (v < 1 || v > 100000))) {
                fprintf(stderr, "k1s agent: bad number '%s'\n", optarg);
                return 2;
            }
            if (c == O_PORT)
                cfg.port = (int)v;
            else if (c == O_LOGMAX)
                cfg.log_max_bytes = (size_t)v;
            else
                simulate = (int)v;
            break;
        case O_LEVEL:
            if (log_parse_level(optarg, &level) != 0) {
                fprintf(stderr, "k1s agent: bad --log-level '%s'\n", optarg);
                return 2;
            }
            log_set_level(level);
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc || cfg.server_url == NULL) {
        usage(stderr);
        return 2;
    }
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (simulate > 0)
        return agent_sim_main(&cfg, simulate, &sigs);
    if (agent_start(&cfg, &a, err, sizeof err) != 0) {
        log_error("%s", err);
        return 1;
    }
    while (sigwait(&sigs, &sig) != 0)
        ;
    log_info("agent: %s received, stopping (pods keep running)",
             strsignal(sig));
    agent_stop(a);
    return 0;
}

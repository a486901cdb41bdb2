/*
 * controllers — the controller manager of `k1s server` and the machinery
 * every in-process control loop shares (the scheduler uses it too):
 *
 *   struct ctrl_api       how a loop talks to the API server: the in-process
 *                         client (api_call/api_watch_*), or a fake in unit
 *                         tests. Every read and write goes through it, so
 *                         admission and validation are never bypassed.
 *   struct ctrl_map       a string-keyed hash map (not thread-safe).
 *   struct ctrl_wq        a de-duplicating, rate-limited work queue (client-
 *                         go's workqueue): a key is queued at most once and
 *                         never handed to two workers at the same time.
 *   struct ctrl_informer  list + watch of one resource into a local cache,
 *                         relist on 410 / watch end, periodic resync,
 *                         handlers called on add/update/delete.
 *   struct ctrl_events    an Event recorder with its own thread that
 *                         de-duplicates like client-go's EventCorrelator
 *                         (count + lastTimestamp on a repeat).
 *   struct ctrl_manager   starts ReplicaSet, Deployment, garbage collector,
 *                         namespace and node-lifecycle controllers.
 *
 * Threads: informers own one thread each; handlers run on it and must only
 * enqueue. Controllers own their worker threads. No lock is held across a
 * call to the API or to a handler (STYLE.md "Threads").
 *
 * Ownership: json_t values handed out by an informer are shared and must be
 * treated as read-only (json_deep_copy before changing one).
 */
#ifndef K1S_CONTROLLERS_CONTROLLERS_H
#define K1S_CONTROLLERS_CONTROLLERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct api_server;

/* ------------------------------------------------------------ API client */

/* Same contract as api_watch_cb in apiserver/apiserver.h. */
typedef void (*ctrl_watch_cb)(const char *type, const json_t *object,
                              void *arg);

struct ctrl_api {
    /* Returns the HTTP status or a negative K1S_E*; *ret_body (may be
     * NULL) gets a new reference. */
    int (*call)(void *ctx, const char *method, const char *path,
                const char *content_type, const json_t *body,
                json_t **ret_body);
    /* cb: see api_watch_start (exactly once with type == NULL at the end,
     * unless watch_stop was called). */
    int (*watch_start)(void *ctx, const char *path, ctrl_watch_cb cb, void *arg,
                       void **ret_watch);
    void (*watch_stop)(void *watch); /* NULL ok */
    void *ctx;
};

/* Fills *ret with the in-process client of `srv` (borrowed; outlives every
 * user of *ret). */
void ctrl_api_for_server(struct api_server *srv, struct ctrl_api *ret);

/* ------------------------------------------------------------ map */

struct ctrl_map;
struct ctrl_map *ctrl_map_create(void); /* NULL on ENOMEM */
/* Frees the map; free_cb (may be NULL) is called on every value. */
void ctrl_map_destroy(struct ctrl_map *m, void (*free_cb)(void *));
void *ctrl_map_get(const struct ctrl_map *m, const char *key);
/* Sets key (copied) to val; *ret_old (may be NULL) gets the previous value
 * or NULL. Returns 0 or K1S_ENOMEM. */
int ctrl_map_put(struct ctrl_map *m, const char *key, void *val,
                 void **ret_old);
/* Removes key; returns its value or NULL. */
void *ctrl_map_del(struct ctrl_map *m, const char *key);
size_t ctrl_map_len(const struct ctrl_map *m);
/* Calls cb for each entry; stops when cb returns non-zero. The map must
 * not be changed during the walk. */
void ctrl_map_each(const struct ctrl_map *m,
                   int (*cb)(const char *key, void *val, void *arg), void *arg);

/* ------------------------------------------------------------ work queue */

struct ctrl_wq;
int ctrl_wq_create(const char *name, struct ctrl_wq **ret);
void ctrl_wq_destroy(struct ctrl_wq *q); /* NULL ok; after shutdown */
/* Queues key unless it is already queued (a key being processed is queued
 * again after ctrl_wq_done). Never blocks. */
void ctrl_wq_add(struct ctrl_wq *q, const char *key);
void ctrl_wq_add_after(struct ctrl_wq *q, const char *key, int64_t delay_ns);
/* Queues key at once if it was last handed out interval_ns ago or more
 * (or never), else for interval_ns after that: a burst of changes costs
 * one reconcile per interval. A queued key stays as it is. */
void ctrl_wq_add_coalesced(struct ctrl_wq *q, const char *key,
                           int64_t interval_ns);
/* Per-key exponential back-off: 5 ms doubling up to 60 s. */
void ctrl_wq_add_rate_limited(struct ctrl_wq *q, const char *key);
void ctrl_wq_forget(struct ctrl_wq *q, const char *key);
int ctrl_wq_failures(struct ctrl_wq *q, const char *key);
/* Blocks until a key is ready; *ret_key is heap (free it after
 * ctrl_wq_done). Returns 0 or K1S_ESHUTDOWN. */
int ctrl_wq_get(struct ctrl_wq *q, char **ret_key);
void ctrl_wq_done(struct ctrl_wq *q, const char *key);
/* Wakes every ctrl_wq_get with K1S_ESHUTDOWN; later adds are ignored. */
void ctrl_wq_shutdown(struct ctrl_wq *q);
size_t ctrl_wq_len(struct ctrl_wq *q); /* queued and ready */

/* ------------------------------------------------------------ informer */

struct ctrl_informer;

/* Called on the informer's thread. old/new are borrowed for the call; on
 * add old == NULL, on delete new == NULL, on resync old == new. */
typedef void (*ctrl_informer_cb)(void *arg, const json_t *old_obj,
                                 const json_t *new_obj);

/* path: the list path, e.g. "/api/v1/pods" or
 * "/api/v1/namespaces/kube-node-lease/leases". resync_ns: 0 = never. */
int ctrl_informer_create(const struct ctrl_api *api, const char *path,
                         int64_t resync_ns, struct ctrl_informer **ret);
/* Before start only. Up to 8 handlers. */
int ctrl_informer_add_handler(struct ctrl_informer *inf, ctrl_informer_cb cb,
                              void *arg);
/* Sharing an informer another component owns (client-go's shared
 * informers): adds a handler at any time, also to a running informer —
 * what it has cached then reaches cb as adds before any later event.
 * Attached handlers get no resyncs. K1S_EINVAL when 8 are attached. */
int ctrl_informer_attach(struct ctrl_informer *inf, ctrl_informer_cb cb,
                         void *arg);
/* Removes the handler; cb is not called after this returns. Must not be
 * called from a handler of the same informer. NULL ok. */
void ctrl_informer_detach(struct ctrl_informer *inf, ctrl_informer_cb cb,
                          void *arg);
int ctrl_informer_start(struct ctrl_informer *inf);
void ctrl_informer_stop(struct ctrl_informer *inf);    /* idempotent */
void ctrl_informer_destroy(struct ctrl_informer *inf); /* NULL ok */
/* Waits up to timeout_ns for the first list; true when synced. */
bool ctrl_informer_wait_synced(struct ctrl_informer *inf, int64_t timeout_ns);
bool ctrl_informer_synced(struct ctrl_informer *inf);
/* key: "namespace/name" or "name". New reference or NULL. */
json_t *ctrl_informer_get(struct ctrl_informer *inf, const char *key);
/* A new array of (shared) objects, optionally only of one namespace and
 * only those `filter` (may be NULL) accepts. */
json_t *ctrl_informer_list(struct ctrl_informer *inf, const char *ns,
                           bool (*filter)(const json_t *obj, void *arg),
                           void *arg);
/* Before start: cache only apiVersion, kind and the identity and
 * ownership fields of metadata (name, namespace, uid, resourceVersion,
 * ownerReferences, finalizers, deletionTimestamp,
 * deletionGracePeriodSeconds) — a slimmer client-go metadata informer, for
 * the garbage collector, which reads nothing else: 10,000 ConfigMaps cost
 * it a few MB instead of their whole bodies. Handlers then see those
 * partial objects too. `keep` (may be NULL): only objects it accepts are
 * cached; one it stops accepting leaves the cache as if deleted (handlers
 * see a delete). K1S_EINVAL once started. */
int ctrl_informer_set_metadata_only(struct ctrl_informer *inf,
                                    bool (*keep)(const json_t *obj));

/* One secondary index (client-go's Indexer), before start: fn returns the
 * object's index value (written into buf, or a borrowed string) or NULL
 * for none. Errors: K1S_EINVAL (started, or an index already set). */
int ctrl_informer_set_index(struct ctrl_informer *inf,
                            const char *(*fn)(const json_t *obj, char *buf,
                                              size_t len));
/* A new array of the (shared) objects whose index value is `value`,
 * optionally of one namespace. */
json_t *ctrl_informer_by_index(struct ctrl_informer *inf, const char *value,
                               const char *ns);
/* Number of lists done (1 after the first; grows on every relist). */
unsigned ctrl_informer_lists(struct ctrl_informer *inf);

/* ------------------------------------------------------------ parallel */

/* Runs fn(arg, 0) .. fn(arg, n - 1) on up to `workers` short-lived threads
 * (client-go's workqueue.ParallelizeUntil): concurrent API writes share the
 * store's group commit instead of paying one fsync each. Returns the
 * number of calls that returned non-zero. fn must be thread-safe. */
int ctrl_parallel(int n, int workers, int (*fn)(void *arg, int i), void *arg);

/* ------------------------------------------------------------ objects */

/* "ns/name" (or "name" for cluster-scoped objects) into buf. */
const char *ctrl_obj_key(const json_t *obj, char *buf, size_t len);
/* Borrowed string at a dotted path ("metadata.name"), or NULL. */
const char *ctrl_jstr(const json_t *obj, const char *path);
/* Borrowed value at a dotted path, or NULL. */
json_t *ctrl_jget(const json_t *obj, const char *path);
/* Integer at a dotted path, or def when absent / not an integer. */
int64_t ctrl_jint(const json_t *obj, const char *path, int64_t def);
/* The controller ownerReference of obj (borrowed) or NULL. */
const json_t *ctrl_controller_ref(const json_t *obj);
/* metav1 LabelSelector (matchLabels + matchExpressions) against labels.
 * An empty selector matches everything; NULL selector matches nothing
 * (as labels.Nothing()). Bad operators match nothing. */
bool ctrl_selector_matches(const json_t *selector, const json_t *labels);
/* pod helpers */
bool ctrl_pod_is_ready(const json_t *pod);
/* Ready and Ready since at least min_ready_s seconds before now_ns. */
bool ctrl_pod_is_available(const json_t *pod, int64_t min_ready_s,
                           int64_t now_ns);
/* Not Succeeded/Failed and not being deleted. */
bool ctrl_pod_is_active(const json_t *pod);
/* RFC 3339 timestamp of now into buf (21 bytes). */
const char *ctrl_now(char *buf, size_t len);
/* Seconds since the epoch of an RFC 3339 string; 0 if absent/bad. */
int64_t ctrl_time_ns(const char *rfc3339);
/* Sets condition `type` in the array at obj.status.conditions (created when
 * missing): lastTransitionTime changes only when status changes. Returns
 * true when anything changed. update_time: also set lastUpdateTime (the
 * Deployment condition shape) / lastProbeTime: null (the Pod shape). */
bool ctrl_set_condition(json_t *obj, const char *type, const char *status,
                        const char *reason, const char *message,
                        bool deployment_shape);
const json_t *ctrl_get_condition(const json_t *obj, const char *type);

/* ------------------------------------------------------------ events */

struct ctrl_events;
int ctrl_events_start(const struct ctrl_api *api, struct ctrl_events **ret);
void ctrl_events_stop(struct ctrl_events *ev); /* NULL ok; frees */
/* Queues an Event about `obj` (borrowed) from `component`; never blocks;
 * dropped when 4096 are already waiting. type: "Normal" or "Warning". */
void ctrl_event(struct ctrl_events *ev, const json_t *obj,
                const char *component, const char *type, const char *reason,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ------------------------------------------------------------ manager */

struct ctrl_config {
    int64_t node_grace_ns;          /* node-monitor-grace-period, 40 s */
    int64_t default_toleration_ns;  /* not-ready/unreachable, 300 s */
    int64_t node_monitor_period_ns; /* 5 s */
    int workers;                    /* per controller, default 2 */
};

struct ctrl_manager;
/* Starts every controller; cfg may be NULL (defaults). api is copied.
 * Errors: K1S_ENOMEM. */
int ctrl_manager_start(const struct ctrl_api *api,
                       const struct ctrl_config *cfg,
                       struct ctrl_manager **ret);
/* Stops and joins every thread, frees. NULL ok. */
void ctrl_manager_stop(struct ctrl_manager *m);
/* The manager's informer of all pods or all nodes (which: "pods",
 * "nodes"), for another component to attach to (the scheduler), so that
 * the server caches each pod once; borrowed, valid until
 * ctrl_manager_stop, NULL for another name or m NULL. */
struct ctrl_informer *ctrl_manager_informer(struct ctrl_manager *m,
                                            const char *which);

#endif

/*
 * ctrl_int — internals shared by the controllers and their unit tests: the
 * pure rollout and replica arithmetic of the ReplicaSet and Deployment
 * controllers (pkg/controller/deployment/util, pkg/controller
 * controller_utils.go), and the controller registry of the manager.
 * Nothing here locks or calls the API; json_t arguments are borrowed.
 */
#ifndef K1S_CONTROLLERS_CTRL_INT_H
#define K1S_CONTROLLERS_CTRL_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "controllers/controllers.h"

#define CTRL_REVISION_ANN "deployment.kubernetes.io/revision"
#define CTRL_DESIRED_ANN "deployment.kubernetes.io/desired-replicas"
#define CTRL_MAX_ANN "deployment.kubernetes.io/max-replicas"
#define CTRL_HISTORY_ANN "deployment.kubernetes.io/revision-history"
#define CTRL_HASH_LABEL "pod-template-hash"
#define CTRL_BURST_REPLICAS 500

/* intstr.GetScaledValueFromIntOrPercent: an integer, or "N%" of total
 * rounded up or down. Errors: K1S_EINVALID (bad string). NULL -> def. */
int ctrl_scaled_value(const json_t *v, int64_t total, bool round_up,
                      int64_t def, int64_t *ret);

/* deploymentutil.ResolveFenceposts: surge rounds up, unavailable down; if
 * both are 0, unavailable becomes 1. Defaults 25%/25%. */
void ctrl_resolve_fenceposts(const json_t *max_surge,
                             const json_t *max_unavailable, int64_t desired,
                             int64_t *ret_surge, int64_t *ret_unavailable);

/* controller.ComputeHash in spirit: FNV-1a (32 bit) over the template's
 * canonical JSON (sorted keys, compact) and, when collision_count > 0, its
 * 4 little-endian bytes; the decimal value written with rand's
 * SafeEncodeString alphabet. out: at least 16 bytes. */
void ctrl_template_hash(const json_t *tmpl, int64_t collision_count, char *out,
                        size_t len);

/* EqualIgnoreHash: templates equal once the pod-template-hash label is
 * removed from both. */
bool ctrl_templates_equal(const json_t *a, const json_t *b);

/* NewRSNewReplicas for RollingUpdate. */
int64_t ctrl_rolling_new_replicas(int64_t desired, int64_t surge,
                                  int64_t all_replicas,
                                  int64_t new_rs_replicas);

/* One ReplicaSet as the proportional scaler sees it. */
struct ctrl_rs_size {
    int64_t replicas;      /* spec.replicas */
    int64_t created_ns;    /* creationTimestamp */
    int64_t annotated_max; /* max-replicas annotation, -1 if absent */
    int64_t new_size;      /* out */
};
/* DeploymentController.scale for several active ReplicaSets during a
 * RollingUpdate: distributes desired+surge - sum(replicas) in proportion
 * to each set's size (getReplicaSetFraction, GetProportion), the leftover
 * to the largest; sets new_size of each. */
void ctrl_proportional_scale(struct ctrl_rs_size *rs, size_t n, int64_t desired,
                             int64_t surge, int64_t status_replicas);

/* Sorts pods (an array) into deletion order, best to delete first
 * (controller.ActivePodsWithRanks): unassigned < assigned; Pending <
 * Unknown < Running; not ready < ready; more pods of the set on the same
 * node first; ready more recently first; more restarts first; newer
 * first. */
void ctrl_sort_pods_for_deletion(json_t *pods);

/* Slow start: creates happen in batches of 1, 2, 4, ... capped by what is
 * left; the batch that follows `done` creates. */
int64_t ctrl_slow_start_batch(int64_t done, int64_t remaining);

/* ReplicaSet status from the active pods it owns: replicas,
 * fullyLabeledReplicas (labels match the template's), readyReplicas,
 * availableReplicas (Ready for minReadySeconds), observedGeneration. Sets
 * *ret_recheck_ns to the delay after which a ready pod becomes available
 * (0 = none pending). New reference. */
json_t *ctrl_rs_status(const json_t *rs, const json_t *pods, int64_t now_ns,
                       int64_t *ret_recheck_ns);

/* A revision number from annotations (0 if absent or bad). */
int64_t ctrl_revision(const json_t *obj);

/* ------------------------------------------------------------ manager */

#include <pthread.h>

struct ctrl_manager;

/* One control loop: a work queue and its workers. reconcile returns 0
 * (done: the key's back-off is reset) or an error (retried with back-off);
 * it may also re-queue the key itself with ctrl_wq_add_after. */
struct ctrl_loop {
    const char *name;
    struct ctrl_wq *wq;
    int (*reconcile)(struct ctrl_manager *m, const char *key);
    pthread_t th[4];
    int nth;
    struct ctrl_manager *m;
};

#define CTRL_GC_MAX 16

struct ctrl_gc_resource {
    const char *group_version; /* "v1", "apps/v1" */
    const char *kind;
    const char *plural;
    bool namespaced;
    bool full; /* other loops read the whole objects from this informer;
                  otherwise it caches metadata only */
};

struct ctrl_manager {
    struct ctrl_api api;
    struct ctrl_config cfg;
    struct ctrl_events *events;
    struct ctrl_informer *pods, *rss, *deps, *nodes, *leases, *nss;
    /* informers the garbage collector watches (pods, rss, deps are the
     * first three) */
    struct ctrl_informer *gc_inf[CTRL_GC_MAX];
    const struct ctrl_gc_resource *gc_res[CTRL_GC_MAX];
    int ngc;
    struct ctrl_loop rs, dep, gc, ns, node;
    pthread_mutex_t mu;            /* expectations, node health */
    struct ctrl_map *expectations; /* rs key -> struct ctrl_exp* */
    struct ctrl_map *node_health;  /* node name -> struct ctrl_node_health* */
    pthread_cond_t cond;
    bool stopping;
    pthread_t monitor;
    bool monitor_started;
};

/* ReplicaSet expectations (controller.ControllerExpectations). */
void ctrl_exp_expect(struct ctrl_manager *m, const char *rs_key, int64_t add,
                     int64_t del);
void ctrl_exp_observe(struct ctrl_manager *m, const char *rs_key, int64_t add,
                      int64_t del);
bool ctrl_exp_satisfied(struct ctrl_manager *m, const char *rs_key);
void ctrl_exp_delete(struct ctrl_manager *m, const char *rs_key);

/* API helpers: "ns/name" from an ownerReference-like parent. */
int ctrl_put(struct ctrl_manager *m, const char *path, const json_t *obj,
             json_t **ret);
/* Any write (PUT, PATCH with its content type): 0, K1S_ECONFLICT,
 * K1S_ENOTFOUND or another error; *ret (may be NULL) the response body. */
int ctrl_write(struct ctrl_manager *m, const char *method, const char *path,
               const char *ctype, const json_t *body, json_t **ret);

/* Per-controller entry points (handlers are registered by init, before
 * the informers start). */
int ctrl_rs_init(struct ctrl_manager *m);
int ctrl_rs_reconcile(struct ctrl_manager *m, const char *key);
int ctrl_dep_init(struct ctrl_manager *m);
int ctrl_dep_reconcile(struct ctrl_manager *m, const char *key);
int ctrl_gc_init(struct ctrl_manager *m);
/* Whether the collector must keep `obj` in its cache: it has owners,
 * finalizers or is being deleted. Others are looked up (GET) when they
 * are named as an owner. */
bool ctrl_gc_interested(const json_t *obj);
int ctrl_gc_reconcile(struct ctrl_manager *m, const char *key);
int ctrl_ns_init(struct ctrl_manager *m);
int ctrl_ns_reconcile(struct ctrl_manager *m, const char *key);
int ctrl_node_init(struct ctrl_manager *m);
int ctrl_node_reconcile(struct ctrl_manager *m, const char *key);
/* One pass of the node monitor (every node_monitor_period). */
void ctrl_node_monitor(struct ctrl_manager *m);
#endif

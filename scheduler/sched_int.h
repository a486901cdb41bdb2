/*
 * sched_int — the scheduler's pure parts, shared by its files and its unit
 * tests: quantities, pod requests, the node snapshot, filters, scores and
 * the FitError message. Nothing here locks or calls the API; all json_t
 * arguments are borrowed.
 */
#ifndef K1S_SCHEDULER_SCHED_INT_H
#define K1S_SCHEDULER_SCHED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Parses a Kubernetes quantity ("100m", "1.5Gi", "2e3", "128974848") and
 * returns value*scale rounded up (scale 1000 for milli-CPU, 1 for bytes),
 * saturating at INT64_MAX. Errors: K1S_EINVALID (not a quantity). */
int sched_quantity(const char *s, int64_t scale, int64_t *ret);

struct sched_res {
    int64_t milli_cpu;
    int64_t memory; /* bytes */
    int64_t pods;
};

/* The pod's effective requests: max(sum of containers, each init
 * container) + overhead (the rule of the NodeResourcesFit plugin).
 * nonzero: containers without a request count 100m / 200Mi (what the
 * scoring plugins use, so empty pods still spread). */
void sched_pod_requests(const json_t *pod, bool nonzero, struct sched_res *ret);

/* One node as the filters see it. The fields after `owners` are read from
 * the node object once, by sched_node_init (pointers borrowed from
 * `node`), so that filtering a pod against a node costs a few branches
 * and no JSON lookups when neither has taints, selectors or ports. */
struct sched_node {
    json_t *node; /* owned reference */
    char name[256];
    struct sched_res alloc;  /* status.allocatable (capacity if absent) */
    struct sched_res req;    /* sum of bound pods' requests */
    struct sched_res nzreq;  /* same with non-zero defaults */
    json_t *pods;            /* owned array of bound pods (shared objects) */
    int64_t n_anti;          /* pods with required pod anti-affinity */
    struct ctrl_map *owners; /* controller uid -> (intptr_t) pod count */
    const json_t *labels;    /* metadata.labels */
    const json_t *taints;    /* spec.taints */
    bool unschedulable;      /* spec.unschedulable */
    bool hard_taints;        /* a NoSchedule or NoExecute taint */
    bool prefer_taints;      /* a PreferNoSchedule taint */
    /* the not-ready / unreachable taint the Ready condition implies while
     * the node-lifecycle controller has not added it, or NULL */
    const char *implied_taint;
};

/* A hostPort a pod asks for. */
struct sched_port {
    const char *ip, *proto; /* borrowed; "0.0.0.0", "TCP" by default */
    long long port;
};

#define SCHED_MAX_PORTS 32

/* What the filters and scores read from a pod, looked up once per
 * scheduling cycle instead of once per node (pointers borrowed from the
 * pod, which must outlive it). */
struct sched_pod {
    const json_t *pod;
    const json_t *tolerations;   /* spec.tolerations */
    const json_t *node_selector; /* spec.nodeSelector */
    const json_t *required;      /* required node affinity, NULL if none */
    const json_t *preferred;     /* preferred node affinity terms */
    bool anti;                   /* has required pod anti-affinity terms */
    const char *owner_uid;       /* the controller's uid, or NULL */
    struct sched_res req;        /* sched_pod_requests, nonzero false */
    struct sched_res nzreq;      /* and true */
    int nports;
    struct sched_port ports[SCHED_MAX_PORTS];
};

/* Fills *ret from pod (borrowed; must outlive *ret). */
void sched_pod_init(struct sched_pod *ret, const json_t *pod);

/* A filter's verdict for one node: up to 4 reasons (NodeResourcesFit may
 * give several), and whether preemption could help (Unschedulable) or not
 * (UnschedulableAndUnresolvable). */
struct sched_fail {
    int nreasons;
    char reasons[4][320];
    bool unresolvable;
};

/* Runs the filters of the default profile in kube-scheduler's order on one
 * node: NodeUnschedulable, (node readiness as the not-ready taint),
 * TaintToleration, NodeAffinity (nodeSelector + required affinity),
 * NodePorts, NodeResourcesFit, InterPodAffinity (required anti-affinity on
 * kubernetes.io/hostname, both ways). Returns true when the pod fits;
 * else fills *f with the first failing plugin's reasons. */
bool sched_filter(const json_t *pod, const struct sched_res *req,
                  const struct sched_node *n, struct sched_fail *f);
/* The same for a pod read by sched_pod_init (its req is the request). */
bool sched_filter_pod(const struct sched_pod *p, const struct sched_node *n,
                      struct sched_fail *f);

/* Individual filters (true = passes), for tests and reuse. */
bool sched_tolerates(const json_t *tolerations, const json_t *taint);
bool sched_node_matches_affinity(const json_t *pod, const json_t *node);
bool sched_node_selector_term_matches(const json_t *term, const json_t *node);

/* Scores, each 0..100 for one node (before normalization). */
int64_t sched_score_least_allocated(const struct sched_res *nzreq_pod,
                                    const struct sched_node *n);
int64_t sched_score_balanced(const struct sched_res *nzreq_pod,
                             const struct sched_node *n);
/* Raw: the number of pods on n with the same controller as pod. */
int64_t sched_count_same_owner(const json_t *pod, const struct sched_node *n);
/* Raw: sum of weights of preferred node-affinity terms n matches. */
int64_t sched_preferred_affinity(const json_t *pod, const json_t *node);
/* Raw: number of PreferNoSchedule taints the pod does not tolerate. */
int64_t sched_intolerable_prefer(const json_t *pod, const json_t *node);

/* Picks the best of nfeasible nodes (indexes into nodes[]) by the
 * weighted, normalized sum of the scores above; ties go to the first of
 * the tied nodes after a rotation by `salt`. Returns the index into
 * feasible[]. */
size_t sched_pick(const json_t *pod, const struct sched_node *const *nodes,
                  size_t nfeasible, unsigned salt);
/* The same for a pod read by sched_pod_init. */
size_t sched_pick_pod(const struct sched_pod *p,
                      const struct sched_node *const *nodes, size_t nfeasible,
                      unsigned salt);

/* kube-scheduler's FitError message for nall nodes of which fails[i]
 * failed (nfails == nall: all of them): "0/3 nodes are available: 1
 * node(s) had untolerated taint {k: v}, 2 Insufficient cpu. preemption:
 * 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2
 * No preemption victims found for incoming pod.." Heap; caller frees. */
char *sched_fit_message(size_t nall, const struct sched_fail *fails,
                        size_t nfails);

/* Fills n's name/alloc and the fields read once (labels, taints,
 * unschedulable, the implied not-ready taint) from node (takes a new
 * reference to it); req and pods start empty. A changed node is a new
 * sched_node. */
int sched_node_init(struct sched_node *n, const json_t *node);
void sched_node_close(struct sched_node *n);
void sched_node_add_pod(struct sched_node *n, const json_t *pod);
/* Removes the pod with pod's namespace/name if present. */
void sched_node_remove_pod(struct sched_node *n, const json_t *pod);

#endif

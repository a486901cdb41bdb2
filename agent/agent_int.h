/*
 * agent_int.h — internals shared by the files of agent/.
 *
 * Layers, bottom up:
 *   runtime.c  one container run = a detached shim process that owns the
 *              container's pipes, writes its log file and records its exit
 *              status in a run directory (so an agent restart can adopt it).
 *   cgroup.c   per-pod / per-container cgroups (v1 or v2), OOM counters.
 *   logs.c     the on-disk log format and the reader behind /containerLogs.
 *   probe.c    non-blocking exec / httpGet / tcpSocket probes.
 *   pod.c      the per-pod state machine (init containers, restarts with
 *              back-off, probes, termination) and the pod status it builds.
 *   env.c      env / envFrom / valueFrom / volumes (given the objects).
 *   client.c   the libcurl client of the API server.
 *   node.c, agent.c, logsrv.c, sim.c  the node agent itself.
 *
 * Threads: every struct here is owned by one thread (the agent's sync
 * thread, or a test) unless its comment says otherwise. Times are
 * monotonic milliseconds passed in by the caller, so tests can inject the
 * clock; wall-clock times (for the API) are taken separately.
 */
#ifndef K1S_AGENT_INT_H
#define K1S_AGENT_INT_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

/* The agent formats many bounded strings (paths under PATH_MAX, reasons,
 * messages) with snprintf; a truncated path then fails at open() with a
 * clear error and a truncated message is still a message, so GCC's
 * may-be-truncated warning is noise here. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* ------------------------------------------------------------ cgroups */

struct agent_cgroups {
    int version;            /* 0 none, 1 v1, 2 v2 */
    bool memory;            /* memory limits enforceable */
    bool cpu;               /* cpu limits enforceable */
    char v2_dir[PATH_MAX];  /* v2: our node's directory */
    char mem_dir[PATH_MAX]; /* v1: memory hierarchy, our node's dir */
    char cpu_dir[PATH_MAX]; /* v1: cpu hierarchy, our node's dir */
    char why[256];          /* what is missing, for the start log line */
};

/* Finds the cgroup hierarchy and creates `<own cgroup>/k1s-<node>` in each
 * usable controller. Never fails: what is not available is left false and
 * explained in why. */
void agent_cgroup_detect(struct agent_cgroups *cg, const char *node);
/* Creates the cgroup `rel` ("pod-<uid>" or "pod-<uid>/c-<name>-<n>") with
 * the given limits (<= 0: none). 0 or a K1S_E* code. */
int agent_cgroup_create(const struct agent_cgroups *cg, const char *rel,
                        int64_t mem_bytes, int64_t cpu_milli);
/* The file a child writes "0" into to enter `rel` (memory or v2 first;
 * second = v1 cpu or ""). Paths are written into the two buffers. */
void agent_cgroup_procs_paths(const struct agent_cgroups *cg, const char *rel,
                              char *ret1, size_t len1, char *ret2, size_t len2);
/* OOM kills counted in `rel` so far (0 when unknown). */
uint64_t agent_cgroup_oom_kills(const struct agent_cgroups *cg,
                                const char *rel);
/* Sends sig to every process in `rel` and below; returns how many. */
int agent_cgroup_kill(const struct agent_cgroups *cg, const char *rel, int sig);
/* Removes `rel` and its children (best effort; busy cgroups stay). */
void agent_cgroup_remove(const struct agent_cgroups *cg, const char *rel);

/* ------------------------------------------------------------ runtime */

struct agent_caps {
    bool pidns; /* CLONE_NEWPID usable */
    bool mntns; /* CLONE_NEWNS usable (volumes at mountPath) */
    struct agent_cgroups cg;
};

/* Probes what the kernel allows (forks a short-lived child to try
 * unshare) and fills caps; describes it in `ret_line` for the log. */
void agent_caps_detect(struct agent_caps *caps, const char *node,
                       char *ret_line, size_t len);

struct agent_mount {
    char *src;
    char *dst;
    bool ro;
};

/* What to run. All borrowed; prepared before the fork so that the
 * children only make system calls. */
struct agent_run_spec {
    char *const *argv; /* argv[0] may be a bare name (PATH) */
    char *const *envp;
    const char *workdir;    /* NULL = the run directory */
    const char *run_dir;    /* created by the caller; pid/exit files */
    const char *log_path;   /* CRI-format log file (appended) */
    size_t log_max_bytes;   /* rotate to log_path.1 beyond this */
    const char *cgroup_rel; /* NULL = no cgroup */
    const struct agent_mount *mounts;
    size_t n_mounts;
};

/* A started (or adopted) run. */
struct agent_run {
    pid_t shim_pid;
    pid_t pid;                     /* the container's main process (host pid) */
    unsigned long long shim_start; /* /proc start time, guards pid reuse */
    bool own_child;                /* shim is our child: reap it */
    bool done;
    char *run_dir; /* heap, owned by the run: agent_run_release */
};

struct agent_exit {
    int exit_code;       /* 128+signal when killed by a signal */
    int signal;          /* 0 when it exited */
    int exec_errno;      /* != 0: it never started (exec failed) */
    int64_t finished_ns; /* wall clock */
    bool lost;           /* shim vanished without a record */
};

/* Resolves argv[0] against PATH in envp (as the container would see it).
 * Writes the absolute path into ret; K1S_ENOTFOUND if there is none. */
int agent_run_lookup(const char *argv0, char *const *envp, const char *workdir,
                     char *ret, size_t len);
/* Starts the shim and the container. Waits until the container process
 * exists (its pid is known). 0 or K1S_E*, message in err; *ret is
 * overwritten (release an earlier run first). */
int agent_run_start(const struct agent_caps *caps,
                    const struct agent_run_spec *spec, struct agent_run *ret,
                    char *err, size_t errlen);
/* 0 running, 1 finished (ret filled, run->done set). Never blocks. */
int agent_run_poll(struct agent_run *run, struct agent_exit *ret);
/* Signals the container's whole process tree (process group, or its PID
 * namespace's init which forwards; SIGKILL kills the namespace). */
void agent_run_signal(const struct agent_run *run, int sig);
/* Re-attaches to a run directory left by an earlier agent. 0, or
 * K1S_ENOTFOUND when there is nothing to adopt. */
int agent_run_adopt(const char *run_dir, struct agent_run *ret);
/* Frees what a run holds (not its processes). Safe on a zeroed, failed or
 * already released run. */
void agent_run_release(struct agent_run *run);

/* ------------------------------------------------------------ logs */

/* Options of a log read (the pods/log query). */
struct agent_log_opts {
    long tail_lines; /* < 0: all */
    bool timestamps;
    int64_t since_ns;      /* wall clock; 0: from the start */
    long long limit_bytes; /* <= 0: no limit */
};

/* Appends to out the lines of the log file (and its rotated predecessor)
 * selected by opts. Advances *ret_offset to where a follow continues. */
struct buf;
int agent_log_read(const char *log_path, const struct agent_log_opts *o,
                   struct buf *out, long long *ret_offset);
/* Formats one on-disk line's content (without the CRI prefix) into out
 * honouring timestamps. Returns bytes consumed from `in` (a whole line) or
 * 0 if `in` holds no complete line. */
size_t agent_log_format_line(const char *in, size_t len, bool timestamps,
                             int64_t since_ns, struct buf *out);

/* ------------------------------------------------------------ probes */

enum agent_probe_result {
    AGENT_PROBE_PENDING = 0,
    AGENT_PROBE_SUCCESS = 1,
    AGENT_PROBE_FAILURE = 2,
};

struct agent_probe_run {
    int kind; /* 0 idle, 1 exec, 2 http, 3 tcp */
    int fd;
    pid_t pid;
    int64_t deadline_ms;
    int phase; /* http: 0 connecting, 1 sent */
    char req[512];
    size_t req_len;
    char resp[64];
    size_t resp_len;
};

/* Starts one probe from a probe spec (the JSON of a Probe). host: where
 * httpGet/tcpSocket connect when the probe names no host. */
int agent_probe_start(struct agent_probe_run *p, const json_t *probe,
                      const json_t *container, char *const *envp,
                      const char *host, int64_t now_ms, int64_t timeout_ms);
/* Advances it without blocking. */
enum agent_probe_result agent_probe_step(struct agent_probe_run *p,
                                         int64_t now_ms);
/* Abandons it (kills an exec probe). */
void agent_probe_cancel(struct agent_probe_run *p);

/* ------------------------------------------------------------ objects */

/* How env.c and pod.c get ConfigMaps and Secrets: the agent answers from
 * the API server, a test from a table. Returns 0 and a new reference,
 * K1S_ENOTFOUND, or another K1S_E* (API unreachable). */
typedef int (*agent_get_object_cb)(void *arg, const char *kind, const char *ns,
                                   const char *name, json_t **ret);

/* ------------------------------------------------------------ quantity */

/* Parses a Kubernetes quantity ("128Mi", "0.5", "250m", "1e3") into
 * thousandths of a unit, rounded up. 0 or K1S_EINVAL. */
int agent_quantity_milli(const char *s, int64_t *ret);

/* Base64 (RFC 4648) decode; returns a heap buffer (free) and its length,
 * or NULL for malformed input. */
unsigned char *agent_base64_decode(const char *s, size_t *ret_len);

/* ------------------------------------------------------------ env.c */

struct agent_pod_env;

/* The pod's IP: without network namespaces every pod shares the node's
 * network, so each pod gets its own loopback address 127.A.B.C derived
 * from its uid (all of 127/8 reaches `lo` on Linux): replicas can listen
 * on the same port at their own address, as in a real cluster. */
void agent_pod_ip(const char *uid, char *out, size_t len);

/* Frees a NULL-terminated heap string vector. NULL ok. */
void agent_strv_free(char **v);
/* Kubernetes's $(VAR) expansion against envp ("$$" is a literal "$";
 * unknown references stay as written). Heap result. */
char *agent_env_expand(const char *s, char *const *envp);
/* The environment of `container`: envFrom, then env (value, valueFrom
 * configMapKeyRef / secretKeyRef / fieldRef / resourceFieldRef), plus PATH
 * and HOSTNAME defaults and K1S_VOLUME_<NAME> for every volume. *ret is a
 * heap NULL-terminated vector (agent_strv_free). A missing ConfigMap,
 * Secret or key is K1S_ENOTFOUND with Kubernetes's message in err. */
int agent_env_build(const struct agent_pod_env *env, const json_t *pod,
                    const json_t *container, const char *pod_dir, char ***ret,
                    char *err, size_t errlen);
/* Materialises the pod's volumes under pod_dir/volumes (emptyDir,
 * configMap, secret; hostPath is used in place). */
int agent_volumes_prepare(const struct agent_pod_env *env, const json_t *pod,
                          const char *pod_dir, char *err, size_t errlen);
/* The container's volumeMounts as source → mountPath pairs (heap; free
 * with agent_mounts_free). */
int agent_mounts_build(const json_t *pod, const json_t *container,
                       const char *pod_dir, struct agent_mount **ret,
                       size_t *ret_n, char *err, size_t errlen);
void agent_mounts_free(struct agent_mount *m, size_t n);
/* Removes a directory tree without crossing mount points or following
 * symlinks. 0 or K1S_E*. */
int agent_rm_rf(const char *path);
/* Where a volume's files are on the host. Heap string. */
char *agent_volume_source(const json_t *pod, const char *vol_name,
                          const char *pod_dir);

/* ------------------------------------------------------------ pods */

/* Timing of the pod state machine. agent_timing_default() gives
 * Kubernetes's values; tests scale them down (a test never waits for
 * minutes). */
struct agent_timing {
    int64_t backoff_base_ms;  /* 10 s */
    int64_t backoff_max_ms;   /* 5 min */
    int64_t backoff_reset_ms; /* 10 min of running resets it */
    int64_t second_ms;        /* length of a probe-spec second: 1000 */
};
void agent_timing_default(struct agent_timing *t);

struct agent_pod_env {
    const struct agent_caps *caps;
    const struct agent_timing *timing;
    const char *pods_dir; /* DATA_DIR/pods */
    const char *node_name;
    const char *host_ip;
    size_t log_max_bytes;
    agent_get_object_cb get_object;
    void *get_object_arg;
};

struct agent_pod;

/* Creates the runtime state of a pod (new or adopted from its directory
 * when it exists). pod: the API object (borrowed; copied). */
int agent_pod_create(const struct agent_pod_env *env, const json_t *pod,
                     struct agent_pod **ret);
/* Replaces the pod object (spec changes other than deletion are ignored, as
 * Kubernetes pods are immutable where it matters). */
void agent_pod_update(struct agent_pod *p, const json_t *pod);
/* Begins termination: SIGTERM now, SIGKILL after grace_ms. */
void agent_pod_terminate(struct agent_pod *p, int64_t grace_ms, int64_t now_ms);
/* Advances the pod: starts, reaps, probes, restarts, kills. Returns true
 * when its status changed. */
bool agent_pod_sync(struct agent_pod *p, int64_t now_ms);
/* True once termination was asked and every process is gone. */
bool agent_pod_terminated(const struct agent_pod *p);
/* The pod status object (new reference). Remembers when each condition
 * last changed, hence not const. */
json_t *agent_pod_status(struct agent_pod *p);
/* The earliest time sync should run again (<= now + 1 s). */
int64_t agent_pod_next_wake(const struct agent_pod *p, int64_t now_ms);
const char *agent_pod_uid(const struct agent_pod *p);
const char *agent_pod_key(const struct agent_pod *p); /* "ns/name" */
/* Frees the runtime state; removes the pod's directory when `purge`. */
void agent_pod_destroy(struct agent_pod *p, bool purge);
/* What the agent keeps of a pod object (new reference): apiVersion, kind,
 * metadata without managedFields, and spec without the scheduler's inputs
 * (tolerations, affinity, ...). The spec's values are shared with `pod`
 * (or the whole spec is `prev`'s when equal, so that the containers' specs
 * stay shared across updates) rather than copied: pod objects are never
 * modified here. The server's status is not kept (the agent writes its
 * own, except the conditions its readiness gates name (set by whoever
 * owns the gate; they decide the pod's Ready). NULL on ENOMEM. */
json_t *agent_pod_keep(const json_t *pod, const json_t *prev);
/* The first object of the JSON array `list` whose string member `key` is
 * `value` (borrowed), or NULL. */
const json_t *agent_json_find(const json_t *list, const char *key,
                              const char *value);
/* Whether every spec.readinessGates condition of pod is True in its
 * status (true when it has none); if not, msg gets the kubelet's words
 * for the first one that is not. */
bool agent_pod_gates_ready(const json_t *pod, char *msg, size_t len);
/* The pod object stored in a pod directory (adoption); new reference. */
json_t *agent_pod_load(const char *pod_dir);

/* Kubernetes's QoS class of a pod spec: Guaranteed, Burstable, BestEffort. */
const char *agent_qos_class(const json_t *spec);

/* ------------------------------------------------------------ node.c */

struct agent_http;

struct agent_node_desc {
    const char *name;
    const char *ip;           /* InternalIP */
    int port;                 /* the agent's log server */
    const char *data_dir;     /* for ephemeral-storage; NULL: fixed */
    const char *kube_version; /* kubeletVersion: the server's gitVersion */
    bool simulated;           /* fixed capacity, k1s.io/simulated label */
    char since[32];           /* conditions' lastTransitionTime */
};

/* The Node to create (new reference). */
json_t *agent_node_object(const struct agent_node_desc *d);
/* Its status (new reference): capacity, allocatable, conditions,
 * addresses, daemonEndpoints, all ten nodeInfo fields. */
json_t *agent_node_status(const struct agent_node_desc *d);
/* POST the Node (409 is fine), then its status. 0 or K1S_E*. */
int agent_node_register(struct agent_http *h, const struct agent_node_desc *d,
                        char *err, size_t errlen);
/* Merge-patches the Node's status; K1S_ENOTFOUND when the Node is gone. */
int agent_node_post_status(struct agent_http *h,
                           const struct agent_node_desc *d, char *err,
                           size_t errlen);
/* Renews (or creates) the node's Lease in kube-node-lease. */
int agent_lease_renew(struct agent_http *h, const char *node);
/* The server's gitVersion ("v1.32.4-k1s"). */
int agent_server_version(struct agent_http *h, char *out, size_t len);

/* ------------------------------------------------------------ logsrv.c */

struct agent_logsrv;
/* Serves /containerLogs and /healthz on ip:port (0: any free port) from
 * pods_dir on its own threads. *ret_port: the port it got. */
int agent_logsrv_start(const char *ip, int port, const char *pods_dir,
                       struct agent_logsrv **ret, int *ret_port);
void agent_logsrv_stop(struct agent_logsrv *s);

/* ------------------------------------------------------------ sim.c */

struct agent_config;
/* `k1s agent --simulate N`: N nodes named <node-name or "sim">-<i>; runs
 * until one of `sigs` arrives (they are blocked). Exit code. */
int agent_sim_main(const struct agent_config *cfg, int n, const sigset_t *sigs);

#endif

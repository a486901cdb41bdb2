/*
 * DESIGN: one pod's lifecycle, as the kubelet's pod workers run it.
 *
 * agent_pod_sync() is level-triggered and idempotent: it looks at every
 * container's run and decides what is next, in this order:
 *
 *   1. reap: a run that ended becomes state.terminated (reason Completed,
 *      Error, OOMKilled from the cgroup's OOM counter, StartError when exec
 *      failed); the cgroup of the run is emptied and removed.
 *   2. termination (deletion): SIGTERM every run once, SIGKILL the whole
 *      tree at the grace deadline; nothing starts any more.
 *   3. init containers one at a time, in order; each must exit 0 (a failed
 *      one is retried with back-off unless restartPolicy is Never, which
 *      fails the pod).
 *   4. app containers: start, probe, restart per restartPolicy.
 *
 * Restarts follow the kubelet's back-off: the first restart is immediate,
 * then 10 s, doubling to 5 min; a container that ran 10 min resets it.
 * While waiting the container is `waiting` with reason CrashLoopBackOff.
 *
 * Probes (core/v1 Probe): a startup probe gates liveness and readiness;
 * liveness failure (failureThreshold in a row) kills the container, which
 * is then restarted per policy; readiness drives `ready`. The first probe
 * runs initialDelaySeconds after start, then every periodSeconds.
 *
 * Times: `now` is monotonic milliseconds given by the caller; every
 * duration comes from struct agent_timing, so tests run the same code with
 * shorter seconds. Wall-clock timestamps are only for the status.
 *
 * State survives the agent: state.json in the pod directory records each
 * container's restart count, current run and last termination, and
 * agent_pod_create() re-attaches to the runs it finds (runtime.c).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"

enum cstate { CS_WAITING = 0, CS_RUNNING = 1, CS_TERMINATED = 2 };

struct term_info {
    bool set;
    int exit_code;
    int signal;
    char reason[32];
    char message[256];
    int64_t started_ns, finished_ns;
    char container_id[160];
};

struct probe_state {
    const json_t *spec; /* borrowed from the container spec */
    int64_t next_ms;
    int succ, fail;
    bool passed;                 /* last verdict (threshold reached) */
    struct agent_probe_run *run; /* heap, only while a probe is under way */
};

struct ctr {
    char name[128];
    bool init;
    json_t *spec; /* the container (a reference: nothing modifies it) */
    enum cstate state;
    char reason[32]; /* waiting or terminated reason */
    char message[512];
    int exit_code, signal;
    int64_t started_ns, finished_ns;
    int64_t started_mono;
    struct term_info last;
    int restarts;
    int run_no;   /* which run directory is current */
    bool has_run; /* a process exists (or existed) for run_no */
    bool ready, started;
    int64_t backoff_ms;
    int64_t next_start_ms; /* 0 = now */
    int64_t kill_at_ms;    /* liveness kill: SIGKILL deadline, 0 none */
    struct agent_run run;
    bool running;
    char cg_rel[200];
    char container_id[160];
    char **envp; /* the current run's environment (probes) */
    struct probe_state live, readyp, startup;
};

struct cond {
    bool status;
    int64_t since_ns;
    bool set;
};

struct agent_pod {
    const struct agent_pod_env *env;
    json_t *obj; /* metadata and spec only: see agent_pod_keep */
    char uid[128], ip[32];
    char *ns, *key;   /* heap; key is "ns/name" */
    const char *name; /* in key */
    char *dir;        /* heap */
    struct ctr *c;
    size_t n, n_init;
    int64_t start_ns;
    bool volumes_ready;
    bool terminating, term_sent, killed;
    int64_t kill_at_ms;
    bool failed_init; /* an init container failed with Never */
    bool changed;
    char cg_rel[160];
    struct cond conds[4]; /* PodScheduled, Initialized, ContainersReady,
                             Ready */
};

void agent_timing_default(struct agent_timing *t)
{
    t->backoff_base_ms = 10000;
    t->backoff_max_ms = 300000;
    t->backoff_reset_ms = 600000;
    t->second_ms = 1000;
}

const char *agent_pod_uid(const struct agent_pod *p)
{
    return p->uid;
}
const char *agent_pod_key(const struct agent_pod *p)
{
    return p->key;
}

static int64_t wall_ns(void)
{
    return clock_real_ns();
}

static const char *str0(const json_t *j)
{
    const char *s = json_string_value(j);
    return s ? s : "";
}

static const char *restart_policy(const struct agent_pod *p)
{
    const char *r = json_string_value(
        json_object_get(json_object_get(p->obj, "spec"), "restartPolicy"));
    return r ? r : "Always";
}

/* ------------------------------------------------------------ QoS */

const char *agent_qos_class(const json_t *spec)
{
    const json_t *lists[2] = {json_object_get(spec, "initContainers"),
                              json_object_get(spec, "containers")};
    bool any = false, guaranteed = true;
    const json_t *c;
    size_t i;

    for (int l = 0; l < 2; l++)
        json_array_foreach (lists[l], i, c) {
            const json_t *res = json_object_get(c, "resources");
            const json_t *req = json_object_get(res, "requests");
            const json_t *lim = json_object_get(res, "limits");
            static const char *const names[] = {"cpu", "memory"};
            if (json_object_size(req) || json_object_size(lim))
                any = true;
            for (int k = 0; k < 2; k++) {
                const char *lv =
                    json_string_value(json_object_get(lim, names[k]));
                const char *rv =
                    json_string_value(json_object_get(req, names[k]));
                int64_t a = 0, b = 0;
                if (lv == NULL) {
                    guaranteed = false;
                    continue;
                }
                /* A request defaults to the limit. */
                if (rv && (agent_quantity_milli(lv, &a) != 0 ||
                           agent_quantity_milli(rv, &b) != 0 || a != b))
                    guaranteed = false;
            }
        }
    if (!any)
        return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}

static int64_t limit_of(const json_t *container, const char *res)
{
    const char *v = json_string_value(json_object_get(
        json_object_get(json_object_get(container, "resources"), "limits"),
        res));
    int64_t m = 0;
    if (v == NULL || agent_quantity_milli(v, &m) != 0)
        return 0;
    return m;
}

/* ------------------------------------------------------------ persistence */

static void ctr_paths(const struct agent_pod *p, const struct ctr *c,
                      int run_no, char *run_dir, size_t rl, char *log,
                      size_t ll)
{
    if (run_dir)
        snprintf(run_dir, rl, "%s/containers/%s/run-%d", p->dir, c->name,
                 run_no);
    if (log)
        snprintf(log, ll, "%s/containers/%s/%d.log", p->dir, c->name, run_no);
}

static json_t *term_json(const struct term_info *t)
{
    return json_pack("{s:i,s:i,s:s,s:s,s:I,s:I,s:s}", "exitCode", t->exit_code,
                     "signal", t->signal, "reason", t->reason, "message",
                     t->message, "startedNs", (json_int_t)t->started_ns,
                     "finishedNs", (json_int_t)t->finished_ns, "containerID",
                     t->container_id);
}

static void term_load(struct term_info *t, const json_t *j)
{
    if (!json_is_object(j))
        return;
    t->set = true;
    t->exit_code = (int)json_integer_value(json_object_get(j, "exitCode"));
    t->signal = (int)json_integer_value(json_object_get(j, "signal"));
    snprintf(t->reason, sizeof t->reason, "%s",
             json_string_value(json_object_get(j, "reason"))
                 ? json_string_value(json_object_get(j, "reason"))
                 : "");
    snprintf(t->message, sizeof t->message, "%s",
             json_string_value(json_object_get(j, "message"))
                 ? json_string_value(json_object_get(j, "message"))
                 : "");
    t->started_ns = json_integer_value(json_object_get(j, "startedNs"));
    t->finished_ns = json_integer_value(json_object_get(j, "finishedNs"));
    snprintf(t->container_id, sizeof t->container_id, "%s",
             json_string_value(json_object_get(j, "containerID"))
                 ? json_string_value(json_object_get(j, "containerID"))
                 : "");
}

static void save_state(struct agent_pod *p)
{
    json_t *st = json_object(), *cs = json_array();
    char path[PATH_MAX], tmp[PATH_MAX];

    json_object_set_new(st, "startNs", json_integer(p->start_ns));
    for (size_t i = 0; i < p->n; i++) {
        struct ctr *c = &p->c[i];
        json_t *j = json_pack(
            "{s:s,s:i,s:s,s:s,s:i,s:i,s:I,s:I,s:i,s:i,s:b,s:I,s:b}", "name",
            c->name, "state", (int)c->state, "reason", c->reason, "message",
            c->message, "exitCode", c->exit_code, "signal", c->signal,
            "startedNs", (json_int_t)c->started_ns, "finishedNs",
            (json_int_t)c->finished_ns, "restarts", c->restarts, "run",
            c->run_no, "hasRun", c->has_run, "backoffMs",
            (json_int_t)c->backoff_ms, "started", c->started);
        if (c->last.set)
            json_object_set_new(j, "last", term_json(&c->last));
        json_array_append_new(cs, j);
    }
    json_object_set_new(st, "containers", cs);
    snprintf(path, sizeof path, "%s/state.json", p->dir);
    snprintf(tmp, sizeof tmp, "%s/state.json.tmp", p->dir);
    if (json_dump_file(st, tmp, JSON_COMPACT) == 0)
        rename(tmp, path);
    json_decref(st);
}

static void load_state(struct agent_pod *p, int64_t now_ms)
{
    char path[PATH_MAX];
    json_t *st, *j;
    size_t i;

    snprintf(path, sizeof path, "%s/state.json", p->dir);
    st = json_load_file(path, 0, NULL);
    if (st == NULL)
        return;
    p->start_ns = json_integer_value(json_object_get(st, "startNs"));
    json_array_foreach (json_object_get(st, "containers"), i, j) {
        const char *name = json_string_value(json_object_get(j, "name"));
        struct ctr *c = NULL;
        for (size_t k = 0; k < p->n && name; k++)
            if (strcmp(p->c[k].name, name) == 0)
                c = &p->c[k];
        if (c == NULL)
            continue;
        c->state = (enum cstate)json_integer_value(json_object_get(j, "state"));
        snprintf(c->reason, sizeof c->reason, "%s",
                 str0(json_object_get(j, "reason")));
        snprintf(c->message, sizeof c->message, "%s",
                 str0(json_object_get(j, "message")));
        c->exit_code = (int)json_integer_value(json_object_get(j, "exitCode"));
        c->signal = (int)json_integer_value(json_object_get(j, "signal"));
        c->started_ns = json_integer_value(json_object_get(j, "startedNs"));
        c->finished_ns = json_integer_value(json_object_get(j, "finishedNs"));
        c->restarts = (int)json_integer_value(json_object_get(j, "restarts"));
        c->run_no = (int)json_integer_value(json_object_get(j, "run"));
        c->has_run = json_is_true(json_object_get(j, "hasRun"));
        c->backoff_ms = json_integer_value(json_object_get(j, "backoffMs"));
        c->started = json_is_true(json_object_get(j, "started"));
        term_load(&c->last, json_object_get(j, "last"));
        snprintf(c->container_id, sizeof c->container_id,
                 "k1s-process://%s-%s-%d", p->uid, c->name, c->run_no);
        snprintf(c->cg_rel, sizeof c->cg_rel, "%s/c-%s-%d", p->cg_rel, c->name,
                 c->run_no);
        if (c->state == CS_RUNNING) {
            char run_dir[PATH_MAX];
            ctr_paths(p, c, c->run_no, run_dir, sizeof run_dir, NULL, 0);
            if (agent_run_adopt(run_dir, &c->run) == 0) {
                c->running = true;
                /* Wall time already run counts toward the probes' delays. */
                c->started_mono =
                    now_ms - (wall_ns() - c->started_ns) / 1000000;
                log_info("agent: adopted %s container %s (pid %d)", p->key,
                         c->name, (int)c->run.pid);
            } else {
                c->state = CS_TERMINATED;
                c->exit_code = 137;
                snprintf(c->reason, sizeof c->reason, "Error");
                c->finished_ns = wall_ns();
            }
        }
        /* A container that was waiting in back-off waits from now on. */
        if (c->state != CS_RUNNING)
            c->next_start_ms = now_ms;
    }
    json_decref(st);
}

/* ------------------------------------------------------------ create */

static int add_ctrs(struct agent_pod *p, const json_t *list, bool init)
{
    const json_t *cj;
    size_t i;

    json_array_foreach (list, i, cj) {
        struct ctr *c = &p->c[p->n];
        const char *name = json_string_value(json_object_get(cj, "name"));
        if (name == NULL || strlen(name) >= sizeof c->name ||
            strchr(name, '/') || strstr(name, ".."))
            return K1S_EINVALID;
        memset(c, 0, sizeof *c);
        snprintf(c->name, sizeof c->name, "%s", name);
        c->init = init;
        c->spec = json_incref((json_t *)cj);
        c->live.spec = json_object_get(c->spec, "livenessProbe");
        c->readyp.spec = json_object_get(c->spec, "readinessProbe");
        c->startup.spec = json_object_get(c->spec, "startupProbe");
        snprintf(c->reason, sizeof c->reason, "ContainerCreating");
        p->n++;
    }
    return 0;
}

/* The condition of type `type` in pod's status, or NULL. */
static const json_t *pod_condition(const json_t *pod, const char *type)
{
    return agent_json_find(
        json_object_get(json_object_get(pod, "status"), "conditions"), "type",
        type);
}

bool agent_pod_gates_ready(const json_t *pod, char *msg, size_t len)
{
    const json_t *g;
    size_t i;

    json_array_foreach (
        json_object_get(json_object_get(pod, "spec"), "readinessGates"), i, g) {
        const char *t = json_string_value(json_object_get(g, "conditionType"));
        const json_t *c = t ? pod_condition(pod, t) : NULL;
        const char *st = json_string_value(json_object_get(c, "status"));
        if (t == NULL)
            continue;
        if (c == NULL) {
            /* the kubelet's wording (status/generate.go) */
            snprintf(msg, len,
                     "corresponding condition of pod readiness gate \"%s\" "
                     "does not exist.",
                     t);
            return false;
        }
        if (st == NULL || strcmp(st, "True") != 0) {
            snprintf(msg, len,
                     "the status of pod readiness gate \"%s\" is not "
                     "\"True\", but %s",
                     t, st ? st : "");
            return false;
        }
    }
    return true;
}

json_t *agent_pod_keep(const json_t *pod, const json_t *prev)
{
    /* Inputs of the scheduler only: a bound pod's agent never reads them
     * (the two default tolerations alone are ~1.5 KiB per pod). */
    static const char *const scheduling[] = {
        "tolerations",      "affinity",        "nodeSelector",
        "schedulerName",    "priority",        "priorityClassName",
        "preemptionPolicy", "schedulingGates", "topologySpreadConstraints",
    };
    json_t *spec = json_object_get(pod, "spec"), *own = NULL;
    json_t *prev_spec = json_object_get(prev, "spec");
    json_t *md = json_copy(json_object_get(pod, "metadata"));
    json_t *o = json_object();

    if (md == NULL || o == NULL) {
        json_decref(md);
        json_decref(o);
        return NULL;
    }
    json_object_del(md, "managedFields");
    for (size_t i = 0; spec && i < sizeof scheduling / sizeof scheduling[0];
         i++) {
        if (json_object_get(spec, scheduling[i]) == NULL)
            continue;
        if (own == NULL && (spec = own = json_copy(spec)) == NULL)
            break; /* ENOMEM: keep it whole */
        json_object_del(own, scheduling[i]);
    }
    if (spec == NULL)
        spec = json_object_get(pod, "spec");
    if (prev_spec && json_equal(spec, prev_spec))
        spec = prev_spec;
    if (json_object_get(pod, "apiVersion"))
        json_object_set(o, "apiVersion", json_object_get(pod, "apiVersion"));
    if (json_object_get(pod, "kind"))
        json_object_set(o, "kind", json_object_get(pod, "kind"));
    if (json_object_set_new(o, "metadata", md) != 0 ||
        (spec && json_object_set(o, "spec", spec) != 0)) {
        json_decref(own);
        json_decref(o);
        return NULL;
    }
    json_decref(own);
    if (json_array_size(json_object_get(spec, "readinessGates")) > 0) {
        /* the gates' conditions: someone else's to set, ours to read */
        json_t *conds = json_array(), *g;
        size_t i;
        json_array_foreach (json_object_get(spec, "readinessGates"), i, g) {
            const char *t =
                json_string_value(json_object_get(g, "conditionType"));
            const json_t *c = t ? pod_condition(pod, t) : NULL;
            if (c)
                json_array_append(conds, (json_t *)c);
        }
        json_object_set_new(o, "status",
                            json_pack("{s:o}", "conditions", conds));
    }
    return o;
}

json_t *agent_pod_load(const char *pod_dir)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/pod.json", pod_dir);
    return json_load_file(path, 0, NULL);
}

int agent_pod_create(const struct agent_pod_env *env, const json_t *pod,
                     struct agent_pod **ret)
{
    const json_t *md = json_object_get(pod, "metadata");
    const json_t *spec, *kept;
    const char *uid = json_string_value(json_object_get(md, "uid"));
    const char *ns = json_string_value(json_object_get(md, "namespace"));
    const char *name = json_string_value(json_object_get(md, "name"));
    size_t total;
    struct agent_pod *p;
    char path[PATH_MAX];
    int rv;

    spec = json_object_get(pod, "spec");
    total = json_array_size(json_object_get(spec, "initContainers")) +
            json_array_size(json_object_get(spec, "containers"));
    if (uid == NULL || name == NULL || strchr(uid, '/') || strstr(uid, "..") ||
        strlen(uid) >= 128 || total == 0 || total > 64)
        return K1S_EINVALID;
    if (ns == NULL)
        ns = "default";
    p = calloc(1, sizeof *p);
    if (p == NULL)
        return K1S_ENOMEM;
    p->env = env;
    p->obj = agent_pod_keep(pod, NULL);
    p->c = calloc(total, sizeof *p->c);
    if (asprintf(&p->dir, "%s/%s_%s_%s", env->pods_dir, ns, name, uid) < 0)
        p->dir = NULL;
    if (asprintf(&p->key, "%s/%s", ns, name) < 0)
        p->key = NULL;
    p->ns = strdup(ns);
    if (p->obj == NULL || p->c == NULL || p->dir == NULL || p->key == NULL ||
        p->ns == NULL) {
        rv = K1S_ENOMEM;
        goto err_after_alloc;
    }
    snprintf(p->uid, sizeof p->uid, "%s", uid);
    p->name = p->key + strlen(ns) + 1;
    agent_pod_ip(uid, p->ip, sizeof p->ip);
    snprintf(p->cg_rel, sizeof p->cg_rel, "pod-%s", uid);
    kept = json_object_get(p->obj, "spec"); /* c->spec are taken from it */
    if (strlen(p->dir) >= PATH_MAX - 64) {
        rv = K1S_EINVALID; /* no room for the files below it */
        goto err_after_alloc;
    }
    rv = add_ctrs(p, json_object_get(kept, "initContainers"), true);
    p->n_init = p->n;
    if (rv == 0)
        rv = add_ctrs(p, json_object_get(kept, "containers"), false);
    if (rv != 0)
        goto err_after_alloc;
    mkdir(p->dir, 0700);
    snprintf(path, sizeof path, "%s/containers", p->dir);
    mkdir(path, 0700);
    for (size_t i = 0; i < p->n; i++) {
        snprintf(path, sizeof path, "%s/containers/%s", p->dir, p->c[i].name);
        mkdir(path, 0700);
    }
    snprintf(path, sizeof path, "%s/pod.json", p->dir);
    {
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s.tmp", path);
        if (json_dump_file(p->obj, tmp, JSON_COMPACT) == 0)
            rename(tmp, path);
    }
    p->start_ns = wall_ns();
    load_state(p, clock_mono_ns() / 1000000);
    p->changed = true;
    *ret = p;
    return 0;

err_after_alloc:
    for (size_t i = 0; i < p->n; i++)
        json_decref(p->c[i].spec);
    free(p->c);
    free(p->dir);
    free(p->key);
    free(p->ns);
    json_decref(p->obj);
    free(p);
    return rv;
}

void agent_pod_update(struct agent_pod *p, const json_t *pod)
{
    json_t *copy = agent_pod_keep(pod, p->obj);
    if (copy == NULL)
        return;
    if (!json_equal(json_object_get(copy, "status"),
                    json_object_get(p->obj, "status")))
        p->changed = true; /* a readiness gate moved: Ready may change */
    json_decref(p->obj);
    p->obj = copy;
}

/* ------------------------------------------------------------ running */

static void set_waiting(struct agent_pod *p, struct ctr *c, const char *reason,
                        const char *msg)
{
    if (c->state != CS_WAITING || strcmp(c->reason, reason) != 0 ||
        strcmp(c->message, msg ? msg : "") != 0)
        p->changed = true;
    c->state = CS_WAITING;
    snprintf(c->reason, sizeof c->reason, "%s", reason);
    snprintf(c->message, sizeof c->message, "%s", msg ? msg : "");
}

/* Ends the probe under way, if any. */
static void probe_stop(struct probe_state *ps)
{
    if (ps->run == NULL)
        return;
    agent_probe_cancel(ps->run);
    free(ps->run);
    ps->run = NULL;
}

static void probe_reset(struct probe_state *ps, int64_t start_ms,
                        const struct agent_timing *t)
{
    probe_stop(ps);
    ps->succ = ps->fail = 0;
    ps->passed = false;
    ps->next_ms =
        start_ms +
        json_integer_value(json_object_get(ps->spec, "initialDelaySeconds")) *
            t->second_ms;
}

/* Starts run number c->run_no + 1 (or the first). */
static void start_ctr(struct agent_pod *p, struct ctr *c, int64_t now_ms)
{
    const struct agent_pod_env *env = p->env;
    const json_t *cmd = json_object_get(c->spec, "command");
    const json_t *args = json_object_get(c->spec, "args");
    const char *wd = json_string_value(json_object_get(c->spec, "workingDir"));
    const char *image = json_string_value(json_object_get(c->spec, "image"));
    struct agent_run_spec rs;
    struct agent_mount *mounts = NULL;
    size_t n_mounts = 0, ac = 0;
    char **envp = NULL, **argv = NULL, err[512] = "";
    char run_dir[PATH_MAX], log[PATH_MAX];
    int rv, run_no = c->has_run ? c->run_no + 1 : c->run_no;
    const json_t *a;
    size_t i;

    if (json_array_size(cmd) == 0) {
        snprintf(err, sizeof err,
                 "container \"%s\" has no command: the k1s process runtime "
                 "runs command+args as a host process and cannot use the "
                 "entrypoint of image \"%s\" (it pulls no images); set "
                 "command",
                 c->name, image ? image : "");
        set_waiting(p, c, "CreateContainerError", err);
        c->next_start_ms = now_ms + p->env->timing->backoff_max_ms;
        return;
    }
    if (!p->volumes_ready) {
        rv = agent_volumes_prepare(env, p->obj, p->dir, err, sizeof err);
        if (rv != 0) {
            set_waiting(p, c, "CreateContainerConfigError", err);
            c->next_start_ms = now_ms + env->timing->backoff_base_ms;
            return;
        }
        p->volumes_ready = true;
    }
    rv = agent_env_build(env, p->obj, c->spec, p->dir, &envp, err, sizeof err);
    if (rv == 0)
        rv = agent_mounts_build(p->obj, c->spec, p->dir, &mounts, &n_mounts,
                                err, sizeof err);
    if (rv != 0) {
        set_waiting(p, c, "CreateContainerConfigError", err);
        c->next_start_ms = now_ms + env->timing->backoff_base_ms;
        goto out;
    }
    argv =
        calloc(json_array_size(cmd) + json_array_size(args) + 1, sizeof *argv);
    if (argv == NULL)
        goto out;
    json_array_foreach (cmd, i, a)
        argv[ac++] = agent_env_expand(
            json_string_value(a) ? json_string_value(a) : "", envp);
    json_array_foreach (args, i, a)
        argv[ac++] = agent_env_expand(
            json_string_value(a) ? json_string_value(a) : "", envp);
    for (i = 0; i < ac; i++)
        if (argv[i] == NULL)
            goto out;
    ctr_paths(p, c, run_no, run_dir, sizeof run_dir, log, sizeof log);
    mkdir(run_dir, 0700);
    unlink(log); /* a run number is used once; a stale file is old */
    {
        char x[PATH_MAX];
        snprintf(x, sizeof x, "%s/exit", run_dir);
        unlink(x);
    }
    snprintf(c->cg_rel, sizeof c->cg_rel, "%s/c-%s-%d", p->cg_rel, c->name,
             run_no);
    if (env->caps->cg.version) {
        int64_t mem = limit_of(c->spec, "memory") / 1000;
        int64_t cpu = limit_of(c->spec, "cpu");
        agent_cgroup_create(&env->caps->cg, p->cg_rel, 0, 0);
        if (agent_cgroup_create(&env->caps->cg, c->cg_rel, mem, cpu) != 0)
            log_warn("agent: %s/%s: cannot set up cgroup %s", p->key, c->name,
                     c->cg_rel);
    }
    memset(&rs, 0, sizeof rs);
    rs.argv = argv;
    rs.envp = envp;
    rs.workdir = wd && wd[0] ? wd : NULL;
    rs.run_dir = run_dir;
    rs.log_path = log;
    rs.log_max_bytes = env->log_max_bytes;
    rs.cgroup_rel = env->caps->cg.version ? c->cg_rel : NULL;
    rs.mounts = mounts;
    rs.n_mounts = n_mounts;
    c->run_no = run_no;
    c->has_run = true;
    agent_run_release(&c->run); /* the previous run's */
    rv = agent_run_start(env->caps, &rs, &c->run, err, sizeof err);
    snprintf(c->container_id, sizeof c->container_id, "k1s-process://%s-%s-%d",
             p->uid, c->name, run_no);
    if (rv != 0) {
        /* Never started: a terminated run, as Kubernetes reports it. */
        c->state = CS_TERMINATED;
        c->exit_code = 128;
        c->signal = 0;
        snprintf(c->reason, sizeof c->reason, "StartError");
        snprintf(c->message, sizeof c->message, "%s", err);
        c->started_ns = c->finished_ns = wall_ns();
        c->started_mono = now_ms;
        c->running = false;
        p->changed = true;
        goto out;
    }
    c->state = CS_RUNNING;
    c->running = true;
    agent_strv_free(c->envp);
    c->envp = envp; /* exec probes run with it */
    envp = NULL;
    c->reason[0] = c->message[0] = '\0';
    c->started_ns = wall_ns();
    c->started_mono = now_ms;
    c->kill_at_ms = 0;
    c->ready = false;
    c->started = c->startup.spec == NULL;
    probe_reset(&c->startup, now_ms, env->timing);
    probe_reset(&c->live, now_ms, env->timing);
    probe_reset(&c->readyp, now_ms, env->timing);
    if (c->readyp.spec == NULL)
        c->ready = c->started;
    p->changed = true;
    save_state(p);
out:
    if (argv) {
        for (i = 0; i < ac; i++)
            free(argv[i]);
        free(argv);
    }
    agent_strv_free(envp);
    agent_mounts_free(mounts, n_mounts);
}

static void reap(struct agent_pod *p, struct ctr *c)
{
    struct agent_exit ex;
    const struct agent_cgroups *cg = &p->env->caps->cg;

    if (!c->running || agent_run_poll(&c->run, &ex) != 1)
        return;
    c->running = false;
    c->state = CS_TERMINATED;
    c->exit_code = ex.exit_code;
    c->signal = ex.signal;
    c->finished_ns = ex.finished_ns ? ex.finished_ns : wall_ns();
    c->message[0] = '\0';
    if (ex.exec_errno) {
        snprintf(c->reason, sizeof c->reason, "StartError");
        snprintf(c->message, sizeof c->message, "exec: %s",
                 strerror(ex.exec_errno));
        c->exit_code = 128;
    } else if (cg->memory && agent_cgroup_oom_kills(cg, c->cg_rel) > 0) {
        snprintf(c->reason, sizeof c->reason, "OOMKilled");
    } else if (ex.exit_code == 0) {
        snprintf(c->reason, sizeof c->reason, "Completed");
    } else {
        snprintf(c->reason, sizeof c->reason, "Error");
        if (ex.lost)
            snprintf(c->message, sizeof c->message,
                     "the container's runtime shim disappeared");
    }
    c->ready = false;
    c->started = false;
    c->kill_at_ms = 0;
    probe_stop(&c->live);
    probe_stop(&c->readyp);
    probe_stop(&c->startup);
    if (cg->version) {
        agent_cgroup_kill(cg, c->cg_rel, SIGKILL);
        agent_cgroup_remove(cg, c->cg_rel);
    }
    p->changed = true;
    save_state(p);
}

static bool should_restart(const struct agent_pod *p, const struct ctr *c)
{
    const char *rp = restart_policy(p);
    if (c->init)
        return strcmp(rp, "Never") != 0 && c->exit_code != 0;
    if (strcmp(rp, "Always") == 0)
        return true;
    if (strcmp(rp, "OnFailure") == 0)
        return c->exit_code != 0;
    return false;
}

/* A terminated container that will be restarted: schedule it with the
 * kubelet's back-off and report CrashLoopBackOff while it waits. */
static void plan_restart(struct agent_pod *p, struct ctr *c, int64_t now_ms)
{
    const struct agent_timing *t = p->env->timing;
    int64_t delay;
    char msg[512];

    if (now_ms - c->started_mono >= t->backoff_reset_ms)
        c->backoff_ms = 0;
    delay = c->backoff_ms;
    c->backoff_ms = c->backoff_ms ? c->backoff_ms * 2 : t->backoff_base_ms;
    if (c->backoff_ms > t->backoff_max_ms)
        c->backoff_ms = t->backoff_max_ms;
    c->last.set = true;
    c->last.exit_code = c->exit_code;
    c->last.signal = c->signal;
    snprintf(c->last.reason, sizeof c->last.reason, "%s", c->reason);
    snprintf(c->last.message, sizeof c->last.message, "%s", c->message);
    c->last.started_ns = c->started_ns;
    c->last.finished_ns = c->finished_ns;
    snprintf(c->last.container_id, sizeof c->last.container_id, "%s",
             c->container_id);
    c->restarts++;
    c->next_start_ms = now_ms + delay;
    if (delay > 0) {
        snprintf(msg, sizeof msg,
                 "back-off %llds restarting failed container=%s pod=%s_%s(%s)",
                 (long long)(delay / t->second_ms), c->name, p->name, p->ns,
                 p->uid);
        set_waiting(p, c, "CrashLoopBackOff", msg);
    } else {
        set_waiting(p, c, "ContainerCreating", "");
    }
    save_state(p);
}

static void kill_ctr(struct agent_pod *p, struct ctr *c, int sig)
{
    if (!c->running)
        return;
    agent_run_signal(&c->run, sig);
    if (sig == SIGKILL && p->env->caps->cg.version)
        agent_cgroup_kill(&p->env->caps->cg, c->cg_rel, SIGKILL);
}

static int64_t grace_ms(const struct agent_pod *p)
{
    const json_t *g = json_object_get(json_object_get(p->obj, "spec"),
                                      "terminationGracePeriodSeconds");
    return (json_is_integer(g) ? json_integer_value(g) : 30) *
           p->env->timing->second_ms;
}

/* Runs one probe if due; returns +1 on a verdict of success, -1 on a
 * verdict of failure, 0 otherwise. */
static int probe_tick(struct agent_pod *p, struct ctr *c,
                      struct probe_state *ps, char *const *envp, int64_t now_ms)
{
    const struct agent_timing *t = p->env->timing;
    const json_t *s = ps->spec;
    int64_t period, timeout, sthr, fthr;
    enum agent_probe_result r;

    period = json_integer_value(json_object_get(s, "periodSeconds"));
    timeout = json_integer_value(json_object_get(s, "timeoutSeconds"));
    sthr = json_integer_value(json_object_get(s, "successThreshold"));
    fthr = json_integer_value(json_object_get(s, "failureThreshold"));
    period = (period > 0 ? period : 10) * t->second_ms;
    timeout = (timeout > 0 ? timeout : 1) * t->second_ms;
    sthr = sthr > 0 ? sthr : 1;
    fthr = fthr > 0 ? fthr : 3;
    if (ps->run == NULL) {
        if (now_ms < ps->next_ms)
            return 0;
        ps->next_ms = now_ms + period;
        ps->run = calloc(1, sizeof *ps->run);
        if (ps->run == NULL || agent_probe_start(ps->run, s, c->spec, envp,
                                                 p->ip, now_ms, timeout) != 0)
            r = AGENT_PROBE_FAILURE;
        else
            r = agent_probe_step(ps->run, now_ms);
    } else {
        r = agent_probe_step(ps->run, now_ms);
    }
    if (r == AGENT_PROBE_PENDING)
        return 0;
    probe_stop(ps);
    if (r == AGENT_PROBE_SUCCESS) {
        ps->fail = 0;
        if (++ps->succ >= sthr) {
            ps->passed = true;
            return 1;
        }
        return 0;
    }
    ps->succ = 0;
    if (++ps->fail >= fthr) {
        ps->passed = false;
        return -1;
    }
    return 0;
}

static void probe_ctr(struct agent_pod *p, struct ctr *c, int64_t now_ms)
{
    char **envp = c->envp, err[256];

    if (!c->running || c->kill_at_ms)
        return;
    if (c->startup.spec == NULL && c->live.spec == NULL &&
        c->readyp.spec == NULL)
        return;
    /* Exec probes see the container's environment (an adopted run's is
     * built once, here). */
    if (envp == NULL && agent_env_build(p->env, p->obj, c->spec, p->dir,
                                        &c->envp, err, sizeof err) == 0)
        envp = c->envp;
    if (!c->started) {
        int v = probe_tick(p, c, &c->startup, envp, now_ms);
        if (v > 0) {
            c->started = true;
            probe_reset(&c->live, now_ms, p->env->timing);
            probe_reset(&c->readyp, now_ms, p->env->timing);
            if (c->readyp.spec == NULL)
                c->ready = true;
            p->changed = true;
        } else if (v < 0) {
            log_info("agent: %s/%s: startup probe failed, killing", p->key,
                     c->name);
            kill_ctr(p, c, SIGTERM);
            c->kill_at_ms = now_ms + grace_ms(p);
        }
        return;
    }
    if (c->live.spec) {
        int v = probe_tick(p, c, &c->live, envp, now_ms);
        if (v < 0) {
            log_info("agent: %s/%s: liveness probe failed, restarting", p->key,
                     c->name);
            kill_ctr(p, c, SIGTERM);
            c->kill_at_ms = now_ms + grace_ms(p);
        }
    }
    if (c->readyp.spec && !c->kill_at_ms) {
        int v = probe_tick(p, c, &c->readyp, envp, now_ms);
        if (v != 0 && c->ready != (v > 0)) {
            c->ready = v > 0;
            p->changed = true;
        }
    }
}

void agent_pod_terminate(struct agent_pod *p, int64_t grace, int64_t now_ms)
{
    int64_t at = now_ms + (grace < 0 ? grace_ms(p) : grace);
    if (!p->terminating || at < p->kill_at_ms)
        p->kill_at_ms = at;
    p->terminating = true;
}

bool agent_pod_terminated(const struct agent_pod *p)
{
    if (!p->terminating)
        return false;
    for (size_t i = 0; i < p->n; i++)
        if (p->c[i].running)
            return false;
    return true;
}

static void sync_ctr_app(struct agent_pod *p, struct ctr *c, int64_t now_ms)
{
    const struct agent_timing *t = p->env->timing;

    if (c->running) {
        if (c->kill_at_ms && now_ms >= c->kill_at_ms)
            kill_ctr(p, c, SIGKILL);
        else
            probe_ctr(p, c, now_ms);
        if (now_ms - c->started_mono >= t->backoff_reset_ms && c->backoff_ms) {
            c->backoff_ms = 0;
            save_state(p);
        }
        return;
    }
    if (c->state == CS_TERMINATED) {
        if (!should_restart(p, c))
            return;
        plan_restart(p, c, now_ms);
    }
    if (c->state == CS_WAITING && now_ms >= c->next_start_ms)
        start_ctr(p, c, now_ms);
}

bool agent_pod_sync(struct agent_pod *p, int64_t now_ms)
{
    bool changed;

    for (size_t i = 0; i < p->n; i++)
        reap(p, &p->c[i]);
    if (p->terminating) {
        for (size_t i = 0; i < p->n; i++) {
            struct ctr *c = &p->c[i];
            if (!p->term_sent)
                kill_ctr(p, c, SIGTERM);
            if (now_ms >= p->kill_at_ms)
                kill_ctr(p, c, SIGKILL);
            if (c->ready) {
                c->ready = false;
                p->changed = true;
            }
        }
        p->term_sent = true;
        if (now_ms >= p->kill_at_ms && !p->killed) {
            p->killed = true;
            if (p->env->caps->cg.version)
                agent_cgroup_kill(&p->env->caps->cg, p->cg_rel, SIGKILL);
        }
        goto out;
    }
    /* Init containers, one at a time. */
    for (size_t i = 0; i < p->n_init; i++) {
        struct ctr *c = &p->c[i];
        if (c->state == CS_TERMINATED && c->exit_code == 0)
            continue;
        if (c->running)
            goto out;
        if (c->state == CS_TERMINATED) {
            if (!should_restart(p, c)) {
                if (!p->failed_init)
                    p->changed = true;
                p->failed_init = true;
                goto out;
            }
            plan_restart(p, c, now_ms);
        }
        if (c->state == CS_WAITING && now_ms >= c->next_start_ms)
            start_ctr(p, c, now_ms);
        goto out;
    }
    for (size_t i = p->n_init; i < p->n; i++)
        sync_ctr_app(p, &p->c[i], now_ms);
out:
    changed = p->changed;
    p->changed = false;
    return changed;
}

int64_t agent_pod_next_wake(const struct agent_pod *p, int64_t now_ms)
{
    int64_t w = now_ms + 1000;
    for (size_t i = 0; i < p->n; i++) {
        const struct ctr *c = &p->c[i];
        if (c->state == CS_WAITING && c->next_start_ms < w)
            w = c->next_start_ms;
        if (c->running) {
            const struct probe_state *ps[3] = {&c->startup, &c->live,
                                               &c->readyp};
            for (int k = 0; k < 3; k++) {
                if (ps[k]->spec == NULL)
                    continue;
                if (ps[k]->run)
                    return now_ms + 20;
                if (ps[k]->next_ms < w)
                    w = ps[k]->next_ms;
            }
            if (c->kill_at_ms && c->kill_at_ms < w)
                w = c->kill_at_ms;
        }
    }
    if (p->terminating && p->kill_at_ms < w)
        w = p->kill_at_ms;
    return w < now_ms ? now_ms : w;
}

/* ------------------------------------------------------------ status */

static json_t *time_json(int64_t ns)
{
    char b[32];
    return json_string(clock_rfc3339(ns, b, sizeof b));
}

static json_t *term_status(const struct term_info *t)
{
    json_t *j = json_pack(
        "{s:i,s:s,s:o,s:o,s:s}", "exitCode", t->exit_code, "reason", t->reason,
        "startedAt", time_json(t->started_ns), "finishedAt",
        time_json(t->finished_ns), "containerID", t->container_id);
    if (t->signal)
        json_object_set_new(j, "signal", json_integer(t->signal));
    if (t->message[0])
        json_object_set_new(j, "message", json_string(t->message));
    return j;
}

static json_t *ctr_status(const struct agent_pod *p, const struct ctr *c)
{
    const char *image = json_string_value(json_object_get(c->spec, "image"));
    json_t *st = json_object(), *state = json_object();
    char image_id[600];

    (void)p;
    snprintf(image_id, sizeof image_id, "k1s-process://%s", image ? image : "");
    if (c->state == CS_RUNNING) {
        json_object_set_new(
            state, "running",
            json_pack("{s:o}", "startedAt", time_json(c->started_ns)));
    } else if (c->state == CS_TERMINATED) {
        struct term_info t;
        memset(&t, 0, sizeof t);
        t.exit_code = c->exit_code;
        t.signal = c->signal;
        snprintf(t.reason, sizeof t.reason, "%s", c->reason);
        snprintf(t.message, sizeof t.message, "%s", c->message);
        t.started_ns = c->started_ns;
        t.finished_ns = c->finished_ns;
        snprintf(t.container_id, sizeof t.container_id, "%s", c->container_id);
        json_object_set_new(state, "terminated", term_status(&t));
    } else {
        json_t *w = json_pack("{s:s}", "reason", c->reason);
        if (c->message[0])
            json_object_set_new(w, "message", json_string(c->message));
        json_object_set_new(state, "waiting", w);
    }
    json_object_set_new(st, "name", json_string(c->name));
    json_object_set_new(st, "state", state);
    json_object_set_new(
        st, "lastState",
        c->last.set ? json_pack("{s:o}", "terminated", term_status(&c->last))
                    : json_object());
    json_object_set_new(st, "ready", json_boolean(c->ready));
    json_object_set_new(st, "restartCount", json_integer(c->restarts));
    json_object_set_new(st, "image", json_string(image ? image : ""));
    json_object_set_new(st, "imageID", json_string(image_id));
    if (c->has_run)
        json_object_set_new(st, "containerID", json_string(c->container_id));
    json_object_set_new(st, "started", json_boolean(c->running && c->started));
    return st;
}

static void set_cond(struct agent_pod *p, int i, bool status)
{
    struct cond *c = &p->conds[i];
    if (!c->set || c->status != status) {
        c->set = true;
        c->status = status;
        c->since_ns = wall_ns();
    }
}

static const char *pod_phase(const struct agent_pod *p, bool *ret_inited)
{
    size_t ok = 0, failed = 0, running = 0, ever = 0;

    *ret_inited = true;
    if (p->failed_init) {
        *ret_inited = false;
        return "Failed";
    }
    for (size_t i = 0; i < p->n_init; i++)
        if (!(p->c[i].state == CS_TERMINATED && p->c[i].exit_code == 0)) {
            *ret_inited = false;
            return "Pending";
        }
    for (size_t i = p->n_init; i < p->n; i++) {
        const struct ctr *c = &p->c[i];
        if (c->running)
            running++;
        if (c->has_run)
            ever++;
        if (c->state == CS_TERMINATED && !should_restart(p, c)) {
            if (c->exit_code == 0)
                ok++;
            else
                failed++;
        }
    }
    if (ok + failed == p->n - p->n_init)
        return failed ? "Failed" : "Succeeded";
    if (running > 0 || ever == p->n - p->n_init)
        return "Running";
    return "Pending";
}

json_t *agent_pod_status(struct agent_pod *p)
{
    static const char *const types[4] = {"PodScheduled", "Initialized",
                                         "ContainersReady", "Ready"};
    json_t *st = json_object(), *conds = json_array(), *cs = json_array(),
           *ics = json_array();
    bool inited, all_ready = true, gates;
    const char *phase = pod_phase(p, &inited);
    char ip[64], gate_msg[300];

    snprintf(ip, sizeof ip, "%s", p->env->host_ip);
    /* hostIP is the node's; podIP the pod's own loopback address */
    for (size_t i = p->n_init; i < p->n; i++)
        if (!p->c[i].ready)
            all_ready = false;
    set_cond(p, 0, true);
    set_cond(p, 1, inited);
    gates = agent_pod_gates_ready(p->obj, gate_msg, sizeof gate_msg);
    set_cond(p, 2, all_ready && inited);
    set_cond(p, 3, all_ready && inited && gates);
    for (int i = 0; i < 4; i++) {
        json_t *c =
            json_pack("{s:s,s:s,s:n,s:o}", "type", types[i], "status",
                      p->conds[i].status ? "True" : "False", "lastProbeTime",
                      "lastTransitionTime", time_json(p->conds[i].since_ns));
        if (!p->conds[i].status && i == 3 && p->conds[2].status) {
            /* containers ready, a readiness gate not */
            json_object_set_new(c, "reason",
                                json_string("ReadinessGatesNotReady"));
            json_object_set_new(c, "message", json_string(gate_msg));
        } else if (!p->conds[i].status && (i == 2 || i == 3)) {
            bool done =
                strcmp(phase, "Succeeded") == 0 || strcmp(phase, "Failed") == 0;
            json_object_set_new(
                c, "reason",
                json_string(done ? "PodCompleted" : "ContainersNotReady"));
        }
        if (!p->conds[i].status && i == 1)
            json_object_set_new(c, "reason",
                                json_string("ContainersNotInitialized"));
        json_array_append_new(conds, c);
    }
    for (size_t i = 0; i < p->n; i++)
        json_array_append_new(i < p->n_init ? ics : cs,
                              ctr_status(p, &p->c[i]));
    json_object_set_new(st, "phase", json_string(phase));
    json_object_set_new(st, "conditions", conds);
    json_object_set_new(st, "hostIP", json_string(ip));
    json_object_set_new(st, "hostIPs", json_pack("[{s:s}]", "ip", ip));
    json_object_set_new(st, "podIP", json_string(p->ip));
    json_object_set_new(st, "podIPs", json_pack("[{s:s}]", "ip", p->ip));
    json_object_set_new(st, "startTime", time_json(p->start_ns));
    json_object_set_new(
        st, "qosClass",
        json_string(agent_qos_class(json_object_get(p->obj, "spec"))));
    json_object_set_new(st, "containerStatuses", cs);
    if (p->n_init)
        json_object_set_new(st, "initContainerStatuses", ics);
    else
        json_decref(ics);
    return st;
}

void agent_pod_destroy(struct agent_pod *p, bool purge)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        struct ctr *c = &p->c[i];
        probe_stop(&c->live);
        probe_stop(&c->readyp);
        probe_stop(&c->startup);
        agent_run_release(&c->run);
        agent_strv_free(c->envp);
        json_decref(c->spec);
    }
    if (purge) {
        char cmd[PATH_MAX + 32];
        if (p->env->caps->cg.version) {
            agent_cgroup_kill(&p->env->caps->cg, p->cg_rel, SIGKILL);
            agent_cgroup_remove(&p->env->caps->cg, p->cg_rel);
        }
        /* The pod's directory: logs, volumes, run records. */
        snprintf(cmd, sizeof cmd, "%s", p->dir);
        agent_rm_rf(cmd);
    }
    free(p->c);
    free(p->dir);
    free(p->key);
    free(p->ns);
    json_decref(p->obj);
    free(p);
}

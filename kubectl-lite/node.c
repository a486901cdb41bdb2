/*
 * DESIGN: `cordon`, `uncordon` and `drain`, as kubectl's pkg/cmd/drain and
 * k8s.io/kubectl/pkg/drain do them (kubectl-wire.md §4.9).
 *
 * cordon/uncordon read each node (NODE… or -l SEL) and, when
 * spec.unschedulable is not already what is wanted, send the strategic
 * merge patch {"spec":{"unschedulable":true|null}}; a failed patch is
 * reported and the next node tried, and the command still succeeds, as in
 * kubectl.
 *
 * drain cordons, then for each node lists the pods bound to it
 * (fieldSelector=spec.nodeName=NODE, --pod-selector) and runs kubectl's
 * filters in kubectl's order, the first that says "keep" winning:
 * deletion already older than --skip-wait-for-delete-timeout (skip),
 * DaemonSet-owned (error, or skipped with a warning under
 * --ignore-daemonsets), mirror pods (skip), emptyDir volumes (error unless
 * --delete-emptydir-data), no controller (error unless --force). Errors
 * stop the node before anything is evicted. The rest are evicted through
 * pods/eviction when /api/v1 advertises it (else deleted), all at once;
 * a 429 is retried every 5 s; each pod is then polled every second until
 * it is gone (404, or another uid), printing "pod/x evicted". --timeout
 * bounds the whole node.
 *
 * kubectl runs one goroutine per pod; here one loop keeps a state per pod
 * (evict due at T / waiting for it to go / done / failed), which gives the
 * same requests and messages, in a deterministic order.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/clock.h"

#define MIRROR_ANN "kubernetes.io/config.mirror"

#define DS_FATAL "DaemonSet-managed Pods (use --ignore-daemonsets to ignore)"
#define DS_WARNING "ignoring DaemonSet-managed Pods"
#define LOCAL_FATAL                                                            \
    "Pods with local storage (use --delete-emptydir-data to override)"
#define LOCAL_WARNING "deleting Pods with local storage"
#define UNMANAGED_FATAL                                                        \
    "cannot delete Pods that declare no controller (use --force to "           \
    "override)"
#define UNMANAGED_WARNING "deleting Pods that declare no controller"

struct drain_opts {
    bool force, ignore_ds, delete_emptydir, disable_eviction;
    long grace;
    long skip_wait_s;
    int64_t timeout_ns; /* 0 = none */
    const char *pod_selector;
    const char *dry_run; /* NULL, "client", "server" */
};

/* ------------------------------------------------------------ helpers */

/* Go's Duration.String() for whole milliseconds and up: "20s", "1m30s",
 * "1h0m0s", "500ms". */
static void go_duration_string(int64_t ns, char *out, size_t len)
{
    int64_t ms = ns / 1000000;
    if (ns == 0) {
        snprintf(out, len, "0s");
    } else if (ms < 1000) {
        snprintf(out, len, "%lldms", (long long)ms);
    } else {
        int64_t h = ms / 3600000, m = ms / 60000 % 60;
        double s = (double)(ms % 60000) / 1000.0;
        if (h > 0)
            snprintf(out, len, "%lldh%lldm%gs", (long long)h, (long long)m, s);
        else if (m > 0)
            snprintf(out, len, "%lldm%gs", (long long)m, s);
        else
            snprintf(out, len, "%gs", s);
    }
}

static const char *dry_suffix(const char *dry_run)
{
    if (dry_run == NULL)
        return "";
    return strcmp(dry_run, "server") == 0 ? " (server dry run)" : " (dry run)";
}

/* The message of a non-2xx answer (new string, free()). */
static char *resp_message(const struct kctl_resp *r)
{
    json_t *st =
        json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    const char *m = json_string_value(json_object_get(st, "message"));
    char *out;
    if (m != NULL) {
        out = strdup(m);
    } else {
        char buf[160];
        snprintf(buf, sizeof buf,
                 "the server responded with the status code %ld but did not "
                 "return more information",
                 r->status);
        out = strdup(buf);
    }
    json_decref(st);
    return out;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts;
    if (ns <= 0)
        return;
    ts.tv_sec = (time_t)(ns / 1000000000LL);
    ts.tv_nsec = (long)(ns % 1000000000LL);
    nanosleep(&ts, NULL);
}

/* RFC 3339 UTC seconds ("2026-12-07T12:00:00Z") → time_t; -1 if bad. */
static time_t parse_time(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return (time_t)-1;
    return timegm(&tm);
}

/* ----------------------------------------------------------- the nodes */

static const struct kctl_resource node_res = {
    .version = "v1",
    .resource = "nodes",
    .singular = "node",
    .kind = "Node",
};

/* Reads the nodes the arguments name, or the ones -l selects. Returns a
 * new array of Node objects, or NULL after printing. */
static json_t *find_nodes(struct kctl_client *cl, const struct kctl_strv *pos,
                          const char *selector)
{
    json_t *out = json_array();

    if (selector != NULL) {
        struct buf p;
        json_t *list = NULL, *it;
        size_t i;
        buf_init(&p);
        kctl_resource_path(&p, &node_res, NULL, NULL);
        buf_printf(&p, "?labelSelector=");
        kctl_query_escape(&p, selector);
        if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &list) != 0) {
            buf_close(&p);
            json_decref(out);
            return NULL;
        }
        buf_close(&p);
        json_array_foreach (json_object_get(list, "items"), i, it) {
            json_array_append(out, it);
        }
        json_decref(list);
        return out;
    }
    for (int i = 0; i < pos->n; i++) {
        const char *name = pos->v[i];
        const char *slash = strchr(name, '/');
        struct buf p;
        json_t *node = NULL;
        if (slash != NULL) {
            struct kctl_resource r;
            char type[128];
            snprintf(type, sizeof type, "%.*s", (int)(slash - name), name);
            if (kctl_resource_find(cl, type, &r) != 0) {
                json_decref(out);
                return NULL;
            }
            if (strcmp(r.kind, "Node") != 0) {
                fprintf(stderr,
                        "error: the server doesn't have a resource "
                        "type \"%s\"\n",
                        type);
                json_decref(out);
                return NULL;
            }
            name = slash + 1;
        }
        buf_init(&p);
        kctl_resource_path(&p, &node_res, NULL, name);
        if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &node) != 0) {
            buf_close(&p);
            json_decref(out);
            return NULL;
        }
        buf_close(&p);
        json_array_append_new(out, node);
    }
    return out;
}

/* RunCordonOrUncordon: never fails the command (kubectl only reports). */
static void cordon_nodes(struct kctl_client *cl, const json_t *nodes,
                         bool desired, const char *dry_run)
{
    const char *verb = desired ? "cordon" : "uncordon";
    size_t i;
    json_t *node;

    json_array_foreach (nodes, i, node) {
        const char *name = kctl_str_at(node, "metadata", "name");
        bool cur = json_is_true(
            json_object_get(json_object_get(node, "spec"), "unschedulable"));
        if (cur == desired) {
            printf("node/%s already %sed%s\n", name, verb, dry_suffix(dry_run));
            continue;
        }
        if (dry_run == NULL || strcmp(dry_run, "server") == 0) {
            json_t *patch = json_pack("{s:{s:o}}", "spec", "unschedulable",
                                      desired ? json_true() : json_null());
            char *body = json_dumps(patch, JSON_COMPACT);
            struct buf p;
            struct kctl_resp resp;
            int rv;
            json_decref(patch);
            buf_init(&p);
            kctl_resource_path(&p, &node_res, NULL, name);
            if (dry_run != NULL)
                buf_printf(&p, "?dryRun=All");
            rv = kctl_http(cl, "PATCH", p.data,
                           "application/strategic-merge-patch+json", body,
                           strlen(body), NULL, &resp);
            free(body);
            buf_close(&p);
            if (rv != 0) {
                kctl_resp_close(&resp);
                continue;
            }
            if (resp.status < 200 || resp.status > 299) {
                char *m = resp_message(&resp);
                fprintf(stderr, "error: unable to %s node \"%s\": %s\n", verb,
                        name, m);
                free(m);
                kctl_resp_close(&resp);
                continue;
            }
            kctl_resp_close(&resp);
        }
        printf("node/%s %sed%s\n", name, verb, dry_suffix(dry_run));
    }
    fflush(stdout);
}

static int cordon_verb(struct kctl_client *cl, int argc, char **argv,
                       bool desired)
{
    const char *selector = NULL, *dry = NULL, *dry_run;
    const struct kctl_opt opts[] = {
        {"selector", 'l', KCTL_OPT_STR, &selector},
        {"dry-run", 0, KCTL_OPT_STR, &dry},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    json_t *nodes;
    const char *verb = desired ? "cordon" : "uncordon";

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (pos.n == 0 && selector == NULL) {
        fprintf(stderr,
                "error: USAGE: %s NODE [flags]\nSee 'kubectl-lite %s -h' for "
                "help and examples\n",
                verb, verb);
        free(pos.v);
        return 1;
    }
    if (pos.n > 0 && selector != NULL) {
        fprintf(stderr,
                "error: cannot specify both a node name and a --selector "
                "option\nSee 'kubectl-lite %s -h' for help and examples\n",
                verb);
        free(pos.v);
        return 1;
    }
    if (kctl_parse_dry_run(dry, &dry_run) != 0) {
        free(pos.v);
        return 1;
    }
    nodes = find_nodes(cl, &pos, selector);
    free(pos.v);
    if (nodes == NULL)
        return 1;
    cordon_nodes(cl, nodes, desired, dry_run);
    json_decref(nodes);
    return 0;
}

int kctl_cmd_cordon(struct kctl_client *cl, int argc, char **argv)
{
    return cordon_verb(cl, argc, argv, true);
}

int kctl_cmd_uncordon(struct kctl_client *cl, int argc, char **argv)
{
    return cordon_verb(cl, argc, argv, false);
}

/* ------------------------------------------------------------- filters */

/* What the filters say: evict; leave alone; evict with a warning; leave
 * alone with a warning (DaemonSet pods under --ignore-daemonsets); refuse
 * the node. */
enum pod_verdict { POD_DELETE, POD_SKIP, POD_WARN, POD_WARN_SKIP, POD_ERROR };

/* A message → pods list, in first-seen order (kubectl's map, ordered). */
static void group_add(json_t *groups, const char *msg, const char *ns,
                      const char *name)
{
    json_t *g = json_object_get(groups, msg);
    char who[512];
    snprintf(who, sizeof who, "%s/%s", ns ? ns : "", name);
    if (g == NULL) {
        g = json_array();
        json_object_set_new(groups, msg, g);
    }
    json_array_append_new(g, json_string(who));
}

static void group_text(const json_t *groups, const char *fmt_prefix,
                       const char *sep, struct buf *out)
{
    const char *msg;
    json_t *pods;
    bool first = true;

    json_object_foreach ((json_t *)groups, msg, pods) {
        size_t i;
        json_t *p;
        buf_printf(out, "%s%s%s: ", first ? "" : sep, fmt_prefix, msg);
        json_array_foreach (pods, i, p) {
            buf_printf(out, "%s%s", i ? ", " : "", json_string_value(p));
        }
        first = false;
    }
}

static const json_t *controller_of(const json_t *pod)
{
    size_t i;
    json_t *ref;
    json_array_foreach (
        json_object_get(json_object_get(pod, "metadata"), "ownerReferences"), i,
        ref) {
        if (json_is_true(json_object_get(ref, "controller")))
            return ref;
    }
    return NULL;
}

static bool pod_finished(const json_t *pod)
{
    const char *ph = kctl_str_at(pod, "status", "phase");
    return ph != NULL &&
           (strcmp(ph, "Succeeded") == 0 || strcmp(ph, "Failed") == 0);
}

static bool should_skip_deleted(const json_t *pod, long skip_wait_s)
{
    const char *dt = kctl_str_at(pod, "metadata", "deletionTimestamp");
    time_t t;
    if (skip_wait_s <= 0 || dt == NULL)
        return false;
    t = parse_time(dt);
    return t != (time_t)-1 && (long)(time(NULL) - t) > skip_wait_s;
}

/* makeFilters() run over one pod: the verdict and its message. */
static enum pod_verdict filter_pod(struct kctl_client *cl, const json_t *pod,
                                   const struct drain_opts *o, char *msg,
                                   size_t len)
{
    const json_t *ctrl = controller_of(pod);
    const json_t *vols =
        json_object_get(json_object_get(pod, "spec"), "volumes");
    enum pod_verdict v = POD_DELETE;
    bool local = false;
    size_t i;
    json_t *vol;

    msg[0] = '\0';
    /* skipDeletedFilter */
    if (should_skip_deleted(pod, o->skip_wait_s))
        return POD_SKIP;
    /* daemonSetFilter */
    if (ctrl != NULL && kctl_str_at(ctrl, "kind", NULL) &&
        strcmp(kctl_str_at(ctrl, "kind", NULL), "DaemonSet") == 0 &&
        !pod_finished(pod)) {
        struct kctl_resource ds = {.group = "apps",
                                   .version = "v1",
                                   .resource = "daemonsets",
                                   .namespaced = true};
        struct buf p;
        struct kctl_resp resp;
        buf_init(&p);
        kctl_resource_path(&p, &ds, kctl_str_at(pod, "metadata", "namespace"),
                           kctl_str_at(ctrl, "name", NULL));
        if (kctl_http(cl, "GET", p.data, NULL, NULL, 0, NULL, &resp) != 0) {
            snprintf(msg, len, "cannot get the DaemonSet");
            buf_close(&p);
            kctl_resp_close(&resp);
            return POD_ERROR;
        }
        buf_close(&p);
        if (resp.status < 200 || resp.status > 299) {
            char *m = resp_message(&resp);
            snprintf(msg, len, "%s", m);
            free(m);
            v = resp.status == 404 && o->force ? POD_WARN : POD_ERROR;
            kctl_resp_close(&resp);
            return v;
        }
        kctl_resp_close(&resp);
        if (!o->ignore_ds) {
            snprintf(msg, len, "%s", DS_FATAL);
            return POD_ERROR;
        }
        snprintf(msg, len, "%s", DS_WARNING);
        return POD_WARN_SKIP;
    }
    /* mirrorPodFilter */
    if (json_object_get(
            json_object_get(json_object_get(pod, "metadata"), "annotations"),
            MIRROR_ANN) != NULL)
        return POD_SKIP;
    /* localStorageFilter */
    json_array_foreach (vols, i, vol) {
        if (json_object_get(vol, "emptyDir") != NULL)
            local = true;
    }
    if (local && !pod_finished(pod)) {
        if (!o->delete_emptydir) {
            snprintf(msg, len, "%s", LOCAL_FATAL);
            return POD_ERROR;
        }
        snprintf(msg, len, "%s", LOCAL_WARNING);
        v = POD_WARN;
    }
    /* unreplicatedFilter */
    if (pod_finished(pod) || ctrl != NULL)
        return v == POD_WARN ? POD_WARN : POD_DELETE;
    if (o->force) {
        snprintf(msg, len, "%s", UNMANAGED_WARNING);
        return POD_WARN;
    }
    snprintf(msg, len, "%s", UNMANAGED_FATAL);
    return POD_ERROR;
}

/* GetPodsForDeletion: the pods to evict (new array), warnings and errors
 * (texts appended). Returns the number of errors, or -1 when the list
 * failed (printed). */
static int pods_for_deletion(struct kctl_client *cl, const char *node,
                             const struct drain_opts *o, json_t **ret_pods,
                             struct buf *warnings, struct buf *errors,
                             json_t **ret_error_list)
{
    struct buf p;
    json_t *list = NULL, *it, *warn = json_object(), *err = json_object();
    struct buf sel;
    size_t i;
    int nerr;

    *ret_pods = json_array();
    *ret_error_list = json_array();
    buf_init(&p);
    buf_init(&sel);
    buf_printf(&sel, "spec.nodeName=%s", node);
    buf_printf(&p, "/api/v1/pods?fieldSelector=");
    kctl_query_escape(&p, sel.data);
    buf_close(&sel);
    if (o->pod_selector != NULL) {
        buf_printf(&p, "&labelSelector=");
        kctl_query_escape(&p, o->pod_selector);
    }
    if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &list) != 0) {
        buf_close(&p);
        json_decref(warn);
        json_decref(err);
        return -1;
    }
    buf_close(&p);
    json_array_foreach (json_object_get(list, "items"), i, it) {
        char msg[512];
        enum pod_verdict v = filter_pod(cl, it, o, msg, sizeof msg);
        const char *ns = kctl_str_at(it, "metadata", "namespace");
        const char *name = kctl_str_at(it, "metadata", "name");
        switch (v) {
        case POD_WARN_SKIP:
            group_add(warn, msg, ns, name);
            break;
        case POD_DELETE:
            json_array_append(*ret_pods, it);
            break;
        case POD_WARN:
            group_add(warn, msg, ns, name);
            json_array_append(*ret_pods, it);
            break;
        case POD_ERROR:
            group_add(err, msg, ns, name);
            break;
        case POD_SKIP:
            break;
        }
    }
    json_decref(list);
    group_text(warn, "", "; ", warnings);
    {
        const char *msg;
        json_t *pods;
        json_object_foreach (err, msg, pods) {
            struct buf one;
            json_t *single = json_object();
            buf_init(&one);
            json_object_set(single, msg, pods);
            group_text(single, "cannot delete ", "", &one);
            json_array_append_new(*ret_error_list, json_string(one.data));
            buf_close(&one);
            json_decref(single);
        }
    }
    nerr = (int)json_array_size(*ret_error_list);
    if (nerr == 1) {
        buf_printf(errors, "%s",
                   json_string_value(json_array_get(*ret_error_list, 0)));
    } else if (nerr > 1) {
        size_t k;
        json_t *e;
        buf_printf(errors, "[");
        json_array_foreach (*ret_error_list, k, e) {
            buf_printf(errors, "%s%s", k ? ", " : "", json_string_value(e));
        }
        buf_printf(errors, "]");
    }
    json_decref(warn);
    json_decref(err);
    return nerr;
}

/* ------------------------------------------------------------ eviction */

/* CheckEvictionSupport: the group version of pods/eviction in /api/v1,
 * "" when not advertised. Returns 0 or -1 after printing. */
static int eviction_version(struct kctl_client *cl, char *gv, size_t len)
{
    json_t *doc = NULL, *r;
    size_t i;

    gv[0] = '\0';
    if (kctl_json(cl, "GET", "/api/v1", NULL, NULL, false, &doc) != 0)
        return -1;
    json_array_foreach (json_object_get(doc, "resources"), i, r) {
        const char *n = kctl_str_at(r, "name", NULL);
        const char *k = kctl_str_at(r, "kind", NULL);
        const char *g = kctl_str_at(r, "group", NULL);
        const char *v = kctl_str_at(r, "version", NULL);
        if (n && strcmp(n, "pods/eviction") == 0 && k &&
            strcmp(k, "Eviction") == 0 && g && g[0] && v && v[0]) {
            snprintf(gv, len, "%s/%s", g, v);
            break;
        }
    }
    json_decref(doc);
    return 0;
}

enum pod_state { ST_EVICT, ST_WAIT, ST_DONE, ST_FAILED };

struct pod_job {
    const json_t *pod;
    const char *ns, *name, *uid;
    enum pod_state st;
    int64_t next_ns; /* when to act next */
};

/* One eviction (or delete) request. Returns 0 sent, 1 gone already, 2
 * retry later (printed), -1 failed (message in err). */
static int evict_one(struct kctl_client *cl, struct pod_job *j, const char *gv,
                     const struct drain_opts *o, char *err, size_t len)
{
    json_t *delopts = json_object(), *body;
    struct buf p;
    struct kctl_resp resp;
    char *text;
    int rv;

    if (o->grace >= 0)
        json_object_set_new(delopts, "gracePeriodSeconds",
                            json_integer(o->grace));
    if (o->dry_run != NULL)
        json_object_set_new(delopts, "dryRun", json_pack("[s]", "All"));
    buf_init(&p);
    buf_printf(&p, "/api/v1/namespaces/");
    kctl_query_escape(&p, j->ns);
    buf_printf(&p, "/pods/");
    kctl_query_escape(&p, j->name);
    if (gv[0] != '\0') {
        /* kubectl sends dryRun in deleteOptions only; the query says it
         * too, for servers that read only the query */
        buf_printf(&p, "/eviction%s", o->dry_run ? "?dryRun=All" : "");
        body = json_pack("{s:s, s:s, s:{s:s, s:s}, s:o}", "kind", "Eviction",
                         "apiVersion", gv, "metadata", "name", j->name,
                         "namespace", j->ns, "deleteOptions", delopts);
    } else {
        if (o->dry_run != NULL)
            buf_printf(&p, "?dryRun=All");
        body = delopts;
        json_object_set_new(body, "kind", json_string("DeleteOptions"));
        json_object_set_new(body, "apiVersion", json_string("v1"));
    }
    text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    rv = kctl_http(cl, gv[0] ? "POST" : "DELETE", p.data, "application/json",
                   text, strlen(text), NULL, &resp);
    free(text);
    buf_close(&p);
    if (rv != 0) {
        snprintf(err, len, "the connection failed");
        kctl_resp_close(&resp);
        return -1;
    }
    if (resp.status >= 200 && resp.status <= 299) {
        rv = 0;
    } else if (resp.status == 404) {
        rv = 1;
    } else {
        char *m = resp_message(&resp);
        if (resp.status == 429 && gv[0] != '\0') {
            fprintf(stderr,
                    "error when evicting pods/\"%s\" -n \"%s\" (will retry "
                    "after 5s): %s\n",
                    j->name, j->ns, m);
            rv = 2;
        } else if (gv[0] != '\0') {
            snprintf(err, len, "error when evicting pods/\"%s\" -n \"%s\": %s",
                     j->name, j->ns, m);
            rv = -1;
        } else {
            snprintf(err, len, "%s", m);
            rv = -1;
        }
        free(m);
    }
    kctl_resp_close(&resp);
    return rv;
}

/* Is the pod gone (404, or a new pod under its name)? -1 on error. */
static int pod_gone(struct kctl_client *cl, const struct pod_job *j,
                    const struct drain_opts *o)
{
    struct buf p;
    json_t *cur = NULL;
    int g;

    buf_init(&p);
    buf_printf(&p, "/api/v1/namespaces/");
    kctl_query_escape(&p, j->ns);
    buf_printf(&p, "/pods/");
    kctl_query_escape(&p, j->name);
    g = kctl_json(cl, "GET", p.data, NULL, NULL, true, &cur);
    buf_close(&p);
    if (g == -2)
        return 1;
    if (g != 0)
        return -1;
    {
        const char *uid = kctl_str_at(cur, "metadata", "uid");
        bool other = uid && j->uid && strcmp(uid, j->uid) != 0;
        if (!other && should_skip_deleted(cur, o->skip_wait_s)) {
            printf("pod \"%s\" has DeletionTimestamp older than %ld seconds, "
                   "skipping\n",
                   j->name, o->skip_wait_s);
            json_decref(cur);
            return 2;
        }
        json_decref(cur);
        return other ? 1 : 0;
    }
}

/* evictPods / deletePods. Returns 0, or -1 with the aggregate in errors. */
static int evict_pods(struct kctl_client *cl, const json_t *pods,
                      const struct drain_opts *o, struct buf *errors)
{
    size_t n = json_array_size(pods);
    struct pod_job *jobs;
    char gv[128] = "", err[1024], tmo[64];
    int64_t deadline = 0;
    int nerr = 0;

    if (n == 0)
        return 0;
    if (!o->disable_eviction && eviction_version(cl, gv, sizeof gv) != 0) {
        buf_printf(errors, "cannot read /api/v1");
        return -1;
    }
    jobs = calloc(n, sizeof *jobs);
    if (jobs == NULL)
        return -1;
    if (o->timeout_ns > 0)
        deadline = clock_mono_ns() + o->timeout_ns;
    go_duration_string(o->timeout_ns > 0 ? o->timeout_ns : INT64_MAX, tmo,
                       sizeof tmo);
    for (size_t i = 0; i < n; i++) {
        const json_t *pod = json_array_get(pods, i);
        jobs[i].pod = pod;
        jobs[i].ns = kctl_str_at(pod, "metadata", "namespace");
        jobs[i].name = kctl_str_at(pod, "metadata", "name");
        jobs[i].uid = kctl_str_at(pod, "metadata", "uid");
        jobs[i].st = ST_EVICT;
    }
    for (;;) {
        int64_t now = clock_mono_ns(), next = INT64_MAX;
        bool busy = false;

        for (size_t i = 0; i < n; i++) {
            struct pod_job *j = &jobs[i];
            int r;
            if (j->st == ST_DONE || j->st == ST_FAILED || j->next_ns > now)
                continue;
            if (deadline != 0 && now >= deadline) {
                if (j->st == ST_EVICT)
                    snprintf(err, sizeof err,
                             "error when evicting pods/\"%s\" -n \"%s\": "
                             "global timeout reached: %s",
                             j->name, j->ns, tmo);
                else
                    snprintf(err, sizeof err,
                             "error when waiting for pod \"%s\" in namespace "
                             "\"%s\" to terminate: global timeout reached: %s",
                             j->name, j->ns, tmo);
                buf_printf(errors, "%s%s", nerr++ ? "\n" : "", err);
                j->st = ST_FAILED;
                continue;
            }
            if (j->st == ST_EVICT) {
                if (gv[0] != '\0')
                    printf("evicting pod %s/%s%s\n", j->ns, j->name,
                           o->dry_run ? " (server dry run)" : "");
                fflush(stdout);
                r = evict_one(cl, j, gv, o, err, sizeof err);
                if (r == 2) {
                    j->next_ns = now + 5000000000LL;
                } else if (r < 0) {
                    buf_printf(errors, "%s%s", nerr++ ? "\n" : "", err);
                    j->st = ST_FAILED;
                } else if (r == 1 || o->dry_run != NULL) {
                    j->st = ST_DONE; /* gone already: no message */
                } else {
                    j->st = ST_WAIT;
                    j->next_ns = now; /* PollImmediate */
                }
                if (!(r == 0 && o->dry_run == NULL))
                    continue;
            }
            r = pod_gone(cl, j, o);
            if (r == 1) {
                printf("pod/%s %s\n", j->name,
                       gv[0] != '\0' ? "evicted" : "deleted");
                fflush(stdout);
                j->st = ST_DONE;
            } else if (r == 2) {
                j->st = ST_DONE;
            } else if (r < 0) {
                snprintf(err, sizeof err,
                         "error when waiting for pod \"%s\" in namespace "
                         "\"%s\" to terminate",
                         j->name, j->ns);
                buf_printf(errors, "%s%s", nerr++ ? "\n" : "", err);
                j->st = ST_FAILED;
            } else {
                j->next_ns = now + 1000000000LL;
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (jobs[i].st == ST_DONE || jobs[i].st == ST_FAILED)
                continue;
            busy = true;
            if (jobs[i].next_ns < next)
                next = jobs[i].next_ns;
        }
        if (!busy)
            break;
        if (deadline != 0 && next > deadline)
            next = deadline;
        sleep_ns(next - clock_mono_ns());
    }
    free(jobs);
    if (nerr > 1) {
        /* utilerrors.NewAggregate's text */
        struct buf agg;
        buf_init(&agg);
        buf_printf(&agg, "[");
        for (char *s = errors->data, *nl; s != NULL; s = nl ? nl + 1 : NULL) {
            nl = strchr(s, '\n');
            buf_printf(&agg, "%s%.*s", s == errors->data ? "" : ", ",
                       nl ? (int)(nl - s) : (int)strlen(s), s);
        }
        buf_printf(&agg, "]");
        buf_reset(errors);
        buf_append(errors, agg.data, agg.len);
        buf_close(&agg);
    }
    return nerr > 0 ? -1 : 0;
}

/* deleteOrEvictPodsSimple for one node. Returns 0, or -1 with the error
 * text in err (aggregate form) and its parts in *ret_parts. */
static int drain_node(struct kctl_client *cl, const char *node,
                      const struct drain_opts *o, struct buf *err,
                      json_t **ret_parts)
{
    json_t *pods, *parts;
    struct buf warnings;
    int nerr, rv = 0;

    buf_init(&warnings);
    nerr = pods_for_deletion(cl, node, o, &pods, &warnings, err, &parts);
    if (nerr < 0) {
        buf_printf(err, "cannot list the pods of node %s", node);
        *ret_parts = json_pack("[s]", err->data);
        json_decref(pods);
        json_decref(parts);
        buf_close(&warnings);
        return -1;
    }
    if (nerr > 0) {
        *ret_parts = parts;
        json_decref(pods);
        buf_close(&warnings);
        return -1;
    }
    json_decref(parts);
    if (warnings.len > 0)
        fprintf(stderr, "Warning: %s\n", warnings.data);
    buf_close(&warnings);
    if (o->dry_run != NULL && strcmp(o->dry_run, "client") == 0) {
        size_t i;
        json_t *p;
        json_array_foreach (pods, i, p) {
            printf("evicting pod %s/%s (dry run)\n",
                   kctl_str_at(p, "metadata", "namespace"),
                   kctl_str_at(p, "metadata", "name"));
        }
        json_decref(pods);
        *ret_parts = NULL;
        return 0;
    }
    if (evict_pods(cl, pods, o, err) != 0) {
        json_t *pending = NULL, *pp = NULL;
        struct buf w2, e2;
        buf_init(&w2);
        buf_init(&e2);
        if (pods_for_deletion(cl, node, o, &pending, &w2, &e2, &pp) >= 0 &&
            json_array_size(pending) > 0) {
            size_t i;
            json_t *p;
            fprintf(stderr,
                    "There are pending pods in node \"%s\" when an error "
                    "occurred: %s\n",
                    node, err->data);
            json_array_foreach (pending, i, p) {
                fprintf(stderr, "pod/%s\n", kctl_str_at(p, "metadata", "name"));
            }
        }
        if (e2.len > 0)
            fprintf(stderr,
                    "Following errors occurred while getting the list "
                    "of pods to delete:\n%s",
                    e2.data);
        json_decref(pending);
        json_decref(pp);
        buf_close(&w2);
        buf_close(&e2);
        *ret_parts = json_pack("[s]", err->data);
        rv = -1;
    } else {
        *ret_parts = NULL;
    }
    json_decref(pods);
    return rv;
}

int kctl_cmd_drain(struct kctl_client *cl, int argc, char **argv)
{
    struct drain_opts o = {.grace = -1};
    const char *selector = NULL, *dry = NULL, *timeout = NULL;
    long chunk = 500;
    bool delete_local = false;
    const struct kctl_opt opts[] = {
        {"force", 0, KCTL_OPT_BOOL, &o.force},
        {"ignore-daemonsets", 0, KCTL_OPT_BOOL, &o.ignore_ds},
        {"delete-emptydir-data", 0, KCTL_OPT_BOOL, &o.delete_emptydir},
        {"delete-local-data", 0, KCTL_OPT_BOOL, &delete_local},
        {"disable-eviction", 0, KCTL_OPT_BOOL, &o.disable_eviction},
        {"grace-period", 0, KCTL_OPT_INT, &o.grace},
        {"timeout", 0, KCTL_OPT_STR, &timeout},
        {"skip-wait-for-delete-timeout", 0, KCTL_OPT_INT, &o.skip_wait_s},
        {"pod-selector", 0, KCTL_OPT_STR, &o.pod_selector},
        {"selector", 'l', KCTL_OPT_STR, &selector},
        {"chunk-size", 0, KCTL_OPT_INT, &chunk},
        {"dry-run", 0, KCTL_OPT_STR, &dry},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    json_t *nodes = NULL, *fatal = json_array(), *node;
    struct buf remaining;
    char why[256];
    size_t i;
    int rv = 1;

    buf_init(&remaining);
    if (kctl_opts_parse(argc, argv, opts, &pos) != 0) {
        json_decref(fatal);
        return 1;
    }
    if (delete_local) {
        fprintf(stderr, "Flag --delete-local-data has been deprecated, This "
                        "option is deprecated and will be deleted. Use "
                        "--delete-emptydir-data.\n");
        o.delete_emptydir = true;
    }
    if (pos.n == 0 && selector == NULL) {
        fprintf(stderr, "error: USAGE: drain NODE [flags]\nSee 'kubectl-lite "
                        "drain -h' for help and examples\n");
        goto out;
    }
    if (pos.n > 0 && selector != NULL) {
        fprintf(stderr, "error: cannot specify both a node name and a "
                        "--selector option\nSee 'kubectl-lite drain -h' for "
                        "help and examples\n");
        goto out;
    }
    if (timeout != NULL) {
        if (kctl_go_duration(timeout, &o.timeout_ns, why, sizeof why) != 0) {
            fprintf(stderr,
                    "Error: invalid argument \"%s\" for \"--timeout\" flag: "
                    "%s\nSee 'kubectl-lite drain --help' for usage.\n",
                    timeout, why);
            goto out;
        }
    }
    if (kctl_parse_dry_run(dry, &o.dry_run) != 0)
        goto out;
    nodes = find_nodes(cl, &pos, selector);
    if (nodes == NULL)
        goto out;
    cordon_nodes(cl, nodes, true, o.dry_run);
    json_array_foreach (nodes, i, node) {
        const char *name = kctl_str_at(node, "metadata", "name");
        struct buf err;
        json_t *parts = NULL;
        buf_init(&err);
        if (drain_node(cl, name, &o, &err, &parts) == 0) {
            printf("node/%s drained%s\n", name, dry_suffix(o.dry_run));
            fflush(stdout);
        } else {
            size_t k;
            json_t *pt;
            fprintf(stderr,
                    "error: unable to drain node \"%s\" due to error: %s, "
                    "continuing command...\n",
                    name, err.data);
            buf_printf(&remaining, " %s\n", name);
            json_array_foreach (parts, k, pt) {
                json_array_append(fatal, pt);
            }
        }
        json_decref(parts);
        buf_close(&err);
    }
    if (remaining.len > 0) {
        size_t k;
        json_t *pt;
        fprintf(stderr, "There are pending nodes to be drained:\n%s",
                remaining.data);
        /* kubectl's CheckErr prints the aggregate one error a line */
        json_array_foreach (fatal, k, pt) {
            fprintf(stderr, "%s\n", json_string_value(pt));
        }
        goto out;
    }
    rv = 0;
out:
    buf_close(&remaining);
    json_decref(fatal);
    json_decref(nodes);
    free(pos.v);
    return rv;
}

/*
 * DESIGN: `logs POD [CONTAINER] | TYPE/NAME | -l SEL`, as kubectl's
 * pkg/cmd/logs and polymorphichelpers.logsForObject do it
 * (kubectl-wire.md §4.8).
 *
 * What to read is decided first, the same way kubectl decides it: a bare
 * name is a pod; TYPE/NAME of a workload (deployment, replicaset, ...,
 * service) is turned into its label selector and the "best" pod for logs
 * is picked (podutils.ByLogging: assigned, Running, Ready, ready longest,
 * most restarts, oldest), telling "Found N pods, using pod/x" on stderr
 * when there was a choice; -l lists pods. In a pod the container is -c,
 * else the kubectl.kubernetes.io/default-container annotation, else the
 * first one ("Defaulted container ..." on stderr when there were others).
 *
 * Each (pod, container) is one GET .../pods/NAME/log with the PodLogOptions
 * query. Without -f the answers are printed one after the other. With -f a
 * single stream goes through kctl_stream; several (--all-containers, -l)
 * are followed at the same time, one child process each (kubectl uses one
 * goroutine each), so that a quiet container never holds back another.
 */
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/clock.h"

#define USAGE_ERR                                                              \
    "error: expected 'logs [-f] [-p] (POD | TYPE/NAME) [-c CONTAINER]'.\n"     \
    "POD or TYPE/NAME is a required argument for the logs command\n"           \
    "See 'kubectl-lite logs -h' for help and examples\n"

#define DEFAULT_CONTAINER_ANN "kubectl.kubernetes.io/default-container"

struct logs_opts {
    const char *container;
    const char *selector;
    bool follow, previous, timestamps, all_containers, all_pods, prefix;
    bool ignore_errors, skip_tls_backend;
    long tail, limit_bytes, max_requests;
    int64_t since_s;     /* 0 = unset */
    char since_time[40]; /* "" = unset; normalised to UTC */
    int64_t pod_timeout_ns;
};

static const struct kctl_resource pod_res = {
    .version = "v1",
    .resource = "pods",
    .singular = "pod",
    .kind = "Pod",
    .namespaced = true,
};

/* One log request: pod + container. */
struct log_req {
    char *ns, *pod, *container;
};

struct log_reqs {
    struct log_req *v;
    int n;
};

/* ------------------------------------------------------------ helpers */

/* A time in RFC 3339 ("2006-01-02T15:04:05Z07:00", fraction allowed),
 * normalised to UTC seconds as metav1.Time sends it. Returns 0, or -1 with
 * Go's message in why. */
static int parse_rfc3339(const char *s, char *out, size_t outlen, char *why,
                         size_t whylen)
{
    static const char *const elems[] = {"2006", "-", "01", "-", "02", "T",
                                        "15",   ":", "04", ":", "05", NULL};
    static const int widths[] = {4, 0, 2, 0, 2, 0, 2, 0, 2, 0, 2};
    int vals[6], nv = 0;
    const char *p = s;
    struct tm tm;
    time_t t;
    long off = 0;

    for (int i = 0; elems[i] != NULL; i++) {
        if (widths[i] == 0) {
            if (*p != elems[i][0])
                goto bad;
            p++;
            continue;
        }
        int v = 0;
        for (int k = 0; k < widths[i]; k++) {
            if (!isdigit((unsigned char)p[k]))
                goto bad;
            v = v * 10 + (p[k] - '0');
        }
        vals[nv++] = v;
        p += widths[i];
        continue;
    bad:
        snprintf(why, whylen,
                 "parsing time \"%s\" as \"2006-01-02T15:04:05Z07:00\": "
                 "cannot parse \"%s\" as \"%s\"",
                 s, p, elems[i]);
        return -1;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'Z') {
        p++;
    } else if ((*p == '+' || *p == '-') && isdigit((unsigned char)p[1]) &&
               isdigit((unsigned char)p[2]) && p[3] == ':' &&
               isdigit((unsigned char)p[4]) && isdigit((unsigned char)p[5])) {
        off = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600L +
              ((p[4] - '0') * 10 + (p[5] - '0')) * 60L;
        if (*p == '-')
            off = -off;
        p += 6;
    } else {
        snprintf(why, whylen,
                 "parsing time \"%s\" as \"2006-01-02T15:04:05Z07:00\": "
                 "cannot parse \"%s\" as \"Z07:00\"",
                 s, p);
        return -1;
    }
    if (*p != '\0') {
        snprintf(why, whylen, "parsing time \"%s\": extra text: \"%s\"", s, p);
        return -1;
    }
    memset(&tm, 0, sizeof tm);
    tm.tm_year = vals[0] - 1900;
    tm.tm_mon = vals[1] - 1;
    tm.tm_mday = vals[2];
    tm.tm_hour = vals[3];
    tm.tm_min = vals[4];
    tm.tm_sec = vals[5];
    if (vals[1] < 1 || vals[1] > 12 || vals[2] < 1 || vals[2] > 31 ||
        vals[3] > 23 || vals[4] > 59 || vals[5] > 59) {
        snprintf(why, whylen, "parsing time \"%s\": %s out of range", s,
                 vals[1] < 1 || vals[1] > 12 ? "month" : "day");
        return -1;
    }
    t = timegm(&tm) - off;
    gmtime_r(&t, &tm);
    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return 0;
}

/* ------------------------------------------------------- choosing a pod */

static bool pod_ready(const json_t *pod, const char **ret_since)
{
    size_t i;
    json_t *c;
    json_array_foreach (
        json_object_get(json_object_get(pod, "status"), "conditions"), i, c) {
        const char *t = kctl_str_at(c, "type", NULL);
        if (t != NULL && strcmp(t, "Ready") == 0) {
            if (ret_since != NULL)
                *ret_since = kctl_str_at(c, "lastTransitionTime", NULL);
            const char *s = kctl_str_at(c, "status", NULL);
            return s != NULL && strcmp(s, "True") == 0;
        }
    }
    return false;
}

static int phase_rank(const json_t *pod)
{
    const char *p = kctl_str_at(pod, "status", "phase");
    if (p == NULL)
        return 0;
    if (strcmp(p, "Unknown") == 0)
        return 1;
    if (strcmp(p, "Pending") == 0)
        return 2;
    return 0; /* Running, and (Go map default) everything else */
}

static long max_restarts(const json_t *pod)
{
    long m = 0;
    size_t i;
    json_t *c;
    json_array_foreach (
        json_object_get(json_object_get(pod, "status"), "containerStatuses"), i,
        c) {
        long r = (long)json_integer_value(json_object_get(c, "restartCount"));
        if (r > m)
            m = r;
    }
    return m;
}

/* afterOrZero(t1, t2): t1 zero, or t1 after t2 (RFC 3339 UTC strings
 * compare as text). */
static bool after_or_zero(const char *t1, const char *t2)
{
    if (t1 == NULL || t1[0] == '\0' || t2 == NULL || t2[0] == '\0')
        return t1 == NULL || t1[0] == '\0';
    return strcmp(t1, t2) > 0;
}

/* podutils.ByLogging: does a come before b? */
static bool by_logging_less(const json_t *a, const json_t *b)
{
    const char *na = kctl_str_at(a, "spec", "nodeName");
    const char *nb = kctl_str_at(b, "spec", "nodeName");
    const char *ra = NULL, *rb = NULL;
    bool reada, readb;

    na = na ? na : "";
    nb = nb ? nb : "";
    if (strcmp(na, nb) != 0 && (na[0] == '\0' || nb[0] == '\0'))
        return na[0] != '\0';
    if (phase_rank(a) != phase_rank(b))
        return phase_rank(a) < phase_rank(b);
    reada = pod_ready(a, &ra);
    readb = pod_ready(b, &rb);
    if (reada != readb)
        return reada;
    if (reada && readb && !(ra && rb && strcmp(ra, rb) == 0))
        return after_or_zero(rb, ra);
    if (max_restarts(a) != max_restarts(b))
        return max_restarts(a) > max_restarts(b);
    {
        const char *ca = kctl_str_at(a, "metadata", "creationTimestamp");
        const char *cb = kctl_str_at(b, "metadata", "creationTimestamp");
        if (!(ca && cb && strcmp(ca, cb) == 0) && (ca || cb))
            return after_or_zero(cb, ca);
    }
    return false;
}

/* The label selector of a workload, as polymorphichelpers
 * SelectorsForObject finds it. Returns 0 (selector in out), or -1 after
 * printing kubectl's error. */
static int workload_selector(const struct kctl_resource *r, const json_t *obj,
                             struct buf *out)
{
    const json_t *spec = json_object_get(obj, "spec");
    const char *k = r->kind;
    const char *name = kctl_str_at(obj, "metadata", "name");

    if (strcmp(k, "Deployment") == 0 || strcmp(k, "ReplicaSet") == 0 ||
        strcmp(k, "StatefulSet") == 0 || strcmp(k, "DaemonSet") == 0 ||
        strcmp(k, "Job") == 0) {
        const json_t *sel = json_object_get(spec, "selector");
        if (!json_is_object(sel) ||
            (json_object_size(json_object_get(sel, "matchLabels")) == 0 &&
             json_array_size(json_object_get(sel, "matchExpressions")) == 0)) {
            fprintf(stderr,
                    "error: cannot get the logs from *v1.%s: invalid label "
                    "selector: empty selector\n",
                    k);
            return -1;
        }
        kctl_selector_string(sel, out);
        return 0;
    }
    if (strcmp(k, "ReplicationController") == 0 || strcmp(k, "Service") == 0) {
        const json_t *m = json_object_get(spec, "selector");
        if (json_object_size(m) == 0) {
            if (strcmp(k, "Service") == 0)
                fprintf(stderr,
                        "error: cannot get the logs from *v1.Service: "
                        "invalid service '%s': Service is defined without "
                        "a selector\n",
                        name ? name : "");
            else
                fprintf(stderr, "error: cannot get the logs from "
                                "*v1.ReplicationController: invalid label "
                                "selector: empty selector\n");
            return -1;
        }
        json_t *ls = json_pack("{s:O}", "matchLabels", m);
        kctl_selector_string(ls, out);
        json_decref(ls);
        return 0;
    }
    fprintf(stderr,
            "error: cannot get the logs from *v1.%s: selector for *v1.%s not "
            "implemented\n",
            k, k);
    return -1;
}

/* GetFirstPod: lists the selector's pods and takes the best for logs;
 * with none, waits (polling, bounded by --pod-running-timeout) for one to
 * appear. Returns the pod (new reference) or NULL after printing. */
static json_t *first_pod(struct kctl_client *cl, const char *ns,
                         const char *selector, int64_t timeout_ns)
{
    int64_t deadline = clock_mono_ns() + timeout_ns;
    long sleep_ms = 100;

    for (;;) {
        struct buf p;
        json_t *list = NULL, *best = NULL, *it;
        const json_t *items;
        size_t i, n;

        buf_init(&p);
        kctl_resource_path(&p, &pod_res, ns, NULL);
        buf_printf(&p, "?labelSelector=");
        kctl_query_escape(&p, selector);
        if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &list) != 0) {
            buf_close(&p);
            return NULL;
        }
        buf_close(&p);
        items = json_object_get(list, "items");
        n = json_array_size(items);
        json_array_foreach (items, i, it) {
            if (best == NULL || by_logging_less(it, best))
                best = it;
        }
        if (best != NULL) {
            json_incref(best);
            if (n > 1)
                fprintf(stderr, "Found %zu pods, using pod/%s\n", n,
                        kctl_str_at(best, "metadata", "name"));
            json_decref(list);
            return best;
        }
        json_decref(list);
        if (clock_mono_ns() >= deadline) {
            fprintf(stderr, "error: timed out waiting for the condition\n");
            return NULL;
        }
        struct timespec ts = {sleep_ms / 1000, (sleep_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        if (sleep_ms < 1000)
            sleep_ms *= 2;
    }
}

/* -------------------------------------------------------- the requests */

static int reqs_add(struct log_reqs *rs, const char *ns, const char *pod,
                    const char *container)
{
    struct log_req *nv = realloc(rs->v, sizeof *nv * (size_t)(rs->n + 1));
    if (nv == NULL)
        return -1;
    nv[rs->n].ns = strdup(ns ? ns : "");
    nv[rs->n].pod = strdup(pod);
    nv[rs->n].container = strdup(container);
    rs->v = nv;
    rs->n++;
    return 0;
}

static void reqs_free(struct log_reqs *rs)
{
    for (int i = 0; i < rs->n; i++) {
        free(rs->v[i].ns);
        free(rs->v[i].pod);
        free(rs->v[i].container);
    }
    free(rs->v);
}

static bool has_container(const json_t *list, const char *name)
{
    size_t i;
    json_t *c;
    json_array_foreach (list, i, c) {
        const char *n = kctl_str_at(c, "name", NULL);
        if (n != NULL && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

/* Adds the (pod, container) requests for one pod, as logsForObject does
 * for a *corev1.Pod. Returns 0 or -1 after printing. */
static int pod_requests(const json_t *pod, const struct logs_opts *o,
                        struct log_reqs *rs)
{
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *cs = json_object_get(spec, "containers");
    const json_t *ics = json_object_get(spec, "initContainers");
    const json_t *ecs = json_object_get(spec, "ephemeralContainers");
    const char *ns = kctl_str_at(pod, "metadata", "namespace");
    const char *name = kctl_str_at(pod, "metadata", "name");
    const char *want = o->container;
    size_t i;
    json_t *c;

    if (o->all_containers) {
        const json_t *lists[] = {ics, cs, ecs};
        for (int l = 0; l < 3; l++)
            json_array_foreach (lists[l], i, c) {
                if (reqs_add(rs, ns, name, kctl_str_at(c, "name", NULL)) != 0)
                    return -1;
            }
        return 0;
    }
    if (want == NULL || want[0] == '\0') {
        const char *def = json_string_value(json_object_get(
            json_object_get(json_object_get(pod, "metadata"), "annotations"),
            DEFAULT_CONTAINER_ANN));
        if (def != NULL && def[0] != '\0') {
            if (has_container(cs, def) || has_container(ics, def) ||
                has_container(ecs, def))
                want = def;
            else
                fprintf(stderr,
                        "Default container name \"%s\" not found in pod "
                        "%s\n",
                        def, name);
        }
    }
    if (want == NULL || want[0] == '\0') {
        want = kctl_str_at(json_array_get(cs, 0), "name", NULL);
        if (want == NULL) {
            fprintf(stderr, "error: pod %s has no containers\n", name);
            return -1;
        }
        if (json_array_size(cs) > 1 || json_array_size(ics) > 0 ||
            json_array_size(ecs) > 0) {
            struct buf all;
            buf_init(&all);
            json_array_foreach (cs, i, c) {
                buf_printf(&all, "%s%s", all.len ? ", " : "",
                           kctl_str_at(c, "name", NULL));
            }
            json_array_foreach (ecs, i, c) {
                buf_printf(&all, "%s%s (ephem)", all.len ? ", " : "",
                           kctl_str_at(c, "name", NULL));
            }
            json_array_foreach (ics, i, c) {
                buf_printf(&all, "%s%s (init)", all.len ? ", " : "",
                           kctl_str_at(c, "name", NULL));
            }
            fprintf(stderr, "Defaulted container \"%s\" out of: %s\n", want,
                    all.data);
            buf_close(&all);
        }
    }
    if (!has_container(cs, want) && !has_container(ics, want) &&
        !has_container(ecs, want)) {
        fprintf(stderr, "error: container %s is not valid for pod %s\n", want,
                name);
        return -1;
    }
    return reqs_add(rs, ns, name, want);
}

static void log_path(struct buf *p, const struct log_req *r,
                     const struct logs_opts *o)
{
    buf_printf(p, "/api/v1/namespaces/");
    kctl_query_escape(p, r->ns);
    buf_printf(p, "/pods/");
    kctl_query_escape(p, r->pod);
    buf_printf(p, "/log?container=");
    kctl_query_escape(p, r->container);
    if (o->follow)
        buf_printf(p, "&follow=true");
    if (o->skip_tls_backend)
        buf_printf(p, "&insecureSkipTLSVerifyBackend=true");
    if (o->limit_bytes > 0)
        buf_printf(p, "&limitBytes=%ld", o->limit_bytes);
    if (o->previous)
        buf_printf(p, "&previous=true");
    if (o->since_s > 0)
        buf_printf(p, "&sinceSeconds=%lld", (long long)o->since_s);
    if (o->since_time[0] != '\0') {
        buf_printf(p, "&sinceTime=");
        kctl_query_escape(p, o->since_time);
    }
    if (o->tail >= 0)
        buf_printf(p, "&tailLines=%ld", o->tail);
    if (o->timestamps)
        buf_printf(p, "&timestamps=true");
}

struct out_ctx {
    const char *prefix; /* "[pod/x/c] " or NULL */
};

static void write_prefixed(const char *data, size_t len, const char *prefix)
{
    size_t start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && data[i] != '\n')
            continue;
        size_t seg = i - start + (i < len ? 1 : 0);
        if (seg > 0) {
            if (prefix != NULL)
                fputs(prefix, stdout);
            fwrite(data + start, 1, seg, stdout);
        }
        start = i + 1;
    }
}

static int line_cb(const char *line, size_t len, void *arg)
{
    const struct out_ctx *oc = arg;
    if (oc->prefix != NULL)
        fputs(oc->prefix, stdout);
    fwrite(line, 1, len, stdout);
    fputc('\n', stdout);
    fflush(stdout);
    return 0;
}

/* Reads one log (whole, or followed). Returns 0 or -1 after printing. */
static int consume(struct kctl_client *cl, const struct log_req *r,
                   const struct logs_opts *o)
{
    struct buf p, pre;
    struct kctl_resp resp;
    struct out_ctx oc = {NULL};
    int rv = 0;

    buf_init(&p);
    buf_init(&pre);
    log_path(&p, r, o);
    if (o->prefix) {
        buf_printf(&pre, "[pod/%s/%s] ", r->pod, r->container);
        oc.prefix = pre.data;
    }
    if (o->follow) {
        rv = kctl_stream(cl, p.data, "*/*", line_cb, &oc) == 0 ? 0 : -1;
    } else if (kctl_http(cl, "GET", p.data, NULL, NULL, 0, "*/*", &resp) != 0) {
        rv = -1;
        kctl_resp_close(&resp);
    } else {
        if (resp.status >= 200 && resp.status <= 299) {
            write_prefixed(resp.body.data ? resp.body.data : "", resp.body.len,
                           oc.prefix);
        } else if (o->ignore_errors) {
            json_t *st = json_loadb(resp.body.data ? resp.body.data : "",
                                    resp.body.len, 0, NULL);
            const char *m = json_string_value(json_object_get(st, "message"));
            printf("error: %s\n", m ? m : "unknown error");
            json_decref(st);
        } else {
            kctl_print_status(&resp, NULL);
            rv = -1;
        }
        kctl_resp_close(&resp);
    }
    fflush(stdout);
    buf_close(&pre);
    buf_close(&p);
    return rv;
}

/* Follows several logs at once: one child per stream, each with its own
 * connection; returns 0 when every stream ended cleanly. */
static int follow_parallel(struct kctl_client *cl, const struct log_reqs *rs,
                           const struct logs_opts *o)
{
    pid_t *pids = calloc((size_t)rs->n, sizeof *pids);
    int rv = 0;

    if (pids == NULL)
        return -1;
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < rs->n; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("error: fork");
            rv = -1;
            break;
        }
        if (pid == 0) {
            struct kctl_client own;
            int crv;
            kctl_client_open(&own, &cl->g);
            crv = consume(&own, &rs->v[i], o);
            fflush(stdout);
            fflush(stderr);
            _exit(crv == 0 ? 0 : 1);
        }
        pids[i] = pid;
    }
    for (int i = 0; i < rs->n; i++) {
        int st;
        if (pids[i] <= 0)
            continue;
        if (waitpid(pids[i], &st, 0) < 0 || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 0)
            rv = -1;
    }
    free(pids);
    return rv;
}

/* ------------------------------------------------------------------ verb */

int kctl_cmd_logs(struct kctl_client *cl, int argc, char **argv)
{
    struct logs_opts o = {.tail = LONG_MIN, .max_requests = 5};
    const char *since = NULL, *since_time = NULL, *pod_timeout = NULL;
    const struct kctl_opt opts[] = {
        {"container", 'c', KCTL_OPT_STR, &o.container},
        {"follow", 'f', KCTL_OPT_BOOL, &o.follow},
        {"previous", 'p', KCTL_OPT_BOOL, &o.previous},
        {"timestamps", 0, KCTL_OPT_BOOL, &o.timestamps},
        {"tail", 0, KCTL_OPT_INT, &o.tail},
        {"since", 0, KCTL_OPT_STR, &since},
        {"since-time", 0, KCTL_OPT_STR, &since_time},
        {"selector", 'l', KCTL_OPT_STR, &o.selector},
        {"all-containers", 0, KCTL_OPT_BOOL, &o.all_containers},
        {"all-pods", 0, KCTL_OPT_BOOL, &o.all_pods},
        {"prefix", 0, KCTL_OPT_BOOL, &o.prefix},
        {"ignore-errors", 0, KCTL_OPT_BOOL, &o.ignore_errors},
        {"limit-bytes", 0, KCTL_OPT_INT, &o.limit_bytes},
        {"max-log-requests", 0, KCTL_OPT_INT, &o.max_requests},
        {"pod-running-timeout", 0, KCTL_OPT_STR, &pod_timeout},
        {"insecure-skip-tls-verify-backend", 0, KCTL_OPT_BOOL,
         &o.skip_tls_backend},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    struct log_reqs rs = {NULL, 0};
    const char *ns, *resource_arg = NULL;
    bool container_flag, since_set = false;
    char why[256] = "";
    int rv = 1;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    container_flag = o.container != NULL;
    switch (pos.n) {
    case 0:
        if (o.selector == NULL || o.selector[0] == '\0') {
            fputs(USAGE_ERR, stderr);
            goto out;
        }
        break;
    case 1:
        resource_arg = pos.v[0];
        if (o.selector != NULL && o.selector[0] != '\0') {
            fprintf(stderr, "error: only a selector (-l) or a POD name is "
                            "allowed\nSee 'kubectl-lite logs -h' for help "
                            "and examples\n");
            goto out;
        }
        break;
    case 2:
        resource_arg = pos.v[0];
        if (container_flag) {
            fprintf(stderr, "error: only one of -c or an inline [CONTAINER] "
                            "arg is allowed\n");
            goto out;
        }
        o.container = pos.v[1];
        break;
    default:
        fputs(USAGE_ERR, stderr);
        goto out;
    }
    if (o.all_pods)
        o.prefix = true;
    if (o.tail == LONG_MIN)
        o.tail = (o.selector != NULL && o.selector[0] != '\0') ? 10 : -1;
    o.pod_timeout_ns = 20 * 1000000000LL;
    if (pod_timeout != NULL && (kctl_go_duration(pod_timeout, &o.pod_timeout_ns,
                                                 why, sizeof why) != 0 ||
                                o.pod_timeout_ns <= 0)) {
        if (o.pod_timeout_ns <= 0 && why[0] == '\0')
            snprintf(why, sizeof why, "must be higher than zero");
        fprintf(stderr,
                "Error: invalid argument \"%s\" for \"--pod-running-timeout\" "
                "flag: %s\nSee 'kubectl-lite logs --help' for "
                "usage.\n",
                pod_timeout, why);
        goto out;
    }
    if (since != NULL) {
        int64_t ns_;
        if (kctl_go_duration(since, &ns_, why, sizeof why) != 0) {
            fprintf(stderr,
                    "Error: invalid argument \"%s\" for \"--since\" flag: "
                    "%s\nSee 'kubectl-lite logs --help' for usage.\n",
                    since, why);
            goto out;
        }
        /* metav1 rounds to whole seconds */
        o.since_s =
            (ns_ + (ns_ >= 0 ? 500000000LL : -500000000LL)) / 1000000000LL;
        since_set = ns_ != 0;
    }
    if (since_time != NULL && since_time[0] != '\0' &&
        parse_rfc3339(since_time, o.since_time, sizeof o.since_time, why,
                      sizeof why) != 0) {
        fprintf(stderr, "error: %s\n", why);
        goto out;
    }
    /* Validate(), in kubectl's order */
    if (o.since_time[0] != '\0' && since_set) {
        fprintf(stderr, "error: at most one of `sinceTime` or `sinceSeconds` "
                        "may be specified\n");
        goto out;
    }
    if (o.all_containers && o.container != NULL && o.container[0] != '\0') {
        fprintf(stderr,
                "error: --all-containers=true should not be specified with "
                "container name %s\n",
                o.container);
        goto out;
    }
    if (o.limit_bytes < 0) {
        fprintf(stderr, "error: --limit-bytes must be greater than 0\n");
        goto out;
    }
    if (o.since_s < 0) {
        fprintf(stderr, "error: --since must be greater than 0\n");
        goto out;
    }
    if (o.tail < -1) {
        fprintf(stderr, "error: --tail must be greater than or equal to -1\n");
        goto out;
    }

    ns = kctl_namespace(cl);
    if (resource_arg != NULL) {
        struct kctl_resource r;
        const char *slash = strchr(resource_arg, '/');
        const char *name = resource_arg;
        struct buf p;
        struct kctl_resp resp;
        json_t *obj = NULL;

        if (slash != NULL) {
            char type[256];
            snprintf(type, sizeof type, "%.*s", (int)(slash - resource_arg),
                     resource_arg);
            name = slash + 1;
            if (kctl_resource_find(cl, type, &r) != 0)
                goto out;
        } else if (kctl_resource_find(cl, "pods", &r) != 0) {
            goto out;
        }
        buf_init(&p);
        kctl_resource_path(&p, &r, ns, name);
        if (kctl_http(cl, "GET", p.data, NULL, NULL, 0, NULL, &resp) != 0) {
            buf_close(&p);
            kctl_resp_close(&resp);
            goto out;
        }
        buf_close(&p);
        if (resp.status == 404) {
            json_t *st = json_loadb(resp.body.data ? resp.body.data : "",
                                    resp.body.len, 0, NULL);
            const char *m = json_string_value(json_object_get(st, "message"));
            char q[160];
            kctl_resource_qualified(&r, false, q, sizeof q);
            if (m != NULL)
                fprintf(stderr,
                        "error: error from server (NotFound): %s in "
                        "namespace \"%s\"\n",
                        m, ns);
            else
                fprintf(stderr,
                        "error: error from server (NotFound): %s \"%s\" not "
                        "found in namespace \"%s\"\n",
                        q, name, ns);
            json_decref(st);
            kctl_resp_close(&resp);
            goto out;
        }
        if (resp.status < 200 || resp.status > 299) {
            kctl_print_status(&resp, NULL);
            kctl_resp_close(&resp);
            goto out;
        }
        obj = json_loadb(resp.body.data, resp.body.len, 0, NULL);
        kctl_resp_close(&resp);
        if (obj == NULL) {
            fprintf(stderr, "error: cannot decode the server's answer\n");
            goto out;
        }
        if (strcmp(r.kind, "Pod") == 0 && r.group[0] == '\0') {
            if (pod_requests(obj, &o, &rs) != 0) {
                json_decref(obj);
                goto out;
            }
        } else {
            struct buf sel;
            json_t *pod;
            buf_init(&sel);
            if (workload_selector(&r, obj, &sel) != 0) {
                buf_close(&sel);
                json_decref(obj);
                goto out;
            }
            if (o.all_pods) {
                struct buf lp;
                json_t *list = NULL, *it;
                size_t i;
                buf_init(&lp);
                buf_printf(&lp, "/api/v1/namespaces/");
                kctl_query_escape(&lp, ns);
                buf_printf(&lp, "/pods?labelSelector=");
                kctl_query_escape(&lp, sel.data ? sel.data : "");
                if (kctl_json(cl, "GET", lp.data, NULL, NULL, false, &list) !=
                    0) {
                    buf_close(&lp);
                    buf_close(&sel);
                    json_decref(obj);
                    goto out;
                }
                buf_close(&lp);
                json_array_foreach (json_object_get(list, "items"), i, it) {
                    if (pod_requests(it, &o, &rs) != 0) {
                        json_decref(list);
                        buf_close(&sel);
                        json_decref(obj);
                        goto out;
                    }
                }
                json_decref(list);
            } else {
                pod = first_pod(cl, ns, sel.data ? sel.data : "",
                                o.pod_timeout_ns);
                if (pod == NULL || pod_requests(pod, &o, &rs) != 0) {
                    json_decref(pod);
                    buf_close(&sel);
                    json_decref(obj);
                    goto out;
                }
                json_decref(pod);
            }
            buf_close(&sel);
        }
        json_decref(obj);
    } else {
        struct buf p;
        json_t *list = NULL, *it;
        size_t i;
        buf_init(&p);
        buf_printf(&p, "/api/v1/namespaces/");
        kctl_query_escape(&p, ns);
        buf_printf(&p, "/pods?labelSelector=");
        kctl_query_escape(&p, o.selector);
        if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &list) != 0) {
            buf_close(&p);
            goto out;
        }
        buf_close(&p);
        if (json_array_size(json_object_get(list, "items")) == 0)
            fprintf(stderr, "No resources found in %s namespace.\n", ns);
        json_array_foreach (json_object_get(list, "items"), i, it) {
            if (pod_requests(it, &o, &rs) != 0) {
                json_decref(list);
                goto out;
            }
        }
        json_decref(list);
    }

    if (o.follow && rs.n > 1) {
        if (rs.n > o.max_requests) {
            fprintf(stderr,
                    "error: you are attempting to follow %d log streams, but "
                    "maximum allowed concurrency is %ld, use "
                    "--max-log-requests to increase the limit\n",
                    rs.n, o.max_requests);
            goto out;
        }
        rv = follow_parallel(cl, &rs, &o) == 0 ? 0 : 1;
        goto out;
    }
    rv = 0;
    for (int i = 0; i < rs.n; i++) {
        if (consume(cl, &rs.v[i], &o) != 0) {
            rv = 1;
            break;
        }
    }
out:
    reqs_free(&rs);
    free(pos.v);
    return rv;
}

/*
 * DESIGN: `rollout status | history | undo | restart`, as kubectl's
 * pkg/cmd/rollout and polymorphichelpers do them (kubectl-wire.md §4.7).
 *
 * The objects are found as kubectl's resource builder finds them: TYPE
 * NAME…, TYPE/NAME…, TYPE [-l SEL] (a type alone means every object of it,
 * filtered by -l), -f FILE; each named object is read first, so a missing
 * one is a NotFound before anything else.
 *
 * status: kubectl's status viewers (deployment, daemon set, stateful set)
 *   evaluated on an informer-style list + watch of the one object
 *   (fieldSelector=metadata.name=NAME, then watch from the list's
 *   resourceVersion, re-watching from the last version seen when the
 *   server ends the stream, re-listing on 410). A line is printed for every
 *   ADDED/MODIFIED event, as kubectl does; --timeout bounds the whole wait
 *   (each watch asks the server for timeoutSeconds = the time left).
 * history / undo: the Deployment's ReplicaSets — found by its selector and
 *   owned (controller reference) by its uid — keyed by their
 *   deployment.kubernetes.io/revision annotation. undo sends kubectl's JSON
 *   patch replacing /spec/template (the ReplicaSet's, minus its
 *   pod-template-hash label) and /metadata/annotations.
 * restart: a strategic merge patch setting the pod template's
 *   kubectl.kubernetes.io/restartedAt annotation to now (RFC 3339, local
 *   time, as Go's time.Now().Format(time.RFC3339)).
 *
 * The Pod Template text of `history --revision` is describe's
 * DescribePodTemplate through a PrefixWriter with no tabwriter, so its
 * tabs are printed as they are.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/clock.h"

#define REVISION_ANN "deployment.kubernetes.io/revision"
#define CHANGE_CAUSE_ANN "kubernetes.io/change-cause"
#define RESTARTED_AT_ANN "kubectl.kubernetes.io/restartedAt"
#define HASH_LABEL "pod-template-hash"

/* ------------------------------------------------------------ helpers */

static long long int_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

/* "ReplicaSet.apps" / "Pod": schema.GroupKind.String(). */
static void group_kind(const struct kctl_resource *r, char *out, size_t len)
{
    snprintf(out, len, "%s%s%s", r->kind, r->group[0] ? "." : "", r->group);
}

static bool is_apps(const struct kctl_resource *r, const char *kind)
{
    return strcmp(r->group, "apps") == 0 && strcmp(r->kind, kind) == 0;
}

/* Revision annotation as deploymentutil.Revision: absent = 0; -1 when
 * it does not parse. */
static long long revision_of(const json_t *obj)
{
    const char *v = json_string_value(json_object_get(
        json_object_get(json_object_get(obj, "metadata"), "annotations"),
        REVISION_ANN));
    char *end;
    long long r;
    if (v == NULL)
        return 0;
    r = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0')
        return -1;
    return r;
}

/* The resource builder: -f files, TYPE NAME…, TYPE/NAME…, TYPE [-l]. Every
 * named object is read. *ret_selection tells whether a type was listed.
 * Returns 0 or -1 after printing the first error. */
static int collect(struct kctl_client *cl, const struct kctl_strv *pos,
                   const struct kctl_strv *files, bool recursive,
                   const char *selector, struct kctl_objs *os,
                   bool *ret_selection)
{
    const char *ns = kctl_namespace(cl);
    struct kctl_target *t = NULL;
    int nt = 0, rv = 0;

    *ret_selection = false;
    if (pos->n == 0 && files->n == 0) {
        fprintf(stderr, "error: required resource not specified\n");
        return -1;
    }
    if (files->n > 0) {
        json_t *objs, *sources, *obj;
        size_t i;
        if (kctl_read_manifests("rollout", files->v, files->n, recursive, &objs,
                                &sources) != 0)
            return -1;
        json_array_foreach (objs, i, obj) {
            struct kctl_resource r;
            const char *ons, *name;
            struct buf p;
            json_t *live = NULL;
            if (kctl_prepare_object(cl, obj, &r, &ons) != 0) {
                rv = -1;
                break;
            }
            name = kctl_str_at(obj, "metadata", "name");
            buf_init(&p);
            kctl_resource_path(&p, &r, ons, name);
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &live) != 0)
                rv = -1;
            buf_close(&p);
            if (rv != 0 || kctl_objs_add(os, &r, ons, name, live) != 0) {
                rv = -1;
                break;
            }
        }
        json_decref(objs);
        json_decref(sources);
        if (rv != 0)
            return rv;
    }
    if (pos->n == 0)
        return 0;
    if (kctl_targets(cl, pos->v, pos->n, &t, &nt) != 0)
        return -1;
    for (int i = 0; i < nt && rv == 0; i++) {
        struct buf p;
        json_t *got = NULL;
        buf_init(&p);
        if (t[i].name != NULL) {
            kctl_resource_path(&p, &t[i].r, ns, t[i].name);
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &got) != 0 ||
                kctl_objs_add(os, &t[i].r, ns, t[i].name, got) != 0)
                rv = -1;
        } else {
            size_t k;
            json_t *it;
            *ret_selection = true;
            kctl_resource_path(&p, &t[i].r, ns, NULL);
            buf_printf(&p, "?labelSelector=");
            kctl_query_escape(&p, selector ? selector : "");
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &got) != 0)
                rv = -1;
            json_array_foreach (json_object_get(got, "items"), k, it) {
                const char *name = kctl_str_at(it, "metadata", "name");
                if (name == NULL)
                    continue;
                if (kctl_objs_add(os, &t[i].r,
                                  kctl_str_at(it, "metadata", "namespace"),
                                  name, json_incref(it)) != 0) {
                    rv = -1;
                    break;
                }
            }
            json_decref(got);
        }
        buf_close(&p);
    }
    free(t);
    return rv;
}

/* Prints "deployment.apps/web" + " " + what (or just the name for -o
 * name). */
static void print_name_op(const struct kctl_resource *r, const char *name,
                          const char *op, const char *suffix,
                          const char *output)
{
    char q[160];
    kctl_resource_qualified(r, true, q, sizeof q);
    if (output != NULL && strcmp(output, "name") == 0)
        printf("%s/%s\n", q, name);
    else
        printf("%s/%s %s%s\n", q, name, op, suffix ? suffix : "");
}

/* --------------------------------------------------------------- status */

struct status_ctx {
    const struct kctl_resource *r;
    long long revision;
    bool watch;
};

/* kubectl's DeploymentStatusViewer / DaemonSetStatusViewer /
 * StatefulSetStatusViewer. Returns 1 done, 0 not yet, -1 error (printed);
 * msg gets the line to print. */
static int status_of(const struct kctl_resource *r, const json_t *obj,
                     long long revision, struct buf *msg)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *st = json_object_get(obj, "status");
    const char *name = kctl_str_at(obj, "metadata", "name");
    long long gen = int_at(obj, "metadata", "generation");
    long long obs = int_at(st, "observedGeneration", NULL);

    if (is_apps(r, "Deployment")) {
        const json_t *reps = json_object_get(spec, "replicas");
        size_t i;
        json_t *c;
        if (revision > 0) {
            long long have = revision_of(obj);
            if (have < 0) {
                fprintf(stderr,
                        "error: cannot get the revision of "
                        "deployment %s\n",
                        name);
                return -1;
            }
            if (have != revision) {
                fprintf(stderr,
                        "error: desired revision (%lld) is different from "
                        "the running revision (%lld)\n",
                        revision, have);
                return -1;
            }
        }
        if (gen > obs) {
            buf_printf(msg, "Waiting for deployment spec update to be "
                            "observed...\n");
            return 0;
        }
        json_array_foreach (json_object_get(st, "conditions"), i, c) {
            const char *t = kctl_str_at(c, "type", NULL);
            const char *reason = kctl_str_at(c, "reason", NULL);
            if (t && strcmp(t, "Progressing") == 0 && reason &&
                strcmp(reason, "ProgressDeadlineExceeded") == 0) {
                fprintf(stderr,
                        "error: deployment \"%s\" exceeded its progress "
                        "deadline\n",
                        name);
                return -1;
            }
        }
        long long updated = int_at(st, "updatedReplicas", NULL);
        long long replicas = int_at(st, "replicas", NULL);
        long long avail = int_at(st, "availableReplicas", NULL);
        if (json_is_integer(reps) && updated < json_integer_value(reps)) {
            buf_printf(msg,
                       "Waiting for deployment \"%s\" rollout to finish: %lld "
                       "out of %lld new replicas have been updated...\n",
                       name, updated, (long long)json_integer_value(reps));
            return 0;
        }
        if (replicas > updated) {
            buf_printf(msg,
                       "Waiting for deployment \"%s\" rollout to finish: %lld "
                       "old replicas are pending termination...\n",
                       name, replicas - updated);
            return 0;
        }
        if (avail < updated) {
            buf_printf(msg,
                       "Waiting for deployment \"%s\" rollout to finish: %lld "
                       "of %lld updated replicas are available...\n",
                       name, avail, updated);
            return 0;
        }
        buf_printf(msg, "deployment \"%s\" successfully rolled out\n", name);
        return 1;
    }
    if (is_apps(r, "DaemonSet")) {
        const char *type =
            kctl_str_at(json_object_get(spec, "updateStrategy"), "type", NULL);
        if (type == NULL || strcmp(type, "RollingUpdate") != 0) {
            fprintf(stderr, "error: rollout status is only available for "
                            "RollingUpdate strategy type\n");
            return -1;
        }
        if (gen > obs) {
            buf_printf(msg, "Waiting for daemon set spec update to be "
                            "observed...\n");
            return 0;
        }
        long long desired = int_at(st, "desiredNumberScheduled", NULL);
        long long updated = int_at(st, "updatedNumberScheduled", NULL);
        long long avail = int_at(st, "numberAvailable", NULL);
        if (updated < desired) {
            buf_printf(msg,
                       "Waiting for daemon set \"%s\" rollout to finish: %lld "
                       "out of %lld new pods have been updated...\n",
                       name, updated, desired);
            return 0;
        }
        if (avail < desired) {
            buf_printf(msg,
                       "Waiting for daemon set \"%s\" rollout to finish: %lld "
                       "of %lld updated pods are available...\n",
                       name, avail, desired);
            return 0;
        }
        buf_printf(msg, "daemon set \"%s\" successfully rolled out\n", name);
        return 1;
    }
    /* StatefulSet */
    {
        const json_t *us = json_object_get(spec, "updateStrategy");
        const char *type = kctl_str_at(us, "type", NULL);
        const json_t *reps = json_object_get(spec, "replicas");
        const json_t *ru = json_object_get(us, "rollingUpdate");
        long long ready = int_at(st, "readyReplicas", NULL);
        long long updated = int_at(st, "updatedReplicas", NULL);
        const char *urev = kctl_str_at(st, "updateRevision", NULL);
        const char *crev = kctl_str_at(st, "currentRevision", NULL);
        if (type == NULL || strcmp(type, "RollingUpdate") != 0) {
            fprintf(stderr, "error: rollout status is only available for "
                            "RollingUpdate strategy type\n");
            return -1;
        }
        if (obs == 0 || gen > obs) {
            buf_printf(msg, "Waiting for statefulset spec update to be "
                            "observed...\n");
            return 0;
        }
        if (json_is_integer(reps) && ready < json_integer_value(reps)) {
            buf_printf(msg, "Waiting for %lld pods to be ready...\n",
                       (long long)json_integer_value(reps) - ready);
            return 0;
        }
        if (json_is_object(ru)) {
            const json_t *part = json_object_get(ru, "partition");
            if (json_is_integer(reps) && json_is_integer(part)) {
                long long want =
                    json_integer_value(reps) - json_integer_value(part);
                if (updated < want) {
                    buf_printf(msg,
                               "Waiting for partitioned roll out to finish: "
                               "%lld out of %lld new pods have been "
                               "updated...\n",
                               updated, want);
                    return 0;
                }
            }
            buf_printf(msg,
                       "partitioned roll out complete: %lld new pods have "
                       "been updated...\n",
                       updated);
            return 1;
        }
        if (strcmp(urev ? urev : "", crev ? crev : "") != 0) {
            buf_printf(msg,
                       "waiting for statefulset rolling update to complete "
                       "%lld pods at revision %s...\n",
                       updated, urev ? urev : "");
            return 0;
        }
        buf_printf(msg,
                   "statefulset rolling update complete %lld pods at "
                   "revision %s...\n",
                   int_at(st, "currentReplicas", NULL), crev ? crev : "");
        return 1;
    }
}

static int status_event_cb(const json_t *obj, const char *type, void *arg)
{
    struct status_ctx *sc = arg;
    struct buf msg;
    int done;

    if (strcmp(type, "NONE") == 0)
        return 0; /* kubectl's informer simply waits */
    if (strcmp(type, "DELETED") == 0) {
        fprintf(stderr, "error: object has been deleted\n");
        return -1;
    }
    if (strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0)
        return 0;
    buf_init(&msg);
    done = status_of(sc->r, obj, sc->revision, &msg);
    if (msg.len > 0) {
        fwrite(msg.data, 1, msg.len, stdout);
        fflush(stdout);
    }
    buf_close(&msg);
    if (done < 0)
        return -1;
    if (done > 0 || !sc->watch)
        return 1;
    return 0;
}

static int rollout_status(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv pos, files = {0};
    bool recursive = false, watch = true;
    const char *selector = NULL, *timeout = NULL;
    long revision = 0;
    const struct kctl_opt opts[] = {
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"revision", 0, KCTL_OPT_INT, &revision},
        {"selector", 'l', KCTL_OPT_STR, &selector},
        {"timeout", 0, KCTL_OPT_STR, &timeout},
        {"watch", 'w', KCTL_OPT_BOOL, &watch},
        {NULL, 0, 0, NULL},
    };
    struct kctl_objs os = {NULL, 0};
    int64_t timeout_ns = 0, deadline = 0;
    bool selection;
    char why[256];
    int rv = 1;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (timeout != NULL &&
        kctl_go_duration(timeout, &timeout_ns, why, sizeof why) != 0) {
        fprintf(stderr,
                "Error: invalid argument \"%s\" for \"--timeout\" flag: %s\n"
                "See 'kubectl-lite rollout status --help' for usage.\n",
                timeout, why);
        goto out;
    }
    if (revision < 0) {
        fprintf(stderr, "error: revision must be a positive integer: %ld\n",
                revision);
        goto out;
    }
    if (collect(cl, &pos, &files, recursive, selector, &os, &selection) != 0)
        goto out;
    if (os.n == 0 && selection)
        fprintf(stderr, "No resources found in %s namespace.\n",
                kctl_namespace(cl));
    if (timeout_ns > 0)
        deadline = clock_mono_ns() + timeout_ns;
    rv = 0;
    for (int i = 0; i < os.n; i++) {
        struct status_ctx sc = {&os.v[i].r, revision, watch};
        char gk[160];
        int w;
        if (!is_apps(&os.v[i].r, "Deployment") &&
            !is_apps(&os.v[i].r, "DaemonSet") &&
            !is_apps(&os.v[i].r, "StatefulSet")) {
            group_kind(&os.v[i].r, gk, sizeof gk);
            fprintf(stderr,
                    "error: no status viewer has been implemented for %s\n",
                    gk);
            rv = 1;
            break;
        }
        w = kctl_watch_object(cl, &os.v[i].r, os.v[i].ns, os.v[i].name,
                              deadline, status_event_cb, &sc);
        if (w == 1)
            fprintf(stderr, "error: timed out waiting for the condition\n");
        if (w != 0) {
            rv = 1;
            break;
        }
    }
out:
    kctl_objs_free(&os);
    free(pos.v);
    free(files.v);
    return rv;
}

/* ------------------------------------------------------ describe text */

/* printLabelsMultiline(w, title, labels): continuation lines "\t". */
static void describe_labels(struct buf *o, const char *title, const json_t *m)
{
    size_t n;
    const char **keys = kctl_sorted_keys(m, &n);

    buf_printf(o, "%s:\t", title);
    if (n == 0)
        buf_printf(o, "<none>\n");
    for (size_t i = 0; i < n; i++)
        buf_printf(o, "%s%s=%s\n", i ? "\t" : "", keys[i],
                   json_string_value(json_object_get(m, keys[i])));
    free(keys);
}

/* printAnnotationsMultiline: long or multi-line values on lines of their
 * own (maxAnnotationLen 140). */
static void describe_annotations(struct buf *o, const char *title,
                                 const json_t *m)
{
    size_t n;
    const char **keys = kctl_sorted_keys(m, &n);

    buf_printf(o, "%s:\t", title);
    if (n == 0)
        buf_printf(o, "<none>\n");
    for (size_t i = 0; i < n; i++) {
        const char *v = json_string_value(json_object_get(m, keys[i]));
        size_t vl = v ? strlen(v) : 0;
        if (i != 0)
            buf_printf(o, "\t");
        if (vl > 0 && v[vl - 1] == '\n')
            vl--;
        if (vl + strlen(keys[i]) + 2 > 140 || memchr(v, '\n', vl) != NULL) {
            const char *s = v;
            buf_printf(o, "%s:\n", keys[i]);
            for (;;) {
                const char *nl = memchr(s, '\n', vl - (size_t)(s - v));
                size_t l = nl ? (size_t)(nl - s) : vl - (size_t)(s - v);
                if (l > 138)
                    buf_printf(o, "\t  %.*s...\n", 138, s);
                else
                    buf_printf(o, "\t  %.*s\n", (int)l, s);
                if (nl == NULL)
                    break;
                s = nl + 1;
            }
        } else {
            buf_printf(o, "%s: %.*s\n", keys[i], (int)vl, v ? v : "");
        }
    }
    free(keys);
}

static void describe_lines(struct buf *o, const char *indent, const char *s)
{
    for (;;) {
        const char *nl = strchr(s, '\n');
        if (nl == NULL) {
            buf_printf(o, "%s%s\n", indent, s);
            return;
        }
        buf_printf(o, "%s%.*s\n", indent, (int)(nl - s), s);
        s = nl + 1;
    }
}

/* intstr.IntOrString.String() */
static void int_or_string(const json_t *v, char *out, size_t len)
{
    if (json_is_integer(v))
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, len, "%s",
                 json_string_value(v) ? json_string_value(v) : "");
}

static void describe_probe(struct buf *o, const char *title, const json_t *p)
{
    const json_t *h;
    char attrs[256], port[64];

    if (!json_is_object(p))
        return;
    snprintf(attrs, sizeof attrs,
             "delay=%llds timeout=%llds period=%llds #success=%lld "
             "#failure=%lld",
             int_at(p, "initialDelaySeconds", NULL),
             int_at(p, "timeoutSeconds", NULL),
             int_at(p, "periodSeconds", NULL),
             int_at(p, "successThreshold", NULL),
             int_at(p, "failureThreshold", NULL));
    buf_printf(o, "    %s:\t", title);
    if ((h = json_object_get(p, "exec")) != NULL) {
        size_t i;
        json_t *c;
        buf_printf(o, "exec [");
        json_array_foreach (json_object_get(h, "command"), i, c) {
            buf_printf(o, "%s%s", i ? " " : "", json_string_value(c));
        }
        buf_printf(o, "] %s\n", attrs);
    } else if ((h = json_object_get(p, "httpGet")) != NULL) {
        const char *scheme = kctl_str_at(h, "scheme", NULL);
        const char *host = kctl_str_at(h, "host", NULL);
        const char *path = kctl_str_at(h, "path", NULL);
        char sch[16] = "";
        int_or_string(json_object_get(h, "port"), port, sizeof port);
        for (size_t i = 0; scheme && scheme[i] && i + 1 < sizeof sch; i++)
            sch[i] = (char)tolower((unsigned char)scheme[i]);
        buf_printf(o, "http-get %s%s//%s%s%s%s %s\n", sch, sch[0] ? ":" : "",
                   host ? host : "", port[0] ? ":" : "", port, path ? path : "",
                   attrs);
    } else if ((h = json_object_get(p, "tcpSocket")) != NULL) {
        int_or_string(json_object_get(h, "port"), port, sizeof port);
        buf_printf(o, "tcp-socket %s:%s %s\n",
                   kctl_str_at(h, "host", NULL) ? kctl_str_at(h, "host", NULL)
                                                : "",
                   port, attrs);
    } else if ((h = json_object_get(p, "grpc")) != NULL) {
        buf_printf(o, "grpc <pod>:%lld %s %s\n", int_at(h, "port", NULL),
                   kctl_str_at(h, "service", NULL)
                       ? kctl_str_at(h, "service", NULL)
                       : "",
                   attrs);
    } else {
        buf_printf(o, "unknown %s\n", attrs);
    }
}

static void describe_containers(struct buf *o, const char *label,
                                const json_t *cs)
{
    size_t i, j;
    json_t *c, *e;

    buf_printf(o, "  %s:\n", label);
    json_array_foreach (cs, i, c) {
        const json_t *ports = json_object_get(c, "ports");
        const json_t *res = json_object_get(c, "resources");
        struct buf pp, hp;
        buf_init(&pp);
        buf_init(&hp);
        buf_printf(o, "   %s:\n", kctl_str_at(c, "name", NULL));
        buf_printf(o, "    Image:\t%s\n",
                   kctl_str_at(c, "image", NULL) ? kctl_str_at(c, "image", NULL)
                                                 : "");
        json_array_foreach (ports, j, e) {
            const char *proto = kctl_str_at(e, "protocol", NULL);
            buf_printf(&pp, "%s%lld/%s", j ? ", " : "",
                       int_at(e, "containerPort", NULL), proto ? proto : "");
            buf_printf(&hp, "%s%lld/%s", j ? ", " : "",
                       int_at(e, "hostPort", NULL), proto ? proto : "");
        }
        buf_printf(o, "    %s:\t%s\n",
                   json_array_size(ports) > 1 ? "Ports" : "Port",
                   pp.len ? pp.data : "<none>");
        buf_printf(o, "    %s:\t%s\n",
                   json_array_size(ports) > 1 ? "Host Ports" : "Host Port",
                   hp.len ? hp.data : "<none>");
        buf_close(&pp);
        buf_close(&hp);
        if (kctl_str_at(c, "restartPolicy", NULL) != NULL)
            buf_printf(o, "    Restart Policy:\t%s\n",
                       kctl_str_at(c, "restartPolicy", NULL));
        if (json_array_size(json_object_get(c, "command")) > 0) {
            buf_printf(o, "    Command:\n");
            json_array_foreach (json_object_get(c, "command"), j, e) {
                describe_lines(o, "      ", json_string_value(e));
            }
        }
        if (json_array_size(json_object_get(c, "args")) > 0) {
            buf_printf(o, "    Args:\n");
            json_array_foreach (json_object_get(c, "args"), j, e) {
                describe_lines(o, "      ", json_string_value(e));
            }
        }
        {
            const char *kinds[] = {"limits", "requests"};
            const char *titles[] = {"Limits", "Requests"};
            for (int k = 0; k < 2; k++) {
                const json_t *m = json_object_get(res, kinds[k]);
                size_t n;
                const char **keys;
                if (json_object_size(m) == 0)
                    continue;
                buf_printf(o, "    %s:\n", titles[k]);
                keys = kctl_sorted_keys(m, &n);
                for (size_t q = 0; q < n; q++) {
                    const json_t *v = json_object_get(m, keys[q]);
                    char val[64];
                    int_or_string(v, val, sizeof val);
                    buf_printf(o, "      %s:\t%s\n", keys[q], val);
                }
                free(keys);
            }
        }
        describe_probe(o, "Liveness", json_object_get(c, "livenessProbe"));
        describe_probe(o, "Readiness", json_object_get(c, "readinessProbe"));
        describe_probe(o, "Startup", json_object_get(c, "startupProbe"));
        if (json_array_size(json_object_get(c, "envFrom")) > 0) {
            buf_printf(o, "    Environment Variables from:\n");
            json_array_foreach (json_object_get(c, "envFrom"), j, e) {
                const json_t *ref = json_object_get(e, "configMapRef");
                const char *what = "ConfigMap";
                const char *pfx = kctl_str_at(e, "prefix", NULL);
                if (ref == NULL) {
                    ref = json_object_get(e, "secretRef");
                    what = "Secret";
                }
                buf_printf(o, "      %s\t%s\t", kctl_str_at(ref, "name", NULL),
                           what);
                if (pfx && pfx[0])
                    buf_printf(o, "with prefix '%s'\t", pfx);
                buf_printf(o, "Optional: %s\n",
                           json_is_true(json_object_get(ref, "optional"))
                               ? "true"
                               : "false");
            }
        }
        buf_printf(o, "    Environment:%s\n",
                   json_array_size(json_object_get(c, "env")) ? ""
                                                              : "\t<none>");
        json_array_foreach (json_object_get(c, "env"), j, e) {
            const char *en = kctl_str_at(e, "name", NULL);
            const json_t *vf = json_object_get(e, "valueFrom");
            if (vf == NULL) {
                const char *v = kctl_str_at(e, "value", NULL);
                const char *s = v ? v : "";
                bool first = true;
                for (;;) {
                    const char *nl = strchr(s, '\n');
                    size_t l = nl ? (size_t)(nl - s) : strlen(s);
                    if (first)
                        buf_printf(o, "      %s:\t%.*s\n", en, (int)l, s);
                    else
                        buf_printf(o, "      \t%.*s\n", (int)l, s);
                    first = false;
                    if (nl == NULL)
                        break;
                    s = nl + 1;
                }
            } else if (json_object_get(vf, "fieldRef") != NULL) {
                const json_t *fr = json_object_get(vf, "fieldRef");
                buf_printf(o, "      %s:\t (%s:%s)\n", en,
                           kctl_str_at(fr, "apiVersion", NULL)
                               ? kctl_str_at(fr, "apiVersion", NULL)
                               : "",
                           kctl_str_at(fr, "fieldPath", NULL));
            } else if (json_object_get(vf, "resourceFieldRef") != NULL) {
                const json_t *rf = json_object_get(vf, "resourceFieldRef");
                buf_printf(o, "      %s:\t%s (%s)\n", en,
                           kctl_str_at(rf, "resource", NULL),
                           kctl_str_at(rf, "containerName", NULL)
                               ? kctl_str_at(rf, "containerName", NULL)
                               : "");
            } else {
                const json_t *sk = json_object_get(vf, "secretKeyRef");
                const json_t *ck = json_object_get(vf, "configMapKeyRef");
                const json_t *ref = sk ? sk : ck;
                buf_printf(o,
                           "      %s:\t<set to the key '%s' %s '%s'>\t"
                           "Optional: %s\n",
                           en, kctl_str_at(ref, "key", NULL),
                           sk ? "in secret" : "of config map",
                           kctl_str_at(ref, "name", NULL),
                           json_is_true(json_object_get(ref, "optional"))
                               ? "true"
                               : "false");
            }
        }
        {
            const json_t *vm = json_object_get(c, "volumeMounts");
            size_t n = json_array_size(vm);
            const json_t **sorted = calloc(n + 1, sizeof *sorted);
            buf_printf(o, "    Mounts:%s\n", n ? "" : "\t<none>");
            for (size_t q = 0; q < n && sorted; q++)
                sorted[q] = json_array_get(vm, q);
            /* SortableVolumeMounts: by mountPath */
            for (size_t a = 0; sorted && a < n; a++)
                for (size_t b = a + 1; b < n; b++)
                    if (strcmp(kctl_str_at(sorted[a], "mountPath", NULL),
                               kctl_str_at(sorted[b], "mountPath", NULL)) > 0) {
                        const json_t *t = sorted[a];
                        sorted[a] = sorted[b];
                        sorted[b] = t;
                    }
            for (size_t q = 0; sorted && q < n; q++) {
                const char *sp = kctl_str_at(sorted[q], "subPath", NULL);
                buf_printf(o, "      %s from %s (%s",
                           kctl_str_at(sorted[q], "mountPath", NULL),
                           kctl_str_at(sorted[q], "name", NULL),
                           json_is_true(json_object_get(sorted[q], "readOnly"))
                               ? "ro"
                               : "rw");
                if (sp && sp[0])
                    buf_printf(o, ",path=\"%s\"", sp);
                buf_printf(o, ")\n");
            }
            free(sorted);
        }
    }
}

static void describe_volumes(struct buf *o, const json_t *vols)
{
    size_t i;
    json_t *v, *s;

    if (json_array_size(vols) == 0) {
        buf_printf(o, "  Volumes:\t<none>\n");
        return;
    }
    buf_printf(o, "  Volumes:\n");
    json_array_foreach (vols, i, v) {
        buf_printf(o, "   %s:\n", kctl_str_at(v, "name", NULL));
        if ((s = json_object_get(v, "emptyDir")) != NULL) {
            const char *limit = kctl_str_at(s, "sizeLimit", NULL);
            const char *medium = kctl_str_at(s, "medium", NULL);
            buf_printf(o,
                       "    Type:\tEmptyDir (a temporary directory that "
                       "shares a pod's lifetime)\n    Medium:\t%s\n    "
                       "SizeLimit:\t%s\n",
                       medium ? medium : "",
                       limit && strcmp(limit, "0") != 0 ? limit : "<unset>");
        } else if ((s = json_object_get(v, "hostPath")) != NULL) {
            const char *type = kctl_str_at(s, "type", NULL);
            buf_printf(o,
                       "    Type:\tHostPath (bare host directory volume)\n"
                       "    Path:\t%s\n    HostPathType:\t%s\n",
                       kctl_str_at(s, "path", NULL), type ? type : "<none>");
        } else if ((s = json_object_get(v, "configMap")) != NULL) {
            buf_printf(o,
                       "    Type:\tConfigMap (a volume populated by a "
                       "ConfigMap)\n    Name:\t%s\n    Optional:\t%s\n",
                       kctl_str_at(s, "name", NULL),
                       json_is_true(json_object_get(s, "optional")) ? "true"
                                                                    : "false");
        } else if ((s = json_object_get(v, "secret")) != NULL) {
            buf_printf(o,
                       "    Type:\tSecret (a volume populated by a Secret)\n"
                       "    SecretName:\t%s\n    Optional:\t%s\n",
                       kctl_str_at(s, "secretName", NULL),
                       json_is_true(json_object_get(s, "optional")) ? "true"
                                                                    : "false");
        } else if ((s = json_object_get(v, "persistentVolumeClaim")) != NULL) {
            buf_printf(o,
                       "    Type:\tPersistentVolumeClaim (a reference to a "
                       "PersistentVolumeClaim in the same namespace)\n"
                       "    ClaimName:\t%s\n    ReadOnly:\t%s\n",
                       kctl_str_at(s, "claimName", NULL),
                       json_is_true(json_object_get(s, "readOnly")) ? "true"
                                                                    : "false");
        } else {
            buf_printf(o, "  <unknown>\n");
        }
    }
}

/* describe.DescribePodTemplate. */
static void describe_template(struct buf *o, const json_t *tmpl)
{
    const json_t *md = json_object_get(tmpl, "metadata");
    const json_t *spec = json_object_get(tmpl, "spec");
    const char *sa = kctl_str_at(spec, "serviceAccountName", NULL);
    const char *pc = kctl_str_at(spec, "priorityClassName", NULL);
    size_t i;
    json_t *t;

    buf_printf(o, "Pod Template:\n");
    describe_labels(o, "  Labels", json_object_get(md, "labels"));
    if (json_object_size(json_object_get(md, "annotations")) > 0)
        describe_annotations(o, "  Annotations",
                             json_object_get(md, "annotations"));
    if (sa != NULL && sa[0] != '\0')
        buf_printf(o, "  Service Account:\t%s\n", sa);
    if (json_array_size(json_object_get(spec, "initContainers")) > 0)
        describe_containers(o, "Init Containers",
                            json_object_get(spec, "initContainers"));
    describe_containers(o, "Containers", json_object_get(spec, "containers"));
    describe_volumes(o, json_object_get(spec, "volumes"));
    if (pc != NULL && pc[0] != '\0')
        buf_printf(o, "  Priority Class Name:\t%s\n", pc);
    describe_labels(o, "  Node-Selectors",
                    json_object_get(spec, "nodeSelector"));
    buf_printf(o, "  Tolerations:\t");
    {
        const json_t *tl = json_object_get(spec, "tolerations");
        size_t n = json_array_size(tl);
        const json_t **v = calloc(n + 1, sizeof *v);
        if (n == 0)
            buf_printf(o, "<none>\n");
        for (i = 0; v && i < n; i++)
            v[i] = json_array_get(tl, i);
        for (size_t a = 0; v && a < n; a++)
            for (size_t b = a + 1; b < n; b++) {
                const char *ka = kctl_str_at(v[a], "key", NULL);
                const char *kb = kctl_str_at(v[b], "key", NULL);
                if (strcmp(ka ? ka : "", kb ? kb : "") > 0) {
                    const json_t *x = v[a];
                    v[a] = v[b];
                    v[b] = x;
                }
            }
        for (i = 0; v && i < n; i++) {
            const char *key = kctl_str_at(v[i], "key", NULL);
            const char *val = kctl_str_at(v[i], "value", NULL);
            const char *eff = kctl_str_at(v[i], "effect", NULL);
            const char *op = kctl_str_at(v[i], "operator", NULL);
            t = json_object_get(v[i], "tolerationSeconds");
            if (i != 0)
                buf_printf(o, "\t");
            buf_printf(o, "%s", key ? key : "");
            if (val && val[0])
                buf_printf(o, "=%s", val);
            if (eff && eff[0])
                buf_printf(o, ":%s", eff);
            if (op && strcmp(op, "Exists") == 0 && !(val && val[0]))
                buf_printf(o, "%sop=Exists",
                           (key && key[0]) || (eff && eff[0]) ? " " : "");
            if (json_is_integer(t))
                buf_printf(o, " for %llds", (long long)json_integer_value(t));
            buf_printf(o, "\n");
        }
        free(v);
    }
}

/* ------------------------------------------------- deployment history */

/* The items of a list whose controller reference has this uid (a new
 * array of borrowed-then-increfed items). */
static json_t *controlled_by(const json_t *list, const char *uid)
{
    json_t *out = json_array(), *it, *ref;
    size_t i, j;

    json_array_foreach (json_object_get(list, "items"), i, it) {
        json_array_foreach (
            json_object_get(json_object_get(it, "metadata"), "ownerReferences"),
            j, ref) {
            const char *ru = kctl_str_at(ref, "uid", NULL);
            if (json_is_true(json_object_get(ref, "controller")) && ru && uid &&
                strcmp(ru, uid) == 0) {
                json_array_append(out, it);
                break;
            }
        }
    }
    return out;
}

/* The ReplicaSets a Deployment controls (new reference, array), or NULL
 * after printing. */
static json_t *owned_replicasets(struct kctl_client *cl, const json_t *dep)
{
    const char *ns = kctl_str_at(dep, "metadata", "namespace");
    const char *uid = kctl_str_at(dep, "metadata", "uid");
    struct kctl_resource rs = {.group = "apps",
                               .version = "v1",
                               .resource = "replicasets",
                               .singular = "replicaset",
                               .kind = "ReplicaSet",
                               .namespaced = true};
    struct buf p, sel;
    json_t *list = NULL, *out;

    buf_init(&p);
    buf_init(&sel);
    kctl_selector_string(
        json_object_get(json_object_get(dep, "spec"), "selector"), &sel);
    kctl_resource_path(&p, &rs, ns, NULL);
    buf_printf(&p, "?labelSelector=");
    kctl_query_escape(&p, sel.data ? sel.data : "");
    buf_close(&sel);
    if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &list) != 0) {
        buf_close(&p);
        return NULL;
    }
    buf_close(&p);
    out = controlled_by(list, uid);
    json_decref(list);
    return out;
}

/* The owned ReplicaSets by revision, later ones replacing earlier ones of
 * the same revision as kubectl's map does: sorted array of
 * [revision, rs]. */
static json_t *history_of(const json_t *rss)
{
    json_t *byrev = json_object(), *out = json_array(), *it;
    size_t i, n;
    const char **keys;

    json_array_foreach (rss, i, it) {
        long long r = revision_of(it);
        char k[32];
        if (r < 0)
            continue;
        snprintf(k, sizeof k, "%020lld", r);
        json_object_set(byrev, k, it);
    }
    keys = kctl_sorted_keys(byrev, &n);
    for (i = 0; i < n; i++)
        json_array_append_new(
            out, json_pack("[I,O]", (json_int_t)strtoll(keys[i], NULL, 10),
                           json_object_get(byrev, keys[i])));
    free(keys);
    json_decref(byrev);
    return out;
}

/* The template of a history entry with the ReplicaSet's change-cause
 * (new reference). */
static json_t *history_template(const json_t *rs)
{
    json_t *tmpl = json_deep_copy(
        json_object_get(json_object_get(rs, "spec"), "template"));
    const char *cause = json_string_value(json_object_get(
        json_object_get(json_object_get(rs, "metadata"), "annotations"),
        CHANGE_CAUSE_ANN));
    if (tmpl == NULL)
        tmpl = json_object();
    if (cause != NULL && cause[0] != '\0') {
        json_t *md = json_object_get(tmpl, "metadata");
        if (!json_is_object(md)) {
            md = json_object();
            json_object_set_new(tmpl, "metadata", md);
        }
        if (!json_is_object(json_object_get(md, "annotations")))
            json_object_set_new(md, "annotations", json_object());
        json_object_set_new(json_object_get(md, "annotations"),
                            CHANGE_CAUSE_ANN, json_string(cause));
    }
    return tmpl;
}

/* DaemonSet / StatefulSet history lives in ControllerRevisions. Returns
 * the owned ones (new reference) or NULL after printing kubectl's error. */
static json_t *controller_revisions(struct kctl_client *cl,
                                    const struct kctl_obj *o)
{
    struct kctl_resource cr = {.group = "apps",
                               .version = "v1",
                               .resource = "controllerrevisions",
                               .namespaced = true};
    struct buf p, sel;
    struct kctl_resp resp;
    json_t *list, *out;
    const char *uid = kctl_str_at(o->obj, "metadata", "uid");

    buf_init(&p);
    buf_init(&sel);
    kctl_selector_string(
        json_object_get(json_object_get(o->obj, "spec"), "selector"), &sel);
    kctl_resource_path(&p, &cr, o->ns, NULL);
    buf_printf(&p, "?labelSelector=");
    kctl_query_escape(&p, sel.data ? sel.data : "");
    buf_close(&sel);
    if (kctl_http(cl, "GET", p.data, NULL, NULL, 0, NULL, &resp) != 0) {
        buf_close(&p);
        kctl_resp_close(&resp);
        return NULL;
    }
    buf_close(&p);
    if (resp.status < 200 || resp.status > 299) {
        json_t *st = json_loadb(resp.body.data ? resp.body.data : "",
                                resp.body.len, 0, NULL);
        const char *m = json_string_value(json_object_get(st, "message"));
        if (resp.status == 404)
            m = "the server could not find the requested resource";
        fprintf(stderr,
                "error: unable to find history controlled by %s %s: %s\n",
                o->r.kind, o->name, m ? m : "unknown error");
        json_decref(st);
        kctl_resp_close(&resp);
        return NULL;
    }
    list = json_loadb(resp.body.data, resp.body.len, 0, NULL);
    kctl_resp_close(&resp);
    out = controlled_by(list, uid);
    json_decref(list);
    return out;
}

static void print_history_table(const json_t *revs,
                                const char *(*cause_of)(const json_t *),
                                struct buf *o)
{
    size_t i, w = strlen("REVISION");
    json_t *e;
    char num[32];

    /* text/tabwriter(minwidth 0, tabwidth 8, padding 2) */
    json_array_foreach (revs, i, e) {
        snprintf(num, sizeof num, "%lld",
                 (long long)json_integer_value(json_array_get(e, 0)));
        if (strlen(num) > w)
            w = strlen(num);
    }
    buf_printf(o, "%-*s%s\n", (int)w + 2, "REVISION", "CHANGE-CAUSE");
    json_array_foreach (revs, i, e) {
        const char *c = cause_of(json_array_get(e, 1));
        snprintf(num, sizeof num, "%lld",
                 (long long)json_integer_value(json_array_get(e, 0)));
        buf_printf(o, "%-*s%s\n", (int)w + 2, num, c && c[0] ? c : "<none>");
    }
}

static const char *rs_cause(const json_t *rs)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(rs, "metadata"), "annotations"),
        CHANGE_CAUSE_ANN));
}

static int rollout_history(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv pos, files = {0};
    bool recursive = false;
    const char *selector = NULL, *output = NULL;
    long revision = 0;
    const struct kctl_opt opts[] = {
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"revision", 0, KCTL_OPT_INT, &revision},
        {"selector", 'l', KCTL_OPT_STR, &selector},
        {"output", 'o', KCTL_OPT_STR, &output},
        {NULL, 0, 0, NULL},
    };
    struct kctl_objs os = {NULL, 0};
    bool selection;
    int rv = 1;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (kctl_check_output(output, "json,name,yaml") != 0)
        goto out;
    if (revision < 0) {
        fprintf(stderr, "error: revision must be a positive integer: %ld\n",
                revision);
        goto out;
    }
    if (collect(cl, &pos, &files, recursive, selector, &os, &selection) != 0)
        goto out;
    rv = 0;
    for (int i = 0; i < os.n && rv == 0; i++) {
        struct kctl_obj *o = &os.v[i];
        char q[160];
        json_t *revs, *rss;
        struct buf text;

        kctl_resource_qualified(&o->r, true, q, sizeof q);
        if (is_apps(&o->r, "DaemonSet") || is_apps(&o->r, "StatefulSet")) {
            json_t *crs = controller_revisions(cl, o), *it;
            size_t k;
            if (crs == NULL) {
                rv = 1;
                break;
            }
            /* a ControllerRevision carries its number in .revision */
            revs = json_array();
            json_array_foreach (crs, k, it) {
                json_array_append_new(
                    revs,
                    json_pack("[I,O]", (json_int_t)int_at(it, "revision", NULL),
                              it));
            }
            json_decref(crs);
            buf_init(&text);
            if (json_array_size(revs) == 0)
                buf_printf(&text, "No rollout history found.\n");
            else
                print_history_table(revs, rs_cause, &text);
            printf("%s/%s \n%s\n", q, o->name, text.data);
            buf_close(&text);
            json_decref(revs);
            continue;
        }
        if (!is_apps(&o->r, "Deployment")) {
            char gk[160];
            group_kind(&o->r, gk, sizeof gk);
            fprintf(stderr,
                    "error: no history viewer has been implemented for "
                    "\"%s\"\n",
                    gk);
            rv = 1;
            break;
        }
        rss = owned_replicasets(cl, o->obj);
        if (rss == NULL) {
            rv = 1;
            break;
        }
        revs = history_of(rss);
        json_decref(rss);
        if (output != NULL && output[0] != '\0') {
            size_t k;
            json_t *e;
            bool found = false;
            json_array_foreach (revs, k, e) {
                json_t *rs = json_array_get(e, 1);
                if (revision > 0 &&
                    json_integer_value(json_array_get(e, 0)) != revision)
                    continue;
                found = true;
                if (strcmp(output, "name") == 0) {
                    printf("replicaset.apps/%s\n",
                           kctl_str_at(rs, "metadata", "name"));
                } else {
                    json_t *copy = json_deep_copy(rs);
                    json_object_set_new(copy, "kind",
                                        json_string("ReplicaSet"));
                    json_object_set_new(copy, "apiVersion",
                                        json_string("apps/v1"));
                    kctl_print_object(copy, output);
                    json_decref(copy);
                }
            }
            if (revision > 0 && !found) {
                fprintf(stderr, "error: unable to find the specified "
                                "revision\n");
                rv = 1;
            }
            json_decref(revs);
            continue;
        }
        buf_init(&text);
        if (json_array_size(revs) == 0) {
            buf_printf(&text, "No rollout history found.");
        } else if (revision > 0) {
            size_t k;
            json_t *e, *tmpl = NULL;
            json_array_foreach (revs, k, e) {
                if (json_integer_value(json_array_get(e, 0)) == revision)
                    tmpl = history_template(json_array_get(e, 1));
            }
            if (tmpl == NULL) {
                fprintf(stderr,
                        "error: unable to find the specified revision\n");
                rv = 1;
                buf_close(&text);
                json_decref(revs);
                break;
            }
            describe_template(&text, tmpl);
            json_decref(tmpl);
        } else {
            print_history_table(revs, rs_cause, &text);
        }
        if (revision > 0 && json_array_size(revs) > 0)
            printf("%s/%s with revision #%ld\n%s\n", q, o->name, revision,
                   text.data);
        else
            printf("%s/%s \n%s\n", q, o->name, text.data);
        buf_close(&text);
        json_decref(revs);
    }
out:
    kctl_objs_free(&os);
    free(pos.v);
    free(files.v);
    return rv;
}

/* ----------------------------------------------------------------- undo */

static bool is_skipped_annotation(const char *k)
{
    static const char *const skip[] = {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION_ANN,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
        NULL,
    };
    for (int i = 0; skip[i] != NULL; i++)
        if (strcmp(k, skip[i]) == 0)
            return true;
    return false;
}

/* A template without the pod-template-hash label (new reference). */
static json_t *template_without_hash(const json_t *tmpl)
{
    json_t *t = json_deep_copy(tmpl);
    json_t *labels;
    if (t == NULL)
        return json_object();
    labels = json_object_get(json_object_get(t, "metadata"), "labels");
    json_object_del(labels, HASH_LABEL);
    return t;
}

/* Semantic equality of two JSON values: an absent key, null, {} and []
 * all mean "empty", as the typed structs the Go client compares make
 * them. */
static bool empty_value(const json_t *v)
{
    return v == NULL || json_is_null(v) ||
           (json_is_object(v) && json_object_size(v) == 0) ||
           (json_is_array(v) && json_array_size(v) == 0) ||
           (json_is_string(v) && json_string_length(v) == 0) ||
           (json_is_false(v));
}

static bool semantic_equal(const json_t *a, const json_t *b)
{
    if (empty_value(a) && empty_value(b))
        return true;
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *v;
        json_object_foreach ((json_t *)a, k, v) {
            if (!semantic_equal(v, json_object_get(b, k)))
                return false;
        }
        json_object_foreach ((json_t *)b, k, v) {
            if (json_object_get(a, k) == NULL && !empty_value(v))
                return false;
        }
        return true;
    }
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!semantic_equal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    return json_equal(a, b);
}

static int undo_deployment(struct kctl_client *cl, const struct kctl_obj *o,
                           long to_revision, const char *dry_run,
                           const char *output)
{
    json_t *rss, *rs = NULL, *latest = NULL, *previous = NULL, *it;
    json_t *tmpl = NULL, *cur_tmpl = NULL, *ann, *patch;
    long long latest_rev = -1, previous_rev = -1;
    const char *key;
    json_t *v;
    size_t i;
    int rv = -1;

    rss = owned_replicasets(cl, o->obj);
    if (rss == NULL)
        return -1;
    json_array_foreach (rss, i, it) {
        long long r = revision_of(it);
        if (r < 0)
            continue;
        if (to_revision == 0) {
            if (latest_rev < r) {
                previous_rev = latest_rev;
                previous = latest;
                latest_rev = r;
                latest = it;
            } else if (previous_rev < r) {
                previous_rev = r;
                previous = it;
            }
        } else if (to_revision == r) {
            rs = it;
            break;
        }
    }
    if (to_revision == 0)
        rs = previous;
    if (rs == NULL) {
        if (to_revision > 0)
            fprintf(stderr,
                    "error: unable to find specified revision %ld in "
                    "history\n",
                    to_revision);
        else
            fprintf(stderr,
                    "error: no rollout history found for deployment "
                    "\"%s\"\n",
                    o->name);
        goto out;
    }
    tmpl = template_without_hash(
        json_object_get(json_object_get(rs, "spec"), "template"));
    if (dry_run != NULL && strcmp(dry_run, "client") == 0) {
        struct buf text;
        char q[160];
        buf_init(&text);
        describe_template(
            &text, json_object_get(json_object_get(rs, "spec"), "template"));
        kctl_resource_qualified(&o->r, true, q, sizeof q);
        if (output != NULL && strcmp(output, "name") == 0)
            printf("%s/%s\n", q, o->name);
        else
            printf("%s/%s %s (dry run)\n", q, o->name, text.data);
        buf_close(&text);
        rv = 0;
        goto out;
    }
    if (json_is_true(
            json_object_get(json_object_get(o->obj, "spec"), "paused"))) {
        fprintf(stderr, "error: you cannot rollback a paused deployment; "
                        "resume it first with 'kubectl rollout resume' and "
                        "try again\n");
        goto out;
    }
    cur_tmpl = template_without_hash(
        json_object_get(json_object_get(o->obj, "spec"), "template"));
    if (semantic_equal(tmpl, cur_tmpl)) {
        char msg[128];
        snprintf(msg, sizeof msg,
                 "skipped rollback (current template already matches "
                 "revision %ld)",
                 to_revision);
        print_name_op(&o->r, o->name, msg, NULL, output);
        rv = 0;
        goto out;
    }
    ann = json_object();
    json_object_foreach (
        json_object_get(json_object_get(o->obj, "metadata"), "annotations"),
        key, v) {
        if (is_skipped_annotation(key))
            json_object_set(ann, key, v);
    }
    json_object_foreach (
        json_object_get(json_object_get(rs, "metadata"), "annotations"), key,
        v) {
        if (!is_skipped_annotation(key))
            json_object_set(ann, key, v);
    }
    patch = json_pack("[{s:s, s:s, s:O}, {s:s, s:s, s:o}]", "op", "replace",
                      "path", "/spec/template", "value", tmpl, "op", "replace",
                      "path", "/metadata/annotations", "value", ann);
    {
        struct buf p;
        buf_init(&p);
        kctl_resource_path(&p, &o->r, o->ns, o->name);
        if (dry_run != NULL)
            buf_printf(&p, "?dryRun=All");
        if (kctl_json(cl, "PATCH", p.data, "application/json-patch+json", patch,
                      false, NULL) == 0) {
            print_name_op(&o->r, o->name, "rolled back",
                          dry_run ? " (server dry run)" : NULL, output);
            rv = 0;
        }
        buf_close(&p);
    }
    json_decref(patch);
out:
    json_decref(tmpl);
    json_decref(cur_tmpl);
    json_decref(rss);
    return rv;
}

static int rollout_undo(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv pos, files = {0};
    bool recursive = false;
    const char *selector = NULL, *output = NULL, *dry = NULL, *dry_run;
    long to_revision = 0;
    const struct kctl_opt opts[] = {
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"to-revision", 0, KCTL_OPT_INT, &to_revision},
        {"selector", 'l', KCTL_OPT_STR, &selector},
        {"output", 'o', KCTL_OPT_STR, &output},
        {"dry-run", 0, KCTL_OPT_STR, &dry},
        {NULL, 0, 0, NULL},
    };
    struct kctl_objs os = {NULL, 0};
    bool selection;
    int rv = 1;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (kctl_parse_dry_run(dry, &dry_run) != 0 ||
        kctl_check_output(output, "json,name,yaml") != 0)
        goto out;
    if (collect(cl, &pos, &files, recursive, selector, &os, &selection) != 0)
        goto out;
    rv = 0;
    for (int i = 0; i < os.n && rv == 0; i++) {
        struct kctl_obj *o = &os.v[i];
        if (to_revision < 0) {
            fprintf(stderr,
                    "error: unable to find specified revision %ld in "
                    "history\n",
                    to_revision);
            rv = 1;
        } else if (is_apps(&o->r, "Deployment")) {
            if (undo_deployment(cl, o, to_revision, dry_run, output) != 0)
                rv = 1;
        } else if (is_apps(&o->r, "DaemonSet") ||
                   is_apps(&o->r, "StatefulSet")) {
            json_t *crs = controller_revisions(cl, o);
            if (crs != NULL)
                fprintf(stderr,
                        "error: rollout undo of a %s is not supported by "
                        "kubectl-lite\n",
                        o->r.kind);
            json_decref(crs);
            rv = 1;
        } else {
            char gk[160];
            group_kind(&o->r, gk, sizeof gk);
            fprintf(stderr,
                    "error: no rollbacker has been implemented for \"%s\"\n",
                    gk);
            rv = 1;
        }
    }
out:
    kctl_objs_free(&os);
    free(pos.v);
    free(files.v);
    return rv;
}

/* -------------------------------------------------------------- restart */

/* time.Now().Format(time.RFC3339) in the local zone. */
static void rfc3339_now(char *out, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    char date[32];
    long off;

    localtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    off = tm.tm_gmtoff;
    if (off == 0)
        snprintf(out, len, "%sZ", date);
    else
        snprintf(out, len, "%s%c%02ld:%02ld", date, off < 0 ? '-' : '+',
                 labs(off) / 3600, labs(off) % 3600 / 60);
}

static int rollout_restart(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv pos, files = {0};
    bool recursive = false;
    const char *selector = NULL, *output = NULL;
    const char *manager = "kubectl-rollout";
    const struct kctl_opt opts[] = {
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"selector", 'l', KCTL_OPT_STR, &selector},
        {"output", 'o', KCTL_OPT_STR, &output},
        {"field-manager", 0, KCTL_OPT_STR, &manager},
        {NULL, 0, 0, NULL},
    };
    struct kctl_objs os = {NULL, 0};
    struct buf errs;
    int nerr = 0, rv = 1;
    bool selection;
    char now[64];

    buf_init(&errs);
    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (kctl_check_output(output, "json,name,yaml") != 0)
        goto out;
    if (collect(cl, &pos, &files, recursive, selector, &os, &selection) != 0)
        goto out;
    if (os.n == 0) {
        fprintf(stderr, "No resources found in %s namespace.\n",
                kctl_namespace(cl));
        rv = 0;
        goto out;
    }
    rfc3339_now(now, sizeof now);
    for (int i = 0; i < os.n; i++) {
        struct kctl_obj *o = &os.v[i];
        const char *have;
        char q[160];
        kctl_resource_qualified(&o->r, false, q, sizeof q);
        if (!is_apps(&o->r, "Deployment") && !is_apps(&o->r, "DaemonSet") &&
            !is_apps(&o->r, "StatefulSet")) {
            buf_printf(&errs, "%serror: %s \"%s\" restarting is not supported",
                       nerr++ ? "\n" : "", q, o->name);
            continue;
        }
        if (is_apps(&o->r, "Deployment") &&
            json_is_true(
                json_object_get(json_object_get(o->obj, "spec"), "paused"))) {
            buf_printf(&errs,
                       "%serror: %s \"%s\" can't restart paused deployment "
                       "(run rollout resume first)",
                       nerr++ ? "\n" : "", q, o->name);
            continue;
        }
        have = json_string_value(json_object_get(
            json_object_get(
                json_object_get(json_object_get(json_object_get(o->obj, "spec"),
                                                "template"),
                                "metadata"),
                "annotations"),
            RESTARTED_AT_ANN));
        if (have != NULL && strcmp(have, now) == 0) {
            buf_printf(&errs,
                       "%sfailed to create patch for %s: if restart has "
                       "already been triggered within the past second, "
                       "please wait before attempting to trigger another",
                       nerr++ ? "\n" : "", o->name);
            continue;
        }
        {
            json_t *patch =
                json_pack("{s:{s:{s:{s:{s:s}}}}}", "spec", "template",
                          "metadata", "annotations", RESTARTED_AT_ANN, now);
            struct buf p;
            struct kctl_resp resp;
            char *body = json_dumps(patch, JSON_COMPACT);
            json_decref(patch);
            buf_init(&p);
            kctl_resource_path(&p, &o->r, o->ns, o->name);
            buf_printf(&p, "?fieldManager=");
            kctl_query_escape(&p, manager);
            if (kctl_http(cl, "PATCH", p.data,
                          "application/strategic-merge-patch+json", body,
                          strlen(body), NULL, &resp) != 0) {
                rv = 1;
                free(body);
                buf_close(&p);
                kctl_resp_close(&resp);
                goto out;
            }
            free(body);
            buf_close(&p);
            if (resp.status < 200 || resp.status > 299) {
                json_t *st = json_loadb(resp.body.data ? resp.body.data : "",
                                        resp.body.len, 0, NULL);
                const char *m =
                    json_string_value(json_object_get(st, "message"));
                buf_printf(&errs, "%sfailed to patch: %s", nerr++ ? "\n" : "",
                           m ? m : "unknown error");
                json_decref(st);
            } else if (output != NULL && (strcmp(output, "json") == 0 ||
                                          strcmp(output, "yaml") == 0)) {
                json_t *obj =
                    json_loadb(resp.body.data, resp.body.len, 0, NULL);
                if (obj != NULL)
                    kctl_print_object(obj, output);
                json_decref(obj);
            } else {
                print_name_op(&o->r, o->name, "restarted", NULL, output);
            }
            kctl_resp_close(&resp);
        }
    }
    rv = 0;
    if (nerr > 0) {
        /* one error: "error: …"; several: one a line, as kubectl's
         * CheckErr prints an aggregate */
        if (nerr == 1 && strncmp(errs.data, "error: ", 7) != 0)
            fprintf(stderr, "error: %s\n", errs.data);
        else
            fprintf(stderr, "%s\n", errs.data);
        rv = 1;
    }
out:
    buf_close(&errs);
    kctl_objs_free(&os);
    free(pos.v);
    free(files.v);
    return rv;
}

/* ----------------------------------------------------------------- verb */

int kctl_cmd_rollout(struct kctl_client *cl, int argc, char **argv)
{
    static const struct {
        const char *name;
        kctl_verb_fn run;
    } subs[] = {
        {"status", rollout_status},
        {"history", rollout_history},
        {"undo", rollout_undo},
        {"restart", rollout_restart},
    };

    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        printf("Manage the rollout of one or many resources.\n\n"
               " Valid resource types include:\n\n"
               "  *  deployments\n  *  daemonsets\n  *  statefulsets\n\n"
               "Available Commands:\n"
               "  history       View rollout history\n"
               "  restart       Restart a resource\n"
               "  status        Show the status of the rollout\n"
               "  undo          Undo a previous rollout\n\n"
               "Usage:\n  kubectl-lite rollout SUBCOMMAND [options]\n");
        return argc < 2 ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(cl, argc - 1, argv + 1);
    fprintf(stderr,
            "error: unknown command \"%s\"\nSee 'kubectl-lite rollout -h' for "
            "help and examples\n",
            argv[1]);
    return 1;
}

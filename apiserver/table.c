/*
 * DESIGN: server-side printing (meta.k8s.io/v1 Table), with the columns
 * and cell formats of Kubernetes's own printers (pkg/printers/internalversion)
 * for the kinds served, so `kubectl get` reads like it does against a real
 * cluster. Each row carries rows[].object (PartialObjectMetadata by
 * default, the full object with includeObject=Object, none with None):
 * without it kubectl's --show-labels and -L print nothing (§10.22).
 * Ages use HumanDuration's rounding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/clock.h"
#include "lib/err.h"

#define COLS(a) a, sizeof a / sizeof a[0]
#define NAME_COL                                                               \
    {                                                                          \
        "Name", "string", "name",                                              \
            "Name must be unique within a namespace. Is required when "        \
            "creating "                                                        \
            "resources, although some resources may allow a client to "        \
            "request "                                                         \
            "the generation of an appropriate name automatically. Name is "    \
            "primarily intended for creation idempotence and configuration "   \
            "definition. Cannot be updated. More info: "                       \
            "https://kubernetes.io/docs/concepts/overview/"                    \
            "working-with-objects/"                                            \
            "names#names",                                                     \
            0                                                                  \
    }
#define AGE_COL                                                                \
    {                                                                          \
        "Age", "string", "",                                                   \
            "CreationTimestamp is a timestamp representing the server time "   \
            "when "                                                            \
            "this object was created.",                                        \
            0                                                                  \
    }

void api_human_duration(int64_t ns, char *out, size_t len)
{
    int64_t s = ns / 1000000000ll;
    int64_t m, h;

    if (s < -1) {
        snprintf(out, len, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    if (s < 120) {
        snprintf(out, len, "%llds", (long long)s);
        return;
    }
    m = s / 60;
    if (m < 10) {
        if (s % 60 == 0)
            snprintf(out, len, "%lldm", (long long)m);
        else
            snprintf(out, len, "%lldm%llds", (long long)m, (long long)(s % 60));
        return;
    }
    if (m < 180) {
        snprintf(out, len, "%lldm", (long long)m);
        return;
    }
    h = s / 3600;
    if (h < 8) {
        if (m % 60 == 0)
            snprintf(out, len, "%lldh", (long long)h);
        else
            snprintf(out, len, "%lldh%lldm", (long long)h, (long long)(m % 60));
        return;
    }
    if (h < 48) {
        snprintf(out, len, "%lldh", (long long)h);
        return;
    }
    if (h < 24 * 8) {
        if (h % 24 == 0)
            snprintf(out, len, "%lldd", (long long)(h / 24));
        else
            snprintf(out, len, "%lldd%lldh", (long long)(h / 24),
                     (long long)(h % 24));
        return;
    }
    if (h < 24 * 365 * 2) {
        snprintf(out, len, "%lldd", (long long)(h / 24));
        return;
    }
    if (h < 24 * 365 * 8) {
        int64_t dy = (h / 24) % 365;
        if (dy == 0)
            snprintf(out, len, "%lldy", (long long)(h / 24 / 365));
        else
            snprintf(out, len, "%lldy%lldd", (long long)(h / 24 / 365),
                     (long long)dy);
        return;
    }
    snprintf(out, len, "%lldy", (long long)(h / 24 / 365));
}

/* --- helpers ------------------------------------------------------------- */

static const json_t *path(const json_t *o, const char *a, const char *b,
                          const char *c)
{
    const json_t *v = json_object_get(o, a);
    if (b)
        v = json_object_get(v, b);
    if (c)
        v = json_object_get(v, c);
    return v;
}

static const char *str(const json_t *v, const char *dflt)
{
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static json_int_t num(const json_t *v)
{
    return json_is_integer(v) ? json_integer_value(v) : 0;
}

static void add_str(json_t *cells, const char *s)
{
    json_array_append_new(cells, json_string(s ? s : ""));
}

static void add_int(json_t *cells, json_int_t v)
{
    json_array_append_new(cells, json_integer(v));
}

static void add_age_of(json_t *cells, const char *ts, int64_t now)
{
    int64_t t;
    char buf[32];
    if (ts == NULL || clock_parse_rfc3339(ts, &t) != 0) {
        add_str(cells, "<unknown>");
        return;
    }
    api_human_duration(now - t, buf, sizeof buf);
    add_str(cells, buf);
}

static void add_age(json_t *cells, const json_t *obj, int64_t now)
{
    add_age_of(cells,
               str(path(obj, "metadata", "creationTimestamp", NULL), NULL),
               now);
}

static void add_name(json_t *cells, const json_t *obj)
{
    add_str(cells, str(path(obj, "metadata", "name", NULL), ""));
}

/* "a,b" of containers' names or images. */
static void add_containers(json_t *cells, const json_t *podspec,
                           const char *field)
{
    char buf[1024] = "";
    size_t used = 0, i;
    json_t *c;
    json_array_foreach (json_object_get(podspec, "containers"), i, c) {
        if (used < sizeof buf)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                     i ? "," : "",
                                     str(json_object_get(c, field), ""));
    }
    add_str(cells, buf);
}

/* metav1.FormatLabelSelector: "app=web,tier in (a,b)", "<none>". */
static void add_selector(json_t *cells, const json_t *sel)
{
    char buf[1024] = "";
    size_t used = 0, i;
    const char *k;
    json_t *v, *req;
    json_object_foreach (json_object_get(sel, "matchLabels"), k, v) {
        if (used < sizeof buf)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s=%s",
                                     used ? "," : "", k, str(v, ""));
    }
    json_array_foreach (json_object_get(sel, "matchExpressions"), i, req) {
        const char *op = str(json_object_get(req, "operator"), "");
        const char *key = str(json_object_get(req, "key"), "");
        if (used >= sizeof buf)
            break;
        if (strcmp(op, "Exists") == 0)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                     used ? "," : "", key);
        else if (strcmp(op, "DoesNotExist") == 0)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s!%s",
                                     used ? "," : "", key);
        else {
            size_t j;
            json_t *val;
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s %s (",
                                     used ? "," : "", key,
                                     strcmp(op, "In") == 0 ? "in" : "notin");
            json_array_foreach (json_object_get(req, "values"), j, val) {
                if (used < sizeof buf)
                    used +=
                        (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                                         j ? "," : "", str(val, ""));
            }
            if (used < sizeof buf)
                used += (size_t)snprintf(buf + used, sizeof buf - used, ")");
        }
    }
    add_str(cells, buf[0] ? buf : "<none>");
}

static void add_map_selector(json_t *cells, const json_t *sel)
{
    char buf[1024] = "";
    size_t used = 0;
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)sel, k, v) {
        if (used < sizeof buf)
            used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s=%s",
                                     used ? "," : "", k, str(v, ""));
    }
    add_str(cells, buf[0] ? buf : "<none>");
}

/* --- default -------------------------------------------------------------- */

static const struct api_table_col cols_default[] = {NAME_COL, AGE_COL};
static void cells_default(const json_t *o, json_t *c, int64_t now)
{
    add_name(c, o);
    add_age(c, o, now);
}
const struct api_table_def api_table_default = {COLS(cols_default),
                                                cells_default};

/* --- pods --------------------------------------------------------------- */

static const struct api_table_col cols_pods[] = {
    NAME_COL,
    {"Ready", "string", "",
     "The aggregate readiness state of this pod for accepting traffic.", 0},
    {"Status", "string", "",
     "The aggregate status of the containers in this "
     "pod.",
     0},
    {"Restarts", "string", "",
     "The number of times the containers in this pod have been restarted "
     "and when the last container in this pod has restarted.",
     0},
    AGE_COL,
    {"IP", "string", "",
     "IP address allocated to the pod. Routable at least "
     "within the cluster. Empty if not yet allocated.",
     1},
    {"Node", "string", "",
     "NodeName is a request to schedule this pod onto "
     "a specific node.",
     1},
    {"Nominated Node", "string", "",
     "nominatedNodeName is set only when this pod preempts other pods on "
     "the node.",
     1},
    {"Readiness Gates", "string", "",
     "If specified, all readiness gates will be evaluated for pod "
     "readiness.",
     1},
};

static void cells_pods(const json_t *o, json_t *c, int64_t now)
{
    const json_t *st = json_object_get(o, "status");
    const json_t *spec = json_object_get(o, "spec");
    int total = (int)json_array_size(json_object_get(spec, "containers"));
    int ready = 0;
    json_int_t restarts = 0;
    const char *reason = str(json_object_get(st, "reason"), NULL);
    char buf[64];
    size_t i;
    json_t *cs;

    if (reason == NULL)
        reason = str(json_object_get(st, "phase"), "Pending");
    json_array_foreach (json_object_get(st, "initContainerStatuses"), i, cs) {
        const json_t *state = json_object_get(cs, "state");
        restarts += num(json_object_get(cs, "restartCount"));
        const json_t *t = json_object_get(state, "terminated");
        const json_t *w = json_object_get(state, "waiting");
        if (t && num(json_object_get(t, "exitCode")) == 0)
            continue;
        if (t) {
            snprintf(buf, sizeof buf, "Init:%s",
                     str(json_object_get(t, "reason"), "Error"));
            reason = NULL;
        } else if (w && str(json_object_get(w, "reason"), NULL) &&
                   strcmp(str(json_object_get(w, "reason"), ""),
                          "PodInitializing") != 0) {
            snprintf(buf, sizeof buf, "Init:%s",
                     str(json_object_get(w, "reason"), ""));
            reason = NULL;
        } else {
            snprintf(buf, sizeof buf, "Init:%zu/%zu", i,
                     json_array_size(json_object_get(spec, "initContainers")));
            reason = NULL;
        }
        break;
    }
    bool has_running = false;
    json_array_foreach (json_object_get(st, "containerStatuses"), i, cs) {
        const json_t *state = json_object_get(cs, "state");
        const json_t *t = json_object_get(state, "terminated");
        const json_t *w = json_object_get(state, "waiting");
        restarts += num(json_object_get(cs, "restartCount"));
        if (reason == NULL)
            continue;
        if (w && str(json_object_get(w, "reason"), NULL))
            reason = str(json_object_get(w, "reason"), reason);
        else if (t && str(json_object_get(t, "reason"), NULL))
            reason = str(json_object_get(t, "reason"), reason);
        else if (t) {
            snprintf(
                buf, sizeof buf, "%s:%lld",
                json_object_get(t, "signal") ? "Signal" : "ExitCode",
                (long long)num(json_object_get(
                    t, json_object_get(t, "signal") ? "signal" : "exitCode")));
            reason = buf;
        } else if (json_is_true(json_object_get(cs, "ready")) &&
                   json_object_get(state, "running")) {
            has_running = true;
            ready++;
        }
    }
    if (reason && strcmp(reason, "Completed") == 0 && has_running)
        reason = "Running";
    if (reason == NULL)
        reason = buf;
    if (path(o, "metadata", "deletionTimestamp", NULL)) {
        if (strcmp(str(json_object_get(st, "reason"), ""), "NodeLost") == 0)
            reason = "Unknown";
        else
            reason = "Terminating";
    }
    char readybuf[32], rs[32];
    snprintf(readybuf, sizeof readybuf, "%d/%d", ready, total);
    snprintf(rs, sizeof rs, "%lld", (long long)restarts);
    add_name(c, o);
    add_str(c, readybuf);
    add_str(c, reason);
    add_str(c, rs);
    add_age(c, o, now);
    add_str(c, str(json_object_get(st, "podIP"), "<none>"));
    add_str(c, str(json_object_get(spec, "nodeName"), "<none>"));
    add_str(c, str(json_object_get(st, "nominatedNodeName"), "<none>"));
    add_str(c, "<none>");
}
const struct api_table_def api_table_pods = {COLS(cols_pods), cells_pods};

/* --- workloads --------------------------------------------------------- */

static const struct api_table_col cols_deploy[] = {
    NAME_COL,
    {"Ready", "string", "", "Number of the pod with ready state", 0},
    {"Up-to-date", "string", "",
     "Total number of non-terminated pods targeted by this deployment that "
     "have the desired template spec.",
     0},
    {"Available", "string", "",
     "Total number of available pods (ready for at least minReadySeconds) "
     "targeted by this deployment.",
     0},
    AGE_COL,
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "",
     "Images referenced by each container in the "
     "template.",
     1},
    {"Selector", "string", "",
     "Label selector for pods. Existing "
     "ReplicaSets whose pods are selected by this "
     "will be the ones affected by this "
     "deployment.",
     1},
};

static const json_t *tspec(const json_t *o)
{
    return path(o, "spec", "template", "spec");
}

static void cells_deploy(const json_t *o, json_t *c, int64_t now)
{
    char buf[64];
    const json_t *st = json_object_get(o, "status");
    snprintf(buf, sizeof buf, "%lld/%lld",
             (long long)num(json_object_get(st, "readyReplicas")),
             (long long)num(path(o, "spec", "replicas", NULL)));
    add_name(c, o);
    add_str(c, buf);
    add_int(c, num(json_object_get(st, "updatedReplicas")));
    add_int(c, num(json_object_get(st, "availableReplicas")));
    add_age(c, o, now);
    add_containers(c, tspec(o), "name");
    add_containers(c, tspec(o), "image");
    add_selector(c, path(o, "spec", "selector", NULL));
}
const struct api_table_def api_table_deployments = {COLS(cols_deploy),
                                                    cells_deploy};

static const struct api_table_col cols_rs[] = {
    NAME_COL,
    {"Desired", "integer", "", "Replicas is the number of desired replicas.",
     0},
    {"Current", "integer", "",
     "Replicas is the most recently observed "
     "number of replicas.",
     0},
    {"Ready", "integer", "",
     "The number of ready replicas for this replica "
     "set.",
     0},
    AGE_COL,
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "",
     "Images referenced by each container in the "
     "template.",
     1},
    {"Selector", "string", "",
     "Selector is a label query over pods that "
     "should match the replica count.",
     1},
};

static void cells_rs(const json_t *o, json_t *c, int64_t now)
{
    const json_t *st = json_object_get(o, "status");
    add_name(c, o);
    add_int(c, num(path(o, "spec", "replicas", NULL)));
    add_int(c, num(json_object_get(st, "replicas")));
    add_int(c, num(json_object_get(st, "readyReplicas")));
    add_age(c, o, now);
    add_containers(c, tspec(o), "name");
    add_containers(c, tspec(o), "image");
    add_selector(c, path(o, "spec", "selector", NULL));
}
const struct api_table_def api_table_replicasets = {COLS(cols_rs), cells_rs};

static const struct api_table_col cols_ds[] = {
    NAME_COL,
    {"Desired", "integer", "",
     "The total number of nodes that should be "
     "running the daemon pod.",
     0},
    {"Current", "integer", "",
     "The number of nodes that are running at "
     "least 1 daemon pod.",
     0},
    {"Ready", "integer", "",
     "The number of nodes that should be running "
     "the daemon pod and have one or more of the "
     "daemon pod running and ready.",
     0},
    {"Up-to-date", "integer", "",
     "The total number of nodes that are "
     "running updated daemon pod",
     0},
    {"Available", "integer", "",
     "The number of nodes that should be "
     "running the daemon pod and have one or "
     "more of the daemon pod running and "
     "available.",
     0},
    {"Node Selector", "string", "",
     "NodeSelector is a selector which must "
     "be true for the pod to fit on a node.",
     0},
    AGE_COL,
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "",
     "Images referenced by each container in the "
     "template.",
     1},
    {"Selector", "string", "",
     "A label query over pods that are managed by "
     "the daemon set.",
     1},
};

static void cells_ds(const json_t *o, json_t *c, int64_t now)
{
    const json_t *st = json_object_get(o, "status");
    add_name(c, o);
    add_int(c, num(json_object_get(st, "desiredNumberScheduled")));
    add_int(c, num(json_object_get(st, "currentNumberScheduled")));
    add_int(c, num(json_object_get(st, "numberReady")));
    add_int(c, num(json_object_get(st, "updatedNumberScheduled")));
    add_int(c, num(json_object_get(st, "numberAvailable")));
    add_map_selector(c, json_object_get(tspec(o), "nodeSelector"));
    add_age(c, o, now);
    add_containers(c, tspec(o), "name");
    add_containers(c, tspec(o), "image");
    add_selector(c, path(o, "spec", "selector", NULL));
}
const struct api_table_def api_table_daemonsets = {COLS(cols_ds), cells_ds};

static const struct api_table_col cols_sts[] = {
    NAME_COL,
    {"Ready", "string", "", "Number of the pod with ready state", 0},
    AGE_COL,
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "",
     "Images referenced by each container in the "
     "template.",
     1},
};

static void cells_sts(const json_t *o, json_t *c, int64_t now)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%lld/%lld",
             (long long)num(path(o, "status", "readyReplicas", NULL)),
             (long long)num(path(o, "spec", "replicas", NULL)));
    add_name(c, o);
    add_str(c, buf);
    add_age(c, o, now);
    add_containers(c, tspec(o), "name");
    add_containers(c, tspec(o), "image");
}
const struct api_table_def api_table_statefulsets = {COLS(cols_sts), cells_sts};

static const struct api_table_col cols_jobs[] = {
    NAME_COL,
    {"Status", "string", "", "Status of the job.", 0},
    {"Completions", "string", "",
     "The desired number of successfully "
     "finished pods the job should be run "
     "with.",
     0},
    {"Duration", "string", "", "Time required to complete the job.", 0},
    AGE_COL,
    {"Containers", "string", "", "Names of each container in the template.", 1},
    {"Images", "string", "",
     "Images referenced by each container in the "
     "template.",
     1},
    {"Selector", "string", "",
     "A label query over pods that should match "
     "the pod count.",
     1},
};

static bool has_cond(const json_t *st, const char *type)
{
    size_t i;
    json_t *cd;
    json_array_foreach (json_object_get(st, "conditions"), i, cd) {
        if (strcmp(str(json_object_get(cd, "type"), ""), type) == 0 &&
            strcmp(str(json_object_get(cd, "status"), ""), "True") == 0)
            return true;
    }
    return false;
}

static void cells_jobs(const json_t *o, json_t *c, int64_t now)
{
    const json_t *st = json_object_get(o, "status");
    const json_t *comp = path(o, "spec", "completions", NULL);
    char buf[64], dur[32] = "";
    const char *status = "Running";
    int64_t t0, t1;

    if (has_cond(st, "Complete"))
        status = "Complete";
    else if (has_cond(st, "Failed"))
        status = "Failed";
    else if (has_cond(st, "Suspended"))
        status = "Suspended";
    else if (has_cond(st, "FailureTarget"))
        status = "FailureTarget";
    else if (has_cond(st, "SuccessCriteriaMet"))
        status = "SuccessCriteriaMet";
    else if (path(o, "metadata", "deletionTimestamp", NULL))
        status = "Terminating";
    if (json_is_integer(comp))
        snprintf(buf, sizeof buf, "%lld/%lld",
                 (long long)num(json_object_get(st, "succeeded")),
                 (long long)json_integer_value(comp));
    else
        snprintf(buf, sizeof buf, "%lld/1 of %lld",
                 (long long)num(json_object_get(st, "succeeded")),
                 (long long)num(path(o, "spec", "parallelism", NULL)));
    if (clock_parse_rfc3339(str(json_object_get(st, "startTime"), ""), &t0) ==
        0) {
        if (clock_parse_rfc3339(str(json_object_get(st, "completionTime"), ""),
                                &t1) != 0)
            t1 = clock_real_ns();
        api_human_duration(t1 - t0, dur, sizeof dur);
    }
    add_name(c, o);
    add_str(c, status);
    add_str(c, buf);
    add_str(c, dur);
    add_age(c, o, now);
    add_containers(c, tspec(o), "name");
    add_containers(c, tspec(o), "image");
    add_selector(c, path(o, "spec", "selector", NULL));
}
const struct api_table_def api_table_jobs = {COLS(cols_jobs), cells_jobs};

/* --- nodes ------------------------------------------------------------- */

static const struct api_table_col cols_nodes[] = {
    NAME_COL,
    {"Status", "string", "", "The status of the node", 0},
    {"Roles", "string", "", "The roles of the node", 0},
    AGE_COL,
    {"Version", "string", "", "Kubelet Version reported by the node.", 0},
    {"Internal-IP", "string", "", "List of addresses reachable to the node.",
     1},
    {"External-IP", "string", "", "List of addresses reachable to the node.",
     1},
    {"OS-Image", "string", "",
     "OS Image reported by the node from "
     "/etc/os-release (e.g. Debian GNU/Linux 7 "
     "(wheezy)).",
     1},
    {"Kernel-Version", "string", "",
     "Kernel Version reported by the node "
     "from 'uname -r' (e.g. "
     "3.16.0-0.bpo.4-amd64).",
     1},
    {"Container-Runtime", "string", "",
     "Container runtime version reported "
     "by the node through runtime remote "
     "API (e.g. containerd://1.4.2).",
     1},
};

static void cells_nodes(const json_t *o, json_t *c, int64_t now)
{
    const json_t *st = json_object_get(o, "status");
    char status[128] = "Unknown", roles[256] = "";
    size_t i, used = 0;
    json_t *cd, *a;
    const char *k;
    json_t *v;
    const char *iip = "<none>", *eip = "<none>";

    json_array_foreach (json_object_get(st, "conditions"), i, cd) {
        if (strcmp(str(json_object_get(cd, "type"), ""), "Ready") == 0)
            snprintf(status, sizeof status, "%s",
                     strcmp(str(json_object_get(cd, "status"), ""), "True") == 0
                         ? "Ready"
                         : "NotReady");
    }
    if (json_is_true(path(o, "spec", "unschedulable", NULL)))
        strncat(status, ",SchedulingDisabled",
                sizeof status - strlen(status) - 1);
    json_object_foreach (
        json_object_get(json_object_get(o, "metadata"), "labels"), k, v) {
        const char *role = NULL;
        if (strncmp(k, "node-role.kubernetes.io/", 24) == 0)
            role = k + 24;
        else if (strcmp(k, "kubernetes.io/role") == 0)
            role = str(v, "");
        if (role && *role && used < sizeof roles)
            used += (size_t)snprintf(roles + used, sizeof roles - used, "%s%s",
                                     used ? "," : "", role);
    }
    json_array_foreach (json_object_get(st, "addresses"), i, a) {
        const char *t = str(json_object_get(a, "type"), "");
        if (strcmp(t, "InternalIP") == 0 && strcmp(iip, "<none>") == 0)
            iip = str(json_object_get(a, "address"), "<none>");
        if (strcmp(t, "ExternalIP") == 0 && strcmp(eip, "<none>") == 0)
            eip = str(json_object_get(a, "address"), "<none>");
    }
    const json_t *ni = json_object_get(st, "nodeInfo");
    add_name(c, o);
    add_str(c, status);
    add_str(c, roles[0] ? roles : "<none>");
    add_age(c, o, now);
    add_str(c, str(json_object_get(ni, "kubeletVersion"), ""));
    add_str(c, iip);
    add_str(c, eip);
    add_str(c, str(json_object_get(ni, "osImage"), "<unknown>"));
    add_str(c, str(json_object_get(ni, "kernelVersion"), "<unknown>"));
    add_str(c,
            str(json_object_get(ni, "containerRuntimeVersion"), "<unknown>"));
}
const struct api_table_def api_table_nodes = {COLS(cols_nodes), cells_nodes};

/* --- namespaces, services, endpoints, config --------------------------- */

static const struct api_table_col cols_ns[] = {
    NAME_COL,
    {"Status", "string", "", "The status of the namespace", 0},
    AGE_COL,
};
static void cells_ns(const json_t *o, json_t *c, int64_t now)
{
    add_name(c, o);
    add_str(c, str(path(o, "status", "phase", NULL), ""));
    add_age(c, o, now);
}
const struct api_table_def api_table_namespaces = {COLS(cols_ns), cells_ns};

static const struct api_table_col cols_svc[] = {
    NAME_COL,
    {"Type", "string", "", "type determines how the Service is exposed.", 0},
    {"Cluster-IP", "string", "",
     "clusterIP is the IP address of the "
     "service and is usually assigned randomly.",
     0},
    {"External-IP", "string", "",
     "externalIPs is a list of IP addresses "
     "for which nodes in the cluster will also "
     "accept traffic for this service.",
     0},
    {"Port(s)", "string", "",
     "The list of ports that are exposed by this "
     "service.",
     0},
    AGE_COL,
    {"Selector", "string", "",
     "Route service traffic to pods with label "
     "keys and values matching this selector.",
     1},
};
static void cells_svc(const json_t *o, json_t *c, int64_t now)
{
    const json_t *spec = json_object_get(o, "spec");
    char ports[512] = "";
    size_t used = 0, i;
    json_t *p;
    const char *type = str(json_object_get(spec, "type"), "ClusterIP");

    json_array_foreach (json_object_get(spec, "ports"), i, p) {
        if (used >= sizeof ports)
            break;
        if (json_object_get(p, "nodePort"))
            used += (size_t)snprintf(
                ports + used, sizeof ports - used, "%s%lld:%lld/%s",
                i ? "," : "", (long long)num(json_object_get(p, "port")),
                (long long)num(json_object_get(p, "nodePort")),
                str(json_object_get(p, "protocol"), "TCP"));
        else
            used += (size_t)snprintf(
                ports + used, sizeof ports - used, "%s%lld/%s", i ? "," : "",
                (long long)num(json_object_get(p, "port")),
                str(json_object_get(p, "protocol"), "TCP"));
    }
    add_name(c, o);
    add_str(c, type);
    add_str(c, str(json_object_get(spec, "clusterIP"), "<none>"));
    if (strcmp(type, "ExternalName") == 0)
        add_str(c, str(json_object_get(spec, "externalName"), "<none>"));
    else if (strcmp(type, "LoadBalancer") == 0)
        add_str(c, "<pending>");
    else
        add_str(c, "<none>");
    add_str(c, ports[0] ? ports : "<none>");
    add_age(c, o, now);
    add_map_selector(c, json_object_get(spec, "selector"));
}
const struct api_table_def api_table_services = {COLS(cols_svc), cells_svc};

static const struct api_table_col cols_ep[] = {
    NAME_COL,
    {"Endpoints", "string", "", "Endpoints is the list of endpoints.", 0},
    AGE_COL,
};
static void cells_ep(const json_t *o, json_t *c, int64_t now)
{
    char buf[512] = "";
    size_t used = 0, i, j, k;
    json_t *ss, *a, *p;
    int count = 0, total = 0;

    json_array_foreach (json_object_get(o, "subsets"), i, ss) {
        json_array_foreach (json_object_get(ss, "addresses"), j, a) {
            json_t *ports = json_object_get(ss, "ports");
            if (json_array_size(ports) == 0) {
                total++;
                if (count < 3 && used < sizeof buf) {
                    used += (size_t)snprintf(buf + used, sizeof buf - used,
                                             "%s%s", count ? "," : "",
                                             str(json_object_get(a, "ip"), ""));
                    count++;
                }
            }
            json_array_foreach (ports, k, p) {
                total++;
                if (count < 3 && used < sizeof buf) {
                    used += (size_t)snprintf(
                        buf + used, sizeof buf - used, "%s%s:%lld",
                        count ? "," : "", str(json_object_get(a, "ip"), ""),
                        (long long)num(json_object_get(p, "port")));
                    count++;
                }
            }
        }
    }
    if (total > 3 && used < sizeof buf)
        snprintf(buf + used, sizeof buf - used, " + %d more...", total - 3);
    add_name(c, o);
    add_str(c, buf[0] ? buf : "<none>");
    add_age(c, o, now);
}
const struct api_table_def api_table_endpoints = {COLS(cols_ep), cells_ep};

static const struct api_table_col cols_cm[] = {
    NAME_COL,
    {"Data", "string", "", "Data contains the configuration data.", 0},
    AGE_COL,
};
static void cells_cm(const json_t *o, json_t *c, int64_t now)
{
    add_name(c, o);
    add_int(c,
            (json_int_t)(json_object_size(json_object_get(o, "data")) +
                         json_object_size(json_object_get(o, "binaryData"))));
    add_age(c, o, now);
}
const struct api_table_def api_table_configmaps = {COLS(cols_cm), cells_cm};

static const struct api_table_col cols_secret[] = {
    NAME_COL,
    {"Type", "string", "", "The type of the secret", 0},
    {"Data", "string", "", "The number of data items in the secret", 0},
    AGE_COL,
};
static void cells_secret(const json_t *o, json_t *c, int64_t now)
{
    add_name(c, o);
    add_str(c, str(json_object_get(o, "type"), "Opaque"));
    add_int(c, (json_int_t)json_object_size(json_object_get(o, "data")));
    add_age(c, o, now);
}
const struct api_table_def api_table_secrets = {COLS(cols_secret),
                                                cells_secret};

static const struct api_table_col cols_sa[] = {
    NAME_COL,
    {"Secrets", "string", "",
     "Secrets is a list of the secrets in the same "
     "namespace that pods running using this "
     "ServiceAccount are allowed to use.",
     0},
    AGE_COL,
};
static void cells_sa(const json_t *o, json_t *c, int64_t now)
{
    add_name(c, o);
    add_int(c, (json_int_t)json_array_size(json_object_get(o, "secrets")));
    add_age(c, o, now);
}
const struct api_table_def api_table_serviceaccounts = {COLS(cols_sa),
                                                        cells_sa};

static const struct api_table_col cols_events[] = {
    {"Last Seen", "string", "", "Time when last event occurred", 0},
    {"Type", "string", "",
     "Type of this event (Normal, Warning), new types "
     "could be added in the future",
     0},
    {"Reason", "string", "",
     "This should be a short, machine "
     "understandable string that gives the reason "
     "for the transition into the object's current "
     "status.",
     0},
    {"Object", "string", "", "The object this Event is about", 0},
    {"Subobject", "string", "", "The subobject this Event is about", 1},
    {"Source", "string", "", "The component reporting this event.", 1},
    {"Message", "string", "",
     "A human-readable description of the status "
     "of this operation.",
     0},
    {"First Seen", "string", "",
     "The time at which the event was first "
     "recorded.",
     1},
    {"Count", "string", "", "The number of times this event has occurred.", 1},
    {"Name", "string", "name", "Name must be unique within a namespace.", 1},
};
static void cells_events(const json_t *o, json_t *c, int64_t now)
{
    const json_t *io = json_object_get(o, "involvedObject");
    const char *last = str(json_object_get(o, "lastTimestamp"), NULL);
    const char *first = str(json_object_get(o, "firstTimestamp"), NULL);
    char obj[512], count[32];
    char kind_lower[128];
    const char *kind = str(json_object_get(io, "kind"), "");
    size_t i;

    if (last == NULL)
        last = str(json_object_get(o, "eventTime"), NULL);
    if (last == NULL)
        last = str(path(o, "metadata", "creationTimestamp", NULL), NULL);
    if (first == NULL)
        first = last;
    for (i = 0; kind[i] && i + 1 < sizeof kind_lower; i++)
        kind_lower[i] =
            (char)(kind[i] >= 'A' && kind[i] <= 'Z' ? kind[i] - 'A' + 'a'
                                                    : kind[i]);
    kind_lower[i] = '\0';
    snprintf(obj, sizeof obj, "%s/%s", kind_lower,
             str(json_object_get(io, "name"), ""));
    snprintf(count, sizeof count, "%lld",
             (long long)(json_object_get(o, "count")
                             ? num(json_object_get(o, "count"))
                             : 1));
    add_age_of(c, last, now);
    add_str(c, str(json_object_get(o, "type"), ""));
    add_str(c, str(json_object_get(o, "reason"), ""));
    add_str(c, obj);
    add_str(c, str(json_object_get(io, "fieldPath"), ""));
    const char *comp = str(path(o, "source", "component", NULL), NULL);
    const char *host = str(path(o, "source", "host", NULL), NULL);
    char src[300];
    if (comp && host)
        snprintf(src, sizeof src, "%s, %s", comp, host);
    else
        snprintf(src, sizeof src, "%s",
                 comp ? comp
                      : str(json_object_get(o, "reportingComponent"), ""));
    add_str(c, src);
    add_str(c, str(json_object_get(o, "message"), ""));
    add_age_of(c, first, now);
    add_str(c, count);
    add_name(c, o);
}
const struct api_table_def api_table_events = {COLS(cols_events), cells_events};

static const struct api_table_col cols_leases[] = {
    NAME_COL,
    {"Holder", "string", "", "The holder of the lease", 0},
    AGE_COL,
};
static void cells_leases(const json_t *o, json_t *c, int64_t now)
{
    add_name(c, o);
    add_str(c, str(path(o, "spec", "holderIdentity", NULL), ""));
    add_age(c, o, now);
}
const struct api_table_def api_table_leases = {COLS(cols_leases), cells_leases};

/* --- the Table --------------------------------------------------------- */

static json_t *partial(const json_t *obj)
{
    json_t *meta = json_deep_copy(json_object_get(obj, "metadata"));
    return json_pack("{s:s, s:s, s:o}", "kind", "PartialObjectMetadata",
                     "apiVersion", "meta.k8s.io/v1", "metadata",
                     meta ? meta : json_object());
}

json_t *api_table_new(const struct api_resource *res, json_t *items,
                      const char *rv, const char *cont, bool with_columns,
                      enum api_include inc)
{
    const struct api_table_def *def =
        res->table ? res->table : &api_table_default;
    int64_t now = clock_real_ns();
    json_t *t = json_object(), *cols = json_array(), *rows = json_array();
    json_t *meta = json_object();
    size_t i;
    json_t *obj;

    json_object_set_new(t, "kind", json_string("Table"));
    json_object_set_new(t, "apiVersion", json_string("meta.k8s.io/v1"));
    if (rv)
        json_object_set_new(meta, "resourceVersion", json_string(rv));
    if (cont)
        json_object_set_new(meta, "continue", json_string(cont));
    json_object_set_new(t, "metadata", meta);
    if (with_columns) {
        for (size_t k = 0; k < def->ncols; k++) {
            const struct api_table_col *col = &def->cols[k];
            json_array_append_new(
                cols, json_pack("{s:s, s:s, s:s, s:s, s:i}", "name", col->name,
                                "type", col->type, "format", col->format,
                                "description", col->description, "priority",
                                col->priority));
        }
    }
    json_object_set_new(t, "columnDefinitions", cols);
    json_array_foreach (items, i, obj) {
        json_t *cells = json_array();
        json_t *row;
        def->cells(obj, cells, now);
        row = json_pack("{s:o}", "cells", cells);
        if (inc == API_INC_METADATA)
            json_object_set_new(row, "object", partial(obj));
        else if (inc == API_INC_OBJECT)
            json_object_set(row, "object", obj);
        json_array_append_new(rows, row);
    }
    json_object_set_new(t, "rows", rows);
    return t;
}

/*
 * DESIGN: the filter and score plugins of kube-scheduler's default profile
 * (pkg/scheduler/framework/plugins), as pure functions over the pod and a
 * node snapshot. Filters run in the profile's order and stop at the first
 * failing plugin, so a node contributes the reasons of one plugin to the
 * FitError histogram, exactly as upstream. Reason strings are upstream's:
 *
 *   NodeUnschedulable  "node(s) were unschedulable"              unresolvable
 *   TaintToleration    "node(s) had untolerated taint {k: v}"     unresolvable
 *   NodeAffinity       "node(s) didn't match Pod's node affinity/selector"
 *                                                                 unresolvable
 *   NodePorts          "node(s) didn't have free ports for the requested
 *                      pod ports"
 *   NodeResourcesFit   "Too many pods", "Insufficient cpu",
 *                      "Insufficient memory"
 *   InterPodAffinity   "node(s) didn't match pod anti-affinity rules",
 *                      "node(s) didn't satisfy existing pods anti-affinity
 *                      rules"
 *
 * A node whose Ready condition is not True and that carries no
 * not-ready/unreachable taint yet (the node-lifecycle controller adds them)
 * is treated as if it had node.kubernetes.io/not-ready:NoSchedule (or
 * unreachable when Unknown), which is what a real cluster reports a moment
 * later. Scores follow NodeResourcesFit LeastAllocated, BalancedAllocation
 * (two resources: 1 - |cpu - mem| / 2), a spread of pods of the same
 * controller (weight 2, as PodTopologySpread's default), NodeAffinity
 * preferred terms and TaintToleration PreferNoSchedule, each normalized to
 * 0..100 like the framework's DefaultNormalizeScore.
 *
 * Cost: a cycle filters hundreds of nodes, so nothing is looked up in JSON
 * per node that can be looked up once: the pod's fields once per cycle
 * (struct sched_pod), the node's labels, taints, unschedulable and Ready
 * once per node version (struct sched_node). A node with no taints and a
 * pod with no selectors, ports or anti-affinity cost a few compares.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/controllers.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "scheduler/sched_int.h"

#define DEFAULT_MILLI_CPU 100
#define DEFAULT_MEMORY (200LL * 1024 * 1024)

/* ------------------------------------------------------------ requests */

static void container_req(const json_t *c, bool nonzero, struct sched_res *r)
{
    json_t *req = ctrl_jget(c, "resources.requests");
    const char *cpu = json_string_value(json_object_get(req, "cpu"));
    const char *mem = json_string_value(json_object_get(req, "memory"));
    int64_t v;

    r->milli_cpu = 0;
    r->memory = 0;
    if (cpu && sched_quantity(cpu, 1000, &v) == 0 && v > 0)
        r->milli_cpu = v;
    else if (json_is_integer(json_object_get(req, "cpu")))
        r->milli_cpu = json_integer_value(json_object_get(req, "cpu")) * 1000;
    if (mem && sched_quantity(mem, 1, &v) == 0 && v > 0)
        r->memory = v;
    else if (json_is_integer(json_object_get(req, "memory")))
        r->memory = json_integer_value(json_object_get(req, "memory"));
    if (nonzero) {
        if (r->milli_cpu == 0)
            r->milli_cpu = DEFAULT_MILLI_CPU;
        if (r->memory == 0)
            r->memory = DEFAULT_MEMORY;
    }
}

void sched_pod_requests(const json_t *pod, bool nonzero, struct sched_res *ret)
{
    json_t *cs = ctrl_jget(pod, "spec.containers"), *c;
    json_t *ov = ctrl_jget(pod, "spec.overhead");
    struct sched_res sum = {0, 0, 1}, x;
    size_t i;

    json_array_foreach (cs, i, c) {
        container_req(c, nonzero, &x);
        sum.milli_cpu += x.milli_cpu;
        sum.memory += x.memory;
    }
    cs = ctrl_jget(pod, "spec.initContainers");
    json_array_foreach (cs, i, c) {
        container_req(c, false, &x);
        if (x.milli_cpu > sum.milli_cpu)
            sum.milli_cpu = x.milli_cpu;
        if (x.memory > sum.memory)
            sum.memory = x.memory;
    }
    if (json_is_object(ov)) {
        int64_t v;
        const char *s = json_string_value(json_object_get(ov, "cpu"));
        if (s && sched_quantity(s, 1000, &v) == 0)
            sum.milli_cpu += v;
        s = json_string_value(json_object_get(ov, "memory"));
        if (s && sched_quantity(s, 1, &v) == 0)
            sum.memory += v;
    }
    *ret = sum;
}

/* ------------------------------------------------------------ node */

static void node_precompute(struct sched_node *n);
static void pod_read(struct sched_pod *ret, const json_t *pod);

static int64_t res_of(const json_t *list, const char *name, int64_t scale,
                      int64_t def)
{
    json_t *v = json_object_get(list, name);
    int64_t x;
    if (json_is_string(v) &&
        sched_quantity(json_string_value(v), scale, &x) == 0)
        return x;
    if (json_is_integer(v))
        return json_integer_value(v) * scale;
    return def;
}

int sched_node_init(struct sched_node *n, const json_t *node)
{
    json_t *alloc = ctrl_jget(node, "status.allocatable");
    const char *name = ctrl_jstr(node, "metadata.name");

    memset(n, 0, sizeof *n);
    if (name == NULL)
        return K1S_EINVAL;
    if (!json_is_object(alloc) || json_object_size(alloc) == 0)
        alloc = ctrl_jget(node, "status.capacity");
    snprintf(n->name, sizeof n->name, "%s", name);
    n->alloc.milli_cpu = res_of(alloc, "cpu", 1000, 0);
    n->alloc.memory = res_of(alloc, "memory", 1, 0);
    n->alloc.pods = res_of(alloc, "pods", 1, 0);
    n->pods = json_array();
    n->owners = ctrl_map_create();
    if (n->pods == NULL || n->owners == NULL) {
        json_decref(n->pods);
        ctrl_map_destroy(n->owners, NULL);
        n->pods = NULL;
        n->owners = NULL;
        return K1S_ENOMEM;
    }
    n->node = json_incref((json_t *)node);
    node_precompute(n);
    return 0;
}

void sched_node_close(struct sched_node *n)
{
    json_decref(n->node);
    json_decref(n->pods);
    ctrl_map_destroy(n->owners, NULL);
    n->node = NULL;
    n->pods = NULL;
    n->owners = NULL;
    n->labels = NULL;
    n->taints = NULL;
}

static const char *owner_uid(const json_t *pod)
{
    return json_string_value(json_object_get(ctrl_controller_ref(pod), "uid"));
}

static bool has_anti(const json_t *pod)
{
    return json_array_size(ctrl_jget(pod, "spec.affinity.podAntiAffinity."
                                          "requiredDuringSchedulingIgnored"
                                          "DuringExecution")) > 0;
}

static void count_pod(struct sched_node *n, const json_t *pod, int d)
{
    const char *uid = owner_uid(pod);
    if (has_anti(pod))
        n->n_anti += d;
    if (uid && n->owners) {
        intptr_t c = (intptr_t)ctrl_map_get(n->owners, uid) + d;
        if (c > 0)
            ctrl_map_put(n->owners, uid, (void *)c, NULL);
        else
            ctrl_map_del(n->owners, uid);
    }
}

void sched_node_add_pod(struct sched_node *n, const json_t *pod)
{
    struct sched_res r, nz;
    count_pod(n, pod, 1);
    sched_pod_requests(pod, false, &r);
    sched_pod_requests(pod, true, &nz);
    n->req.milli_cpu += r.milli_cpu;
    n->req.memory += r.memory;
    n->req.pods += 1;
    n->nzreq.milli_cpu += nz.milli_cpu;
    n->nzreq.memory += nz.memory;
    n->nzreq.pods += 1;
    json_array_append(n->pods, (json_t *)pod);
}

static bool same_pod(const json_t *a, const json_t *b)
{
    const char *an = ctrl_jstr(a, "metadata.name");
    const char *bn = ctrl_jstr(b, "metadata.name");
    const char *ans = ctrl_jstr(a, "metadata.namespace");
    const char *bns = ctrl_jstr(b, "metadata.namespace");
    return an && bn && strcmp(an, bn) == 0 &&
           strcmp(ans ? ans : "", bns ? bns : "") == 0;
}

void sched_node_remove_pod(struct sched_node *n, const json_t *pod)
{
    size_t i;
    json_t *p;
    json_array_foreach (n->pods, i, p) {
        if (same_pod(p, pod)) {
            struct sched_res r, nz;
            sched_pod_requests(p, false, &r);
            sched_pod_requests(p, true, &nz);
            n->req.milli_cpu -= r.milli_cpu;
            n->req.memory -= r.memory;
            n->req.pods -= 1;
            n->nzreq.milli_cpu -= nz.milli_cpu;
            n->nzreq.memory -= nz.memory;
            n->nzreq.pods -= 1;
            count_pod(n, p, -1);
            json_array_remove(n->pods, i);
            return;
        }
    }
}

/* ------------------------------------------------------------ filters */

static bool streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* v1.Toleration.ToleratesTaint for the taint key=tv:te. */
static bool tolerates(const json_t *tolerations, const char *tk, const char *tv,
                      const char *te)
{
    json_t *t;
    size_t i;

    if (tv == NULL)
        tv = "";
    json_array_foreach (tolerations, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *op = json_string_value(json_object_get(t, "operator"));
        const char *v = json_string_value(json_object_get(t, "value"));
        const char *e = json_string_value(json_object_get(t, "effect"));
        if (e && e[0] && !streq(e, te))
            continue;
        if (k && k[0] && !streq(k, tk))
            continue;
        if (op == NULL || op[0] == '\0' || strcmp(op, "Equal") == 0) {
            if ((k == NULL || k[0] == '\0'))
                continue; /* empty key needs Exists */
            if (streq(v ? v : "", tv))
                return true;
        } else if (strcmp(op, "Exists") == 0) {
            return true;
        }
    }
    return false;
}

bool sched_tolerates(const json_t *tolerations, const json_t *taint)
{
    return tolerates(tolerations,
                     json_string_value(json_object_get(taint, "key")),
                     json_string_value(json_object_get(taint, "value")),
                     json_string_value(json_object_get(taint, "effect")));
}

static bool str_in(const char *v, const json_t *values)
{
    size_t i;
    json_t *x;
    json_array_foreach (values, i, x) {
        if (streq(json_string_value(x), v))
            return true;
    }
    return false;
}

static bool parse_i64(const char *s, long long *ret)
{
    char *end;
    if (s == NULL || *s == '\0')
        return false;
    *ret = strtoll(s, &end, 10);
    return *end == '\0';
}

static bool requirement_matches(const json_t *req, const json_t *fields)
{
    const char *key = json_string_value(json_object_get(req, "key"));
    const char *op = json_string_value(json_object_get(req, "operator"));
    json_t *vals = json_object_get(req, "values");
    const char *have;
    long long a, b;

    if (key == NULL || op == NULL)
        return false;
    have = json_string_value(json_object_get(fields, key));
    if (strcmp(op, "In") == 0)
        return have && str_in(have, vals);
    if (strcmp(op, "NotIn") == 0)
        return have == NULL || !str_in(have, vals);
    if (strcmp(op, "Exists") == 0)
        return have != NULL;
    if (strcmp(op, "DoesNotExist") == 0)
        return have == NULL;
    if (strcmp(op, "Gt") == 0 || strcmp(op, "Lt") == 0) {
        if (json_array_size(vals) != 1 || !parse_i64(have, &a) ||
            !parse_i64(json_string_value(json_array_get(vals, 0)), &b))
            return false;
        return op[0] == 'G' ? a > b : a < b;
    }
    return false;
}

/* NodeSelectorTerm against a node whose labels are given. */
static bool term_matches(const json_t *term, const json_t *labels,
                         const json_t *node)
{
    json_t *exprs = json_object_get(term, "matchExpressions");
    json_t *fexprs = json_object_get(term, "matchFields");
    json_t *fields, *e;
    size_t i;
    bool ok = true;

    if (json_array_size(exprs) == 0 && json_array_size(fexprs) == 0)
        return false; /* an empty term matches no objects */
    json_array_foreach (exprs, i, e) {
        if (!requirement_matches(e, labels))
            return false;
    }
    if (json_array_size(fexprs) == 0)
        return true;
    fields =
        json_pack("{s:s}", "metadata.name", ctrl_jstr(node, "metadata.name"));
    json_array_foreach (fexprs, i, e) {
        if (!requirement_matches(e, fields)) {
            ok = false;
            break;
        }
    }
    json_decref(fields);
    return ok;
}

bool sched_node_selector_term_matches(const json_t *term, const json_t *node)
{
    return term_matches(term, ctrl_jget(node, "metadata.labels"), node);
}

/* nodeSelector and required node affinity of p against a node with these
 * labels. */
static bool affinity_ok(const struct sched_pod *p, const json_t *labels,
                        const json_t *node)
{
    json_t *terms, *t;
    const char *k;
    json_t *v;
    size_t i;

    json_object_foreach ((json_t *)p->node_selector, k, v) {
        if (!streq(json_string_value(json_object_get(labels, k)),
                   json_string_value(v)))
            return false;
    }
    if (p->required == NULL)
        return true;
    terms = json_object_get(p->required, "nodeSelectorTerms");
    json_array_foreach (terms, i, t) {
        if (term_matches(t, labels, node))
            return true;
    }
    return false;
}

bool sched_node_matches_affinity(const json_t *pod, const json_t *node)
{
    struct sched_pod p;
    pod_read(&p, pod);
    return affinity_ok(&p, ctrl_jget(node, "metadata.labels"), node);
}

static const char *ready_status(const json_t *node)
{
    json_t *conds = ctrl_jget(node, "status.conditions"), *c;
    size_t i;
    json_array_foreach (conds, i, c) {
        if (streq(json_string_value(json_object_get(c, "type")), "Ready"))
            return json_string_value(json_object_get(c, "status"));
    }
    return NULL;
}

static void fail1(struct sched_fail *f, bool unresolvable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail1(struct sched_fail *f, bool unresolvable, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->reasons[f->nreasons], sizeof f->reasons[0], fmt, ap);
    va_end(ap);
    f->nreasons++;
    f->unresolvable = unresolvable;
}

static bool has_taint_key(const json_t *taints, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach (taints, i, t) {
        if (streq(json_string_value(json_object_get(t, "key")), key))
            return true;
    }
    return false;
}

static void node_precompute(struct sched_node *n)
{
    const char *rs;
    json_t *t;
    size_t i;

    n->labels = ctrl_jget(n->node, "metadata.labels");
    n->taints = ctrl_jget(n->node, "spec.taints");
    n->unschedulable = json_is_true(ctrl_jget(n->node, "spec.unschedulable"));
    json_array_foreach ((json_t *)n->taints, i, t) {
        const char *eff = json_string_value(json_object_get(t, "effect"));
        if (streq(eff, "NoSchedule") || streq(eff, "NoExecute"))
            n->hard_taints = true;
        else if (streq(eff, "PreferNoSchedule"))
            n->prefer_taints = true;
    }
    rs = ready_status(n->node);
    if (!streq(rs, "True") &&
        !has_taint_key(n->taints, "node.kubernetes.io/not-ready") &&
        !has_taint_key(n->taints, "node.kubernetes.io/unreachable"))
        n->implied_taint = streq(rs, "Unknown")
                               ? "node.kubernetes.io/unreachable"
                               : "node.kubernetes.io/not-ready";
}

static bool filter_taints(const struct sched_pod *p, const struct sched_node *n,
                          struct sched_fail *f)
{
    json_t *t;
    size_t i;

    if (!n->hard_taints)
        goto implied;
    json_array_foreach ((json_t *)n->taints, i, t) {
        const char *eff = json_string_value(json_object_get(t, "effect"));
        const char *key = json_string_value(json_object_get(t, "key"));
        const char *val = json_string_value(json_object_get(t, "value"));
        if (!streq(eff, "NoSchedule") && !streq(eff, "NoExecute"))
            continue;
        if (!tolerates(p->tolerations, key, val, eff)) {
            fail1(f, true, "node(s) had untolerated taint {%s: %s}",
                  key ? key : "", val ? val : "");
            return false;
        }
    }
implied:
    if (n->implied_taint &&
        !tolerates(p->tolerations, n->implied_taint, "", "NoSchedule")) {
        fail1(f, true, "node(s) had untolerated taint {%s: %s}",
              n->implied_taint, "");
        return false;
    }
    return true;
}

static int pod_host_ports(const json_t *pod, struct sched_port *out, int max)
{
    json_t *cs = ctrl_jget(pod, "spec.containers"), *c, *ports, *p;
    size_t i, j;
    int n = 0;
    json_array_foreach (cs, i, c) {
        ports = json_object_get(c, "ports");
        json_array_foreach (ports, j, p) {
            long long hp = json_integer_value(json_object_get(p, "hostPort"));
            const char *ip = json_string_value(json_object_get(p, "hostIP"));
            const char *pr = json_string_value(json_object_get(p, "protocol"));
            if (hp <= 0 || n == max)
                continue;
            out[n].ip = ip && ip[0] ? ip : "0.0.0.0";
            out[n].proto = pr && pr[0] ? pr : "TCP";
            out[n].port = hp;
            n++;
        }
    }
    return n;
}

static bool ports_conflict(const struct sched_port *a,
                           const struct sched_port *b)
{
    if (a->port != b->port || strcmp(a->proto, b->proto) != 0)
        return false;
    return strcmp(a->ip, "0.0.0.0") == 0 || strcmp(b->ip, "0.0.0.0") == 0 ||
           strcmp(a->ip, b->ip) == 0;
}

static bool filter_ports(const struct sched_pod *sp, const struct sched_node *n,
                         struct sched_fail *f)
{
    struct sched_port have[SCHED_MAX_PORTS];
    size_t i;
    json_t *p;

    if (sp->nports == 0)
        return true;
    json_array_foreach (n->pods, i, p) {
        int nh = pod_host_ports(p, have, SCHED_MAX_PORTS);
        for (int a = 0; a < sp->nports; a++)
            for (int b = 0; b < nh; b++)
                if (ports_conflict(&sp->ports[a], &have[b])) {
                    fail1(f, false,
                          "node(s) didn't have free ports for the requested "
                          "pod ports");
                    return false;
                }
    }
    return true;
}

static bool filter_resources(const struct sched_res *req,
                             const struct sched_node *n, struct sched_fail *f)
{
    bool ok = true;
    if (n->req.pods + 1 > n->alloc.pods) {
        fail1(f, false, "Too many pods");
        ok = false;
    }
    if (req->milli_cpu > 0 &&
        req->milli_cpu > n->alloc.milli_cpu - n->req.milli_cpu) {
        fail1(f, false, "Insufficient cpu");
        ok = false;
    }
    if (req->memory > 0 && req->memory > n->alloc.memory - n->req.memory) {
        fail1(f, false, "Insufficient memory");
        ok = false;
    }
    return ok;
}

/* Does the pod affinity term (topologyKey kubernetes.io/hostname) of
 * `owner` select `other`? */
static bool term_selects(const json_t *term, const json_t *owner,
                         const json_t *other)
{
    json_t *nss = json_object_get(term, "namespaces");
    const char *ons = ctrl_jstr(other, "metadata.namespace");
    json_t *sel = json_object_get(term, "labelSelector");

    if (json_array_size(nss) > 0) {
        if (!str_in(ons, nss))
            return false;
    } else if (json_object_get(term, "namespaceSelector") == NULL) {
        if (!streq(ons, ctrl_jstr(owner, "metadata.namespace")))
            return false;
    }
    if (sel == NULL || json_is_null(sel))
        return false;
    return ctrl_selector_matches(sel, ctrl_jget(other, "metadata.labels"));
}

static bool any_term_selects(const json_t *owner, const json_t *other)
{
    json_t *terms = ctrl_jget(owner, "spec.affinity.podAntiAffinity."
                                     "requiredDuringSchedulingIgnoredDuring"
                                     "Execution"),
           *t;
    size_t i;
    json_array_foreach (terms, i, t) {
        if (!streq(json_string_value(json_object_get(t, "topologyKey")),
                   "kubernetes.io/hostname"))
            continue; /* other topologies: not supported (docs say so) */
        if (term_selects(t, owner, other))
            return true;
    }
    return false;
}

static bool filter_anti_affinity(const struct sched_pod *sp,
                                 const struct sched_node *n,
                                 struct sched_fail *f)
{
    size_t i;
    json_t *p;
    if (!sp->anti)
        goto existing;
    json_array_foreach (n->pods, i, p) {
        if (any_term_selects(sp->pod, p)) {
            fail1(f, false, "node(s) didn't match pod anti-affinity rules");
            return false;
        }
    }
existing:
    if (n->n_anti == 0)
        return true;
    json_array_foreach (n->pods, i, p) {
        if (any_term_selects(p, sp->pod)) {
            fail1(f, false,
                  "node(s) didn't satisfy existing pods anti-affinity "
                  "rules");
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------ pod */

/* Everything but the requests (which parse quantities). */
static void pod_read(struct sched_pod *ret, const json_t *pod)
{
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *na =
        ctrl_jget(json_object_get(spec, "affinity"), "nodeAffinity");
    const json_t *req =
        json_object_get(na, "requiredDuringSchedulingIgnoredDuringExecution");

    ret->pod = pod;
    ret->tolerations = json_object_get(spec, "tolerations");
    ret->node_selector = json_object_get(spec, "nodeSelector");
    ret->required = req && !json_is_null(req) ? req : NULL;
    ret->preferred =
        json_object_get(na, "preferredDuringSchedulingIgnoredDuringExecution");
    ret->anti = has_anti(pod);
    ret->owner_uid = owner_uid(pod);
    ret->nports = pod_host_ports(pod, ret->ports, SCHED_MAX_PORTS);
}

void sched_pod_init(struct sched_pod *ret, const json_t *pod)
{
    pod_read(ret, pod);
    sched_pod_requests(pod, false, &ret->req);
    sched_pod_requests(pod, true, &ret->nzreq);
}

bool sched_filter_pod(const struct sched_pod *p, const struct sched_node *n,
                      struct sched_fail *f)
{
    /* only nreasons entries of f are ever read: no memset of the rest */
    f->nreasons = 0;
    f->unresolvable = false;
    if (n->unschedulable &&
        !tolerates(p->tolerations, "node.kubernetes.io/unschedulable", "",
                   "NoSchedule")) {
        fail1(f, true, "node(s) were unschedulable");
        return false;
    }
    if (!filter_taints(p, n, f))
        return false;
    if ((p->node_selector || p->required) &&
        !affinity_ok(p, n->labels, n->node)) {
        fail1(f, true, "node(s) didn't match Pod's node affinity/selector");
        return false;
    }
    if (!filter_ports(p, n, f))
        return false;
    if (!filter_resources(&p->req, n, f))
        return false;
    if ((p->anti || n->n_anti > 0) && !filter_anti_affinity(p, n, f))
        return false;
    return true;
}

bool sched_filter(const json_t *pod, const struct sched_res *req,
                  const struct sched_node *n, struct sched_fail *f)
{
    struct sched_pod p;
    pod_read(&p, pod);
    p.req = *req;
    return sched_filter_pod(&p, n, f);
}

/* ------------------------------------------------------------ scores */

static int64_t least(int64_t req, int64_t cap)
{
    if (cap <= 0 || req > cap)
        return 0;
    return (cap - req) * 100 / cap;
}

int64_t sched_score_least_allocated(const struct sched_res *nz,
                                    const struct sched_node *n)
{
    return (least(n->nzreq.milli_cpu + nz->milli_cpu, n->alloc.milli_cpu) +
            least(n->nzreq.memory + nz->memory, n->alloc.memory)) /
           2;
}

int64_t sched_score_balanced(const struct sched_res *nz,
                             const struct sched_node *n)
{
    double c, m, d;
    if (n->alloc.milli_cpu <= 0 || n->alloc.memory <= 0)
        return 0;
    c = (double)(n->nzreq.milli_cpu + nz->milli_cpu) /
        (double)n->alloc.milli_cpu;
    m = (double)(n->nzreq.memory + nz->memory) / (double)n->alloc.memory;
    if (c > 1)
        c = 1;
    if (m > 1)
        m = 1;
    d = c > m ? c - m : m - c;
    return (int64_t)((1.0 - d / 2.0) * 100.0);
}

int64_t sched_count_same_owner(const json_t *pod, const struct sched_node *n)
{
    const char *uid = owner_uid(pod);
    if (uid == NULL || n->owners == NULL)
        return 0;
    return (intptr_t)ctrl_map_get(n->owners, uid);
}

static int64_t preferred(const json_t *prefs, const json_t *labels,
                         const json_t *node)
{
    json_t *p;
    size_t i;
    int64_t sum = 0;
    json_array_foreach ((json_t *)prefs, i, p) {
        if (term_matches(json_object_get(p, "preference"), labels, node))
            sum += json_integer_value(json_object_get(p, "weight"));
    }
    return sum;
}

int64_t sched_preferred_affinity(const json_t *pod, const json_t *node)
{
    return preferred(ctrl_jget(pod, "spec.affinity.nodeAffinity."
                                    "preferredDuringSchedulingIgnoredDuring"
                                    "Execution"),
                     ctrl_jget(node, "metadata.labels"), node);
}

static int64_t intolerable_prefer(const json_t *tols, const json_t *taints)
{
    json_t *t;
    size_t i;
    int64_t n = 0;
    json_array_foreach ((json_t *)taints, i, t) {
        if (streq(json_string_value(json_object_get(t, "effect")),
                  "PreferNoSchedule") &&
            !sched_tolerates(tols, t))
            n++;
    }
    return n;
}

int64_t sched_intolerable_prefer(const json_t *pod, const json_t *node)
{
    return intolerable_prefer(ctrl_jget(pod, "spec.tolerations"),
                              ctrl_jget(node, "spec.taints"));
}

size_t sched_pick(const json_t *pod, const struct sched_node *const *nodes,
                  size_t nf, unsigned salt)
{
    struct sched_pod p;
    if (nf <= 1)
        return 0;
    sched_pod_init(&p, pod);
    return sched_pick_pod(&p, nodes, nf, salt);
}

size_t sched_pick_pod(const struct sched_pod *p,
                      const struct sched_node *const *nodes, size_t nf,
                      unsigned salt)
{
    const struct sched_res *nz = &p->nzreq;
    bool has_pref = json_array_size(p->preferred) > 0;
    int64_t *spread, *aff, *taint, max_spread = 0, max_aff = 0, max_taint = 0;
    int64_t best = -1;
    size_t best_i = 0;

    if (nf <= 1)
        return 0;
    spread = calloc(nf * 3, sizeof *spread);
    if (spread == NULL)
        return salt % nf;
    aff = spread + nf;
    taint = aff + nf;
    for (size_t i = 0; i < nf; i++) {
        const struct sched_node *n = nodes[i];
        spread[i] = p->owner_uid && n->owners
                        ? (intptr_t)ctrl_map_get(n->owners, p->owner_uid)
                        : 0;
        aff[i] = has_pref ? preferred(p->preferred, n->labels, n->node) : 0;
        taint[i] = n->prefer_taints
                       ? intolerable_prefer(p->tolerations, n->taints)
                       : 0;
        if (spread[i] > max_spread)
            max_spread = spread[i];
        if (aff[i] > max_aff)
            max_aff = aff[i];
        if (taint[i] > max_taint)
            max_taint = taint[i];
    }
    for (size_t k = 0; k < nf; k++) {
        size_t i = (k + salt) % nf;
        int64_t s = sched_score_least_allocated(nz, nodes[i]) +
                    sched_score_balanced(nz, nodes[i]);
        s += 2 *
             (max_spread ? 100 * (max_spread - spread[i]) / max_spread : 100);
        s += max_aff ? 100 * aff[i] / max_aff : 0;
        s += max_taint ? 100 * (max_taint - taint[i]) / max_taint : 100;
        if (s > best) {
            best = s;
            best_i = i;
        }
    }
    free(spread);
    return best_i;
}

/* ------------------------------------------------------------ message */

struct reason_count {
    const char *reason;
    size_t n;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Appends ": r1, r2" sorted as Go's sort.Strings over "N reason". */
static int append_histogram(struct buf *b, const char **reasons, size_t n)
{
    struct reason_count *rc = calloc(n ? n : 1, sizeof *rc);
    char **lines = calloc(n ? n : 1, sizeof *lines);
    size_t nrc = 0;
    int rv = 0;

    if (rc == NULL || lines == NULL) {
        rv = K1S_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < nrc; j++)
            if (strcmp(rc[j].reason, reasons[i]) == 0)
                break;
        if (j == nrc)
            rc[nrc++].reason = reasons[i];
        rc[j].n++;
    }
    for (size_t j = 0; j < nrc; j++) {
        if (asprintf(&lines[j], "%zu %s", rc[j].n, rc[j].reason) < 0) {
            lines[j] = NULL;
            rv = K1S_ENOMEM;
            goto out;
        }
    }
    qsort(lines, nrc, sizeof *lines, cmp_str);
    for (size_t j = 0; j < nrc; j++)
        buf_printf(b, "%s%s", j ? ", " : " ", lines[j]);
out:
    for (size_t j = 0; lines && j < nrc; j++)
        free(lines[j]);
    free(lines);
    free(rc);
    return rv;
}

char *sched_fit_message(size_t nall, const struct sched_fail *fails,
                        size_t nfails)
{
    struct buf b;
    const char **reasons = NULL, **pre = NULL;
    size_t nr = 0;

    buf_init(&b);
    if (nall == 0) {
        buf_append_str(&b, "no nodes available to schedule pods");
        return buf_steal(&b, NULL);
    }
    reasons = calloc(nfails * 4 + 1, sizeof *reasons);
    pre = calloc(nfails + 1, sizeof *pre);
    if (reasons == NULL || pre == NULL)
        goto out;
    for (size_t i = 0; i < nfails; i++) {
        for (int j = 0; j < fails[i].nreasons; j++)
            reasons[nr++] = fails[i].reasons[j];
        pre[i] = fails[i].unresolvable
                     ? "Preemption is not helpful for scheduling"
                     : "No preemption victims found for incoming pod";
    }
    buf_printf(&b, "0/%zu nodes are available:", nall);
    append_histogram(&b, reasons, nr);
    buf_printf(&b, ". preemption: 0/%zu nodes are available:", nall);
    append_histogram(&b, pre, nfails);
    buf_append_str(&b, "..");
out:
    free(reasons);
    free(pre);
    return buf_steal(&b, NULL);
}

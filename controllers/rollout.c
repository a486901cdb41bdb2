/*
 * DESIGN: the arithmetic of rollouts and replica management, pure so it is
 * unit-tested against the upstream rules (pkg/controller/deployment/util/
 * deployment_util.go, pkg/controller/controller_utils.go):
 *
 *   - percentages: maxSurge rounds up, maxUnavailable rounds down
 *     (intstr.GetScaledValueFromIntOrPercent);
 *   - a new ReplicaSet grows while the total stays <= desired + surge;
 *   - proportional scaling gives each active ReplicaSet its share of a
 *     scale change made mid-rollout, rounding each share and giving the
 *     leftover to the largest set;
 *   - pods are deleted in ActivePodsWithRanks order;
 *   - creates start with one pod and double (slowStartBatch) so a broken
 *     template fails once, not 500 times.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/ctrl_int.h"
#include "lib/err.h"

int ctrl_scaled_value(const json_t *v, int64_t total, bool round_up,
                      int64_t def, int64_t *ret)
{
    const char *s;
    char *end;
    long long pct;

    if (v == NULL || json_is_null(v)) {
        *ret = def;
        return 0;
    }
    if (json_is_integer(v)) {
        *ret = json_integer_value(v);
        return 0;
    }
    s = json_string_value(v);
    if (s == NULL)
        return K1S_EINVALID;
    pct = strtoll(s, &end, 10);
    if (end == s || strcmp(end, "%") != 0 || pct < 0)
        return K1S_EINVALID;
    if (round_up)
        *ret = (int64_t)ceil((double)pct * (double)total / 100.0);
    else
        *ret = (int64_t)floor((double)pct * (double)total / 100.0);
    return 0;
}

void ctrl_resolve_fenceposts(const json_t *max_surge,
                             const json_t *max_unavailable, int64_t desired,
                             int64_t *ret_surge, int64_t *ret_unavailable)
{
    json_t *d = json_string("25%");
    if (ctrl_scaled_value(max_surge ? max_surge : d, desired, true, 0,
                          ret_surge) != 0)
        *ret_surge = 0;
    if (ctrl_scaled_value(max_unavailable ? max_unavailable : d, desired, false,
                          0, ret_unavailable) != 0)
        *ret_unavailable = 0;
    json_decref(d);
    if (*ret_surge == 0 && *ret_unavailable == 0)
        *ret_unavailable = 1;
    if (*ret_unavailable > desired)
        *ret_unavailable = desired;
}

static void strip_nulls(json_t *v);

void ctrl_template_hash(const json_t *tmpl, int64_t collision_count, char *out,
                        size_t len)
{
    static const char alphabet[] = "bcdfghjklmnpqrstvwxz2456789";
    json_t *norm = json_deep_copy(tmpl);
    char *dump;

    strip_nulls(norm);
    dump = json_dumps(norm, JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(norm);
    uint32_t h = 2166136261u;
    char dec[16];
    size_t i;
    for (const char *p = dump ? dump : ""; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 16777619u;
    }
    free(dump);
    if (collision_count > 0) {
        uint32_t c = (uint32_t)collision_count;
        for (int b = 0; b < 4; b++) {
            h ^= (c >> (8 * b)) & 0xff;
            h *= 16777619u;
        }
    }
    snprintf(dec, sizeof dec, "%u", h);
    for (i = 0; dec[i] && i + 1 < len; i++)
        out[i] = alphabet[(unsigned char)dec[i] % (sizeof alphabet - 1)];
    out[i] = '\0';
}

/* Go decodes into structs: a null field and an absent one are the same
 * (kubectl sends "creationTimestamp": null inside templates). */
static void strip_nulls(json_t *v)
{
    const char *k;
    json_t *x;
    void *tmp;
    size_t i;

    if (json_is_object(v)) {
        json_object_foreach_safe (v, tmp, k, x) {
            if (json_is_null(x))
                json_object_del(v, k);
            else
                strip_nulls(x);
        }
    } else if (json_is_array(v)) {
        json_array_foreach (v, i, x)
            strip_nulls(x);
    }
}

static json_t *strip_hash(const json_t *t)
{
    json_t *c = json_deep_copy(t);
    json_t *labels;
    strip_nulls(c);
    labels = ctrl_jget(c, "metadata.labels");
    if (json_is_object(labels))
        json_object_del(labels, CTRL_HASH_LABEL);
    return c;
}

bool ctrl_templates_equal(const json_t *a, const json_t *b)
{
    json_t *x = strip_hash(a), *y = strip_hash(b);
    bool eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

int64_t ctrl_rolling_new_replicas(int64_t desired, int64_t surge,
                                  int64_t all_replicas, int64_t new_rs_replicas)
{
    int64_t max_total = desired + surge, up;
    if (all_replicas >= max_total)
        return new_rs_replicas;
    up = max_total - all_replicas;
    if (up > desired - new_rs_replicas)
        up = desired - new_rs_replicas;
    return new_rs_replicas + up;
}

static int64_t rs_fraction(const struct ctrl_rs_size *rs, int64_t desired,
                           int64_t surge, int64_t status_replicas)
{
    int64_t annotated;
    double sz;
    if (desired == 0)
        return -rs->replicas;
    annotated = rs->annotated_max >= 0 ? rs->annotated_max : status_replicas;
    if (annotated <= 0)
        return 0;
    sz = (double)(rs->replicas * (desired + surge)) / (double)annotated;
    return (int64_t)llround(sz) - rs->replicas;
}

static int by_size_newer(const void *a, const void *b)
{
    const struct ctrl_rs_size *x = *(const struct ctrl_rs_size *const *)a;
    const struct ctrl_rs_size *y = *(const struct ctrl_rs_size *const *)b;
    if (x->replicas != y->replicas)
        return x->replicas > y->replicas ? -1 : 1;
    if (x->created_ns != y->created_ns)
        return x->created_ns > y->created_ns ? -1 : 1;
    return 0;
}

static int by_size_older(const void *a, const void *b)
{
    const struct ctrl_rs_size *x = *(const struct ctrl_rs_size *const *)a;
    const struct ctrl_rs_size *y = *(const struct ctrl_rs_size *const *)b;
    if (x->replicas != y->replicas)
        return x->replicas > y->replicas ? -1 : 1;
    if (x->created_ns != y->created_ns)
        return x->created_ns < y->created_ns ? -1 : 1;
    return 0;
}

void ctrl_proportional_scale(struct ctrl_rs_size *rs, size_t n, int64_t desired,
                             int64_t surge, int64_t status_replicas)
{
    struct ctrl_rs_size **order;
    int64_t all = 0, allowed = desired + surge, to_add, added = 0;

    for (size_t i = 0; i < n; i++) {
        all += rs[i].replicas;
        rs[i].new_size = rs[i].replicas;
    }
    to_add = allowed - all;
    order = calloc(n ? n : 1, sizeof *order);
    if (order == NULL || n == 0) {
        free(order);
        return;
    }
    for (size_t i = 0; i < n; i++)
        order[i] = &rs[i];
    qsort(order, n, sizeof *order, to_add > 0 ? by_size_newer : by_size_older);
    for (size_t i = 0; i < n; i++) {
        struct ctrl_rs_size *r = order[i];
        int64_t p = 0;
        if (to_add != 0 && r->replicas != 0 && to_add != added) {
            int64_t frac = rs_fraction(r, desired, surge, status_replicas);
            int64_t left = to_add - added;
            p = to_add > 0 ? (frac < left ? frac : left)
                           : (frac > left ? frac : left);
        }
        r->new_size = r->replicas + p;
        added += p;
    }
    if (to_add != 0) {
        order[0]->new_size += to_add - added;
        if (order[0]->new_size < 0)
            order[0]->new_size = 0;
    }
    free(order);
}

struct del_rank {
    json_t *pod;
    bool assigned, ready;
    int phase;
    int64_t same_node, ready_since, restarts, created;
};

static int phase_rank(const char *p)
{
    if (p == NULL || strcmp(p, "Pending") == 0)
        return 0;
    if (strcmp(p, "Unknown") == 0)
        return 1;
    if (strcmp(p, "Running") == 0)
        return 2;
    return 3;
}

static int cmp_del(const void *a, const void *b)
{
    const struct del_rank *x = a, *y = b;
    if (x->assigned != y->assigned)
        return x->assigned ? 1 : -1;
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    if (x->ready != y->ready)
        return x->ready ? 1 : -1;
    if (x->same_node != y->same_node)
        return x->same_node > y->same_node ? -1 : 1;
    if (x->ready && x->ready_since != y->ready_since)
        return x->ready_since > y->ready_since ? -1 : 1;
    if (x->restarts != y->restarts)
        return x->restarts > y->restarts ? -1 : 1;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return 0;
}

void ctrl_sort_pods_for_deletion(json_t *pods)
{
    size_t n = json_array_size(pods), i;
    struct del_rank *r = calloc(n ? n : 1, sizeof *r);
    json_t *p;

    if (r == NULL)
        return;
    json_array_foreach (pods, i, p) {
        const char *node = ctrl_jstr(p, "spec.nodeName");
        json_t *cs = ctrl_jget(p, "status.containerStatuses"), *c;
        size_t j;
        r[i].pod = json_incref(p);
        r[i].assigned = node && node[0];
        r[i].phase = phase_rank(ctrl_jstr(p, "status.phase"));
        r[i].ready = ctrl_pod_is_ready(p);
        r[i].ready_since = ctrl_time_ns(json_string_value(json_object_get(
            ctrl_get_condition(p, "Ready"), "lastTransitionTime")));
        r[i].created = ctrl_time_ns(ctrl_jstr(p, "metadata.creationTimestamp"));
        json_array_foreach (cs, j, c)
            r[i].restarts +=
                json_integer_value(json_object_get(c, "restartCount"));
    }
    for (i = 0; i < n; i++) {
        const char *ni = ctrl_jstr(r[i].pod, "spec.nodeName");
        if (!r[i].assigned)
            continue;
        for (size_t j = 0; j < n; j++) {
            const char *nj = ctrl_jstr(r[j].pod, "spec.nodeName");
            if (nj && strcmp(ni, nj) == 0)
                r[i].same_node++;
        }
    }
    qsort(r, n, sizeof *r, cmp_del);
    json_array_clear(pods);
    for (i = 0; i < n; i++)
        json_array_append_new(pods, r[i].pod);
    free(r);
}

int64_t ctrl_slow_start_batch(int64_t done, int64_t remaining)
{
    int64_t batch = 1;
    /* batches are 1, 2, 4, ...: after `done` creates the next is done+1 */
    while (batch <= done)
        batch *= 2;
    return batch < remaining ? batch : remaining;
}

json_t *ctrl_rs_status(const json_t *rs, const json_t *pods, int64_t now_ns,
                       int64_t *ret_recheck_ns)
{
    json_t *tlabels = ctrl_jget(rs, "spec.template.metadata.labels");
    int64_t min_ready = ctrl_jint(rs, "spec.minReadySeconds", 0);
    int64_t full = 0, ready = 0, avail = 0, recheck = 0;
    size_t i;
    json_t *p, *st;

    /* Called for every pod of a set on each sync: each pod's labels and
     * Ready condition are looked up once. */
    json_array_foreach (pods, i, p) {
        json_t *labels = ctrl_jget(p, "metadata.labels");
        const json_t *rc = ctrl_get_condition(p, "Ready");
        const char *rst = json_string_value(json_object_get(rc, "status"));
        const char *k;
        json_t *v;
        bool all = true;
        json_object_foreach (tlabels, k, v) {
            json_t *have = json_object_get(labels, k);
            const char *a = json_string_value(have);
            const char *b = json_string_value(v);
            if (a && b ? strcmp(a, b) != 0 : !json_equal(have, v)) {
                all = false;
                break;
            }
        }
        if (all)
            full++;
        if (rst && strcmp(rst, "True") == 0) {
            /* ctrl_pod_is_available without a second lookup */
            int64_t since =
                min_ready > 0 ? ctrl_time_ns(json_string_value(
                                    json_object_get(rc, "lastTransitionTime")))
                              : 0;
            ready++;
            if (min_ready <= 0 ||
                (since != 0 && since + min_ready * 1000000000LL <= now_ns)) {
                avail++;
            } else {
                int64_t left = since + min_ready * 1000000000LL - now_ns;
                if (left < 1000000000LL)
                    left = 1000000000LL;
                if (recheck == 0 || left < recheck)
                    recheck = left;
            }
        }
    }
    if (ret_recheck_ns)
        *ret_recheck_ns = recheck;
    st = json_pack("{s:I,s:I,s:I,s:I,s:I}", "replicas",
                   (json_int_t)json_array_size(pods), "fullyLabeledReplicas",
                   (json_int_t)full, "readyReplicas", (json_int_t)ready,
                   "availableReplicas", (json_int_t)avail, "observedGeneration",
                   (json_int_t)ctrl_jint(rs, "metadata.generation", 0));
    return st;
}

int64_t ctrl_revision(const json_t *obj)
{
    const char *s = ctrl_jstr(obj, "metadata.annotations");
    json_t *a = ctrl_jget(obj, "metadata.annotations");
    char *end;
    long long v;
    (void)s;
    s = json_string_value(json_object_get(a, CTRL_REVISION_ANN));
    if (s == NULL)
        return 0;
    v = strtoll(s, &end, 10);
    return *end == '\0' && v > 0 ? v : 0;
}

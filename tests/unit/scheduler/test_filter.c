/* Unit tests for scheduler/: quantities, each filter, each score, node
 * choice and the FitError message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "lib/err.h"
#include "scheduler/sched_int.h"

/* --- Fixture / Helpers -------------------------------------------------- */

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (v == NULL)
        fail_msg("bad test json: %s: %s", e.text, s);
    return v;
}

/* A Ready node with 4 cpu, 8Gi, 110 pods, and the given extra JSON
 * merged into it. */
static json_t *node_json(const char *name, const char *extra)
{
    json_t *n = J("{\"kind\":\"Node\",\"metadata\":{\"labels\":{}},"
                  "\"spec\":{},\"status\":{\"allocatable\":{\"cpu\":\"4\","
                  "\"memory\":\"8Gi\",\"pods\":\"110\"},\"conditions\":"
                  "[{\"type\":\"Ready\",\"status\":\"True\"}]}}");
    json_object_set_new(json_object_get(n, "metadata"), "name",
                        json_string(name));
    json_object_set_new(
        json_object_get(json_object_get(n, "metadata"), "labels"),
        "kubernetes.io/hostname", json_string(name));
    if (extra) {
        json_t *x = J(extra);
        const char *k;
        json_t *v;
        json_object_foreach (x, k, v) {
            json_t *dst = json_object_get(n, k);
            if (json_is_object(dst) && json_is_object(v))
                json_object_update(dst, v);
            else
                json_object_set(n, k, v);
        }
        json_decref(x);
    }
    return n;
}

static void node_init(struct sched_node *sn, const char *name,
                      const char *extra)
{
    json_t *n = node_json(name, extra);
    assert_int_equal(sched_node_init(sn, n), 0);
    json_decref(n);
}

static json_t *pod_json(const char *name, const char *cpu, const char *extra)
{
    char buf[2048];
    json_t *p, *x;
    snprintf(buf, sizeof buf,
             "{\"kind\":\"Pod\",\"metadata\":{\"name\":\"%s\","
             "\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}},"
             "\"spec\":{\"containers\":[{\"name\":\"c\",\"resources\":"
             "{\"requests\":{\"cpu\":\"%s\",\"memory\":\"100Mi\"}}}]}}",
             name, cpu);
    p = J(buf);
    if (extra) {
        x = J(extra);
        json_object_update(json_object_get(p, "spec"), x);
        json_decref(x);
    }
    return p;
}

static bool fits(const json_t *pod, const struct sched_node *n,
                 struct sched_fail *f)
{
    struct sched_res r;
    sched_pod_requests(pod, false, &r);
    return sched_filter(pod, &r, n, f);
}

/* --- Success: quantities ------------------------------------------------ */

static void quantity_parses_kubernetes_forms(void **state)
{
    int64_t v;
    (void)state;
    assert_int_equal(sched_quantity("100m", 1000, &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(sched_quantity("2", 1000, &v), 0);
    assert_int_equal(v, 2000);
    assert_int_equal(sched_quantity("0.5", 1000, &v), 0);
    assert_int_equal(v, 500);
    assert_int_equal(sched_quantity("1.5Gi", 1, &v), 0);
    assert_int_equal(v, 1610612736);
    assert_int_equal(sched_quantity("128974848", 1, &v), 0);
    assert_int_equal(v, 128974848);
    assert_int_equal(sched_quantity("129e6", 1, &v), 0);
    assert_int_equal(v, 129000000);
    assert_int_equal(sched_quantity("123Mi", 1, &v), 0);
    assert_int_equal(v, 128974848);
    assert_int_equal(sched_quantity("1k", 1, &v), 0);
    assert_int_equal(v, 1000);
    /* rounds up like Quantity.MilliValue */
    assert_int_equal(sched_quantity("1n", 1000, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(sched_quantity("8Ei", 1000, &v), 0);
    assert_int_equal(v, INT64_MAX);
}

static void quantity_rejects_garbage(void **state)
{
    int64_t v;
    (void)state;
    assert_int_equal(sched_quantity("", 1, &v), K1S_EINVALID);
    assert_int_equal(sched_quantity("abc", 1, &v), K1S_EINVALID);
    assert_int_equal(sched_quantity("1Zi", 1, &v), K1S_EINVALID);
    assert_int_equal(sched_quantity("1e", 1, &v), K1S_EINVALID);
    assert_int_equal(sched_quantity(NULL, 1, &v), K1S_EINVALID);
}

static void requests_take_max_of_init_and_sum(void **state)
{
    json_t *p = J("{\"spec\":{\"containers\":[{\"resources\":{\"requests\":"
                  "{\"cpu\":\"100m\"}}},{\"resources\":{\"requests\":{\"cpu\":"
                  "\"200m\",\"memory\":\"1Gi\"}}}],\"initContainers\":[{"
                  "\"resources\":{\"requests\":{\"cpu\":\"500m\"}}}]}}");
    struct sched_res r;
    (void)state;
    sched_pod_requests(p, false, &r);
    assert_int_equal(r.milli_cpu, 500);
    assert_int_equal(r.memory, 1073741824);
    sched_pod_requests(p, true, &r); /* first container gets 200Mi */
    assert_int_equal(r.memory, 1073741824 + 200 * 1024 * 1024);
    json_decref(p);
}

/* --- Filters ------------------------------------------------------------ */

static void filter_passes_plain_pod(void **state)
{
    struct sched_node n;
    struct sched_fail f;
    json_t *p = pod_json("p", "1", NULL);
    (void)state;
    node_init(&n, "n1", NULL);
    assert_true(fits(p, &n, &f));
    sched_node_close(&n);
    json_decref(p);
}

static void filter_cordoned_node(void **state)
{
    struct sched_node n;
    struct sched_fail f;
    json_t *p = pod_json("p", "1", NULL);
    json_t *tol = pod_json("p", "1",
                           "{\"tolerations\":[{\"key\":\"node.kubernetes.io/"
                           "unschedulable\",\"operator\":\"Exists\"}]}");
    (void)state;
    node_init(&n, "n1", "{\"spec\":{\"unschedulable\":true}}");
    assert_false(fits(p, &n, &f));
    assert_string_equal(f.reasons[0], "node(s) were unschedulable");
    assert_true(f.unresolvable);
    assert_true(fits(tol, &n, &f));
    sched_node_close(&n);
    json_decref(p);
    json_decref(tol);
}

static void filter_not_ready_node(void **state)
{
    struct sched_node n;
    struct sched_fail f;
    json_t *p = pod_json("p", "1", NULL);
    (void)state;
    node_init(&n, "n1",
              "{\"status\":{\"conditions\":[{\"type\":\"Ready\","
              "\"status\":\"False\"}]}}");
    assert_false(fits(p, &n, &f));
    assert_string_equal(f.reasons[0], "node(s) had untolerated taint "
                                      "{node.kubernetes.io/not-ready: }");
    sched_node_close(&n);
    node_init(&n, "n1",
              "{\"status\":{\"conditions\":[{\"type\":\"Ready\","
              "\"status\":\"Unknown\"}]}}");
    assert_false(fits(p, &n, &f));
    assert_string_equal(f.reasons[0], "node(s) had untolerated taint "
                                      "{node.kubernetes.io/unreachable: }");
    sched_node_close(&n);
    json_decref(p);
}

static void filter_taints_and_tolerations(void **state)
{
    struct sched_node n;
    struct sched_fail f;
    json_t *p = pod_json("p", "1", NULL);
    json_t *eq = pod_json("p", "1",
                          "{\"tolerations\":[{\"key\":\"gpu\",\"value\":"
                          "\"yes\",\"effect\":\"NoSchedule\"}]}");
    json_t *wrongval = pod_json("p", "1",
                                "{\"tolerations\":[{\"key\":\"gpu\","
                                "\"value\":\"no\"}]}");
    json_t *exists =
        pod_json("p", "1", "{\"tolerations\":[{\"operator\":\"Exists\"}]}");
    json_t *wrongeff = pod_json("p", "1",
                                "{\"tolerations\":[{\"key\":\"gpu\","
                                "\"operator\":\"Exists\",\"effect\":"
                                "\"NoExecute\"}]}");
    (void)state;
    node_init(&n, "n1",
              "{\"spec\":{\"taints\":[{\"key\":\"soft\",\"effect\":"
              "\"PreferNoSchedule\"},{\"key\":\"gpu\",\"value\":\"yes\","
              "\"effect\":\"NoSchedule\"}]}}");
    assert_false(fits(p, &n, &f));
    assert_string_equal(f.reasons[0],
                        "node(s) had untolerated taint {gpu: yes}");
    assert_true(fits(eq, &n, &f));
    assert_false(fits(wrongval, &n, &f));
    assert_true(fits(exists, &n, &f));
    assert_false(fits(wrongeff, &n, &f));
    sched_node_close(&n);
    node_init(&n, "n1",
              "{\"spec\":{\"taints\":[{\"key\":\"x\",\"effect\":"
              "\"NoExecute\"}]}}");
    assert_false(fits(p, &n, &f));
    assert_string_equal(f.reasons[0], "node(s) had untolerated taint {x: }");
    sched_node_close(&n);
    json_decref(p);
    json_decref(eq);
    json_decref(wrongval);
    json_decref(exists);
    json_decref(wrongeff);
}

static void filter_node_selector(void **state)
{
    struct sched_node n;
    struct sched_fail f;
    json_t *p = pod_json("p", "1", "{\"nodeSelector\":{\"disk\":\"ssd\"}}");
    (void)state;
    node_init(&n, "n1", NULL);
    assert_false(fits(p, &n, &f));
    assert_string_equal(f.reasons[0],
                        "node(s) didn't match Pod's node affinity/selector");
    sched_node_close(&n);
    node_init(&n, "n1", "{\"metadata\":{\"labels\":{\"disk\":\"ssd\"}}}");
    assert_true(fits(p, &n, &f));
    sched_node_close(&n);
    json_decref(p);
}

static bool affinity_op(const char *op, const char *values,
                        const char *label_value)
{
    char buf[1024];
    json_t *pod, *node;
    bool r;
    snprintf(buf, sizeof buf,
             "{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"required"
             "DuringSchedulingIgnoredDuringExecution\":{\"nodeSelectorTerms"
             "\":[{\"matchExpressions\":[{\"key\":\"k\",\"operator\":\"%s\""
             "%s%s}]}]}}}}}",
             op, values ? ",\"values\":" : "", values ? values : "");
    pod = J(buf);
    if (label_value)
        snprintf(buf, sizeof buf,
                 "{\"metadata\":{\"name\":\"n\",\"labels\":{\"k\":\"%s\"}}}",
                 label_value);
    else
        snprintf(buf, sizeof buf, "{\"metadata\":{\"name\":\"n\"}}");
    node = J(buf);
    r = sched_node_matches_affinity(pod, node);
    json_decref(pod);
    json_decref(node);
    return r;
}

static void filter_required_node_affinity_operators(void **state)
{
    (void)state;
    assert_true(affinity_op("In", "[\"a\",\"b\"]", "b"));
    assert_false(affinity_op("In", "[\"a\",\"b\"]", "c"));
    assert_false(affinity_op("In", "[\"a\"]", NULL));
    assert_true(affinity_op("NotIn", "[\"a\"]", "b"));
    assert_true(affinity_op("NotIn", "[\"a\"]", NULL));
    assert_false(affinity_op("NotIn", "[\"a\"]", "a"));
    assert_true(affinity_op("Exists", NULL, "x"));
    assert_false(affinity_op("Exists", NULL, NULL));
    assert_true(affinity_op("DoesNotExist", NULL, NULL));
    assert_false(affinity_op("DoesNotExist", NULL, "x"));
    assert_true(affinity_op("Gt", "[\"5\"]", "6"));
    assert_false(affinity_op("Gt", "[\"5\"]", "5"));
    assert_false(affinity_op("Gt", "[\"5\"]", "abc"));
    assert_true(affinity_op("Lt", "[\"5\"]", "-1"));
    assert_false(affinity_op("Lt", "[\"5\"]", "7"));
    assert_false(affinity_op("Bogus", "[\"5\"]", "7"));
}

static void filter_affinity_terms_are_ored(void **state)
{
    json_t *pod = J("{\"spec\":{\"affinity\":{\"nodeAffinity\":{\"required"
                    "DuringSchedulingIgnoredDuringExecution\":{\"node"
                    "SelectorTerms\":[{\"matchExpressions\":[{\"key\":\"a\","
                    "\"operator\":\"Exists\"}]},{\"matchFields\":[{\"key\":"
                    "\"metadata.name\",\"operator\":\"In\",\"values\":"
                    "[\"n2\"]}]}]}}}}}");
    json_t *n1 = node_json("n1", NULL), *n2 = node_json("n2", NULL);
    (void)state;
    assert_false(sched_node_matches_affinity(pod, n1));
    assert_true(sched_node_matches_affinity(pod, n2));
    json_decref(pod);
    json_decref(n1);
    json_decref(n2);
}

static void filter_host_ports(void **state)
{
    struct sched_node n;
    struct sched_fail f;
    json_t *ext = J("{\"metadata\":{\"name\":\"old\",\"namespace\":\"d\"},"
                    "\"spec\":{\"containers\":[{\"ports\":[{\"hostPort\":80,"
                    "\"containerPort\":80}]}]}}");
    json_t *same = pod_json("p", "1",
                            "{\"containers\":[{\"ports\":[{\"hostPort\":80,"
                            "\"containerPort\":8080}]}]}");
    json_t *udp = pod_json("p", "1",
                           "{\"containers\":[{\"ports\":[{\"hostPort\":80,"
                           "\"protocol\":\"UDP\"}]}]}");
    (void)state;
    node_init(&n, "n1", NULL);
    sched_node_add_pod(&n, ext);
    assert_false(fits(same, &n, &f));
    assert_string_equal(f.reasons[0], "node(s) didn't have free ports for "
                                      "the requested pod ports");
    assert_false(f.unresolvable);
    assert_true(fits(udp, &n, &f));
    sched_node_remove_pod(&n, ext);
    assert_true(fits(same, &n, &f));
    sched_node_close(&n);
    json_decref(ext);
    json_decref(same);
    json_decref(udp);
}

static void filter_resources(void **state)
{
    struct sched_node n;
    struct sched_fail f;
    json_t *big = pod_json("big", "3", NULL);
    json_t *p = pod_json("p", "1500m", NULL);
    json_t *mem = J("{\"metadata\":{\"name\":\"m\"},\"spec\":{\"containers\""
                    ":[{\"resources\":{\"requests\":{\"cpu\":\"3\",\"memory\":"
                    "\"9Gi\"}}}]}}");
    (void)state;
    node_init(&n, "n1", NULL);
    assert_true(fits(p, &n, &f));
    sched_node_add_pod(&n, big);
    assert_false(fits(p, &n, &f));
    assert_int_equal(f.nreasons, 1);
    assert_string_equal(f.reasons[0], "Insufficient cpu");
    assert_false(fits(mem, &n, &f));
    assert_int_equal(f.nreasons, 2);
    assert_string_equal(f.reasons[0], "Insufficient cpu");
    assert_string_equal(f.reasons[1], "Insufficient memory");
    sched_node_close(&n);
    node_init(&n, "n1",
              "{\"status\":{\"allocatable\":{\"cpu\":\"4\",\"memory\":\"8Gi\","
              "\"pods\":\"1\"},\"conditions\":[{\"type\":\"Ready\",\"status\":"
              "\"True\"}]}}");
    assert_true(fits(p, &n, &f));
    sched_node_add_pod(&n, p);
    assert_false(fits(p, &n, &f));
    assert_string_equal(f.reasons[0], "Too many pods");
    sched_node_close(&n);
    json_decref(big);
    json_decref(p);
    json_decref(mem);
}

static void filter_pod_anti_affinity_both_ways(void **state)
{
    struct sched_node n;
    struct sched_fail f;
    const char *anti = "{\"affinity\":{\"podAntiAffinity\":{\"required"
                       "DuringSchedulingIgnoredDuringExecution\":[{"
                       "\"labelSelector\":{\"matchLabels\":{\"app\":\"web\"}},"
                       "\"topologyKey\":\"kubernetes.io/hostname\"}]}}}";
    json_t *a = pod_json("a", "100m", anti);
    json_t *b = pod_json("b", "100m", anti);
    json_t *plain = pod_json("c", "100m", NULL);
    json_t *other = J("{\"metadata\":{\"name\":\"o\",\"namespace\":"
                      "\"default\",\"labels\":{\"app\":\"db\"}},\"spec\":{"
                      "\"containers\":[{}]}}");
    (void)state;
    node_init(&n, "n1", NULL);
    sched_node_add_pod(&n, a);
    assert_false(fits(b, &n, &f));
    assert_string_equal(f.reasons[0],
                        "node(s) didn't match pod anti-affinity rules");
    /* plain pod has label app=web, which a's term selects */
    assert_false(fits(plain, &n, &f));
    assert_string_equal(f.reasons[0], "node(s) didn't satisfy existing "
                                      "pods anti-affinity rules");
    assert_true(fits(other, &n, &f));
    sched_node_close(&n);
    json_decref(a);
    json_decref(b);
    json_decref(plain);
    json_decref(other);
}

/* --- Scores ------------------------------------------------------------- */

static void score_least_allocated_and_balanced(void **state)
{
    struct sched_node empty, busy;
    struct sched_res nz = {1000, 1024LL * 1024 * 1024, 1};
    json_t *hog = pod_json("hog", "2", NULL);
    (void)state;
    node_init(&empty, "e", NULL);
    node_init(&busy, "b", NULL);
    sched_node_add_pod(&busy, hog);
    /* empty: cpu (4000-1000)/4000=75, mem (8Gi-1Gi)/8Gi=87 -> 81 */
    assert_int_equal(sched_score_least_allocated(&nz, &empty), 81);
    assert_true(sched_score_least_allocated(&nz, &busy) <
                sched_score_least_allocated(&nz, &empty));
    /* empty: cpu .25 mem .125 -> 1 - .0625 = 93 */
    assert_int_equal(sched_score_balanced(&nz, &empty), 93);
    assert_true(sched_score_balanced(&nz, &busy) <
                sched_score_balanced(&nz, &empty));
    sched_node_close(&empty);
    sched_node_close(&busy);
    json_decref(hog);
}

static void score_spreads_pods_of_one_owner(void **state)
{
    struct sched_node a, b;
    const struct sched_node *nodes[2] = {&a, &b};
    json_t *owned = J("{\"metadata\":{\"name\":\"x1\",\"namespace\":\"d\","
                      "\"ownerReferences\":[{\"uid\":\"rs1\",\"controller\":"
                      "true}]},\"spec\":{\"containers\":[{}]}}");
    json_t *other = J("{\"metadata\":{\"name\":\"y\",\"namespace\":\"d\"},"
                      "\"spec\":{\"containers\":[{}]}}");
    (void)state;
    node_init(&a, "a", NULL);
    node_init(&b, "b", NULL);
    sched_node_add_pod(&a, owned);
    sched_node_add_pod(&b, other);
    assert_int_equal(sched_count_same_owner(owned, &a), 1);
    assert_int_equal(sched_count_same_owner(owned, &b), 0);
    /* both nodes equally loaded: the spread decides, whatever the salt */
    for (unsigned salt = 0; salt < 4; salt++)
        assert_int_equal(sched_pick(owned, nodes, 2, salt), 1);
    sched_node_close(&a);
    sched_node_close(&b);
    json_decref(owned);
    json_decref(other);
}

static void score_preferred_affinity_and_prefer_no_schedule(void **state)
{
    struct sched_node a, b;
    const struct sched_node *nodes[2] = {&a, &b};
    json_t *pod = J("{\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":"
                    "[{}],\"affinity\":{\"nodeAffinity\":{\"preferredDuring"
                    "SchedulingIgnoredDuringExecution\":[{\"weight\":50,"
                    "\"preference\":{\"matchExpressions\":[{\"key\":\"zone\","
                    "\"operator\":\"In\",\"values\":[\"z2\"]}]}}]}}}}");
    json_t *plain = J("{\"metadata\":{\"name\":\"q\"},\"spec\":{"
                      "\"containers\":[{}]}}");
    (void)state;
    node_init(&a, "a", "{\"metadata\":{\"labels\":{\"zone\":\"z1\"}}}");
    node_init(&b, "b", "{\"metadata\":{\"labels\":{\"zone\":\"z2\"}}}");
    assert_int_equal(sched_preferred_affinity(pod, b.node), 50);
    assert_int_equal(sched_preferred_affinity(pod, a.node), 0);
    for (unsigned salt = 0; salt < 4; salt++)
        assert_int_equal(sched_pick(pod, nodes, 2, salt), 1);
    sched_node_close(&b);
    node_init(&b, "b",
              "{\"spec\":{\"taints\":[{\"key\":\"s\",\"effect\":"
              "\"PreferNoSchedule\"}]}}");
    assert_int_equal(sched_intolerable_prefer(plain, b.node), 1);
    for (unsigned salt = 0; salt < 4; salt++)
        assert_int_equal(sched_pick(plain, nodes, 2, salt), 0);
    sched_node_close(&a);
    sched_node_close(&b);
    json_decref(pod);
    json_decref(plain);
}

/* --- Message ------------------------------------------------------------ */

static void fit_message_matches_kube_scheduler(void **state)
{
    struct sched_node n[3];
    struct sched_fail f[3];
    json_t *p = pod_json("p", "3", NULL);
    json_t *hog = pod_json("hog", "2", NULL);
    char *msg;
    (void)state;
    node_init(&n[0], "a",
              "{\"spec\":{\"taints\":[{\"key\":\"node-role.kubernetes.io/"
              "control-plane\",\"effect\":\"NoSchedule\"}]}}");
    node_init(&n[1], "b", NULL);
    node_init(&n[2], "c", NULL);
    sched_node_add_pod(&n[1], hog);
    sched_node_add_pod(&n[2], hog);
    for (int i = 0; i < 3; i++)
        assert_false(fits(p, &n[i], &f[i]));
    msg = sched_fit_message(3, f, 3);
    assert_string_equal(
        msg, "0/3 nodes are available: 1 node(s) had untolerated taint "
             "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."
             " preemption: 0/3 nodes are available: 1 Preemption is not "
             "helpful for scheduling, 2 No preemption victims found for "
             "incoming pod..");
    free(msg);
    msg = sched_fit_message(0, NULL, 0);
    assert_string_equal(msg, "no nodes available to schedule pods");
    free(msg);
    for (int i = 0; i < 3; i++)
        sched_node_close(&n[i]);
    json_decref(p);
    json_decref(hog);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantity_parses_kubernetes_forms),
        cmocka_unit_test(quantity_rejects_garbage),
        cmocka_unit_test(requests_take_max_of_init_and_sum),
        cmocka_unit_test(filter_passes_plain_pod),
        cmocka_unit_test(filter_cordoned_node),
        cmocka_unit_test(filter_not_ready_node),
        cmocka_unit_test(filter_taints_and_tolerations),
        cmocka_unit_test(filter_node_selector),
        cmocka_unit_test(filter_required_node_affinity_operators),
        cmocka_unit_test(filter_affinity_terms_are_ored),
        cmocka_unit_test(filter_host_ports),
        cmocka_unit_test(filter_resources),
        cmocka_unit_test(filter_pod_anti_affinity_both_ways),
        cmocka_unit_test(score_least_allocated_and_balanced),
        cmocka_unit_test(score_spreads_pods_of_one_owner),
        cmocka_unit_test(score_preferred_affinity_and_prefer_no_schedule),
        cmocka_unit_test(fit_message_matches_kube_scheduler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for apiserver/patch_strategic.c and patch_schema.c: the
 * patches kubectl apply (three-way), set image, rollout restart, taint and
 * patch send, each directive, the merge keys of the kinds served, and
 * malformed patches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "apiserver/patch.h"
#include "lib/err.h"

/* --- Helpers ------------------------------------------------------------ */

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (v == NULL)
        fail_msg("bad test JSON %s: %s", s, e.text);
    return v;
}

/* Applies patch to doc for (apiVersion, kind) and compares with want; the
 * comparison is exact, list order included. The input must be unchanged. */
static void smp_ok(const char *av, const char *kind, const char *doc,
                   const char *patch, const char *want)
{
    json_t *d = J(doc), *p = J(patch), *w = J(want), *r = NULL;
    char *before = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS), *after;
    char err[512] = "";
    int rv = api_strategic_merge_patch(d, p, av, kind, &r, err, sizeof err);

    if (rv != 0)
        fail_msg("patch %s: %d %s", patch, rv, err);
    if (!json_equal(r, w)) {
        char *g = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("patch %s\n got %s\nwant %s", patch, g, want);
    }
    after = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(before, after);
    free(before);
    free(after);
    json_decref(d);
    json_decref(p);
    json_decref(w);
    json_decref(r);
}

static void smp_fail(const char *av, const char *kind, const char *doc,
                     const char *patch, int want_rv, const char *want_msg)
{
    json_t *d = J(doc), *p = J(patch), *r = NULL;
    char err[512] = "";
    int rv = api_strategic_merge_patch(d, p, av, kind, &r, err, sizeof err);

    if (rv != want_rv)
        fail_msg("patch %s: rv %d (%s), want %d", patch, rv, err, want_rv);
    assert_null(r);
    if (strstr(err, want_msg) == NULL)
        fail_msg("message '%s' lacks '%s'", err, want_msg);
    json_decref(d);
    json_decref(p);
}

/* A Deployment whose pod template holds `containers` (a JSON list). */
static char *deploy(const char *containers)
{
    static char buf[4][2048];
    static int n;
    char *b = buf[n++ % 4];
    snprintf(b, sizeof buf[0],
             "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
             "\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":1,"
             "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},"
             "\"spec\":{\"containers\":%s}}}}",
             containers);
    return b;
}

/* The patch kubectl apply sends for a template spec change. */
static char *tpatch(const char *spec)
{
    static char buf[4][2048];
    static int n;
    char *b = buf[n++ % 4];
    snprintf(b, sizeof buf[0], "{\"spec\":{\"template\":{\"spec\":%s}}}", spec);
    return b;
}

#define D "apps/v1", "Deployment"

/* --- Success: kubectl apply three-way patches ---------------------------- */

static void apply_adds_container_in_order(void **state)
{
    (void)state;
    smp_ok(D,
           deploy("[{\"name\":\"a\",\"image\":\"a:1\"},{\"name\":\"b\","
                  "\"image\":\"b:1\",\"terminationMessagePath\":\"/t\"}]"),
           tpatch("{\"$setElementOrder/containers\":[{\"name\":\"a\"},"
                  "{\"name\":\"c\"},{\"name\":\"b\"}],\"containers\":"
                  "[{\"name\":\"c\",\"image\":\"c:1\"}]}"),
           deploy("[{\"name\":\"a\",\"image\":\"a:1\"},{\"name\":\"c\","
                  "\"image\":\"c:1\"},{\"name\":\"b\",\"image\":\"b:1\","
                  "\"terminationMessagePath\":\"/t\"}]"));
}

static void apply_removes_container(void **state)
{
    (void)state;
    smp_ok(D,
           deploy("[{\"name\":\"a\",\"image\":\"a:1\"},{\"name\":\"b\","
                  "\"image\":\"b:1\"}]"),
           tpatch("{\"$setElementOrder/containers\":[{\"name\":\"b\"}],"
                  "\"containers\":[{\"$patch\":\"delete\",\"name\":\"a\"}]}"),
           deploy("[{\"name\":\"b\",\"image\":\"b:1\"}]"));
}

static void apply_changes_image_keeps_server_fields(void **state)
{
    (void)state;
    /* defaulted fields the server added (imagePullPolicy) survive */
    smp_ok(D,
           deploy("[{\"name\":\"a\",\"image\":\"a:1\",\"imagePullPolicy\":"
                  "\"IfNotPresent\"},{\"name\":\"b\",\"image\":\"b:1\"}]"),
           tpatch("{\"$setElementOrder/containers\":[{\"name\":\"a\"},"
                  "{\"name\":\"b\"}],\"containers\":[{\"image\":\"a:2\","
                  "\"name\":\"a\"}]}"),
           deploy("[{\"name\":\"a\",\"image\":\"a:2\",\"imagePullPolicy\":"
                  "\"IfNotPresent\"},{\"name\":\"b\",\"image\":\"b:1\"}]"));
}

static void apply_env_add_remove_reorder(void **state)
{
    (void)state;
    smp_ok(D,
           deploy("[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":"
                  "\"1\"},{\"name\":\"Y\",\"value\":\"2\"}]}]"),
           tpatch("{\"$setElementOrder/containers\":[{\"name\":\"a\"}],"
                  "\"containers\":[{\"name\":\"a\",\"$setElementOrder/env\":"
                  "[{\"name\":\"Z\"},{\"name\":\"X\"}],\"env\":[{\"name\":"
                  "\"Z\",\"value\":\"3\"},{\"$patch\":\"delete\",\"name\":"
                  "\"Y\"}]}]}"),
           deploy("[{\"name\":\"a\",\"env\":[{\"name\":\"Z\",\"value\":"
                  "\"3\"},{\"name\":\"X\",\"value\":\"1\"}]}]"));
    /* changing an env value to valueFrom: null removes the old value */
    smp_ok(D,
           deploy("[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"value\":"
                  "\"1\"}]}]"),
           tpatch("{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
                  "\"X\",\"value\":null,\"valueFrom\":{\"fieldRef\":"
                  "{\"fieldPath\":\"metadata.name\"}}}]}]}"),
           deploy("[{\"name\":\"a\",\"env\":[{\"name\":\"X\",\"valueFrom\":"
                  "{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}}]}]"));
}

static void apply_ports_by_container_port(void **state)
{
    (void)state;
    smp_ok(D,
           deploy("[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,"
                  "\"protocol\":\"TCP\"}]}]"),
           tpatch("{\"containers\":[{\"name\":\"a\",\"$setElementOrder/"
                  "ports\":[{\"containerPort\":80},{\"containerPort\":443}],"
                  "\"ports\":[{\"containerPort\":443,\"name\":\"https\"}]}]}"),
           deploy("[{\"name\":\"a\",\"ports\":[{\"containerPort\":80,"
                  "\"protocol\":\"TCP\"},{\"containerPort\":443,\"name\":"
                  "\"https\"}]}]"));
    smp_ok(D,
           deploy("[{\"name\":\"a\",\"ports\":[{\"containerPort\":80},"
                  "{\"containerPort\":443}]}]"),
           tpatch("{\"containers\":[{\"name\":\"a\",\"ports\":[{\"$patch\":"
                  "\"delete\",\"containerPort\":80}]}]}"),
           deploy("[{\"name\":\"a\",\"ports\":[{\"containerPort\":443}]}]"));
}

static void apply_retain_keys_switches_strategy(void **state)
{
    (void)state;
    smp_ok(D,
           "{\"spec\":{\"replicas\":2,\"strategy\":{\"type\":"
           "\"RollingUpdate\",\"rollingUpdate\":{\"maxSurge\":\"25%\","
           "\"maxUnavailable\":\"25%\"}}}}",
           "{\"spec\":{\"strategy\":{\"$retainKeys\":[\"type\"],\"type\":"
           "\"Recreate\",\"rollingUpdate\":null}}}",
           "{\"spec\":{\"replicas\":2,\"strategy\":{\"type\":\"Recreate\"}}}");
    /* a volume switched from emptyDir to configMap */
    smp_ok("v1", "Pod",
           "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"emptyDir\":{}},"
           "{\"name\":\"w\",\"emptyDir\":{}}]}}",
           "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"$retainKeys\":"
           "[\"configMap\",\"name\"],\"configMap\":{\"name\":\"cm\"}}]}}",
           "{\"spec\":{\"volumes\":[{\"name\":\"v\",\"configMap\":{\"name\":"
           "\"cm\"}},{\"name\":\"w\",\"emptyDir\":{}}]}}");
}

static void apply_null_deletes_map_key(void **state)
{
    (void)state;
    smp_ok(D,
           "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"},"
           "\"annotations\":{\"x\":\"y\"}}}",
           "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"},"
           "\"annotations\":null}}",
           "{\"metadata\":{\"labels\":{\"b\":\"2\",\"c\":\"3\"}}}");
    /* null for a key that is not there is dropped, not stored */
    smp_ok(D, "{\"spec\":{}}",
           "{\"spec\":{\"paused\":null,\"x\":{\"y\":"
           "null,\"z\":1}}}",
           "{\"spec\":{\"x\":{\"z\":1}}}");
}

/* --- Success: other clients' patches ------------------------------------ */

static void set_image_and_rollout_restart(void **state)
{
    (void)state;
    /* kubectl set image: containers merged by name, no order directive */
    smp_ok(D,
           deploy("[{\"name\":\"a\",\"image\":\"a:1\"},{\"name\":\"b\","
                  "\"image\":\"b:1\"}]"),
           tpatch("{\"containers\":[{\"name\":\"b\",\"image\":\"b:2\"}]}"),
           deploy("[{\"name\":\"a\",\"image\":\"a:1\"},{\"name\":\"b\","
                  "\"image\":\"b:2\"}]"));
    /* kubectl rollout restart */
    smp_ok(D, deploy("[{\"name\":\"a\"}]"),
           "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{"
           "\"kubectl.kubernetes.io/restartedAt\":\"2026-11-25T04:00:00Z\""
           "}}}}}",
           "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\","
           "\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":1,"
           "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"},"
           "\"annotations\":{\"kubectl.kubernetes.io/restartedAt\":"
           "\"2026-11-25T04:00:00Z\"}},\"spec\":{\"containers\":"
           "[{\"name\":\"a\"}]}}}}");
}

static void new_items_without_order_come_first(void **state)
{
    (void)state;
    /* mergeSortedSlice: a patch item not in the live list is placed
     * before the server-only items (what the API server does for a bare
     * `kubectl patch` adding a container). */
    smp_ok("v1", "Pod",
           "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"c\"},{\"name\":\"a\"},"
           "{\"name\":\"b\"}]}}");
    smp_ok("v1", "Pod",
           "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"},"
           "{\"name\":\"c\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"b\",\"image\":\"x\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\","
           "\"image\":\"x\"},{\"name\":\"c\"}]}}");
}

static void patch_replace_and_delete_directives(void **state)
{
    (void)state;
    /* $patch: replace on a map */
    smp_ok(D, "{\"metadata\":{\"labels\":{\"a\":\"1\",\"b\":\"2\"}}}",
           "{\"metadata\":{\"labels\":{\"$patch\":\"replace\",\"c\":\"3\"}}}",
           "{\"metadata\":{\"labels\":{\"c\":\"3\"}}}");
    /* $patch: replace in a list */
    smp_ok(D, deploy("[{\"name\":\"a\"},{\"name\":\"b\"}]"),
           tpatch("{\"containers\":[{\"$patch\":\"replace\"},{\"name\":"
                  "\"z\",\"image\":\"z:1\"}]}"),
           deploy("[{\"name\":\"z\",\"image\":\"z:1\"}]"));
    /* $patch: delete on a map empties it; $patch: merge is ordinary */
    smp_ok(D, "{\"spec\":{\"selector\":{\"matchLabels\":{\"a\":\"1\"}}}}",
           "{\"spec\":{\"selector\":{\"$patch\":\"delete\"}}}",
           "{\"spec\":{\"selector\":{}}}");
    smp_ok(D, "{\"spec\":{\"a\":1}}",
           "{\"spec\":{\"$patch\":\"merge\",\"b\":2}}",
           "{\"spec\":{\"a\":1,\"b\":2}}");
    /* top-level $patch: delete */
    smp_ok(D, "{\"a\":1}", "{\"$patch\":\"delete\"}", "{}");
}

static void primitive_merge_lists(void **state)
{
    (void)state;
    /* finalizers: a set union, then $deleteFromPrimitiveList */
    smp_ok("v1", "ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
           "{\"metadata\":{\"finalizers\":[\"c\",\"a\"]}}",
           "{\"metadata\":{\"finalizers\":[\"c\",\"a\",\"b\"]}}");
    smp_ok("v1", "ConfigMap",
           "{\"metadata\":{\"finalizers\":[\"a\",\"b\",\"c\"]}}",
           "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":[\"b\"]}}",
           "{\"metadata\":{\"finalizers\":[\"a\",\"c\"]}}");
    smp_ok("v1", "ConfigMap", "{\"metadata\":{\"finalizers\":[\"a\",\"b\"]}}",
           "{\"metadata\":{\"$setElementOrder/finalizers\":[\"b\",\"a\"]}}",
           "{\"metadata\":{\"finalizers\":[\"b\",\"a\"]}}");
    /* a primitive list without strategy (args) is replaced */
    smp_ok("v1", "Pod",
           "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"1\","
           "\"2\"]}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"3\"]}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"a\",\"args\":[\"3\"]}]}}");
    /* Node podCIDRs: merge of primitives */
    smp_ok("v1", "Node", "{\"spec\":{\"podCIDRs\":[\"10.0.0.0/24\"]}}",
           "{\"spec\":{\"podCIDRs\":[\"10.0.1.0/24\"]}}",
           "{\"spec\":{\"podCIDRs\":[\"10.0.1.0/24\",\"10.0.0.0/24\"]}}");
}

static void merge_keys_of_kinds(void **state)
{
    (void)state;
    /* Service ports merge by port */
    smp_ok("v1", "Service",
           "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":8080},"
           "{\"port\":443}]}}",
           "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090}]}}",
           "{\"spec\":{\"ports\":[{\"port\":80,\"targetPort\":9090},"
           "{\"port\":443}]}}");
    /* ownerReferences by uid */
    smp_ok("apps/v1", "ReplicaSet",
           "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"u1\",\"name\":"
           "\"d\",\"controller\":true}]}}",
           "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"u1\","
           "\"controller\":false}]}}",
           "{\"metadata\":{\"ownerReferences\":[{\"uid\":\"u1\",\"name\":"
           "\"d\",\"controller\":false}]}}");
    /* status conditions merge by type (a /status patch) */
    smp_ok("v1", "Pod",
           "{\"status\":{\"phase\":\"Pending\",\"conditions\":[{\"type\":"
           "\"PodScheduled\",\"status\":\"True\"}]}}",
           "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
           "\"Ready\",\"status\":\"True\"}]}}",
           "{\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":"
           "\"Ready\",\"status\":\"True\"},{\"type\":\"PodScheduled\","
           "\"status\":\"True\"}]}}");
    /* Node: taints are atomic (replaced), addresses merge by type */
    smp_ok("v1", "Node",
           "{\"spec\":{\"taints\":[{\"key\":\"a\",\"effect\":\"NoSchedule\"}]"
           "},\"status\":{\"addresses\":[{\"type\":\"InternalIP\","
           "\"address\":\"127.0.0.1\"}]}}",
           "{\"spec\":{\"taints\":[{\"key\":\"b\",\"effect\":\"NoSchedule\"}]"
           "},\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":"
           "\"n1\"}]}}",
           "{\"spec\":{\"taints\":[{\"key\":\"b\",\"effect\":\"NoSchedule\"}]"
           "},\"status\":{\"addresses\":[{\"type\":\"Hostname\",\"address\":"
           "\"n1\"},{\"type\":\"InternalIP\",\"address\":\"127.0.0.1\"}]}}");
    /* tolerations: no strategy, replaced */
    smp_ok("v1", "Pod", "{\"spec\":{\"tolerations\":[{\"key\":\"a\"}]}}",
           "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}]}}",
           "{\"spec\":{\"tolerations\":[{\"key\":\"b\"}]}}");
    /* the pod template of a Job, a StatefulSet and a DaemonSet */
    smp_ok("batch/v1", "Job",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
           "\"a\",\"image\":\"x\"}]}}}}",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
           "\"a\",\"command\":[\"true\"]}]}}}}",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
           "\"a\",\"image\":\"x\",\"command\":[\"true\"]}]}}}}");
    smp_ok("apps/v1", "DaemonSet",
           "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"v\","
           "\"hostPath\":{\"path\":\"/a\"}}]}}}}",
           "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"w\","
           "\"emptyDir\":{}}]}}}}",
           "{\"spec\":{\"template\":{\"spec\":{\"volumes\":[{\"name\":\"w\","
           "\"emptyDir\":{}},{\"name\":\"v\",\"hostPath\":{\"path\":\"/a\"}}"
           "]}}}}");
    /* ServiceAccount secrets merge by name */
    smp_ok("v1", "ServiceAccount", "{\"secrets\":[{\"name\":\"a\"}]}",
           "{\"secrets\":[{\"name\":\"b\"}]}",
           "{\"secrets\":[{\"name\":\"b\"},{\"name\":\"a\"}]}");
    /* a kind outside the table (a CRD): maps merge, lists replace */
    smp_ok("example.com/v1", "Widget",
           "{\"spec\":{\"containers\":[{\"name\":\"a\"}],\"m\":{\"x\":1}}}",
           "{\"spec\":{\"containers\":[{\"name\":\"b\"}],\"m\":{\"y\":2}}}",
           "{\"spec\":{\"containers\":[{\"name\":\"b\"}],\"m\":{\"x\":1,"
           "\"y\":2}}}");
    /* a Deployment under the wrong group is not the apps one */
    smp_ok("v1", "Deployment",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
           "\"a\"}]}}}}",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
           "\"b\"}]}}}}",
           "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":"
           "\"b\"}]}}}}");
}

static void patch_into_missing_and_mismatched(void **state)
{
    (void)state;
    /* a merge list absent from the live object: directives still apply */
    smp_ok("v1", "Pod", "{\"spec\":{}}",
           "{\"spec\":{\"$setElementOrder/containers\":[{\"name\":\"a\"}],"
           "\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":\"X\","
           "\"value\":\"1\"}]},{\"$patch\":\"delete\",\"name\":\"q\"}]}}",
           "{\"spec\":{\"containers\":[{\"name\":\"a\",\"env\":[{\"name\":"
           "\"X\",\"value\":\"1\"}]}]}}");
    /* a value of another type is replaced */
    smp_ok("v1", "Pod", "{\"spec\":{\"x\":[1]}}",
           "{\"spec\":{\"x\":{\"a\":1}}}", "{\"spec\":{\"x\":{\"a\":1}}}");
    /* merge key values compare as numbers: 80 matches 80.0 */
    smp_ok("v1", "Service", "{\"spec\":{\"ports\":[{\"port\":80}]}}",
           "{\"spec\":{\"ports\":[{\"port\":80.0,\"name\":\"http\"}]}}",
           "{\"spec\":{\"ports\":[{\"port\":80.0,\"name\":\"http\"}]}}");
}

/* --- Failure ------------------------------------------------------------ */

static void malformed_patches(void **state)
{
    (void)state;
    smp_fail(D, deploy("[{\"name\":\"a\"}]"),
             tpatch("{\"containers\":[{\"image\":\"x\"}]}"), K1S_EBADREQ,
             "does not contain declared merge key: name");
    smp_fail(D, deploy("[{\"name\":\"a\"}]"),
             tpatch("{\"containers\":[{\"$patch\":\"delete\"}]}"), K1S_EBADREQ,
             "merge key: name");
    smp_fail(D, "{}", "{\"spec\":{\"$patch\":\"frob\"}}", K1S_EBADREQ,
             "unknown patch type: frob");
    smp_fail(D, deploy("[]"),
             tpatch("{\"containers\":[{\"$patch\":7,\"name\":\"a\"}]}"),
             K1S_EBADREQ, "unknown patch type");
    smp_fail(D, "{}", "{\"spec\":{\"strategy\":{\"$retainKeys\":\"type\"}}}",
             K1S_EBADREQ, "$retainKeys must be a list");
    smp_fail(D, "{}",
             "{\"metadata\":{\"$deleteFromPrimitiveList/finalizers\":\"a\"}}",
             K1S_EBADREQ, "must be a list");
    smp_fail(D, "{}", "{\"metadata\":{\"$setElementOrder/finalizers\":1}}",
             K1S_EBADREQ, "must be a list");
    smp_fail(D, deploy("[{\"name\":\"a\"}]"),
             tpatch("{\"containers\":[\"a\"]}"), K1S_EBADREQ,
             "mixes maps and other values");
    smp_fail(D, "{}", "[]", K1S_EBADREQ, "must be a JSON object");
}

static void deep_nesting_is_refused(void **state)
{
    char *s = malloc(8 * 200 + 16);
    size_t n = 0;
    json_t *deep, *doc = J("{}"), *r = NULL;
    (void)state;
    for (int i = 0; i < 200; i++) {
        memcpy(s + n, "{\"a\":", 5);
        n += 5;
    }
    s[n++] = '1';
    for (int i = 0; i < 200; i++)
        s[n++] = '}';
    s[n] = '\0';
    deep = J(s);
    assert_int_equal(
        api_strategic_merge_patch(doc, deep, "v1", "Pod", &r, NULL, 0),
        K1S_EBADREQ);
    assert_int_equal(
        api_strategic_merge_patch(deep, doc, "v1", "Pod", &r, NULL, 0),
        K1S_EBADREQ);
    assert_null(r);
    free(s);
    json_decref(deep);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(apply_adds_container_in_order),
        cmocka_unit_test(apply_removes_container),
        cmocka_unit_test(apply_changes_image_keeps_server_fields),
        cmocka_unit_test(apply_env_add_remove_reorder),
        cmocka_unit_test(apply_ports_by_container_port),
        cmocka_unit_test(apply_retain_keys_switches_strategy),
        cmocka_unit_test(apply_null_deletes_map_key),
        cmocka_unit_test(set_image_and_rollout_restart),
        cmocka_unit_test(new_items_without_order_come_first),
        cmocka_unit_test(patch_replace_and_delete_directives),
        cmocka_unit_test(primitive_merge_lists),
        cmocka_unit_test(merge_keys_of_kinds),
        cmocka_unit_test(patch_into_missing_and_mismatched),
        cmocka_unit_test(malformed_patches),
        cmocka_unit_test(deep_nesting_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

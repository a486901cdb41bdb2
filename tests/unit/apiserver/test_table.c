/* Unit tests for apiserver/table.c, discovery.c's Accept negotiation and
 * body.c's decoder: Kubernetes's HumanDuration rounding, the cells kubectl
 * shows for pods, nodes and deployments, rows[].object, Accept choices,
 * and the JSON depth cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "apiserver/api_int.h"
#include "lib/err.h"

/* --- Helpers ------------------------------------------------------------ */

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, 0, &e);
    if (v == NULL)
        fail_msg("bad test JSON %s: %s", s, e.text);
    return v;
}

static const char *dur(int64_t s)
{
    static char buf[32];
    api_human_duration(s * 1000000000ll, buf, sizeof buf);
    return buf;
}

/* The cells of obj's row, as a compact JSON string (caller frees). */
static char *row(const char *resource, const char *obj_json)
{
    const struct api_resource *res = NULL;
    for (size_t i = 0; i < api_nresources; i++)
        if (strcmp(api_resources[i].resource, resource) == 0)
            res = &api_resources[i];
    assert_non_null(res);
    json_t *items = json_pack("[o]", J(obj_json));
    json_t *t = api_table_new(res, items, "5", NULL, true, API_INC_METADATA);
    json_t *r = json_array_get(json_object_get(t, "rows"), 0);
    json_t *cells = json_incref(json_object_get(r, "cells"));
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(r, "object"), "kind")),
                        "PartialObjectMetadata");
    assert_int_equal(json_array_size(json_object_get(t, "columnDefinitions")),
                     res->table->ncols);
    assert_int_equal(json_array_size(cells), res->table->ncols);
    char *s = json_dumps(cells, JSON_COMPACT);
    json_decref(cells);
    json_decref(t);
    json_decref(items);
    return s;
}

/* --- Success ------------------------------------------------------------ */

static void test_human_duration(void **state)
{
    (void)state;
    assert_string_equal(dur(0), "0s");
    assert_string_equal(dur(119), "119s");
    assert_string_equal(dur(125), "2m5s");
    assert_string_equal(dur(600), "10m");
    assert_string_equal(dur(3 * 3600 + 60), "3h1m");
    assert_string_equal(dur(30 * 3600), "30h");
    assert_string_equal(dur(3 * 86400 + 3600), "3d1h");
    assert_string_equal(dur(100 * 86400), "100d");
    assert_string_equal(dur(800 * 86400), "2y70d");
}

static void test_pod_row(void **state)
{
    char *s;
    (void)state;
    s = row("pods",
            "{\"metadata\":{\"name\":\"p\",\"creationTimestamp\":"
            "\"2020-01-01T00:00:00Z\"},\"spec\":{\"nodeName\":\"n1\","
            "\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]},"
            "\"status\":{\"phase\":\"Running\",\"podIP\":\"10.0.0.5\","
            "\"containerStatuses\":[{\"name\":\"a\",\"ready\":true,"
            "\"restartCount\":2,\"state\":{\"running\":{}}},{\"name\":\"b\","
            "\"ready\":false,\"restartCount\":1,\"state\":{\"waiting\":"
            "{\"reason\":\"CrashLoopBackOff\"}}}]}}");
    /* age is computed from now: check the cells around it */
    assert_non_null(strstr(s, "[\"p\",\"1/2\",\"CrashLoopBackOff\",\"3\","));
    assert_non_null(strstr(s, "\"10.0.0.5\",\"n1\",\"<none>\",\"<none>\"]"));
    free(s);
    s = row("pods", "{\"metadata\":{\"name\":\"q\",\"deletionTimestamp\":"
                    "\"2020-01-01T00:00:00Z\"},\"spec\":{\"containers\":[{}]},"
                    "\"status\":{\"phase\":\"Running\"}}");
    assert_non_null(strstr(s, "\"Terminating\""));
    free(s);
}

static void test_node_and_deployment_rows(void **state)
{
    char *s;
    (void)state;
    s = row("nodes",
            "{\"metadata\":{\"name\":\"n1\",\"labels\":{\"node-role."
            "kubernetes.io/control-plane\":\"\"}},\"spec\":{\"unschedulable\":"
            "true},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
            "\"True\"}],\"addresses\":[{\"type\":\"InternalIP\",\"address\":"
            "\"127.0.0.1\"}],\"nodeInfo\":{\"kubeletVersion\":\"v1.32.4\"}}}");
    assert_non_null(
        strstr(s, "[\"n1\",\"Ready,SchedulingDisabled\",\"control-plane\","));
    assert_non_null(strstr(s, "\"v1.32.4\",\"127.0.0.1\",\"<none>\""));
    free(s);
    s = row("deployments",
            "{\"metadata\":{\"name\":\"web\"},\"spec\":{\"replicas\":3,"
            "\"selector\":{\"matchLabels\":{\"app\":\"web\"},"
            "\"matchExpressions\":[{\"key\":\"t\",\"operator\":\"In\","
            "\"values\":[\"a\",\"b\"]}]},\"template\":{\"spec\":"
            "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}},"
            "\"status\":{\"readyReplicas\":2,\"updatedReplicas\":3,"
            "\"availableReplicas\":2}}");
    assert_non_null(strstr(s, "[\"web\",\"2/3\",3,2,"));
    assert_non_null(strstr(s, "\"c\",\"nginx\",\"app=web,t in (a,b)\"]"));
    free(s);
}

static void test_accept_pick(void **state)
{
    (void)state;
    assert_int_equal(api_accept_pick(NULL, true, true), 0);
    assert_int_equal(api_accept_pick("application/json", true, true), 0);
    assert_int_equal(
        api_accept_pick("application/json;as=Table;v=v1;g=meta.k8s.io,"
                        "application/json",
                        true, false),
        1);
    assert_int_equal(
        api_accept_pick("application/json;as=Table;v=v1;g=meta.k8s.io", false,
                        false),
        0);
    assert_int_equal(
        api_accept_pick("application/json;g=apidiscovery.k8s.io;v=v2;as="
                        "APIGroupDiscoveryList,application/json",
                        false, true),
        2);
    assert_int_equal(
        api_accept_pick("application/json;g=apidiscovery.k8s.io;v=v2beta1;"
                        "as=APIGroupDiscoveryList",
                        false, true),
        3);
    assert_int_equal(api_accept_pick("*/*", true, true), 0);
}

/* --- Failure ------------------------------------------------------------ */

static void test_json_depth_and_garbage(void **state)
{
    char err[256];
    json_t *v = NULL;
    char deep[400];
    (void)state;

    memset(deep, '[', 200);
    memset(deep + 200, ']', 200);
    assert_int_equal(api_json_decode(deep, sizeof deep, &v, err, sizeof err),
                     K1S_EBADREQ);
    assert_null(v);
    assert_non_null(strstr(err, "nested"));
    /* brackets inside strings do not count */
    char ok[300];
    ok[0] = '"';
    memset(ok + 1, '[', 297);
    ok[298] = '"';
    ok[299] = '\0';
    assert_int_equal(api_json_decode(ok, strlen(ok), &v, err, sizeof err), 0);
    json_decref(v);
    assert_int_equal(api_json_decode("{\"a\":", 5, &v, err, sizeof err),
                     K1S_EBADREQ);
    assert_int_equal(api_json_decode(NULL, 0, &v, err, sizeof err),
                     K1S_EBADREQ);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_human_duration),
        cmocka_unit_test(test_pod_row),
        cmocka_unit_test(test_node_and_deployment_rows),
        cmocka_unit_test(test_accept_pick),
        cmocka_unit_test(test_json_depth_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

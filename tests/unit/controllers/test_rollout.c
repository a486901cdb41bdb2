/* Unit tests for the rollout and replica arithmetic (controllers/
 * rollout.c) and the object helpers (controllers/objutil.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "controllers/ctrl_int.h"
#include "lib/clock.h"
#include "lib/err.h"

/* --- Helpers ------------------------------------------------------------ */

static json_t *J(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (v == NULL)
        fail_msg("bad test json: %s: %s", e.text, s);
    return v;
}

static void fence(const char *surge, const char *unavail, int64_t desired,
                  int64_t want_surge, int64_t want_unavail)
{
    json_t *s = surge ? J(surge) : NULL, *u = unavail ? J(unavail) : NULL;
    int64_t gs, gu;
    ctrl_resolve_fenceposts(s, u, desired, &gs, &gu);
    assert_int_equal(gs, want_surge);
    assert_int_equal(gu, want_unavail);
    json_decref(s);
    json_decref(u);
}

/* --- Success ------------------------------------------------------------ */

static void fenceposts_round_like_kubernetes(void **state)
{
    (void)state;
    fence(NULL, NULL, 10, 3, 2); /* 25%: surge up 2.5->3, unavail down */
    fence(NULL, NULL, 1, 1, 0);
    fence("\"50%\"", "\"50%\"", 3, 2, 1);
    fence("0", "0", 5, 0, 1); /* both zero: unavailable 1 */
    fence("2", "0", 5, 2, 0);
    fence("\"0%\"", "\"10%\"", 5, 0, 1); /* 0.5 down = 0 -> 1 */
    fence("\"100%\"", "\"100%\"", 4, 4, 4);
}

static void scaled_value_rejects_bad_strings(void **state)
{
    json_t *v = J("\"abc\"");
    int64_t r;
    (void)state;
    assert_int_equal(ctrl_scaled_value(v, 10, true, 0, &r), K1S_EINVALID);
    json_decref(v);
    v = J("\"5\"");
    assert_int_equal(ctrl_scaled_value(v, 10, true, 0, &r), K1S_EINVALID);
    json_decref(v);
    v = J("\"-5%\"");
    assert_int_equal(ctrl_scaled_value(v, 10, true, 0, &r), K1S_EINVALID);
    json_decref(v);
}

static void new_replicas_respect_surge(void **state)
{
    (void)state;
    /* 10 desired, surge 3, old 10, new 0: new may go to 3 */
    assert_int_equal(ctrl_rolling_new_replicas(10, 3, 10, 0), 3);
    /* at the cap already */
    assert_int_equal(ctrl_rolling_new_replicas(10, 3, 13, 3), 3);
    /* never beyond desired */
    assert_int_equal(ctrl_rolling_new_replicas(10, 3, 9, 9), 10);
    /* maxSurge 0: only after old went down */
    assert_int_equal(ctrl_rolling_new_replicas(3, 0, 3, 0), 0);
    assert_int_equal(ctrl_rolling_new_replicas(3, 0, 2, 0), 1);
}

static void template_hash_is_stable_and_safe(void **state)
{
    json_t *t = J("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"
                  "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}");
    json_t *t2 = J("{\"spec\":{\"containers\":[{\"image\":\"nginx\",\"name\":"
                   "\"c\"}]},\"metadata\":{\"labels\":{\"app\":\"web\"}}}");
    json_t *t3 = J("{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"
                   "{\"containers\":[{\"name\":\"c\",\"image\":\"nginx:2\"}]"
                   "}}");
    char a[16], b[16], c[16], d[16];
    (void)state;
    ctrl_template_hash(t, 0, a, sizeof a);
    ctrl_template_hash(t2, 0, b, sizeof b);
    ctrl_template_hash(t3, 0, c, sizeof c);
    ctrl_template_hash(t, 1, d, sizeof d);
    assert_string_equal(a, b); /* key order does not matter */
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d); /* collisionCount changes it */
    assert_true(strlen(a) >= 1 && strlen(a) <= 10);
    for (const char *p = a; *p; p++)
        assert_non_null(strchr("bcdfghjklmnpqrstvwxz2456789", *p));
    json_decref(t);
    json_decref(t2);
    json_decref(t3);
}

static void templates_equal_ignores_hash_label(void **state)
{
    json_t *a = J("{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"spec\":{}}");
    json_t *b = J("{\"metadata\":{\"labels\":{\"app\":\"w\","
                  "\"pod-template-hash\":\"abc\"}},\"spec\":{}}");
    json_t *c = J("{\"metadata\":{\"labels\":{\"app\":\"x\"}},\"spec\":{}}");
    json_t *d = J("{\"metadata\":{\"creationTimestamp\":null,\"labels\":"
                  "{\"app\":\"w\"}},\"spec\":{}}");
    char ha[16], hd[16];
    (void)state;
    assert_true(ctrl_templates_equal(a, b));
    assert_false(ctrl_templates_equal(a, c));
    /* kubectl rollout undo sends creationTimestamp: null in the template */
    assert_true(ctrl_templates_equal(a, d));
    ctrl_template_hash(a, 0, ha, sizeof ha);
    ctrl_template_hash(d, 0, hd, sizeof hd);
    assert_string_equal(ha, hd);
    json_decref(d);
    json_decref(a);
    json_decref(b);
    json_decref(c);
}

static void proportional_scaling_up_mid_rollout(void **state)
{
    /* upstream's example: 10 replicas (surge 3), old=8 new=5 (=13). Scale
     * to 15, surge 4 (25% of 15 rounded up): allowed 19, add 6. */
    struct ctrl_rs_size rs[2] = {
        {.replicas = 8, .created_ns = 1, .annotated_max = 13},
        {.replicas = 5, .created_ns = 2, .annotated_max = 13},
    };
    (void)state;
    ctrl_proportional_scale(rs, 2, 15, 4, 13);
    /* 8*19/13 = 11.69 -> 12 (+4); 5*19/13 = 7.3 -> 7 (+2) */
    assert_int_equal(rs[0].new_size, 12);
    assert_int_equal(rs[1].new_size, 7);
    assert_int_equal(rs[0].new_size + rs[1].new_size, 19);
}

static void proportional_scaling_down_gives_leftover_to_largest(void **state)
{
    struct ctrl_rs_size rs[3] = {
        {.replicas = 3, .created_ns = 1, .annotated_max = 13},
        {.replicas = 5, .created_ns = 2, .annotated_max = 13},
        {.replicas = 5, .created_ns = 3, .annotated_max = 13},
    };
    (void)state;
    /* to 4 replicas, surge 1: allowed 5, remove 8 */
    ctrl_proportional_scale(rs, 3, 4, 1, 13);
    assert_int_equal(rs[0].new_size + rs[1].new_size + rs[2].new_size, 5);
    for (int i = 0; i < 3; i++)
        assert_true(rs[i].new_size >= 0);
    /* to zero: all go */
    for (int i = 0; i < 3; i++)
        rs[i].replicas = rs[i].new_size;
    ctrl_proportional_scale(rs, 3, 0, 0, 5);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rs[i].new_size, 0);
}

static json_t *pod(const char *name, const char *node, const char *phase,
                   bool ready, const char *created, const char *ready_at,
                   int restarts)
{
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"name\":\"%s\",\"creationTimestamp\":\"%s\"},"
             "\"spec\":{\"nodeName\":\"%s\"},\"status\":{\"phase\":\"%s\","
             "\"conditions\":[{\"type\":\"Ready\",\"status\":\"%s\","
             "\"lastTransitionTime\":\"%s\"}],\"containerStatuses\":[{"
             "\"restartCount\":%d}]}}",
             name, created, node, phase, ready ? "True" : "False", ready_at,
             restarts);
    return J(buf);
}

static const char *name_at(json_t *a, size_t i)
{
    return ctrl_jstr(json_array_get(a, i), "metadata.name");
}

static void deletion_order_follows_active_pods_ranking(void **state)
{
    json_t *a = json_array();
    (void)state;
    json_array_append_new(a, pod("ready-old", "n1", "Running", true,
                                 "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z",
                                 0));
    json_array_append_new(a, pod("unscheduled", "", "Pending", false,
                                 "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
                                 0));
    json_array_append_new(a, pod("pending", "n2", "Pending", false,
                                 "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
                                 0));
    json_array_append_new(a, pod("notready", "n3", "Running", false,
                                 "2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z",
                                 0));
    json_array_append_new(a, pod("ready-new", "n4", "Running", true,
                                 "2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z",
                                 0));
    ctrl_sort_pods_for_deletion(a);
    assert_string_equal(name_at(a, 0), "unscheduled");
    assert_string_equal(name_at(a, 1), "pending");
    assert_string_equal(name_at(a, 2), "notready");
    /* ready-old shares n1 with nobody; ready-new neither: ready more
     * recently goes first */
    assert_string_equal(name_at(a, 3), "ready-new");
    assert_string_equal(name_at(a, 4), "ready-old");
    json_decref(a);
}

static void deletion_prefers_doubled_up_then_restarts_then_newer(void **state)
{
    json_t *a = json_array();
    const char *t = "2026-01-01T00:00:00Z";
    (void)state;
    json_array_append_new(a, pod("alone", "n1", "Running", true, t, t, 0));
    json_array_append_new(a, pod("dup1", "n2", "Running", true, t, t, 0));
    json_array_append_new(a, pod("dup2", "n2", "Running", true, t, t, 0));
    ctrl_sort_pods_for_deletion(a);
    assert_string_equal(name_at(a, 2), "alone");
    json_decref(a);
    a = json_array();
    json_array_append_new(a, pod("calm", "n1", "Running", true, t, t, 0));
    json_array_append_new(a, pod("crashy", "n2", "Running", true, t, t, 7));
    ctrl_sort_pods_for_deletion(a);
    assert_string_equal(name_at(a, 0), "crashy");
    json_decref(a);
    a = json_array();
    json_array_append_new(
        a, pod("older", "n1", "Running", true, "2026-01-01T00:00:00Z", t, 0));
    json_array_append_new(
        a, pod("newer", "n2", "Running", true, "2026-01-02T00:00:00Z", t, 0));
    ctrl_sort_pods_for_deletion(a);
    assert_string_equal(name_at(a, 0), "newer");
    json_decref(a);
}

static void slow_start_doubles(void **state)
{
    (void)state;
    assert_int_equal(ctrl_slow_start_batch(0, 10), 1);
    assert_int_equal(ctrl_slow_start_batch(1, 9), 2);
    assert_int_equal(ctrl_slow_start_batch(3, 7), 4);
    assert_int_equal(ctrl_slow_start_batch(7, 3), 3); /* capped */
}

static void rs_status_counts_and_min_ready(void **state)
{
    json_t *rs = J("{\"metadata\":{\"generation\":4},\"spec\":{"
                   "\"minReadySeconds\":30,\"template\":{\"metadata\":{"
                   "\"labels\":{\"app\":\"w\",\"tier\":\"f\"}}}}}");
    json_t *pods = json_array(), *st;
    char now_s[32], old_s[32];
    int64_t now = clock_real_ns(), recheck = 0;
    char buf[512];
    (void)state;
    clock_rfc3339(now - 10 * 1000000000LL, now_s, sizeof now_s);
    clock_rfc3339(now - 100 * 1000000000LL, old_s, sizeof old_s);
    /* ready long ago, fully labelled */
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"labels\":{\"app\":\"w\",\"tier\":\"f\"}},"
             "\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":"
             "\"True\",\"lastTransitionTime\":\"%s\"}]}}",
             old_s);
    json_array_append_new(pods, J(buf));
    /* ready 10 s ago: not available yet; missing a label */
    snprintf(buf, sizeof buf,
             "{\"metadata\":{\"labels\":{\"app\":\"w\"}},\"status\":{"
             "\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\","
             "\"lastTransitionTime\":\"%s\"}]}}",
             now_s);
    json_array_append_new(pods, J(buf));
    json_array_append_new(pods, J("{\"metadata\":{\"labels\":{\"app\":"
                                  "\"w\",\"tier\":\"f\"}}}"));
    st = ctrl_rs_status(rs, pods, now, &recheck);
    assert_int_equal(json_integer_value(json_object_get(st, "replicas")), 3);
    assert_int_equal(
        json_integer_value(json_object_get(st, "fullyLabeledReplicas")), 2);
    assert_int_equal(json_integer_value(json_object_get(st, "readyReplicas")),
                     2);
    assert_int_equal(
        json_integer_value(json_object_get(st, "availableReplicas")), 1);
    assert_int_equal(
        json_integer_value(json_object_get(st, "observedGeneration")), 4);
    /* about 20 s until the second becomes available */
    assert_true(recheck > 15 * 1000000000LL && recheck <= 21 * 1000000000LL);
    json_decref(st);
    json_decref(rs);
    json_decref(pods);
}

static void selector_match_expressions(void **state)
{
    json_t *sel = J("{\"matchLabels\":{\"app\":\"w\"},\"matchExpressions\":["
                    "{\"key\":\"tier\",\"operator\":\"In\",\"values\":[\"a\","
                    "\"b\"]},{\"key\":\"x\",\"operator\":\"DoesNotExist\"}]}");
    json_t *yes = J("{\"app\":\"w\",\"tier\":\"b\"}");
    json_t *no1 = J("{\"app\":\"w\",\"tier\":\"c\"}");
    json_t *no2 = J("{\"app\":\"w\",\"tier\":\"a\",\"x\":\"1\"}");
    json_t *empty = J("{}");
    (void)state;
    assert_true(ctrl_selector_matches(sel, yes));
    assert_false(ctrl_selector_matches(sel, no1));
    assert_false(ctrl_selector_matches(sel, no2));
    assert_true(ctrl_selector_matches(empty, yes)); /* empty: everything */
    assert_false(ctrl_selector_matches(NULL, yes)); /* nil: nothing */
    json_decref(sel);
    json_decref(yes);
    json_decref(no1);
    json_decref(no2);
    json_decref(empty);
}

static void conditions_keep_transition_time(void **state)
{
    json_t *o = J("{}");
    const json_t *c;
    char *t1;
    (void)state;
    assert_true(ctrl_set_condition(o, "Available", "True", "R", "m", true));
    c = ctrl_get_condition(o, "Available");
    t1 = strdup(json_string_value(json_object_get(c, "lastTransitionTime")));
    assert_false(ctrl_set_condition(o, "Available", "True", "R", "m", true));
    assert_true(ctrl_set_condition(o, "Available", "True", "R2", "m", true));
    c = ctrl_get_condition(o, "Available");
    assert_string_equal(
        json_string_value(json_object_get(c, "lastTransitionTime")), t1);
    assert_string_equal(json_string_value(json_object_get(c, "reason")), "R2");
    free(t1);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fenceposts_round_like_kubernetes),
        cmocka_unit_test(scaled_value_rejects_bad_strings),
        cmocka_unit_test(new_replicas_respect_surge),
        cmocka_unit_test(template_hash_is_stable_and_safe),
        cmocka_unit_test(templates_equal_ignores_hash_label),
        cmocka_unit_test(proportional_scaling_up_mid_rollout),
        cmocka_unit_test(proportional_scaling_down_gives_leftover_to_largest),
        cmocka_unit_test(deletion_order_follows_active_pods_ranking),
        cmocka_unit_test(deletion_prefers_doubled_up_then_restarts_then_newer),
        cmocka_unit_test(slow_start_doubles),
        cmocka_unit_test(rs_status_counts_and_min_ready),
        cmocka_unit_test(selector_match_expressions),
        cmocka_unit_test(conditions_keep_transition_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for apiserver/selector.c: label selector syntax, validation,
 * matching and canonical form; metav1.LabelSelector; field selectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "apiserver/selector.h"
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

/* Parses sel, checks its canonical string, and that it matches exactly the
 * label sets in `yes` and none in `no` (NULL-terminated JSON strings). */
static void ls_check(const char *sel, const char *canon, const char *const *yes,
                     const char *const *no)
{
    struct api_label_selector *s = NULL;
    char err[512] = "";
    char *str;
    int rv = api_label_selector_parse(sel, &s, err, sizeof err);

    if (rv != 0)
        fail_msg("parse '%s': %d %s", sel, rv, err);
    str = api_label_selector_string(s);
    assert_non_null(str);
    if (strcmp(str, canon) != 0)
        fail_msg("'%s' prints as '%s', want '%s'", sel, str, canon);
    free(str);
    for (size_t i = 0; yes && yes[i]; i++) {
        json_t *l = J(yes[i]);
        if (!api_label_selector_matches(s, l))
            fail_msg("'%s' should match %s", sel, yes[i]);
        json_decref(l);
    }
    for (size_t i = 0; no && no[i]; i++) {
        json_t *l = J(no[i]);
        if (api_label_selector_matches(s, l))
            fail_msg("'%s' should not match %s", sel, no[i]);
        json_decref(l);
    }
    api_label_selector_free(s);
}

static void ls_bad(const char *sel, const char *want_msg)
{
    struct api_label_selector *s = NULL;
    char err[1024] = "";
    int rv = api_label_selector_parse(sel, &s, err, sizeof err);

    if (rv != K1S_EBADREQ)
        fail_msg("parse '%s' gave %d, want K1S_EBADREQ", sel, rv);
    assert_null(s);
    if (strstr(err, want_msg) == NULL)
        fail_msg("'%s': message '%s' lacks '%s'", sel, err, want_msg);
}

#define L(...) ((const char *const[]){__VA_ARGS__, NULL})

/* --- Success: label selectors ------------------------------------------- */

static void label_equality(void **state)
{
    (void)state;
    ls_check("app=web", "app=web",
             L("{\"app\":\"web\"}", "{\"app\":\"web\",\"x\":\"y\"}"),
             L("{}", "{\"app\":\"db\"}", "{\"App\":\"web\"}"));
    ls_check("app==web", "app==web", L("{\"app\":\"web\"}"),
             L("{\"app\":\"webx\"}"));
    ls_check("app!=web", "app!=web", L("{}", "{\"app\":\"db\"}"),
             L("{\"app\":\"web\"}"));
    ls_check(" app = web , tier=fe ", "app=web,tier=fe",
             L("{\"app\":\"web\",\"tier\":\"fe\"}"),
             L("{\"app\":\"web\"}", "{\"tier\":\"fe\"}"));
    ls_check("app=", "app=", L("{\"app\":\"\"}"), L("{}", "{\"app\":\"a\"}"));
    /* a keyword is a plain value after an operator */
    ls_check("op=in", "op=in", L("{\"op\":\"in\"}"), L("{}"));
}

static void label_sets(void **state)
{
    (void)state;
    ls_check("env in (prod, dev)", "env in (dev,prod)",
             L("{\"env\":\"prod\"}", "{\"env\":\"dev\"}"),
             L("{}", "{\"env\":\"qa\"}"));
    ls_check("env notin (prod,dev)", "env notin (dev,prod)",
             L("{}", "{\"env\":\"qa\"}"), L("{\"env\":\"prod\"}"));
    ls_check("env in (a,)", "env in (,a)",
             L("{\"env\":\"a\"}", "{\"env\":\"\"}"), L("{\"env\":\"b\"}"));
    ls_check("env in (b,a,b)", "env in (a,b)", L("{\"env\":\"b\"}"), NULL);
    ls_check("env in ()", "env in ()", L("{\"env\":\"\"}"),
             L("{\"env\":\"a\"}"));
}

static void label_existence(void **state)
{
    (void)state;
    ls_check("gpu", "gpu", L("{\"gpu\":\"\"}", "{\"gpu\":\"x\"}"), L("{}"));
    ls_check("!gpu", "!gpu", L("{}", "{\"a\":\"b\"}"), L("{\"gpu\":\"1\"}"));
    ls_check("!gpu,app", "app,!gpu", L("{\"app\":\"1\"}"),
             L("{\"app\":\"1\",\"gpu\":\"1\"}"));
    ls_check("", "", L("{}", "{\"a\":\"b\"}"), NULL);
    ls_check("x>5,y<3", "x>5,y<3", L("{\"x\":\"6\",\"y\":\"2\"}"),
             L("{\"x\":\"5\",\"y\":\"2\"}", "{\"y\":\"2\"}",
               "{\"x\":\"a\",\"y\":\"2\"}"));
}

static void label_sorting_and_prefixes(void **state)
{
    (void)state;
    ls_check("z=1,a.io/b in (x),m", "a.io/b in (x),m,z=1",
             L("{\"z\":\"1\",\"m\":\"\",\"a.io/b\":\"x\"}"),
             L("{\"z\":\"1\",\"m\":\"\"}"));
    ls_check("app.kubernetes.io/name=web", "app.kubernetes.io/name=web",
             L("{\"app.kubernetes.io/name\":\"web\"}"), NULL);
}

static void label_matches_null_labels(void **state)
{
    struct api_label_selector *s;
    (void)state;
    assert_int_equal(api_label_selector_parse("!a", &s, NULL, 0), 0);
    assert_true(api_label_selector_matches(s, NULL));
    assert_false(api_label_selector_is_empty(s));
    api_label_selector_free(s);
    assert_int_equal(api_label_selector_parse("a", &s, NULL, 0), 0);
    assert_false(api_label_selector_matches(s, NULL));
    api_label_selector_free(s);
    assert_int_equal(api_label_selector_parse("  ", &s, NULL, 0), 0);
    assert_true(api_label_selector_is_empty(s));
    api_label_selector_free(s);
}

/* --- Failure: label selectors ------------------------------------------- */

static void label_syntax_errors(void **state)
{
    (void)state;
    ls_bad("a b", "found 'b', expected: '=', '!=', '==', 'in', 'notin'");
    ls_bad("a=b c", "found 'c', expected: ',' or 'end of string'");
    ls_bad("a=b,", "found '', expected: identifier after ','");
    ls_bad(",a", "found ',', expected: !, identifier, or 'end of string'");
    ls_bad("a in b", "found 'b', expected: '('");
    ls_bad("a in (b", "found '', expected: ',' or ')'");
    ls_bad("a in (b c)", "found 'c', expected: ',' or ')'");
    ls_bad("a=(b)", "found '(', expected: identifier");
    ls_bad("!", "found '', expected: identifier");
    ls_bad("a!b", "found '!', expected:");
}

static void label_validation_errors(void **state)
{
    char long_value[128];
    (void)state;
    ls_bad("a=b c", "found 'c'");
    ls_bad("a=x!y", "found '!'");
    ls_bad("a=-x", "unable to parse requirement: values[0][a]: Invalid "
                   "value: \"-x\": a valid label must be an empty string or "
                   "consist of alphanumeric characters");
    ls_bad("-a=x", "unable to parse requirement: key: Invalid value: "
                   "\"-a\": name part must consist of alphanumeric");
    ls_bad("A.io/a=x", "prefix part a lowercase RFC 1123 subdomain");
    ls_bad("/a=x", "prefix part must be non-empty");
    ls_bad("a/=x", "name part must be non-empty");
    ls_bad("a/b/c=x", "a qualified name must consist of");
    ls_bad("x>a", "for 'Gt', 'Lt' operators, the value must be an integer");
    memset(long_value, 'v', 64);
    strcpy(long_value + 64, "");
    {
        char sel[200];
        snprintf(sel, sizeof sel, "a=%s", long_value);
        ls_bad(sel, "must be no more than 63 characters");
        snprintf(sel, sizeof sel, "%s=a", long_value);
        ls_bad(sel, "name part must be no more than 63 characters");
    }
}

/* --- metav1.LabelSelector ----------------------------------------------- */

static void label_from_json(void **state)
{
    struct api_label_selector *s = NULL;
    json_t *ls = J("{\"matchLabels\":{\"app\":\"web\"},\"matchExpressions\":"
                   "[{\"key\":\"tier\",\"operator\":\"In\",\"values\":"
                   "[\"fe\",\"be\"]},{\"key\":\"gpu\",\"operator\":"
                   "\"DoesNotExist\"},{\"key\":\"zone\",\"operator\":"
                   "\"Exists\"},{\"key\":\"env\",\"operator\":\"NotIn\","
                   "\"values\":[\"qa\"]}]}");
    json_t *yes = J("{\"app\":\"web\",\"tier\":\"fe\",\"zone\":\"a\"}");
    json_t *no1 = J("{\"app\":\"web\",\"tier\":\"fe\",\"zone\":\"a\","
                    "\"gpu\":\"1\"}");
    json_t *no2 = J("{\"app\":\"web\",\"tier\":\"fe\",\"zone\":\"a\","
                    "\"env\":\"qa\"}");
    char *str;
    char err[512];
    (void)state;

    assert_int_equal(api_label_selector_from_json(ls, &s, err, sizeof err), 0);
    str = api_label_selector_string(s);
    assert_string_equal(str, "app=web,env notin (qa),!gpu,tier in (be,fe),"
                             "zone");
    free(str);
    assert_true(api_label_selector_matches(s, yes));
    assert_false(api_label_selector_matches(s, no1));
    assert_false(api_label_selector_matches(s, no2));
    api_label_selector_free(s);

    /* {} selects everything, null selects nothing */
    json_t *empty = J("{}");
    assert_int_equal(api_label_selector_from_json(empty, &s, NULL, 0), 0);
    assert_true(api_label_selector_is_empty(s));
    assert_true(api_label_selector_matches(s, yes));
    api_label_selector_free(s);
    assert_int_equal(api_label_selector_from_json(NULL, &s, NULL, 0), 0);
    assert_false(api_label_selector_is_empty(s));
    assert_false(api_label_selector_matches(s, yes));
    api_label_selector_free(s);

    json_decref(ls);
    json_decref(yes);
    json_decref(no1);
    json_decref(no2);
    json_decref(empty);
}

static void label_from_json_errors(void **state)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Like\"}]}",
         "\"Like\" is not a valid label selector operator"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\"}]}",
         "values set can't be empty"},
        {"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Exists\","
         "\"values\":[\"x\"]}]}",
         "values set must be empty"},
        {"{\"matchLabels\":{\"a\":\"b c\"}}", "a valid label must be"},
        {"{\"matchLabels\":{\"a\":1}}", "must be a string"},
        {"{\"matchLabels\":[]}", "matchLabels must be an object"},
        {"{\"matchExpressions\":[{\"operator\":\"In\"}]}",
         "key and operator are required"},
        {"[]", "must be an object"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct api_label_selector *s = NULL;
        char err[1024] = "";
        json_t *j = J(cases[i].json);
        int rv = api_label_selector_from_json(j, &s, err, sizeof err);
        if (rv != K1S_EINVALID || strstr(err, cases[i].msg) == NULL)
            fail_msg("%s: rv %d '%s', want K1S_EINVALID '%s'", cases[i].json,
                     rv, err, cases[i].msg);
        assert_null(s);
        json_decref(j);
    }
}

/* --- Field selectors ----------------------------------------------------- */

static const char *const pod_fields[] = {"metadata.name",
                                         "metadata.namespace",
                                         "spec.nodeName",
                                         "status.phase",
                                         "spec.hostNetwork",
                                         "spec.restartPolicy",
                                         NULL};

static bool fs_match(const char *sel, const char *obj)
{
    struct api_field_selector *s = NULL;
    char err[256] = "";
    json_t *o = J(obj);
    bool m;
    int rv = api_field_selector_parse(sel, pod_fields, &s, err, sizeof err);

    if (rv != 0)
        fail_msg("parse '%s': %d %s", sel, rv, err);
    m = api_field_selector_matches(s, o);
    api_field_selector_free(s);
    json_decref(o);
    return m;
}

static void field_selectors_match(void **state)
{
    const char *pod = "{\"metadata\":{\"name\":\"web-1\",\"namespace\":"
                      "\"default\"},\"spec\":{\"nodeName\":\"n1\","
                      "\"hostNetwork\":true},\"status\":{\"phase\":"
                      "\"Running\"}}";
    (void)state;
    assert_true(fs_match("", pod));
    assert_true(fs_match("metadata.name=web-1", pod));
    assert_true(fs_match("metadata.name==web-1", pod));
    assert_false(fs_match("metadata.name=web-2", pod));
    assert_true(fs_match("metadata.name!=web-2", pod));
    assert_true(fs_match("spec.nodeName=n1,status.phase=Running", pod));
    assert_false(fs_match("spec.nodeName=n1,status.phase!=Running", pod));
    assert_true(fs_match("spec.hostNetwork=true", pod));
    /* absent fields compare as "" (kubectl get pods --field-selector
     * spec.nodeName= lists unscheduled pods) */
    assert_true(fs_match("spec.restartPolicy=", pod));
    assert_false(fs_match("spec.nodeName=", pod));
    assert_true(fs_match("spec.nodeName!=", pod));
    /* escaped comma and equals inside a value */
    assert_true(fs_match("metadata.name=a\\,b\\=c\\\\",
                         "{\"metadata\":{\"name\":\"a,b=c\\\\\"}}"));
}

static void field_selector_name(void **state)
{
    struct api_field_selector *s;
    (void)state;
    assert_int_equal(
        api_field_selector_parse("metadata.namespace=x,metadata.name=web",
                                 pod_fields, &s, NULL, 0),
        0);
    assert_string_equal(api_field_selector_name(s), "web");
    api_field_selector_free(s);
    assert_int_equal(
        api_field_selector_parse("metadata.name!=web", pod_fields, &s, NULL, 0),
        0);
    assert_null(api_field_selector_name(s));
    api_field_selector_free(s);
    /* any field allowed when the list is NULL (events: involvedObject.*) */
    assert_int_equal(api_field_selector_parse("involvedObject.kind=Pod,"
                                              "involvedObject.name=p",
                                              NULL, &s, NULL, 0),
                     0);
    json_t *ev = J("{\"involvedObject\":{\"kind\":\"Pod\",\"name\":\"p\"}}");
    assert_true(api_field_selector_matches(s, ev));
    json_decref(ev);
    api_field_selector_free(s);
}

static void field_selector_errors(void **state)
{
    static const struct {
        const char *sel, *msg;
    } cases[] = {
        {"spec.foo=x", "field label not supported: spec.foo"},
        {"metadata.name", "invalid selector: 'metadata.name'; can't "
                          "understand 'metadata.name'"},
        {"metadata.name=a=b",
         "invalid field selector: unescaped character in value: ="},
        {"metadata.name=a\\x", "invalid escape sequence: \\x"},
        {"metadata.name=a\\", "invalid escape sequence: \\"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct api_field_selector *s = NULL;
        char err[256] = "";
        int rv = api_field_selector_parse(cases[i].sel, pod_fields, &s, err,
                                          sizeof err);
        if (rv != K1S_EBADREQ || strstr(err, cases[i].msg) == NULL)
            fail_msg("'%s': rv %d '%s', want '%s'", cases[i].sel, rv, err,
                     cases[i].msg);
        assert_null(s);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(label_equality),
        cmocka_unit_test(label_sets),
        cmocka_unit_test(label_existence),
        cmocka_unit_test(label_sorting_and_prefixes),
        cmocka_unit_test(label_matches_null_labels),
        cmocka_unit_test(label_syntax_errors),
        cmocka_unit_test(label_validation_errors),
        cmocka_unit_test(label_from_json),
        cmocka_unit_test(label_from_json_errors),
        cmocka_unit_test(field_selectors_match),
        cmocka_unit_test(field_selector_name),
        cmocka_unit_test(field_selector_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

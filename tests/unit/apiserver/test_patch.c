/* Unit tests for apiserver/patch_merge.c (RFC 7386) and patch_json.c
 * (RFC 6902): the RFC examples, Kubernetes-style uses, and failures. */
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

static void assert_json(const json_t *got, const char *want)
{
    json_t *w = J(want);
    if (!json_equal((json_t *)got, w)) {
        char *g =
            json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fail_msg("got %s, want %s", g, want);
    }
    json_decref(w);
}

static void merge_ok(const char *doc, const char *patch, const char *want)
{
    json_t *d = J(doc), *p = J(patch), *r = NULL;
    char err[256] = "";
    int rv = api_merge_patch(d, p, &r, err, sizeof err);
    if (rv != 0)
        fail_msg("merge %s + %s: %d %s", doc, patch, rv, err);
    assert_json(r, want);
    json_decref(d);
    json_decref(p);
    json_decref(r);
}

static void jp_ok(const char *doc, const char *ops, const char *want)
{
    json_t *d = J(doc), *p = J(ops), *r = NULL;
    char *before = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    char *after;
    char err[256] = "";
    int rv = api_json_patch(d, p, &r, err, sizeof err);
    if (rv != 0)
        fail_msg("json patch %s on %s: %d %s", ops, doc, rv, err);
    assert_json(r, want);
    after = json_dumps(d, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(before, after); /* input untouched */
    free(before);
    free(after);
    json_decref(d);
    json_decref(p);
    json_decref(r);
}

static void jp_fail(const char *doc, const char *ops, int want_rv,
                    const char *want_msg)
{
    json_t *d = J(doc), *p = J(ops), *r = NULL;
    char err[256] = "";
    int rv = api_json_patch(d, p, &r, err, sizeof err);
    if (rv != want_rv)
        fail_msg("json patch %s on %s: rv %d (%s), want %d", ops, doc, rv, err,
                 want_rv);
    assert_null(r);
    if (want_msg != NULL && strstr(err, want_msg) == NULL)
        fail_msg("message '%s' lacks '%s'", err, want_msg);
    json_decref(d);
    json_decref(p);
}

/* --- Success: merge patch ----------------------------------------------- */

static void merge_rfc7386_appendix_a(void **state)
{
    (void)state;
    merge_ok("{\"a\":\"b\"}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    merge_ok("{\"a\":\"b\"}", "{\"b\":\"c\"}", "{\"a\":\"b\",\"b\":\"c\"}");
    merge_ok("{\"a\":\"b\"}", "{\"a\":null}", "{}");
    merge_ok("{\"a\":\"b\",\"b\":\"c\"}", "{\"a\":null}", "{\"b\":\"c\"}");
    merge_ok("{\"a\":[\"b\"]}", "{\"a\":\"c\"}", "{\"a\":\"c\"}");
    merge_ok("{\"a\":\"c\"}", "{\"a\":[\"b\"]}", "{\"a\":[\"b\"]}");
    merge_ok("{\"a\":{\"b\":\"c\"}}", "{\"a\":{\"b\":\"d\",\"c\":null}}",
             "{\"a\":{\"b\":\"d\"}}");
    merge_ok("{\"a\":[{\"b\":\"c\"}]}", "{\"a\":[1]}", "{\"a\":[1]}");
    merge_ok("[\"a\",\"b\"]", "[\"c\",\"d\"]", "[\"c\",\"d\"]");
    merge_ok("{\"a\":\"b\"}", "[\"c\"]", "[\"c\"]");
    merge_ok("{\"a\":\"foo\"}", "null", "null");
    merge_ok("{\"a\":\"foo\"}", "\"bar\"", "\"bar\"");
    merge_ok("{\"e\":null}", "{\"a\":1}", "{\"e\":null,\"a\":1}");
    merge_ok("[1,2]", "{\"a\":\"b\",\"c\":null}", "{\"a\":\"b\"}");
    merge_ok("{}", "{\"a\":{\"bb\":{\"ccc\":null}}}", "{\"a\":{\"bb\":{}}}");
}

static void merge_kubernetes_label_edit(void **state)
{
    (void)state;
    merge_ok("{\"metadata\":{\"name\":\"x\",\"labels\":{\"a\":\"1\","
             "\"b\":\"2\"}},\"spec\":{\"replicas\":1}}",
             "{\"metadata\":{\"labels\":{\"a\":null,\"c\":\"3\"}},"
             "\"spec\":{\"replicas\":3}}",
             "{\"metadata\":{\"name\":\"x\",\"labels\":{\"b\":\"2\","
             "\"c\":\"3\"}},\"spec\":{\"replicas\":3}}");
    /* Lists are replaced whole by a merge patch. */
    merge_ok("{\"spec\":{\"containers\":[{\"name\":\"a\"},{\"name\":\"b\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}",
             "{\"spec\":{\"containers\":[{\"name\":\"c\"}]}}");
}

static void merge_leaves_inputs_untouched(void **state)
{
    json_t *d = J("{\"a\":{\"b\":1}}"), *p = J("{\"a\":{\"b\":null}}"), *r;
    (void)state;
    assert_int_equal(api_merge_patch(d, p, &r, NULL, 0), 0);
    assert_json(d, "{\"a\":{\"b\":1}}");
    assert_json(r, "{\"a\":{}}");
    json_decref(d);
    json_decref(p);
    json_decref(r);
}

/* --- Success: JSON patch ------------------------------------------------ */

static void json_patch_rfc6902_appendix_a(void **state)
{
    (void)state;
    /* A.1 - A.10 */
    jp_ok("{\"foo\":\"bar\"}",
          "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\"}]",
          "{\"baz\":\"qux\",\"foo\":\"bar\"}");
    jp_ok("{\"foo\":[\"bar\",\"baz\"]}",
          "[{\"op\":\"add\",\"path\":\"/foo/1\",\"value\":\"qux\"}]",
          "{\"foo\":[\"bar\",\"qux\",\"baz\"]}");
    jp_ok("{\"baz\":\"qux\",\"foo\":\"bar\"}",
          "[{\"op\":\"remove\",\"path\":\"/baz\"}]", "{\"foo\":\"bar\"}");
    jp_ok("{\"foo\":[\"bar\",\"qux\",\"baz\"]}",
          "[{\"op\":\"remove\",\"path\":\"/foo/1\"}]",
          "{\"foo\":[\"bar\",\"baz\"]}");
    jp_ok("{\"baz\":\"qux\",\"foo\":\"bar\"}",
          "[{\"op\":\"replace\",\"path\":\"/baz\",\"value\":\"boo\"}]",
          "{\"baz\":\"boo\",\"foo\":\"bar\"}");
    jp_ok("{\"foo\":{\"bar\":\"baz\",\"waldo\":\"fred\"},\"qux\":{\"corge\":"
          "\"grault\"}}",
          "[{\"op\":\"move\",\"from\":\"/foo/waldo\",\"path\":"
          "\"/qux/thud\"}]",
          "{\"foo\":{\"bar\":\"baz\"},\"qux\":{\"corge\":\"grault\","
          "\"thud\":\"fred\"}}");
    jp_ok("{\"foo\":[\"all\",\"grass\",\"cows\",\"eat\"]}",
          "[{\"op\":\"move\",\"from\":\"/foo/1\",\"path\":\"/foo/3\"}]",
          "{\"foo\":[\"all\",\"cows\",\"eat\",\"grass\"]}");
    jp_ok("{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}",
          "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"qux\"},"
          "{\"op\":\"test\",\"path\":\"/foo/1\",\"value\":2}]",
          "{\"baz\":\"qux\",\"foo\":[\"a\",2,\"c\"]}");
    jp_ok("{\"foo\":\"bar\"}",
          "[{\"op\":\"add\",\"path\":\"/child\",\"value\":{\"grandchild\":"
          "{}}}]",
          "{\"foo\":\"bar\",\"child\":{\"grandchild\":{}}}");
    /* A.11 ignores unknown members; A.16 "-" appends */
    jp_ok("{\"foo\":\"bar\"}",
          "[{\"op\":\"add\",\"path\":\"/baz\",\"value\":\"qux\",\"xyz\":1}]",
          "{\"foo\":\"bar\",\"baz\":\"qux\"}");
    jp_ok("{\"foo\":[\"bar\"]}",
          "[{\"op\":\"add\",\"path\":\"/foo/-\",\"value\":[\"abc\",\"def\"]}]",
          "{\"foo\":[\"bar\",[\"abc\",\"def\"]]}");
    /* A.14: ~0 and ~1 escapes */
    jp_ok("{\"/\":9,\"~1\":10}",
          "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":10},"
          "{\"op\":\"replace\",\"path\":\"/~1\",\"value\":1}]",
          "{\"/\":1,\"~1\":10}");
    /* copy, then a deep-equal test of objects in another key order */
    jp_ok("{\"a\":{\"x\":1,\"y\":[1,2]}}",
          "[{\"op\":\"copy\",\"from\":\"/a\",\"path\":\"/b\"},"
          "{\"op\":\"test\",\"path\":\"/b\",\"value\":{\"y\":[1,2],\"x\":1}}]",
          "{\"a\":{\"x\":1,\"y\":[1,2]},\"b\":{\"x\":1,\"y\":[1,2]}}");
}

static void json_patch_kubernetes_uses(void **state)
{
    (void)state;
    /* kubectl patch --type=json on an annotation with a "/" in its key */
    jp_ok("{\"metadata\":{\"annotations\":{\"a.io/b\":\"1\"}}}",
          "[{\"op\":\"replace\",\"path\":\"/metadata/annotations/a.io~1b\","
          "\"value\":\"2\"}]",
          "{\"metadata\":{\"annotations\":{\"a.io/b\":\"2\"}}}");
    /* optimistic concurrency via test on resourceVersion */
    jp_ok(
        "{\"metadata\":{\"resourceVersion\":\"5\"},\"spec\":{\"replicas\":1}}",
        "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\","
        "\"value\":\"5\"},{\"op\":\"replace\",\"path\":\"/spec/replicas\","
        "\"value\":4}]",
        "{\"metadata\":{\"resourceVersion\":\"5\"},\"spec\":{\"replicas\":4}}");
    /* numbers compare by value, as Go's float64 decoding does */
    jp_ok("{\"n\":1}", "[{\"op\":\"test\",\"path\":\"/n\",\"value\":1.0}]",
          "{\"n\":1}");
    /* whole document replaced through the empty pointer */
    jp_ok("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"\",\"value\":[1]}]",
          "[1]");
    jp_ok("{\"a\":1}", "[]", "{\"a\":1}");
    /* add onto an existing member replaces it */
    jp_ok("{\"a\":1}", "[{\"op\":\"add\",\"path\":\"/a\",\"value\":2}]",
          "{\"a\":2}");
    /* add at index == size appends */
    jp_ok("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/1\",\"value\":2}]",
          "{\"a\":[1,2]}");
    /* move to the same place is a no-op */
    jp_ok("{\"a\":1}", "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a\"}]",
          "{\"a\":1}");
}

/* --- Failure ------------------------------------------------------------ */

static void json_patch_failures(void **state)
{
    (void)state;
    /* A.8/A.9/A.15: failed tests */
    jp_fail("{\"baz\":\"qux\"}",
            "[{\"op\":\"test\",\"path\":\"/baz\",\"value\":\"bar\"}]",
            K1S_EINVALID, "testing value /baz failed: test failed");
    jp_fail("{\"/\":9,\"~1\":10}",
            "[{\"op\":\"test\",\"path\":\"/~01\",\"value\":\"10\"}]",
            K1S_EINVALID, "testing value /~01 failed");
    jp_fail("{}", "[{\"op\":\"test\",\"path\":\"/x\",\"value\":null}]",
            K1S_EINVALID, "test failed");
    /* A.12: add to a nonexistent target */
    jp_fail("{\"foo\":\"bar\"}",
            "[{\"op\":\"add\",\"path\":\"/baz/bat\",\"value\":\"qux\"}]",
            K1S_EINVALID,
            "add operation does not apply: doc is missing path: "
            "\"/baz/bat\"");
    jp_fail("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/2\",\"value\":2}]",
            K1S_EINVALID, "invalid index");
    jp_fail("{\"a\":[1]}", "[{\"op\":\"add\",\"path\":\"/a/01\",\"value\":2}]",
            K1S_EINVALID, "invalid index");
    jp_fail("{\"a\":1}", "[{\"op\":\"remove\",\"path\":\"/b\"}]", K1S_EINVALID,
            "remove operation does not apply");
    jp_fail("{\"a\":1}", "[{\"op\":\"replace\",\"path\":\"/b\",\"value\":1}]",
            K1S_EINVALID,
            "replace operation does not apply: doc is missing "
            "key: /b");
    jp_fail("{\"a\":{}}",
            "[{\"op\":\"move\",\"from\":\"/a\",\"path\":\"/a/b\"}]",
            K1S_EINVALID, "ancestor");
    jp_fail("{}", "[{\"op\":\"copy\",\"from\":\"/x\",\"path\":\"/y\"}]",
            K1S_EINVALID, "copy operation does not apply");
    /* malformed patches */
    jp_fail("{}", "{\"op\":\"add\"}", K1S_EBADREQ, "array");
    jp_fail("{}", "[{\"op\":\"frob\",\"path\":\"/a\"}]", K1S_EBADREQ,
            "Unexpected kind: frob");
    jp_fail("{}", "[{\"path\":\"/a\"}]", K1S_EBADREQ, "missing \"op\"");
    jp_fail("{}", "[{\"op\":\"add\",\"path\":\"a\",\"value\":1}]", K1S_EBADREQ,
            "invalid JSON pointer");
    jp_fail("{}", "[{\"op\":\"add\",\"path\":\"/a~2\",\"value\":1}]",
            K1S_EBADREQ, "invalid JSON pointer");
    jp_fail("{}", "[{\"op\":\"add\",\"path\":\"/a\"}]", K1S_EBADREQ,
            "missing \"value\"");
    jp_fail("{}", "[{\"op\":\"move\",\"path\":\"/a\"}]", K1S_EBADREQ,
            "missing \"from\"");
    jp_fail("{}", "[1]", K1S_EBADREQ, "not an object");
    /* atomic: the second op fails, nothing of the first survives */
    jp_fail("{\"a\":1}",
            "[{\"op\":\"remove\",\"path\":\"/a\"},{\"op\":\"remove\","
            "\"path\":\"/a\"}]",
            K1S_EINVALID, "remove");
}

static void json_patch_growth_is_capped(void **state)
{
    /* Each copy of the root under a new key doubles the document: 40 of
     * them would need 2^40 nodes. */
    json_t *ops = json_array(), *d = J("{\"a\":\"0123456789abcdef\"}"), *r;
    json_t *nest = json_array();
    char err[256], op[96];
    (void)state;
    for (int i = 0; i < 40; i++) {
        snprintf(op, sizeof op,
                 "{\"op\":\"copy\",\"from\":\"\",\"path\":\"/k%d\"}", i);
        json_array_append_new(ops, J(op));
    }
    r = NULL;
    assert_int_equal(api_json_patch(d, ops, &r, err, sizeof err), K1S_EINVALID);
    assert_non_null(strstr(err, "too large"));
    assert_null(r);
    /* Copying the root into itself nests one level deeper each time. */
    for (int i = 0; i < 200; i++)
        json_array_append_new(nest, J("{\"op\":\"copy\",\"from\":\"\","
                                      "\"path\":\"/a\"}"));
    assert_int_equal(api_json_patch(d, nest, &r, err, sizeof err),
                     K1S_EINVALID);
    assert_non_null(strstr(err, "deeper"));
    assert_null(r);
    json_decref(nest);
    json_decref(ops);
    json_decref(d);
}

static void deep_nesting_is_refused(void **state)
{
    char *s = malloc(4 * 300 + 16);
    size_t n = 0;
    json_t *deep, *doc = J("{}"), *r = NULL;
    (void)state;
    for (int i = 0; i < 300; i++)
        s[n++] = '[';
    for (int i = 0; i < 300; i++)
        s[n++] = ']';
    s[n] = '\0';
    deep = J(s);
    assert_int_equal(api_merge_patch(doc, deep, &r, NULL, 0), K1S_EBADREQ);
    assert_int_equal(api_merge_patch(deep, doc, &r, NULL, 0), K1S_EBADREQ);
    {
        json_t *noops = J("[]");
        assert_int_equal(api_json_patch(deep, noops, &r, NULL, 0), K1S_EBADREQ);
        json_decref(noops);
    }
    assert_null(r);
    free(s);
    json_decref(deep);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merge_rfc7386_appendix_a),
        cmocka_unit_test(merge_kubernetes_label_edit),
        cmocka_unit_test(merge_leaves_inputs_untouched),
        cmocka_unit_test(json_patch_rfc6902_appendix_a),
        cmocka_unit_test(json_patch_kubernetes_uses),
        cmocka_unit_test(json_patch_failures),
        cmocka_unit_test(json_patch_growth_is_capped),
        cmocka_unit_test(deep_nesting_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

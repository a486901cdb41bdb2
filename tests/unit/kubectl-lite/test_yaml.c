/* Unit tests for kubectl-lite's YAML reader and writer (kubectl-lite/
 * yaml.c): the YAML 1.1 scalar rules Kubernetes manifests rely on, anchors
 * and merge keys, the caps, error messages naming document and line, and
 * the writer's layout and quoting, compared with what kubectl -o yaml
 * (go-yaml v2) prints. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/buf.h"
#include "lib/err.h"

static json_t *parse_ok(const char *text)
{
    json_t *docs = NULL;
    char err[512];
    int rv =
        kctl_yaml_parse(text, strlen(text), "t.yaml", &docs, err, sizeof err);
    if (rv != 0)
        fail_msg("parse failed: %s", err);
    return docs;
}

/* The first document, compared with the JSON text `want`. */
static void check_doc(const char *yaml, const char *want)
{
    json_t *docs = parse_ok(yaml);
    json_t *w = json_loads(want, JSON_DECODE_ANY, NULL);
    assert_non_null(w);
    assert_int_equal(json_array_size(docs), 1);
    if (!json_equal(json_array_get(docs, 0), w)) {
        char *got = json_dumps(json_array_get(docs, 0), JSON_ENCODE_ANY);
        fail_msg("got %s, want %s", got, want);
    }
    json_decref(w);
    json_decref(docs);
}

static void check_error(const char *yaml, const char *needle)
{
    json_t *docs = NULL;
    char err[512];
    assert_int_equal(
        kctl_yaml_parse(yaml, strlen(yaml), "t.yaml", &docs, err, sizeof err),
        K1S_EINVAL);
    assert_null(docs);
    if (strstr(err, needle) == NULL)
        fail_msg("error %s lacks %s", err, needle);
}

static void test_scalars(void **state)
{
    (void)state;
    check_doc("a: yes\nb: \"yes\"\nc: on\nd: Off\ne: y\nf: 'no'\n",
              "{\"a\":true,\"b\":\"yes\",\"c\":true,\"d\":false,\"e\":true,"
              "\"f\":\"no\"}");
    check_doc("a: 0755\nb: 1e3\nc: ~\nd:\ne: null\nf: 0x1F\ng: 1_000\n"
              "h: -12\ni: 0.5\nj: .5\nk: 08\nl: 0o17\n",
              "{\"a\":493,\"b\":1000,\"c\":null,\"d\":null,\"e\":null,"
              "\"f\":31,\"g\":1000,\"h\":-12,\"i\":0.5,\"j\":0.5,\"k\":8,"
              "\"l\":15}");
    /* Strings that only look special. */
    check_doc("a: 2024-01-01\nb: 1.2.3\nc: \"0755\"\nd: v1\ne: 10Mi\n"
              "f: true story\n",
              "{\"a\":\"2024-01-01\",\"b\":\"1.2.3\",\"c\":\"0755\","
              "\"d\":\"v1\",\"e\":\"10Mi\",\"f\":\"true story\"}");
    /* Keys are strings even when they read as something else. */
    check_doc("1: a\ntrue: b\n", "{\"1\":\"a\",\"true\":\"b\"}");
    check_doc("n: 1\n", "{\"false\":1}"); /* go-yaml v2 does the same */
    check_doc("a: !!str 123\nb: !!int \"7\"\n", "{\"a\":\"123\",\"b\":7}");
    check_error("a: .inf\n", "cannot be represented in JSON");
}

static void test_blocks(void **state)
{
    (void)state;
    check_doc("a: |\n  l1\n  l2\nb: >\n  f1\n  f2\n\n  f3\nc: |-\n  x\n"
              "d: >-\n  y\n  z\n",
              "{\"a\":\"l1\\nl2\\n\",\"b\":\"f1 f2\\nf3\\n\",\"c\":\"x\","
              "\"d\":\"y z\"}");
}

static void test_anchors_and_merge(void **state)
{
    (void)state;
    check_doc("base: &b\n  x: 1\n  z: 2\nuse: *b\nm:\n  <<: *b\n  z: 3\n",
              "{\"base\":{\"x\":1,\"z\":2},\"use\":{\"x\":1,\"z\":2},"
              "\"m\":{\"x\":1,\"z\":3}}");
    check_doc("a: &a {p: 1}\nb: &b {p: 2, q: 2}\nc:\n  <<: [*a, *b]\n",
              "{\"a\":{\"p\":1},\"b\":{\"p\":2,\"q\":2},"
              "\"c\":{\"p\":1,\"q\":2}}");
    check_error("a: *nope\n", "unknown anchor");
    /* A billion laughs: ten levels of ten aliases each. */
    {
        struct buf b;
        buf_init(&b);
        buf_append_str(&b, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 10; i++) {
            buf_printf(&b, "l%d: &l%d [", i, i);
            for (int k = 0; k < 10; k++)
                buf_printf(&b, "%s*l%d", k ? ", " : "", i - 1);
            buf_append_str(&b, "]\n");
        }
        check_error(b.data, "alias bomb");
        buf_close(&b);
    }
}

static void test_documents(void **state)
{
    json_t *docs;
    (void)state;
    /* Comments, empty documents, a BOM, CRLF. */
    docs = parse_ok("\xef\xbb\xbf# lead\r\n---\r\na: 1\r\n---\r\n# only a "
                    "comment\r\n---\r\n---\r\nb: |\r\n  x\r\n  y\r\n...\r\n");
    assert_int_equal(json_array_size(docs), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_array_get(docs, 0), "a")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(docs, 1), "b")),
        "x\ny\n");
    json_decref(docs);
    docs = parse_ok("# nothing\n");
    assert_int_equal(json_array_size(docs), 0);
    json_decref(docs);
    /* JSON is YAML. */
    check_doc("{\"a\": [1, \"b\", null, false]}",
              "{\"a\":[1,\"b\",null,false]}");
}

static void test_errors(void **state)
{
    (void)state;
    check_error("a: 1\n---\nb: 1\nc: 2\nb: 3\n",
                "t.yaml (document 2, line 5): found duplicate key \"b\"");
    check_error("a: 1\n---\nx:\n  y: [1\n", "document 2");
    check_error("a: b: c\n", "line 1");
    {
        struct buf b;
        buf_init(&b);
        for (int i = 0; i < KCTL_YAML_MAX_DEPTH + 5; i++)
            buf_append_str(&b, "[");
        check_error(b.data, "nesting deeper than");
        buf_close(&b);
    }
}

static void check_emit(const char *json, const char *want)
{
    json_t *v = json_loads(json, JSON_DECODE_ANY, NULL);
    struct buf out;
    assert_non_null(v);
    buf_init(&out);
    assert_int_equal(kctl_yaml_emit(v, &out), 0);
    assert_string_equal(out.data, want);
    buf_close(&out);
    json_decref(v);
}

static void test_emit(void **state)
{
    (void)state;
    /* Layout as kubectl -o yaml prints it. */
    check_emit("{\"spec\":{\"containers\":[{\"name\":\"a\",\"image\":\"nginx\","
               "\"ports\":[{\"containerPort\":80}]}],\"x\":[[1,2],[]]},"
               "\"apiVersion\":\"v1\",\"m\":{}}",
               "apiVersion: v1\nm: {}\nspec:\n  containers:\n  - image: nginx\n"
               "    name: a\n    ports:\n    - containerPort: 80\n"
               "  x:\n  - - 1\n    - 2\n  - []\n");
    /* Quoting: what would read back as another type is double-quoted;
     * what cannot be plain is single-quoted. */
    check_emit("{\"a\":\"1\",\"b\":\"yes\",\"c\":\"\",\"d\":\"*\","
               "\"e\":\"a: b\",\"f\":\"2026-12-07T12:00:00Z\",\"g\":\"it's\","
               "\"h\":\"tab\\there\",\"i\":null,\"j\":true,\"k\":1.5,"
               "\"l\":\"- x\",\"m\":\"1:20\"}",
               "a: \"1\"\nb: \"yes\"\nc: \"\"\nd: '*'\ne: 'a: b'\n"
               "f: \"2026-12-07T12:00:00Z\"\ng: it's\nh: \"tab\\there\"\n"
               "i: null\nj: true\nk: 1.5\nl: '- x'\nm: \"1:20\"\n");
    /* Multi-line strings are literal blocks with the right chomping. */
    check_emit("{\"a\":\"x\\ny\\n\",\"b\":\"x\\ny\",\"c\":\"x\\n\\n\","
               "\"d\":[\" lead\\n\"]}",
               "a: |\n  x\n  y\nb: |-\n  x\n  y\nc: |+\n  x\n\nd:\n- |2\n"
               "   lead\n");
    /* go-yaml's key order: digits as numbers, letters after others. */
    check_emit("{\"a10\":1,\"a2\":2,\"B\":3,\"_x\":4}",
               "_x: 4\nB: 3\na2: 2\na10: 1\n");
    /* Long plain strings fold at 80 columns, as go-yaml v2 does. */
    check_emit("{\"message\":\"aaaaaaaaa bbbbbbbbb ccccccccc ddddddddd "
               "eeeeeeeee fffffffff ggggggggg hhhhhhhhh iiiiiiiii\"}",
               "message: aaaaaaaaa bbbbbbbbb ccccccccc ddddddddd eeeeeeeee "
               "fffffffff ggggggggg hhhhhhhhh\n  iiiiiiiii\n");
}

/* What the writer writes, the reader reads back unchanged. */
static void test_round_trip(void **state)
{
    static const char *const cases[] = {
        "{\"a\":[\"yes\",\"0755\",\"~\",\"\",\" x \",\"a\\n b \\n\","
        "\"\\u00e9\\u0001\",\"#c\",\"x #y\",\"@\",\"<<\"],\"n\":-0.25}",
        "[[[]],{},{\"k\":{\"l\":[{\"m\":\"v\\n\"}]}}]",
        /* found by the fuzzer: a multi-line scalar as the whole document,
         * and NEL (a line break to YAML) inside a multi-line string */
        "\"-----@ - a\\n- - c\"",
        "{\"a\":[\":\\n\\u0085\"]}",
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *v = json_loads(cases[i], JSON_DECODE_ANY, NULL), *docs;
        struct buf out;
        assert_non_null(v);
        buf_init(&out);
        assert_int_equal(kctl_yaml_emit(v, &out), 0);
        docs = parse_ok(out.data);
        if (!json_equal(json_array_get(docs, 0), v))
            fail_msg("round trip changed %s into:\n%s", cases[i], out.data);
        json_decref(docs);
        json_decref(v);
        buf_close(&out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scalars),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_anchors_and_merge),
        cmocka_unit_test(test_documents),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_emit),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

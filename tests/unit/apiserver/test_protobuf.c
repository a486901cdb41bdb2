/* Unit tests for apiserver/protobuf.c: bodies as kubectl create, auth
 * can-i and drain encode them (built here with a small encoder), and
 * malformed input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "apiserver/protobuf.h"
#include "lib/err.h"

/* --- Helpers: a protobuf encoder ------------------------------------------ */

struct pb {
    uint8_t b[8192];
    size_t n;
};

static void pb_varint(struct pb *p, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        p->b[p->n++] = c | (v ? 0x80 : 0);
    } while (v);
}

static void pb_int(struct pb *p, unsigned num, int64_t v)
{
    pb_varint(p, (uint64_t)num << 3);
    pb_varint(p, (uint64_t)v);
}

static void pb_bytes(struct pb *p, unsigned num, const void *d, size_t n)
{
    pb_varint(p, (uint64_t)num << 3 | 2);
    pb_varint(p, n);
    memcpy(p->b + p->n, d, n);
    p->n += n;
}

static void pb_str(struct pb *p, unsigned num, const char *s)
{
    pb_bytes(p, num, s, strlen(s));
}

static void pb_msg(struct pb *p, unsigned num, const struct pb *m)
{
    pb_bytes(p, num, m->b, m->n);
}

static void pb_entry(struct pb *p, unsigned num, const char *k, const char *v)
{
    struct pb e = {.n = 0};
    pb_str(&e, 1, k);
    pb_str(&e, 2, v);
    pb_msg(p, num, &e);
}

/* "k8s\0" + runtime.Unknown{typeMeta, raw, "", ""} */
static void envelope(struct pb *out, const char *av, const char *kind,
                     const struct pb *raw)
{
    struct pb tm = {.n = 0};
    memcpy(out->b, "k8s\0", 4);
    out->n = 4;
    pb_str(&tm, 1, av);
    pb_str(&tm, 2, kind);
    pb_msg(out, 1, &tm);
    pb_msg(out, 2, raw);
    pb_str(out, 3, "");
    pb_str(out, 4, "");
}

/* ObjectMeta as gogo writes it: every string, even empty ones. */
static void meta(struct pb *m, const char *name, const char *ns)
{
    struct pb ts = {.n = 0};
    m->n = 0;
    pb_str(m, 1, name);
    pb_str(m, 2, "");
    pb_str(m, 3, ns);
    pb_str(m, 4, "");
    pb_str(m, 5, "");
    pb_str(m, 6, "");
    pb_int(m, 7, 0);
    pb_msg(m, 8, &ts); /* zero creationTimestamp */
}

static json_t *decode_ok(const struct pb *p, const char *want)
{
    json_t *got = NULL, *w;
    char err[256] = "";
    json_error_t e;
    int rv = api_protobuf_decode(p->b, p->n, &got, err, sizeof err);

    if (rv != 0)
        fail_msg("decode: %d %s", rv, err);
    w = json_loads(want, 0, &e);
    if (w == NULL)
        fail_msg("bad want JSON: %s", e.text);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("got  %s\nwant %s", g, want);
    }
    json_decref(w);
    return got;
}

static void decode_fails(const void *data, size_t n, int want_rv,
                         const char *want_msg)
{
    json_t *got = NULL;
    char err[256] = "";
    int rv = api_protobuf_decode(data, n, &got, err, sizeof err);

    if (rv != want_rv)
        fail_msg("rv %d (%s), want %d", rv, err, want_rv);
    assert_null(got);
    if (strstr(err, want_msg) == NULL)
        fail_msg("message '%s' lacks '%s'", err, want_msg);
}

/* --- Success -------------------------------------------------------------- */

static void configmap_like_kubectl_create(void **state)
{
    struct pb raw = {.n = 0}, m, body;
    (void)state;
    meta(&m, "cm1", "");
    pb_entry(&m, 11, "app", "web");
    pb_msg(&raw, 1, &m);
    pb_entry(&raw, 2, "a", "1");
    pb_entry(&raw, 2, "empty", "");
    envelope(&body, "v1", "ConfigMap", &raw);
    json_decref(decode_ok(&body,
                          "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\","
                          "\"metadata\":{\"name\":\"cm1\",\"labels\":{"
                          "\"app\":\"web\"}},\"data\":{\"a\":\"1\","
                          "\"empty\":\"\"}}"));
}

static void secret_bytes_are_base64(void **state)
{
    struct pb raw = {.n = 0}, m, e = {.n = 0}, body;
    static const uint8_t bin[] = {0, 0xff, 'x'};
    (void)state;
    meta(&m, "s1", "default");
    pb_msg(&raw, 1, &m);
    pb_str(&e, 1, "k");
    pb_bytes(&e, 2, bin, sizeof bin);
    pb_msg(&raw, 2, &e);
    pb_entry(&raw, 2, "pw", "hunter2");
    pb_str(&raw, 3, "Opaque");
    envelope(&body, "v1", "Secret", &raw);
    json_decref(decode_ok(&body,
                          "{\"apiVersion\":\"v1\",\"kind\":\"Secret\","
                          "\"metadata\":{\"name\":\"s1\",\"namespace\":"
                          "\"default\"},\"data\":{\"k\":\"AP94\","
                          "\"pw\":\"aHVudGVyMg==\"},\"type\":\"Opaque\"}"));
}

static void deployment_like_kubectl_create(void **state)
{
    struct pb raw = {.n = 0}, m, spec = {.n = 0}, sel = {.n = 0};
    struct pb tmpl = {.n = 0}, tm, ps = {.n = 0}, c = {.n = 0};
    struct pb port = {.n = 0}, res = {.n = 0}, strat = {.n = 0}, env = {.n = 0};
    struct pb q = {.n = 0}, qe = {.n = 0}, body;
    (void)state;

    meta(&m, "web", "");
    pb_entry(&m, 11, "app", "web");
    pb_msg(&raw, 1, &m);

    pb_int(&spec, 1, 0); /* replicas 0: a pointer, kept */
    pb_entry(&sel, 1, "app", "web");
    pb_msg(&spec, 2, &sel);
    meta(&tm, "", "");
    pb_entry(&tm, 11, "app", "web");
    pb_msg(&tmpl, 1, &tm);
    pb_str(&c, 1, "nginx");
    pb_str(&c, 2, "nginx:1.27");
    pb_str(&c, 3, "sh");
    pb_str(&c, 3, "-c");
    pb_str(&c, 4, "");
    pb_str(&c, 5, "");
    pb_str(&port, 1, "");
    pb_int(&port, 2, 0);
    pb_int(&port, 3, 80);
    pb_str(&port, 4, "TCP");
    pb_msg(&c, 6, &port);
    pb_str(&env, 1, "MODE");
    pb_str(&env, 2, "prod");
    pb_msg(&c, 7, &env);
    pb_str(&q, 1, "500m");
    pb_str(&qe, 1, "cpu");
    pb_msg(&qe, 2, &q);
    pb_msg(&res, 2, &qe);
    pb_msg(&c, 8, &res);
    pb_str(&c, 14, "");
    pb_int(&c, 16, 0);
    pb_msg(&ps, 2, &c);
    pb_str(&ps, 3, "");
    pb_int(&ps, 99, 12345); /* an unknown field is skipped */
    pb_msg(&tmpl, 2, &ps);
    pb_msg(&spec, 3, &tmpl);
    pb_str(&strat, 1, ""); /* strategy {1: ""}: empty, dropped */
    pb_msg(&spec, 4, &strat);
    pb_int(&spec, 5, 0);
    pb_int(&spec, 7, 0);
    pb_msg(&raw, 2, &spec);
    pb_msg(&raw, 3, &strat); /* status: not decoded */
    envelope(&body, "apps/v1", "Deployment", &raw);
    json_decref(decode_ok(
        &body,
        "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{"
        "\"name\":\"web\",\"labels\":{\"app\":\"web\"}},\"spec\":{"
        "\"replicas\":0,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},"
        "\"template\":{\"metadata\":{\"labels\":{\"app\":\"web\"}},\"spec\":"
        "{\"containers\":[{\"name\":\"nginx\",\"image\":\"nginx:1.27\","
        "\"command\":[\"sh\",\"-c\"],\"args\":[\"\"],\"ports\":[{"
        "\"containerPort\":80,\"protocol\":\"TCP\"}],\"env\":[{\"name\":"
        "\"MODE\",\"value\":\"prod\"}],\"resources\":{\"requests\":{\"cpu\":"
        "\"500m\"}}}]}}}}"));
}

static void service_job_namespace_serviceaccount(void **state)
{
    struct pb raw = {.n = 0}, m, spec = {.n = 0}, port = {.n = 0};
    struct pb tp = {.n = 0}, body, tmpl = {.n = 0}, ps = {.n = 0};
    struct pb c = {.n = 0}, ref = {.n = 0};
    (void)state;

    meta(&m, "web", "");
    pb_msg(&raw, 1, &m);
    pb_str(&port, 1, "80-8080");
    pb_str(&port, 2, "TCP");
    pb_int(&port, 3, 80);
    pb_int(&tp, 1, 0);
    pb_int(&tp, 2, 8080);
    pb_str(&tp, 3, "");
    pb_msg(&port, 4, &tp);
    pb_msg(&spec, 1, &port);
    pb_entry(&spec, 2, "app", "web");
    pb_str(&spec, 4, "ClusterIP");
    pb_msg(&raw, 2, &spec);
    envelope(&body, "v1", "Service", &raw);
    json_decref(decode_ok(&body,
                          "{\"apiVersion\":\"v1\",\"kind\":\"Service\","
                          "\"metadata\":{\"name\":\"web\"},\"spec\":{"
                          "\"ports\":[{\"name\":\"80-8080\",\"protocol\":"
                          "\"TCP\",\"port\":80,\"targetPort\":8080}],"
                          "\"selector\":{\"app\":\"web\"},\"type\":"
                          "\"ClusterIP\"}}"));

    /* a named targetPort */
    raw.n = spec.n = port.n = tp.n = 0;
    pb_msg(&raw, 1, &m);
    pb_int(&port, 3, 443);
    pb_int(&tp, 1, 1);
    pb_str(&tp, 3, "https");
    pb_msg(&port, 4, &tp);
    pb_msg(&spec, 1, &port);
    pb_msg(&raw, 2, &spec);
    envelope(&body, "v1", "Service", &raw);
    json_decref(decode_ok(&body, "{\"apiVersion\":\"v1\",\"kind\":\"Service\","
                                 "\"metadata\":{\"name\":\"web\"},\"spec\":{"
                                 "\"ports\":[{\"port\":443,\"targetPort\":"
                                 "\"https\"}]}}"));

    /* Job with backoffLimit 0 (a pointer) */
    raw.n = spec.n = 0;
    meta(&m, "j", "");
    pb_msg(&raw, 1, &m);
    pb_str(&c, 1, "j");
    pb_str(&c, 2, "busybox");
    pb_msg(&ps, 2, &c);
    pb_str(&ps, 3, "Never");
    pb_msg(&tmpl, 2, &ps);
    pb_msg(&spec, 6, &tmpl);
    pb_int(&spec, 7, 0);
    pb_msg(&raw, 2, &spec);
    envelope(&body, "batch/v1", "Job", &raw);
    json_decref(decode_ok(&body,
                          "{\"apiVersion\":\"batch/v1\",\"kind\":\"Job\","
                          "\"metadata\":{\"name\":\"j\"},\"spec\":{"
                          "\"template\":{\"spec\":{\"containers\":[{\"name\":"
                          "\"j\",\"image\":\"busybox\"}],\"restartPolicy\":"
                          "\"Never\"}},\"backoffLimit\":0}}"));

    /* Namespace */
    raw.n = 0;
    meta(&m, "team-a", "");
    pb_msg(&raw, 1, &m);
    envelope(&body, "v1", "Namespace", &raw);
    json_decref(decode_ok(&body, "{\"apiVersion\":\"v1\",\"kind\":"
                                 "\"Namespace\",\"metadata\":{\"name\":"
                                 "\"team-a\"}}"));

    /* ServiceAccount */
    raw.n = 0;
    meta(&m, "bot", "ns1");
    pb_msg(&raw, 1, &m);
    pb_str(&ref, 1, "pull");
    pb_msg(&raw, 3, &ref);
    pb_int(&raw, 4, 0);
    envelope(&body, "v1", "ServiceAccount", &raw);
    json_decref(decode_ok(&body,
                          "{\"apiVersion\":\"v1\",\"kind\":"
                          "\"ServiceAccount\",\"metadata\":{\"name\":\"bot\","
                          "\"namespace\":\"ns1\"},\"imagePullSecrets\":[{"
                          "\"name\":\"pull\"}],"
                          "\"automountServiceAccountToken\":false}"));
}

static void delete_options_and_access_review(void **state)
{
    struct pb raw = {.n = 0}, body, spec = {.n = 0}, ra = {.n = 0}, m;
    (void)state;
    /* drain's DELETE: gracePeriodSeconds 0 is a value */
    pb_int(&raw, 1, 0);
    pb_str(&raw, 4, "Background");
    pb_str(&raw, 5, "All");
    envelope(&body, "meta.k8s.io/v1", "DeleteOptions", &raw);
    json_decref(decode_ok(&body,
                          "{\"apiVersion\":\"meta.k8s.io/v1\",\"kind\":"
                          "\"DeleteOptions\",\"gracePeriodSeconds\":0,"
                          "\"propagationPolicy\":\"Background\",\"dryRun\":"
                          "[\"All\"]}"));
    /* negative int64 (ten-byte varint) */
    raw.n = 0;
    pb_int(&raw, 1, -1);
    envelope(&body, "v1", "DeleteOptions", &raw);
    json_decref(decode_ok(&body, "{\"apiVersion\":\"v1\",\"kind\":"
                                 "\"DeleteOptions\",\"gracePeriodSeconds\":"
                                 "-1}"));
    /* kubectl auth can-i create pods -n ns1 */
    raw.n = 0;
    meta(&m, "", "");
    pb_msg(&raw, 1, &m);
    pb_str(&ra, 1, "ns1");
    pb_str(&ra, 2, "create");
    pb_str(&ra, 3, "");
    pb_str(&ra, 5, "pods");
    pb_msg(&spec, 1, &ra);
    pb_msg(&raw, 2, &spec);
    envelope(&body, "authorization.k8s.io/v1", "SelfSubjectAccessReview", &raw);
    json_decref(decode_ok(&body,
                          "{\"apiVersion\":\"authorization.k8s.io/v1\","
                          "\"kind\":\"SelfSubjectAccessReview\",\"spec\":{"
                          "\"resourceAttributes\":{\"namespace\":\"ns1\","
                          "\"verb\":\"create\",\"resource\":\"pods\"}}}"));
}

/* --- Failure -------------------------------------------------------------- */

static void malformed_bodies(void **state)
{
    struct pb raw = {.n = 0}, body, m;
    uint8_t buf[64];
    (void)state;
    decode_fails("k8s", 3, K1S_EBADREQ, "k8s");
    decode_fails("{\"a\":1}", 7, K1S_EBADREQ, "prefix");
    /* truncated varint in the envelope */
    memcpy(buf, "k8s\0\x08\xff", 6);
    decode_fails(buf, 6, K1S_EBADREQ, "envelope");
    /* a length past the end */
    memcpy(buf, "k8s\0\x12\x7f\x01", 7);
    decode_fails(buf, 7, K1S_EBADREQ, "past the end");
    /* an 11-byte varint */
    memcpy(buf, "k8s\0\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16);
    decode_fails(buf, 16, K1S_EBADREQ, "envelope");
    /* field number 0 */
    memcpy(buf, "k8s\0\x00\x01", 6);
    decode_fails(buf, 6, K1S_EBADREQ, "tag");
    /* group wire types are refused */
    memcpy(buf, "k8s\0\x0b", 5);
    decode_fails(buf, 5, K1S_EBADREQ, "envelope");
    /* no typeMeta */
    memcpy(buf, "k8s\0", 4);
    decode_fails(buf, 4, K1S_EBADREQ, "typeMeta");

    /* a kind that is not decoded, and gzip-encoded raw */
    meta(&m, "x", "");
    pb_msg(&raw, 1, &m);
    envelope(&body, "apps/v1", "StatefulSet", &raw);
    decode_fails(body.b, body.n, K1S_EMEDIA, "apps/v1 StatefulSet");
    envelope(&body, "v1", "ConfigMap", &raw);
    body.n -= 4; /* drop the two empty strings, add an encoding */
    pb_str(&body, 3, "gzip");
    decode_fails(body.b, body.n, K1S_EMEDIA, "gzip");

    /* wrong wire type for a known field: name as a varint */
    raw.n = 0;
    m.n = 0;
    pb_int(&m, 1, 5);
    pb_msg(&raw, 1, &m);
    envelope(&body, "v1", "ConfigMap", &raw);
    decode_fails(body.b, body.n, K1S_EBADREQ, "wrong wire type");

    /* a map entry whose second tag is malformed (after its key) */
    raw.n = 0;
    meta(&m, "x", "");
    {
        static const uint8_t entry[] = {0x0a, 0x01, 'k', 0x03};
        pb_bytes(&m, 11, entry, sizeof entry);
    }
    pb_msg(&raw, 1, &m);
    envelope(&body, "v1", "ConfigMap", &raw);
    decode_fails(body.b, body.n, K1S_EBADREQ, "malformed map entry");

    /* a string that is not UTF-8 */
    raw.n = 0;
    meta(&m, "\xff\xfe", "");
    pb_msg(&raw, 1, &m);
    envelope(&body, "v1", "ConfigMap", &raw);
    decode_fails(body.b, body.n, K1S_EBADREQ, "UTF-8");
}

static void every_truncation_is_clean(void **state)
{
    struct pb raw = {.n = 0}, m, body;
    json_t *got;
    (void)state;
    meta(&m, "cm1", "ns");
    pb_entry(&m, 11, "a", "b");
    pb_msg(&raw, 1, &m);
    pb_entry(&raw, 2, "k", "v");
    envelope(&body, "v1", "ConfigMap", &raw);
    /* each prefix either decodes or fails with K1S_EBADREQ; the full body
     * decodes */
    for (size_t n = 0; n <= body.n; n++) {
        int rv;
        got = NULL;
        rv = api_protobuf_decode(body.b, n, &got, NULL, 0);
        if (n == body.n)
            assert_int_equal(rv, 0);
        else
            assert_true(rv == 0 || rv == K1S_EBADREQ);
        assert_true((rv == 0) == (got != NULL));
        json_decref(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(configmap_like_kubectl_create),
        cmocka_unit_test(secret_bytes_are_base64),
        cmocka_unit_test(deployment_like_kubectl_create),
        cmocka_unit_test(service_job_namespace_serviceaccount),
        cmocka_unit_test(delete_options_and_access_review),
        cmocka_unit_test(malformed_bodies),
        cmocka_unit_test(every_truncation_is_clean),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

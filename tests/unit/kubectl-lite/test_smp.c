/* Unit tests for kubectl-lite's client-side apply patch (kubectl-lite/
 * smp.c) over the patch metadata read from an OpenAPI v3 document
 * (kubectl-lite/openapi.c): a small hand-written document in the API
 * server's format, kctl_smp_lookup() on it, and kctl_smp_three_way()
 * giving the patches kubectl 1.32 sends for the same inputs (the cases
 * mirror ones whose patch was compared with what `kubectl apply -v=8`
 * sent to a k1s server holding the same live object and last-applied
 * annotation). Without a schema: the JSON merge patch kubectl sends for
 * kinds it has no types for (jsonmergepatch over json-patch v4.12). */
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
#include "lib/err.h"

/* --- Helpers ------------------------------------------------------------ */

/* JSON written with ' for " (readable in C strings). */
static json_t *J(const char *s)
{
    char *t = strdup(s);
    json_error_t e;
    json_t *v;

    assert_non_null(t);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(t, JSON_DECODE_ANY, &e);
    if (v == NULL)
        fail_msg("bad test JSON %s: %s", t, e.text);
    free(t);
    return v;
}

static char *dump(const json_t *v)
{
    return json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

/*
 * A group-version document as the API server writes one: schemas named by
 * Go package, the kind tagged with x-kubernetes-group-version-kind, struct
 * fields through allOf:[{$ref}] with "default": {}, list items through
 * items, the patch metadata on the field. Volume items use a bare $ref
 * (also accepted), labels a map (additionalProperties).
 */
static const char doc_text[] =
    "{'openapi': '3.0.0', 'paths': {}, 'components': {'schemas': {"
    "'io.k8s.api.apps.v1.Deployment': {'type': 'object',"
    " 'x-kubernetes-group-version-kind': [{'group': 'apps',"
    "  'kind': 'Deployment', 'version': 'v1'}],"
    " 'properties': {'apiVersion': {'type': 'string'},"
    "  'kind': {'type': 'string'},"
    "  'metadata': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'"
    "}], 'default': {}},"
    "  'spec': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec'}],"
    "   'default': {}}}},"
    "'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta': {'type': 'object',"
    " 'properties': {"
    "  'finalizers': {'type': 'array', 'items': {'type': 'string',"
    "   'default': ''}, 'x-kubernetes-patch-strategy': 'merge'},"
    "  'labels': {'type': 'object', 'additionalProperties': {"
    "   'type': 'string', 'default': ''}}}},"
    "'io.k8s.api.apps.v1.DeploymentSpec': {'type': 'object',"
    " 'properties': {"
    "  'replicas': {'type': 'integer'},"
    "  'strategy': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.api.apps.v1.DeploymentStrategy'}],"
    "   'default': {}, 'x-kubernetes-patch-strategy': 'retainKeys'},"
    "  'template': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec'}],"
    "   'default': {}}}},"
    "'io.k8s.api.apps.v1.DeploymentStrategy': {'type': 'object'},"
    "'io.k8s.api.core.v1.PodTemplateSpec': {'type': 'object',"
    " 'properties': {'spec': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.api.core.v1.PodSpec'}], 'default': {}}}},"
    "'io.k8s.api.core.v1.PodSpec': {'type': 'object', 'properties': {"
    "  'containers': {'type': 'array', 'items': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.api.core.v1.Container'}], 'default': {}},"
    "   'x-kubernetes-patch-merge-key': 'name',"
    "   'x-kubernetes-patch-strategy': 'merge'},"
    "  'volumes': {'type': 'array', 'items': {'$ref': "
    "'#/components/schemas/io.k8s.api.core.v1.Volume'},"
    "   'x-kubernetes-patch-merge-key': 'name',"
    "   'x-kubernetes-patch-strategy': 'merge,retainKeys'},"
    "  'tolerations': {'type': 'array', 'items': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.api.core.v1.Toleration'}],"
    "   'default': {}}}}},"
    "'io.k8s.api.core.v1.Container': {'type': 'object', 'properties': {"
    "  'args': {'type': 'array', 'items': {'type': 'string'}},"
    "  'env': {'type': 'array', 'items': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.api.core.v1.EnvVar'}], 'default': {}},"
    "   'x-kubernetes-patch-merge-key': 'name',"
    "   'x-kubernetes-patch-strategy': 'merge'},"
    "  'ports': {'type': 'array', 'items': {'allOf': [{'$ref': "
    "'#/components/schemas/io.k8s.api.core.v1.ContainerPort'}],"
    "   'default': {}}, 'x-kubernetes-patch-merge-key': 'containerPort',"
    "   'x-kubernetes-patch-strategy': 'merge'}}},"
    "'io.k8s.api.core.v1.EnvVar': {'type': 'object'},"
    "'io.k8s.api.core.v1.ContainerPort': {'type': 'object'},"
    "'io.k8s.api.core.v1.Volume': {'type': 'object'},"
    "'io.k8s.api.core.v1.Toleration': {'type': 'object'}"
    "}}}";

static json_t *doc;
static const struct kctl_smp_schema *deploy;

static int setup(void **state)
{
    (void)state;
    doc = J(doc_text);
    deploy = kctl_openapi_schema_from_doc(doc, "apps", "v1", "Deployment");
    return deploy == NULL ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    json_decref(doc);
    doc = NULL;
    deploy = NULL;
    return 0;
}

/* kctl_smp_three_way(orig, mod, cur) (orig may be NULL) with the
 * Deployment schema (or none) must give exactly `want`, list order
 * included; the inputs must be left as they were. */
static void three_way(const char *orig, const char *mod, const char *cur,
                      const struct kctl_smp_schema *s, const char *want)
{
    json_t *o = orig ? J(orig) : NULL, *m = J(mod), *c = J(cur);
    json_t *w = J(want), *p = NULL;
    char *before[3] = {o ? dump(o) : NULL, dump(m), dump(c)};
    int rv = kctl_smp_three_way(o, m, c, s, &p);

    if (rv != 0)
        fail_msg("three-way failed: %d", rv);
    if (!json_equal(p, w)) {
        char *g = dump(p), *x = dump(w);
        fail_msg("\n got  %s\n want %s", g, x);
    }
    if (o != NULL) {
        char *a = dump(o);
        assert_string_equal(before[0], a);
        free(a);
    }
    {
        char *a = dump(m), *b = dump(c);
        assert_string_equal(before[1], a);
        assert_string_equal(before[2], b);
        free(a);
        free(b);
    }
    for (int i = 0; i < 3; i++)
        free(before[i]);
    json_decref(o);
    json_decref(m);
    json_decref(c);
    json_decref(w);
    json_decref(p);
}

/* A Deployment whose pod template has the given containers (JSON list). */
#define DEPLOY(containers)                                                     \
    "{'apiVersion': 'apps/v1', 'kind': 'Deployment',"                          \
    " 'metadata': {'name': 'web'},"                                            \
    " 'spec': {'template': {'spec': {'containers': " containers "}}}}"

/* The patch touching only the pod spec. */
#define POD_PATCH(spec) "{'spec': {'template': {'spec': " spec "}}}"

/* --- OpenAPI metadata --------------------------------------------------- */

static void lookup_reads_the_schema(void **state)
{
    struct kctl_smp_field f, g;

    (void)state;
    assert_null(kctl_openapi_schema_from_doc(doc, "apps", "v1", "StatefulSet"));
    assert_null(kctl_openapi_schema_from_doc(doc, "", "v1", "Deployment"));
    /* cached: the same position every time */
    assert_ptr_equal(
        kctl_openapi_schema_from_doc(doc, "apps", "v1", "Deployment"), deploy);

    kctl_smp_lookup(deploy, "spec", &f);
    assert_false(f.merge);
    assert_null(f.merge_key);
    assert_non_null(f.sub);
    kctl_smp_lookup(f.sub, "strategy", &g);
    assert_true(g.retain_keys);
    assert_false(g.merge);
    assert_null(g.sub); /* described by name only */
    kctl_smp_lookup(f.sub, "template", &f);
    kctl_smp_lookup(f.sub, "spec", &f);
    assert_non_null(f.sub);
    kctl_smp_lookup(f.sub, "volumes", &g);
    assert_true(g.merge);
    assert_true(g.retain_keys);
    assert_string_equal(g.merge_key, "name");
    kctl_smp_lookup(f.sub, "tolerations", &g);
    assert_false(g.merge);
    assert_null(g.merge_key);
    kctl_smp_lookup(f.sub, "containers", &f);
    assert_true(f.merge);
    assert_false(f.retain_keys);
    assert_string_equal(f.merge_key, "name");
    assert_non_null(f.sub); /* the items' schema */
    kctl_smp_lookup(f.sub, "ports", &g);
    assert_true(g.merge);
    assert_string_equal(g.merge_key, "containerPort");
    kctl_smp_lookup(f.sub, "env", &g);
    assert_string_equal(g.merge_key, "name");
    kctl_smp_lookup(f.sub, "image", &g); /* not described: no metadata */
    assert_false(g.merge);
    assert_null(g.merge_key);
    assert_null(g.sub);

    kctl_smp_lookup(deploy, "metadata", &f);
    kctl_smp_lookup(f.sub, "finalizers", &g);
    assert_true(g.merge);
    assert_null(g.merge_key);
    kctl_smp_lookup(f.sub, "labels", &g);
    assert_false(g.merge);
    assert_non_null(g.sub); /* a map: every key has additionalProperties */
    kctl_smp_lookup(g.sub, "app", &g);
    assert_false(g.merge);
    assert_null(g.merge_key);
    assert_null(g.sub); /* a string */

    kctl_smp_lookup(NULL, "spec", &f);
    assert_false(f.merge || f.retain_keys);
    assert_null(f.merge_key);
    assert_null(f.sub);
}

static void documents_without_the_kind(void **state)
{
    json_t *d;

    (void)state;
    d = J("{'components': {'schemas': {'X': {'type': 'object',"
          " 'x-kubernetes-group-version-kind': {'group': '', 'kind': 'Pod',"
          " 'version': 'v1'}}}}}");
    /* a single object (not a list) is accepted */
    assert_non_null(kctl_openapi_schema_from_doc(d, "", "v1", "Pod"));
    assert_null(kctl_openapi_schema_from_doc(d, NULL, "v1", "Node"));
    json_decref(d);
    d = J("{'openapi': '3.0.0'}");
    assert_null(kctl_openapi_schema_from_doc(d, "apps", "v1", "Deployment"));
    json_decref(d);
    d = J("{'components': {'schemas': {'A': {'allOf': [{'$ref': "
          "'#/components/schemas/A'}], 'x-kubernetes-group-version-kind':"
          " [{'group': 'g', 'kind': 'K', 'version': 'v1'}]}}}}");
    /* a reference loop resolves to nothing, it does not hang */
    assert_null(kctl_openapi_schema_from_doc(d, "g", "v1", "K"));
    json_decref(d);
    assert_null(kctl_openapi_schema_from_doc(NULL, "g", "v1", "K"));
}

/* --- Strategic merge patch ---------------------------------------------- */

/* env A changed, B removed, C added; container side removed. */
static void containers_and_env_merge_by_name(void **state)
{
    const char *v1 =
        DEPLOY("[{'name': 'main', 'image': 'nginx', 'env': ["
               "{'name': 'A', 'value': '1'}, {'name': 'B', 'value': '2'}]},"
               " {'name': 'side', 'image': 'busybox', 'command': ['sleep']}]");
    const char *v2 =
        DEPLOY("[{'name': 'main', 'image': 'nginx', 'env': ["
               "{'name': 'A', 'value': '10'}, {'name': 'C', 'value': '3'}]}]");

    (void)state;
    three_way(v1, v2, v1, deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'}],"
                        " 'containers': [{'name': 'main',"
                        "  '$setElementOrder/env': [{'name': 'A'},"
                        "   {'name': 'C'}],"
                        "  'env': [{'name': 'A', 'value': '10'},"
                        "   {'name': 'C', 'value': '3'},"
                        "   {'$patch': 'delete', 'name': 'B'}]},"
                        " {'$patch': 'delete', 'name': 'side'}]}"));
    /* no last-applied configuration: nothing is deleted */
    three_way(NULL, v2, v1, deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'}],"
                        " 'containers': [{'name': 'main',"
                        "  '$setElementOrder/env': [{'name': 'A'},"
                        "   {'name': 'C'}],"
                        "  'env': [{'name': 'A', 'value': '10'},"
                        "   {'name': 'C', 'value': '3'}]}]}"));
}

static void ports_merge_by_container_port(void **state)
{
    (void)state;
    /* items are matched by merge key (80 kept and renamed, 443 deleted);
     * the patch list follows the manifest's order */
    three_way(DEPLOY("[{'name': 'main', 'ports': [{'containerPort': 80},"
                     " {'containerPort': 443, 'name': 'https'}]}]"),
              DEPLOY("[{'name': 'main', 'ports': [{'containerPort': 8080},"
                     " {'containerPort': 80, 'name': 'http'}]}]"),
              DEPLOY("[{'name': 'main', 'ports': [{'containerPort': 80,"
                     " 'protocol': 'TCP'}, {'containerPort': 443,"
                     " 'name': 'https', 'protocol': 'TCP'}]}]"),
              deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'}],"
                        " 'containers': [{'name': 'main',"
                        "  '$setElementOrder/ports': [{'containerPort': 8080},"
                        "   {'containerPort': 80}],"
                        "  'ports': [{'containerPort': 8080},"
                        "   {'containerPort': 80, 'name': 'http'},"
                        "   {'$patch': 'delete', 'containerPort': 443}]}]}"));
    /* only added ports: numbers ordered by the manifest, not by text */
    three_way(DEPLOY("[{'name': 'main', 'ports': [{'containerPort': 80}]}]"),
              DEPLOY("[{'name': 'main', 'ports': [{'containerPort': 80},"
                     " {'containerPort': 9}, {'containerPort': 10000}]}]"),
              DEPLOY("[{'name': 'main', 'ports': [{'containerPort': 80}]}]"),
              deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'}],"
                        " 'containers': [{'name': 'main',"
                        "  '$setElementOrder/ports': [{'containerPort': 80},"
                        "   {'containerPort': 9}, {'containerPort': 10000}],"
                        "  'ports': [{'containerPort': 9},"
                        "   {'containerPort': 10000}]}]}"));
}

static void set_element_order(void **state)
{
    (void)state;
    /* a new container first, the others swapped: only the new one is
     * sent, the order says the rest */
    three_way(DEPLOY("[{'name': 'a', 'image': 'x'}, {'name': 'b',"
                     " 'image': 'x'}]"),
              DEPLOY("[{'name': 'c', 'image': 'x'}, {'name': 'b',"
                     " 'image': 'x'}, {'name': 'a', 'image': 'x'}]"),
              DEPLOY("[{'name': 'a', 'image': 'x'}, {'name': 'b',"
                     " 'image': 'x'}]"),
              deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'c'},"
                        " {'name': 'b'}, {'name': 'a'}],"
                        " 'containers': [{'image': 'x', 'name': 'c'}]}"));
    /* order alone changed */
    three_way(DEPLOY("[{'name': 'main', 'env': [{'name': 'A', 'value': '1'},"
                     " {'name': 'B', 'value': '2'}]}]"),
              DEPLOY("[{'name': 'main', 'env': [{'name': 'B', 'value': '2'},"
                     " {'name': 'A', 'value': '1'}]}]"),
              DEPLOY("[{'name': 'main', 'env': [{'name': 'A', 'value': '1'},"
                     " {'name': 'B', 'value': '2'}]}]"),
              deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'}],"
                        " 'containers': [{'name': 'main',"
                        "  '$setElementOrder/env': [{'name': 'B'},"
                        "   {'name': 'A'}]}]}"));
    /* the live list reordered and holding a container of someone else's:
     * ours are ordered, c (ours, dropped) deleted, x left alone */
    three_way(DEPLOY("[{'name': 'a'}, {'name': 'b'}, {'name': 'c'}]"),
              DEPLOY("[{'name': 'b'}, {'name': 'a'}, {'name': 'd'}]"),
              DEPLOY("[{'name': 'x'}, {'name': 'c'}, {'name': 'a'},"
                     " {'name': 'b'}]"),
              deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'b'},"
                        " {'name': 'a'}, {'name': 'd'}],"
                        " 'containers': [{'name': 'd'},"
                        "  {'$patch': 'delete', 'name': 'c'}]}"));
}

static void removed_fields_are_deleted(void **state)
{
    const char *v1 =
        "{'apiVersion': 'apps/v1', 'kind': 'Deployment',"
        " 'metadata': {'name': 'web', 'labels': {'app': 'web', 'tier': 'a',"
        "  'x': '1'}},"
        " 'spec': {'replicas': 2, 'template': {'spec': {'containers': ["
        "  {'name': 'a', 'command': ['sh'], 'workingDir': '/w',"
        "   'resources': {'limits': {'cpu': '1', 'memory': '1Gi'}}},"
        "  {'name': 'b'}, {'name': 'c'}],"
        "  'tolerations': [{'key': 'k', 'operator': 'Exists'}]}}}}";
    const char *v2 =
        "{'apiVersion': 'apps/v1', 'kind': 'Deployment',"
        " 'metadata': {'name': 'web', 'labels': {'app': 'web', 'x': '2'}},"
        " 'spec': {'template': {'spec': {'containers': ["
        "  {'name': 'a', 'workingDir': '/w',"
        "   'resources': {'limits': {'cpu': '2'}}}]}}}}";

    (void)state;
    /* map keys dropped from the manifest are null, list items dropped
     * from a merge list are "$patch": "delete" */
    three_way(v1, v2, v1, deploy,
              "{'metadata': {'labels': {'tier': null, 'x': '2'}},"
              " 'spec': {'replicas': null, 'template': {'spec': {"
              "  'tolerations': null,"
              "  '$setElementOrder/containers': [{'name': 'a'}],"
              "  'containers': [{'name': 'a', 'command': null,"
              "   'resources': {'limits': {'cpu': '2', 'memory': null}}},"
              "   {'$patch': 'delete', 'name': 'b'},"
              "   {'$patch': 'delete', 'name': 'c'}]}}}}");
    /* a whole list dropped: null; emptied: each item deleted */
    three_way(DEPLOY("[{'name': 'm', 'env': [{'name': 'A', 'value': '1'}],"
                     " 'ports': [{'containerPort': 80}]}]"),
              DEPLOY("[{'name': 'm', 'env': []}]"),
              DEPLOY("[{'name': 'm', 'env': [{'name': 'A', 'value': '1'}],"
                     " 'ports': [{'containerPort': 80}]}]"),
              deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'm'}],"
                        " 'containers': [{'name': 'm', 'ports': null,"
                        "  'env': [{'$patch': 'delete', 'name': 'A'}]}]}"));
    /* an item of ours that the live object no longer has is still
     * deleted (harmless); a changed one is sent */
    three_way(DEPLOY("[{'name': 'a'}, {'name': 'b'}]"),
              DEPLOY("[{'name': 'a', 'image': 'x'}]"),
              DEPLOY("[{'name': 'a'}]"), deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'a'}],"
                        " 'containers': [{'image': 'x', 'name': 'a'},"
                        "  {'$patch': 'delete', 'name': 'b'}]}"));
}

static void unchanged_is_empty(void **state)
{
    const char *v =
        "{'apiVersion': 'apps/v1', 'kind': 'Deployment',"
        " 'metadata': {'name': 'web', 'labels': {'app': 'web'}},"
        " 'spec': {'replicas': 1, 'strategy': {'type': 'Recreate'},"
        "  'template': {'spec': {'containers': [{'name': 'main',"
        "  'env': [{'name': 'A', 'value': '1'}], 'args': ['x', 'y']}]}}}}";
    const char *live =
        "{'apiVersion': 'apps/v1', 'kind': 'Deployment',"
        " 'metadata': {'name': 'web', 'labels': {'app': 'web'},"
        "  'uid': 'u', 'resourceVersion': '7'},"
        " 'spec': {'replicas': 1, 'strategy': {'type': 'Recreate'},"
        "  'revisionHistoryLimit': 10,"
        "  'template': {'spec': {'containers': [{'name': 'main',"
        "  'env': [{'name': 'A', 'value': '1'}], 'args': ['x', 'y'],"
        "  'imagePullPolicy': 'Always'}], 'dnsPolicy': 'ClusterFirst'}}},"
        " 'status': {'replicas': 1}}";

    (void)state;
    three_way(v, v, live, deploy, "{}");
    three_way(NULL, v, live, deploy, "{}");
    three_way(v, v, v, NULL, "{}");
    /* without a schema lists are compared whole: the server's default in
     * the container makes the list differ */
    three_way(v, v, live, NULL,
              POD_PATCH("{'containers': [{'name': 'main',"
                        " 'env': [{'name': 'A', 'value': '1'}],"
                        " 'args': ['x', 'y']}]}"));
}

static void fields_set_by_others_are_kept(void **state)
{
    const char *v1 =
        DEPLOY("[{'name': 'main', 'env': [{'name': 'A', 'value': '1'},"
               " {'name': 'B', 'value': '2'}]}, {'name': 'side'}]");
    const char *v2 =
        DEPLOY("[{'name': 'main', 'env': [{'name': 'A', 'value': '1'}]},"
               " {'name': 'side'}]");
    const char *live =
        "{'apiVersion': 'apps/v1', 'kind': 'Deployment',"
        " 'metadata': {'name': 'web', 'labels': {'other': 'x'},"
        "  'annotations': {'note': 'y'}},"
        " 'spec': {'template': {'spec': {'containers': ["
        "  {'name': 'main', 'env': [{'name': 'A', 'value': '1'},"
        "   {'name': 'X', 'value': '9'}, {'name': 'B', 'value': '2'}]},"
        "  {'name': 'side'}, {'name': 'injected'}]}}}}";

    (void)state;
    /* env X and container injected were never ours: not touched; only B
     * (ours, dropped) is deleted */
    three_way(v1, v2, live, deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'},"
                        " {'name': 'side'}],"
                        " 'containers': [{'name': 'main',"
                        "  '$setElementOrder/env': [{'name': 'A'}],"
                        "  'env': [{'$patch': 'delete', 'name': 'B'}]}]}"));
    /* drift on our own fields is put back */
    three_way(DEPLOY("[{'name': 'main', 'image': 'a', 'env': [{'name': 'A',"
                     " 'value': '1'}]}]"),
              DEPLOY("[{'name': 'main', 'image': 'a', 'env': [{'name': 'A',"
                     " 'value': '1'}]}]"),
              DEPLOY("[{'name': 'main', 'image': 'b', 'env': [{'name': 'A',"
                     " 'value': '2'}]}]"),
              deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'}],"
                        " 'containers': [{'name': 'main', 'image': 'a',"
                        "  '$setElementOrder/env': [{'name': 'A'}],"
                        "  'env': [{'name': 'A', 'value': '1'}]}]}"));
}

static void primitive_lists(void **state)
{
    (void)state;
    /* a list without strategy is replaced whole */
    three_way(DEPLOY("[{'name': 'main', 'args': ['a', 'b']}]"),
              DEPLOY("[{'name': 'main', 'args': ['b', 'c']}]"),
              DEPLOY("[{'name': 'main', 'args': ['a', 'b']}]"), deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'}],"
                        " 'containers': [{'name': 'main',"
                        "  'args': ['b', 'c']}]}"));
    /* a primitive merge list: additions, a parallel deletion list and the
     * order; the live-only x/c stays */
    three_way("{'metadata': {'name': 'n', 'finalizers': ['x/a', 'x/b']}}",
              "{'metadata': {'name': 'n', 'finalizers': ['x/b', 'x/d']}}",
              "{'metadata': {'name': 'n', 'finalizers': ['x/b', 'x/a',"
              " 'x/c']}}",
              deploy,
              "{'metadata': {'$deleteFromPrimitiveList/finalizers': ['x/a'],"
              " '$setElementOrder/finalizers': ['x/b', 'x/d'],"
              " 'finalizers': ['x/d']}}");
    /* kubectl's quirk: a live list out of sorted order is re-ordered
     * even when nothing else changed */
    three_way("{'metadata': {'name': 'n', 'finalizers': ['x/b', 'x/a']}}",
              "{'metadata': {'name': 'n', 'finalizers': ['x/b', 'x/a']}}",
              "{'metadata': {'name': 'n', 'finalizers': ['x/b', 'x/a']}}",
              deploy,
              "{'metadata': {'$setElementOrder/finalizers': ['x/b',"
              " 'x/a']}}");
    /* all dropped: null */
    three_way("{'metadata': {'name': 'n', 'finalizers': ['x/a']}}",
              "{'metadata': {'name': 'n'}}",
              "{'metadata': {'name': 'n', 'finalizers': ['x/a']}}", deploy,
              "{'metadata': {'finalizers': null}}");
}

static void retain_keys(void **state)
{
    (void)state;
    three_way("{'spec': {'strategy': {'type': 'RollingUpdate',"
              " 'rollingUpdate': {'maxSurge': 1}}}}",
              "{'spec': {'strategy': {'type': 'Recreate'}}}",
              "{'spec': {'strategy': {'type': 'RollingUpdate',"
              " 'rollingUpdate': {'maxSurge': 1}}}}",
              deploy,
              "{'spec': {'strategy': {'$retainKeys': ['type'],"
              " 'rollingUpdate': null, 'type': 'Recreate'}}}");
    three_way("{'spec': {'template': {'spec': {'volumes': ["
              " {'name': 'v', 'emptyDir': {}}, {'name': 'w',"
              " 'emptyDir': {}}]}}}}",
              "{'spec': {'template': {'spec': {'volumes': ["
              " {'name': 'v', 'hostPath': {'path': '/tmp'}}]}}}}",
              "{'spec': {'template': {'spec': {'volumes': ["
              " {'name': 'v', 'emptyDir': {}}, {'name': 'w',"
              " 'emptyDir': {}}]}}}}",
              deploy,
              POD_PATCH("{'$setElementOrder/volumes': [{'name': 'v'}],"
                        " 'volumes': [{'$retainKeys': ['hostPath', 'name'],"
                        "  'emptyDir': null, 'hostPath': {'path': '/tmp'},"
                        "  'name': 'v'},"
                        "  {'$patch': 'delete', 'name': 'w'}]}"));
    /* unchanged: no $retainKeys */
    three_way("{'spec': {'strategy': {'type': 'Recreate'}}}",
              "{'spec': {'strategy': {'type': 'Recreate'}}}",
              "{'spec': {'strategy': {'type': 'Recreate'}}}", deploy, "{}");
}

/* kubectl drops the maps carrying "$patch" from what only the delta
 * holds (removeDirectives), so a manifest holding "$patch" itself gets
 * what kubectl sends. */
static void directives_in_the_manifest(void **state)
{
    (void)state;
    three_way(DEPLOY("[{'name': 'main', 'resources': {'limits': {'cpu':"
                     " '1'}}}]"),
              DEPLOY("[{'name': 'main', 'resources': {'$patch': 'replace',"
                     " 'limits': {'cpu': '2'}}}]"),
              DEPLOY("[{'name': 'main', 'resources': {'limits': {'cpu':"
                     " '1'}}}]"),
              deploy,
              POD_PATCH("{'$setElementOrder/containers': [{'name': 'main'}],"
                        " 'containers': [{'name': 'main'}]}"));
}

/* --- JSON merge patch (no schema) --------------------------------------- */

static void json_merge_patch_without_schema(void **state)
{
    (void)state;
    /* lists are replaced whole, dropped keys are null, keys set by
     * others stay, unchanged values are not sent */
    three_way("{'kind': 'Widget', 'spec': {'a': 1, 'b': {'c': 1, 'd': 2},"
              " 'list': [{'name': 'x'}, {'name': 'y'}], 'gone': [1]}}",
              "{'kind': 'Widget', 'spec': {'a': 1, 'b': {'c': 1},"
              " 'list': [{'name': 'x'}], 'new': {'e': null, 'f': 'g'}}}",
              "{'kind': 'Widget', 'spec': {'a': 1, 'b': {'c': 1, 'd': 2,"
              " 'theirs': 3}, 'list': [{'name': 'x'}, {'name': 'y'}],"
              " 'gone': [1], 'theirs': true}, 'status': {'ok': true}}",
              NULL,
              "{'spec': {'b': {'d': null}, 'list': [{'name': 'x'}],"
              " 'gone': null, 'new': {'e': null, 'f': 'g'}}}");
    /* numbers compare as float64: 1 and 1.0 are equal; an explicitly
     * empty map is a value; a changed type is replaced */
    three_way("{'a': 1, 'm': {'k': 'v'}, 's': 'x'}",
              "{'a': 1.0, 'm': {}, 's': ['x']}",
              "{'a': 1, 'm': {'k': 'v'}, 's': 'x'}", NULL,
              "{'m': {'k': null}, 's': ['x']}");
    /* a null in the manifest reaches the patch through the deletions */
    three_way(NULL, "{'m': {}, 'n': {'a': null}}", "{}", NULL,
              "{'m': {}, 'n': {'a': null}}");
    /* drift put back; nothing to do is {} */
    three_way("{'a': {'b': 1}}", "{'a': {'b': 1}}", "{'a': {'b': 2}}", NULL,
              "{'a': {'b': 1}}");
    three_way("{'a': [null, 1]}", "{'a': [null, 1]}", "{'a': [null, 1]}", NULL,
              "{}");
}

/* --- Errors ------------------------------------------------------------- */

static void bad_input_is_refused(void **state)
{
    json_t *m = J("{'a': 1}"), *arr = J("[1]"), *p = NULL, *deep, *cur;
    json_t *nokey_o, *nokey_m;

    (void)state;
    assert_int_equal(kctl_smp_three_way(NULL, arr, m, deploy, &p), K1S_EINVAL);
    assert_int_equal(kctl_smp_three_way(arr, m, m, deploy, &p), K1S_EINVAL);
    assert_int_equal(kctl_smp_three_way(NULL, m, arr, NULL, &p), K1S_EINVAL);
    assert_null(p);

    /* a merge list whose items lack the merge key */
    nokey_o = J(DEPLOY("[{'name': 'a'}]"));
    nokey_m = J(DEPLOY("[{'image': 'x'}]"));
    assert_int_equal(kctl_smp_three_way(nokey_o, nokey_m, nokey_o, deploy, &p),
                     K1S_EINVAL);
    json_decref(nokey_m);
    /* items of different types in one list */
    nokey_m = J(DEPLOY("[{'name': 'a'}, 'b']"));
    assert_int_equal(kctl_smp_three_way(nokey_o, nokey_m, nokey_o, deploy, &p),
                     K1S_EINVAL);
    json_decref(nokey_m);
    json_decref(nokey_o);

    /* nesting past the cap, in any of the three */
    deep = json_object();
    cur = deep;
    for (int i = 0; i < 150; i++) {
        json_t *n = json_object();
        json_object_set_new(cur, "x", n);
        cur = n;
    }
    assert_int_equal(kctl_smp_three_way(NULL, deep, m, deploy, &p), K1S_EINVAL);
    assert_int_equal(kctl_smp_three_way(deep, m, m, NULL, &p), K1S_EINVAL);
    assert_int_equal(kctl_smp_three_way(NULL, m, deep, deploy, &p), K1S_EINVAL);
    assert_null(p);
    json_decref(deep);
    json_decref(arr);
    json_decref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_reads_the_schema),
        cmocka_unit_test(documents_without_the_kind),
        cmocka_unit_test(containers_and_env_merge_by_name),
        cmocka_unit_test(ports_merge_by_container_port),
        cmocka_unit_test(set_element_order),
        cmocka_unit_test(removed_fields_are_deleted),
        cmocka_unit_test(unchanged_is_empty),
        cmocka_unit_test(fields_set_by_others_are_kept),
        cmocka_unit_test(primitive_lists),
        cmocka_unit_test(retain_keys),
        cmocka_unit_test(directives_in_the_manifest),
        cmocka_unit_test(json_merge_patch_without_schema),
        cmocka_unit_test(bad_input_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

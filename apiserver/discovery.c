/*
 * DESIGN: discovery and OpenAPI, generated from the registry once at start
 * and served from memory.
 *
 *  - Legacy discovery: /api (APIVersions, with serverAddressByClientCIDRs
 *    for the Python client), /apis (APIGroupList), /api/v1 and
 *    /apis/<g>/<v> (APIResourceList; subresources as "pods/log" entries,
 *    the cross-group ones with their own group/version/kind).
 *  - Aggregated discovery (KEP-3352): APIGroupDiscoveryList in v2 and
 *    v2beta1, chosen from the Accept list; the response Content-Type names
 *    the version exactly, because client-go parses by Content-Type
 *    (kubectl-wire.md §2.2, §10.2).
 *  - OpenAPI v3: an index whose serverRelativeURLs carry a content hash,
 *    and per-group-version documents whose PATCH operations carry
 *    x-kubernetes-group-version-kind and a fieldValidation parameter, which
 *    is what kubectl looks for to trust server-side validation (§3.1).
 *    components.schemas carry the strategic-merge-patch metadata of every
 *    kind of the group version, generated from the type graph of
 *    patch_schema.c (the one the patch engine uses) in the API server's
 *    format: schema names by Go package, x-kubernetes-group-version-kind
 *    on the kinds, $ref through allOf, x-kubernetes-patch-strategy and
 *    x-kubernetes-patch-merge-key on the fields; the types a kind reaches
 *    are repeated in every document that needs them, as the API server
 *    does. kubectl-lite builds its apply patches from them. The real
 *    kubectl is kept on its built-in metadata on purpose (see op()).
 *    /openapi/v2 is answered 404 on purpose: kubectl then uses the patch
 *    metadata built into its types.
 * No group version is advertised without resources (§2.4, empty GVs turn
 * kubectl's discovery cache off).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apiserver/api_int.h"
#include "apiserver/patch_int.h"
#include "lib/err.h"

static const char *const verbs_all[] = {"create", "delete", "deletecollection",
                                        "get",    "list",   "patch",
                                        "update", "watch"};

struct subdef {
    unsigned bit;
    const char *name;
    const char *group, *version, *kind; /* NULL kind = the resource's */
    const char *verbs[3];
};
static const struct subdef subdefs[] = {
    {API_SUB_STATUS, "status", NULL, NULL, NULL, {"get", "patch", "update"}},
    {API_SUB_SCALE,
     "scale",
     "autoscaling",
     "v1",
     "Scale",
     {"get", "patch", "update"}},
    {API_SUB_BINDING, "binding", "", "v1", "Binding", {"create"}},
    {API_SUB_EVICTION, "eviction", "policy", "v1", "Eviction", {"create"}},
    {API_SUB_LOG, "log", "", "v1", "Pod", {"get"}},
    {API_SUB_FINALIZE, "finalize", NULL, NULL, NULL, {"update"}},
};

static json_t *str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        if (v[i])
            json_array_append_new(a, json_string(v[i]));
    return a;
}

static size_t nshort(const struct api_resource *r)
{
    size_t n = 0;
    while (n < 3 && r->short_names[n])
        n++;
    return n;
}

/* Group versions served, in order: "" v1 first. */
struct gv {
    const char *group, *version;
};
static size_t list_gvs(struct gv *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < api_nresources; i++) {
        const struct api_resource *r = &api_resources[i];
        size_t j;
        for (j = 0; j < n; j++)
            if (strcmp(out[j].group, r->group) == 0 &&
                strcmp(out[j].version, r->version) == 0)
                break;
        if (j == n && n < max) {
            out[n].group = r->group;
            out[n].version = r->version;
            n++;
        }
    }
    return n;
}

static json_t *resource_list(const char *group, const char *version)
{
    json_t *res = json_array();
    char gv[128];

    if (group[0])
        snprintf(gv, sizeof gv, "%s/%s", group, version);
    else
        snprintf(gv, sizeof gv, "%s", version);
    for (size_t i = 0; i < api_nresources; i++) {
        const struct api_resource *r = &api_resources[i];
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        json_t *e =
            json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", r->resource,
                      "singularName", r->singular, "namespaced", r->namespaced,
                      "kind", r->kind, "verbs", str_array(verbs_all, 8));
        if (nshort(r))
            json_object_set_new(e, "shortNames",
                                str_array(r->short_names, nshort(r)));
        if (r->cat_all)
            json_object_set_new(e, "categories", json_pack("[s]", "all"));
        json_array_append_new(res, e);
        for (size_t s = 0; s < sizeof subdefs / sizeof subdefs[0]; s++) {
            const struct subdef *d = &subdefs[s];
            char name[128];
            size_t nv = 0;
            if (!(r->subresources & d->bit))
                continue;
            while (nv < 3 && d->verbs[nv])
                nv++;
            snprintf(name, sizeof name, "%s/%s", r->resource, d->name);
            e = json_pack("{s:s, s:s, s:b, s:s, s:o}", "name", name,
                          "singularName", "", "namespaced", r->namespaced,
                          "kind", d->kind ? d->kind : r->kind, "verbs",
                          str_array(d->verbs, nv));
            if (d->group && (strcmp(d->group, group) != 0 ||
                             strcmp(d->version, version) != 0)) {
                json_object_set_new(e, "group", json_string(d->group));
                json_object_set_new(e, "version", json_string(d->version));
            }
            json_array_append_new(res, e);
        }
    }
    return json_pack("{s:s, s:s, s:s, s:o}", "kind", "APIResourceList",
                     "apiVersion", "v1", "groupVersion", gv, "resources", res);
}

static json_t *agg_resources(const char *group, const char *version)
{
    json_t *res = json_array();

    for (size_t i = 0; i < api_nresources; i++) {
        const struct api_resource *r = &api_resources[i];
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        json_t *e = json_pack(
            "{s:s, s:{s:s, s:s, s:s}, s:s, s:s, s:o}", "resource", r->resource,
            "responseKind", "group", r->group, "version", r->version, "kind",
            r->kind, "scope", r->namespaced ? "Namespaced" : "Cluster",
            "singularResource", r->singular, "verbs", str_array(verbs_all, 8));
        if (nshort(r))
            json_object_set_new(e, "shortNames",
                                str_array(r->short_names, nshort(r)));
        if (r->cat_all)
            json_object_set_new(e, "categories", json_pack("[s]", "all"));
        json_t *subs = json_array();
        for (size_t s = 0; s < sizeof subdefs / sizeof subdefs[0]; s++) {
            const struct subdef *d = &subdefs[s];
            size_t nv = 0;
            if (!(r->subresources & d->bit))
                continue;
            while (nv < 3 && d->verbs[nv])
                nv++;
            json_array_append_new(
                subs, json_pack("{s:s, s:{s:s, s:s, s:s}, s:o}", "subresource",
                                d->name, "responseKind", "group",
                                d->group ? d->group : r->group, "version",
                                d->version ? d->version : r->version, "kind",
                                d->kind ? d->kind : r->kind, "verbs",
                                str_array(d->verbs, nv)));
        }
        if (json_array_size(subs))
            json_object_set_new(e, "subresources", subs);
        else
            json_decref(subs);
        json_array_append_new(res, e);
    }
    return res;
}

static char *agg_doc(bool core, const char *av)
{
    struct gv gvs[32];
    size_t n = list_gvs(gvs, 32);
    json_t *items = json_array();

    for (size_t i = 0; i < n; i++) {
        if ((gvs[i].group[0] == '\0') != core)
            continue;
        /* one item per group; versions of the same group together */
        json_t *item = NULL;
        size_t idx;
        json_t *it;
        json_array_foreach (items, idx, it) {
            if (strcmp(json_string_value(json_object_get(
                           json_object_get(it, "metadata"), "name")),
                       gvs[i].group) == 0)
                item = it;
        }
        if (item == NULL) {
            item = json_pack("{s:{s:s}, s:[]}", "metadata", "name",
                             gvs[i].group, "versions");
            json_array_append_new(items, item);
        }
        json_array_append_new(
            json_object_get(item, "versions"),
            json_pack("{s:s, s:o, s:s}", "version", gvs[i].version, "resources",
                      agg_resources(gvs[i].group, gvs[i].version), "freshness",
                      "Current"));
    }
    json_t *doc =
        json_pack("{s:s, s:s, s:{}, s:o}", "kind", "APIGroupDiscoveryList",
                  "apiVersion", av, "metadata", "items", items);
    char *s = api_json_dump(doc, NULL);
    json_decref(doc);
    return s;
}

static json_t *api_group(const char *group)
{
    struct gv gvs[32];
    size_t n = list_gvs(gvs, 32);
    json_t *versions = json_array(), *pref = NULL;

    for (size_t i = 0; i < n; i++) {
        char gv[128];
        if (strcmp(gvs[i].group, group) != 0)
            continue;
        snprintf(gv, sizeof gv, "%s/%s", group, gvs[i].version);
        json_array_append_new(versions,
                              json_pack("{s:s, s:s}", "groupVersion", gv,
                                        "version", gvs[i].version));
        if (pref == NULL)
            pref = json_pack("{s:s, s:s}", "groupVersion", gv, "version",
                             gvs[i].version);
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "kind", "APIGroup",
                     "apiVersion", "v1", "name", group, "versions", versions,
                     "preferredVersion", pref ? pref : json_object());
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ull; /* FNV-1a 64 offset basis */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

static json_t *param(const char *name, const char *in, bool required)
{
    json_t *p = json_pack("{s:s, s:s, s:{s:s}, s:b}", "name", name, "in", in,
                          "schema", "type", "string", "uniqueItems", true);
    if (required)
        json_object_set_new(p, "required", json_true());
    return p;
}

/*
 * One operation. A PATCH lists no requestBody on purpose. kubectl 1.32's
 * client-side apply (and diff) uses the OpenAPI v3 schemas for its patch
 * metadata only when the PATCH operation of the kind lists
 * requestBody.content "application/strategic-merge-patch+json"
 * (gvkSupportsPatchOpenAPIV3 in k8s.io/kubectl pkg/cmd/apply/patcher.go);
 * it then walks the schema with PatchMetaFromOpenAPIV3, which fails
 * ("unable to find api field") on any changed map or list the schema does
 * not describe: resources, args, selector, labels... Our schemas describe
 * only the fields that carry a strategy and the path to them, so kubectl
 * would print a warning and fall back on every such change. Without the
 * requestBody it logs "OpenAPI V3 path does not support strategic merge
 * patch" (-v=5), gets 404 from /openapi/v2 and uses the metadata compiled
 * into its Go types, which is exact for every kind k1s serves (all
 * built-in). kubectl-lite reads the schemas directly and does not look at
 * requestBody.
 */
static json_t *op(const struct api_resource *r, const char *action,
                  const char *id, bool item, bool write)
{
    json_t *params = json_array();
    if (item)
        json_array_append_new(params, param("name", "path", true));
    if (r->namespaced)
        json_array_append_new(params, param("namespace", "path", true));
    if (write) {
        json_array_append_new(params, param("dryRun", "query", false));
        json_array_append_new(params, param("fieldManager", "query", false));
        json_array_append_new(params, param("fieldValidation", "query", false));
        if (strcmp(action, "patch") == 0)
            json_array_append_new(params, param("force", "query", false));
    } else if (strcmp(action, "list") == 0) {
        static const char *const lp[] = {
            "allowWatchBookmarks",  "continue",       "fieldSelector",
            "labelSelector",        "limit",          "resourceVersion",
            "resourceVersionMatch", "timeoutSeconds", "watch"};
        for (size_t i = 0; i < sizeof lp / sizeof lp[0]; i++)
            json_array_append_new(params, param(lp[i], "query", false));
    }
    return json_pack("{s:[s], s:s, s:o, s:{s:{s:s}}, s:s, s:{s:s, s:s, "
                     "s:s}}",
                     "tags", r->kind, "operationId", id, "parameters", params,
                     "responses", "200", "description", "OK",
                     "x-kubernetes-action", action,
                     "x-kubernetes-group-version-kind", "group", r->group,
                     "version", r->version, "kind", r->kind);
}

/* "io.k8s.api.core.v1.PodSpec": how OpenAPI names a type of the graph. */
static void schema_name(const struct api_smp_type *t, char *out, size_t len)
{
    snprintf(out, len, "%s.%s", t->pkg, t->name);
}

/* A reference to a struct type, as the API server writes it for a field
 * of that type (non-pointer Go structs carry "default": {}). */
static json_t *schema_ref(const struct api_smp_type *t)
{
    char name[160], ref[192];

    schema_name(t, name, sizeof name);
    snprintf(ref, sizeof ref, "#/components/schemas/%s", name);
    return json_pack("{s:[{s:s}], s:{}}", "allOf", "$ref", ref, "default");
}

/* The schema of one field: its value (or items) and its patch metadata. */
static json_t *field_schema(const struct api_smp_field *f)
{
    json_t *s;
    char strategy[64] = "";

    if (f->list)
        s = json_pack(
            "{s:s, s:o}", "type", "array", "items",
            f->type ? schema_ref(f->type)
                    : json_pack("{s:s, s:s}", "type", "string", "default", ""));
    else if (f->type)
        s = schema_ref(f->type);
    else
        s = json_object(); /* not in the graph: any value */
    if (s == NULL)
        return NULL;
    /* the tag's order: "merge,retainKeys" */
    if (f->strategy & API_SMP_MERGE)
        strcat(strategy, "merge");
    if (f->strategy & API_SMP_RETAIN)
        strcat(strategy, strategy[0] ? ",retainKeys" : "retainKeys");
    if (f->strategy & API_SMP_REPLACE)
        strcat(strategy, strategy[0] ? ",replace" : "replace");
    if (f->merge_key)
        json_object_set_new(s, "x-kubernetes-patch-merge-key",
                            json_string(f->merge_key));
    if (strategy[0])
        json_object_set_new(s, "x-kubernetes-patch-strategy",
                            json_string(strategy));
    return s;
}

/* Adds the schema of t, and of every type it reaches, to `schemas` unless
 * it is there already; returns the schema (borrowed) or NULL (no memory).
 * A type is added before its fields are followed, so a type reached twice
 * is described once. */
static json_t *add_schema(json_t *schemas, const struct api_smp_type *t)
{
    char name[160];
    json_t *s, *props;

    schema_name(t, name, sizeof name);
    s = json_object_get(schemas, name);
    if (s != NULL)
        return s;
    s = json_pack("{s:s}", "type", "object");
    if (s == NULL || json_object_set_new(schemas, name, s) != 0)
        return NULL;
    if (t->fields[0].name == NULL)
        return s;
    props = json_object();
    if (props == NULL || json_object_set_new(s, "properties", props) != 0)
        return NULL;
    for (const struct api_smp_field *f = t->fields; f->name != NULL; f++) {
        json_object_set_new(props, f->name, field_schema(f));
        if (f->type != NULL && add_schema(schemas, f->type) == NULL)
            return NULL;
    }
    return s;
}

/* The schema of kind r with its x-kubernetes-group-version-kind. A kind
 * the graph does not describe gets an empty one named after its group. */
static void add_kind_schema(json_t *schemas, const struct api_resource *r)
{
    const struct api_smp_type *t;
    json_t *s, *props, *gvks;
    char av[128];

    api_resource_gv(r, av, sizeof av);
    t = api_smp_kind_type(av, r->kind);
    if (t != NULL) {
        s = add_schema(schemas, t);
    } else {
        char name[256];
        size_t glen = strcspn(r->group, ".");
        snprintf(name, sizeof name, "io.k8s.api.%.*s.%s.%s",
                 glen ? (int)glen : 4, glen ? r->group : "core", r->version,
                 r->kind);
        s = json_pack("{s:s}", "type", "object");
        if (s != NULL && json_object_set_new(schemas, name, s) != 0)
            s = NULL;
    }
    if (s == NULL)
        return;
    props = json_object_get(s, "properties");
    if (props == NULL) {
        props = json_object();
        json_object_set_new(s, "properties", props);
    }
    json_object_set_new(props, "apiVersion",
                        json_pack("{s:s}", "type", "string"));
    json_object_set_new(props, "kind", json_pack("{s:s}", "type", "string"));
    gvks = json_object_get(s, "x-kubernetes-group-version-kind");
    if (gvks == NULL) {
        gvks = json_array();
        json_object_set_new(s, "x-kubernetes-group-version-kind", gvks);
    }
    json_array_append_new(gvks,
                          json_pack("{s:s, s:s, s:s}", "group", r->group,
                                    "kind", r->kind, "version", r->version));
}

static json_t *openapi_gv_doc(const char *group, const char *version)
{
    json_t *paths = json_object(), *schemas = json_object();

    for (size_t i = 0; i < api_nresources; i++) {
        const struct api_resource *r = &api_resources[i];
        char base[256], p[300], id[128];
        if (strcmp(r->group, group) != 0 || strcmp(r->version, version) != 0)
            continue;
        if (group[0])
            snprintf(base, sizeof base, "/apis/%s/%s%s%s", group, version,
                     r->namespaced ? "/namespaces/{namespace}/" : "/",
                     r->resource);
        else
            snprintf(base, sizeof base, "/api/%s%s%s", version,
                     r->namespaced ? "/namespaces/{namespace}/" : "/",
                     r->resource);
        snprintf(id, sizeof id, "list%s", r->kind);
        json_t *coll = json_object();
        json_object_set_new(coll, "get", op(r, "list", id, false, false));
        snprintf(id, sizeof id, "create%s", r->kind);
        json_object_set_new(coll, "post", op(r, "post", id, false, true));
        snprintf(id, sizeof id, "deletecollection%s", r->kind);
        json_object_set_new(coll, "delete",
                            op(r, "deletecollection", id, false, false));
        json_object_set_new(paths, base, coll);
        snprintf(p, sizeof p, "%s/{name}", base);
        json_t *item = json_object();
        snprintf(id, sizeof id, "read%s", r->kind);
        json_object_set_new(item, "get", op(r, "get", id, true, false));
        snprintf(id, sizeof id, "replace%s", r->kind);
        json_object_set_new(item, "put", op(r, "put", id, true, true));
        snprintf(id, sizeof id, "patch%s", r->kind);
        json_object_set_new(item, "patch", op(r, "patch", id, true, true));
        snprintf(id, sizeof id, "delete%s", r->kind);
        json_object_set_new(item, "delete", op(r, "delete", id, true, false));
        json_object_set_new(paths, p, item);
        if (r->subresources & API_SUB_STATUS) {
            snprintf(p, sizeof p, "%s/{name}/status", base);
            json_t *st = json_object();
            snprintf(id, sizeof id, "read%sStatus", r->kind);
            json_object_set_new(st, "get", op(r, "get", id, true, false));
            snprintf(id, sizeof id, "patch%sStatus", r->kind);
            json_object_set_new(st, "patch", op(r, "patch", id, true, true));
            snprintf(id, sizeof id, "replace%sStatus", r->kind);
            json_object_set_new(st, "put", op(r, "put", id, true, true));
            json_object_set_new(paths, p, st);
        }
        add_kind_schema(schemas, r);
    }
    return json_pack("{s:s, s:{s:s, s:s}, s:o, s:{s:o}}", "openapi", "3.0.0",
                     "info", "title", "Kubernetes", "version", "v1.32.4-k1s",
                     "paths", paths, "components", "schemas", schemas);
}

int api_discovery_build(struct api_server *srv)
{
    struct gv gvs[32];
    size_t n = list_gvs(gvs, 32);
    char addr[64];
    json_t *doc, *groups = json_array(), *index = json_object();

    api_discovery_free(srv);
    snprintf(addr, sizeof addr, "%s:%d",
             srv->cfg.bind_address ? srv->cfg.bind_address : "127.0.0.1",
             srv->port);
    doc = json_pack("{s:s, s:[s], s:[{s:s, s:s}]}", "kind", "APIVersions",
                    "versions", "v1", "serverAddressByClientCIDRs",
                    "clientCIDR", "0.0.0.0/0", "serverAddress", addr);
    srv->doc_api = api_json_dump(doc, NULL);
    json_decref(doc);

    srv->doc_gv = json_object();
    srv->doc_openapi_gv = json_object();
    for (size_t i = 0; i < n; i++) {
        char key[128], okey[160], url[256];
        if (gvs[i].group[0]) {
            snprintf(key, sizeof key, "%s/%s", gvs[i].group, gvs[i].version);
            snprintf(okey, sizeof okey, "apis/%s", key);
            /* one APIGroup per group (versions collected by api_group) */
            size_t idx;
            json_t *g;
            bool seen = false;
            json_array_foreach (groups, idx, g) {
                if (strcmp(json_string_value(json_object_get(g, "name")),
                           gvs[i].group) == 0)
                    seen = true;
            }
            if (!seen) {
                json_t *grp = api_group(gvs[i].group);
                json_object_del(grp, "kind");
                json_object_del(grp, "apiVersion");
                json_array_append_new(groups, grp);
            }
        } else {
            snprintf(key, sizeof key, "%s", gvs[i].version);
            snprintf(okey, sizeof okey, "api/%s", key);
        }
        doc = resource_list(gvs[i].group, gvs[i].version);
        char *s = api_json_dump(doc, NULL);
        json_object_set_new(srv->doc_gv, key, json_string(s ? s : "{}"));
        free(s);
        json_decref(doc);
        doc = openapi_gv_doc(gvs[i].group, gvs[i].version);
        s = api_json_dump(doc, NULL);
        json_decref(doc);
        if (s == NULL) {
            json_decref(groups);
            json_decref(index);
            return K1S_ENOMEM;
        }
        /* the hash is of the content: a client's cached document is
         * refetched whenever the document changes */
        snprintf(url, sizeof url, "/openapi/v3/%s?hash=%016llX", okey,
                 (unsigned long long)fnv1a(s));
        json_object_set_new(srv->doc_openapi_gv, okey, json_string(s));
        json_object_set_new(index, okey,
                            json_pack("{s:s}", "serverRelativeURL", url));
        free(s);
    }
    doc = json_pack("{s:s, s:s, s:o}", "kind", "APIGroupList", "apiVersion",
                    "v1", "groups", groups);
    srv->doc_apis = api_json_dump(doc, NULL);
    json_decref(doc);
    doc = json_pack("{s:o}", "paths", index);
    srv->doc_openapi = api_json_dump(doc, NULL);
    json_decref(doc);
    srv->doc_agg_api[0] = agg_doc(true, "apidiscovery.k8s.io/v2");
    srv->doc_agg_api[1] = agg_doc(true, "apidiscovery.k8s.io/v2beta1");
    srv->doc_agg_apis[0] = agg_doc(false, "apidiscovery.k8s.io/v2");
    srv->doc_agg_apis[1] = agg_doc(false, "apidiscovery.k8s.io/v2beta1");
    if (!srv->doc_api || !srv->doc_apis || !srv->doc_openapi ||
        !srv->doc_agg_api[0] || !srv->doc_agg_api[1] || !srv->doc_agg_apis[0] ||
        !srv->doc_agg_apis[1])
        return K1S_ENOMEM;
    return 0;
}

void api_discovery_free(struct api_server *srv)
{
    free(srv->doc_api);
    free(srv->doc_apis);
    free(srv->doc_openapi);
    for (int i = 0; i < 2; i++) {
        free(srv->doc_agg_api[i]);
        free(srv->doc_agg_apis[i]);
        srv->doc_agg_api[i] = srv->doc_agg_apis[i] = NULL;
    }
    json_decref(srv->doc_gv);
    json_decref(srv->doc_openapi_gv);
    srv->doc_api = srv->doc_apis = srv->doc_openapi = NULL;
    srv->doc_gv = srv->doc_openapi_gv = NULL;
}

/* Accept negotiation. Returns the first acceptable representation in the
 * client's order: 0 plain JSON, 1 Table, 2 aggregated v2, 3 aggregated
 * v2beta1. */
int api_accept_pick(const char *accept, bool table_ok, bool agg_ok)
{
    const char *p = accept;

    if (p == NULL || *p == '\0')
        return 0;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[256];
        char *save = NULL, *tok;
        const char *as = NULL, *g = NULL, *v = NULL;
        char type[128] = "";

        if (n >= sizeof item)
            n = sizeof item - 1;
        memcpy(item, p, n);
        item[n] = '\0';
        for (tok = strtok_r(item, ";", &save); tok;
             tok = strtok_r(NULL, ";", &save)) {
            while (*tok == ' ')
                tok++;
            char *e = tok + strlen(tok);
            while (e > tok && e[-1] == ' ')
                *--e = '\0';
            if (type[0] == '\0') {
                snprintf(type, sizeof type, "%s", tok);
                continue;
            }
            if (strncmp(tok, "as=", 3) == 0)
                as = tok + 3;
            else if (strncmp(tok, "g=", 2) == 0)
                g = tok + 2;
            else if (strncmp(tok, "v=", 2) == 0)
                v = tok + 2;
        }
        if (as == NULL) {
            if (strcasecmp(type, "application/json") == 0 ||
                strcmp(type, "*/*") == 0 ||
                strcasecmp(type, "application/*") == 0 ||
                strcasecmp(type, "application/vnd.kubernetes.protobuf") == 0)
                return 0;
        } else if (table_ok && strcmp(as, "Table") == 0 && g &&
                   strcmp(g, "meta.k8s.io") == 0 &&
                   strcasecmp(type, "application/json") == 0) {
            return 1;
        } else if (agg_ok && strcmp(as, "APIGroupDiscoveryList") == 0 && g &&
                   strcmp(g, "apidiscovery.k8s.io") == 0 && v &&
                   strcasecmp(type, "application/json") == 0) {
            if (strcmp(v, "v2") == 0)
                return 2;
            if (strcmp(v, "v2beta1") == 0)
                return 3;
        }
        p = end ? end + 1 : p + n;
    }
    return 0;
}

static bool path_is(const char *path, const char *want)
{
    size_t n = strlen(want);
    return strncmp(path, want, n) == 0 &&
           (path[n] == '\0' || (path[n] == '/' && path[n + 1] == '\0'));
}

static void serve_str(struct api_resp *o, const char *ctype, const char *s)
{
    api_resp_text(o, 200, ctype, s);
}

bool api_discovery_serve(struct api_server *srv, struct api_req *r,
                         struct api_resp *o)
{
    const char *path = r->path;
    static const char *const agg_ct[2] = {
        "application/json;g=apidiscovery.k8s.io;v=v2;as="
        "APIGroupDiscoveryList",
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as="
        "APIGroupDiscoveryList"};

    if (path_is(path, "/api") || path_is(path, "/apis")) {
        bool core = path[4] != 's';
        int rep;
        if (strcmp(r->method, "GET") != 0)
            goto method;
        rep = api_accept_pick(r->accept, false, true);
        if (rep >= 2) {
            serve_str(o, agg_ct[rep - 2],
                      core ? srv->doc_agg_api[rep - 2]
                           : srv->doc_agg_apis[rep - 2]);
        } else
            serve_str(o, "application/json",
                      core ? srv->doc_api : srv->doc_apis);
        return true;
    }
    if (strncmp(path, "/api/", 5) == 0 && strchr(path + 5, '/') == NULL) {
        json_t *d = json_object_get(srv->doc_gv, path + 5);
        if (d == NULL)
            return false;
        if (strcmp(r->method, "GET") != 0)
            goto method;
        serve_str(o, "application/json", json_string_value(d));
        return true;
    }
    if (strncmp(path, "/apis/", 6) == 0) {
        const char *g = path + 6;
        const char *slash = strchr(g, '/');
        char key[256];
        if (slash == NULL || slash[1] == '\0') {
            /* /apis/<group> */
            size_t n = slash ? (size_t)(slash - g) : strlen(g);
            snprintf(key, sizeof key, "%.*s", (int)n, g);
            for (size_t i = 0; i < api_nresources; i++) {
                if (strcmp(api_resources[i].group, key) == 0) {
                    if (strcmp(r->method, "GET") != 0)
                        goto method;
                    api_resp_json(o, 200, api_group(key));
                    return true;
                }
            }
            return false;
        }
        if (strchr(slash + 1, '/') == NULL ||
            strchr(slash + 1, '/')[1] == '\0') {
            snprintf(key, sizeof key, "%s", g);
            size_t kl = strlen(key);
            if (kl && key[kl - 1] == '/')
                key[kl - 1] = '\0';
            json_t *d = json_object_get(srv->doc_gv, key);
            if (d == NULL)
                return false;
            if (strcmp(r->method, "GET") != 0)
                goto method;
            serve_str(o, "application/json", json_string_value(d));
            return true;
        }
        return false;
    }
    if (path_is(path, "/openapi/v3")) {
        serve_str(o, "application/json", srv->doc_openapi);
        return true;
    }
    if (strncmp(path, "/openapi/v3/", 12) == 0) {
        json_t *d = json_object_get(srv->doc_openapi_gv, path + 12);
        if (d == NULL) {
            api_resp_status(o, K1S_ENOTFOUND, NULL,
                            "the server could not find the requested "
                            "resource");
            return true;
        }
        serve_str(o, "application/json", json_string_value(d));
        return true;
    }
    if (path_is(path, "/openapi/v2")) {
        /* On purpose: kubectl falls back to its built-in patch metadata. */
        api_resp_status(o, K1S_ENOTFOUND, NULL,
                        "the server could not find the requested resource");
        return true;
    }
    return false;
method:
    api_resp_status(o, K1S_EMETHOD, NULL,
                    "the server does not allow this method on the requested "
                    "resource");
    return true;
}

/*
 * DESIGN: resource names from the server's discovery, never from a table of
 * our own, so a kind the server adds is usable at once.
 *
 * One aggregated-discovery request each for /api and /apis (apidiscovery v2,
 * what kubectl 1.32 asks first); a server that does not answer in that form
 * is asked the legacy way (/api/v1, /apis, then each preferred group
 * version). The result is flattened into one array of resources, the
 * preferred version of each group first, and kept for the process.
 *
 * Name resolution follows kubectl's RESTMapper: "pods", "pod", "po", "Pod",
 * "deployments.apps", "deploy.apps", "deployments.v1.apps"; the first match
 * in discovery order wins (core before the other groups, as kubectl's
 * priority puts the legacy group first).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"

#define AGG_ACCEPT                                                             \
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"    \
    "application/json"

static void add_resource(json_t *out, const char *group, const char *version,
                         const json_t *r, bool aggregated)
{
    const char *name = json_string_value(json_object_get(r, "resource"));
    const char *kind, *singular, *scope;
    bool has_status = false, has_scale = false;
    json_t *e;

    if (!aggregated)
        name = json_string_value(json_object_get(r, "name"));
    if (name == NULL || strchr(name, '/') != NULL)
        return;
    if (aggregated) {
        kind = json_string_value(
            json_object_get(json_object_get(r, "responseKind"), "kind"));
        singular = json_string_value(json_object_get(r, "singularResource"));
        scope = json_string_value(json_object_get(r, "scope"));
        size_t i;
        json_t *s;
        json_array_foreach (json_object_get(r, "subresources"), i, s) {
            const char *sn =
                json_string_value(json_object_get(s, "subresource"));
            if (sn && strcmp(sn, "status") == 0)
                has_status = true;
            if (sn && strcmp(sn, "scale") == 0)
                has_scale = true;
        }
    } else {
        kind = json_string_value(json_object_get(r, "kind"));
        singular = json_string_value(json_object_get(r, "singularName"));
        scope = json_is_true(json_object_get(r, "namespaced")) ? "Namespaced"
                                                               : "Cluster";
    }
    e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "group", group,
                  "version", version, "resource", name, "kind",
                  kind ? kind : "", "singular", singular ? singular : "",
                  "namespaced", scope && strcmp(scope, "Namespaced") == 0,
                  "has_status", has_status, "has_scale", has_scale);
    if (e == NULL)
        return;
    static const char *const lists[] = {"shortNames", "verbs", "categories"};
    for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
        json_t *l = json_object_get(r, lists[i]);
        json_object_set_new(
            e, lists[i], json_is_array(l) ? json_deep_copy(l) : json_array());
    }
    json_array_append_new(out, e);
}

/* Aggregated documents (/api or /apis): appends their resources. */
static int add_aggregated(json_t *out, const json_t *doc)
{
    size_t i, j, k;
    json_t *g, *v, *r;

    if (!json_is_array(json_object_get(doc, "items")))
        return -1;
    json_array_foreach (json_object_get(doc, "items"), i, g) {
        const char *group = json_string_value(
            json_object_get(json_object_get(g, "metadata"), "name"));
        json_array_foreach (json_object_get(g, "versions"), j, v) {
            const char *version =
                json_string_value(json_object_get(v, "version"));
            json_array_foreach (json_object_get(v, "resources"), k, r) {
                add_resource(out, group ? group : "", version ? version : "", r,
                             true);
            }
        }
    }
    return 0;
}

static int fetch(struct kctl_client *cl, const char *path, const char *accept,
                 json_t **ret)
{
    struct kctl_resp r;
    int rv = kctl_http(cl, "GET", path, NULL, NULL, 0, accept, &r);

    *ret = NULL;
    if (rv != 0) {
        kctl_resp_close(&r);
        return -1;
    }
    if (r.status < 200 || r.status > 299) {
        kctl_print_status(&r, NULL);
        kctl_resp_close(&r);
        return -1;
    }
    *ret = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
    kctl_resp_close(&r);
    return *ret ? 0 : -1;
}

/* The legacy form: /api/v1 and each group's preferred version. */
static int add_legacy(struct kctl_client *cl, json_t *out)
{
    json_t *doc, *groups;
    size_t i, k;
    json_t *g, *r;

    if (fetch(cl, "/api/v1", NULL, &doc) != 0)
        return -1;
    json_array_foreach (json_object_get(doc, "resources"), k, r) {
        add_resource(out, "", "v1", r, false);
    }
    json_decref(doc);
    if (fetch(cl, "/apis", NULL, &groups) != 0)
        return -1;
    json_array_foreach (json_object_get(groups, "groups"), i, g) {
        const char *gv = json_string_value(json_object_get(
            json_object_get(g, "preferredVersion"), "groupVersion"));
        const char *group = json_string_value(json_object_get(g, "name"));
        const char *version = json_string_value(
            json_object_get(json_object_get(g, "preferredVersion"), "version"));
        struct buf p;
        if (gv == NULL || group == NULL || version == NULL)
            continue;
        buf_init(&p);
        buf_printf(&p, "/apis/%s", gv);
        if (fetch(cl, p.data, NULL, &doc) == 0) {
            json_array_foreach (json_object_get(doc, "resources"), k, r) {
                add_resource(out, group, version, r, false);
            }
            json_decref(doc);
        }
        buf_close(&p);
    }
    json_decref(groups);
    return 0;
}

const json_t *kctl_discovery(struct kctl_client *cl)
{
    json_t *out, *doc;

    if (cl->discovery != NULL)
        return cl->discovery;
    out = json_array();
    if (fetch(cl, "/api", AGG_ACCEPT, &doc) != 0) {
        json_decref(out);
        return NULL;
    }
    if (add_aggregated(out, doc) == 0) {
        json_decref(doc);
        if (fetch(cl, "/apis", AGG_ACCEPT, &doc) == 0)
            add_aggregated(out, doc);
    } else {
        json_array_clear(out);
        if (add_legacy(cl, out) != 0) {
            json_decref(doc);
            json_decref(out);
            return NULL;
        }
    }
    json_decref(doc);
    cl->discovery = out;
    return out;
}

static const char *str_or_empty(const json_t *v)
{
    const char *s = json_string_value(v);
    return s ? s : "";
}

static void fill(struct kctl_resource *ret, const json_t *e)
{
    memset(ret, 0, sizeof *ret);
#define COPY(field)                                                            \
    snprintf(ret->field, sizeof ret->field, "%s",                              \
             str_or_empty(json_object_get(e, #field)))
    COPY(group);
    COPY(version);
    COPY(resource);
    COPY(singular);
    COPY(kind);
#undef COPY
    ret->namespaced = json_is_true(json_object_get(e, "namespaced"));
    ret->has_status = json_is_true(json_object_get(e, "has_status"));
    ret->has_scale = json_is_true(json_object_get(e, "has_scale"));
}

static bool name_matches(const json_t *e, const char *name)
{
    const char *res = json_string_value(json_object_get(e, "resource"));
    const char *sing = json_string_value(json_object_get(e, "singular"));
    const char *kind = json_string_value(json_object_get(e, "kind"));
    size_t i;
    json_t *s;

    if ((res && strcasecmp(res, name) == 0) ||
        (sing && strcasecmp(sing, name) == 0) ||
        (kind && strcasecmp(kind, name) == 0))
        return true;
    json_array_foreach (json_object_get(e, "shortNames"), i, s) {
        if (strcasecmp(json_string_value(s), name) == 0)
            return true;
    }
    return false;
}

int kctl_resource_find(struct kctl_client *cl, const char *name,
                       struct kctl_resource *ret)
{
    const json_t *all = kctl_discovery(cl);
    char word[256], *dot, *rest = NULL;
    const char *version = NULL, *group = NULL;
    size_t i;
    json_t *e;

    if (all == NULL)
        return -1;
    snprintf(word, sizeof word, "%s", name);
    dot = strchr(word, '.');
    if (dot != NULL) {
        *dot = '\0';
        rest = dot + 1;
    }
    /* "x.v1.apps" (resource.version.group) or "x.apps" (resource.group) */
    for (int pass = 0; pass < 2; pass++) {
        if (rest != NULL) {
            char *d2 = strchr(rest, '.');
            if (pass == 0 && d2 != NULL && rest[0] == 'v' &&
                isdigit((unsigned char)rest[1])) {
                version = strndup(rest, (size_t)(d2 - rest));
                group = d2 + 1;
            } else {
                free((void *)version);
                version = NULL;
                group = rest;
            }
        }
        json_array_foreach (all, i, e) {
            const char *eg = json_string_value(json_object_get(e, "group"));
            const char *ev = json_string_value(json_object_get(e, "version"));
            if (!name_matches(e, word))
                continue;
            if (group != NULL && strcmp(eg, group) != 0)
                continue;
            if (version != NULL && strcmp(ev, version) != 0)
                continue;
            fill(ret, e);
            free((void *)version);
            return 0;
        }
        if (rest == NULL)
            break;
    }
    free((void *)version);
    fprintf(stderr, "error: the server doesn't have a resource type \"%s\"\n",
            name);
    return -1;
}

int kctl_resource_for_kind(struct kctl_client *cl, const char *api_version,
                           const char *kind, struct kctl_resource *ret)
{
    const json_t *all = kctl_discovery(cl);
    const char *slash = api_version ? strchr(api_version, '/') : NULL;
    char group[128] = "";
    const char *version = api_version;
    size_t i;
    json_t *e;

    if (all == NULL)
        return -1;
    if (slash != NULL) {
        snprintf(group, sizeof group, "%.*s", (int)(slash - api_version),
                 api_version);
        version = slash + 1;
    }
    json_array_foreach (all, i, e) {
        if (kind != NULL &&
            strcmp(json_string_value(json_object_get(e, "kind")), kind) == 0 &&
            strcmp(json_string_value(json_object_get(e, "group")), group) ==
                0 &&
            version != NULL &&
            strcmp(json_string_value(json_object_get(e, "version")), version) ==
                0) {
            fill(ret, e);
            return 0;
        }
    }
    fprintf(stderr,
            "error: resource mapping not found for kind \"%s\" in version "
            "\"%s\": no matches for kind \"%s\" in version \"%s\"\n"
            "ensure CRDs are installed first\n",
            kind ? kind : "", api_version ? api_version : "", kind ? kind : "",
            api_version ? api_version : "");
    return -1;
}

int kctl_resource_path(struct buf *out, const struct kctl_resource *r,
                       const char *ns, const char *name)
{
    int rv;
    if (r->group[0] == '\0')
        rv = buf_printf(out, "/api/%s", r->version);
    else
        rv = buf_printf(out, "/apis/%s/%s", r->group, r->version);
    if (rv == 0 && r->namespaced && ns != NULL && ns[0] != '\0') {
        rv = buf_append_str(out, "/namespaces/");
        if (rv == 0)
            rv = kctl_query_escape(out, ns);
    }
    if (rv == 0)
        rv = buf_printf(out, "/%s", r->resource);
    if (rv == 0 && name != NULL) {
        rv = buf_append_str(out, "/");
        if (rv == 0)
            rv = kctl_query_escape(out, name);
    }
    return rv;
}

void kctl_resource_qualified(const struct kctl_resource *r, bool singular,
                             char *out, size_t len)
{
    const char *n = singular ? r->singular : r->resource;
    if (singular && n[0] == '\0') {
        /* singular unknown: kind in lower case, as kubectl falls back */
        char low[64];
        size_t i;
        for (i = 0; r->kind[i] != '\0' && i + 1 < sizeof low; i++)
            low[i] = (char)tolower((unsigned char)r->kind[i]);
        low[i] = '\0';
        snprintf(out, len, "%s%s%s", low, r->group[0] ? "." : "", r->group);
        return;
    }
    snprintf(out, len, "%s%s%s", n, r->group[0] ? "." : "", r->group);
}

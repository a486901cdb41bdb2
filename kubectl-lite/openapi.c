/*
 * DESIGN: strategic-merge-patch metadata from the server's OpenAPI v3
 * documents, read the way kubectl 1.32 reads them (k8s.io/apimachinery
 * strategicpatch PatchMetaFromOpenAPIV3).
 *
 * A group-version document holds components.schemas; the schema of a kind
 * carries x-kubernetes-group-version-kind; a field's schema carries
 * x-kubernetes-patch-strategy ("merge", "retainKeys", "merge,retainKeys")
 * and x-kubernetes-patch-merge-key, and leads to the schema of its value
 * through allOf:[{$ref}] or a direct $ref (for a list: through items).
 * As in kubectl, the metadata is read on the field itself, before the
 * reference is followed.
 *
 * One difference from kubectl, on purpose: kubectl fails the whole patch
 * ("unable to find api field") when a changed map or list is not described
 * by the schema, then falls back on the metadata compiled into its Go
 * types. kubectl-lite has no Go types, and the k1s server describes only
 * the fields that carry a strategy and the path to them, so a field the
 * schema does not describe simply has no metadata: maps merge, lists are
 * replaced whole — what the Go types say for such fields. A map whose
 * values have a schema (additionalProperties) leads to that schema.
 *
 * Positions. kctl_smp_lookup() must hand out a stable pointer for the
 * schema under a field, and resolving a $ref needs the document's
 * components.schemas. A position is therefore a small C struct
 * {schemas, node, cache}, and it has to live exactly as long as the
 * document. It is kept inside the document itself: a private member
 * "x-kctl-smp" of the document (an object, the cache) maps "p:<address of
 * the schema node>" to a JSON string whose bytes are the struct (jansson
 * allocates string storage with malloc, so it is aligned, and never moves
 * it while the string is not set again). The pointers in the struct are
 * plain addresses, not references, so no reference cycle is made and the
 * whole cache is freed with the document. "k:<group>/<version>/<kind>"
 * caches the root position of a kind (null: the document does not
 * describe it). The document is therefore written to, although it is
 * passed as const; nothing else in it changes.
 *
 * kctl_openapi_schema() fetches GET /openapi/v3 (the index) and the
 * group-version document named by its serverRelativeURL, once per
 * process, into cl->openapi ("_index", "apis/apps/v1", "api/v1"); a
 * failed fetch is remembered as null and not retried.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "kubectl-lite/kctl_int.h"

#define CACHE_MEMBER "x-kctl-smp"
#define REF_PREFIX "#/components/schemas/"
#define MAX_REF_HOPS 8 /* allOf/$ref chains followed for one schema */

struct kctl_smp_schema {
    const json_t *schemas; /* components.schemas of the document */
    const json_t *node;    /* the (resolved) schema object here */
    json_t *cache;         /* the document's private position cache */
};

/* ---------------------------------------------------------- positions */

/* The position of `node`, created on first use. Returns NULL only when
 * out of memory (the caller then sees "no metadata"). */
static const struct kctl_smp_schema *
position_get(json_t *cache, const json_t *schemas, const json_t *node)
{
    char key[48];
    json_t *str;

    snprintf(key, sizeof key, "p:%p", (const void *)node);
    str = json_object_get(cache, key);
    if (str == NULL) {
        struct kctl_smp_schema pos = {schemas, node, cache};
        str = json_stringn_nocheck((const char *)&pos, sizeof pos);
        if (str == NULL || json_object_set_new(cache, key, str) != 0)
            return NULL;
    }
    if (!json_is_string(str) ||
        json_string_length(str) != sizeof(struct kctl_smp_schema))
        return NULL;
    return (const struct kctl_smp_schema *)(const void *)json_string_value(str);
}

/* Follows allOf[0] and $ref to the schema object they stand for (kubectl's
 * resolve, a few hops deep). NULL when a reference does not resolve. */
static const json_t *resolve(const json_t *schemas, const json_t *n)
{
    for (int hop = 0; hop < MAX_REF_HOPS && json_is_object(n); hop++) {
        const json_t *all = json_object_get(n, "allOf");
        const char *ref;

        if (json_is_array(all) && json_array_size(all) > 0) {
            n = json_array_get(all, 0);
            continue;
        }
        ref = json_string_value(json_object_get(n, "$ref"));
        if (ref == NULL)
            return n;
        if (strncmp(ref, REF_PREFIX, strlen(REF_PREFIX)) != 0)
            return NULL;
        n = json_object_get(schemas, ref + strlen(REF_PREFIX));
    }
    return NULL;
}

/* A schema under which a lookup can find something. */
static bool has_fields(const json_t *n)
{
    return json_is_object(json_object_get(n, "properties")) ||
           json_is_object(json_object_get(n, "additionalProperties"));
}

/* Reads "merge" and "retainKeys" out of x-kubernetes-patch-strategy (a
 * comma-separated list, as in the Go struct tags). "replace" has no field
 * in struct kctl_smp_field and no built-in type uses it. */
static void parse_strategy(const char *s, struct kctl_smp_field *f)
{
    while (s != NULL && *s != '\0') {
        size_t n = strcspn(s, ",");
        if (n == 5 && strncmp(s, "merge", 5) == 0)
            f->merge = true;
        else if (n == 10 && strncmp(s, "retainKeys", 10) == 0)
            f->retain_keys = true;
        s += n;
        if (*s == ',')
            s++;
    }
}

void kctl_smp_lookup(const struct kctl_smp_schema *s, const char *field,
                     struct kctl_smp_field *ret)
{
    const json_t *prop, *target, *node;

    memset(ret, 0, sizeof *ret);
    if (s == NULL || field == NULL)
        return;
    prop = json_object_get(json_object_get(s->node, "properties"), field);
    if (json_is_object(prop)) {
        const json_t *items = json_object_get(prop, "items");
        parse_strategy(json_string_value(json_object_get(
                           prop, "x-kubernetes-patch-strategy")),
                       ret);
        ret->merge_key = json_string_value(
            json_object_get(prop, "x-kubernetes-patch-merge-key"));
        target = json_is_object(items) ? items : prop;
    } else {
        /* a map: every key has the schema of additionalProperties */
        target = json_object_get(s->node, "additionalProperties");
        if (!json_is_object(target))
            return;
    }
    node = resolve(s->schemas, target);
    if (node != NULL && has_fields(node))
        ret->sub = position_get(s->cache, s->schemas, node);
}

/* ------------------------------------------------------------ documents */

static bool gvk_matches(const json_t *g, const char *group, const char *version,
                        const char *kind)
{
    const char *gg = json_string_value(json_object_get(g, "group"));
    const char *gv = json_string_value(json_object_get(g, "version"));
    const char *gk = json_string_value(json_object_get(g, "kind"));

    return gv != NULL && gk != NULL && strcmp(gg ? gg : "", group) == 0 &&
           strcmp(gv, version) == 0 && strcmp(gk, kind) == 0;
}

/* Whether schema s declares the kind (x-kubernetes-group-version-kind is a
 * list on schemas; an object is accepted too). */
static bool declares_kind(const json_t *s, const char *group,
                          const char *version, const char *kind)
{
    const json_t *gvks = json_object_get(s, "x-kubernetes-group-version-kind");
    size_t i;
    const json_t *g;

    if (json_is_object(gvks))
        return gvk_matches(gvks, group, version, kind);
    json_array_foreach (gvks, i, g) {
        if (gvk_matches(g, group, version, kind))
            return true;
    }
    return false;
}

const struct kctl_smp_schema *kctl_openapi_schema_from_doc(const json_t *doc,
                                                           const char *group,
                                                           const char *version,
                                                           const char *kind)
{
    const json_t *schemas, *node = NULL, *s;
    const struct kctl_smp_schema *pos;
    json_t *cache, *hit;
    const char *name;
    char *key = NULL;

    if (!json_is_object(doc) || version == NULL || kind == NULL)
        return NULL;
    if (group == NULL)
        group = "";
    schemas = json_object_get(json_object_get(doc, "components"), "schemas");
    if (!json_is_object(schemas))
        return NULL;

    /* the cache is the one thing written to the document (see DESIGN) */
    cache = json_object_get(doc, CACHE_MEMBER);
    if (!json_is_object(cache)) {
        cache = json_object();
        if (cache == NULL ||
            json_object_set_new((json_t *)doc, CACHE_MEMBER, cache) != 0)
            return NULL;
    }
    if (asprintf(&key, "k:%s/%s/%s", group, version, kind) < 0)
        return NULL;
    hit = json_object_get(cache, key);
    if (hit != NULL) {
        pos = json_is_null(hit) ? NULL
                                : (const struct kctl_smp_schema *)(const void *)
                                      json_string_value(hit);
        goto out;
    }

    json_object_foreach ((json_t *)schemas, name, s) {
        if (declares_kind(s, group, version, kind)) {
            node = resolve(schemas, s);
            break;
        }
    }
    pos = node ? position_get(cache, schemas, node) : NULL;
    if (pos != NULL) {
        char pkey[48];
        snprintf(pkey, sizeof pkey, "p:%p", (const void *)node);
        json_object_set(cache, key, json_object_get(cache, pkey));
    } else if (node == NULL) {
        json_object_set_new(cache, key, json_null());
    }
out:
    free(key);
    return pos;
}

/* ---------------------------------------------------------------- fetch */

/* The cached document under `key`, fetched from `path` on first use.
 * NULL when it could not be had (remembered as null). Borrowed. */
static const json_t *fetch(struct kctl_client *cl, const char *key,
                           const char *path)
{
    json_t *doc = json_object_get(cl->openapi, key);

    if (doc == NULL) {
        if (path == NULL ||
            kctl_json(cl, "GET", path, NULL, NULL, true, &doc) != 0)
            doc = NULL;
        if (!json_is_object(doc)) {
            json_decref(doc);
            doc = json_null();
        }
        if (json_object_set_new(cl->openapi, key, doc) != 0)
            return NULL;
    }
    return json_is_object(doc) ? doc : NULL;
}

const struct kctl_smp_schema *kctl_openapi_schema(struct kctl_client *cl,
                                                  const char *group,
                                                  const char *version,
                                                  const char *kind)
{
    const json_t *index, *doc;
    const char *url;
    char gv[160];

    if (cl == NULL || version == NULL || kind == NULL)
        return NULL;
    if (group == NULL)
        group = "";
    if (cl->openapi == NULL && (cl->openapi = json_object()) == NULL)
        return NULL;
    index = fetch(cl, "_index", "/openapi/v3");
    if (index == NULL)
        return NULL;

    if (group[0] != '\0')
        snprintf(gv, sizeof gv, "apis/%s/%s", group, version);
    else
        snprintf(gv, sizeof gv, "api/%s", version);
    url = json_string_value(
        json_object_get(json_object_get(json_object_get(index, "paths"), gv),
                        "serverRelativeURL"));
    /* only a path on the same server is followed */
    if (url != NULL && url[0] != '/')
        url = NULL;
    doc = fetch(cl, gv, url);
    if (doc == NULL)
        return NULL;
    return kctl_openapi_schema_from_doc(doc, group, version, kind);
}

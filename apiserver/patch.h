/*
 * patch — the three PATCH content types of the Kubernetes API, as pure
 * functions over jansson values:
 *
 *   application/merge-patch+json          RFC 7386 JSON merge patch
 *   application/json-patch+json           RFC 6902 JSON patch
 *   application/strategic-merge-patch+json Kubernetes strategic merge patch
 *
 * No I/O, no global state: any thread may call them at any time. Inputs are
 * borrowed and never modified; on success *ret is a new reference the
 * caller owns (json_decref), on failure *ret is untouched. Recursion is
 * bounded by API_PATCH_MAX_DEPTH levels of nesting (a deeper document or
 * patch is refused with K1S_EBADREQ), so no input can exhaust the stack.
 *
 * Errors: K1S_EBADREQ when the patch itself is malformed (not an array of
 * operations, bad JSON pointer, unknown directive, missing merge key ...),
 * K1S_EINVALID when a well-formed patch cannot be applied to this document
 * (a failed `test`, a path that does not exist), K1S_ENOMEM. errbuf (may be
 * NULL) receives a message in the words Kubernetes uses.
 */
#ifndef K1S_APISERVER_PATCH_H
#define K1S_APISERVER_PATCH_H

#include <stddef.h>

#include <jansson.h>

/* Nesting deeper than this in a document or a patch is refused. Kubernetes
 * objects nest about 15 levels; the JSON body decoder caps deeper. */
#define API_PATCH_MAX_DEPTH 100

/* RFC 7386 JSON merge patch: objects merge recursively, null deletes a
 * key, anything else (arrays included) replaces. */
int api_merge_patch(const json_t *doc, const json_t *patch, json_t **ret,
                    char *errbuf, size_t errlen);

/* RFC 6902 JSON patch: `ops` is an array of {op, path, value|from} with op
 * add, remove, replace, move, copy, test (RFC 6901 pointers, "~0" "~1"
 * escapes, "-" appends). Operations apply in order to a copy of doc; the
 * first one that fails aborts the whole patch and errbuf names it. A
 * failed `test` is K1S_EINVALID. At most API_JSON_PATCH_MAX_OPS ops. */
#define API_JSON_PATCH_MAX_OPS 10000
int api_json_patch(const json_t *doc, const json_t *ops, json_t **ret,
                   char *errbuf, size_t errlen);

/* Strategic merge patch for a built-in kind ("apps/v1", "Deployment"), as
 * the API server applies it (sigs.k8s.io strategicpatch with the
 * k8s.io/api patchStrategy/patchMergeKey struct tags of the kinds k1s
 * serves):
 *  - maps merge; null deletes a key;
 *  - lists tagged patchStrategy=merge merge by their patchMergeKey (lists
 *    of primitives are a set union); other lists are replaced;
 *  - directives: {"$patch": "replace"|"delete"|"merge"} in a map or list
 *    item, "$retainKeys": [...], "$setElementOrder/<list>": [...],
 *    "$deleteFromPrimitiveList/<list>": [...].
 * An unknown kind (a CRD) merges maps and replaces every list. */
int api_strategic_merge_patch(const json_t *doc, const json_t *patch,
                              const char *api_version, const char *kind,
                              json_t **ret, char *errbuf, size_t errlen);

#endif

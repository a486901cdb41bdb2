/*
 * jsonpath.h — kubectl's JSONPath templates (k8s.io/client-go/util/jsonpath)
 * over jansson values, for `get -o jsonpath=…` and `wait --for=jsonpath=…`,
 * and the Go encoding/json text kubectl prints JSON values with.
 *
 * Supported, as kubectl parses them: literal text between {} actions;
 * fields `.a.b` (`\.` escapes a dot in a name), `['x']` keys, `.*` and
 * `[*]`, indexes and slices `[n]`, `[-1]`, `[a:b]`, `[a:b:step]`, unions
 * `[0,2]`, recursive descent `..name`, filters `[?(@.type=="Ready")]` with
 * == != < > <= >= and existence `[?(@.x)]`, quoted literals `{"\n"}`,
 * numbers and true/false, `{range …}…{end}` (nested too). Missing keys
 * yield nothing (kubectl's AllowMissingKeys(true)). Where Go iterates a map
 * in random order (`.*`, `..`), keys are visited sorted.
 *
 * Single-threaded like the rest of kubectl-lite; nothing is kept between
 * calls. `data` is borrowed.
 */
#ifndef K1S_KUBECTL_LITE_JSONPATH_H
#define K1S_KUBECTL_LITE_JSONPATH_H

#include <stddef.h>

#include <jansson.h>

#include "lib/buf.h"

/*
 * Executes template `tmpl` over `data` and appends the text kubectl prints:
 * the results of one {…} joined by single spaces, strings raw, numbers and
 * booleans as text, null as "null", objects and arrays as compact JSON with
 * sorted keys. No newline is added.
 *
 * Returns 0; K1S_EINVAL when the template does not parse (err: the parser's
 * message, e.g. "unclosed action" — kubectl says "error parsing jsonpath
 * TMPL, MSG"); K1S_EBADREQ when it fails on this data (err: e.g. "array
 * index out of bounds: index 5, length 2"; kubectl says "error executing
 * jsonpath …"), in which case nothing is appended; K1S_ENOMEM.
 */
int kctl_jsonpath(const char *tmpl, const json_t *data, struct buf *out,
                  char *err, size_t errlen);

/*
 * The same evaluation, returning the values instead of text: *ret_values
 * (new reference) is an array with every result of every {…} action in
 * order (literal text included as strings). For `wait --for=jsonpath`.
 * Same return codes.
 */
int kctl_jsonpath_values(const char *tmpl, const json_t *data,
                         json_t **ret_values, char *err, size_t errlen);

/*
 * Appends `v` as Go's encoding/json writes it: object keys sorted, <, >, &,
 * U+2028 and U+2029 escaped as \u003c…, floats in Go's shortest form.
 * indent 0: compact (json.Marshal); indent > 0: that many spaces per level
 * (json.MarshalIndent, as kubectl -o json uses 4). No trailing newline.
 * Returns 0 or K1S_ENOMEM.
 */
int kctl_json_go(const json_t *v, int indent, struct buf *out);

/*
 * Appends `v` as Go's fmt %v prints a decoded JSON value (what kubectl's
 * custom columns and generic describer show): strings raw, maps as
 * map[k:v …] with sorted keys, slices as [a b], null as <nil>, floats in
 * %v's shortest form.
 */
void kctl_go_v(const json_t *v, struct buf *out);

#endif

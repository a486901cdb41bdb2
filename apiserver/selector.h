/*
 * selector — Kubernetes label selectors and field selectors: parsing
 * (with Kubernetes's validation and messages), matching and printing.
 *
 * Label selectors follow k8s.io/apimachinery/pkg/labels: requirements
 * joined by ",", each `key=v`, `key==v`, `key!=v`, `key in (a,b)`,
 * `key notin (a,b)`, `key`, `!key`, `key>n`, `key<n`; keys are qualified
 * names, values label values (63 characters at most). Field selectors
 * follow pkg/fields: `path=v`, `path==v`, `path!=v` joined by ",", with
 * "\\", "\," and "\=" escaping inside values.
 *
 * A parsed selector is immutable: any number of threads may match with it
 * at once. Created by the *_parse/_from_json functions (the caller owns it
 * and frees it with the matching *_free; NULL ok). No global state.
 * Inputs longer than API_SELECTOR_MAX_LEN bytes are refused.
 */
#ifndef K1S_APISERVER_SELECTOR_H
#define K1S_APISERVER_SELECTOR_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define API_SELECTOR_MAX_LEN 65536

struct api_label_selector;

/* Parses the labelSelector query syntax; "" selects everything.
 * Errors: K1S_EBADREQ with Kubernetes's message ("unable to parse
 * requirement: ...", "found ',', expected: ..."), K1S_ENOMEM. */
int api_label_selector_parse(const char *s, struct api_label_selector **ret,
                             char *errbuf, size_t errlen);

/* From a metav1.LabelSelector ({matchLabels, matchExpressions[{key,
 * operator In|NotIn|Exists|DoesNotExist, values}]}). {} selects
 * everything; NULL or JSON null selects nothing (as
 * metav1.LabelSelectorAsSelector). Errors: K1S_EINVALID, K1S_ENOMEM. */
int api_label_selector_from_json(const json_t *label_selector,
                                 struct api_label_selector **ret, char *errbuf,
                                 size_t errlen);

/* labels: the object's metadata.labels (an object of strings) or NULL. */
bool api_label_selector_matches(const struct api_label_selector *sel,
                                const json_t *labels);

/* True if the selector has no requirement (selects everything). */
bool api_label_selector_is_empty(const struct api_label_selector *sel);

/* Canonical string, requirements sorted by key and `in` values sorted
 * ("app=web,tier in (a,b)"); heap, caller frees; NULL on ENOMEM. */
char *api_label_selector_string(const struct api_label_selector *sel);

void api_label_selector_free(struct api_label_selector *sel);

struct api_field_selector;

/* allowed: NULL-terminated list of the field paths the resource supports
 * ("metadata.name", "spec.nodeName", ...); NULL allows any. A field
 * outside it is K1S_EBADREQ "field label not supported: x". Other errors:
 * K1S_EBADREQ ("invalid selector: ...", "invalid field selector: ..."),
 * K1S_ENOMEM. "" selects everything. */
int api_field_selector_parse(const char *s, const char *const *allowed,
                             struct api_field_selector **ret, char *errbuf,
                             size_t errlen);

/* Resolves each term's dotted path in obj: strings as they are, booleans
 * "true"/"false", integers in decimal, absent or other values as "". */
bool api_field_selector_matches(const struct api_field_selector *sel,
                                const json_t *obj);

/* If the selector requires metadata.name=X, X (borrowed from sel); else
 * NULL. Lets a list be answered with one get. */
const char *api_field_selector_name(const struct api_field_selector *sel);

void api_field_selector_free(struct api_field_selector *sel);

#endif

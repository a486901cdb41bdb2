/*
 * patch_int — what the patch_*.c files of apiserver/ share: the error
 * helper, depth checks and the strategic-merge-patch schema (the table of
 * patch strategies and merge keys of the built-in kinds, patch_schema.c).
 * Internal to apiserver/; pure functions and constant tables, any thread.
 */
#ifndef K1S_APISERVER_PATCH_INT_H
#define K1S_APISERVER_PATCH_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/* Writes a printf-style message to errbuf (NULL ok) and returns rv. */
int api_patch_fail(char *errbuf, size_t errlen, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* True if v nests deeper than `max` levels of arrays/objects. */
bool api_json_too_deep(const json_t *v, int max);

/* ---- strategic merge patch schema -------------------------------------- */

enum api_smp_strategy {
    API_SMP_NONE = 0,    /* maps merge, lists are replaced */
    API_SMP_MERGE = 1,   /* lists merge by merge key (or as a set) */
    API_SMP_REPLACE = 2, /* the value is replaced whole */
    API_SMP_RETAIN = 4,  /* "retainKeys": $retainKeys is honoured */
};

struct api_smp_type;

/* One field of a struct type: json name, strategy bits, merge key (NULL
 * for none or for a list of primitives) and the struct type of the value
 * (for a list: of its items), NULL when it is not a struct we describe. */
struct api_smp_field {
    const char *name;
    unsigned strategy;
    const char *merge_key;
    const struct api_smp_type *type;
};

struct api_smp_type {
    const char *name;                   /* the Go type name, for messages */
    const struct api_smp_field *fields; /* ends with a NULL name */
};

/* The root type of (apiVersion, kind), NULL for a kind not described. */
const struct api_smp_type *api_smp_kind_type(const char *api_version,
                                             const char *kind);

/* The field `name` of `type` (NULL type ok), NULL if not described. */
const struct api_smp_field *api_smp_lookup(const struct api_smp_type *type,
                                           const char *name);

#endif

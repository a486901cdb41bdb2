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

/*
 * The patch strategies and merge keys of the served kinds as a graph of
 * constant tables (patch_schema.c). It is the one source of truth for both
 * the strategic-merge-patch engine (patch_strategic.c) and the
 * components.schemas of the OpenAPI v3 documents (discovery.c), so a type
 * carries what OpenAPI names it by: its Go package and type name.
 */

enum api_smp_strategy {
    API_SMP_NONE = 0,    /* maps merge, lists are replaced */
    API_SMP_MERGE = 1,   /* lists merge by merge key (or as a set) */
    API_SMP_REPLACE = 2, /* the value is replaced whole */
    API_SMP_RETAIN = 4,  /* "retainKeys": $retainKeys is honoured */
};

struct api_smp_type;

/* One field of a struct type: json name, strategy bits, merge key (NULL
 * for none or for a list of primitives), the struct type of the value (for
 * a list: of its items; NULL for primitive items) and whether the value is
 * a list. Every struct value reached is described by a type, if only by
 * its name (an empty field table), so OpenAPI can refer to it. */
struct api_smp_field {
    const char *name;
    unsigned strategy;
    const char *merge_key;
    const struct api_smp_type *type;
    bool list;
};

/* A struct type. Its OpenAPI schema name is "<pkg>.<name>"
 * ("io.k8s.api.core.v1.PodSpec"); one name is one node of the graph. */
struct api_smp_type {
    const char *name;                   /* the Go type name: "PodSpec" */
    const char *pkg;                    /* "io.k8s.api.core.v1" */
    const struct api_smp_field *fields; /* ends with a NULL name */
};

/* The root type of (apiVersion, kind), NULL for a kind not described. */
const struct api_smp_type *api_smp_kind_type(const char *api_version,
                                             const char *kind);

/* The field `name` of `type` (NULL type ok), NULL if not described. */
const struct api_smp_field *api_smp_lookup(const struct api_smp_type *type,
                                           const char *name);

#endif

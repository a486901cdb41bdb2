/*
 * objects_int.h — shared by the files that implement the object verbs
 * (objects.c, subres.c): the per-request context and the write helpers.
 * Same threading as api_int.h: per-request state only.
 */
#ifndef K1S_APISERVER_OBJECTS_INT_H
#define K1S_APISERVER_OBJECTS_INT_H

#include "apiserver/api_int.h"

struct api_ctx {
    struct api_server *srv;
    struct api_req *r;
    struct api_resp *o;
    const struct api_resource *res;
    char ns[256];
    char name[256];
    char sub[32];
    bool body_dry_run;
};

struct api_delopts {
    int64_t grace; /* -1 = default */
    const char *propagation;
    const char *pre_uid, *pre_rv;
    json_t *body; /* owned */
};

enum { P_NONE, P_MERGE, P_SMP, P_JSON, P_APPLY };
/* The patch type named by a Content-Type (P_NONE if none). */
int api_patch_type(const char *ct);

json_t *api_meta(json_t *obj);
const char *api_meta_str(const json_t *obj, const char *key);
void api_now(char *out, size_t len);
int api_load(struct api_ctx *c, const char *name, json_t **ret,
             int64_t *ret_rev);
void api_resp_store_err(struct api_ctx *c, int rv, const char *name);
int api_decode_body(struct api_ctx *c, json_t **ret);
void api_create(struct api_ctx *c, json_t *obj);
int api_update_from(struct api_ctx *c, json_t *obj, const json_t *old,
                    int64_t old_rev, bool status_only, bool retry_conflict);
enum api_include include_opt(struct api_ctx *c);
int api_apply_patch(struct api_ctx *c, int type, const json_t *doc,
                    const json_t *patch, const char *gv, const char *kind,
                    json_t **ret);
int api_parse_delopts(struct api_ctx *c, struct api_delopts *d);
/* The DeleteOptions fields of o (a DeleteOptions body, or an Eviction's
 * deleteOptions) into d: grace period, propagation, preconditions, and
 * dryRun (which sets c->body_dry_run). Strings borrow from o. */
void api_delopts_fields(struct api_ctx *c, const json_t *o,
                        struct api_delopts *d);
int api_delete_one(struct api_ctx *c, const char *name,
                   const struct api_delopts *d);
/* Whether a terminating obj must stay: metadata.finalizers, and for a
 * namespace spec.finalizers too. */
bool api_deletion_blocked(const struct api_resource *res, const json_t *obj);
int api_bind_write(struct api_ctx *c, json_t *obj, const json_t *old,
                   int64_t old_rev);
/* Server-side apply's field ownership (apply.c): prunes from `result`
 * what `manager` applied before and no longer applies, and records what
 * it applies now in metadata.managedFields. live may be NULL (create). */
void api_ssa_merge(json_t *result, const json_t *live, const json_t *applied,
                   const char *manager, const char *api_version);
/* Serves scale, binding, eviction, log, finalize; false if c->sub is none
 * of them
 * for c->res. */
bool api_subresource(struct api_ctx *c);

#endif

/*
 * DESIGN: Status objects shaped exactly as Kubernetes shapes them (API
 * conventions, "Response Status Kind"): kind/apiVersion/metadata/status/
 * message/reason/details/code. details.kind is the resource for NotFound,
 * AlreadyExists and Conflict, the Kind for Invalid (kubectl-wire.md §6).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/err.h"

json_t *api_status_new(int rv, const char *message, json_t *details)
{
    json_t *st = json_object();

    json_object_set_new(st, "kind", json_string("Status"));
    json_object_set_new(st, "apiVersion", json_string("v1"));
    json_object_set_new(st, "metadata", json_object());
    json_object_set_new(st, "status", json_string("Failure"));
    json_object_set_new(st, "message", json_string(message ? message : ""));
    json_object_set_new(st, "reason", json_string(err_reason(rv)));
    if (details)
        json_object_set_new(st, "details", details);
    json_object_set_new(st, "code", json_integer(err_http_status(rv)));
    return st;
}

void api_resp_json(struct api_resp *o, int status, json_t *body)
{
    json_decref(o->json);
    o->json = body;
    o->status = status;
    o->ctype = "application/json";
}

void api_resp_text(struct api_resp *o, int status, const char *ctype,
                   const char *text)
{
    free(o->text);
    o->text = strdup(text);
    o->text_len = o->text ? strlen(text) : 0;
    o->status = status;
    o->ctype = ctype;
}

void api_resp_status(struct api_resp *o, int rv, json_t *details,
                     const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    api_resp_json(o, err_http_status(rv), api_status_new(rv, msg, details));
}

static json_t *details_for(const struct api_resource *res, const char *name)
{
    return json_pack("{s:s, s:s, s:s}", "name", name ? name : "", "group",
                     res->group, "kind", res->resource);
}

void api_resp_notfound(struct api_resp *o, const struct api_resource *res,
                       const char *name)
{
    char q[128];

    api_resource_qualified(res, q, sizeof q);
    api_resp_status(o, K1S_ENOTFOUND, details_for(res, name),
                    "%s \"%s\" not found", q, name ? name : "");
}

void api_resp_exists(struct api_resp *o, const struct api_resource *res,
                     const char *name)
{
    char q[128];

    api_resource_qualified(res, q, sizeof q);
    api_resp_status(o, K1S_EEXIST, details_for(res, name),
                    "%s \"%s\" already exists", q, name ? name : "");
}

void api_resp_conflict(struct api_resp *o, const struct api_resource *res,
                       const char *name)
{
    char q[128];

    api_resource_qualified(res, q, sizeof q);
    api_resp_status(o, K1S_ECONFLICT, details_for(res, name),
                    "Operation cannot be fulfilled on %s \"%s\": the object "
                    "has been modified; please apply your changes to the "
                    "latest version and try again",
                    q, name ? name : "");
}

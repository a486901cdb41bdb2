/*
 * The in-process API client as a struct ctrl_api: thin adapters over
 * api_call / api_watch_start / api_watch_stop of apiserver/apiserver.h,
 * so controllers and the scheduler go through the same routing,
 * admission, validation and defaulting as an HTTP request, and unit tests
 * can hand them a fake instead.
 */
#include "apiserver/apiserver.h"
#include "controllers/controllers.h"

static int call_adapter(void *ctx, const char *method, const char *path,
                        const char *content_type, const json_t *body,
                        json_t **ret_body)
{
    json_t *r = NULL;
    int st = api_call(ctx, method, path, content_type, body, &r);
    if (ret_body)
        *ret_body = r;
    else
        json_decref(r);
    return st;
}

static int watch_adapter(void *ctx, const char *path, ctrl_watch_cb cb,
                         void *arg, void **ret_watch)
{
    struct api_watch *w = NULL;
    int rv = api_watch_start(ctx, path, cb, arg, &w);
    if (rv == 0)
        *ret_watch = w;
    return rv;
}

static void stop_adapter(void *w)
{
    api_watch_stop(w);
}

void ctrl_api_for_server(struct api_server *srv, struct ctrl_api *ret)
{
    ret->call = call_adapter;
    ret->watch_start = watch_adapter;
    ret->watch_stop = stop_adapter;
    ret->ctx = srv;
}

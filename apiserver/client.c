/*
 * DESIGN: the in-process client (INTERFACES.md). api_call builds the same
 * struct api_req an HTTP request becomes and runs api_dispatch on the
 * caller's thread — routing, admission, validation and defaulting are
 * never bypassed. api_watch_start creates the same watcher an HTTP watch
 * gets and drains it on a thread of its own, which waits on the watcher's
 * condition variable (signalled by the store's notify) with a 1 s bound so
 * timeouts and bookmarks are honoured.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/err.h"

static int build_req(struct api_req *r, const char *method, const char *path,
                     const char *content_type, const json_t *body)
{
    const char *q = strchr(path, '?');

    memset(r, 0, sizeof *r);
    r->method = method;
    r->path = q ? strndup(path, (size_t)(q - path)) : strdup(path);
    if (r->path == NULL)
        return K1S_ENOMEM;
    if (q && api_req_parse_query(r, q + 1) != 0) {
        api_req_clear(r);
        return K1S_EBADREQ;
    }
    r->content_type = content_type ? content_type : "application/json";
    r->accept = "application/json";
    r->body_json = body;
    r->in_process = true;
    return 0;
}

int api_call(struct api_server *srv, const char *method, const char *path,
             const char *content_type, const json_t *body, json_t **ret_body)
{
    struct api_req r;
    struct api_resp o;
    int rv;

    if (ret_body)
        *ret_body = NULL;
    if (srv == NULL || method == NULL || path == NULL)
        return K1S_EINVAL;
    if (atomic_load(&srv->stopping))
        return K1S_ESHUTDOWN;
    rv = build_req(&r, method, path, content_type, body);
    if (rv != 0)
        return rv;
    memset(&o, 0, sizeof o);
    if (api_query_bool(&r, "watch"))
        api_resp_status(&o, K1S_EBADREQ, NULL,
                        "use api_watch_start for watches");
    else
        api_dispatch(srv, &r, &o);
    rv = o.status;
    if (ret_body) {
        if (o.json) {
            *ret_body = o.json;
            o.json = NULL;
        } else if (o.text && o.ctype &&
                   strncmp(o.ctype, "application/json", 16) == 0) {
            /* documents served as prebuilt text (discovery, OpenAPI)
             * reach an in-process caller as what they are: JSON */
            *ret_body = json_loadb(o.text, o.text_len, 0, NULL);
        } else if (o.text) {
            *ret_body = json_stringn(o.text, o.text_len);
        }
    }
    api_resp_clear(&o);
    api_req_clear(&r);
    return rv;
}

struct api_watch {
    struct api_watcher *w;
    api_watch_cb cb;
    void *arg;
    pthread_t thread;
    atomic_bool stop;
};

static void emit_cb(const char *type, json_t *obj, void *arg)
{
    struct api_watch *aw = arg;
    if (!atomic_load(&aw->stop))
        aw->cb(type, obj, aw->arg);
}

static void *watch_main(void *arg)
{
    struct api_watch *aw = arg;

    pthread_setname_np(pthread_self(), "api-watch");
    while (!atomic_load(&aw->stop)) {
        if (api_watcher_pump(aw->w, emit_cb, aw) != 0)
            break;
        if (!aw->w->more)
            api_watcher_wait(aw->w, 1000);
    }
    if (!atomic_load(&aw->stop))
        aw->cb(NULL, NULL, aw->arg);
    return NULL;
}

static int status_to_err(int code)
{
    switch (code) {
    case 400:
        return K1S_EBADREQ;
    case 404:
        return K1S_ENOTFOUND;
    case 405:
        return K1S_EMETHOD;
    case 410:
        return K1S_EGONE;
    case 503:
        return K1S_ESHUTDOWN;
    default:
        return K1S_EINTERNAL;
    }
}

int api_watch_start(struct api_server *srv, const char *path, api_watch_cb cb,
                    void *arg, struct api_watch **ret)
{
    struct api_watch *aw;
    struct api_req r;
    struct api_resp o;
    char full[4096];
    int rv;

    *ret = NULL;
    if (srv == NULL || path == NULL || cb == NULL)
        return K1S_EINVAL;
    if (atomic_load(&srv->stopping))
        return K1S_ESHUTDOWN;
    snprintf(full, sizeof full, "%s%swatch=true", path,
             strchr(path, '?') ? "&" : "?");
    rv = build_req(&r, "GET", full, NULL, NULL);
    if (rv != 0)
        return rv;
    memset(&o, 0, sizeof o);
    api_dispatch(srv, &r, &o);
    api_req_clear(&r);
    if (o.stream_kind != API_STREAM_WATCH || o.watcher == NULL) {
        rv = status_to_err(o.status);
        api_resp_clear(&o);
        return rv;
    }
    aw = calloc(1, sizeof *aw);
    if (aw == NULL) {
        api_resp_clear(&o);
        return K1S_ENOMEM;
    }
    aw->w = o.watcher;
    o.watcher = NULL;
    api_resp_clear(&o);
    aw->cb = cb;
    aw->arg = arg;
    if (pthread_create(&aw->thread, NULL, watch_main, aw) != 0) {
        api_watcher_destroy(aw->w);
        free(aw);
        return K1S_ENOMEM;
    }
    *ret = aw;
    return 0;
}

void api_watch_stop(struct api_watch *aw)
{
    if (aw == NULL)
        return;
    atomic_store(&aw->stop, true);
    api_watcher_end(aw->w);
    pthread_join(aw->thread, NULL);
    api_watcher_destroy(aw->w);
    free(aw);
}

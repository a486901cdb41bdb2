/*
 * DESIGN: list + watch of one object for the verbs that wait (rollout
 * status, wait): the object is listed by name (fieldSelector), then watched
 * from the list's resourceVersion; a watch that ends is resumed from the
 * last resourceVersion seen, an ERROR event (410 Gone) lists again. The
 * caller's callback decides when the wait is over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/clock.h"

struct watch_state {
    kctl_event_cb cb;
    void *arg;
    char rv[64];
    int result; /* what cb said last: 0, 1, -1 */
    bool relist;
};

static int watch_line_cb(const char *line, size_t len, void *arg)
{
    struct watch_state *ws = arg;
    json_t *ev = json_loadb(line, len, 0, NULL);
    const char *type = kctl_str_at(ev, "type", NULL);
    json_t *obj = json_object_get(ev, "object");
    const char *orv = kctl_str_at(obj, "metadata", "resourceVersion");
    int rv = 0;

    if (ev == NULL || type == NULL) {
        json_decref(ev);
        return 0;
    }
    if (strcmp(type, "ERROR") == 0) {
        /* 410 Gone (or anything else): list again */
        ws->relist = true;
        json_decref(ev);
        return 2;
    }
    if (orv != NULL)
        snprintf(ws->rv, sizeof ws->rv, "%s", orv);
    if (strcmp(type, "BOOKMARK") != 0) {
        ws->result = ws->cb(obj, type, ws->arg);
        if (ws->result != 0)
            rv = 1;
    }
    json_decref(ev);
    return rv;
}

int kctl_watch_object(struct kctl_client *cl, const struct kctl_resource *r,
                      const char *ns, const char *name, int64_t deadline_ns,
                      kctl_event_cb cb, void *arg)
{
    struct watch_state ws = {.cb = cb, .arg = arg};
    bool need_list = true;

    for (;;) {
        struct buf p;
        int64_t left_s = 300;
        int s;

        if (need_list) {
            json_t *list = NULL, *it;
            size_t i;
            buf_init(&p);
            kctl_resource_path(&p, r, ns, NULL);
            buf_printf(&p, "?fieldSelector=");
            kctl_query_escape(&p, "metadata.name=");
            kctl_query_escape(&p, name);
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &list) != 0) {
                buf_close(&p);
                return -1;
            }
            buf_close(&p);
            snprintf(ws.rv, sizeof ws.rv, "%s",
                     kctl_str_at(list, "metadata", "resourceVersion")
                         ? kctl_str_at(list, "metadata", "resourceVersion")
                         : "");
            ws.result = 0;
            json_array_foreach (json_object_get(list, "items"), i, it) {
                ws.result = cb(it, "ADDED", arg);
                if (ws.result != 0)
                    break;
            }
            if (json_array_size(json_object_get(list, "items")) == 0)
                ws.result = cb(NULL, "NONE", arg);
            json_decref(list);
            if (ws.result != 0)
                return ws.result > 0 ? 0 : -1;
            need_list = false;
        }
        if (deadline_ns != 0) {
            int64_t left = deadline_ns - clock_mono_ns();
            if (left <= 0)
                return 1;
            left_s = (left + 999999999) / 1000000000;
        }
        buf_init(&p);
        kctl_resource_path(&p, r, ns, NULL);
        buf_printf(&p, "?allowWatchBookmarks=true&fieldSelector=");
        kctl_query_escape(&p, "metadata.name=");
        kctl_query_escape(&p, name);
        buf_printf(&p, "&resourceVersion=");
        kctl_query_escape(&p, ws.rv);
        buf_printf(&p, "&timeoutSeconds=%lld&watch=true", (long long)left_s);
        ws.relist = false;
        s = kctl_stream(cl, p.data, NULL, watch_line_cb, &ws);
        buf_close(&p);
        if (s == 1 || (s == 0 && ws.result != 0))
            return ws.result > 0 ? 0 : -1;
        if (s < 0)
            return -1;
        if (ws.relist)
            need_list = true;
    }
}

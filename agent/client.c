/*
 * DESIGN: the agent's HTTP client of the API server (libcurl).
 *
 * One struct agent_http per thread (a CURL easy handle is not shared), kept
 * alive between requests so one TCP connection serves many. Requests and
 * answers are JSON; the answer's body is parsed whatever the status, so a
 * Status object reaches the caller. Watches are long GETs whose body is a
 * stream of newline-separated watch events (kubectl-wire.md §5), cut into
 * lines here and handed to a callback; a line longer than 16 MiB ends the
 * watch (cap). Errors of libcurl are translated to K1S_E* codes here, at
 * the border.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "agent/agent_client.h"
#include "lib/buf.h"
#include "lib/err.h"

#define BODY_CAP (64u << 20)
#define LINE_CAP (16u << 20)

void agent_http_global_init(void)
{
    static int done;
    if (!done) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        done = 1;
    }
}

int agent_http_init(struct agent_http *h, const char *base, const char *token)
{
    memset(h, 0, sizeof h[0]);
    h->curl = curl_easy_init();
    if (h->curl == NULL)
        return K1S_ENOMEM;
    snprintf(h->base, sizeof h->base, "%s", base);
    while (h->base[0] && h->base[strlen(h->base) - 1] == '/')
        h->base[strlen(h->base) - 1] = '\0';
    if (token && token[0])
        snprintf(h->auth, sizeof h->auth, "Authorization: Bearer %s", token);
    return 0;
}

void agent_http_close(struct agent_http *h)
{
    if (h->curl)
        curl_easy_cleanup(h->curl);
    h->curl = NULL;
    for (int i = 0; i < AGENT_HTTP_ASYNC_SLOTS; i++) {
        if (h->aslot[i]) {
            if (h->atag[i])
                curl_multi_remove_handle(h->amulti, h->aslot[i]);
            curl_easy_cleanup(h->aslot[i]);
        }
        curl_slist_free_all(h->ahdrs[i]);
        free(h->atag[i]);
        h->aslot[i] = h->atag[i] = h->ahdrs[i] = NULL;
    }
    if (h->amulti)
        curl_multi_cleanup(h->amulti);
    h->amulti = NULL;
}

static size_t body_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct buf *b = arg;
    if (b->len + sz * n > BODY_CAP || buf_append(b, p, sz * n) != 0)
        return 0;
    return sz * n;
}

static int progress_cb(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
                       curl_off_t d)
{
    const struct agent_http *h = arg;
    (void)a;
    (void)b;
    (void)c;
    (void)d;
    return h->stop && *h->stop ? 1 : 0;
}

static void common_opts(struct agent_http *h)
{
    curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
}

static int curl_err(CURLcode c)
{
    switch (c) {
    case CURLE_OPERATION_TIMEDOUT:
        return K1S_ETIMEOUT;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return K1S_EUNAVAIL;
    case CURLE_OUT_OF_MEMORY:
        return K1S_ENOMEM;
    case CURLE_WRITE_ERROR:
        return K1S_ETOOLARGE;
    case CURLE_ABORTED_BY_CALLBACK:
        return K1S_ESHUTDOWN;
    default:
        return K1S_EIO;
    }
}

static struct curl_slist *headers(const struct agent_http *h, const char *ctype)
{
    struct curl_slist *l = NULL;
    char ct[128];

    l = curl_slist_append(l, "Accept: application/json");
    if (ctype) {
        snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
        l = curl_slist_append(l, ct);
    }
    if (h->auth[0])
        l = curl_slist_append(l, h->auth);
    return l;
}

int agent_http_call(struct agent_http *h, const char *method, const char *path,
                    const char *ctype, const json_t *body, long timeout_ms,
                    json_t **ret)
{
    struct buf resp;
    struct curl_slist *hdrs;
    char url[2048], *data = NULL;
    long status = 0;
    CURLcode c;

    if (ret)
        *ret = NULL;
    if (snprintf(url, sizeof url, "%s%s", h->base, path) >= (int)sizeof url)
        return K1S_EINVAL;
    buf_init(&resp);
    if (body) {
        data = json_dumps(body, JSON_COMPACT);
        if (data == NULL)
            return K1S_ENOMEM;
    }
    hdrs = headers(h, body ? (ctype ? ctype : "application/json") : NULL);
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
    common_opts(h);
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &resp);
    if (data) {
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, data);
        curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(data));
    }
    c = curl_easy_perform(h->curl);
    curl_slist_free_all(hdrs);
    free(data);
    if (c != CURLE_OK) {
        buf_close(&resp);
        return curl_err(c);
    }
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    if (ret && resp.len > 0)
        *ret = json_loadb(resp.data, resp.len, 0, NULL);
    buf_close(&resp);
    return (int)status;
}

struct watch_ctx {
    struct buf line;
    agent_watch_line_cb cb;
    void *arg;
    bool stop;
};

static size_t watch_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct watch_ctx *w = arg;
    size_t len = sz * n, start = 0;

    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n')
            continue;
        if (buf_append(&w->line, p + start, i - start) != 0)
            return 0;
        if (w->line.len > 0) {
            json_t *ev = json_loadb(w->line.data, w->line.len, 0, NULL);
            bool go = ev ? w->cb(ev, w->arg) : false;
            json_decref(ev);
            if (!go) {
                w->stop = true;
                return 0;
            }
        }
        buf_reset(&w->line);
        start = i + 1;
    }
    if (w->line.len + (len - start) > LINE_CAP ||
        buf_append(&w->line, p + start, len - start) != 0)
        return 0;
    return len;
}

int agent_http_watch(struct agent_http *h, const char *path,
                     agent_watch_line_cb cb, void *arg)
{
    struct watch_ctx w;
    struct curl_slist *hdrs;
    char url[2048];
    long status = 0;
    CURLcode c;

    if (snprintf(url, sizeof url, "%s%s", h->base, path) >= (int)sizeof url)
        return K1S_EINVAL;
    memset(&w, 0, sizeof w);
    buf_init(&w.line);
    w.cb = cb;
    w.arg = arg;
    hdrs = headers(h, NULL);
    curl_easy_reset(h->curl);
    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
    common_opts(h);
    /* The server ends a watch at timeoutSeconds; a dead peer is noticed
     * by the low-speed limit (bookmarks keep a live one talking). */
    curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, 15L * 60 * 1000);
    curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, watch_cb);
    curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &w);
    c = curl_easy_perform(h->curl);
    curl_slist_free_all(hdrs);
    buf_close(&w.line);
    if (w.stop)
        return 0;
    if (c != CURLE_OK)
        return curl_err(c);
    curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &status);
    return status == 200 ? 0 : K1S_EIO;
}

static size_t discard_cb(char *p, size_t sz, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return sz * n;
}

/* ------------------------------------------------------------ async */

int agent_http_async_start(struct agent_http *h, const struct agent_http_req *r,
                           void *tag)
{
    char url[2048], *data = NULL;
    CURL *e;
    int i;

    if (h->amulti == NULL) {
        h->amulti = curl_multi_init();
        if (h->amulti == NULL)
            return K1S_ENOMEM;
    }
    for (i = 0; i < AGENT_HTTP_ASYNC_SLOTS && h->atag[i]; i++)
        ;
    if (i == AGENT_HTTP_ASYNC_SLOTS)
        return K1S_EBUSY;
    if (h->aslot[i] == NULL && (h->aslot[i] = curl_easy_init()) == NULL)
        return K1S_ENOMEM;
    e = h->aslot[i];
    if (snprintf(url, sizeof url, "%s%s", h->base, r->path) >= (int)sizeof url)
        return K1S_EINVAL;
    if (r->body && (data = json_dumps(r->body, JSON_COMPACT)) == NULL)
        return K1S_ENOMEM;
    curl_slist_free_all(h->ahdrs[i]);
    h->ahdrs[i] =
        headers(h, r->body ? (r->ctype ? r->ctype : "application/json") : NULL);
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h->ahdrs[i]);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(e, CURLOPT_PRIVATE, tag);
    if (data) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(data));
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, data);
        free(data);
    }
    if (curl_multi_add_handle(h->amulti, e) != CURLM_OK)
        return K1S_EIO;
    h->atag[i] = tag;
    h->abusy++;
    return 0;
}

void agent_http_async_poll(struct agent_http *h, agent_http_done_cb done,
                           void *arg)
{
    CURLMsg *msg;
    int running = 0, left;

    if (h->amulti == NULL || h->abusy == 0)
        return;
    curl_multi_perform(h->amulti, &running);
    while ((msg = curl_multi_info_read(h->amulti, &left)) != NULL) {
        long status = 0;
        int rv, i;
        void *tag;

        if (msg->msg != CURLMSG_DONE)
            continue;
        for (i = 0; i < AGENT_HTTP_ASYNC_SLOTS; i++)
            if (h->aslot[i] == msg->easy_handle)
                break;
        if (i == AGENT_HTTP_ASYNC_SLOTS)
            continue;
        if (msg->data.result == CURLE_OK) {
            curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE,
                              &status);
            rv = (int)status;
        } else {
            rv = curl_err(msg->data.result);
        }
        curl_multi_remove_handle(h->amulti, h->aslot[i]);
        tag = h->atag[i];
        h->atag[i] = NULL;
        h->abusy--;
        done(tag, rv, arg);
    }
}

void agent_http_async_cancel(struct agent_http *h, agent_http_done_cb done,
                             void *arg)
{
    for (int i = 0; i < AGENT_HTTP_ASYNC_SLOTS; i++) {
        void *tag = h->atag[i];
        if (tag == NULL)
            continue;
        curl_multi_remove_handle(h->amulti, h->aslot[i]);
        h->atag[i] = NULL;
        h->abusy--;
        done(tag, K1S_ESHUTDOWN, arg);
    }
}

void agent_http_async_wait(struct agent_http *h, int fd, int timeout_ms)
{
    struct curl_waitfd w = {.fd = fd, .events = CURL_WAIT_POLLIN};

    if (h->amulti == NULL) {
        h->amulti = curl_multi_init();
        if (h->amulti == NULL)
            return;
    }
    curl_multi_poll(h->amulti, &w, 1, timeout_ms, NULL);
}

int agent_http_async_busy(const struct agent_http *h)
{
    return h->abusy;
}

/*
 * DESIGN: kubectl-lite's HTTP client (libcurl) and kubectl's error texts.
 *
 * One CURL easy handle per process, reused so consecutive requests share a
 * kept-alive connection. The connection (kubeconfig + flags) is resolved on
 * the first request, so verbs that never talk to a server (config, version
 * --client) work without one. Streams (watch, logs -f) use the same handle
 * with no timeout and hand complete lines to a callback.
 *
 * Errors are printed here in kubectl's words, so every verb says the same
 * thing for the same failure: a Status body becomes
 * "Error from server (Reason): message"; a refused connection becomes
 * "The connection to the server HOST:PORT was refused - did you specify the
 * right host or port?".
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"
#include "lib/version.h"

/* Responses bigger than this are refused rather than buffered (a list of
 * many large objects stays far below it). */
#define KCTL_MAX_RESPONSE (512u << 20)

static int client_connect(struct kctl_client *cl)
{
    CURL *c;

    if (cl->curl != NULL)
        return 0;
    if (kctl_conn_resolve(&cl->g, &cl->conn) != 0)
        return -1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    c = curl_easy_init();
    if (c == NULL) {
        fprintf(stderr, "error: cannot initialise libcurl\n");
        return -1;
    }
    cl->curl = c;
    return 0;
}

int kctl_client_open(struct kctl_client *cl, const struct kctl_globals *g)
{
    memset(cl, 0, sizeof *cl);
    cl->g = *g;
    return 0;
}

void kctl_client_close(struct kctl_client *cl)
{
    if (cl == NULL)
        return;
    if (cl->curl != NULL) {
        curl_easy_cleanup(cl->curl);
        curl_global_cleanup();
    }
    kctl_conn_close(&cl->conn);
    json_decref(cl->discovery);
    json_decref(cl->openapi);
    memset(cl, 0, sizeof *cl);
}

const char *kctl_namespace(struct kctl_client *cl)
{
    if (cl->conn.namespace == NULL && client_connect(cl) != 0)
        return cl->g.namespace ? cl->g.namespace : "default";
    return cl->conn.namespace;
}

void kctl_resp_close(struct kctl_resp *r)
{
    if (r == NULL)
        return;
    buf_close(&r->body);
    free(r->content_type);
    free(r->warning);
    memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ transfers */

struct xfer {
    struct kctl_resp *r;
    void *curl;
    kctl_line_cb line_cb; /* streaming when set */
    void *arg;
    struct buf line;
    int cb_rv;
    bool status_seen;
};

static size_t header_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = sz * n;
    char *v;

    if (len > 13 && strncasecmp(p, "content-type:", 13) == 0) {
        v = strndup(p + 13, len - 13);
        free(x->r->content_type);
        x->r->content_type = v;
    } else if (len > 8 && strncasecmp(p, "warning:", 8) == 0) {
        /* RFC 7234 form kubernetes uses: 299 - "text" */
        const char *q = memchr(p, '"', len);
        const char *e =
            q ? memchr(q + 1, '"', len - (size_t)(q + 1 - p)) : NULL;
        if (q && e)
            fprintf(stderr, "Warning: %.*s\n", (int)(e - q - 1), q + 1);
    }
    if (x->r->content_type != NULL) {
        char *s = x->r->content_type;
        while (*s == ' ')
            memmove(s, s + 1, strlen(s));
        s[strcspn(s, "\r\n")] = '\0';
    }
    return len;
}

static size_t body_cb(char *p, size_t sz, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = sz * n;

    if (x->line_cb != NULL && !x->status_seen) {
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->r->status);
        x->status_seen = true;
    }
    if (x->line_cb == NULL || x->r->status < 200 || x->r->status > 299) {
        if (x->r->body.len + len > KCTL_MAX_RESPONSE)
            return 0;
        return buf_append(&x->r->body, p, len) == 0 ? len : 0;
    }
    /* streaming: hand over complete lines */
    for (size_t i = 0; i < len; i++) {
        if (p[i] != '\n') {
            if (buf_append(&x->line, p + i, 1) != 0)
                return 0;
            continue;
        }
        /* empty lines too: a log's blank lines are part of it (watch
         * callbacks skip what does not parse) */
        x->cb_rv =
            x->line_cb(x->line.data ? x->line.data : "", x->line.len, x->arg);
        buf_reset(&x->line);
        if (x->cb_rv != 0)
            return 0;
    }
    return len;
}

static void print_conn_error(const struct kctl_client *cl, CURLcode rc)
{
    const char *host = strstr(cl->conn.server, "://");
    host = host ? host + 3 : cl->conn.server;
    if (rc == CURLE_COULDNT_CONNECT)
        fprintf(stderr,
                "The connection to the server %s was refused - did you "
                "specify the right host or port?\n",
                host);
    else if (rc == CURLE_OPERATION_TIMEDOUT)
        fprintf(stderr, "Unable to connect to the server: net/http: request "
                        "canceled (Client.Timeout exceeded while awaiting "
                        "headers)\n");
    else
        fprintf(stderr, "Unable to connect to the server: %s\n",
                curl_easy_strerror(rc));
}

static int transfer(struct kctl_client *cl, const char *method,
                    const char *path, const char *ctype, const char *body,
                    size_t body_len, const char *accept, struct xfer *x)
{
    CURL *c;
    struct curl_slist *hdrs = NULL;
    struct buf url, h;
    CURLcode rc;
    int rv = 0;

    if (client_connect(cl) != 0)
        return -1;
    c = cl->curl;
    x->curl = c;
    curl_easy_reset(c);
    buf_init(&url);
    buf_init(&h);
    buf_printf(&url, "%s%s", cl->conn.server, path);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT,
                     "kubectl-lite/" K1S_KUBE_VERSION " (linux)");
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_cb);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    if (x->line_cb == NULL && cl->g.request_timeout_s > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT, cl->g.request_timeout_s);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    buf_printf(&h, "Accept: %s", accept ? accept : "application/json");
    hdrs = curl_slist_append(hdrs, h.data);
    if (body != NULL) {
        buf_reset(&h);
        buf_printf(&h, "Content-Type: %s", ctype ? ctype : "application/json");
        hdrs = curl_slist_append(hdrs, h.data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    if (cl->conn.token != NULL) {
        buf_reset(&h);
        buf_printf(&h, "Authorization: Bearer %s", cl->conn.token);
        hdrs = curl_slist_append(hdrs, h.data);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (cl->conn.insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cl->conn.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, cl->conn.ca_file);
    if (cl->conn.cert_file)
        curl_easy_setopt(c, CURLOPT_SSLCERT, cl->conn.cert_file);
    if (cl->conn.key_file)
        curl_easy_setopt(c, CURLOPT_SSLKEY, cl->conn.key_file);
    if (cl->conn.ca_data.len > 0) {
        struct curl_blob b = {cl->conn.ca_data.data, cl->conn.ca_data.len,
                              CURL_BLOB_NOCOPY};
        curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &b);
    }
    if (cl->conn.cert_data.len > 0) {
        struct curl_blob b = {cl->conn.cert_data.data, cl->conn.cert_data.len,
                              CURL_BLOB_NOCOPY};
        curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &b);
    }
    if (cl->conn.key_data.len > 0) {
        struct curl_blob b = {cl->conn.key_data.data, cl->conn.key_data.len,
                              CURL_BLOB_NOCOPY};
        curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &b);
    }
    if (cl->g.verbose >= 6)
        fprintf(stderr, "I %s %s\n", method, url.data);
    rc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &x->r->status);
    if (x->line_cb != NULL && x->cb_rv != 0) {
        rv = x->cb_rv;
    } else if (x->line_cb != NULL && rc == CURLE_OK && x->line.len > 0 &&
               x->r->status >= 200 && x->r->status <= 299) {
        rv = x->line_cb(x->line.data, x->line.len, x->arg);
    } else if (rc != CURLE_OK &&
               !(x->line_cb != NULL && rc == CURLE_PARTIAL_FILE)) {
        if (x->r->status == 0 || x->line_cb == NULL) {
            print_conn_error(cl, rc);
            rv = -1;
        }
    }
    if (cl->g.verbose >= 6)
        fprintf(stderr, "I %s %s %ld\n", method, url.data, x->r->status);
    curl_slist_free_all(hdrs);
    buf_close(&url);
    buf_close(&h);
    return rv;
}

int kctl_http(struct kctl_client *cl, const char *method, const char *path,
              const char *ctype, const char *body, size_t body_len,
              const char *accept, struct kctl_resp *r)
{
    struct xfer x;

    memset(r, 0, sizeof *r);
    buf_init(&r->body);
    memset(&x, 0, sizeof x);
    x.r = r;
    buf_init(&x.line);
    return transfer(cl, method, path, ctype, body, body_len, accept, &x);
}

int kctl_json(struct kctl_client *cl, const char *method, const char *path,
              const char *ctype, const json_t *body, bool quiet_404,
              json_t **ret)
{
    struct kctl_resp r;
    char *text = NULL;
    int rv;

    if (body != NULL)
        text = json_dumps(body, JSON_COMPACT);
    rv = kctl_http(cl, method, path, ctype, text, text ? strlen(text) : 0, NULL,
                   &r);
    free(text);
    if (rv != 0) {
        kctl_resp_close(&r);
        return -1;
    }
    if (r.status < 200 || r.status > 299) {
        rv = -1;
        if (r.status == 404 && quiet_404)
            rv = -2;
        else
            kctl_print_status(&r, NULL);
        kctl_resp_close(&r);
        return rv;
    }
    if (ret != NULL) {
        json_error_t e;
        *ret = json_loadb(r.body.data ? r.body.data : "", r.body.len,
                          JSON_DECODE_ANY, &e);
        if (*ret == NULL) {
            fprintf(stderr,
                    "error: cannot decode the server's answer to %s "
                    "%s: %s\n",
                    method, path, e.text);
            rv = -1;
        }
    }
    kctl_resp_close(&r);
    return rv;
}

int kctl_stream(struct kctl_client *cl, const char *path, const char *accept,
                kctl_line_cb line_cb, void *arg)
{
    struct kctl_resp r;
    struct xfer x;
    int rv;

    memset(&r, 0, sizeof r);
    buf_init(&r.body);
    memset(&x, 0, sizeof x);
    x.r = &r;
    x.line_cb = line_cb;
    x.arg = arg;
    buf_init(&x.line);
    rv = transfer(cl, "GET", path, NULL, NULL, 0, accept, &x);
    if (rv == 0 && (r.status < 200 || r.status > 299)) {
        kctl_print_status(&r, NULL);
        rv = -1;
    }
    buf_close(&x.line);
    kctl_resp_close(&r);
    return rv;
}

/* kubectl prints Invalid (422) answers from the Status details, not its
 * message (cmdutil.checkErr): `The ConfigMap "x" is invalid: FIELD: MSG`
 * for one cause, the causes as a "* " list below the line for several,
 * duplicates dropped. */
static void print_invalid(const json_t *st)
{
    const json_t *d = json_object_get(st, "details");
    const char *kind = json_string_value(json_object_get(d, "kind"));
    const char *name = json_string_value(json_object_get(d, "name"));
    json_t *seen = json_array();
    struct buf b;
    size_t i;
    json_t *c;

    buf_init(&b);
    if (!json_is_object(d))
        buf_append_str(&b, "The request is invalid");
    else
        buf_printf(&b, "The %s \"%s\" is invalid", kind ? kind : "",
                   name ? name : "");
    json_array_foreach (json_object_get(d, "causes"), i, c) {
        const char *f = json_string_value(json_object_get(c, "field"));
        const char *m = json_string_value(json_object_get(c, "message"));
        char *line = NULL;
        bool dup = false;
        size_t k;
        json_t *x;
        if (asprintf(&line, "%s: %s", f ? f : "", m ? m : "") < 0)
            break;
        json_array_foreach (seen, k, x)
            dup |= strcmp(json_string_value(x), line) == 0;
        if (!dup)
            json_array_append_new(seen, json_string(line));
        free(line);
    }
    if (json_array_size(seen) == 1) {
        fprintf(stderr, "%s: %s\n", b.data,
                json_string_value(json_array_get(seen, 0)));
    } else if (json_array_size(seen) > 1) {
        fprintf(stderr, "%s: \n", b.data);
        json_array_foreach (seen, i, c)
            fprintf(stderr, "* %s\n", json_string_value(c));
    } else {
        fprintf(stderr, "%s\n", b.data);
    }
    json_decref(seen);
    buf_close(&b);
}

void kctl_print_status(const struct kctl_resp *r, const char *when)
{
    json_t *st = NULL;
    const char *reason = NULL, *msg = NULL, *kind;

    if (r->body.len > 0)
        st = json_loadb(r->body.data, r->body.len, 0, NULL);
    kind = json_string_value(json_object_get(st, "kind"));
    if (kind != NULL && strcmp(kind, "Status") == 0) {
        reason = json_string_value(json_object_get(st, "reason"));
        msg = json_string_value(json_object_get(st, "message"));
    }
    if (msg == NULL) {
        if (r->body.len > 0 && st == NULL)
            fprintf(stderr, "Error from server: %s%s%.*s\n", when ? when : "",
                    when ? ": " : "", (int)r->body.len, r->body.data);
        else
            fprintf(stderr,
                    "error: %s%sthe server responded with the status code "
                    "%ld but did not return more information\n",
                    when ? when : "", when ? ": " : "", r->status);
    } else if (reason != NULL && strcmp(reason, "Invalid") == 0) {
        print_invalid(st);
    } else if (reason != NULL && reason[0] != '\0') {
        fprintf(stderr, "Error from server (%s): %s%s%s\n", reason,
                when ? when : "", when ? ": " : "", msg);
    } else {
        fprintf(stderr, "Error from server: %s%s%s\n", when ? when : "",
                when ? ": " : "", msg);
    }
    json_decref(st);
}

/* Go's %q (strconv.Quote) of a UTF-8 string. */
void kctl_go_quote(const char *s, struct buf *out)
{
    buf_append_str(out, "\"");
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '"':
            buf_append_str(out, "\\\"");
            break;
        case '\\':
            buf_append_str(out, "\\\\");
            break;
        case '\a':
            buf_append_str(out, "\\a");
            break;
        case '\b':
            buf_append_str(out, "\\b");
            break;
        case '\f':
            buf_append_str(out, "\\f");
            break;
        case '\n':
            buf_append_str(out, "\\n");
            break;
        case '\r':
            buf_append_str(out, "\\r");
            break;
        case '\t':
            buf_append_str(out, "\\t");
            break;
        case '\v':
            buf_append_str(out, "\\v");
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                buf_printf(out, "\\x%02x", c);
            else
                buf_append(out, s, 1);
        }
    }
    buf_append_str(out, "\"");
}

/* cli-runtime's Selector visitor: a list that fails with BadRequest or
 * NotFound has its Status message prefixed with what was listed ("Unable
 * to find \"/v1, Resource=pods\" that match label selector \"…\", field
 * selector \"…\": …", or "Unable to list …" without selectors), still
 * printed as an error from the server. Rewrites r's body in place. */
void kctl_wrap_list_error(struct kctl_resp *r, const struct kctl_resource *res,
                          const char *label, const char *field)
{
    json_t *st;
    const char *msg;
    struct buf m, gvr, q;

    if (r->status != 400 && r->status != 404)
        return;
    st = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    msg = json_string_value(json_object_get(st, "message"));
    if (msg == NULL ||
        strcmp(json_string_value(json_object_get(st, "kind"))
                   ? json_string_value(json_object_get(st, "kind"))
                   : "",
               "Status") != 0) {
        json_decref(st);
        return;
    }
    buf_init(&m);
    buf_init(&gvr);
    buf_init(&q);
    buf_printf(&gvr, "%s/%s, Resource=%s", res->group, res->version,
               res->resource);
    kctl_go_quote(gvr.data, &q);
    if ((label == NULL || label[0] == '\0') &&
        (field == NULL || field[0] == '\0')) {
        buf_printf(&m, "Unable to list %s: %s", q.data, msg);
    } else {
        buf_printf(&m, "Unable to find %s that match label selector ", q.data);
        kctl_go_quote(label ? label : "", &m);
        buf_append_str(&m, ", field selector ");
        kctl_go_quote(field ? field : "", &m);
        buf_printf(&m, ": %s", msg);
    }
    json_object_set_new(st, "message", json_string(m.data));
    {
        char *body = json_dumps(st, JSON_COMPACT);
        if (body != NULL) {
            buf_reset(&r->body);
            buf_append_str(&r->body, body);
            free(body);
        }
    }
    buf_close(&m);
    buf_close(&gvr);
    buf_close(&q);
    json_decref(st);
}

int kctl_list(struct kctl_client *cl, const struct kctl_resource *res,
              const char *ns, const char *label, const char *field,
              json_t **ret)
{
    struct buf p;
    struct kctl_resp r;
    char sep = '?';
    int rv = -1;

    *ret = NULL;
    buf_init(&p);
    kctl_resource_path(&p, res, ns, NULL);
    if (label != NULL) {
        buf_printf(&p, "%clabelSelector=", sep);
        kctl_query_escape(&p, label);
        sep = '&';
    }
    if (field != NULL) {
        buf_printf(&p, "%cfieldSelector=", sep);
        kctl_query_escape(&p, field);
    }
    if (kctl_http(cl, "GET", p.data, NULL, NULL, 0, NULL, &r) != 0) {
        buf_close(&p);
        kctl_resp_close(&r);
        return -1;
    }
    buf_close(&p);
    if (r.status < 200 || r.status > 299) {
        kctl_wrap_list_error(&r, res, label, field);
        kctl_print_status(&r, NULL);
    } else {
        *ret = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
        if (*ret == NULL)
            fprintf(stderr, "error: the server sent an unreadable response\n");
        else
            rv = 0;
    }
    kctl_resp_close(&r);
    return rv;
}

int kctl_query_escape(struct buf *out, const char *v)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *v != '\0'; v++) {
        unsigned char c = (unsigned char)*v;
        int rv;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
            c == '~') {
            char ch = (char)c;
            rv = buf_append(out, &ch, 1);
        } else {
            rv = buf_printf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
        }
        if (rv != 0)
            return rv;
    }
    return 0;
}

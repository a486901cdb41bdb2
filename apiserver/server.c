/*
 * DESIGN: the HTTP front of the API server. libmicrohttpd runs its own
 * polling thread and a pool of worker threads; each request is answered
 * from its callback. This file owns the daemon's lifecycle and the health
 * endpoints; routing of the Kubernetes API grows from here.
 */
#include "apiserver/apiserver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <jansson.h>
#include <microhttpd.h>

#include "lib/err.h"
#include "lib/log.h"
#include "lib/version.h"

#define API_THREADS 4

struct api_server {
    struct api_config cfg;
    struct sockaddr_in addr;
    struct MHD_Daemon *mhd;
    int port;
    atomic_bool ready;
    atomic_bool stopping;
};

static enum MHD_Result api_reply(struct MHD_Connection *conn, int status,
                                 const char *ctype, const char *body)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(strlen(body), (void *)body,
                                           MHD_RESPMEM_MUST_COPY);
    if (resp == NULL)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", ctype);
    ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A Kubernetes Status body for error `rv` with `message`. */
static enum MHD_Result api_reply_status(struct MHD_Connection *conn, int rv,
                                        const char *message)
{
    json_t *st = json_pack("{s:s, s:s, s:{}, s:s, s:s, s:s, s:i}", "kind",
                           "Status", "apiVersion", "v1", "metadata", "status",
                           "Failure", "message", message, "reason",
                           err_reason(rv), "code", err_http_status(rv));
    char *body = st ? json_dumps(st, JSON_COMPACT) : NULL;
    enum MHD_Result ret;

    json_decref(st);
    if (body == NULL)
        return MHD_NO;
    ret = api_reply(conn, err_http_status(rv), "application/json", body);
    free(body);
    return ret;
}

static enum MHD_Result api_reply_version(struct MHD_Connection *conn)
{
    json_t *v = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "major",
        K1S_KUBE_MAJOR, "minor", K1S_KUBE_MINOR, "gitVersion", K1S_KUBE_VERSION,
        "gitCommit", "0000000000000000000000000000000000000000", "gitTreeState",
        "clean", "buildDate", "2026-11-25T00:00:00Z", "goVersion", "go1.23.0",
        "compiler", "gc", "platform", "linux/amd64");
    char *body = v ? json_dumps(v, JSON_COMPACT) : NULL;
    enum MHD_Result ret;

    json_decref(v);
    if (body == NULL)
        return MHD_NO;
    ret = api_reply(conn, 200, "application/json", body);
    free(body);
    return ret;
}

/* Paths compare without one trailing slash: the Python client asks for
 * "/version/" (kubectl-wire.md §1.3). */
static int api_path_is(const char *url, const char *path)
{
    size_t n = strlen(path);
    return strncmp(url, path, n) == 0 &&
           (url[n] == '\0' || (url[n] == '/' && url[n + 1] == '\0'));
}

static enum MHD_Result api_handle(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *data_size, void **req_cls)
{
    struct api_server *srv = cls;
    (void)version;
    (void)data;

    /* The first call for a request only announces it. */
    if (*req_cls == NULL) {
        *req_cls = srv;
        return MHD_YES;
    }
    if (*data_size != 0) { /* bodies are not read by these endpoints */
        *data_size = 0;
        return MHD_YES;
    }
    if (atomic_load(&srv->stopping))
        return api_reply_status(conn, K1S_ESHUTDOWN,
                                "the server is shutting down");
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return api_reply_status(conn, K1S_EMETHOD,
                                "the server does not allow this method on "
                                "the requested resource");
    if (api_path_is(url, "/healthz") || api_path_is(url, "/livez"))
        return api_reply(conn, 200, "text/plain", "ok");
    if (api_path_is(url, "/readyz")) {
        if (atomic_load(&srv->ready))
            return api_reply(conn, 200, "text/plain", "ok");
        return api_reply(conn, 503, "text/plain", "not ready");
    }
    if (api_path_is(url, "/version"))
        return api_reply_version(conn);
    return api_reply_status(conn, K1S_ENOTFOUND,
                            "the server could not find the requested "
                            "resource");
}

static int api_is_loopback(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 24) == 127;
}

int api_server_create(const struct api_config *cfg, struct api_server **ret,
                      char *errbuf, size_t errlen)
{
    struct api_server *srv;
    const char *bind = cfg->bind_address ? cfg->bind_address : "127.0.0.1";

    srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return K1S_ENOMEM;
    srv->cfg = *cfg;
    srv->addr.sin_family = AF_INET;
    srv->addr.sin_port = htons((uint16_t)cfg->port);
    if (cfg->port < 0 || cfg->port > 65535 ||
        inet_pton(AF_INET, bind, &srv->addr.sin_addr) != 1) {
        snprintf(errbuf, errlen,
                 "apiserver: bad bind address %s port %d (want an IPv4 "
                 "address and a port 0-65535)",
                 bind, cfg->port);
        free(srv);
        return K1S_EINVAL;
    }
    if (!api_is_loopback(&srv->addr.sin_addr)) {
        if (!cfg->insecure_bind) {
            snprintf(errbuf, errlen,
                     "apiserver: refusing to serve plain HTTP on "
                     "non-loopback address %s; pass --insecure-bind to do "
                     "it anyway",
                     bind);
            free(srv);
            return K1S_EINVAL;
        }
        log_warn("apiserver: serving plain HTTP without authentication on "
                 "non-loopback address %s",
                 bind);
    }
    *ret = srv;
    return 0;
}

int api_server_start(struct api_server *srv, char *errbuf, size_t errlen)
{
    const union MHD_DaemonInfo *info;

    srv->mhd = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
        NULL, NULL, api_handle, srv, MHD_OPTION_SOCK_ADDR, &srv->addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)API_THREADS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)0, MHD_OPTION_END);
    if (srv->mhd == NULL) {
        char ip[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &srv->addr.sin_addr, ip, sizeof ip);
        snprintf(errbuf, errlen,
                 "apiserver: cannot listen on %s:%d (in use, or not an "
                 "address of this machine)",
                 ip, ntohs(srv->addr.sin_port));
        return K1S_EIO;
    }
    info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : ntohs(srv->addr.sin_port);
    return 0;
}

int api_server_port(const struct api_server *srv)
{
    return srv->port;
}

void api_server_set_ready(struct api_server *srv, bool ready)
{
    atomic_store(&srv->ready, ready);
}

void api_server_stop(struct api_server *srv)
{
    atomic_store(&srv->stopping, true);
    atomic_store(&srv->ready, false);
    if (srv->mhd) {
        MHD_stop_daemon(srv->mhd);
        srv->mhd = NULL;
    }
}

void api_server_destroy(struct api_server *srv)
{
    if (srv == NULL)
        return;
    api_server_stop(srv);
    free(srv);
}

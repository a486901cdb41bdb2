/*
 * apiserver — the Kubernetes REST API over the store. The only module that
 * speaks HTTP on the server side (libmicrohttpd stays inside it).
 *
 * Lifecycle: api_server_create (no threads yet) → api_server_start (binds
 * and serves on libmicrohttpd's threads) → api_server_stop (pending
 * requests are failed with 503, streams closed, threads joined) →
 * api_server_destroy. Create/start/stop/destroy are called from one thread
 * (main's).
 */
#ifndef K1S_APISERVER_APISERVER_H
#define K1S_APISERVER_APISERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

struct store;
struct api_server;

struct api_config {
    const char *bind_address; /* "127.0.0.1" by default */
    int port;                 /* 6443 by default; 0 = pick a free port */
    bool insecure_bind;       /* allow a non-loopback address without TLS */
    int max_watches;          /* concurrent HTTP watches; 0 = 3000. More
                                 are refused with 429 TooManyRequests */
    struct store *store;      /* borrowed; outlives the server */
    /* DefaultTolerationSeconds admission: seconds a new pod tolerates the
     * not-ready / unreachable NoExecute taints; 0 = 300 as Kubernetes. */
    int default_not_ready_toleration_s;
    int default_unreachable_toleration_s;
};

/* Errors: K1S_EINVAL (bad address; a non-loopback address without
 * insecure_bind), K1S_ENOMEM. `errbuf` says why. */
int api_server_create(const struct api_config *cfg, struct api_server **ret,
                      char *errbuf, size_t errlen);

/* Binds and starts serving. Errors: K1S_EIO (address in use...). */
int api_server_start(struct api_server *srv, char *errbuf, size_t errlen);

/* The port actually bound (useful with port 0). */
int api_server_port(const struct api_server *srv);

/* Marks the server ready: /readyz answers 200 from now on. */
void api_server_set_ready(struct api_server *srv, bool ready);

/* Stops serving: new requests get 503, pending ones are failed, streams
 * closed, threads joined. Idempotent. */
void api_server_stop(struct api_server *srv);

/* NULL ok. Stops first if still running. */
void api_server_destroy(struct api_server *srv);

/* --- label selectors, for other modules ------------------------------- */

/* Whether `labels` (an object's metadata.labels, or NULL) match the
 * labelSelector query syntax `selector` (Kubernetes's: "=", "==", "!=",
 * "in", "notin", "key", "!key"; "" matches everything). Returns 1 or 0,
 * or K1S_EBADREQ with Kubernetes's message in errbuf when it does not
 * parse. For kubectl-lite, which filters local objects the way kubectl's
 * resource builder does, with the server's own parser. */
int api_labels_match(const char *selector, const json_t *labels, char *errbuf,
                     size_t errlen);

/* --- in-process client (scheduler, controllers) ----------------------- */

/* The same routing, admission, validation and defaulting as an HTTP
 * request. Any thread. Returns the HTTP status (200, 201, 404, 409,
 * 422...) or a negative K1S_E* if the call could not be made at all
 * (shutdown...). *ret_body (may be NULL) gets a new reference: the object,
 * list or Status. */
int api_call(struct api_server *srv, const char *method,
             const char *path /* may include ?query */,
             const char *content_type /* NULL = application/json */,
             const json_t *body /* borrowed, may be NULL */, json_t **ret_body);

struct api_watch;
/* type: "ADDED","MODIFIED","DELETED","BOOKMARK","ERROR"; object borrowed
 * for the call. Runs on a thread owned by the watch; must not block long.
 * When the watch ends (ERROR such as 410 Expired, server stopping,
 * api_watch_stop) cb is called exactly once more with type == NULL,
 * object == NULL — except after api_watch_stop returns, when it is never
 * called again. */
typedef void (*api_watch_cb)(const char *type, const json_t *object, void *arg);

/* Starts a watch on a list path with ?query (resourceVersion,
 * labelSelector, fieldSelector, allowWatchBookmarks). If it fails, cb is
 * never called; errors: K1S_ENOTFOUND (no such resource), K1S_EBADREQ (bad
 * selector), K1S_EGONE (resourceVersion compacted), K1S_ESHUTDOWN. */
int api_watch_start(struct api_server *srv, const char *path, api_watch_cb cb,
                    void *arg, struct api_watch **ret);

/* Stops the watch and joins its thread; cb is never called after this
 * returns. Must not be called from cb itself. NULL ok. */
void api_watch_stop(struct api_watch *w);

#endif

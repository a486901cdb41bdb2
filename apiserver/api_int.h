/*
 * api_int.h — what the files of apiserver/ share with each other and with
 * nobody else (other modules include only apiserver/apiserver.h).
 *
 * A request is decoded once into a transport-neutral struct api_req (by
 * http.c for HTTP, by client.c for the in-process client), dispatched by
 * api_dispatch() (objects.c) and answered through a struct api_resp. Watch
 * streams are struct api_watcher (watch.c): the HTTP layer drains them from
 * libmicrohttpd's content reader with suspend/resume, the in-process client
 * from a thread of its own.
 *
 * Threads: every function here may be called from any thread; the server
 * struct's mutable parts are guarded by its own locks (lock order:
 * srv->watch_mu before api_watcher.mu).
 */
#ifndef K1S_APISERVER_API_INT_H
#define K1S_APISERVER_API_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "apiserver/apiserver.h"
#include "lib/buf.h"

/* --- the pure helpers (patch, selectors, quantities, protobuf) -------- */
#include "apiserver/patch.h"
#include "apiserver/protobuf.h"
#include "apiserver/quantity.h"
#include "apiserver/selector.h"

struct store;
struct store_watch;

/* --- limits -------------------------------------------------------------- */
#define API_BODY_MAX (3u * 1024 * 1024)      /* as Kubernetes: 413 beyond */
#define API_JSON_DEPTH_MAX 100               /* nesting of a request body */
#define API_CONN_MAX 4000                    /* concurrent connections */
#define API_WATCH_OUT_MAX (4u * 1024 * 1024) /* bytes queued per watcher */
#define API_WATCH_MAX 3000                   /* HTTP watches (default) */
#define API_WATCH_MAX_SECONDS 1800           /* longest watch without timeout */
#define API_BOOKMARK_SECONDS 5               /* bookmark period when asked */
#define API_LIST_MAX 100000                  /* objects in one list answer */
#define API_QUERY_MAX 64                     /* query parameters per request */

/* --- the resource registry (registry.c) ------------------------------- */
enum api_sub {
    API_SUB_NONE = 0,
    API_SUB_STATUS = 1u << 0,
    API_SUB_SCALE = 1u << 1,
    API_SUB_BINDING = 1u << 2,
    API_SUB_EVICTION = 1u << 3,
    API_SUB_LOG = 1u << 4,
    API_SUB_FINALIZE = 1u << 5, /* namespaces/finalize: spec.finalizers */
};

enum api_rflag {
    API_RF_GENERATION = 1u << 0,   /* has spec: generation bumped on change */
    API_RF_RESET_STATUS = 1u << 1, /* create starts with an empty status */
};

struct api_errs; /* validation causes, validate.c */

struct api_resource {
    const char *group; /* "" for core */
    const char *version;
    const char *resource; /* plural, "pods" */
    const char *singular;
    const char *kind;
    bool namespaced;
    const char *short_names[3];
    bool cat_all;                /* in the "all" category */
    unsigned subresources;       /* enum api_sub bits */
    unsigned flags;              /* enum api_rflag bits */
    const char *const *fields;   /* field selectors served (NULL-terminated) */
    const char *const *top_keys; /* known top-level keys (strict decoding) */
    /* Fills defaults in place (obj is the whole object). */
    void (*defaults)(json_t *obj);
    /* Adds causes for what is wrong; old is NULL on create. */
    void (*validate)(const json_t *obj, const json_t *old, struct api_errs *e);
    /* Table: fills columnDefinitions once, and one row's cells. */
    const struct api_table_def *table;
};

struct api_table_col {
    const char *name, *type, *format, *description;
    int priority;
};
struct api_table_def {
    const struct api_table_col *cols;
    size_t ncols;
    /* Appends the cells of obj's row to `cells` (a JSON array). */
    void (*cells)(const json_t *obj, json_t *cells, int64_t now_ns);
};

extern const struct api_resource api_resources[];
extern const size_t api_nresources;

const struct api_resource *
api_resource_find(const char *group, const char *version, const char *resource);
/* "deployments.apps", "pods": how messages name a resource. */
void api_resource_qualified(const struct api_resource *res, char *out,
                            size_t len);
/* "apps/v1" or "v1". */
void api_resource_gv(const struct api_resource *res, char *out, size_t len);
/* Store key: /registry/<resource>/<ns>/<name> or /registry/<resource>/<name>;
 * name NULL or "" gives the prefix (ending in '/'). */
int api_resource_key(const struct api_resource *res, const char *ns,
                     const char *name, char *out, size_t len);

/* --- server ------------------------------------------------------------- */
struct api_watcher;

/* The namespaces creates go into (nscache.c): NamespaceLifecycle
 * admission answered from a small table that a store watch invalidates. */
enum api_ns_state {
    API_NS_MISSING = 0,
    API_NS_ACTIVE = 1,
    API_NS_TERMINATING = 2,
};
#define API_NSCACHE_SLOTS 64
struct api_nscache {
    pthread_mutex_t mu;
    struct store_watch *w; /* NULL: not armed (every lookup reads) */
    atomic_bool dirty;     /* set by the watch: some namespace changed */
    uint64_t gen;          /* a slot is valid only in its generation */
    bool stopped;
    struct {
        char name[64]; /* a namespace name is a DNS label: <= 63 */
        uint64_t gen;
        int state; /* enum api_ns_state; 0: empty */
    } slots[API_NSCACHE_SLOTS];
};
void api_nscache_init(struct api_nscache *nc);
/* Drops the watch; later lookups read the store. */
void api_nscache_stop(struct api_nscache *nc);
void api_nscache_close(struct api_nscache *nc);
enum api_ns_state api_nscache_lookup(struct api_nscache *nc, struct store *s,
                                     const char *name);

struct api_server {
    struct api_config cfg;
    struct store *store;
    void *mhd; /* struct MHD_Daemon * (http.c) */
    int port;
    atomic_bool ready;
    atomic_bool stopping;
    /* Discovery and OpenAPI documents, built at start (discovery.c). */
    char *doc_api;          /* /api (APIVersions) */
    char *doc_apis;         /* /apis (APIGroupList) */
    char *doc_agg_api[2];   /* aggregated /api: [0] v2, [1] v2beta1 */
    char *doc_agg_apis[2];  /* aggregated /apis */
    json_t *doc_gv;         /* "v1" / "apps/v1" -> APIResourceList string */
    char *doc_openapi;      /* /openapi/v3 index */
    json_t *doc_openapi_gv; /* "api/v1" / "apis/apps/v1" -> doc string */
    /* HTTP watchers, for the timer (bookmarks, timeouts, shutdown). */
    pthread_mutex_t watch_mu;
    struct api_watcher *watchers; /* list through api_watcher.next */
    size_t nwatchers;
    pthread_t timer;
    bool timer_started;
    pthread_cond_t timer_cv;
    atomic_long active_requests;
    struct api_nscache nscache;
};

/* --- requests and answers ------------------------------------------- */
struct api_kv {
    char *key;
    char *val;
};

struct api_req {
    const char *method;
    char *path; /* heap, without query */
    struct api_kv query[API_QUERY_MAX];
    size_t nquery;
    const char *content_type; /* may be NULL */
    const char *accept;       /* may be NULL */
    const char *body;         /* raw body (HTTP), may be NULL */
    size_t body_len;
    const json_t *body_json; /* in-process body, borrowed */
    bool in_process;
    bool body_too_large;
    const char *user_agent;
};

enum api_stream_kind {
    API_STREAM_NONE = 0,
    API_STREAM_WATCH,
    API_STREAM_LOG,
};

struct api_resp {
    int status;
    const char *ctype; /* static string */
    json_t *json;      /* new reference, or NULL */
    char *text;        /* heap, or NULL */
    size_t text_len;
    char warning[512];    /* a Warning header value, "" if none */
    char retry_after[16]; /* a Retry-After header value, "" if none */
    enum api_stream_kind stream_kind;
    struct api_watcher *watcher; /* API_STREAM_WATCH */
    struct api_logstream *log;   /* API_STREAM_LOG */
};

void api_req_clear(struct api_req *r);
void api_resp_clear(struct api_resp *o);
const char *api_query(const struct api_req *r, const char *key);
bool api_query_bool(const struct api_req *r, const char *key);
/* Parses "a=b&c=d" (URL-encoded) into r->query. K1S_EBADREQ if too many. */
int api_req_parse_query(struct api_req *r, const char *qs);

/* Routes and answers one request. Never fails: errors are Status bodies. */
void api_dispatch(struct api_server *srv, struct api_req *r,
                  struct api_resp *o);

/* --- Status (status.c) ---------------------------------------------- */
/* A Status object for error rv with message; details (may be NULL) is
 * stolen. New reference. */
json_t *api_status_new(int rv, const char *message, json_t *details);
/* o becomes an error answer. */
void api_resp_status(struct api_resp *o, int rv, json_t *details,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* NotFound / AlreadyExists / Conflict shaped as Kubernetes shapes them. */
void api_resp_notfound(struct api_resp *o, const struct api_resource *res,
                       const char *name);
void api_resp_exists(struct api_resp *o, const struct api_resource *res,
                     const char *name);
void api_resp_conflict(struct api_resp *o, const struct api_resource *res,
                       const char *name);
void api_resp_json(struct api_resp *o, int status, json_t *body /* stolen */);
void api_resp_text(struct api_resp *o, int status, const char *ctype,
                   const char *text);

/* --- validation (validate.c) ---------------------------------------- */
#define API_CAUSES_MAX 32
struct api_errs {
    json_t *causes; /* array of {reason,message,field} */
    size_t n;
};
void api_errs_init(struct api_errs *e);
void api_errs_close(struct api_errs *e);
void api_errs_add(struct api_errs *e, const char *reason, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Invalid: the 422 answer built from the causes. */
void api_resp_invalid(struct api_resp *o, const struct api_resource *res,
                      const char *name, struct api_errs *e);
void api_validate_meta(const struct api_resource *res, const json_t *obj,
                       struct api_errs *e);
/* Unknown top-level/metadata fields, as "unknown field \"x\"" strings
 * joined with ", " into out. Returns how many. */
size_t api_unknown_fields(const struct api_resource *res, const json_t *obj,
                          char *out, size_t len);
bool api_is_dns1123_label(const char *s);
bool api_is_dns1123_subdomain(const char *s);

/* kind-specific hooks, registry rows point at them */
void api_defaults_pod(json_t *obj);
/* The DefaultTolerationSeconds admission step of a pod create: tolerations
 * of the not-ready and unreachable NoExecute taints for the given seconds,
 * each added only if the pod does not tolerate that taint already. */
void api_admit_pod_tolerations(json_t *pod, int64_t not_ready_s,
                               int64_t unreachable_s);
void api_defaults_deployment(json_t *obj);
void api_defaults_replicaset(json_t *obj);
void api_defaults_daemonset(json_t *obj);
void api_defaults_statefulset(json_t *obj);
void api_defaults_job(json_t *obj);
void api_defaults_service(json_t *obj);
void api_defaults_secret(json_t *obj);
void api_defaults_namespace(json_t *obj);
void api_defaults_node(json_t *obj);
void api_validate_pod(const json_t *obj, const json_t *old, struct api_errs *e);
void api_validate_workload(const json_t *obj, const json_t *old,
                           struct api_errs *e);
void api_validate_job(const json_t *obj, const json_t *old, struct api_errs *e);
void api_validate_service(const json_t *obj, const json_t *old,
                          struct api_errs *e);
void api_validate_configmap(const json_t *obj, const json_t *old,
                            struct api_errs *e);
void api_validate_secret(const json_t *obj, const json_t *old,
                         struct api_errs *e);
void api_validate_lease(const json_t *obj, const json_t *old,
                        struct api_errs *e);
void api_validate_event(const json_t *obj, const json_t *old,
                        struct api_errs *e);

/* --- tables (table.c) ------------------------------------------------ */
extern const struct api_table_def api_table_default, api_table_pods,
    api_table_deployments, api_table_replicasets, api_table_daemonsets,
    api_table_statefulsets, api_table_jobs, api_table_nodes,
    api_table_namespaces, api_table_services, api_table_endpoints,
    api_table_configmaps, api_table_secrets, api_table_serviceaccounts,
    api_table_events, api_table_leases;
enum api_include { API_INC_NONE, API_INC_METADATA, API_INC_OBJECT };
/* A Table for a list of objects (or one object when `one`). New ref. */
json_t *api_table_new(const struct api_resource *res, json_t *items,
                      const char *rv, const char *cont, bool with_columns,
                      enum api_include inc);
/* "3s", "5m10s": Kubernetes's HumanDuration. */
void api_human_duration(int64_t ns, char *out, size_t len);

/* --- JSON body decoding (body.c) ------------------------------------- */
/* Decodes a request body with the depth cap. K1S_EBADREQ with message. */
int api_json_decode(const char *data, size_t len, json_t **ret, char *errbuf,
                    size_t errlen);
/* Compact dump, new heap string. */
char *api_json_dump(const json_t *v, size_t *ret_len);

/* --- selectors (sel.c) ---------------------------------------------- */
/* Parses labelSelector / fieldSelector (either may be NULL or ""): *ls and
 * *fs are NULL when absent. K1S_EBADREQ with Kubernetes's message. */
int api_sel_parse(const struct api_resource *res, const char *label,
                  const char *field, void **ret_ls, void **ret_fs, char *errbuf,
                  size_t errlen);
bool api_sel_match(const void *ls, const void *fs, const json_t *obj);
/* The name a field selector pins (metadata.name=X), or NULL. */
const char *api_sel_name(const void *fs);
void api_sel_free(void *ls, void *fs);

/* --- objects (objects.c) ------------------------------------------------ */
/* The object stored at kv, with metadata.resourceVersion from its mod_rev
 * (or `rev` if non-zero, for DELETED events). New reference or NULL. */
struct store_kv;
json_t *api_obj_from_kv(const struct store_kv *kv, int64_t rev);
/* The list kind's apiVersion/kind for res ("v1", "PodList"). */
void api_set_rv(json_t *obj, int64_t rev);

/* --- watch (watch.c) ------------------------------------------------- */
struct api_watch_opts {
    const struct api_resource *res;
    char ns[256];
    int64_t from_rev;    /* 0 = send the current state first */
    bool initial_events; /* rv absent or "0" */
    bool bookmarks;
    bool table;
    enum api_include include;
    int64_t timeout_s; /* 0 = server max */
    void *lsel;        /* struct api_label_selector *, taken */
    void *fsel;        /* struct api_field_selector *, taken */
};

typedef void (*api_watcher_wake_cb)(void *arg);

/* Creates a watcher: the store watch, the initial snapshot. Errors:
 * K1S_EGONE (too old, as a 410), K1S_ENOMEM. On error opts' selectors are
 * freed. */
int api_watcher_create(struct api_server *srv, struct api_watch_opts *opts,
                       api_watcher_wake_cb wake, void *wake_arg,
                       struct api_watcher **ret);
/* Emits pending events (at most a batch) through emit. Returns 0, or 1
 * once the stream is over (emit was called for the last time). */
typedef void (*api_watcher_emit_cb)(const char *type, json_t *obj, void *arg);
int api_watcher_pump(struct api_watcher *w, api_watcher_emit_cb emit,
                     void *arg);
/* Makes the next pump end the stream (optionally with an ERROR Status). */
void api_watcher_end(struct api_watcher *w);
void api_watcher_destroy(struct api_watcher *w);
/* Blocks up to timeout_ms for events (in-process watches). */
void api_watcher_wait(struct api_watcher *w, int timeout_ms);
bool api_watcher_due(struct api_watcher *w, int64_t now_ns);

/* HTTP stream glue (http.c): watcher fields used by the HTTP layer. */
struct api_watcher {
    struct api_server *srv;
    struct api_watch_opts o;
    struct store_watch *sw;
    json_t *initial; /* array of objects still to send as ADDED */
    size_t initial_idx;
    int64_t last_rev;
    int64_t deadline_ns;
    int64_t next_bookmark_ns;
    bool header_sent; /* Table columnDefinitions sent */
    bool more;        /* pump stopped with events still queued */
    atomic_bool ended;
    atomic_bool end_requested;
    bool finished;
    api_watcher_wake_cb wake;
    void *wake_arg;
    /* HTTP transport state (http.c) */
    pthread_mutex_t mu;
    struct buf out;
    size_t out_off;
    bool suspended;
    bool http_idle;
    void *conn; /* struct MHD_Connection * */
    struct api_watcher *next, *prev;
    bool listed;
};

/* --- logs (podlog.c) -------------------------------------------------- */
struct api_logstream;
/* Connects to the node agent and starts streaming; the answer is a
 * stream (o->log) or an error Status. */
void api_pod_log(struct api_server *srv, struct api_req *r, const json_t *pod,
                 const json_t *node, struct api_resp *o);
/* Reads up to max bytes; 0 = nothing yet (would block, then waits up to
 * timeout_ms), -1 = end. */
ssize_t api_logstream_read(struct api_logstream *l, char *buf, size_t max,
                           int timeout_ms);
void api_logstream_destroy(struct api_logstream *l);
/* Calls wake(arg) once, from the log poller thread, when the stream has
 * data or has ended. */
void api_logstream_arm(struct api_logstream *l, void (*wake)(void *),
                       void *arg);

/* --- misc ---------------------------------------------------------------- */
/* RFC 4122 version 4 UUID into out (37 bytes). */
void api_uuid(char *out);
/* Starts the namespaces that must exist (default, kube-system...). */
int api_bootstrap(struct api_server *srv, char *errbuf, size_t errlen);
/* Builds the discovery/OpenAPI documents (once the port is known). */
int api_discovery_build(struct api_server *srv);
void api_discovery_free(struct api_server *srv);
/* Accept negotiation: 0 plain JSON, 1 Table, 2 aggregated discovery v2,
 * 3 aggregated v2beta1 — the first the client lists that is allowed. */
int api_accept_pick(const char *accept, bool table_ok, bool agg_ok);
/* Serves discovery/openapi paths; returns false if path is not one. */
bool api_discovery_serve(struct api_server *srv, struct api_req *r,
                         struct api_resp *o);

#endif

/*
 * agent_client.h — the agent's HTTP client of the API server (client.c).
 *
 * One struct agent_http per thread; not thread-safe. JSON in (borrowed),
 * JSON out (new reference, may be NULL when the body was not JSON).
 */
#ifndef K1S_AGENT_CLIENT_H
#define K1S_AGENT_CLIENT_H

#include <stdbool.h>

#include <jansson.h>

#include <stddef.h>

#define AGENT_HTTP_PARALLEL 8

struct agent_http {
    void *curl;
    void *multi; /* for agent_http_multi, made on first use */
    void *pool[AGENT_HTTP_PARALLEL];
    char base[512];
    char auth[1100];
    const volatile int *stop; /* non-zero aborts a transfer (may be NULL) */
};

/* Once per process, before threads use the client. */
void agent_http_global_init(void);
int agent_http_init(struct agent_http *h, const char *base, const char *token);
void agent_http_close(struct agent_http *h);

/* Returns the HTTP status (200, 404, ...) or a negative K1S_E* when no
 * answer came (K1S_EUNAVAIL: server down). *ret: the answer's JSON. */
int agent_http_call(struct agent_http *h, const char *method, const char *path,
                    const char *ctype, const json_t *body, long timeout_ms,
                    json_t **ret);

/* Called for each watch event (borrowed); return false to stop. */
typedef bool (*agent_watch_line_cb)(const json_t *event, void *arg);
/* Runs a watch GET until the server ends it (0), the callback stops it
 * (0), or it fails (K1S_E*). */
int agent_http_watch(struct agent_http *h, const char *path,
                     agent_watch_line_cb cb, void *arg);

/* One of the requests agent_http_multi sends side by side. */
struct agent_http_req {
    const char *method;
    char path[1024];
    const char *ctype;
    json_t *body; /* borrowed */
    int status;   /* out: HTTP status or K1S_E* */
};
/* Sends n requests, AGENT_HTTP_PARALLEL at a time, on kept-alive
 * connections (so the server can commit their writes together); answers'
 * bodies are dropped. Returns 0; each request's outcome is in ->status. */
int agent_http_multi(struct agent_http *h, struct agent_http_req *reqs,
                     size_t n, long timeout_ms);

#endif

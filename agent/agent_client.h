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

#define AGENT_HTTP_ASYNC_SLOTS 16

struct agent_http {
    void *curl;
    void *amulti; /* asynchronous requests */
    void *aslot[AGENT_HTTP_ASYNC_SLOTS];
    void *atag[AGENT_HTTP_ASYNC_SLOTS];
    void *ahdrs[AGENT_HTTP_ASYNC_SLOTS];
    int abusy;
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

/* A request for agent_http_async_start. */
struct agent_http_req {
    const char *method;
    char path[1024];
    const char *ctype;
    json_t *body; /* borrowed */
};

/* Asynchronous requests, driven by the owner thread's loop. Starts r
 * (copied) unless every slot is busy (K1S_EBUSY); `tag` comes back with
 * the answer. */
int agent_http_async_start(struct agent_http *h, const struct agent_http_req *r,
                           void *tag);
/* Called for each finished request: its tag and HTTP status (or K1S_E*). */
typedef void (*agent_http_done_cb)(void *tag, int status, void *arg);
/* Advances the requests without blocking and reports finished ones. */
void agent_http_async_poll(struct agent_http *h, agent_http_done_cb done,
                           void *arg);
/* Ends every request in flight, reporting each with K1S_ESHUTDOWN (its
 * tag goes back to the caller). Call before agent_http_close. */
void agent_http_async_cancel(struct agent_http *h, agent_http_done_cb done,
                             void *arg);
/* Waits up to timeout_ms for network progress or `fd` readable. */
void agent_http_async_wait(struct agent_http *h, int fd, int timeout_ms);
/* Requests in flight. */
int agent_http_async_busy(const struct agent_http *h);

#endif

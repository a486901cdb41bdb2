/*
 * agent — the k1s node agent.
 *
 * A node agent registers a Node with the API server, renews its Lease in
 * kube-node-lease, watches the pods bound to it (spec.nodeName) and runs
 * them with the process runtime (see docs/ARCHITECTURE.md, "agent/"). It
 * talks to the API server over HTTP only (libcurl), also when embedded in
 * `k1s server`, exactly as a remote node would. It serves container logs
 * on its own port (INTERFACES.md, "Node agent endpoints").
 *
 * Threads: agent_start creates the agent's threads (sync loop, pod watch,
 * node heartbeat, log server) and returns; agent_stop stops and joins them.
 * Running pods are NOT stopped by agent_stop: they keep running and a
 * later agent adopts them from the data directory.
 */
#ifndef K1S_AGENT_AGENT_H
#define K1S_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>

struct agent_config {
    const char *server_url; /* http://127.0.0.1:6443 */
    const char *token;      /* bearer token or NULL */
    const char *node_name;  /* NULL: the hostname */
    const char *data_dir;   /* pods, logs, volumes live below */
    const char *node_ip;    /* InternalIP; NULL: 127.0.0.1 */
    int port;               /* log server port; 0: pick a free one */
    size_t log_max_bytes;   /* per container log file; 0: 10 MiB */
    bool trim_heap;         /* the process is the agent's alone: give freed
                               memory back to the kernel after bursts
                               (malloc_trim locks every arena in turn) */
};

struct agent;

/* Starts an agent. 0, or a K1S_E* code with a message in err. */
int agent_start(const struct agent_config *cfg, struct agent **ret, char *err,
                size_t errlen);
/* Stops the agent's threads (pods keep running) and frees it. NULL ok. */
void agent_stop(struct agent *a);

/* `k1s agent ...`: parses flags, runs until SIGTERM/SIGINT. Exit code. */
int agent_main(int argc, char **argv);

#endif

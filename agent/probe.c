/*
 * DESIGN: container probes that never block the sync thread.
 *
 * Kubernetes's three handlers (API reference, core/v1 Probe):
 *   exec       run the command; exit 0 is success
 *   httpGet    GET scheme://host:port/path; 200 <= status < 400 is success
 *   tcpSocket  the connection is accepted
 * Each is started by agent_probe_start and then advanced by
 * agent_probe_step, which only polls (non-blocking sockets, waitpid
 * WNOHANG), so one thread can run the probes of every pod. timeoutSeconds
 * is the deadline; past it the probe fails (and an exec probe's process
 * group is killed).
 *
 * Without network namespaces a pod shares the node's network, so the
 * default host is the node's address (as for a hostNetwork pod). Only
 * numeric IPv4 hosts are accepted ("localhost" means 127.0.0.1). HTTPS and
 * gRPC probes fail with a clear reason: there is no TLS client here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/err.h"
#include "lib/log.h"

enum { PK_IDLE, PK_EXEC, PK_HTTP, PK_TCP };

/* A port is a number or the name of one of the container's ports. */
static int resolve_port(const json_t *port, const json_t *container)
{
    const json_t *p;
    size_t i;

    if (json_is_integer(port))
        return (int)json_integer_value(port);
    if (!json_is_string(port))
        return -1;
    json_array_foreach (json_object_get(container, "ports"), i, p) {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, json_string_value(port)) == 0)
            return (int)json_integer_value(json_object_get(p, "containerPort"));
    }
    return atoi(json_string_value(port));
}

static int connect_start(struct agent_probe_run *p, const char *host, int port)
{
    struct sockaddr_in sa;
    int fd;

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    if (strcmp(host, "localhost") == 0)
        host = "127.0.0.1";
    if (port <= 0 || port > 65535 ||
        inet_pton(AF_INET, host, &sa.sin_addr) != 1)
        return K1S_EINVAL;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return err_from_errno(errno);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0 &&
        errno != EINPROGRESS) {
        close(fd);
        p->fd = -1;
        return 1; /* refused at once: a plain failure */
    }
    p->fd = fd;
    return 0;
}

int agent_probe_start(struct agent_probe_run *p, const json_t *probe,
                      const json_t *container, char *const *envp,
                      const char *host, int64_t now_ms, int64_t timeout_ms)
{
    const json_t *h;

    memset(p, 0, sizeof *p);
    p->fd = -1;
    p->deadline_ms = now_ms + timeout_ms;
    if ((h = json_object_get(probe, "exec")) != NULL) {
        const json_t *cmd = json_object_get(h, "command"), *a;
        char *argv[65], exe[PATH_MAX];
        size_t i, n = json_array_size(cmd);
        pid_t pid;

        if (n == 0 || n > 64)
            return K1S_EINVAL;
        json_array_foreach (cmd, i, a)
            argv[i] = (char *)json_string_value(a);
        argv[n] = NULL;
        for (i = 0; i < n; i++)
            if (argv[i] == NULL)
                return K1S_EINVAL;
        p->kind = PK_EXEC;
        if (agent_run_lookup(argv[0], envp, NULL, exe, sizeof exe) != 0) {
            p->pid = -1; /* fails at the first step */
            return 0;
        }
        pid = fork();
        if (pid < 0)
            return err_from_errno(errno);
        if (pid == 0) {
            sigset_t none;
            int dn = open("/dev/null", O_RDWR);
            setpgid(0, 0);
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
            signal(SIGPIPE, SIG_DFL);
            if (dn >= 0) {
                dup2(dn, 0);
                dup2(dn, 1);
                dup2(dn, 2);
            }
            close_range(3, ~0U, 0);
            execve(exe, argv, envp);
            _exit(127);
        }
        p->pid = pid;
        return 0;
    }
    if ((h = json_object_get(probe, "httpGet")) != NULL) {
        const char *path = json_string_value(json_object_get(h, "path"));
        const char *scheme = json_string_value(json_object_get(h, "scheme"));
        const char *hh = json_string_value(json_object_get(h, "host"));
        int port = resolve_port(json_object_get(h, "port"), container), rv;
        const json_t *hdr;
        size_t i;
        int n;

        p->kind = PK_HTTP;
        if (scheme && strcasecmp(scheme, "HTTP") != 0) {
            p->phase = -1; /* fails: no TLS client */
            return 0;
        }
        if (hh == NULL || hh[0] == '\0')
            hh = host;
        n = snprintf(p->req, sizeof p->req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\n"
                     "User-Agent: kube-probe/1.32\r\nAccept: */*\r\n"
                     "Connection: close\r\n",
                     path && path[0] ? path : "/", hh, port);
        json_array_foreach (json_object_get(h, "httpHeaders"), i, hdr) {
            const char *k = json_string_value(json_object_get(hdr, "name"));
            const char *v = json_string_value(json_object_get(hdr, "value"));
            if (k && v && n > 0 && (size_t)n < sizeof p->req)
                n += snprintf(p->req + n, sizeof p->req - (size_t)n,
                              "%s: %s\r\n", k, v);
        }
        if (n > 0 && (size_t)n < sizeof p->req)
            n += snprintf(p->req + n, sizeof p->req - (size_t)n, "\r\n");
        if (n <= 0 || (size_t)n >= sizeof p->req)
            return K1S_EINVAL;
        p->req_len = (size_t)n;
        rv = connect_start(p, hh, port);
        if (rv < 0)
            return rv;
        if (rv == 1)
            p->phase = -1;
        return 0;
    }
    if ((h = json_object_get(probe, "tcpSocket")) != NULL) {
        const char *hh = json_string_value(json_object_get(h, "host"));
        int port = resolve_port(json_object_get(h, "port"), container), rv;

        p->kind = PK_TCP;
        rv = connect_start(p, hh && hh[0] ? hh : host, port);
        if (rv < 0)
            return rv;
        if (rv == 1)
            p->phase = -1;
        return 0;
    }
    return K1S_EINVAL; /* grpc and unknown handlers */
}

static enum agent_probe_result finish(struct agent_probe_run *p,
                                      enum agent_probe_result r)
{
    if (p->fd >= 0)
        close(p->fd);
    p->fd = -1;
    p->kind = PK_IDLE;
    return r;
}

enum agent_probe_result agent_probe_step(struct agent_probe_run *p,
                                         int64_t now_ms)
{
    struct pollfd pf;
    int st, soerr = 0;
    socklen_t sl = sizeof soerr;

    switch (p->kind) {
    case PK_EXEC:
        if (p->pid < 0)
            return finish(p, AGENT_PROBE_FAILURE);
        if (waitpid(p->pid, &st, WNOHANG) == p->pid)
            return finish(p, WIFEXITED(st) && WEXITSTATUS(st) == 0
                                 ? AGENT_PROBE_SUCCESS
                                 : AGENT_PROBE_FAILURE);
        if (now_ms >= p->deadline_ms) {
            agent_probe_cancel(p);
            return AGENT_PROBE_FAILURE;
        }
        return AGENT_PROBE_PENDING;
    case PK_TCP:
    case PK_HTTP:
        if (p->phase < 0 || p->fd < 0)
            return finish(p, AGENT_PROBE_FAILURE);
        pf.fd = p->fd;
        pf.events = p->phase == 0 ? POLLOUT : POLLIN;
        pf.revents = 0;
        if (poll(&pf, 1, 0) <= 0) {
            if (now_ms >= p->deadline_ms)
                return finish(p, AGENT_PROBE_FAILURE);
            return AGENT_PROBE_PENDING;
        }
        if (p->phase == 0) {
            if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
                soerr != 0)
                return finish(p, AGENT_PROBE_FAILURE);
            if (p->kind == PK_TCP)
                return finish(p, AGENT_PROBE_SUCCESS);
            if (send(p->fd, p->req, p->req_len, MSG_NOSIGNAL) !=
                (ssize_t)p->req_len)
                return finish(p, AGENT_PROBE_FAILURE);
            p->phase = 1;
            return AGENT_PROBE_PENDING;
        }
        {
            ssize_t n = recv(p->fd, p->resp + p->resp_len,
                             sizeof p->resp - 1 - p->resp_len, 0);
            int code;
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return AGENT_PROBE_PENDING;
            if (n > 0)
                p->resp_len += (size_t)n;
            p->resp[p->resp_len] = '\0';
            if (n > 0 && p->resp_len < 12 && !strchr(p->resp, '\n'))
                return AGENT_PROBE_PENDING;
            if (sscanf(p->resp, "HTTP/%*d.%*d %d", &code) == 1)
                return finish(p, code >= 200 && code < 400
                                     ? AGENT_PROBE_SUCCESS
                                     : AGENT_PROBE_FAILURE);
            return finish(p, AGENT_PROBE_FAILURE);
        }
    default:
        return AGENT_PROBE_FAILURE;
    }
}

void agent_probe_cancel(struct agent_probe_run *p)
{
    if (p->kind == PK_EXEC && p->pid > 0) {
        kill(-p->pid, SIGKILL);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, NULL, 0);
    }
    p->pid = 0;
    finish(p, AGENT_PROBE_FAILURE);
}

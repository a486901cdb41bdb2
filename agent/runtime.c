/*
 * DESIGN: the process runtime — one container run.
 *
 * A run is three generations of processes:
 *
 *   agent ── fork ──► shim (setsid: survives the agent, owns the pipes)
 *                       │ unshare(CLONE_NEWPID) when the kernel allows
 *                       └─ fork ──► init (pid 1 of the new PID namespace:
 *                                   mount namespace + volumes + cgroup,
 *                                   forwards signals, reaps orphans)
 *                                     └─ fork ──► container (own process
 *                                                 group, execve)
 *
 * Without PID namespaces "init" is skipped: the shim forks the container
 * directly and the container does the mount/cgroup steps itself.
 *
 * The shim is what conmon is to CRI-O: it reads the container's stdout and
 * stderr and appends them to the log file in the CRI format
 * ("<RFC3339Nano> stdout F <line>"), rotating it to `.1` past a size cap;
 * and when the container ends it writes `exit` into the run directory. The
 * run directory also holds `shim` (pid + /proc start time) and `pid` (the
 * process to signal), so an agent that restarts re-attaches with
 * agent_run_adopt() and running pods never notice.
 *
 * Killing the whole tree: with a PID namespace, SIGKILL to its init makes
 * the kernel kill every process in it; without one the process group is
 * signalled and the caller also kills what is left in the cgroup.
 *
 * After fork the children call only system calls and code of this file
 * that does not allocate: everything (argv, envp, paths) is prepared by the
 * caller before the fork, as POSIX requires of a multi-threaded parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/err.h"
#include "lib/fs.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#define SHIM_LINE_MAX 16384
#define DEFAULT_PATH                                                           \
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ------------------------------------------------------------ helpers
 * (async-signal-safe: used after fork) */

static size_t s_len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static char *s_utoa(char *p, unsigned long long v, int width)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v && n < 23);
    while (n < width)
        tmp[n++] = '0';
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "2026-11-25T04:40:01.123456789Z" (30 chars) — Hinnant's civil_from_days,
 * because gmtime_r may take locks the fork left held. */
static char *s_timestamp(char *p, const struct timespec *ts)
{
    long long days = ts->tv_sec / 86400, sod = ts->tv_sec % 86400;
    long long z = days + 719468, era = z / 146097;
    long long doe = z - era * 146097;
    long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long long y = yoe + era * 400,
              doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long long mp = (5 * doy + 2) / 153;
    long long d = doy - (153 * mp + 2) / 5 + 1;
    long long m = mp < 10 ? mp + 3 : mp - 9;

    if (m <= 2)
        y++;
    p = s_utoa(p, (unsigned long long)y, 4);
    *p++ = '-';
    p = s_utoa(p, (unsigned long long)m, 2);
    *p++ = '-';
    p = s_utoa(p, (unsigned long long)d, 2);
    *p++ = 'T';
    p = s_utoa(p, (unsigned long long)(sod / 3600), 2);
    *p++ = ':';
    p = s_utoa(p, (unsigned long long)(sod / 60 % 60), 2);
    *p++ = ':';
    p = s_utoa(p, (unsigned long long)(sod % 60), 2);
    *p++ = '.';
    p = s_utoa(p, (unsigned long long)ts->tv_nsec, 9);
    *p++ = 'Z';
    return p;
}

static int s_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Writes `content` to dir/name atomically (name.tmp + rename). No fsync:
 * the records matter to an agent restarting on a running machine; after a
 * machine crash there are no processes left to describe. */
static void s_write_file(const char *dir, const char *name, const char *content,
                         size_t len)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    size_t dl = s_len(dir), nl = s_len(name);
    int fd;

    if (dl + nl + 6 >= sizeof path)
        return;
    memcpy(path, dir, dl);
    path[dl] = '/';
    memcpy(path + dl + 1, name, nl + 1);
    memcpy(tmp, path, dl + nl + 1);
    memcpy(tmp + dl + nl + 1, ".tmp", 5);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    s_write_all(fd, content, len);
    close(fd);
    rename(tmp, path);
}

static void s_reset_signals(void)
{
    sigset_t all;
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int s = 1; s < 32; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &sa, NULL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

/* ------------------------------------------------------------ children */

struct child_ctx {
    const struct agent_caps *caps;
    const struct agent_run_spec *spec;
    const char *exe;
    char cg1[PATH_MAX], cg2[PATH_MAX];
    int out_w, err_w, exec_w;
};

static void enter_cgroup(const struct child_ctx *c)
{
    const char *paths[2] = {c->cg1, c->cg2};
    for (int i = 0; i < 2; i++) {
        int fd;
        if (paths[i][0] == '\0')
            continue;
        fd = open(paths[i], O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            s_write_all(fd, "0", 1);
            close(fd);
        }
    }
}

/* Mount namespace: private propagation, then every volume bound at its
 * mountPath (read-only ones remounted so). With a PID namespace also a
 * fresh /proc, so `ps` shows the pod's own processes. */
static void setup_mounts(const struct child_ctx *c, bool proc)
{
    if (!c->caps->mntns)
        return;
    if (unshare(CLONE_NEWNS) != 0)
        return;
    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
    if (proc)
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
    for (size_t i = 0; i < c->spec->n_mounts; i++) {
        const struct agent_mount *m = &c->spec->mounts[i];
        char dst[PATH_MAX];
        size_t n = s_len(m->dst);
        struct stat st;

        if (n >= sizeof dst)
            continue;
        memcpy(dst, m->dst, n + 1);
        if (stat(m->src, &st) == 0 && !S_ISDIR(st.st_mode)) {
            int fd;
            char *slash = strrchr(dst, '/');
            if (slash && slash != dst) {
                *slash = '\0';
                fs_mkdir_p(dst, 0755);
                *slash = '/';
            }
            fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
            if (fd >= 0)
                close(fd);
        } else {
            fs_mkdir_p(dst, 0755);
        }
        if (mount(m->src, m->dst, NULL, MS_BIND | MS_REC, NULL) == 0 && m->ro)
            mount(NULL, m->dst, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
    }
}

static _Noreturn void exec_container(const struct child_ctx *c, bool setup)
{
    int e, devnull;

    if (setup) {
        setup_mounts(c, false);
        enter_cgroup(c);
    }
    setpgid(0, 0);
    s_reset_signals();
    devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0 && devnull != 0) {
        dup2(devnull, 0);
        close(devnull);
    }
    dup2(c->out_w, 1);
    dup2(c->err_w, 2);
    if (c->spec->workdir && chdir(c->spec->workdir) != 0) {
        e = errno;
        s_write_all(c->exec_w, (const char *)&e, sizeof e);
        _exit(127);
    }
    execve(c->exe, c->spec->argv, c->spec->envp);
    e = errno;
    s_write_all(c->exec_w, (const char *)&e, sizeof e);
    _exit(127);
}

static volatile sig_atomic_t init_child;

static void init_forward(int sig)
{
    pid_t c = (pid_t)init_child;
    if (c > 0 && kill(-c, sig) != 0)
        kill(c, sig);
}

/* pid 1 of the pod's PID namespace: like tini, it forwards the termination
 * signals to the container's process group (a process that is pid 1 gets
 * none it has no handler for) and exits with the container's status. */
static _Noreturn void run_init(const struct child_ctx *c)
{
    static const int fwd[] = {SIGTERM, SIGINT,  SIGHUP,
                              SIGQUIT, SIGUSR1, SIGUSR2};
    struct sigaction sa;
    sigset_t all, old;
    pid_t pid;
    int st;

    setup_mounts(c, true);
    enter_cgroup(c);
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid < 0)
        _exit(127);
    if (pid == 0)
        exec_container(c, false);
    init_child = pid;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = init_forward;
    for (size_t i = 0; i < sizeof fwd / sizeof fwd[0]; i++)
        sigaction(fwd[i], &sa, NULL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    close(c->out_w);
    close(c->err_w);
    close(c->exec_w);
    for (;;) {
        pid_t w = waitpid(-1, &st, 0);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            _exit(127);
        if (w != pid)
            continue;
        if (WIFEXITED(st))
            _exit(WEXITSTATUS(st));
        _exit(128 + WTERMSIG(st));
    }
}

/* ------------------------------------------------------------ the shim */

struct shim_stream {
    int fd;
    const char *name;
    char buf[SHIM_LINE_MAX];
    size_t len;
};

struct shim_log {
    const char *path;
    size_t max;
    int fd;
    size_t size;
};

static void log_open(struct shim_log *l)
{
    struct stat st;
    l->fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    l->size = (l->fd >= 0 && fstat(l->fd, &st) == 0) ? (size_t)st.st_size : 0;
}

static void log_line(struct shim_log *l, const char *stream, char tag,
                     const char *p, size_t n)
{
    char head[64], *h = head;
    struct timespec ts;

    if (l->fd < 0)
        return;
    if (l->max > 0 && l->size > 0 && l->size + n + 48 > l->max) {
        char old[PATH_MAX];
        size_t pl = s_len(l->path);
        if (pl + 3 < sizeof old) {
            memcpy(old, l->path, pl);
            memcpy(old + pl, ".1", 3);
            rename(l->path, old);
        }
        close(l->fd);
        log_open(l);
        if (l->fd < 0)
            return;
    }
    clock_gettime(CLOCK_REALTIME, &ts);
    h = s_timestamp(h, &ts);
    *h++ = ' ';
    memcpy(h, stream, 6);
    h += 6;
    *h++ = ' ';
    *h++ = tag;
    *h++ = ' ';
    s_write_all(l->fd, head, (size_t)(h - head));
    s_write_all(l->fd, p, n);
    s_write_all(l->fd, "\n", 1);
    l->size += (size_t)(h - head) + n + 1;
}

/* Consumes what arrived on one stream; returns false at EOF. */
static bool pump(struct shim_stream *s, struct shim_log *l)
{
    ssize_t r;
    size_t start = 0;

    r = read(s->fd, s->buf + s->len, sizeof s->buf - s->len);
    if (r < 0)
        return errno == EINTR || errno == EAGAIN;
    if (r == 0) {
        if (s->len)
            log_line(l, s->name, 'F', s->buf, s->len);
        s->len = 0;
        return false;
    }
    s->len += (size_t)r;
    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] != '\n')
            continue;
        log_line(l, s->name, 'F', s->buf + start, i - start);
        start = i + 1;
    }
    if (start == 0 && s->len == sizeof s->buf) {
        log_line(l, s->name, 'P', s->buf, s->len); /* partial line */
        s->len = 0;
    } else if (start > 0) {
        memmove(s->buf, s->buf + start, s->len - start);
        s->len -= start;
    }
    return true;
}

static _Noreturn void run_shim(struct child_ctx *c, int ready_w)
{
    static struct shim_stream out, err; /* a fork's private copy */
    struct shim_log log;
    int po[2], pe[2], px[2], st = 0, exec_errno = 0;
    bool reaped = false, pidns = false;
    pid_t child;
    char rec[128], *p;
    struct timespec now;
    int64_t reaped_at = 0;

    setsid();
    s_reset_signals();
    signal(SIGPIPE, SIG_IGN);
    /* The agent's sockets and files must not leak into the pod. */
    if (ready_w != 3) {
        dup2(ready_w, 3);
        ready_w = 3;
    }
    close_range(4, ~0U, 0);
    if (pipe2(po, O_CLOEXEC) != 0 || pipe2(pe, O_CLOEXEC) != 0 ||
        pipe2(px, O_CLOEXEC) != 0)
        _exit(120);
    c->out_w = po[1];
    c->err_w = pe[1];
    c->exec_w = px[1];
    log.path = c->spec->log_path;
    log.max = c->spec->log_max_bytes;
    log_open(&log);

    if (c->caps->pidns && unshare(CLONE_NEWPID) == 0)
        pidns = true;
    child = fork();
    if (child < 0)
        _exit(121);
    if (child == 0) {
        /* The write ends stay open in the child only. */
        close(po[0]);
        close(pe[0]);
        close(px[0]);
        close(ready_w);
        if (pidns)
            run_init(c);
        exec_container(c, true);
    }
    close(po[1]);
    close(pe[1]);
    close(px[1]);
    fcntl(px[0], F_SETFL, O_NONBLOCK);

    p = s_utoa(rec, (unsigned long long)child, 1);
    *p++ = ' ';
    *p++ = pidns ? '1' : '0';
    *p++ = '\n';
    s_write_file(c->spec->run_dir, "pid", rec, (size_t)(p - rec));
    s_write_all(ready_w, rec, (size_t)(p - rec));
    close(ready_w);

    out.fd = po[0];
    out.name = "stdout";
    err.fd = pe[0];
    err.name = "stderr";
    fcntl(out.fd, F_SETFL, O_NONBLOCK);
    fcntl(err.fd, F_SETFL, O_NONBLOCK);
    for (;;) {
        struct pollfd pf[2];
        int n = 0;

        if (out.fd >= 0)
            pf[n++] = (struct pollfd){.fd = out.fd, .events = POLLIN};
        if (err.fd >= 0)
            pf[n++] = (struct pollfd){.fd = err.fd, .events = POLLIN};
        if (n == 0 && reaped)
            break;
        if (n > 0)
            poll(pf, (nfds_t)n, 200);
        else
            poll(NULL, 0, 50);
        for (int i = 0; i < n; i++) {
            struct shim_stream *s = pf[i].fd == out.fd ? &out : &err;
            if (pf[i].revents && !pump(s, &log)) {
                close(s->fd);
                s->fd = -1;
            }
        }
        if (!reaped && waitpid(child, &st, WNOHANG) == child) {
            reaped = true;
            clock_gettime(CLOCK_MONOTONIC, &now);
            reaped_at = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
            /* Kubernetes ends the container when its main process ends:
             * what is left of the group goes too. */
            if (!pidns)
                kill(-child, SIGKILL);
        }
        if (reaped) {
            /* Orphans that escaped the group may hold the pipes: give
             * them a short grace to flush, then stop reading. */
            clock_gettime(CLOCK_MONOTONIC, &now);
            if ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - reaped_at >
                2000)
                break;
        }
    }
    if (read(px[0], &exec_errno, sizeof exec_errno) != sizeof exec_errno)
        exec_errno = 0;
    clock_gettime(CLOCK_REALTIME, &now);
    p = rec;
    if (WIFEXITED(st)) {
        p = s_utoa(p, (unsigned long long)WEXITSTATUS(st), 1);
        *p++ = ' ';
        *p++ = '0';
    } else {
        p = s_utoa(p, (unsigned long long)(128 + WTERMSIG(st)), 1);
        *p++ = ' ';
        p = s_utoa(p, (unsigned long long)WTERMSIG(st), 1);
    }
    *p++ = ' ';
    p = s_utoa(p, (unsigned long long)exec_errno, 1);
    *p++ = ' ';
    p = s_utoa(p,
               (unsigned long long)now.tv_sec * 1000000000ULL +
                   (unsigned long long)now.tv_nsec,
               1);
    *p++ = '\n';
    if (log.fd >= 0)
        fsync(log.fd);
    s_write_file(c->spec->run_dir, "exit", rec, (size_t)(p - rec));
    _exit(0);
}

/* ------------------------------------------------------------ parent side */

static unsigned long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long v = 0;
    int fd, field = 2;
    ssize_t n;

    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    for (p++; *p && field < 22; p++)
        if (*p == ' ')
            field++;
    if (field == 22)
        v = strtoull(p, NULL, 10);
    return v;
}

static int read_small(const char *dir, const char *name, char *buf, size_t len)
{
    char path[PATH_MAX];
    ssize_t n;
    int fd;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return K1S_EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? K1S_ENOTFOUND : err_from_errno(errno);
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return K1S_EIO;
    buf[n] = '\0';
    return 0;
}

int agent_run_lookup(const char *argv0, char *const *envp, const char *workdir,
                     char *ret, size_t len)
{
    const char *path = DEFAULT_PATH, *p;

    if (argv0 == NULL || argv0[0] == '\0')
        return K1S_EINVAL;
    if (strchr(argv0, '/')) {
        if (argv0[0] == '/' || workdir == NULL)
            snprintf(ret, len, "%s", argv0);
        else
            snprintf(ret, len, "%s/%s", workdir, argv0);
        return access(ret, X_OK) == 0 ? 0 : K1S_ENOTFOUND;
    }
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, "PATH=", 5) == 0)
            path = *e + 5;
    for (p = path; *p;) {
        const char *end = strchr(p, ':');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        struct stat st;

        if (n > 0 &&
            (int)snprintf(ret, len, "%.*s/%s", (int)n, p, argv0) < (int)len &&
            stat(ret, &st) == 0 && S_ISREG(st.st_mode) &&
            access(ret, X_OK) == 0)
            return 0;
        p = end ? end + 1 : p + n;
    }
    return K1S_ENOTFOUND;
}

int agent_run_start(const struct agent_caps *caps,
                    const struct agent_run_spec *spec, struct agent_run *ret,
                    char *err, size_t errlen)
{
    struct child_ctx c;
    char exe[PATH_MAX], rec[64];
    int ready[2], rv;
    pid_t shim;
    struct pollfd pf;
    ssize_t n;
    size_t got = 0;

    memset(ret, 0, sizeof *ret);
    rv = agent_run_lookup(spec->argv[0], spec->envp, spec->workdir, exe,
                          sizeof exe);
    if (rv != 0) {
        snprintf(err, errlen,
                 "exec: \"%s\": executable file not found in $PATH",
                 spec->argv[0]);
        return rv;
    }
    ret->run_dir = strdup(spec->run_dir);
    if (ret->run_dir == NULL) {
        snprintf(err, errlen, "out of memory");
        return K1S_ENOMEM;
    }
    memset(&c, 0, sizeof c);
    c.caps = caps;
    c.spec = spec;
    c.exe = exe;
    if (spec->cgroup_rel)
        agent_cgroup_procs_paths(&caps->cg, spec->cgroup_rel, c.cg1,
                                 sizeof c.cg1, c.cg2, sizeof c.cg2);
    if (pipe2(ready, O_CLOEXEC) != 0) {
        rv = err_from_errno(errno);
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        agent_run_release(ret);
        return rv;
    }
    shim = fork();
    if (shim < 0) {
        rv = err_from_errno(errno);
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(ready[0]);
        close(ready[1]);
        agent_run_release(ret);
        return rv;
    }
    if (shim == 0) {
        close(ready[0]);
        run_shim(&c, ready[1]);
    }
    close(ready[1]);
    /* The shim answers with the container's pid once it is forked. */
    pf.fd = ready[0];
    pf.events = POLLIN;
    while (got < sizeof rec - 1 && poll(&pf, 1, 5000) > 0) {
        n = read(ready[0], rec + got, sizeof rec - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
        if (memchr(rec, '\n', got))
            break;
    }
    close(ready[0]);
    rec[got] = '\0';
    ret->shim_pid = shim;
    ret->own_child = true;
    ret->shim_start = proc_start_time(shim);
    ret->pid = (pid_t)strtol(rec, NULL, 10);
    if (ret->pid <= 0) {
        kill(shim, SIGKILL);
        waitpid(shim, NULL, 0);
        agent_run_release(ret);
        snprintf(err, errlen,
                 "the runtime shim failed to start the "
                 "container");
        return K1S_EINTERNAL;
    }
    snprintf(rec, sizeof rec, "%d %llu\n", (int)shim, ret->shim_start);
    s_write_file(spec->run_dir, "shim", rec, strlen(rec));
    return 0;
}

static bool shim_alive(struct agent_run *run)
{
    if (run->own_child) {
        pid_t w = waitpid(run->shim_pid, NULL, WNOHANG);
        if (w == run->shim_pid || (w < 0 && errno == ECHILD)) {
            run->own_child = false;
            return false;
        }
        return true;
    }
    return kill(run->shim_pid, 0) == 0 &&
           proc_start_time(run->shim_pid) == run->shim_start;
}

int agent_run_poll(struct agent_run *run, struct agent_exit *ret)
{
    char rec[128];
    long long code = 0, sig = 0, eno = 0, fin = 0;

    memset(ret, 0, sizeof *ret);
    if (run->done)
        return 1;
    if (read_small(run->run_dir, "exit", rec, sizeof rec) == 0 &&
        sscanf(rec, "%lld %lld %lld %lld", &code, &sig, &eno, &fin) == 4) {
        ret->exit_code = (int)code;
        ret->signal = (int)sig;
        ret->exec_errno = (int)eno;
        ret->finished_ns = fin;
        if (run->own_child) {
            /* The shim exits right after the rename. */
            waitpid(run->shim_pid, NULL, 0);
            run->own_child = false;
        }
        run->done = true;
        return 1;
    }
    if (shim_alive(run))
        return 0;
    /* Vanished without a record (killed from outside): look once more, it
     * may have written the record just before exiting. */
    if (read_small(run->run_dir, "exit", rec, sizeof rec) == 0 &&
        sscanf(rec, "%lld %lld %lld %lld", &code, &sig, &eno, &fin) == 4) {
        ret->exit_code = (int)code;
        ret->signal = (int)sig;
        ret->exec_errno = (int)eno;
        ret->finished_ns = fin;
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ret->exit_code = 137;
        ret->signal = SIGKILL;
        ret->lost = true;
        ret->finished_ns = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
    }
    run->done = true;
    return 1;
}

void agent_run_signal(const struct agent_run *run, int sig)
{
    char rec[64];
    int pidns = 0;

    if (run->done || run->pid <= 0)
        return;
    if (read_small(run->run_dir, "pid", rec, sizeof rec) == 0) {
        char *sp = strchr(rec, ' ');
        pidns = sp ? atoi(sp + 1) : 0;
    }
    if (pidns) {
        /* init forwards; SIGKILL to it kills the whole namespace. */
        kill(run->pid, sig);
        return;
    }
    if (kill(-run->pid, sig) != 0)
        kill(run->pid, sig);
}

int agent_run_adopt(const char *run_dir, struct agent_run *ret)
{
    char rec[128];
    int shim = 0, pid = 0;
    unsigned long long start = 0;

    memset(ret, 0, sizeof *ret);
    if (read_small(run_dir, "shim", rec, sizeof rec) != 0 ||
        sscanf(rec, "%d %llu", &shim, &start) != 2)
        return K1S_ENOTFOUND;
    if (read_small(run_dir, "pid", rec, sizeof rec) != 0 ||
        sscanf(rec, "%d", &pid) != 1)
        return K1S_ENOTFOUND;
    ret->run_dir = strdup(run_dir);
    if (ret->run_dir == NULL)
        return K1S_ENOMEM;
    ret->shim_pid = shim;
    ret->shim_start = start;
    ret->pid = pid;
    ret->own_child = false;
    return 0;
}

void agent_run_release(struct agent_run *run)
{
    free(run->run_dir);
    run->run_dir = NULL;
}

/* ------------------------------------------------------------ capabilities */

void agent_caps_detect(struct agent_caps *caps, const char *node,
                       char *ret_line, size_t len)
{
    pid_t pid;
    int st = 0;

    memset(caps, 0, sizeof *caps);
    /* Try in a throw-away child: unshare changes the caller for good. */
    pid = fork();
    if (pid == 0) {
        int r = 0;
        if (unshare(CLONE_NEWPID) == 0)
            r |= 1;
        if (unshare(CLONE_NEWNS) == 0 &&
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
            r |= 2;
        _exit(r);
    }
    if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st)) {
        caps->pidns = (WEXITSTATUS(st) & 1) != 0;
        caps->mntns = (WEXITSTATUS(st) & 2) != 0;
    }
    agent_cgroup_detect(&caps->cg, node);
    snprintf(ret_line, len,
             "PID namespaces %s; mount namespaces %s (volumes %s); cgroup "
             "%s: memory limits %s, cpu limits %s%s%s",
             caps->pidns ? "yes" : "NO (process groups only)",
             caps->mntns ? "yes" : "NO",
             caps->mntns ? "bound at their mountPath"
                         : "NOT at mountPath; see $K1S_VOLUME_<NAME>",
             caps->cg.version == 0   ? "none"
             : caps->cg.version == 1 ? "v1"
                                     : "v2",
             caps->cg.memory ? "enforced" : "NOT enforced",
             caps->cg.cpu ? "enforced" : "NOT enforced",
             caps->cg.why[0] ? "; " : "", caps->cg.why);
}

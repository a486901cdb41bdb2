/*
 * The process runtime and the pod state machine, with real child
 * processes: exit codes, logs and rotation, killing whole process trees,
 * restart back-off, probes against real local sockets, OOM kills through a
 * real cgroup, adoption after an agent restart.
 *
 * Time is scaled (struct agent_timing: a probe "second" is 50 ms, back-off
 * starts at 200 ms) so that no test waits for minutes; every wait is a
 * bounded loop on the event itself.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/err.h"

/* -Wwrite-strings: literals for argv/envp, which execve wants mutable. */
#define W(s) ((char *)(uintptr_t)(const char *)(s))

/* ------------------------------------------------------------ Fixture */

static struct agent_caps caps;
static char caps_line[512];

struct fixture {
    char dir[PATH_MAX];
    char pods[PATH_MAX];
    struct agent_timing timing;
    struct agent_pod_env env;
    json_t *objects; /* "configmaps/ns/name" -> object */
};

static int get_object(void *arg, const char *kind, const char *ns,
                      const char *name, json_t **ret)
{
    struct fixture *f = arg;
    char key[512];
    json_t *o;

    snprintf(key, sizeof key, "%s/%s/%s", kind, ns, name);
    o = json_object_get(f->objects, key);
    if (o == NULL)
        return K1S_ENOTFOUND;
    *ret = json_incref(o);
    return 0;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/k1s-agent-test.XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->pods, sizeof f->pods, "%s/pods", f->dir);
    mkdir(f->pods, 0700);
    agent_timing_default(&f->timing);
    f->timing.second_ms = 50;
    f->timing.backoff_base_ms = 200;
    f->timing.backoff_max_ms = 800;
    f->timing.backoff_reset_ms = 60000;
    f->env.caps = &caps;
    f->env.timing = &f->timing;
    f->env.pods_dir = f->pods;
    f->env.node_name = "unit-node";
    f->env.host_ip = "127.0.0.1";
    f->env.log_max_bytes = 1 << 20;
    f->env.get_object = get_object;
    f->env.get_object_arg = f;
    f->objects = json_object();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    agent_rm_rf(f->dir);
    json_decref(f->objects);
    free(f);
    return 0;
}

/* ------------------------------------------------------------ Helpers */

static int64_t now_ms(void)
{
    return clock_mono_ns() / 1000000;
}

static void nap(int ms)
{
    poll(NULL, 0, ms);
}

static json_t *make_pod(const char *name, const char *yamlish_json)
{
    json_error_t e;
    json_t *spec = json_loads(yamlish_json, 0, &e), *pod;
    char uid[64];

    if (spec == NULL)
        fail_msg("bad test json: %s: %s", e.text, yamlish_json);
    snprintf(uid, sizeof uid, "uid-%s-%lld", name,
             (long long)(clock_mono_ns() % 1000000007));
    pod =
        json_pack("{s:s,s:s,s:{s:s,s:s,s:s,s:{s:s}},s:o}", "apiVersion", "v1",
                  "kind", "Pod", "metadata", "name", name, "namespace",
                  "default", "uid", uid, "labels", "app", "unit", "spec", spec);
    json_object_set_new(spec, "nodeName", json_string("unit-node"));
    return pod;
}

static const json_t *cstatus(const json_t *st, size_t i)
{
    return json_array_get(json_object_get(st, "containerStatuses"), i);
}

static const char *waiting_reason(const json_t *cs)
{
    return json_string_value(json_object_get(
        json_object_get(json_object_get(cs, "state"), "waiting"), "reason"));
}

static const json_t *terminated(const json_t *cs)
{
    return json_object_get(json_object_get(cs, "state"), "terminated");
}

typedef bool (*pred_fn)(const json_t *status, const void *arg);

/* Drives the pod until pred holds on its status or timeout; returns the
 * status (new reference) or NULL on timeout. */
static json_t *run_until(struct agent_pod *p, pred_fn pred, const void *arg,
                         int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        json_t *st;
        agent_pod_sync(p, now_ms());
        st = agent_pod_status(p);
        if (pred(st, arg))
            return st;
        json_decref(st);
        nap(10);
    }
    return NULL;
}

static bool phase_is(const json_t *st, const void *arg)
{
    return strcmp(json_string_value(json_object_get(st, "phase")),
                  (const char *)arg) == 0;
}

static bool restarts_at_least(const json_t *st, const void *arg)
{
    return json_integer_value(json_object_get(
               cstatus(st, 0), "restartCount")) >= *(const int *)arg;
}

static bool ready(const json_t *st, const void *arg)
{
    (void)arg;
    return json_is_true(json_object_get(cstatus(st, 0), "ready"));
}

static bool running(const json_t *st, const void *arg)
{
    (void)arg;
    return json_object_get(json_object_get(cstatus(st, 0), "state"),
                           "running") != NULL;
}

static bool waiting_is(const json_t *st, const void *arg)
{
    const char *r = waiting_reason(cstatus(st, 0));
    return r && strcmp(r, (const char *)arg) == 0;
}

/* Processes whose command line contains `marker`. */
static int count_procs(const char *marker)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int n = 0;

    while (d && (e = readdir(d)) != NULL) {
        char path[300], buf[4096];
        ssize_t r;
        int fd;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        r = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (r <= 0)
            continue;
        for (ssize_t i = 0; i < r; i++)
            if (buf[i] == '\0')
                buf[i] = ' ';
        buf[r] = '\0';
        if (strstr(buf, marker))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

static bool wait_procs(const char *marker, int want, int timeout_ms)
{
    int64_t end = now_ms() + timeout_ms;
    while (now_ms() < end) {
        if (count_procs(marker) == want)
            return true;
        nap(10);
    }
    return count_procs(marker) == want;
}

static int free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t l = sizeof sa;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &l);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "r");
    struct buf b;
    char chunk[4096];
    size_t n;

    if (f == NULL)
        return NULL;
    buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    return buf_steal(&b, NULL);
}

/* ------------------------------------------------------------ Success:
 * runtime */

static void run_reports_exit_code_and_logs_both_streams(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {W("sh"), W("-c"),
                    W("echo out-line; echo err-line >&2; exit 3"), NULL};
    char *envp[] = {W("PATH=/usr/bin:/bin"), NULL};
    char run_dir[PATH_MAX], log[PATH_MAX], err[256];
    struct agent_run_spec rs = {0};
    struct agent_run run;
    struct agent_exit ex;
    struct agent_log_opts lo = {.tail_lines = -1};
    struct buf out;
    int64_t end = now_ms() + 10000;
    char *raw;

    snprintf(run_dir, sizeof run_dir, "%s/run1", f->dir);
    snprintf(log, sizeof log, "%s/run1.log", f->dir);
    mkdir(run_dir, 0700);
    rs.argv = argv;
    rs.envp = envp;
    rs.run_dir = run_dir;
    rs.log_path = log;
    assert_int_equal(agent_run_start(&caps, &rs, &run, err, sizeof err), 0);
    assert_true(run.pid > 0);
    while (agent_run_poll(&run, &ex) == 0 && now_ms() < end)
        nap(10);
    assert_true(run.done);
    assert_int_equal(ex.exit_code, 3);
    assert_int_equal(ex.signal, 0);
    raw = read_all(log);
    assert_non_null(raw);
    assert_non_null(strstr(raw, " stdout F out-line\n"));
    assert_non_null(strstr(raw, " stderr F err-line\n"));
    free(raw);
    buf_init(&out);
    assert_int_equal(agent_log_read(log, &lo, &out, NULL), 0);
    assert_non_null(strstr(out.data, "out-line\n"));
    assert_non_null(strstr(out.data, "err-line\n"));
    assert_null(strstr(out.data, "stdout"));
    buf_close(&out);
    agent_run_release(&run);
}

static void run_missing_binary_is_an_error_not_a_crash(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {W("no-such-binary-k1s"), NULL};
    char *envp[] = {W("PATH=/usr/bin:/bin"), NULL};
    char run_dir[PATH_MAX], log[PATH_MAX], err[256];
    struct agent_run_spec rs = {0};
    struct agent_run run;

    snprintf(run_dir, sizeof run_dir, "%s/run2", f->dir);
    snprintf(log, sizeof log, "%s/run2.log", f->dir);
    mkdir(run_dir, 0700);
    rs.argv = argv;
    rs.envp = envp;
    rs.run_dir = run_dir;
    rs.log_path = log;
    assert_int_equal(agent_run_start(&caps, &rs, &run, err, sizeof err),
                     K1S_ENOTFOUND);
    assert_non_null(strstr(err, "executable file not found"));
    assert_null(run.run_dir);
}

static void sigkill_ends_the_whole_process_tree(void **state)
{
    struct fixture *f = *state;
    char marker[32], script[160];
    char *argv[] = {W("sh"), W("-c"), script, NULL};
    char *envp[] = {W("PATH=/usr/bin:/bin"), NULL};
    char run_dir[PATH_MAX], log[PATH_MAX], err[256];
    struct agent_run_spec rs = {0};
    struct agent_run run;
    struct agent_exit ex;
    int64_t end;

    /* A marker of this run only: sleep takes a fraction. */
    snprintf(marker, sizeof marker, "971.%d", (int)getpid());
    snprintf(script, sizeof script, "sleep %s & sleep %s & sleep %s; wait",
             marker, marker, marker);
    snprintf(run_dir, sizeof run_dir, "%s/run3", f->dir);
    snprintf(log, sizeof log, "%s/run3.log", f->dir);
    mkdir(run_dir, 0700);
    rs.argv = argv;
    rs.envp = envp;
    rs.run_dir = run_dir;
    rs.log_path = log;
    assert_int_equal(agent_run_start(&caps, &rs, &run, err, sizeof err), 0);
    /* three sleeps and the shell, whose command line names them */
    assert_true(wait_procs(marker, 4, 5000));
    agent_run_signal(&run, SIGKILL);
    end = now_ms() + 10000;
    while (agent_run_poll(&run, &ex) == 0 && now_ms() < end)
        nap(10);
    assert_true(run.done);
    assert_int_equal(ex.exit_code, 137);
    assert_true(wait_procs(marker, 0, 5000));
    agent_run_release(&run);
}

static void log_rotates_at_the_cap_and_tail_reads_across(void **state)
{
    struct fixture *f = *state;
    char *argv[] = {W("sh"), W("-c"),
                    W("i=0; while [ $i -lt 2000 ]; do echo line-$i; "
                      "i=$((i+1)); done"),
                    NULL};
    char *envp[] = {W("PATH=/usr/bin:/bin"), NULL};
    char run_dir[PATH_MAX], log[PATH_MAX], old[PATH_MAX], err[256];
    struct agent_run_spec rs = {0};
    struct agent_run run;
    struct agent_exit ex;
    struct agent_log_opts lo = {.tail_lines = 2, .timestamps = true};
    struct buf out;
    struct stat st;
    int64_t end = now_ms() + 10000;

    snprintf(run_dir, sizeof run_dir, "%s/run4", f->dir);
    snprintf(log, sizeof log, "%s/run4.log", f->dir);
    snprintf(old, sizeof old, "%s.1", log);
    mkdir(run_dir, 0700);
    rs.argv = argv;
    rs.envp = envp;
    rs.run_dir = run_dir;
    rs.log_path = log;
    rs.log_max_bytes = 8192;
    assert_int_equal(agent_run_start(&caps, &rs, &run, err, sizeof err), 0);
    while (agent_run_poll(&run, &ex) == 0 && now_ms() < end)
        nap(10);
    assert_int_equal(ex.exit_code, 0);
    assert_int_equal(stat(log, &st), 0);
    assert_true(st.st_size <= 8192);
    assert_int_equal(stat(old, &st), 0);
    assert_true(st.st_size <= 8192);
    buf_init(&out);
    assert_int_equal(agent_log_read(log, &lo, &out, NULL), 0);
    /* "<timestamp> line-1998\n<timestamp> line-1999\n" */
    assert_non_null(strstr(out.data, "Z line-1998\n"));
    assert_non_null(strstr(out.data, "Z line-1999\n"));
    assert_null(strstr(out.data, "line-1997"));
    buf_close(&out);
    agent_run_release(&run);
}

/* ------------------------------------------------------------ Success:
 * pods */

static void pod_runs_to_completion_with_restart_never(void **state)
{
    struct fixture *f = *state;
    json_t *pod =
        make_pod("done", "{\"restartPolicy\":\"Never\",\"containers\":"
                         "[{\"name\":\"c\",\"image\":\"busybox\","
                         "\"command\":[\"sh\",\"-c\",\"exit 0\"]}]}");
    struct agent_pod *p;
    json_t *st;

    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, phase_is, "Succeeded", 10000);
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(
                            terminated(cstatus(st, 0)), "reason")),
                        "Completed");
    assert_string_equal(json_string_value(json_object_get(st, "qosClass")),
                        "BestEffort");
    assert_non_null(json_object_get(cstatus(st, 0), "imageID"));
    json_decref(st);
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void crashing_container_backs_off_with_growing_delays(void **state)
{
    struct fixture *f = *state;
    json_t *pod =
        make_pod("crash", "{\"containers\":[{\"name\":\"c\",\"image\":"
                          "\"busybox\",\"command\":[\"sh\",\"-c\","
                          "\"exit 1\"]}]}");
    struct agent_pod *p;
    json_t *st;
    int64_t t[5];
    int want;

    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    for (want = 1; want <= 4; want++) {
        st = run_until(p, restarts_at_least, &want, 15000);
        assert_non_null(st);
        t[want] = now_ms();
        if (want == 4) {
            /* The fourth restart waits 800 ms = 16 scaled seconds. */
            const char *msg = json_string_value(json_object_get(
                json_object_get(json_object_get(cstatus(st, 0), "state"),
                                "waiting"),
                "message"));
            assert_non_null(msg);
            assert_non_null(strstr(msg, "back-off 16s restarting failed"));
        }
        json_decref(st);
    }
    /* The restart count rises when a restart is planned; the waits before
     * restarts 2 and 3 are 200 and 400 ms (scaled 10 s and 20 s), so the
     * gaps between the counts are at least those. */
    assert_true(t[3] - t[2] >= 180);
    assert_true(t[4] - t[3] >= 380);
    st = run_until(p, waiting_is, "CrashLoopBackOff", 5000);
    assert_non_null(st);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(cstatus(st, 0), "lastState"),
                            "terminated"),
            "exitCode")),
        1);
    assert_string_equal(json_string_value(json_object_get(st, "phase")),
                        "Running");
    json_decref(st);
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void container_without_command_explains_why(void **state)
{
    struct fixture *f = *state;
    json_t *pod = make_pod("nocmd", "{\"containers\":[{\"name\":\"c\","
                                    "\"image\":\"nginx\"}]}");
    struct agent_pod *p;
    json_t *st;
    const char *msg;

    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, waiting_is, "CreateContainerError", 5000);
    assert_non_null(st);
    msg = json_string_value(json_object_get(
        json_object_get(json_object_get(cstatus(st, 0), "state"), "waiting"),
        "message"));
    assert_non_null(strstr(msg, "no command"));
    assert_non_null(strstr(msg, "entrypoint"));
    assert_string_equal(json_string_value(json_object_get(st, "phase")),
                        "Pending");
    json_decref(st);
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void init_containers_run_in_order_before_the_app(void **state)
{
    struct fixture *f = *state;
    char spec[2048], *log_path, *content;
    json_t *pod, *st;
    struct agent_pod *p;

    snprintf(spec, sizeof spec,
             "{\"restartPolicy\":\"Never\",\"volumes\":[{\"name\":\"work\","
             "\"emptyDir\":{}}],\"initContainers\":["
             "{\"name\":\"one\",\"image\":\"x\",\"command\":[\"sh\",\"-c\","
             "\"echo one >> $K1S_VOLUME_WORK/order\"]},"
             "{\"name\":\"two\",\"image\":\"x\",\"command\":[\"sh\",\"-c\","
             "\"echo two >> $K1S_VOLUME_WORK/order\"]}],"
             "\"containers\":[{\"name\":\"app\",\"image\":\"x\","
             "\"command\":[\"sh\",\"-c\",\"cat $K1S_VOLUME_WORK/order\"]}]}");
    pod = make_pod("init", spec);
    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, phase_is, "Succeeded", 10000);
    assert_non_null(st);
    assert_int_equal(
        json_array_size(json_object_get(st, "initContainerStatuses")), 2);
    json_decref(st);
    if (asprintf(&log_path, "%s/default_init_%s/containers/app/0.log", f->pods,
                 json_string_value(json_object_get(
                     json_object_get(pod, "metadata"), "uid"))) < 0)
        fail();
    content = read_all(log_path);
    assert_non_null(content);
    assert_non_null(strstr(content, "F one\n"));
    assert_true(strstr(content, "F one\n") < strstr(content, "F two\n"));
    free(content);
    free(log_path);
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void env_value_from_configmap_secret_and_fields(void **state)
{
    struct fixture *f = *state;
    json_t *pod, *st;
    struct agent_pod *p;
    char *log_path, *content;

    json_object_set_new(f->objects, "configmaps/default/cfg",
                        json_pack("{s:{s:s,s:s}}", "data", "GREETING", "hello",
                                  "file.txt", "from-volume"));
    json_object_set_new(
        f->objects, "secrets/default/sec",
        json_pack("{s:{s:s}}", "data", "PASSWORD", "czNjcjN0")); /* s3cr3t */
    pod = make_pod(
        "envpod",
        "{\"restartPolicy\":\"Never\",\"volumes\":[{\"name\":\"cfg\","
        "\"configMap\":{\"name\":\"cfg\"}}],\"containers\":[{\"name\":\"c\","
        "\"image\":\"x\",\"workingDir\":\"/tmp\",\"command\":[\"sh\",\"-c\","
        "\"echo $GREETING $PASSWORD $MY_NAME $MY_NODE $COMBINED $(pwd); "
        "cat $K1S_VOLUME_CFG/file.txt\"],\"envFrom\":[{\"configMapRef\":"
        "{\"name\":\"cfg\"}}],\"env\":[{\"name\":\"PASSWORD\",\"valueFrom\":"
        "{\"secretKeyRef\":{\"name\":\"sec\",\"key\":\"PASSWORD\"}}},"
        "{\"name\":\"MY_NAME\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":"
        "\"metadata.name\"}}},{\"name\":\"MY_NODE\",\"valueFrom\":"
        "{\"fieldRef\":{\"fieldPath\":\"spec.nodeName\"}}},{\"name\":"
        "\"COMBINED\",\"value\":\"$(MY_NAME)-x\"}]}]}");
    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, phase_is, "Succeeded", 10000);
    assert_non_null(st);
    json_decref(st);
    if (asprintf(&log_path, "%s/default_envpod_%s/containers/c/0.log", f->pods,
                 json_string_value(json_object_get(
                     json_object_get(pod, "metadata"), "uid"))) < 0)
        fail();
    content = read_all(log_path);
    assert_non_null(content);
    assert_non_null(
        strstr(content, "F hello s3cr3t envpod unit-node envpod-x /tmp\n"));
    assert_non_null(strstr(content, "F from-volume\n"));
    free(content);
    free(log_path);
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void missing_configmap_is_a_config_error(void **state)
{
    struct fixture *f = *state;
    json_t *pod = make_pod(
        "nocm", "{\"containers\":[{\"name\":\"c\",\"image\":\"x\","
                "\"command\":[\"true\"],\"env\":[{\"name\":\"A\","
                "\"valueFrom\":{\"configMapKeyRef\":{\"name\":\"absent\","
                "\"key\":\"k\"}}}]}]}");
    struct agent_pod *p;
    json_t *st;

    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, waiting_is, "CreateContainerConfigError", 5000);
    assert_non_null(st);
    assert_non_null(
        strstr(json_string_value(json_object_get(
                   json_object_get(json_object_get(cstatus(st, 0), "state"),
                                   "waiting"),
                   "message")),
               "configmap \"absent\" not found"));
    json_decref(st);
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void readiness_http_probe_against_a_real_server(void **state)
{
    struct fixture *f = *state;
    char spec[1024];
    int port = free_port();
    json_t *pod, *st;
    struct agent_pod *p;

    snprintf(spec, sizeof spec,
             "{\"terminationGracePeriodSeconds\":2,\"containers\":[{\"name\":"
             "\"web\",\"image\":\"python\",\"env\":[{\"name\":\"POD_IP\","
             "\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"status.podIP\"}}}],"
             "\"command\":[\"python3\",\"-m\","
             "\"http.server\",\"--bind\",\"$(POD_IP)\",\"%d\"],"
             "\"readinessProbe\":{\"httpGet\":{\"path\":\"/\",\"port\":%d},"
             "\"periodSeconds\":2}}]}",
             port, port);
    pod = make_pod("web", spec);
    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, running, NULL, 10000);
    assert_non_null(st);
    /* Running but not ready until the probe has seen the server. */
    assert_false(json_is_true(json_object_get(cstatus(st, 0), "ready")));
    json_decref(st);
    st = run_until(p, ready, NULL, 20000);
    assert_non_null(st);
    {
        const json_t *c;
        size_t i;
        bool r = false;
        json_array_foreach (json_object_get(st, "conditions"), i, c) {
            if (strcmp(json_string_value(json_object_get(c, "type")),
                       "Ready") == 0)
                r = strcmp(json_string_value(json_object_get(c, "status")),
                           "True") == 0;
        }
        assert_true(r);
    }
    json_decref(st);
    agent_pod_terminate(p, -1, now_ms());
    for (int64_t end = now_ms() + 10000;
         !agent_pod_terminated(p) && now_ms() < end; nap(10))
        agent_pod_sync(p, now_ms());
    assert_true(agent_pod_terminated(p));
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void tcp_probe_fails_on_a_closed_port(void **state)
{
    struct fixture *f = *state;
    char spec[1024];
    int port = free_port();
    json_t *pod, *st;
    struct agent_pod *p;

    /* Nothing listens on `port`: readiness stays false, and a liveness
     * probe on it restarts the container. */
    snprintf(spec, sizeof spec,
             "{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":"
             "\"c\",\"image\":\"x\",\"command\":[\"sleep\",\"972.5\"],"
             "\"livenessProbe\":{\"tcpSocket\":{\"port\":%d},"
             "\"periodSeconds\":1,\"failureThreshold\":2}}]}",
             port);
    pod = make_pod("tcp", spec);
    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    {
        int want = 1;
        st = run_until(p, restarts_at_least, &want, 15000);
    }
    assert_non_null(st);
    json_decref(st);
    agent_pod_terminate(p, 0, now_ms());
    for (int64_t end = now_ms() + 10000;
         !agent_pod_terminated(p) && now_ms() < end; nap(10))
        agent_pod_sync(p, now_ms());
    assert_true(wait_procs("972.5", 0, 5000));
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void failing_exec_liveness_restarts_the_container(void **state)
{
    struct fixture *f = *state;
    json_t *pod = make_pod(
        "live",
        "{\"terminationGracePeriodSeconds\":1,\"containers\":[{\"name\":"
        "\"c\",\"image\":\"x\",\"command\":[\"sleep\",\"973.5\"],"
        "\"livenessProbe\":{\"exec\":{\"command\":[\"false\"]},"
        "\"initialDelaySeconds\":1,\"periodSeconds\":1,"
        "\"failureThreshold\":2}}]}");
    struct agent_pod *p;
    json_t *st;
    int want = 2;

    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, restarts_at_least, &want, 20000);
    assert_non_null(st);
    json_decref(st);
    agent_pod_terminate(p, 0, now_ms());
    for (int64_t end = now_ms() + 10000;
         !agent_pod_terminated(p) && now_ms() < end; nap(10))
        agent_pod_sync(p, now_ms());
    assert_true(agent_pod_terminated(p));
    assert_true(wait_procs("973.5", 0, 5000));
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void delete_sigterms_then_kills_within_grace(void **state)
{
    struct fixture *f = *state;
    /* The shell ignores SIGTERM; its children are in the tree too. */
    json_t *pod = make_pod(
        "stubborn",
        "{\"terminationGracePeriodSeconds\":10,\"containers\":[{\"name\":"
        "\"c\",\"image\":\"x\",\"command\":[\"sh\",\"-c\","
        "\"trap '' TERM; sleep 974.5 & sleep 974.5 & wait; wait\"]}]}");
    struct agent_pod *p;
    json_t *st;
    int64_t t0;

    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, running, NULL, 10000);
    assert_non_null(st);
    json_decref(st);
    assert_true(wait_procs("974.5", 3, 5000));
    t0 = now_ms();
    agent_pod_terminate(p, -1, t0); /* 10 scaled seconds = 500 ms */
    for (int64_t end = now_ms() + 10000;
         !agent_pod_terminated(p) && now_ms() < end; nap(10))
        agent_pod_sync(p, now_ms());
    assert_true(agent_pod_terminated(p));
    assert_true(now_ms() - t0 >= 450); /* it did wait for the grace */
    assert_true(wait_procs("974.5", 0, 5000));
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void process_killed_from_outside_is_restarted(void **state)
{
    struct fixture *f = *state;
    json_t *pod = make_pod(
        "outside", "{\"terminationGracePeriodSeconds\":0,\"containers\":"
                   "[{\"name\":\"c\",\"image\":\"x\",\"command\":"
                   "[\"sleep\",\"975.5\"]}]}");
    struct agent_pod *p;
    json_t *st;
    int want = 1;
    char pidfile[PATH_MAX], *rec;

    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, running, NULL, 10000);
    assert_non_null(st);
    json_decref(st);
    snprintf(pidfile, sizeof pidfile,
             "%s/default_outside_%s/containers/c/run-0/pid", f->pods,
             json_string_value(
                 json_object_get(json_object_get(pod, "metadata"), "uid")));
    rec = read_all(pidfile);
    assert_non_null(rec);
    assert_int_equal(kill(atoi(rec), SIGKILL), 0);
    free(rec);
    st = run_until(p, restarts_at_least, &want, 10000);
    assert_non_null(st);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_object_get(cstatus(st, 0), "lastState"),
                            "terminated"),
            "exitCode")),
        137);
    json_decref(st);
    st = run_until(p, running, NULL, 10000);
    assert_non_null(st);
    json_decref(st);
    agent_pod_terminate(p, 0, now_ms());
    for (int64_t end = now_ms() + 10000;
         !agent_pod_terminated(p) && now_ms() < end; nap(10))
        agent_pod_sync(p, now_ms());
    assert_true(wait_procs("975.5", 0, 5000));
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void restarted_agent_adopts_running_containers(void **state)
{
    struct fixture *f = *state;
    json_t *pod =
        make_pod("adopt", "{\"terminationGracePeriodSeconds\":0,\"containers\":"
                          "[{\"name\":\"c\",\"image\":\"x\",\"command\":"
                          "[\"sleep\",\"976.5\"]}]}");
    struct agent_pod *p;
    json_t *st;
    const char *started;
    char *started_copy;

    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, running, NULL, 10000);
    assert_non_null(st);
    started = json_string_value(json_object_get(
        json_object_get(json_object_get(cstatus(st, 0), "state"), "running"),
        "startedAt"));
    started_copy = strdup(started);
    json_decref(st);
    /* The "agent" goes away without purging; the process stays. */
    agent_pod_destroy(p, false);
    assert_true(wait_procs("976.5", 1, 5000));
    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, running, NULL, 2000);
    assert_non_null(st);
    assert_int_equal(
        json_integer_value(json_object_get(cstatus(st, 0), "restartCount")), 0);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(cstatus(st, 0), "state"),
                            "running"),
            "startedAt")),
        started_copy);
    json_decref(st);
    assert_true(wait_procs("976.5", 1, 5000));
    free(started_copy);
    /* The adopted run is still ours to stop. */
    agent_pod_terminate(p, 0, now_ms());
    for (int64_t end = now_ms() + 10000;
         !agent_pod_terminated(p) && now_ms() < end; nap(10))
        agent_pod_sync(p, now_ms());
    assert_true(agent_pod_terminated(p));
    assert_true(wait_procs("976.5", 0, 5000));
    agent_pod_destroy(p, true);
    json_decref(pod);
}

static void memory_limit_kills_and_reports_oomkilled(void **state)
{
    struct fixture *f = *state;
    json_t *pod, *st;
    struct agent_pod *p;

    if (!caps.cg.memory) {
        printf("SKIPPED memory_limit_kills_and_reports_oomkilled: no "
               "memory cgroup (%s)\n",
               caps.cg.why);
        skip();
    }
    pod = make_pod(
        "oom", "{\"restartPolicy\":\"Never\",\"containers\":[{\"name\":\"c\","
               "\"image\":\"x\",\"command\":[\"python3\",\"-c\","
               "\"b = bytearray(256*1024*1024); print(len(b))\"],"
               "\"resources\":{\"limits\":{\"memory\":\"32Mi\"}}}]}");
    assert_int_equal(agent_pod_create(&f->env, pod, &p), 0);
    st = run_until(p, phase_is, "Failed", 20000);
    assert_non_null(st);
    assert_string_equal(json_string_value(json_object_get(
                            terminated(cstatus(st, 0)), "reason")),
                        "OOMKilled");
    assert_int_equal(json_integer_value(json_object_get(
                         terminated(cstatus(st, 0)), "exitCode")),
                     137);
    assert_string_equal(json_string_value(json_object_get(st, "qosClass")),
                        "Burstable");
    json_decref(st);
    agent_pod_destroy(p, true);
    json_decref(pod);
}

/* ------------------------------------------------------------ Failure /
 * parsing */

static void quantities_and_qos(void **state)
{
    int64_t v;
    json_t *spec;
    (void)state;
    assert_int_equal(agent_quantity_milli("128Mi", &v), 0);
    assert_int_equal(v, 128LL * 1024 * 1024 * 1000);
    assert_int_equal(agent_quantity_milli("250m", &v), 0);
    assert_int_equal(v, 250);
    assert_int_equal(agent_quantity_milli("1.5", &v), 0);
    assert_int_equal(v, 1500);
    assert_int_equal(agent_quantity_milli("1e3", &v), 0);
    assert_int_equal(v, 1000000);
    assert_int_equal(agent_quantity_milli("12Qi", &v), K1S_EINVAL);
    assert_int_equal(agent_quantity_milli("", &v), K1S_EINVAL);
    assert_int_equal(agent_quantity_milli("-1", &v), K1S_EINVAL);
    spec = json_loads("{\"containers\":[{\"name\":\"a\",\"resources\":"
                      "{\"limits\":{\"cpu\":\"1\",\"memory\":\"1Gi\"},"
                      "\"requests\":{\"cpu\":\"1000m\"}}}]}",
                      0, NULL);
    assert_string_equal(agent_qos_class(spec), "Guaranteed");
    json_decref(spec);
    spec = json_loads("{\"containers\":[{\"name\":\"a\",\"resources\":"
                      "{\"requests\":{\"cpu\":\"1\"}}}]}",
                      0, NULL);
    assert_string_equal(agent_qos_class(spec), "Burstable");
    json_decref(spec);
}

static void log_read_honours_since_tail_and_limit(void **state)
{
    struct fixture *f = *state;
    char path[PATH_MAX];
    struct agent_log_opts o = {.tail_lines = -1};
    struct buf out;
    int64_t since;
    FILE *fp;

    snprintf(path, sizeof path, "%s/manual.log", f->dir);
    fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("2020-01-01T00:00:00.000000001Z stdout F old-1\n"
          "2020-01-01T00:00:01.5Z stderr F old-2\n"
          "2030-01-01T00:00:00.000000000Z stdout P new-\n"
          "2030-01-01T00:00:00.100000000Z stdout F line\n"
          "2030-01-01T00:00:01Z stdout F last\n",
          fp);
    fclose(fp);
    assert_int_equal(clock_parse_rfc3339("2025-01-01T00:00:00Z", &since), 0);
    buf_init(&out);
    o.since_ns = since;
    assert_int_equal(agent_log_read(path, &o, &out, NULL), 0);
    /* a partial record (P) continues on the next line */
    assert_string_equal(out.data, "new-line\nlast\n");
    buf_reset(&out);
    o.since_ns = 0;
    o.tail_lines = 1;
    o.timestamps = true;
    assert_int_equal(agent_log_read(path, &o, &out, NULL), 0);
    assert_string_equal(out.data, "2030-01-01T00:00:01Z last\n");
    buf_reset(&out);
    o.tail_lines = -1;
    o.timestamps = false;
    o.limit_bytes = 7;
    assert_int_equal(agent_log_read(path, &o, &out, NULL), 0);
    assert_int_equal(out.len, 7);
    assert_memory_equal(out.data, "old-1\nol", 7);
    buf_close(&out);
}

static void env_expansion_rules(void **state)
{
    char *env[] = {W("A=x"), W("B=y"), NULL};
    char *r;
    (void)state;
    r = agent_env_expand("$(A)-$(B)-$(C)-$$(A)", env);
    assert_string_equal(r, "x-y-$(C)-$(A)");
    free(r);
}

static void bad_pods_are_refused_not_crashed_on(void **state)
{
    struct fixture *f = *state;
    struct agent_pod *p = NULL;
    json_t *pod = json_loads("{\"metadata\":{\"name\":\"x\",\"uid\":\"../e"
                             "vil\"},\"spec\":{\"containers\":[{\"name\":"
                             "\"c\"}]}}",
                             0, NULL);
    assert_int_equal(agent_pod_create(&f->env, pod, &p), K1S_EINVALID);
    json_decref(pod);
    pod = json_loads("{\"metadata\":{\"name\":\"x\",\"uid\":\"u1\"},"
                     "\"spec\":{\"containers\":[{\"name\":\"../c\"}]}}",
                     0, NULL);
    assert_int_equal(agent_pod_create(&f->env, pod, &p), K1S_EINVALID);
    json_decref(pod);
    pod = json_loads("{\"metadata\":{\"name\":\"x\",\"uid\":\"u2\"},"
                     "\"spec\":{}}",
                     0, NULL);
    assert_int_equal(agent_pod_create(&f->env, pod, &p), K1S_EINVALID);
    json_decref(pod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            run_reports_exit_code_and_logs_both_streams, setup, teardown),
        cmocka_unit_test_setup_teardown(
            run_missing_binary_is_an_error_not_a_crash, setup, teardown),
        cmocka_unit_test_setup_teardown(sigkill_ends_the_whole_process_tree,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            log_rotates_at_the_cap_and_tail_reads_across, setup, teardown),
        cmocka_unit_test_setup_teardown(
            pod_runs_to_completion_with_restart_never, setup, teardown),
        cmocka_unit_test_setup_teardown(
            crashing_container_backs_off_with_growing_delays, setup, teardown),
        cmocka_unit_test_setup_teardown(container_without_command_explains_why,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            init_containers_run_in_order_before_the_app, setup, teardown),
        cmocka_unit_test_setup_teardown(
            env_value_from_configmap_secret_and_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_configmap_is_a_config_error,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            readiness_http_probe_against_a_real_server, setup, teardown),
        cmocka_unit_test_setup_teardown(tcp_probe_fails_on_a_closed_port, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(
            failing_exec_liveness_restarts_the_container, setup, teardown),
        cmocka_unit_test_setup_teardown(delete_sigterms_then_kills_within_grace,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            process_killed_from_outside_is_restarted, setup, teardown),
        cmocka_unit_test_setup_teardown(
            restarted_agent_adopts_running_containers, setup, teardown),
        cmocka_unit_test_setup_teardown(
            memory_limit_kills_and_reports_oomkilled, setup, teardown),
        cmocka_unit_test(quantities_and_qos),
        cmocka_unit_test(env_expansion_rules),
        cmocka_unit_test_setup_teardown(log_read_honours_since_tail_and_limit,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(bad_pods_are_refused_not_crashed_on,
                                        setup, teardown),
    };
    char node[64];

    snprintf(node, sizeof node, "unit-%d", (int)getpid());
    agent_caps_detect(&caps, node, caps_line, sizeof caps_line);
    printf("runtime capabilities: %s\n", caps_line);
    {
        int rv =
            cmocka_run_group_tests_name("agent_runtime", tests, NULL, NULL);
        /* The node's cgroup directory is ours to remove. */
        agent_cgroup_remove(&caps.cg, "");
        return rv;
    }
}

/*
 * DESIGN: the one k1s binary and its faces (multi-call, like busybox):
 *
 *   k1s server [flags]     store + API server + scheduler + controllers
 *   k1s agent [flags]      a node agent
 *   k1s kubectl …          the thin CLI, also reached as `kubectl-lite …`
 *   k1s version | --help
 *
 * argv[0]'s base name decides first (kubectl-lite), then the first word.
 * `k1s server` composes the modules: it owns their lifecycles and the
 * process's signals (SIGTERM/SIGINT are taken by sigwait in the main thread
 * only, so no module's thread is ever interrupted by them).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent.h"
#include "apiserver/apiserver.h"
#include "controllers/controllers.h"
#include "kubectl-lite/kctl.h"
#include "lib/err.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "lib/version.h"
#include "scheduler/scheduler.h"
#include "store/store.h"

struct server_opts {
    const char *data_dir;
    const char *bind_address;
    int port;
    char node_name[HOST_NAME_MAX + 1];
    bool disable_agent;
    long node_grace_s;        /* --node-monitor-grace-period */
    long toleration_s;        /* --default-unreachable-toleration-seconds */
    bool disable_controllers; /* tests: owners deleted while "down" */
    bool insecure_bind;
    int max_watches;
    const char *kubeconfig;
    char kubeconfig_buf[PATH_MAX];
};

static void usage_main(FILE *f)
{
    fprintf(f,
            "k1s %s — a Kubernetes-compatible control plane in one binary.\n"
            "\n"
            "Usage:\n"
            "  k1s server [flags]    run the control plane (and, by default, "
            "a node agent)\n"
            "  k1s agent [flags]     run a node agent against a server\n"
            "  k1s kubectl ARGS…     the thin CLI (also as `kubectl-lite`)\n"
            "  k1s version           print the version\n"
            "\n"
            "Run `k1s COMMAND --help` for a command's flags.\n",
            K1S_VERSION);
}

static void usage_server(FILE *f)
{
    fprintf(f,
            "Usage: k1s server [flags]\n"
            "\n"
            "Runs the store, the API server, the scheduler and the "
            "controllers.\n"
            "\n"
            "Flags:\n"
            "  --data-dir DIR          state directory (default "
            "/var/lib/k1s)\n"
            "  --bind-address ADDR     address to serve on (default "
            "127.0.0.1)\n"
            "  --port N                port to serve on (default 6443; 0 "
            "picks a free one)\n"
            "  --max-watches N         concurrent watch streams served "
            "(default 3000)\n"
            "  --insecure-bind         allow a non-loopback address without "
            "TLS\n"
            "  --node-name NAME        this node's name (default: the "
            "hostname)\n"
            "  --disable-agent         do not run the embedded node agent\n"
            "  --node-monitor-grace-period S\n"
            "                          seconds without a Lease renewal "
            "before a node is\n"
            "                          NotReady/unreachable (default 40)\n"
            "  --default-unreachable-toleration-seconds S\n"
            "                          how long pods tolerate an "
            "unreachable or not-ready\n"
            "                          node before eviction (default 300)\n"
            "  --disable-controllers   run no controllers (the scheduler "
            "still runs)\n"
            "  --write-kubeconfig PATH where to write the kubeconfig "
            "(default DATA_DIR/kubeconfig.yaml)\n"
            "  --log-level LEVEL       error, warn, info (default) or debug\n"
            "  -h, --help              this text\n");
}

/* Writes the kubeconfig atomically (temp file + rename), so a client never
 * reads half of one. */
static int write_kubeconfig(const char *path, const char *host, int port)
{
    char tmp[PATH_MAX];
    FILE *f;
    int rv = 0;

    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return K1S_EINVAL;
    f = fopen(tmp, "w");
    if (f == NULL)
        return err_from_errno(errno);
    fprintf(f,
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- name: k1s\n"
            "  cluster:\n"
            "    server: http://%s:%d\n"
            "contexts:\n"
            "- name: k1s\n"
            "  context:\n"
            "    cluster: k1s\n"
            "    user: k1s-admin\n"
            "    namespace: default\n"
            "current-context: k1s\n"
            "users:\n"
            "- name: k1s-admin\n"
            "  user: {}\n"
            "preferences: {}\n",
            host, port);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        rv = err_from_errno(errno);
    if (fclose(f) != 0 && rv == 0)
        rv = err_from_errno(errno);
    if (rv == 0 && rename(tmp, path) != 0)
        rv = err_from_errno(errno);
    if (rv != 0)
        unlink(tmp);
    return rv;
}

static int parse_server_opts(int argc, char **argv, struct server_opts *o)
{
    enum {
        OPT_DATA_DIR = 256,
        OPT_BIND,
        OPT_PORT,
        OPT_NODE,
        OPT_NO_AGENT,
        OPT_KUBECONFIG,
        OPT_LOG_LEVEL,
        OPT_INSECURE,
        OPT_MAX_WATCHES,
        OPT_NODE_GRACE,
        OPT_TOLERATION,
        OPT_NO_CTRL,
    };
    static const struct option longopts[] = {
        {"data-dir", required_argument, NULL, OPT_DATA_DIR},
        {"bind-address", required_argument, NULL, OPT_BIND},
        {"port", required_argument, NULL, OPT_PORT},
        {"node-name", required_argument, NULL, OPT_NODE},
        {"disable-agent", no_argument, NULL, OPT_NO_AGENT},
        {"write-kubeconfig", required_argument, NULL, OPT_KUBECONFIG},
        {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
        {"insecure-bind", no_argument, NULL, OPT_INSECURE},
        {"max-watches", required_argument, NULL, OPT_MAX_WATCHES},
        {"node-monitor-grace-period", required_argument, NULL, OPT_NODE_GRACE},
        {"default-unreachable-toleration-seconds", required_argument, NULL,
         OPT_TOLERATION},
        {"disable-controllers", no_argument, NULL, OPT_NO_CTRL},
        {"default-not-ready-toleration-seconds", required_argument, NULL,
         OPT_TOLERATION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    enum log_level level;
    char *end;
    long port;
    int c;

    memset(o, 0, sizeof *o);
    o->data_dir = "/var/lib/k1s";
    o->bind_address = "127.0.0.1";
    o->port = 6443;
    o->node_grace_s = 40;
    o->toleration_s = 300;
    if (gethostname(o->node_name, sizeof o->node_name - 1) != 0)
        strcpy(o->node_name, "k1s-node");
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_DATA_DIR:
            o->data_dir = optarg;
            break;
        case OPT_BIND:
            o->bind_address = optarg;
            break;
        case OPT_PORT:
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno || *end || port < 0 || port > 65535) {
                fprintf(stderr, "k1s server: --port wants 0-65535, got %s\n",
                        optarg);
                return 2;
            }
            o->port = (int)port;
            break;
        case OPT_NODE:
            snprintf(o->node_name, sizeof o->node_name, "%s", optarg);
            break;
        case OPT_NO_AGENT:
            o->disable_agent = true;
            break;
        case OPT_KUBECONFIG:
            o->kubeconfig = optarg;
            break;
        case OPT_LOG_LEVEL:
            if (log_parse_level(optarg, &level) != 0) {
                fprintf(stderr,
                        "k1s server: --log-level wants error, warn, info or "
                        "debug, got %s\n",
                        optarg);
                return 2;
            }
            log_set_level(level);
            break;
        case OPT_INSECURE:
            o->insecure_bind = true;
            break;
        case OPT_MAX_WATCHES:
            errno = 0;
            port = strtol(optarg, &end, 10);
            if (errno || *end || port < 1 || port > 100000) {
                fprintf(stderr,
                        "k1s server: --max-watches wants 1-100000, got %s\n",
                        optarg);
                return 2;
            }
            o->max_watches = (int)port;
            break;
        case OPT_NO_CTRL:
            o->disable_controllers = true;
            break;
        case OPT_NODE_GRACE:
        case OPT_TOLERATION: {
            long v;
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (*end == 's')
                end++; /* "40s" as kube-controller-manager writes it */
            if (errno || *end || end == optarg || v < 1 || v > 86400) {
                fprintf(stderr,
                        "k1s server: --%s wants 1-86400 seconds, got %s\n",
                        c == OPT_NODE_GRACE
                            ? "node-monitor-grace-period"
                            : "default-unreachable-toleration-seconds",
                        optarg);
                return 2;
            }
            if (c == OPT_NODE_GRACE)
                o->node_grace_s = v;
            else
                o->toleration_s = v;
            break;
        }
        case 'h':
            usage_server(stdout);
            return 1;
        default:
            usage_server(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "k1s server: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (o->kubeconfig == NULL) {
        snprintf(o->kubeconfig_buf, sizeof o->kubeconfig_buf,
                 "%s/kubeconfig.yaml", o->data_dir);
        o->kubeconfig = o->kubeconfig_buf;
    }
    return 0;
}

static int server_main(int argc, char **argv)
{
    struct server_opts o;
    struct api_server *api = NULL;
    struct api_config acfg;
    struct ctrl_api capi;
    struct ctrl_config ccfg;
    struct sched *sched = NULL;
    struct ctrl_manager *ctrl = NULL;
    struct store_config scfg;
    struct store *store = NULL;
    struct agent *agent = NULL;
    char err[512] = "";
    sigset_t sigs;
    int rv, sig = 0;

    rv = parse_server_opts(argc, argv, &o);
    if (rv != 0)
        return rv == 1 ? 0 : rv;

    /* Signals are taken by sigwait below only: block them before any
     * thread starts so every thread inherits the mask. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    rv = fs_mkdir_p(o.data_dir, 0700);
    if (rv != 0) {
        log_error("k1s: cannot create data dir %s: %s", o.data_dir,
                  err_str(rv));
        goto err;
    }

    /* The store first: a corrupt database is a start-up error that names
     * the file, before anything listens. */
    memset(&scfg, 0, sizeof scfg);
    scfg.dir = o.data_dir;
    rv = store_open(&scfg, &store, err, sizeof err);
    if (rv != 0) {
        log_error("k1s: %s", err);
        goto err;
    }

    memset(&acfg, 0, sizeof acfg);
    acfg.bind_address = o.bind_address;
    acfg.port = o.port;
    acfg.insecure_bind = o.insecure_bind;
    acfg.max_watches = o.max_watches;
    acfg.default_not_ready_toleration_s = (int)o.toleration_s;
    acfg.default_unreachable_toleration_s = (int)o.toleration_s;
    acfg.store = store;
    rv = api_server_create(&acfg, &api, err, sizeof err);
    if (rv != 0) {
        log_error("k1s: %s", err);
        goto err_after_store;
    }
    rv = api_server_start(api, err, sizeof err);
    if (rv != 0) {
        log_error("k1s: %s", err);
        goto err_after_api;
    }
    rv = write_kubeconfig(o.kubeconfig, o.bind_address, api_server_port(api));
    if (rv != 0) {
        log_error("k1s: cannot write kubeconfig %s: %s", o.kubeconfig,
                  err_str(rv));
        goto err_after_api;
    }
    /* The scheduler and the controllers are in-process API clients. */
    ctrl_api_for_server(api, &capi);
    memset(&ccfg, 0, sizeof ccfg);
    ccfg.node_grace_ns = (int64_t)o.node_grace_s * 1000000000LL;
    ccfg.default_toleration_ns = (int64_t)o.toleration_s * 1000000000LL;
    /* The scheduler attaches to the controllers' informers of pods and
     * nodes (each pod cached once); on its own when they do not run. */
    if (!o.disable_controllers)
        rv = ctrl_manager_start(&capi, &ccfg, &ctrl);
    if (rv == 0)
        rv = sched_start_shared(&capi, ctrl_manager_informer(ctrl, "pods"),
                                ctrl_manager_informer(ctrl, "nodes"), &sched);
    if (rv != 0) {
        log_error("k1s: cannot start the scheduler and controllers: %s",
                  err_str(rv));
        ctrl_manager_stop(ctrl);
        goto err_after_api;
    }
    if (!o.disable_agent) {
        /* The embedded node agent talks to this server over HTTP, as a
         * remote one would. */
        struct agent_config agcfg;
        char url[300], agent_dir[PATH_MAX];
        const char *host = strcmp(o.bind_address, "0.0.0.0") == 0
                               ? "127.0.0.1"
                               : o.bind_address;
        snprintf(url, sizeof url, "http://%s:%d", host, api_server_port(api));
        snprintf(agent_dir, sizeof agent_dir, "%s/agent", o.data_dir);
        memset(&agcfg, 0, sizeof agcfg);
        agcfg.server_url = url;
        agcfg.node_name = o.node_name;
        agcfg.data_dir = agent_dir;
        rv = agent_start(&agcfg, &agent, err, sizeof err);
        if (rv != 0) {
            log_error("k1s: %s", err);
            goto err_after_ctrl;
        }
    }
    api_server_set_ready(api, true);
    log_info("k1s: ready: serving on http://%s:%d (node %s, data %s, "
             "kubeconfig %s)",
             o.bind_address, api_server_port(api), o.node_name, o.data_dir,
             o.kubeconfig);

    while (sigwait(&sigs, &sig) != 0)
        ;
    log_info("k1s: %s received, shutting down", strsignal(sig));
    agent_stop(agent);
    sched_stop(sched); /* first: it is attached to the manager's informers */
    ctrl_manager_stop(ctrl);
    api_server_stop(api);
    api_server_destroy(api);
    store_close(store);
    log_info("k1s: stopped");
    return 0;

err_after_ctrl:
    sched_stop(sched); /* first: it is attached to the manager's informers */
    ctrl_manager_stop(ctrl);
err_after_api:
    api_server_destroy(api);
err_after_store:
    store_close(store);
err:
    return 1;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int main(int argc, char **argv)
{
    const char *self = argc > 0 ? base_name(argv[0]) : "k1s";

    if (strcmp(self, "kubectl-lite") == 0)
        return kctl_main(argc, argv);
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage_main(stdout);
        return 0;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("k1s version %s (Kubernetes %s)\n", K1S_VERSION,
               K1S_KUBE_VERSION);
        return 0;
    }
    if (strcmp(argv[1], "server") == 0)
        return server_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "agent") == 0)
        return agent_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "kubectl") == 0)
        return kctl_main(argc - 1, argv + 1);
    fprintf(stderr, "k1s: unknown command '%s'\n\n", argv[1]);
    usage_main(stderr);
    return 2;
}

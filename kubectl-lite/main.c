/*
 * DESIGN: verb dispatch for kubectl-lite. Each verb lives in its own file
 * and is a row in kctl_verbs[]; this file takes the global flags out of
 * argv (they may stand anywhere, as with kubectl), finds the row and hands
 * it a client whose connection is resolved on first use.
 */
#include "kubectl-lite/kctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/version.h"

static int kctl_version(struct kctl_client *cl, int argc, char **argv)
{
    bool client_only = false;
    const char *output = NULL;
    const struct kctl_opt opts[] = {
        {"client", 0, KCTL_OPT_BOOL, &client_only},
        {"output", 'o', KCTL_OPT_STR, &output},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    json_t *v = NULL;
    int rv = 0;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    free(pos.v);
    if (!client_only &&
        kctl_json(cl, "GET", "/version", NULL, NULL, false, &v) != 0)
        rv = 1;
    if (output != NULL && strcmp(output, "json") == 0) {
        json_t *out = json_pack("{s:{s:s, s:s, s:s}}", "clientVersion", "major",
                                K1S_KUBE_MAJOR, "minor", K1S_KUBE_MINOR,
                                "gitVersion", K1S_KUBE_VERSION);
        if (v != NULL)
            json_object_set(out, "serverVersion", v);
        char *s = json_dumps(out, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
        json_decref(out);
    } else {
        printf("Client Version: %s\n", K1S_KUBE_VERSION);
        if (v != NULL)
            printf("Server Version: %s\n",
                   json_string_value(json_object_get(v, "gitVersion")));
    }
    json_decref(v);
    return rv;
}

static const struct kctl_verb {
    const char *name;
    kctl_verb_fn run;
    const char *help;
} kctl_verbs[] = {
    {"apply", kctl_cmd_apply, "Apply a configuration to a resource by file"},
    {"create", kctl_cmd_create, "Create a resource from a file"},
    {"replace", kctl_cmd_replace, "Replace a resource by file"},
    {"delete", kctl_cmd_delete, "Delete resources by file, name or label"},
    {"diff", kctl_cmd_diff,
     "Diff the live version against a would-be "
     "applied version"},
    {"get", kctl_cmd_get, "Display one or many resources"},
    {"describe", kctl_cmd_describe, "Show details of a resource"},
    {"logs", kctl_cmd_logs, "Print the logs for a container in a pod"},
    {"scale", kctl_cmd_scale,
     "Set a new size for a deployment or "
     "replica set"},
    {"rollout", kctl_cmd_rollout, "Manage the rollout of a deployment"},
    {"wait", kctl_cmd_wait, "Wait for a condition on one or many resources"},
    {"label", kctl_cmd_label, "Update the labels on a resource"},
    {"annotate", kctl_cmd_annotate, "Update the annotations on a resource"},
    {"cordon", kctl_cmd_cordon, "Mark node as unschedulable"},
    {"uncordon", kctl_cmd_uncordon, "Mark node as schedulable"},
    {"drain", kctl_cmd_drain, "Drain node in preparation for maintenance"},
    {"api-resources", kctl_cmd_api_resources,
     "Print the supported API resources on the server"},
    {"config", kctl_cmd_config, "Modify kubeconfig files"},
    {"version", kctl_version, "Print the client and server version"},
};

static void kctl_usage(FILE *f)
{
    fprintf(f, "kubectl-lite controls a Kubernetes cluster (the thin CLI of "
               "k1s).\n\nUsage:\n  kubectl-lite COMMAND [options]\n\n"
               "Commands:\n");
    for (size_t i = 0; i < sizeof kctl_verbs / sizeof kctl_verbs[0]; i++)
        fprintf(f, "  %-14s %s\n", kctl_verbs[i].name, kctl_verbs[i].help);
    fprintf(f, "\nGlobal options: --kubeconfig FILE, --context NAME, "
               "--server URL, --token T,\n  -n/--namespace NS, "
               "--insecure-skip-tls-verify, --request-timeout SECONDS\n");
}

int kctl_main(int argc, char **argv)
{
    struct kctl_globals g;
    struct kctl_client cl;
    int rv;

    if (kctl_global_flags(&argc, argv, &g) != 0)
        return 1;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        kctl_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof kctl_verbs / sizeof kctl_verbs[0]; i++) {
        if (strcmp(argv[1], kctl_verbs[i].name) != 0)
            continue;
        kctl_client_open(&cl, &g);
        rv = kctl_verbs[i].run(&cl, argc - 1, argv + 1);
        kctl_client_close(&cl);
        fflush(stdout);
        return rv < 0 ? 1 : rv; /* diff: 0, 1 or 2 */
    }
    fprintf(stderr,
            "error: unknown command \"%s\" for \"kubectl-lite\"\nRun "
            "'kubectl-lite --help' for usage.\n",
            argv[1]);
    return 1;
}

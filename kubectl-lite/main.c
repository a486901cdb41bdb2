/*
 * DESIGN: verb dispatch for kubectl-lite. Each verb lives in its own file
 * and is a row in kctl_verbs[]; this file only finds the row.
 */
#include "kubectl-lite/kctl.h"

#include <stdio.h>
#include <string.h>

#include "lib/version.h"

static int kctl_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("Client Version: %s\n", K1S_KUBE_VERSION);
    return 0;
}

static const struct kctl_verb {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} kctl_verbs[] = {
    {"version", kctl_version, "Print the client version"},
};

static void kctl_usage(FILE *f)
{
    fprintf(f, "kubectl-lite: the thin CLI of k1s.\n\nUsage:\n"
               "  kubectl-lite COMMAND [options]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof kctl_verbs / sizeof kctl_verbs[0]; i++)
        fprintf(f, "  %-14s %s\n", kctl_verbs[i].name, kctl_verbs[i].help);
}

int kctl_main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        kctl_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof kctl_verbs / sizeof kctl_verbs[0]; i++)
        if (strcmp(argv[1], kctl_verbs[i].name) == 0)
            return kctl_verbs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "error: unknown command \"%s\" for \"kubectl-lite\"\n",
            argv[1]);
    return 1;
}

/*
 * kubectl-lite — the thin CLI (a face of the k1s binary: `kubectl-lite …`
 * by argv[0], or `k1s kubectl …`). Depends on lib/ only; talks to the API
 * server over HTTP like any client.
 */
#ifndef K1S_KUBECTL_LITE_KCTL_H
#define K1S_KUBECTL_LITE_KCTL_H

/* Runs one kubectl-lite command line (argv[0] is the program name). Returns
 * the process exit code: 0 on success, 1 on failure. */
int kctl_main(int argc, char **argv);

#endif

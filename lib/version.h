/*
 * version — what this build of k1s calls itself. The Kubernetes version is
 * what /version reports: kubectl's dispatcher picks its own binary from the
 * minor version (kubectl-wire.md §1.1), so it must stay 1.32.
 */
#ifndef K1S_LIB_VERSION_H
#define K1S_LIB_VERSION_H

#define K1S_VERSION "0.1.0"
#define K1S_KUBE_MAJOR "1"
#define K1S_KUBE_MINOR "32"
#define K1S_KUBE_VERSION "v1.32.4-k1s"

#endif

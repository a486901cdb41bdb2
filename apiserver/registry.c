/*
 * DESIGN: the resource registry. One row per served resource drives
 * routing (api_dispatch), discovery and OpenAPI (discovery.c), storage keys,
 * field selectors, strict decoding, defaulting, validation and Table
 * output. A new kind is a row plus its hooks — no new plumbing.
 *
 * Storage keys are "/registry/<resource>/<namespace>/<name>" (namespaced)
 * or "/registry/<resource>/<name>"; resource plurals are unique across the
 * groups served, so the group is not part of the key.
 */
#include <stdio.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/err.h"

static const char *const f_meta[] = {"metadata.name", "metadata.namespace",
                                     NULL};
static const char *const f_pod[] = {"metadata.name",
                                    "metadata.namespace",
                                    "spec.nodeName",
                                    "spec.restartPolicy",
                                    "spec.schedulerName",
                                    "spec.serviceAccountName",
                                    "status.phase",
                                    "status.podIP",
                                    "status.nominatedNodeName",
                                    NULL};
static const char *const f_node[] = {"metadata.name", "spec.unschedulable",
                                     NULL};
static const char *const f_event[] = {"metadata.name",
                                      "metadata.namespace",
                                      "involvedObject.kind",
                                      "involvedObject.namespace",
                                      "involvedObject.name",
                                      "involvedObject.uid",
                                      "involvedObject.apiVersion",
                                      "involvedObject.resourceVersion",
                                      "involvedObject.fieldPath",
                                      "reason",
                                      "reportingComponent",
                                      "source",
                                      "type",
                                      NULL};
static const char *const f_secret[] = {"metadata.name", "metadata.namespace",
                                       "type", NULL};
static const char *const f_ns[] = {"metadata.name", "status.phase", NULL};
static const char *const f_rs[] = {"metadata.name", "metadata.namespace",
                                   "status.replicas", NULL};
static const char *const f_job[] = {"metadata.name", "metadata.namespace",
                                    "status.successful", NULL};

#define META_KEYS "apiVersion", "kind", "metadata"
static const char *const k_spec[] = {META_KEYS, "spec", "status", NULL};
static const char *const k_cm[] = {META_KEYS, "data", "binaryData", "immutable",
                                   NULL};
static const char *const k_secret[] = {META_KEYS, "data",      "stringData",
                                       "type",    "immutable", NULL};
static const char *const k_ep[] = {META_KEYS, "subsets", NULL};
static const char *const k_sa[] = {META_KEYS, "secrets", "imagePullSecrets",
                                   "automountServiceAccountToken", NULL};
static const char *const k_event[] = {META_KEYS,
                                      "involvedObject",
                                      "reason",
                                      "message",
                                      "source",
                                      "firstTimestamp",
                                      "lastTimestamp",
                                      "count",
                                      "type",
                                      "eventTime",
                                      "series",
                                      "action",
                                      "related",
                                      "reportingComponent",
                                      "reportingInstance",
                                      NULL};

#define SUB_WL (API_SUB_STATUS | API_SUB_SCALE)
#define RF_WL (API_RF_GENERATION | API_RF_RESET_STATUS)

const struct api_resource api_resources[] = {
    /* core/v1 */
    {"",
     "v1",
     "namespaces",
     "namespace",
     "Namespace",
     false,
     {"ns"},
     false,
     API_SUB_STATUS | API_SUB_FINALIZE,
     0,
     f_ns,
     k_spec,
     api_defaults_namespace,
     NULL,
     &api_table_namespaces},
    {"",
     "v1",
     "nodes",
     "node",
     "Node",
     false,
     {"no"},
     false,
     API_SUB_STATUS,
     0,
     f_node,
     k_spec,
     api_defaults_node,
     NULL,
     &api_table_nodes},
    {"",
     "v1",
     "pods",
     "pod",
     "Pod",
     true,
     {"po"},
     true,
     API_SUB_STATUS | API_SUB_BINDING | API_SUB_EVICTION | API_SUB_LOG,
     API_RF_GENERATION | API_RF_RESET_STATUS,
     f_pod,
     k_spec,
     api_defaults_pod,
     api_validate_pod,
     &api_table_pods},
    {"",
     "v1",
     "configmaps",
     "configmap",
     "ConfigMap",
     true,
     {"cm"},
     false,
     0,
     0,
     f_meta,
     k_cm,
     NULL,
     api_validate_configmap,
     &api_table_configmaps},
    {"",
     "v1",
     "secrets",
     "secret",
     "Secret",
     true,
     {NULL},
     false,
     0,
     0,
     f_secret,
     k_secret,
     api_defaults_secret,
     api_validate_secret,
     &api_table_secrets},
    {"",
     "v1",
     "events",
     "event",
     "Event",
     true,
     {"ev"},
     false,
     0,
     0,
     f_event,
     k_event,
     NULL,
     api_validate_event,
     &api_table_events},
    {"",
     "v1",
     "services",
     "service",
     "Service",
     true,
     {"svc"},
     true,
     API_SUB_STATUS,
     API_RF_RESET_STATUS,
     f_meta,
     k_spec,
     api_defaults_service,
     api_validate_service,
     &api_table_services},
    {"",
     "v1",
     "endpoints",
     "endpoints",
     "Endpoints",
     true,
     {"ep"},
     false,
     0,
     0,
     f_meta,
     k_ep,
     NULL,
     NULL,
     &api_table_endpoints},
    {"",
     "v1",
     "serviceaccounts",
     "serviceaccount",
     "ServiceAccount",
     true,
     {"sa"},
     false,
     0,
     0,
     f_meta,
     k_sa,
     NULL,
     NULL,
     &api_table_serviceaccounts},
    /* apps/v1 */
    {"apps",
     "v1",
     "deployments",
     "deployment",
     "Deployment",
     true,
     {"deploy"},
     true,
     SUB_WL,
     RF_WL,
     f_meta,
     k_spec,
     api_defaults_deployment,
     api_validate_workload,
     &api_table_deployments},
    {"apps",
     "v1",
     "replicasets",
     "replicaset",
     "ReplicaSet",
     true,
     {"rs"},
     true,
     SUB_WL,
     RF_WL,
     f_rs,
     k_spec,
     api_defaults_replicaset,
     api_validate_workload,
     &api_table_replicasets},
    {"apps",
     "v1",
     "daemonsets",
     "daemonset",
     "DaemonSet",
     true,
     {"ds"},
     true,
     API_SUB_STATUS,
     RF_WL,
     f_meta,
     k_spec,
     api_defaults_daemonset,
     api_validate_workload,
     &api_table_daemonsets},
    {"apps",
     "v1",
     "statefulsets",
     "statefulset",
     "StatefulSet",
     true,
     {"sts"},
     true,
     SUB_WL,
     RF_WL,
     f_meta,
     k_spec,
     api_defaults_statefulset,
     api_validate_workload,
     &api_table_statefulsets},
    /* batch/v1 */
    {"batch",
     "v1",
     "jobs",
     "job",
     "Job",
     true,
     {NULL},
     true,
     API_SUB_STATUS,
     RF_WL,
     f_job,
     k_spec,
     api_defaults_job,
     api_validate_job,
     &api_table_jobs},
    /* coordination.k8s.io/v1 */
    {"coordination.k8s.io",
     "v1",
     "leases",
     "lease",
     "Lease",
     true,
     {NULL},
     false,
     0,
     0,
     f_meta,
     k_spec,
     NULL,
     api_validate_lease,
     &api_table_leases},
};
const size_t api_nresources = sizeof api_resources / sizeof api_resources[0];

const struct api_resource *
api_resource_find(const char *group, const char *version, const char *resource)
{
    for (size_t i = 0; i < api_nresources; i++) {
        const struct api_resource *r = &api_resources[i];
        if (strcmp(r->group, group) == 0 && strcmp(r->version, version) == 0 &&
            strcmp(r->resource, resource) == 0)
            return r;
    }
    return NULL;
}

void api_resource_qualified(const struct api_resource *res, char *out,
                            size_t len)
{
    if (res->group[0])
        snprintf(out, len, "%s.%s", res->resource, res->group);
    else
        snprintf(out, len, "%s", res->resource);
}

void api_resource_gv(const struct api_resource *res, char *out, size_t len)
{
    if (res->group[0])
        snprintf(out, len, "%s/%s", res->group, res->version);
    else
        snprintf(out, len, "%s", res->version);
}

int api_resource_key(const struct api_resource *res, const char *ns,
                     const char *name, char *out, size_t len)
{
    int n;

    if (name == NULL)
        name = "";
    if (res->namespaced && ns && ns[0])
        n = snprintf(out, len, "/registry/%s/%s/%s", res->resource, ns, name);
    else
        n = snprintf(out, len, "/registry/%s/%s", res->resource, name);
    if (n < 0 || (size_t)n >= len)
        return K1S_EBADREQ;
    return 0;
}

/*
 * DESIGN: the strategic-merge-patch schema of the kinds k1s serves.
 *
 * Kubernetes reads patch strategies from the Go struct tags of k8s.io/api
 * (`patchStrategy:"merge" patchMergeKey:"name"`); k1s has no Go types, so
 * the same facts are a small graph of constant tables: a type lists only
 * the fields that carry a strategy or lead to one, each field points at the
 * type of its value (for a list, of its items). A kind maps to its root
 * type; PodTemplateSpec is one shared node reached from Deployment,
 * ReplicaSet, DaemonSet, StatefulSet and Job. Fields absent from a table
 * have no strategy: maps merge, lists are replaced whole.
 *
 * The graph is also what the OpenAPI v3 documents publish (discovery.c):
 * every type has its real Go package and name, and every struct a field
 * leads to is a node (often with no fields: EnvVar, ContainerPort), so the
 * schemas refer to each other as the API server's do. Types that have the
 * same Go fields share one field table (Container and EphemeralContainer;
 * the specs that only hold a pod template).
 *
 * Source of truth: k8s.io/api core/v1, apps/v1, batch/v1 types.go at
 * v1.32; the tags were checked against the struct tags compiled into
 * kubectl v1.32.4. Notable non-merge lists, replaced whole as in
 * Kubernetes: tolerations, NodeSpec.taints, envFrom, readinessGates,
 * Endpoints subsets, ServiceAccount imagePullSecrets, NamespaceSpec
 * finalizers, StatefulSet volumeClaimTemplates, the containers' statuses
 * (their items have merge lists, which matter only to OpenAPI readers).
 */
#include <string.h>

#include "apiserver/patch_int.h"

#define M API_SMP_MERGE
#define R API_SMP_RETAIN

#define CORE "io.k8s.api.core.v1"
#define APPS "io.k8s.api.apps.v1"
#define BATCH "io.k8s.api.batch.v1"
#define COORDINATION "io.k8s.api.coordination.v1"
#define EVENTS "io.k8s.api.events.v1"
#define META "io.k8s.apimachinery.pkg.apis.meta.v1"

/* A struct-valued field; a list (of structs when t is not NULL, else of
 * primitives); the end of a table. */
#define OBJ(n, s, t)                                                           \
    {                                                                          \
        n, s, NULL, t, false                                                   \
    }
#define LIST(n, s, k, t)                                                       \
    {                                                                          \
        n, s, k, t, true                                                       \
    }
#define END                                                                    \
    {                                                                          \
        NULL, 0, NULL, NULL, false                                             \
    }

/* The table of the types described by name only. */
static const struct api_smp_field no_fields[] = {END};

/* ---- meta/v1 ------------------------------------------------------------ */

static const struct api_smp_type owner_reference = {"OwnerReference", META,
                                                    no_fields};
static const struct api_smp_type meta_condition = {"Condition", META,
                                                   no_fields};

static const struct api_smp_field object_meta_fields[] = {
    LIST("finalizers", M, NULL, NULL),
    LIST("ownerReferences", M, "uid", &owner_reference),
    END,
};
static const struct api_smp_type object_meta = {"ObjectMeta", META,
                                                object_meta_fields};

/* ---- core/v1: Pod and its template -------------------------------------- */

static const struct api_smp_type container_port = {"ContainerPort", CORE,
                                                   no_fields};
static const struct api_smp_type env_var = {"EnvVar", CORE, no_fields};
static const struct api_smp_type volume_mount = {"VolumeMount", CORE,
                                                 no_fields};
static const struct api_smp_type volume_device = {"VolumeDevice", CORE,
                                                  no_fields};

/* Container, and EphemeralContainer (EphemeralContainerCommon inline). */
static const struct api_smp_field container_fields[] = {
    LIST("ports", M, "containerPort", &container_port),
    LIST("env", M, "name", &env_var),
    LIST("volumeMounts", M, "mountPath", &volume_mount),
    LIST("volumeDevices", M, "devicePath", &volume_device),
    END,
};
static const struct api_smp_type container = {"Container", CORE,
                                              container_fields};
static const struct api_smp_type ephemeral_container = {"EphemeralContainer",
                                                        CORE, container_fields};

static const struct api_smp_type volume = {"Volume", CORE, no_fields};
static const struct api_smp_type local_object_reference = {
    "LocalObjectReference", CORE, no_fields};
static const struct api_smp_type host_alias = {"HostAlias", CORE, no_fields};
static const struct api_smp_type topology_spread_constraint = {
    "TopologySpreadConstraint", CORE, no_fields};
static const struct api_smp_type pod_scheduling_gate = {"PodSchedulingGate",
                                                        CORE, no_fields};
static const struct api_smp_type pod_resource_claim = {"PodResourceClaim", CORE,
                                                       no_fields};

static const struct api_smp_field pod_spec_fields[] = {
    LIST("volumes", M | R, "name", &volume),
    LIST("initContainers", M, "name", &container),
    LIST("containers", M, "name", &container),
    LIST("ephemeralContainers", M, "name", &ephemeral_container),
    LIST("imagePullSecrets", M, "name", &local_object_reference),
    LIST("hostAliases", M, "ip", &host_alias),
    LIST("topologySpreadConstraints", M, "topologyKey",
         &topology_spread_constraint),
    LIST("schedulingGates", M, "name", &pod_scheduling_gate),
    LIST("resourceClaims", M | R, "name", &pod_resource_claim),
    END,
};
static const struct api_smp_type pod_spec = {"PodSpec", CORE, pod_spec_fields};

static const struct api_smp_type volume_mount_status = {"VolumeMountStatus",
                                                        CORE, no_fields};
static const struct api_smp_type resource_status = {"ResourceStatus", CORE,
                                                    no_fields};

static const struct api_smp_field container_status_fields[] = {
    LIST("volumeMounts", M, "mountPath", &volume_mount_status),
    LIST("allocatedResourcesStatus", M, "name", &resource_status),
    END,
};
static const struct api_smp_type container_status = {"ContainerStatus", CORE,
                                                     container_status_fields};

static const struct api_smp_type pod_condition = {"PodCondition", CORE,
                                                  no_fields};
static const struct api_smp_type pod_ip = {"PodIP", CORE, no_fields};
static const struct api_smp_type host_ip = {"HostIP", CORE, no_fields};
static const struct api_smp_type pod_resource_claim_status = {
    "PodResourceClaimStatus", CORE, no_fields};

static const struct api_smp_field pod_status_fields[] = {
    LIST("conditions", M, "type", &pod_condition),
    LIST("podIPs", M, "ip", &pod_ip),
    LIST("hostIPs", M, "ip", &host_ip),
    LIST("initContainerStatuses", 0, NULL, &container_status),
    LIST("containerStatuses", 0, NULL, &container_status),
    LIST("ephemeralContainerStatuses", 0, NULL, &container_status),
    LIST("resourceClaimStatuses", M | R, "name", &pod_resource_claim_status),
    END,
};
static const struct api_smp_type pod_status = {"PodStatus", CORE,
                                               pod_status_fields};

static const struct api_smp_field pod_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &pod_spec),
    OBJ("status", 0, &pod_status),
    END,
};
static const struct api_smp_type pod = {"Pod", CORE, pod_fields};

static const struct api_smp_field pod_template_spec_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &pod_spec),
    END,
};
static const struct api_smp_type pod_template_spec = {"PodTemplateSpec", CORE,
                                                      pod_template_spec_fields};

/* ---- core/v1: the other kinds ------------------------------------------- */

static const struct api_smp_type service_port = {"ServicePort", CORE,
                                                 no_fields};

static const struct api_smp_field service_spec_fields[] = {
    LIST("ports", M, "port", &service_port),
    END,
};
static const struct api_smp_type service_spec = {"ServiceSpec", CORE,
                                                 service_spec_fields};

static const struct api_smp_field service_status_fields[] = {
    LIST("conditions", M, "type", &meta_condition),
    END,
};
static const struct api_smp_type service_status = {"ServiceStatus", CORE,
                                                   service_status_fields};

static const struct api_smp_field service_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &service_spec),
    OBJ("status", 0, &service_status),
    END,
};
static const struct api_smp_type service = {"Service", CORE, service_fields};

static const struct api_smp_field node_spec_fields[] = {
    LIST("podCIDRs", M, NULL, NULL),
    END,
};
static const struct api_smp_type node_spec = {"NodeSpec", CORE,
                                              node_spec_fields};

static const struct api_smp_type node_condition = {"NodeCondition", CORE,
                                                   no_fields};
static const struct api_smp_type node_address = {"NodeAddress", CORE,
                                                 no_fields};

static const struct api_smp_field node_status_fields[] = {
    LIST("conditions", M, "type", &node_condition),
    LIST("addresses", M, "type", &node_address),
    END,
};
static const struct api_smp_type node_status = {"NodeStatus", CORE,
                                                node_status_fields};

static const struct api_smp_field node_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &node_spec),
    OBJ("status", 0, &node_status),
    END,
};
static const struct api_smp_type node = {"Node", CORE, node_fields};

static const struct api_smp_type namespace_condition = {"NamespaceCondition",
                                                        CORE, no_fields};

static const struct api_smp_field namespace_status_fields[] = {
    LIST("conditions", M, "type", &namespace_condition),
    END,
};
static const struct api_smp_type namespace_status = {"NamespaceStatus", CORE,
                                                     namespace_status_fields};

static const struct api_smp_field namespace_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("status", 0, &namespace_status),
    END,
};
static const struct api_smp_type namespace_type = {"Namespace", CORE,
                                                   namespace_fields};

static const struct api_smp_type object_reference = {"ObjectReference", CORE,
                                                     no_fields};

static const struct api_smp_field service_account_fields[] = {
    OBJ("metadata", 0, &object_meta),
    LIST("secrets", M, "name", &object_reference),
    END,
};
static const struct api_smp_type service_account = {"ServiceAccount", CORE,
                                                    service_account_fields};

/* ConfigMap, Secret, Endpoints, Event, Lease: only metadata has strategy. */
static const struct api_smp_field metadata_only_fields[] = {
    OBJ("metadata", 0, &object_meta),
    END,
};
static const struct api_smp_type config_map = {"ConfigMap", CORE,
                                               metadata_only_fields};
static const struct api_smp_type secret = {"Secret", CORE,
                                           metadata_only_fields};
static const struct api_smp_type endpoints = {"Endpoints", CORE,
                                              metadata_only_fields};
static const struct api_smp_type core_event = {"Event", CORE,
                                               metadata_only_fields};
static const struct api_smp_type events_event = {"Event", EVENTS,
                                                 metadata_only_fields};
static const struct api_smp_type lease = {"Lease", COORDINATION,
                                          metadata_only_fields};

/* ---- apps/v1, batch/v1 -------------------------------------------------- */

/* ReplicaSetSpec, DaemonSetSpec, StatefulSetSpec, JobSpec: a template. */
static const struct api_smp_field template_spec_fields[] = {
    OBJ("template", 0, &pod_template_spec),
    END,
};

static const struct api_smp_type deployment_strategy = {"DeploymentStrategy",
                                                        APPS, no_fields};

static const struct api_smp_field deployment_spec_fields[] = {
    OBJ("template", 0, &pod_template_spec),
    OBJ("strategy", R, &deployment_strategy),
    END,
};
static const struct api_smp_type deployment_spec = {"DeploymentSpec", APPS,
                                                    deployment_spec_fields};

static const struct api_smp_type deployment_condition = {"DeploymentCondition",
                                                         APPS, no_fields};

static const struct api_smp_field deployment_status_fields[] = {
    LIST("conditions", M, "type", &deployment_condition),
    END,
};
static const struct api_smp_type deployment_status = {"DeploymentStatus", APPS,
                                                      deployment_status_fields};

static const struct api_smp_field deployment_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &deployment_spec),
    OBJ("status", 0, &deployment_status),
    END,
};
static const struct api_smp_type deployment = {"Deployment", APPS,
                                               deployment_fields};

static const struct api_smp_type replica_set_spec = {"ReplicaSetSpec", APPS,
                                                     template_spec_fields};
static const struct api_smp_type replica_set_condition = {"ReplicaSetCondition",
                                                          APPS, no_fields};

static const struct api_smp_field replica_set_status_fields[] = {
    LIST("conditions", M, "type", &replica_set_condition),
    END,
};
static const struct api_smp_type replica_set_status = {
    "ReplicaSetStatus", APPS, replica_set_status_fields};

static const struct api_smp_field replica_set_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &replica_set_spec),
    OBJ("status", 0, &replica_set_status),
    END,
};
static const struct api_smp_type replica_set = {"ReplicaSet", APPS,
                                                replica_set_fields};

static const struct api_smp_type daemon_set_spec = {"DaemonSetSpec", APPS,
                                                    template_spec_fields};
static const struct api_smp_type daemon_set_condition = {"DaemonSetCondition",
                                                         APPS, no_fields};

static const struct api_smp_field daemon_set_status_fields[] = {
    LIST("conditions", M, "type", &daemon_set_condition),
    END,
};
static const struct api_smp_type daemon_set_status = {"DaemonSetStatus", APPS,
                                                      daemon_set_status_fields};

static const struct api_smp_field daemon_set_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &daemon_set_spec),
    OBJ("status", 0, &daemon_set_status),
    END,
};
static const struct api_smp_type daemon_set = {"DaemonSet", APPS,
                                               daemon_set_fields};

static const struct api_smp_type stateful_set_spec = {"StatefulSetSpec", APPS,
                                                      template_spec_fields};
static const struct api_smp_type stateful_set_condition = {
    "StatefulSetCondition", APPS, no_fields};

static const struct api_smp_field stateful_set_status_fields[] = {
    LIST("conditions", M, "type", &stateful_set_condition),
    END,
};
static const struct api_smp_type stateful_set_status = {
    "StatefulSetStatus", APPS, stateful_set_status_fields};

static const struct api_smp_field stateful_set_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &stateful_set_spec),
    OBJ("status", 0, &stateful_set_status),
    END,
};
static const struct api_smp_type stateful_set = {"StatefulSet", APPS,
                                                 stateful_set_fields};

static const struct api_smp_type job_spec = {"JobSpec", BATCH,
                                             template_spec_fields};
static const struct api_smp_type job_condition = {"JobCondition", BATCH,
                                                  no_fields};

static const struct api_smp_field job_status_fields[] = {
    LIST("conditions", M, "type", &job_condition),
    END,
};
static const struct api_smp_type job_status = {"JobStatus", BATCH,
                                               job_status_fields};

static const struct api_smp_field job_fields[] = {
    OBJ("metadata", 0, &object_meta),
    OBJ("spec", 0, &job_spec),
    OBJ("status", 0, &job_status),
    END,
};
static const struct api_smp_type job = {"Job", BATCH, job_fields};

#undef M
#undef R
#undef CORE
#undef APPS
#undef BATCH
#undef COORDINATION
#undef EVENTS
#undef META
#undef OBJ
#undef LIST
#undef END

static const struct {
    const char *group; /* the apiVersion's group, "" for core */
    const char *kind;
    const struct api_smp_type *type;
} kinds[] = {
    {"", "Pod", &pod},
    {"", "Service", &service},
    {"", "Endpoints", &endpoints},
    {"", "ConfigMap", &config_map},
    {"", "Secret", &secret},
    {"", "Namespace", &namespace_type},
    {"", "Node", &node},
    {"", "Event", &core_event},
    {"events.k8s.io", "Event", &events_event},
    {"", "ServiceAccount", &service_account},
    {"apps", "Deployment", &deployment},
    {"apps", "ReplicaSet", &replica_set},
    {"apps", "DaemonSet", &daemon_set},
    {"apps", "StatefulSet", &stateful_set},
    {"batch", "Job", &job},
    {"coordination.k8s.io", "Lease", &lease},
};

const struct api_smp_type *api_smp_kind_type(const char *api_version,
                                             const char *kind)
{
    const char *slash;
    size_t glen;

    if (kind == NULL)
        return NULL;
    slash = api_version ? strchr(api_version, '/') : NULL;
    glen = slash ? (size_t)(slash - api_version) : 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, kind) != 0)
            continue;
        if (api_version == NULL ||
            (strlen(kinds[i].group) == glen &&
             strncmp(kinds[i].group, api_version, glen) == 0))
            return kinds[i].type;
    }
    return NULL;
}

const struct api_smp_field *api_smp_lookup(const struct api_smp_type *type,
                                           const char *name)
{
    if (type == NULL)
        return NULL;
    for (const struct api_smp_field *f = type->fields; f->name != NULL; f++)
        if (strcmp(f->name, name) == 0)
            return f;
    return NULL;
}

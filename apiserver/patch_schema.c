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
 * Source of truth: k8s.io/api core/v1, apps/v1, batch/v1 types.go at
 * v1.32 (tags checked by hand). Notable non-merge lists, replaced whole as
 * in Kubernetes: tolerations, NodeSpec.taints, envFrom, Endpoints subsets,
 * ServiceAccount imagePullSecrets, NamespaceSpec finalizers.
 */
#include <string.h>

#include "apiserver/patch_int.h"

#define M API_SMP_MERGE
#define R API_SMP_RETAIN
#define END                                                                    \
    {                                                                          \
        NULL, 0, NULL, NULL                                                    \
    }

static const struct api_smp_field object_meta_fields[] = {
    {"finalizers", M, NULL, NULL},
    {"ownerReferences", M, "uid", NULL},
    END,
};
static const struct api_smp_type object_meta = {"ObjectMeta",
                                                object_meta_fields};

static const struct api_smp_field container_fields[] = {
    {"ports", M, "containerPort", NULL},
    {"env", M, "name", NULL},
    {"volumeMounts", M, "mountPath", NULL},
    {"volumeDevices", M, "devicePath", NULL},
    END,
};
static const struct api_smp_type container = {"Container", container_fields};

static const struct api_smp_field pod_spec_fields[] = {
    {"volumes", M | R, "name", NULL},
    {"initContainers", M, "name", &container},
    {"containers", M, "name", &container},
    {"ephemeralContainers", M, "name", &container},
    {"imagePullSecrets", M, "name", NULL},
    {"hostAliases", M, "ip", NULL},
    {"topologySpreadConstraints", M, "topologyKey", NULL},
    {"schedulingGates", M, "name", NULL},
    {"resourceClaims", M | R, "name", NULL},
    END,
};
static const struct api_smp_type pod_spec = {"PodSpec", pod_spec_fields};

static const struct api_smp_field pod_status_fields[] = {
    {"conditions", M, "type", NULL},
    {"podIPs", M, "ip", NULL},
    {"hostIPs", M, "ip", NULL},
    {"resourceClaimStatuses", M | R, "name", NULL},
    END,
};
static const struct api_smp_type pod_status = {"PodStatus", pod_status_fields};

static const struct api_smp_field pod_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    {"spec", 0, NULL, &pod_spec},
    {"status", 0, NULL, &pod_status},
    END,
};
static const struct api_smp_type pod = {"Pod", pod_fields};

static const struct api_smp_field pod_template_spec_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    {"spec", 0, NULL, &pod_spec},
    END,
};
static const struct api_smp_type pod_template_spec = {"PodTemplateSpec",
                                                      pod_template_spec_fields};

/* The status of most kinds: conditions merged by type. */
static const struct api_smp_field conditions_status_fields[] = {
    {"conditions", M, "type", NULL},
    END,
};
static const struct api_smp_type conditions_status = {"Status",
                                                      conditions_status_fields};

/* ReplicaSetSpec, DaemonSetSpec, StatefulSetSpec, JobSpec: a template. */
static const struct api_smp_field templated_spec_fields[] = {
    {"template", 0, NULL, &pod_template_spec},
    END,
};
static const struct api_smp_type templated_spec = {"Spec",
                                                   templated_spec_fields};

static const struct api_smp_field templated_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    {"spec", 0, NULL, &templated_spec},
    {"status", 0, NULL, &conditions_status},
    END,
};
static const struct api_smp_type templated = {"Workload", templated_fields};

static const struct api_smp_field deployment_spec_fields[] = {
    {"template", 0, NULL, &pod_template_spec},
    {"strategy", R, NULL, NULL},
    END,
};
static const struct api_smp_type deployment_spec = {"DeploymentSpec",
                                                    deployment_spec_fields};

static const struct api_smp_field deployment_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    {"spec", 0, NULL, &deployment_spec},
    {"status", 0, NULL, &conditions_status},
    END,
};
static const struct api_smp_type deployment = {"Deployment", deployment_fields};

static const struct api_smp_field service_spec_fields[] = {
    {"ports", M, "port", NULL},
    END,
};
static const struct api_smp_type service_spec = {"ServiceSpec",
                                                 service_spec_fields};

static const struct api_smp_field service_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    {"spec", 0, NULL, &service_spec},
    {"status", 0, NULL, &conditions_status},
    END,
};
static const struct api_smp_type service = {"Service", service_fields};

static const struct api_smp_field node_spec_fields[] = {
    {"podCIDRs", M, NULL, NULL},
    END,
};
static const struct api_smp_type node_spec = {"NodeSpec", node_spec_fields};

static const struct api_smp_field node_status_fields[] = {
    {"conditions", M, "type", NULL},
    {"addresses", M, "type", NULL},
    END,
};
static const struct api_smp_type node_status = {"NodeStatus",
                                                node_status_fields};

static const struct api_smp_field node_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    {"spec", 0, NULL, &node_spec},
    {"status", 0, NULL, &node_status},
    END,
};
static const struct api_smp_type node = {"Node", node_fields};

static const struct api_smp_field namespace_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    {"status", 0, NULL, &conditions_status},
    END,
};
static const struct api_smp_type namespace_type = {"Namespace",
                                                   namespace_fields};

static const struct api_smp_field service_account_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    {"secrets", M, "name", NULL},
    END,
};
static const struct api_smp_type service_account = {"ServiceAccount",
                                                    service_account_fields};

/* ConfigMap, Secret, Endpoints, Event, Lease: only metadata has strategy. */
static const struct api_smp_field plain_fields[] = {
    {"metadata", 0, NULL, &object_meta},
    END,
};
static const struct api_smp_type plain = {"Object", plain_fields};

#undef M
#undef R
#undef END

static const struct {
    const char *group; /* the apiVersion's group, "" for core */
    const char *kind;
    const struct api_smp_type *type;
} kinds[] = {
    {"", "Pod", &pod},
    {"", "Service", &service},
    {"", "Endpoints", &plain},
    {"", "ConfigMap", &plain},
    {"", "Secret", &plain},
    {"", "Namespace", &namespace_type},
    {"", "Node", &node},
    {"", "Event", &plain},
    {"events.k8s.io", "Event", &plain},
    {"", "ServiceAccount", &service_account},
    {"apps", "Deployment", &deployment},
    {"apps", "ReplicaSet", &templated},
    {"apps", "DaemonSet", &templated},
    {"apps", "StatefulSet", &templated},
    {"batch", "Job", &templated},
    {"coordination.k8s.io", "Lease", &plain},
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

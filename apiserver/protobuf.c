/*
 * DESIGN: a table-driven decoder of the protobuf wire format (Protocol
 * Buffers encoding: varint, 64-bit, length-delimited and 32-bit wire
 * types) for the Kubernetes messages kubectl sends.
 *
 * Each message type is a table of {field number, JSON name, kind, flags,
 * sub-message table}. decode_message walks the bytes once: a tag (a
 * varint: number << 3 | wire type), then the value; fields found in the
 * table are converted into JSON members of the target object, others are
 * skipped by their wire type. Kinds cover what k8s.io/api uses: strings,
 * bytes (base64 in JSON, as Go's encoding/json writes []byte), integers,
 * booleans, nested messages, inline messages (Go embedded structs such as
 * LocalObjectReference inside SecretKeySelector), maps (repeated entry
 * messages {1: key, 2: value}), resource.Quantity {1: string},
 * intstr.IntOrString {1: type, 2: intVal, 3: strVal} and metav1.Time
 * {1: seconds, 2: nanos}.
 *
 * Every read is checked against the end of its enclosing message, so a
 * truncated or lying length is an error, never an overread; recursion only
 * follows the tables, and is also capped at API_PROTOBUF_MAX_DEPTH.
 *
 * Field numbers: k8s.io/api {core,apps,batch,authorization}/v1 and
 * k8s.io/apimachinery meta/v1, runtime, intstr, resource generated.proto
 * (v1.32).
 */
#include "apiserver/protobuf.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/clock.h"
#include "lib/err.h"

enum pb_kind {
    PB_STRING,
    PB_BYTES, /* base64 string */
    PB_INT,   /* int32/int64 varint */
    PB_BOOL,
    PB_MSG,     /* nested object */
    PB_INLINE,  /* embedded struct: members go into the parent */
    PB_MAP_STR, /* map<string,string> */
    PB_MAP_BYTES,
    PB_MAP_QTY, /* map<string,Quantity> */
    PB_QTY,     /* resource.Quantity → string */
    PB_INTSTR,  /* intstr.IntOrString → number or string */
    PB_TIME,    /* metav1.Time → RFC 3339 */
};

#define F_REP 1u  /* repeated: a JSON array */
#define F_KEEP 2u /* a Go pointer: zero/false/empty are values */

struct pb_msg;

struct pb_field {
    unsigned num;
    const char *name;
    enum pb_kind kind;
    unsigned flags;
    const struct pb_msg *msg;
};

struct pb_msg {
    const char *name;
    const struct pb_field *fields; /* ends with num 0 */
};

#define END                                                                    \
    {                                                                          \
        0, NULL, PB_STRING, 0, NULL                                            \
    }
#define MSG(var, ...)                                                          \
    static const struct pb_field var##_f[] = {__VA_ARGS__, END};               \
    static const struct pb_msg var = {#var, var##_f}

/* ---- apimachinery ------------------------------------------------------ */

MSG(owner_reference, {1, "kind", PB_STRING, 0, NULL},
    {3, "name", PB_STRING, 0, NULL}, {4, "uid", PB_STRING, 0, NULL},
    {5, "apiVersion", PB_STRING, 0, NULL},
    {6, "controller", PB_BOOL, F_KEEP, NULL},
    {7, "blockOwnerDeletion", PB_BOOL, F_KEEP, NULL});

MSG(object_meta, {1, "name", PB_STRING, 0, NULL},
    {2, "generateName", PB_STRING, 0, NULL},
    {3, "namespace", PB_STRING, 0, NULL}, {5, "uid", PB_STRING, 0, NULL},
    {6, "resourceVersion", PB_STRING, 0, NULL},
    {7, "generation", PB_INT, 0, NULL},
    {8, "creationTimestamp", PB_TIME, 0, NULL},
    {9, "deletionTimestamp", PB_TIME, 0, NULL},
    {10, "deletionGracePeriodSeconds", PB_INT, F_KEEP, NULL},
    {11, "labels", PB_MAP_STR, 0, NULL},
    {12, "annotations", PB_MAP_STR, 0, NULL},
    {13, "ownerReferences", PB_MSG, F_REP, &owner_reference},
    {14, "finalizers", PB_STRING, F_REP, NULL});

MSG(label_selector_requirement, {1, "key", PB_STRING, 0, NULL},
    {2, "operator", PB_STRING, 0, NULL}, {3, "values", PB_STRING, F_REP, NULL});

MSG(label_selector, {1, "matchLabels", PB_MAP_STR, 0, NULL},
    {2, "matchExpressions", PB_MSG, F_REP, &label_selector_requirement});

MSG(preconditions, {1, "uid", PB_STRING, F_KEEP, NULL},
    {2, "resourceVersion", PB_STRING, F_KEEP, NULL});

MSG(delete_options, {1, "gracePeriodSeconds", PB_INT, F_KEEP, NULL},
    {2, "preconditions", PB_MSG, 0, &preconditions},
    {3, "orphanDependents", PB_BOOL, F_KEEP, NULL},
    {4, "propagationPolicy", PB_STRING, 0, NULL},
    {5, "dryRun", PB_STRING, F_REP, NULL});

/* ---- core/v1 ----------------------------------------------------------- */

MSG(local_object_reference, {1, "name", PB_STRING, 0, NULL});

MSG(object_reference, {1, "kind", PB_STRING, 0, NULL},
    {2, "namespace", PB_STRING, 0, NULL}, {3, "name", PB_STRING, 0, NULL},
    {4, "uid", PB_STRING, 0, NULL}, {5, "apiVersion", PB_STRING, 0, NULL},
    {6, "resourceVersion", PB_STRING, 0, NULL},
    {7, "fieldPath", PB_STRING, 0, NULL});

MSG(object_field_selector, {1, "apiVersion", PB_STRING, 0, NULL},
    {2, "fieldPath", PB_STRING, 0, NULL});

MSG(resource_field_selector, {1, "containerName", PB_STRING, 0, NULL},
    {2, "resource", PB_STRING, 0, NULL}, {3, "divisor", PB_QTY, 0, NULL});

MSG(key_selector, {1, "", PB_INLINE, 0, &local_object_reference},
    {2, "key", PB_STRING, 0, NULL}, {3, "optional", PB_BOOL, F_KEEP, NULL});

MSG(env_var_source, {1, "fieldRef", PB_MSG, 0, &object_field_selector},
    {2, "resourceFieldRef", PB_MSG, 0, &resource_field_selector},
    {3, "configMapKeyRef", PB_MSG, 0, &key_selector},
    {4, "secretKeyRef", PB_MSG, 0, &key_selector});

MSG(env_var, {1, "name", PB_STRING, 0, NULL}, {2, "value", PB_STRING, 0, NULL},
    {3, "valueFrom", PB_MSG, 0, &env_var_source});

MSG(container_port, {1, "name", PB_STRING, 0, NULL},
    {2, "hostPort", PB_INT, 0, NULL}, {3, "containerPort", PB_INT, 0, NULL},
    {4, "protocol", PB_STRING, 0, NULL}, {5, "hostIP", PB_STRING, 0, NULL});

MSG(resource_requirements, {1, "limits", PB_MAP_QTY, 0, NULL},
    {2, "requests", PB_MAP_QTY, 0, NULL});

MSG(volume_mount, {1, "name", PB_STRING, 0, NULL},
    {2, "readOnly", PB_BOOL, 0, NULL}, {3, "mountPath", PB_STRING, 0, NULL},
    {4, "subPath", PB_STRING, 0, NULL});

MSG(container, {1, "name", PB_STRING, 0, NULL},
    {2, "image", PB_STRING, 0, NULL}, {3, "command", PB_STRING, F_REP, NULL},
    {4, "args", PB_STRING, F_REP, NULL}, {5, "workingDir", PB_STRING, 0, NULL},
    {6, "ports", PB_MSG, F_REP, &container_port},
    {7, "env", PB_MSG, F_REP, &env_var},
    {8, "resources", PB_MSG, 0, &resource_requirements},
    {9, "volumeMounts", PB_MSG, F_REP, &volume_mount},
    {13, "terminationMessagePath", PB_STRING, 0, NULL},
    {14, "imagePullPolicy", PB_STRING, 0, NULL},
    {16, "stdin", PB_BOOL, 0, NULL}, {17, "stdinOnce", PB_BOOL, 0, NULL},
    {18, "tty", PB_BOOL, 0, NULL},
    {20, "terminationMessagePolicy", PB_STRING, 0, NULL});

MSG(toleration, {1, "key", PB_STRING, 0, NULL},
    {2, "operator", PB_STRING, 0, NULL}, {3, "value", PB_STRING, 0, NULL},
    {4, "effect", PB_STRING, 0, NULL},
    {5, "tolerationSeconds", PB_INT, F_KEEP, NULL});

MSG(pod_spec, {2, "containers", PB_MSG, F_REP, &container},
    {3, "restartPolicy", PB_STRING, 0, NULL},
    {4, "terminationGracePeriodSeconds", PB_INT, F_KEEP, NULL},
    {5, "activeDeadlineSeconds", PB_INT, F_KEEP, NULL},
    {6, "dnsPolicy", PB_STRING, 0, NULL},
    {7, "nodeSelector", PB_MAP_STR, 0, NULL},
    {8, "serviceAccountName", PB_STRING, 0, NULL},
    {10, "nodeName", PB_STRING, 0, NULL}, {11, "hostNetwork", PB_BOOL, 0, NULL},
    {15, "imagePullSecrets", PB_MSG, F_REP, &local_object_reference},
    {16, "hostname", PB_STRING, 0, NULL}, {17, "subdomain", PB_STRING, 0, NULL},
    {19, "schedulerName", PB_STRING, 0, NULL},
    {20, "initContainers", PB_MSG, F_REP, &container},
    {21, "automountServiceAccountToken", PB_BOOL, F_KEEP, NULL},
    {22, "tolerations", PB_MSG, F_REP, &toleration},
    {24, "priorityClassName", PB_STRING, 0, NULL},
    {25, "priority", PB_INT, F_KEEP, NULL},
    {30, "enableServiceLinks", PB_BOOL, F_KEEP, NULL});

MSG(pod_template_spec, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "spec", PB_MSG, 0, &pod_spec});

MSG(pod, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "spec", PB_MSG, 0, &pod_spec});

MSG(namespace_spec, {1, "finalizers", PB_STRING, F_REP, NULL});

MSG(namespace, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "spec", PB_MSG, 0, &namespace_spec});

MSG(config_map, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "data", PB_MAP_STR, 0, NULL}, {3, "binaryData", PB_MAP_BYTES, 0, NULL},
    {4, "immutable", PB_BOOL, F_KEEP, NULL});

MSG(secret, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "data", PB_MAP_BYTES, 0, NULL}, {3, "type", PB_STRING, 0, NULL},
    {4, "stringData", PB_MAP_STR, 0, NULL},
    {5, "immutable", PB_BOOL, F_KEEP, NULL});

MSG(service_port, {1, "name", PB_STRING, 0, NULL},
    {2, "protocol", PB_STRING, 0, NULL}, {3, "port", PB_INT, 0, NULL},
    {4, "targetPort", PB_INTSTR, 0, NULL}, {5, "nodePort", PB_INT, 0, NULL},
    {6, "appProtocol", PB_STRING, 0, NULL});

MSG(service_spec, {1, "ports", PB_MSG, F_REP, &service_port},
    {2, "selector", PB_MAP_STR, 0, NULL}, {3, "clusterIP", PB_STRING, 0, NULL},
    {4, "type", PB_STRING, 0, NULL}, {5, "externalIPs", PB_STRING, F_REP, NULL},
    {7, "sessionAffinity", PB_STRING, 0, NULL},
    {8, "loadBalancerIP", PB_STRING, 0, NULL},
    {10, "externalName", PB_STRING, 0, NULL},
    {11, "externalTrafficPolicy", PB_STRING, 0, NULL},
    {13, "publishNotReadyAddresses", PB_BOOL, 0, NULL},
    {17, "ipFamilyPolicy", PB_STRING, 0, NULL},
    {18, "clusterIPs", PB_STRING, F_REP, NULL},
    {19, "ipFamilies", PB_STRING, F_REP, NULL},
    {20, "allocateLoadBalancerNodePorts", PB_BOOL, F_KEEP, NULL},
    {21, "loadBalancerClass", PB_STRING, 0, NULL},
    {22, "internalTrafficPolicy", PB_STRING, 0, NULL});

MSG(service, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "spec", PB_MSG, 0, &service_spec});

MSG(service_account, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "secrets", PB_MSG, F_REP, &object_reference},
    {3, "imagePullSecrets", PB_MSG, F_REP, &local_object_reference},
    {4, "automountServiceAccountToken", PB_BOOL, F_KEEP, NULL});

/* ---- apps/v1, batch/v1 -------------------------------------------------- */

MSG(rolling_update_deployment, {1, "maxUnavailable", PB_INTSTR, 0, NULL},
    {2, "maxSurge", PB_INTSTR, 0, NULL});

MSG(deployment_strategy, {1, "type", PB_STRING, 0, NULL},
    {2, "rollingUpdate", PB_MSG, 0, &rolling_update_deployment});

MSG(deployment_spec, {1, "replicas", PB_INT, F_KEEP, NULL},
    {2, "selector", PB_MSG, 0, &label_selector},
    {3, "template", PB_MSG, 0, &pod_template_spec},
    {4, "strategy", PB_MSG, 0, &deployment_strategy},
    {5, "minReadySeconds", PB_INT, 0, NULL},
    {6, "revisionHistoryLimit", PB_INT, F_KEEP, NULL},
    {7, "paused", PB_BOOL, 0, NULL},
    {9, "progressDeadlineSeconds", PB_INT, F_KEEP, NULL});

MSG(deployment, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "spec", PB_MSG, 0, &deployment_spec});

MSG(job_spec, {1, "parallelism", PB_INT, F_KEEP, NULL},
    {2, "completions", PB_INT, F_KEEP, NULL},
    {3, "activeDeadlineSeconds", PB_INT, F_KEEP, NULL},
    {4, "selector", PB_MSG, 0, &label_selector},
    {5, "manualSelector", PB_BOOL, F_KEEP, NULL},
    {6, "template", PB_MSG, 0, &pod_template_spec},
    {7, "backoffLimit", PB_INT, F_KEEP, NULL},
    {8, "ttlSecondsAfterFinished", PB_INT, F_KEEP, NULL},
    {9, "completionMode", PB_STRING, 0, NULL},
    {10, "suspend", PB_BOOL, F_KEEP, NULL});

MSG(job, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "spec", PB_MSG, 0, &job_spec});

/* ---- authorization/v1 --------------------------------------------------- */

MSG(selector_attributes, {1, "rawSelector", PB_STRING, 0, NULL});

MSG(resource_attributes, {1, "namespace", PB_STRING, 0, NULL},
    {2, "verb", PB_STRING, 0, NULL}, {3, "group", PB_STRING, 0, NULL},
    {4, "version", PB_STRING, 0, NULL}, {5, "resource", PB_STRING, 0, NULL},
    {6, "subresource", PB_STRING, 0, NULL}, {7, "name", PB_STRING, 0, NULL},
    {8, "fieldSelector", PB_MSG, 0, &selector_attributes},
    {9, "labelSelector", PB_MSG, 0, &selector_attributes});

MSG(non_resource_attributes, {1, "path", PB_STRING, 0, NULL},
    {2, "verb", PB_STRING, 0, NULL});

MSG(ssar_spec, {1, "resourceAttributes", PB_MSG, 0, &resource_attributes},
    {2, "nonResourceAttributes", PB_MSG, 0, &non_resource_attributes});

MSG(self_subject_access_review, {1, "metadata", PB_MSG, 0, &object_meta},
    {2, "spec", PB_MSG, 0, &ssar_spec});

/* ---- runtime.Unknown ----------------------------------------------------- */

#undef MSG
#undef END

static const struct {
    const char *group; /* apiVersion's group; NULL: any (DeleteOptions) */
    const char *kind;
    const struct pb_msg *msg;
} kinds[] = {
    {"", "Namespace", &namespace},
    {"", "ConfigMap", &config_map},
    {"", "Secret", &secret},
    {"", "Service", &service},
    {"", "Pod", &pod},
    {"", "ServiceAccount", &service_account},
    {"apps", "Deployment", &deployment},
    {"batch", "Job", &job},
    {NULL, "DeleteOptions", &delete_options},
    {"authorization.k8s.io", "SelfSubjectAccessReview",
     &self_subject_access_review},
};

/* ---- wire format ----------------------------------------------------------
 */

struct rd {
    const uint8_t *p, *end;
};

struct dec {
    char *errbuf;
    size_t errlen;
};

static int bad(struct dec *d, const char *what, const char *msg)
{
    if (d->errbuf != NULL && d->errlen > 0)
        snprintf(d->errbuf, d->errlen, "protobuf body: %s: %s", what, msg);
    return K1S_EBADREQ;
}

static int nomem(struct dec *d)
{
    if (d->errbuf != NULL && d->errlen > 0)
        snprintf(d->errbuf, d->errlen, "protobuf body: out of memory");
    return K1S_ENOMEM;
}

static bool read_varint(struct rd *r, uint64_t *ret)
{
    uint64_t v = 0;

    for (int shift = 0; shift < 70; shift += 7) {
        uint8_t b;
        if (r->p >= r->end)
            return false;
        b = *r->p++;
        if (shift == 63 && b > 1)
            return false; /* more than 64 bits */
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *ret = v;
            return true;
        }
    }
    return false;
}

/* A length-delimited value: *sub covers it, r moves past it. */
static bool read_bytes(struct rd *r, struct rd *sub)
{
    uint64_t n;

    if (!read_varint(r, &n) || n > (uint64_t)(r->end - r->p))
        return false;
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return true;
}

static bool skip_value(struct rd *r, unsigned wt)
{
    uint64_t v;
    struct rd sub;

    switch (wt) {
    case 0:
        return read_varint(r, &v);
    case 1:
        if (r->end - r->p < 8)
            return false;
        r->p += 8;
        return true;
    case 2:
        return read_bytes(r, &sub);
    case 5:
        if (r->end - r->p < 4)
            return false;
        r->p += 4;
        return true;
    default: /* groups (3, 4) are not used by Kubernetes */
        return false;
    }
}

/* Reads a tag; false at a malformed one. */
static bool read_tag(struct rd *r, unsigned *num, unsigned *wt)
{
    uint64_t t;

    if (!read_varint(r, &t) || (t >> 3) == 0 || (t >> 3) > 0x1fffffff)
        return false;
    *num = (unsigned)(t >> 3);
    *wt = (unsigned)(t & 7);
    return true;
}

static json_t *b64(const uint8_t *p, size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t olen = 4 * ((n + 2) / 3);
    char *o = malloc(olen + 1);
    json_t *s;
    size_t i, j = 0;

    if (o == NULL)
        return NULL;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        o[j++] = tab[v >> 18];
        o[j++] = tab[(v >> 12) & 63];
        o[j++] = tab[(v >> 6) & 63];
        o[j++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        o[j++] = tab[v >> 18];
        o[j++] = tab[(v >> 12) & 63];
        o[j++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        o[j++] = '=';
    }
    o[j] = '\0';
    s = json_stringn(o, j);
    free(o);
    return s;
}

/* A protobuf string is UTF-8; jansson refuses anything else, so invalid
 * text is a malformed body rather than a crash or a silent change. */
static int str_value(struct dec *d, const struct rd *v, const char *name,
                     json_t **ret)
{
    *ret = json_stringn((const char *)v->p, (size_t)(v->end - v->p));
    if (*ret == NULL)
        return bad(d, name, "string is not valid UTF-8");
    return 0;
}

static int decode_message(struct dec *d, struct rd r, const struct pb_msg *m,
                          json_t *obj, int depth);

/* The entries {1: key, 2: value} of a map field into obj[name]. */
static int decode_map_entry(struct dec *d, struct rd r,
                            const struct pb_field *f, json_t *map, int depth)
{
    json_t *key = NULL, *val = NULL;
    unsigned num, wt;
    struct rd v;
    int rv = 0;

    while (r.p < r.end && rv == 0) {
        if (!read_tag(&r, &num, &wt)) {
            rv = bad(d, f->name, "malformed map entry");
            break;
        }
        if ((num == 1 || num == 2) && wt != 2) {
            rv = bad(d, f->name, "wrong wire type in map entry");
            break;
        }
        if (num != 1 && num != 2) {
            if (!skip_value(&r, wt))
                rv = bad(d, f->name, "truncated map entry");
            continue;
        }
        if (!read_bytes(&r, &v)) {
            rv = bad(d, f->name, "length past the end of the map entry");
            break;
        }
        if (num == 1) {
            json_decref(key);
            rv = str_value(d, &v, f->name, &key);
            continue;
        }
        json_decref(val);
        val = NULL;
        if (f->kind == PB_MAP_STR) {
            rv = str_value(d, &v, f->name, &val);
        } else if (f->kind == PB_MAP_BYTES) {
            val = b64(v.p, (size_t)(v.end - v.p));
            if (val == NULL)
                rv = nomem(d);
        } else { /* PB_MAP_QTY: Quantity {1: string} */
            static const struct pb_field qf[] = {
                {1, "string", PB_STRING, 0, NULL},
                {0, NULL, PB_STRING, 0, NULL}};
            static const struct pb_msg qm = {"Quantity", qf};
            json_t *q = json_object();
            if (q == NULL) {
                rv = nomem(d);
                break;
            }
            rv = decode_message(d, v, &qm, q, depth + 1);
            if (rv == 0) {
                const char *s = json_string_value(json_object_get(q, "string"));
                val = json_string(s ? s : "0");
            }
            json_decref(q);
        }
    }
    if (rv == 0) {
        if (val == NULL)
            val = f->kind == PB_MAP_QTY ? json_string("0") : json_string("");
        if (val == NULL)
            rv = nomem(d);
        else if (json_object_set(map, key ? json_string_value(key) : "", val) !=
                 0)
            rv = nomem(d);
    }
    json_decref(key);
    json_decref(val);
    return rv;
}

/* Stores v under f->name in obj (appending for repeated fields). Takes
 * the reference. */
static int put(struct dec *d, json_t *obj, const struct pb_field *f, json_t *v)
{
    json_t *arr;

    if (v == NULL)
        return nomem(d);
    if (!(f->flags & F_REP))
        return json_object_set_new(obj, f->name, v) ? nomem(d) : 0;
    arr = json_object_get(obj, f->name);
    if (arr == NULL) {
        arr = json_array();
        if (arr == NULL || json_object_set_new(obj, f->name, arr) != 0) {
            json_decref(v);
            return nomem(d);
        }
    }
    return json_array_append_new(arr, v) ? nomem(d) : 0;
}

static int decode_field(struct dec *d, struct rd *r, unsigned wt,
                        const struct pb_field *f, json_t *obj, int depth)
{
    bool keep = (f->flags & (F_KEEP | F_REP)) != 0;
    uint64_t u;
    struct rd v;
    json_t *sub;
    int rv;

    if (f->kind == PB_INT || f->kind == PB_BOOL) {
        if (wt == 2 && (f->flags & F_REP)) /* packed: not used by k8s */
            return bad(d, f->name, "packed repeated scalars");
        if (wt != 0)
            return bad(d, f->name, "wrong wire type");
        if (!read_varint(r, &u))
            return bad(d, f->name, "truncated varint");
        if (u == 0 && !keep)
            return 0;
        if (f->kind == PB_BOOL)
            return put(d, obj, f, json_boolean(u != 0));
        return put(d, obj, f, json_integer((json_int_t)(int64_t)u));
    }
    if (wt != 2)
        return bad(d, f->name, "wrong wire type");
    if (!read_bytes(r, &v))
        return bad(d, f->name, "length past the end of the message");

    switch (f->kind) {
    case PB_STRING:
        if (v.p == v.end && !keep)
            return 0;
        rv = str_value(d, &v, f->name, &sub);
        return rv ? rv : put(d, obj, f, sub);
    case PB_BYTES:
        return put(d, obj, f, b64(v.p, (size_t)(v.end - v.p)));
    case PB_INLINE:
        return decode_message(d, v, f->msg, obj, depth + 1);
    case PB_MAP_STR:
    case PB_MAP_BYTES:
    case PB_MAP_QTY:
        sub = json_object_get(obj, f->name);
        if (sub == NULL) {
            sub = json_object();
            if (sub == NULL || json_object_set_new(obj, f->name, sub) != 0)
                return nomem(d);
        }
        return decode_map_entry(d, v, f, sub, depth + 1);
    default:
        break;
    }

    /* a nested message: decode, convert the special ones, drop empties */
    sub = json_object();
    if (sub == NULL)
        return nomem(d);
    if (f->kind == PB_MSG && !(f->flags & F_REP)) {
        /* a message field seen twice merges (protobuf semantics) */
        json_t *old = json_object_get(obj, f->name);
        if (json_is_object(old))
            json_object_update(sub, old);
    }
    {
        static const struct pb_field qf[] = {{1, "s", PB_STRING, 0, NULL},
                                             {0, NULL, PB_STRING, 0, NULL}};
        static const struct pb_field isf[] = {{1, "type", PB_INT, 0, NULL},
                                              {2, "intVal", PB_INT, 0, NULL},
                                              {3, "strVal", PB_STRING, 0, NULL},
                                              {0, NULL, PB_STRING, 0, NULL}};
        static const struct pb_field tf[] = {{1, "seconds", PB_INT, 0, NULL},
                                             {2, "nanos", PB_INT, 0, NULL},
                                             {0, NULL, PB_STRING, 0, NULL}};
        static const struct pb_msg qm = {"Quantity", qf};
        static const struct pb_msg ism = {"IntOrString", isf};
        static const struct pb_msg tm = {"Time", tf};
        const struct pb_msg *m = f->kind == PB_QTY      ? &qm
                                 : f->kind == PB_INTSTR ? &ism
                                 : f->kind == PB_TIME   ? &tm
                                                        : f->msg;
        rv = decode_message(d, v, m, sub, depth + 1);
    }
    if (rv != 0) {
        json_decref(sub);
        return rv;
    }
    if (f->kind == PB_QTY) {
        json_t *s = json_incref(json_object_get(sub, "s"));
        json_decref(sub);
        return s ? put(d, obj, f, s) : 0;
    }
    if (f->kind == PB_INTSTR) {
        json_int_t type = json_integer_value(json_object_get(sub, "type"));
        json_t *val = type == 1 ? json_object_get(sub, "strVal")
                                : json_object_get(sub, "intVal");
        if (val == NULL)
            val = type == 1 ? json_string("") : json_integer(0);
        else
            json_incref(val);
        json_decref(sub);
        return put(d, obj, f, val);
    }
    if (f->kind == PB_TIME) {
        json_int_t secs = json_integer_value(json_object_get(sub, "seconds"));
        char ts[32];
        json_decref(sub);
        if (secs == 0)
            return 0; /* the zero Time is "unset" (null in JSON) */
        if (secs < 0 || secs > 9000000000ll)
            return bad(d, f->name, "time out of range");
        clock_rfc3339((int64_t)secs * 1000000000ll, ts, sizeof ts);
        return put(d, obj, f, json_string(ts));
    }
    if (json_object_size(sub) == 0 && !keep) {
        json_decref(sub);
        return 0;
    }
    return put(d, obj, f, sub);
}

static int decode_message(struct dec *d, struct rd r, const struct pb_msg *m,
                          json_t *obj, int depth)
{
    unsigned num, wt;
    int rv;

    if (depth > API_PROTOBUF_MAX_DEPTH)
        return bad(d, m->name, "nesting too deep");
    while (r.p < r.end) {
        const struct pb_field *f = NULL;

        if (!read_tag(&r, &num, &wt))
            return bad(d, m->name, "malformed field tag");
        for (const struct pb_field *g = m->fields; g->num != 0; g++) {
            if (g->num == num) {
                f = g;
                break;
            }
        }
        if (f == NULL) {
            if (!skip_value(&r, wt))
                return bad(d, m->name, "truncated or malformed field");
            continue;
        }
        rv = decode_field(d, &r, wt, f, obj, depth);
        if (rv != 0)
            return rv;
    }
    return 0;
}

int api_protobuf_decode(const void *data, size_t len, json_t **ret,
                        char *errbuf, size_t errlen)
{
    static const struct pb_field tmf[] = {{1, "apiVersion", PB_STRING, 0, NULL},
                                          {2, "kind", PB_STRING, 0, NULL},
                                          {0, NULL, PB_STRING, 0, NULL}};
    static const struct pb_msg tm = {"TypeMeta", tmf};
    static const struct pb_field uf[] = {
        {1, "typeMeta", PB_MSG, 0, &tm},
        {3, "contentEncoding", PB_STRING, 0, NULL},
        {4, "contentType", PB_STRING, 0, NULL},
        {0, NULL, PB_STRING, 0, NULL}};
    static const struct pb_msg um = {"Unknown", uf};
    struct dec d = {errbuf, errlen};
    struct rd r, raw = {NULL, NULL};
    const char *av, *kind, *enc, *slash;
    const struct pb_msg *m = NULL;
    json_t *unk, *obj;
    unsigned num, wt;
    size_t glen;
    int rv;

    if (data == NULL || len < 4 || memcmp(data, "k8s\0", 4) != 0)
        return bad(&d, "envelope", "missing the \"k8s\\0\" prefix");
    r.p = (const uint8_t *)data + 4;
    r.end = (const uint8_t *)data + len;

    /* find raw (field 2) and decode the rest of runtime.Unknown */
    unk = json_object();
    if (unk == NULL)
        return nomem(&d);
    {
        struct rd scan = r;
        while (scan.p < scan.end) {
            if (!read_tag(&scan, &num, &wt)) {
                rv = bad(&d, "envelope", "malformed field tag");
                goto err_after_unk;
            }
            if (num == 2 && wt == 2) {
                if (!read_bytes(&scan, &raw)) {
                    rv = bad(&d, "envelope", "raw length past the end");
                    goto err_after_unk;
                }
            } else if (!skip_value(&scan, wt)) {
                rv = bad(&d, "envelope", "truncated field");
                goto err_after_unk;
            }
        }
    }
    rv = decode_message(&d, r, &um, unk, 0);
    if (rv != 0)
        goto err_after_unk;
    av = json_string_value(
        json_object_get(json_object_get(unk, "typeMeta"), "apiVersion"));
    kind = json_string_value(
        json_object_get(json_object_get(unk, "typeMeta"), "kind"));
    enc = json_string_value(json_object_get(unk, "contentEncoding"));
    if (av == NULL || kind == NULL) {
        rv = bad(&d, "envelope", "no apiVersion/kind in typeMeta");
        goto err_after_unk;
    }
    if (enc != NULL && enc[0] != '\0') {
        if (errbuf != NULL && errlen > 0)
            snprintf(errbuf, errlen,
                     "protobuf body: content encoding \"%s\" is not "
                     "supported",
                     enc);
        rv = K1S_EMEDIA;
        goto err_after_unk;
    }
    slash = strchr(av, '/');
    glen = slash ? (size_t)(slash - av) : 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, kind) != 0)
            continue;
        if (kinds[i].group == NULL ||
            (strlen(kinds[i].group) == glen &&
             strncmp(kinds[i].group, av, glen) == 0)) {
            m = kinds[i].msg;
            break;
        }
    }
    if (m == NULL) {
        if (errbuf != NULL && errlen > 0)
            snprintf(errbuf, errlen,
                     "protobuf bodies of %s %s are not supported; send "
                     "application/json",
                     av, kind);
        rv = K1S_EMEDIA;
        goto err_after_unk;
    }
    obj = json_pack("{s:s, s:s}", "apiVersion", av, "kind", kind);
    if (obj == NULL) {
        rv = nomem(&d);
        goto err_after_unk;
    }
    if (raw.p != NULL) {
        rv = decode_message(&d, raw, m, obj, 1);
        if (rv != 0) {
            json_decref(obj);
            goto err_after_unk;
        }
    }
    json_decref(unk);
    *ret = obj;
    return 0;

err_after_unk:
    json_decref(unk);
    return rv;
}

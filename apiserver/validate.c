/*
 * DESIGN: validation and defaulting for the fields k1s uses, with
 * Kubernetes's messages (k8s.io/apimachinery validation, the kinds'
 * validation.go and defaults.go as documented in the API reference).
 *
 * Causes are collected into a list of {reason, message, field}, as
 * field.ErrorList does; api_resp_invalid turns them into the 422 Invalid
 * Status whose message is "<Kind> \"<name>\" is invalid: <cause>[, ...]"
 * (one cause) or "[cause, cause]" (several), as kubectl prints it.
 *
 * Defaulting runs before validation on create and update; it only adds
 * what is absent, so applying the same manifest twice gives the same
 * object (generation does not move).
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/err.h"

/* --- causes ------------------------------------------------------------- */

void api_errs_init(struct api_errs *e)
{
    e->causes = json_array();
    e->n = 0;
}

void api_errs_close(struct api_errs *e)
{
    json_decref(e->causes);
    e->causes = NULL;
}

/* reason is the cause type: FieldValueRequired, FieldValueInvalid, ... */
void api_errs_add(struct api_errs *e, const char *reason, const char *field,
                  const char *fmt, ...)
{
    char msg[768];
    va_list ap;

    if (e->n >= API_CAUSES_MAX)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    json_array_append_new(e->causes,
                          json_pack("{s:s, s:s, s:s}", "reason", reason,
                                    "message", msg, "field", field));
    e->n++;
}

static void add_required(struct api_errs *e, const char *field,
                         const char *detail)
{
    if (detail && *detail)
        api_errs_add(e, "FieldValueRequired", field, "Required value: %s",
                     detail);
    else
        api_errs_add(e, "FieldValueRequired", field, "Required value");
}

static void add_invalid(struct api_errs *e, const char *field,
                        const char *value, const char *detail)
{
    api_errs_add(e, "FieldValueInvalid", field, "Invalid value: \"%s\": %s",
                 value, detail);
}

void api_resp_invalid(struct api_resp *o, const struct api_resource *res,
                      const char *name, struct api_errs *e)
{
    char msg[2048];
    size_t len;
    json_t *c;
    size_t i;

    len = (size_t)snprintf(msg, sizeof msg, "%s \"%s\" is invalid: %s",
                           res->kind, name ? name : "", e->n > 1 ? "[" : "");
    json_array_foreach (e->causes, i, c) {
        if (len >= sizeof msg)
            break;
        len += (size_t)snprintf(
            msg + len, sizeof msg - len, "%s%s: %s", i ? ", " : "",
            json_string_value(json_object_get(c, "field")),
            json_string_value(json_object_get(c, "message")));
    }
    if (e->n > 1 && len < sizeof msg)
        snprintf(msg + len, sizeof msg - len, "]");
    api_resp_json(
        o, 422,
        api_status_new(K1S_EINVALID, msg,
                       json_pack("{s:s, s:s, s:s, s:O}", "name",
                                 name ? name : "", "group", res->group, "kind",
                                 res->kind, "causes", e->causes)));
}

/* --- names ------------------------------------------------------------- */

bool api_is_dns1123_label(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i < n - 1))
            return false;
    }
    return true;
}

bool api_is_dns1123_subdomain(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char part[256];
    const char *p = s;

    if (n == 0 || n > 253)
        return false;
    while (p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l >= sizeof part)
            return false;
        memcpy(part, p, l);
        part[l] = '\0';
        if (!api_is_dns1123_label(part))
            return false;
        p = dot ? dot + 1 : NULL;
    }
    return true;
}

static const char msg_subdomain[] =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
    "characters, '-' or '.', and must start and end with an alphanumeric "
    "character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
static const char msg_label[] =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric "
    "characters or '-', and must start and end with an alphanumeric "
    "character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

static bool label_value_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return true;
    if (n > 63 || !isalnum((unsigned char)s[0]) ||
        !isalnum((unsigned char)s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
            return false;
    return true;
}

static bool prefix_ok(const char *s)
{
    const char *slash = strrchr(s, '/');
    char buf[300];
    if (slash == NULL)
        return true;
    if ((size_t)(slash - s) >= sizeof buf)
        return false;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    return api_is_dns1123_subdomain(buf);
}

static bool qualified_name_ok(const char *s)
{
    const char *slash = strrchr(s, '/');
    const char *name = slash ? slash + 1 : s;
    size_t n = strlen(name);

    if (!prefix_ok(s))
        return false;
    if (n == 0 || n > 63 || !isalnum((unsigned char)name[0]) ||
        !isalnum((unsigned char)name[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)name[i]) && !strchr("-_.", name[i]))
            return false;
    return true;
}

void api_validate_meta(const struct api_resource *res, const json_t *obj,
                       struct api_errs *e)
{
    const json_t *m = json_object_get(obj, "metadata");
    const char *name = json_string_value(json_object_get(m, "name"));
    const json_t *labels = json_object_get(m, "labels");
    const json_t *ann = json_object_get(m, "annotations");
    const char *k;
    json_t *v;
    char field[400];
    bool label_rule = strcmp(res->resource, "namespaces") == 0 ||
                      strcmp(res->resource, "services") == 0;

    if (name == NULL || *name == '\0')
        add_required(e, "metadata.name", "name or generateName is required");
    else if (label_rule ? !api_is_dns1123_label(name)
                        : !api_is_dns1123_subdomain(name))
        add_invalid(e, "metadata.name", name,
                    label_rule ? msg_label : msg_subdomain);
    if (labels && !json_is_object(labels))
        api_errs_add(e, "FieldValueTypeInvalid", "metadata.labels",
                     "Invalid value: must be a map of strings");
    json_object_foreach ((json_t *)labels, k, v) {
        snprintf(field, sizeof field, "metadata.labels");
        if (!qualified_name_ok(k))
            add_invalid(e, field, k,
                        "name part must consist of alphanumeric characters, "
                        "'-', '_' or '.', and must start and end with an "
                        "alphanumeric character (e.g. 'MyName',  or "
                        "'my.name',  or '123-abc', regex used for "
                        "validation is "
                        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')");
        else if (!json_is_string(v) || !label_value_ok(json_string_value(v)))
            add_invalid(e, field, json_is_string(v) ? json_string_value(v) : "",
                        "a valid label must be an empty string or consist of "
                        "alphanumeric characters, '-', '_' or '.', and must "
                        "start and end with an alphanumeric character (e.g. "
                        "'MyValue',  or 'my_value',  or '12345', regex used "
                        "for validation is "
                        "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')");
    }
    json_object_foreach ((json_t *)ann, k, v) {
        if (!qualified_name_ok(k))
            add_invalid(e, "metadata.annotations", k,
                        "name part must consist of alphanumeric characters, "
                        "'-', '_' or '.', and must start and end with an "
                        "alphanumeric character");
        else if (!json_is_string(v))
            api_errs_add(e, "FieldValueTypeInvalid", "metadata.annotations",
                         "Invalid value: annotation values must be strings");
    }
    if (json_dumpb(ann, NULL, 0, JSON_COMPACT) > 256 * 1024)
        api_errs_add(e, "FieldValueTooLong", "metadata.annotations",
                     "Too long: must have at most 262144 bytes");
}

/* --- unknown fields (strict decoding) --------------------------------- */

static const char *const meta_keys[] = {"name",
                                        "generateName",
                                        "namespace",
                                        "selfLink",
                                        "uid",
                                        "resourceVersion",
                                        "generation",
                                        "creationTimestamp",
                                        "deletionTimestamp",
                                        "deletionGracePeriodSeconds",
                                        "labels",
                                        "annotations",
                                        "ownerReferences",
                                        "finalizers",
                                        "managedFields",
                                        NULL};

static bool in_list(const char *const *l, const char *k)
{
    for (size_t i = 0; l && l[i]; i++)
        if (strcmp(l[i], k) == 0)
            return true;
    return false;
}

size_t api_unknown_fields(const struct api_resource *res, const json_t *obj,
                          char *out, size_t len)
{
    const char *k;
    json_t *v;
    size_t n = 0, used = 0;

    out[0] = '\0';
    json_object_foreach ((json_t *)obj, k, v) {
        if (in_list(res->top_keys, k))
            continue;
        if (used < len)
            used +=
                (size_t)snprintf(out + used, len - used,
                                 "%sunknown field \"%s\"", n ? ", " : "", k);
        n++;
    }
    json_object_foreach (json_object_get(obj, "metadata"), k, v) {
        if (in_list(meta_keys, k))
            continue;
        if (used < len)
            used += (size_t)snprintf(out + used, len - used,
                                     "%sunknown field \"metadata.%s\"",
                                     n ? ", " : "", k);
        n++;
    }
    return n;
}

/* --- helpers ------------------------------------------------------------ */

static const char *sv(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

static json_t *or_null(json_t *v)
{
    return v ? v : json_null();
}

static json_t *obj_at(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_object(v)) {
        v = json_object();
        json_object_set_new(o, key, v);
    }
    return v;
}

static void set_default(json_t *o, const char *key, json_t *v)
{
    if (json_object_get(o, key) == NULL)
        json_object_set_new(o, key, v);
    else
        json_decref(v);
}

static bool quantity_ok(const char *s)
{
    struct api_quantity q;
    return api_quantity_parse(s, &q) == 0;
}

/* --- pods ------------------------------------------------------------- */

static void defaults_container(json_t *c)
{
    const char *image = json_string_value(json_object_get(c, "image"));
    size_t i;
    json_t *p;

    set_default(c, "terminationMessagePath",
                json_string("/dev/termination-log"));
    set_default(c, "terminationMessagePolicy", json_string("File"));
    if (image) {
        const char *slash = strrchr(image, '/');
        const char *tag = strchr(slash ? slash : image, ':');
        bool latest = (tag == NULL || strcmp(tag, ":latest") == 0) &&
                      strchr(image, '@') == NULL;
        set_default(c, "imagePullPolicy",
                    json_string(latest ? "Always" : "IfNotPresent"));
    }
    set_default(c, "resources", json_object());
    static const char *const probes[] = {"livenessProbe", "readinessProbe",
                                         "startupProbe"};
    for (size_t k = 0; k < 3; k++) {
        json_t *pr = json_object_get(c, probes[k]);
        if (!json_is_object(pr))
            continue;
        set_default(pr, "timeoutSeconds", json_integer(1));
        set_default(pr, "periodSeconds", json_integer(10));
        set_default(pr, "successThreshold", json_integer(1));
        set_default(pr, "failureThreshold", json_integer(3));
        if (json_is_object(json_object_get(pr, "httpGet")))
            set_default(json_object_get(pr, "httpGet"), "scheme",
                        json_string("HTTP"));
    }
    json_array_foreach (json_object_get(c, "ports"), i, p) {
        if (json_is_object(p))
            set_default(p, "protocol", json_string("TCP"));
    }
    /* SetDefaults_ObjectFieldSelector: a fieldRef's apiVersion is "v1"
     * (kubectl describe resolves the value only when it is set) */
    json_array_foreach (json_object_get(c, "env"), i, p) {
        json_t *fr =
            json_object_get(json_object_get(p, "valueFrom"), "fieldRef");
        if (json_is_object(fr))
            set_default(fr, "apiVersion", json_string("v1"));
    }
}

static const char *qos_class(const json_t *spec)
{
    size_t i;
    json_t *c;
    bool any = false, all_guaranteed = true;

    json_array_foreach (json_object_get(spec, "containers"), i, c) {
        json_t *r = json_object_get(c, "resources");
        json_t *req = json_object_get(r, "requests");
        json_t *lim = json_object_get(r, "limits");
        if (json_object_size(req) || json_object_size(lim))
            any = true;
        json_t *lc = json_object_get(lim, "cpu"),
               *lm = json_object_get(lim, "memory");
        if (!lc || !lm)
            all_guaranteed = false;
        json_t *rc = json_object_get(req, "cpu"),
               *rm = json_object_get(req, "memory");
        if ((rc && lc && !json_equal(rc, lc)) ||
            (rm && lm && !json_equal(rm, lm)))
            all_guaranteed = false;
    }
    if (!any)
        return "BestEffort";
    return all_guaranteed ? "Guaranteed" : "Burstable";
}

static void defaults_pod_spec(json_t *spec, bool is_template)
{
    size_t i;
    json_t *c;

    set_default(spec, "restartPolicy", json_string("Always"));
    set_default(spec, "terminationGracePeriodSeconds", json_integer(30));
    set_default(spec, "dnsPolicy", json_string("ClusterFirst"));
    set_default(spec, "securityContext", json_object());
    set_default(spec, "schedulerName", json_string("default-scheduler"));
    if (!is_template) {
        set_default(spec, "serviceAccountName", json_string("default"));
        set_default(spec, "serviceAccount",
                    json_string(json_string_value(
                        json_object_get(spec, "serviceAccountName"))));
        set_default(spec, "enableServiceLinks", json_true());
        set_default(spec, "priority", json_integer(0));
        set_default(spec, "preemptionPolicy",
                    json_string("PreemptLowerPriority"));
    }
    json_array_foreach (json_object_get(spec, "containers"), i, c) {
        if (json_is_object(c))
            defaults_container(c);
    }
    json_array_foreach (json_object_get(spec, "initContainers"), i, c) {
        if (json_is_object(c))
            defaults_container(c);
    }
    json_array_foreach (json_object_get(spec, "volumes"), i, c) {
        json_t *item;
        size_t j;
        json_array_foreach (
            json_object_get(json_object_get(c, "downwardAPI"), "items"), j,
            item) {
            json_t *fr = json_object_get(item, "fieldRef");
            if (json_is_object(fr))
                set_default(fr, "apiVersion", json_string("v1"));
        }
    }
}

/* Does any toleration in `tols` tolerate NoExecute taints with `key`? */
static bool tolerates_noexecute(const json_t *tols, const char *key)
{
    size_t i;
    json_t *t;
    json_array_foreach (tols, i, t) {
        const char *k = json_string_value(json_object_get(t, "key"));
        const char *eff = json_string_value(json_object_get(t, "effect"));
        const char *op = json_string_value(json_object_get(t, "operator"));
        bool key_ok = (k == NULL || *k == '\0')
                          ? (op != NULL && strcmp(op, "Exists") == 0)
                          : strcmp(k, key) == 0;
        if (key_ok &&
            (eff == NULL || *eff == '\0' || strcmp(eff, "NoExecute") == 0))
            return true;
    }
    return false;
}

void api_admit_pod_tolerations(json_t *pod, int64_t not_ready_s,
                               int64_t unreachable_s)
{
    static const char *const keys[] = {"node.kubernetes.io/not-ready",
                                       "node.kubernetes.io/unreachable"};
    json_t *spec = json_object_get(pod, "spec");
    json_t *tols;

    if (!json_is_object(spec))
        return;
    tols = json_object_get(spec, "tolerations");
    if (!json_is_array(tols)) {
        tols = json_array();
        json_object_set_new(spec, "tolerations", tols);
    }
    for (int i = 0; i < 2; i++) {
        if (tolerates_noexecute(tols, keys[i]))
            continue;
        json_array_append_new(
            tols,
            json_pack("{s:s, s:s, s:s, s:I}", "key", keys[i], "operator",
                      "Exists", "effect", "NoExecute", "tolerationSeconds",
                      (json_int_t)(i == 0 ? not_ready_s : unreachable_s)));
    }
}

void api_defaults_pod(json_t *obj)
{
    json_t *spec = obj_at(obj, "spec");
    json_t *st;

    defaults_pod_spec(spec, false);
    st = obj_at(obj, "status");
    set_default(st, "phase", json_string("Pending"));
    set_default(st, "qosClass", json_string(qos_class(spec)));
}

static void validate_containers(const json_t *spec, const char *base,
                                struct api_errs *e)
{
    const json_t *cs = json_object_get(spec, "containers");
    char f[256];
    size_t i;
    json_t *c;

    snprintf(f, sizeof f, "%s.containers", base);
    if (!json_is_array(cs) || json_array_size(cs) == 0) {
        add_required(e, f, NULL);
        return;
    }
    json_array_foreach (cs, i, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        const char *image = json_string_value(json_object_get(c, "image"));
        size_t j;
        json_t *p, *c2;
        snprintf(f, sizeof f, "%s.containers[%zu].name", base, i);
        if (name == NULL || *name == '\0')
            add_required(e, f, NULL);
        else if (!api_is_dns1123_label(name))
            add_invalid(e, f, name, msg_label);
        else {
            json_array_foreach (cs, j, c2) {
                const char *n2 = json_string_value(json_object_get(c2, "name"));
                if (j < i && n2 && strcmp(n2, name) == 0) {
                    api_errs_add(e, "FieldValueDuplicate", f,
                                 "Duplicate value: \"%s\"", name);
                    break;
                }
            }
        }
        snprintf(f, sizeof f, "%s.containers[%zu].image", base, i);
        if (image == NULL || *image == '\0')
            add_required(e, f, NULL);
        json_array_foreach (json_object_get(c, "ports"), j, p) {
            json_t *cp = json_object_get(p, "containerPort");
            snprintf(f, sizeof f, "%s.containers[%zu].ports[%zu].containerPort",
                     base, i, j);
            if (!json_is_integer(cp))
                add_required(e, f, NULL);
            else if (json_integer_value(cp) < 1 ||
                     json_integer_value(cp) > 65535)
                api_errs_add(e, "FieldValueInvalid", f,
                             "Invalid value: %lld: must be between 1 and "
                             "65535, inclusive",
                             (long long)json_integer_value(cp));
        }
        static const char *const kinds[] = {"requests", "limits"};
        for (size_t k = 0; k < 2; k++) {
            const char *rk;
            json_t *rv;
            json_object_foreach (
                json_object_get(json_object_get(c, "resources"), kinds[k]), rk,
                rv) {
                char val[64] = "";
                snprintf(f, sizeof f, "%s.containers[%zu].resources.%s[%s]",
                         base, i, kinds[k], rk);
                if (json_is_string(rv))
                    snprintf(val, sizeof val, "%s", json_string_value(rv));
                else if (json_is_integer(rv))
                    snprintf(val, sizeof val, "%lld",
                             (long long)json_integer_value(rv));
                else if (json_is_real(rv))
                    snprintf(val, sizeof val, "%g", json_real_value(rv));
                if (!quantity_ok(val))
                    add_invalid(
                        e, f, val,
                        "quantities must match the regular "
                        "expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
            }
        }
    }
}

static void validate_restart_policy(const json_t *spec, const char *base,
                                    bool job, struct api_errs *e)
{
    const char *rp = json_string_value(json_object_get(spec, "restartPolicy"));
    char f[256];

    snprintf(f, sizeof f, "%s.restartPolicy", base);
    if (rp == NULL)
        return;
    if (job) {
        if (strcmp(rp, "OnFailure") != 0 && strcmp(rp, "Never") != 0)
            api_errs_add(e, "FieldValueNotSupported", f,
                         "Unsupported value: \"%s\": supported values: "
                         "\"OnFailure\", \"Never\"",
                         rp);
    } else if (strcmp(rp, "Always") != 0 && strcmp(rp, "OnFailure") != 0 &&
               strcmp(rp, "Never") != 0)
        api_errs_add(e, "FieldValueNotSupported", f,
                     "Unsupported value: \"%s\": supported values: "
                     "\"Always\", \"OnFailure\", \"Never\"",
                     rp);
}

void api_validate_pod(const json_t *obj, const json_t *old, struct api_errs *e)
{
    const json_t *spec = json_object_get(obj, "spec");

    validate_containers(spec, "spec", e);
    validate_restart_policy(spec, "spec", false, e);
    if (old) {
        /* A pod's spec is mostly immutable; the node may be set once. */
        const json_t *os = json_object_get(old, "spec");
        const char *on = json_string_value(json_object_get(os, "nodeName"));
        const char *nn = json_string_value(json_object_get(spec, "nodeName"));
        if (on && (nn == NULL || strcmp(on, nn) != 0))
            api_errs_add(e, "FieldValueForbidden", "spec.nodeName",
                         "Forbidden: pod updates may not change fields "
                         "other than `spec.containers[*].image`,"
                         "`spec.initContainers[*].image`,"
                         "`spec.activeDeadlineSeconds`,"
                         "`spec.tolerations` (only additions to existing "
                         "tolerations),"
                         "`spec.terminationGracePeriodSeconds` (allow it to "
                         "be set to 1 if it was previously negative)");
    }
}

/* --- workloads -------------------------------------------------------------
 */

static void defaults_template(json_t *obj)
{
    json_t *spec = obj_at(obj, "spec");
    json_t *tpl = obj_at(spec, "template");
    json_t *tm = obj_at(tpl, "metadata");
    json_t *ts = obj_at(tpl, "spec");
    (void)tm;
    defaults_pod_spec(ts, true);
}

void api_defaults_deployment(json_t *obj)
{
    json_t *spec = obj_at(obj, "spec");
    json_t *st;

    set_default(spec, "replicas", json_integer(1));
    set_default(spec, "revisionHistoryLimit", json_integer(10));
    set_default(spec, "progressDeadlineSeconds", json_integer(600));
    st = obj_at(spec, "strategy");
    set_default(st, "type", json_string("RollingUpdate"));
    if (strcmp(sv(json_object_get(st, "type")), "RollingUpdate") == 0) {
        json_t *ru = obj_at(st, "rollingUpdate");
        set_default(ru, "maxUnavailable", json_string("25%"));
        set_default(ru, "maxSurge", json_string("25%"));
    }
    defaults_template(obj);
}

void api_defaults_replicaset(json_t *obj)
{
    set_default(obj_at(obj, "spec"), "replicas", json_integer(1));
    defaults_template(obj);
}

void api_defaults_daemonset(json_t *obj)
{
    json_t *spec = obj_at(obj, "spec");
    json_t *us = obj_at(spec, "updateStrategy");

    set_default(spec, "revisionHistoryLimit", json_integer(10));
    set_default(us, "type", json_string("RollingUpdate"));
    if (strcmp(sv(json_object_get(us, "type")), "RollingUpdate") == 0) {
        json_t *ru = obj_at(us, "rollingUpdate");
        set_default(ru, "maxUnavailable", json_integer(1));
        set_default(ru, "maxSurge", json_integer(0));
    }
    defaults_template(obj);
}

void api_defaults_statefulset(json_t *obj)
{
    json_t *spec = obj_at(obj, "spec");
    json_t *us = obj_at(spec, "updateStrategy");

    set_default(spec, "replicas", json_integer(1));
    set_default(spec, "revisionHistoryLimit", json_integer(10));
    set_default(spec, "podManagementPolicy", json_string("OrderedReady"));
    set_default(us, "type", json_string("RollingUpdate"));
    if (strcmp(sv(json_object_get(us, "type")), "RollingUpdate") == 0)
        set_default(obj_at(us, "rollingUpdate"), "partition", json_integer(0));
    set_default(spec, "persistentVolumeClaimRetentionPolicy",
                json_pack("{s:s, s:s}", "whenDeleted", "Retain", "whenScaled",
                          "Retain"));
    defaults_template(obj);
}

void api_defaults_job(json_t *obj)
{
    json_t *spec = obj_at(obj, "spec");
    json_t *m = obj_at(obj, "metadata");
    const char *uid = json_string_value(json_object_get(m, "uid"));
    const char *name = json_string_value(json_object_get(m, "name"));

    set_default(spec, "parallelism", json_integer(1));
    if (json_object_get(spec, "completions") == NULL &&
        json_object_get(spec, "parallelism") != NULL)
        json_object_set_new(spec, "completions", json_integer(1));
    set_default(spec, "backoffLimit", json_integer(6));
    set_default(spec, "completionMode", json_string("NonIndexed"));
    set_default(spec, "suspend", json_false());
    set_default(spec, "manualSelector", json_false());
    set_default(spec, "podReplacementPolicy",
                json_string("TerminatingOrFailed"));
    /* the generated selector: batch.kubernetes.io/controller-uid */
    if (!json_is_true(json_object_get(spec, "manualSelector")) && uid &&
        json_object_get(spec, "selector") == NULL) {
        json_t *tm = obj_at(obj_at(spec, "template"), "metadata");
        json_t *tl = obj_at(tm, "labels");
        json_object_set_new(spec, "selector",
                            json_pack("{s:{s:s}}", "matchLabels",
                                      "batch.kubernetes.io/controller-uid",
                                      uid));
        json_object_set_new(tl, "batch.kubernetes.io/controller-uid",
                            json_string(uid));
        json_object_set_new(tl, "controller-uid", json_string(uid));
        if (name) {
            json_object_set_new(tl, "batch.kubernetes.io/job-name",
                                json_string(name));
            json_object_set_new(tl, "job-name", json_string(name));
        }
    }
    defaults_template(obj);
    /* the template's restartPolicy is not defaulted to Always for jobs */
}

static bool selector_matches_labels(const json_t *sel, const json_t *labels)
{
    const char *k;
    json_t *v;
    size_t i;
    json_t *req;

    json_object_foreach (json_object_get(sel, "matchLabels"), k, v) {
        json_t *l = json_object_get(labels, k);
        if (!json_is_string(l) || !json_equal(l, v))
            return false;
    }
    json_array_foreach (json_object_get(sel, "matchExpressions"), i, req) {
        const char *key = json_string_value(json_object_get(req, "key"));
        const char *op = json_string_value(json_object_get(req, "operator"));
        json_t *l = key ? json_object_get(labels, key) : NULL;
        bool in = false;
        size_t j;
        json_t *val;
        if (key == NULL || op == NULL)
            return false;
        json_array_foreach (json_object_get(req, "values"), j, val) {
            if (l && json_equal(l, val))
                in = true;
        }
        if ((strcmp(op, "In") == 0 && !in) ||
            (strcmp(op, "NotIn") == 0 && in) ||
            (strcmp(op, "Exists") == 0 && l == NULL) ||
            (strcmp(op, "DoesNotExist") == 0 && l != NULL))
            return false;
    }
    return true;
}

static void validate_selector_template(const json_t *spec, struct api_errs *e)
{
    const json_t *sel = json_object_get(spec, "selector");
    const json_t *tl = json_object_get(
        json_object_get(json_object_get(spec, "template"), "metadata"),
        "labels");

    if (!json_is_object(sel) ||
        (json_object_size(json_object_get(sel, "matchLabels")) == 0 &&
         json_array_size(json_object_get(sel, "matchExpressions")) == 0)) {
        add_required(e, "spec.selector", NULL);
        api_errs_add(e, "FieldValueInvalid", "spec.selector",
                     "Invalid value: \"null\": empty selector is invalid "
                     "for deployment");
        return;
    }
    if (!selector_matches_labels(sel, tl)) {
        char *s = tl ? json_dumps(tl, JSON_COMPACT) : strdup("{}");
        api_errs_add(e, "FieldValueInvalid", "spec.template.metadata.labels",
                     "Invalid value: %s: `selector` does not match template "
                     "`labels`",
                     s ? s : "{}");
        free(s);
    }
}

void api_validate_workload(const json_t *obj, const json_t *old,
                           struct api_errs *e)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *r = json_object_get(spec, "replicas");
    const json_t *tspec =
        json_object_get(json_object_get(spec, "template"), "spec");

    if (r && (!json_is_integer(r) || json_integer_value(r) < 0))
        api_errs_add(e, "FieldValueInvalid", "spec.replicas",
                     "Invalid value: %lld: must be greater than or equal to "
                     "0",
                     (long long)json_integer_value(r));
    validate_selector_template(spec, e);
    validate_containers(tspec, "spec.template.spec", e);
    validate_restart_policy(tspec, "spec.template.spec", false, e);
    if (old && json_is_object(json_object_get(spec, "selector")) &&
        !json_equal(json_object_get(spec, "selector"),
                    json_object_get(json_object_get(old, "spec"), "selector")))
        api_errs_add(e, "FieldValueInvalid", "spec.selector",
                     "Invalid value: field is immutable");
}

void api_validate_job(const json_t *obj, const json_t *old, struct api_errs *e)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *tspec =
        json_object_get(json_object_get(spec, "template"), "spec");
    (void)old;

    validate_selector_template(spec, e);
    validate_containers(tspec, "spec.template.spec", e);
    if (json_object_get(tspec, "restartPolicy") == NULL)
        api_errs_add(e, "FieldValueRequired",
                     "spec.template.spec.restartPolicy",
                     "Required value: valid values: \"OnFailure\", "
                     "\"Never\"");
    validate_restart_policy(tspec, "spec.template.spec", true, e);
}

/* --- services ---------------------------------------------------------- */

void api_defaults_service(json_t *obj)
{
    json_t *spec = obj_at(obj, "spec");
    const char *name = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "name"));
    const char *ns = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "namespace"));
    size_t i;
    json_t *p;

    set_default(spec, "type", json_string("ClusterIP"));
    set_default(spec, "sessionAffinity", json_string("None"));
    set_default(spec, "ipFamilies", json_pack("[s]", "IPv4"));
    set_default(spec, "ipFamilyPolicy", json_string("SingleStack"));
    set_default(spec, "internalTrafficPolicy", json_string("Cluster"));
    if (json_object_get(spec, "clusterIP") == NULL) {
        /* a stable address from the name: there is no service proxy, the
         * address is informational */
        unsigned h = 2166136261u;
        char ip[32];
        for (const char *s = ns ? ns : ""; *s; s++)
            h = (h ^ (unsigned char)*s) * 16777619u;
        for (const char *s = name ? name : ""; *s; s++)
            h = (h ^ (unsigned char)*s) * 16777619u;
        snprintf(ip, sizeof ip, "10.96.%u.%u", (h >> 8) % 256, 1 + h % 254);
        json_object_set_new(spec, "clusterIP", json_string(ip));
        json_object_set_new(spec, "clusterIPs", json_pack("[s]", ip));
    }
    json_array_foreach (json_object_get(spec, "ports"), i, p) {
        if (!json_is_object(p))
            continue;
        set_default(p, "protocol", json_string("TCP"));
        if (json_object_get(p, "targetPort") == NULL &&
            json_object_get(p, "port"))
            json_object_set(p, "targetPort", json_object_get(p, "port"));
    }
    set_default(obj_at(obj, "status"), "loadBalancer", json_object());
}

void api_validate_service(const json_t *obj, const json_t *old,
                          struct api_errs *e)
{
    const json_t *spec = json_object_get(obj, "spec");
    const json_t *ports = json_object_get(spec, "ports");
    const char *type = json_string_value(json_object_get(spec, "type"));
    const char *cip = json_string_value(json_object_get(spec, "clusterIP"));
    size_t i;
    json_t *p;
    char f[128];
    (void)old;

    if (json_array_size(ports) == 0 && !(cip && strcmp(cip, "None") == 0) &&
        !(type && strcmp(type, "ExternalName") == 0))
        add_required(e, "spec.ports", NULL);
    json_array_foreach (ports, i, p) {
        json_t *port = json_object_get(p, "port");
        snprintf(f, sizeof f, "spec.ports[%zu].port", i);
        if (!json_is_integer(port))
            add_required(e, f, NULL);
        else if (json_integer_value(port) < 1 ||
                 json_integer_value(port) > 65535)
            api_errs_add(e, "FieldValueInvalid", f,
                         "Invalid value: %lld: must be between 1 and 65535, "
                         "inclusive",
                         (long long)json_integer_value(port));
        if (json_array_size(ports) > 1 &&
            json_string_value(json_object_get(p, "name")) == NULL) {
            snprintf(f, sizeof f, "spec.ports[%zu].name", i);
            add_required(e, f, NULL);
        }
    }
    if (type && strcmp(type, "ClusterIP") != 0 &&
        strcmp(type, "NodePort") != 0 && strcmp(type, "LoadBalancer") != 0 &&
        strcmp(type, "ExternalName") != 0)
        api_errs_add(e, "FieldValueNotSupported", "spec.type",
                     "Unsupported value: \"%s\": supported values: "
                     "\"ClusterIP\", \"ExternalName\", \"LoadBalancer\", "
                     "\"NodePort\"",
                     type);
}

/* --- config ------------------------------------------------------------- */

static bool config_key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > 253 || strcmp(k, ".") == 0 || strcmp(k, "..") == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)k[i]) && !strchr("-._", k[i]))
            return false;
    return true;
}

static void validate_keys(const json_t *data, const char *field, bool strings,
                          struct api_errs *e)
{
    const char *k;
    json_t *v;

    json_object_foreach ((json_t *)data, k, v) {
        if (!config_key_ok(k))
            add_invalid(e, field, k,
                        "a valid config key must consist of alphanumeric "
                        "characters, '-', '_' or '.' (e.g. 'key.name',  or "
                        "'KEY_NAME',  or 'key-name', regex used for "
                        "validation is '[-._a-zA-Z0-9]+')");
        else if (strings && !json_is_string(v))
            api_errs_add(e, "FieldValueTypeInvalid", field,
                         "Invalid value: values must be strings");
    }
}

void api_validate_configmap(const json_t *obj, const json_t *old,
                            struct api_errs *e)
{
    validate_keys(json_object_get(obj, "data"), "data", true, e);
    validate_keys(json_object_get(obj, "binaryData"), "binaryData", true, e);
    if (old && json_is_true(json_object_get(old, "immutable")) &&
        (!json_equal(or_null(json_object_get(obj, "data")),
                     or_null(json_object_get(old, "data")))))
        api_errs_add(e, "FieldValueForbidden", "data",
                     "Forbidden: field is immutable when `immutable` is set");
}

static const char b64tab[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64(const char *s, size_t n)
{
    char *out = malloc(((n + 2) / 3) * 4 + 1), *w = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)(unsigned char)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)(unsigned char)s[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)s[i + 2];
        *w++ = b64tab[(v >> 18) & 63];
        *w++ = b64tab[(v >> 12) & 63];
        *w++ = i + 1 < n ? b64tab[(v >> 6) & 63] : '=';
        *w++ = i + 2 < n ? b64tab[v & 63] : '=';
    }
    *w = '\0';
    return out;
}

static bool is_b64(const char *s)
{
    size_t n = strlen(s);
    if (n % 4)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(b64tab, s[i]) && !(s[i] == '=' && i >= n - 2))
            return false;
    return true;
}

void api_defaults_secret(json_t *obj)
{
    json_t *sd = json_object_get(obj, "stringData");
    const char *k;
    json_t *v;

    set_default(obj, "type", json_string("Opaque"));
    if (json_is_object(sd)) {
        json_t *data = obj_at(obj, "data");
        json_object_foreach (sd, k, v) {
            if (!json_is_string(v))
                continue;
            char *enc = b64(json_string_value(v), json_string_length(v));
            if (enc)
                json_object_set_new(data, k, json_string(enc));
            free(enc);
        }
    }
    json_object_del(obj, "stringData");
}

void api_validate_secret(const json_t *obj, const json_t *old,
                         struct api_errs *e)
{
    const char *k;
    json_t *v;
    (void)old;

    validate_keys(json_object_get(obj, "data"), "data", true, e);
    json_object_foreach (json_object_get(obj, "data"), k, v) {
        if (json_is_string(v) && !is_b64(json_string_value(v))) {
            char f[300];
            snprintf(f, sizeof f, "data[%s]", k);
            api_errs_add(e, "FieldValueInvalid", f,
                         "Invalid value: illegal base64 data");
        }
    }
}

/* --- namespaces, nodes, leases, events ------------------------------ */

void api_defaults_namespace(json_t *obj)
{
    json_t *m = obj_at(obj, "metadata");
    json_t *l = obj_at(m, "labels");
    const char *name = json_string_value(json_object_get(m, "name"));

    if (name)
        json_object_set_new(l, "kubernetes.io/metadata.name",
                            json_string(name));
    set_default(obj_at(obj, "spec"), "finalizers",
                json_pack("[s]", "kubernetes"));
    set_default(obj_at(obj, "status"), "phase", json_string("Active"));
}

void api_defaults_node(json_t *obj)
{
    (void)obj_at(obj, "spec");
}

void api_validate_lease(const json_t *obj, const json_t *old,
                        struct api_errs *e)
{
    const json_t *d =
        json_object_get(json_object_get(obj, "spec"), "leaseDurationSeconds");
    (void)old;
    if (d && (!json_is_integer(d) || json_integer_value(d) <= 0))
        api_errs_add(e, "FieldValueInvalid", "spec.leaseDurationSeconds",
                     "Invalid value: %lld: must be greater than 0",
                     (long long)json_integer_value(d));
}

void api_validate_event(const json_t *obj, const json_t *old,
                        struct api_errs *e)
{
    const json_t *io = json_object_get(obj, "involvedObject");
    const char *ns = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "namespace"));
    const char *ions = json_string_value(json_object_get(io, "namespace"));
    (void)old;

    if (!json_is_object(io))
        add_required(e, "involvedObject", NULL);
    else if (ions && *ions && ns && strcmp(ions, ns) != 0)
        api_errs_add(e, "FieldValueInvalid", "involvedObject.namespace",
                     "Invalid value: \"%s\": does not match event.namespace",
                     ions);
}

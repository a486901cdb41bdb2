/*
 * Small, pure helpers over Kubernetes objects as jansson values, shared by
 * every controller and the scheduler: keys, dotted-path getters, owner
 * references, label selectors (metav1.LabelSelector, "Labels and
 * Selectors" in the Kubernetes docs), pod readiness, conditions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controllers/controllers.h"
#include "lib/clock.h"

const char *ctrl_obj_key(const json_t *obj, char *buf, size_t len)
{
    const char *ns = ctrl_jstr(obj, "metadata.namespace");
    const char *name = ctrl_jstr(obj, "metadata.name");
    if (name == NULL)
        name = "";
    if (ns && ns[0])
        snprintf(buf, len, "%s/%s", ns, name);
    else
        snprintf(buf, len, "%s", name);
    return buf;
}

json_t *ctrl_jget(const json_t *obj, const char *path)
{
    char part[128];
    const char *p = path;
    json_t *cur = (json_t *)obj;

    while (cur && *p) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof part || !json_is_object(cur))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        cur = json_object_get(cur, part);
        p += n;
        if (*p == '.')
            p++;
    }
    return cur;
}

const char *ctrl_jstr(const json_t *obj, const char *path)
{
    return json_string_value(ctrl_jget(obj, path));
}

int64_t ctrl_jint(const json_t *obj, const char *path, int64_t def)
{
    json_t *v = ctrl_jget(obj, path);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

const json_t *ctrl_controller_ref(const json_t *obj)
{
    json_t *refs = ctrl_jget(obj, "metadata.ownerReferences"), *r;
    size_t i;
    json_array_foreach (refs, i, r) {
        if (json_is_true(json_object_get(r, "controller")))
            return r;
    }
    return NULL;
}

static bool value_in(const char *v, const json_t *values)
{
    size_t i;
    json_t *x;
    json_array_foreach (values, i, x) {
        if (json_is_string(x) && strcmp(json_string_value(x), v) == 0)
            return true;
    }
    return false;
}

bool ctrl_selector_matches(const json_t *selector, const json_t *labels)
{
    json_t *ml, *me, *e;
    const char *k;
    json_t *v;
    size_t i;

    if (!json_is_object(selector))
        return false;
    ml = json_object_get(selector, "matchLabels");
    json_object_foreach (ml, k, v) {
        const char *have = json_string_value(json_object_get(labels, k));
        if (have == NULL || !json_is_string(v) ||
            strcmp(have, json_string_value(v)) != 0)
            return false;
    }
    me = json_object_get(selector, "matchExpressions");
    json_array_foreach (me, i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *op = json_string_value(json_object_get(e, "operator"));
        json_t *vals = json_object_get(e, "values");
        const char *have;
        if (key == NULL || op == NULL)
            return false;
        have = json_string_value(json_object_get(labels, key));
        if (strcmp(op, "In") == 0) {
            if (have == NULL || !value_in(have, vals))
                return false;
        } else if (strcmp(op, "NotIn") == 0) {
            if (have != NULL && value_in(have, vals))
                return false;
        } else if (strcmp(op, "Exists") == 0) {
            if (have == NULL)
                return false;
        } else if (strcmp(op, "DoesNotExist") == 0) {
            if (have != NULL)
                return false;
        } else {
            return false;
        }
    }
    return true;
}

bool ctrl_pod_is_ready(const json_t *pod)
{
    const json_t *c = ctrl_get_condition(pod, "Ready");
    const char *st = json_string_value(json_object_get(c, "status"));
    return st && strcmp(st, "True") == 0;
}

bool ctrl_pod_is_available(const json_t *pod, int64_t min_ready_s,
                           int64_t now_ns)
{
    const json_t *c;
    int64_t t;
    if (!ctrl_pod_is_ready(pod))
        return false;
    if (min_ready_s <= 0)
        return true;
    c = ctrl_get_condition(pod, "Ready");
    t = ctrl_time_ns(
        json_string_value(json_object_get(c, "lastTransitionTime")));
    return t != 0 && t + min_ready_s * 1000000000LL <= now_ns;
}

bool ctrl_pod_is_active(const json_t *pod)
{
    const char *phase = ctrl_jstr(pod, "status.phase");
    if (ctrl_jget(pod, "metadata.deletionTimestamp") &&
        !json_is_null(ctrl_jget(pod, "metadata.deletionTimestamp")))
        return false;
    return phase == NULL ||
           (strcmp(phase, "Succeeded") != 0 && strcmp(phase, "Failed") != 0);
}

const char *ctrl_now(char *buf, size_t len)
{
    return clock_rfc3339(clock_real_ns(), buf, len);
}

int64_t ctrl_time_ns(const char *s)
{
    int64_t ns;
    if (s == NULL || clock_parse_rfc3339(s, &ns) != 0)
        return 0;
    return ns;
}

const json_t *ctrl_get_condition(const json_t *obj, const char *type)
{
    json_t *conds = ctrl_jget(obj, "status.conditions"), *c;
    size_t i;
    json_array_foreach (conds, i, c) {
        const char *t = json_string_value(json_object_get(c, "type"));
        if (t && strcmp(t, type) == 0)
            return c;
    }
    return NULL;
}

static bool str_eq(const json_t *v, const char *s)
{
    const char *x = json_string_value(v);
    if (x == NULL || s == NULL)
        return x == NULL && s == NULL;
    return strcmp(x, s) == 0;
}

bool ctrl_set_condition(json_t *obj, const char *type, const char *status,
                        const char *reason, const char *message,
                        bool deployment_shape)
{
    json_t *st = json_object_get(obj, "status"), *conds, *c;
    char now[32];
    bool changed = false;

    if (!json_is_object(st)) {
        st = json_object();
        json_object_set_new(obj, "status", st);
    }
    conds = json_object_get(st, "conditions");
    if (!json_is_array(conds)) {
        conds = json_array();
        json_object_set_new(st, "conditions", conds);
    }
    ctrl_now(now, sizeof now);
    c = (json_t *)ctrl_get_condition(obj, type);
    if (c == NULL) {
        c = json_object();
        json_object_set_new(c, "type", json_string(type));
        json_array_append_new(conds, c);
        changed = true;
    }
    if (!str_eq(json_object_get(c, "status"), status)) {
        json_object_set_new(c, "status", json_string(status));
        json_object_set_new(c, "lastTransitionTime", json_string(now));
        changed = true;
    }
    if (!str_eq(json_object_get(c, "reason"), reason)) {
        json_object_set_new(c, "reason", json_string(reason));
        changed = true;
    }
    if (!str_eq(json_object_get(c, "message"), message)) {
        json_object_set_new(c, "message", json_string(message));
        changed = true;
    }
    if (json_object_get(c, "lastTransitionTime") == NULL)
        json_object_set_new(c, "lastTransitionTime", json_string(now));
    if (deployment_shape) {
        if (changed || json_object_get(c, "lastUpdateTime") == NULL)
            json_object_set_new(c, "lastUpdateTime", json_string(now));
    } else if (json_object_get(c, "lastProbeTime") == NULL) {
        json_object_set_new(c, "lastProbeTime", json_null());
    }
    return changed;
}

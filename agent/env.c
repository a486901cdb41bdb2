/*
 * DESIGN: what a container sees — environment and volumes.
 *
 * Environment (core/v1 Container.env / envFrom): envFrom sources first, in
 * order (prefix applied), then env entries, later names replacing earlier
 * ones, each value $(VAR)-expanded against what is defined before it, as
 * the kubelet does (kubelet "expansion" package semantics). ConfigMaps and
 * Secrets come through env->get_object, so this file never talks HTTP.
 *
 * Volumes live in DATA_DIR/pods/<ns>_<name>_<uid>/volumes/<volume>:
 * emptyDir is a directory; configMap and secret are written there as one
 * file per key (items/path honoured, secrets base64-decoded); hostPath is
 * used in place. With a mount namespace they are bound at each mountPath
 * (runtime.c). Without one, processes see host paths unchanged, so every
 * volume's directory is also given in $K1S_VOLUME_<NAME> (upper-case, '-'
 * → '_').
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/fs.h"

#define ENV_MAX 1024

void agent_strv_free(char **v)
{
    if (v == NULL)
        return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

void agent_pod_ip(const char *uid, char *out, size_t len)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *p = uid ? uid : ""; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    snprintf(out, len, "127.%u.%u.%u", 1 + (h >> 16 & 0xff) % 254,
             1 + (h >> 8 & 0xff) % 254, 1 + (h & 0xff) % 254);
}

/* ------------------------------------------------------------ quantity */

int agent_quantity_milli(const char *s, int64_t *ret)
{
    static const struct {
        const char *suf;
        double mul;
    } sufs[] = {
        {"Ki", 1024.0},
        {"Mi", 1048576.0},
        {"Gi", 1073741824.0},
        {"Ti", 1099511627776.0},
        {"Pi", 1125899906842624.0},
        {"Ei", 1152921504606846976.0},
        {"n", 1e-9},
        {"u", 1e-6},
        {"m", 1e-3},
        {"k", 1e3},
        {"M", 1e6},
        {"G", 1e9},
        {"T", 1e12},
        {"P", 1e15},
        {"E", 1e18},
        {"", 1.0},
    };
    char *end;
    double v;

    if (s == NULL || *s == '\0' || strlen(s) > 64)
        return K1S_EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || v < 0)
        return K1S_EINVAL;
    for (size_t i = 0; i < sizeof sufs / sizeof sufs[0]; i++) {
        if (strcmp(end, sufs[i].suf) == 0) {
            double m = v * sufs[i].mul * 1000.0;
            if (m > 9.2e18)
                return K1S_EINVAL;
            *ret = (int64_t)m;
            if ((double)*ret < m)
                (*ret)++;
            return 0;
        }
    }
    return K1S_EINVAL;
}

/* ------------------------------------------------------------ base64 */

unsigned char *agent_base64_decode(const char *s, size_t *ret_len)
{
    size_t n = strlen(s), o = 0;
    unsigned char *out = malloc(n / 4 * 3 + 3);
    unsigned int acc = 0;
    int bits = 0;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == '+' || c == '-')
            v = 62;
        else if (c == '/' || c == '_')
            v = 63;
        else if (c == '=' || c == '\n' || c == '\r')
            continue;
        else {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned int)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    out[o] = '\0';
    *ret_len = o;
    return out;
}

/* ------------------------------------------------------------ env list */

struct envlist {
    char *names[ENV_MAX];
    char *vals[ENV_MAX];
    size_t n;
};

static int env_set(struct envlist *e, const char *name, const char *val)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->names[i], name) == 0) {
            char *v = strdup(val);
            if (v == NULL)
                return K1S_ENOMEM;
            free(e->vals[i]);
            e->vals[i] = v;
            return 0;
        }
    if (e->n >= ENV_MAX)
        return K1S_ETOOLARGE;
    e->names[e->n] = strdup(name);
    e->vals[e->n] = strdup(val);
    if (e->names[e->n] == NULL || e->vals[e->n] == NULL) {
        free(e->names[e->n]);
        free(e->vals[e->n]);
        return K1S_ENOMEM;
    }
    e->n++;
    return 0;
}

static bool env_has(const struct envlist *e, const char *name)
{
    for (size_t i = 0; i < e->n; i++)
        if (strcmp(e->names[i], name) == 0)
            return true;
    return false;
}

static void env_free(struct envlist *e)
{
    for (size_t i = 0; i < e->n; i++) {
        free(e->names[i]);
        free(e->vals[i]);
    }
    e->n = 0;
}

static char **env_vec(const struct envlist *e)
{
    char **v = calloc(e->n + 1, sizeof *v);
    if (v == NULL)
        return NULL;
    for (size_t i = 0; i < e->n; i++) {
        if (asprintf(&v[i], "%s=%s", e->names[i], e->vals[i]) < 0) {
            v[i] = NULL;
            agent_strv_free(v);
            return NULL;
        }
    }
    return v;
}

char *agent_env_expand(const char *s, char *const *envp)
{
    struct buf b;

    buf_init(&b);
    buf_append(&b, "", 0);
    while (*s) {
        if (s[0] == '$' && s[1] == '$') {
            buf_append(&b, "$", 1);
            s += 2;
            continue;
        }
        if (s[0] == '$' && s[1] == '(') {
            const char *end = strchr(s + 2, ')');
            if (end) {
                size_t n = (size_t)(end - s - 2);
                const char *val = NULL;
                for (char *const *e = envp; e && *e; e++)
                    if (strncmp(*e, s + 2, n) == 0 && (*e)[n] == '=')
                        val = *e + n + 1;
                if (val) {
                    buf_append_str(&b, val);
                    s = end + 1;
                    continue;
                }
            }
        }
        buf_append(&b, s, 1);
        s++;
    }
    return buf_steal(&b, NULL);
}

/* The current environment as a vector, for expansion while building. */
static char *expand_with(const struct envlist *e, const char *s)
{
    char **v = env_vec(e), *r;
    r = agent_env_expand(s, v);
    agent_strv_free(v);
    return r;
}

/* A key of a ConfigMap (data or binaryData) or Secret (data, base64) as a
 * heap string. */
static char *object_key(const json_t *obj, bool secret, const char *key)
{
    const char *v =
        json_string_value(json_object_get(json_object_get(obj, "data"), key));
    size_t n;

    if (v && !secret)
        return strdup(v);
    if (!secret)
        v = json_string_value(
            json_object_get(json_object_get(obj, "binaryData"), key));
    if (v == NULL && secret)
        v = json_string_value(
            json_object_get(json_object_get(obj, "stringData"), key));
    if (v == NULL)
        return NULL;
    return (char *)agent_base64_decode(v, &n);
}

static const char *field_value(const json_t *pod, const char *path,
                               const char *host_ip, char *tmp, size_t len)
{
    const json_t *md = json_object_get(pod, "metadata");

    if (strcmp(path, "metadata.name") == 0)
        return json_string_value(json_object_get(md, "name"));
    if (strcmp(path, "metadata.namespace") == 0)
        return json_string_value(json_object_get(md, "namespace"));
    if (strcmp(path, "metadata.uid") == 0)
        return json_string_value(json_object_get(md, "uid"));
    if (strcmp(path, "spec.nodeName") == 0)
        return json_string_value(
            json_object_get(json_object_get(pod, "spec"), "nodeName"));
    if (strcmp(path, "spec.serviceAccountName") == 0)
        return json_string_value(json_object_get(json_object_get(pod, "spec"),
                                                 "serviceAccountName"));
    if (strcmp(path, "status.podIP") == 0 ||
        strcmp(path, "status.podIPs") == 0) {
        agent_pod_ip(json_string_value(json_object_get(md, "uid")), tmp, len);
        return tmp;
    }
    if (strcmp(path, "status.hostIP") == 0 ||
        strcmp(path, "status.hostIPs") == 0)
        return host_ip;
    if (strncmp(path, "metadata.labels['", 17) == 0 ||
        strncmp(path, "metadata.annotations['", 22) == 0) {
        bool lab = path[9] == 'l';
        const char *k = path + (lab ? 17 : 22);
        size_t n = strlen(k);
        if (n < 2 || n >= len || strcmp(k + n - 2, "']") != 0)
            return NULL;
        memcpy(tmp, k, n - 2);
        tmp[n - 2] = '\0';
        return json_string_value(json_object_get(
            json_object_get(md, lab ? "labels" : "annotations"), tmp));
    }
    if (strcmp(path, "metadata.labels") == 0 ||
        strcmp(path, "metadata.annotations") == 0) {
        const json_t *m = json_object_get(md, path + 9);
        const char *k;
        const json_t *v;
        size_t o = 0;
        tmp[0] = '\0';
        json_object_foreach ((json_t *)m, k, v) {
            int w = snprintf(tmp + o, len - o, "%s%s=\"%s\"", o ? "\n" : "", k,
                             json_string_value(v) ? json_string_value(v) : "");
            if (w < 0 || (size_t)w >= len - o)
                break;
            o += (size_t)w;
        }
        return tmp;
    }
    return NULL;
}

static int resource_value(const json_t *container, const json_t *ref, char *tmp,
                          size_t len)
{
    const char *res = json_string_value(json_object_get(ref, "resource"));
    const char *div = json_string_value(json_object_get(ref, "divisor"));
    const json_t *r = json_object_get(container, "resources");
    const char *dot, *q;
    int64_t v = 0, d = 1000;

    if (res == NULL || (dot = strchr(res, '.')) == NULL)
        return K1S_EINVAL;
    {
        char sect[16];
        size_t n = (size_t)(dot - res);
        if (n >= sizeof sect)
            return K1S_EINVAL;
        memcpy(sect, res, n);
        sect[n] = '\0';
        q = json_string_value(
            json_object_get(json_object_get(r, sect), dot + 1));
    }
    if (q == NULL || agent_quantity_milli(q, &v) != 0)
        v = 0; /* unset: Kubernetes reports node allocatable; 0 here */
    if (div && (agent_quantity_milli(div, &d) != 0 || d <= 0))
        return K1S_EINVAL;
    snprintf(tmp, len, "%lld", (long long)((v + d - 1) / d));
    return 0;
}

int agent_env_build(const struct agent_pod_env *env, const json_t *pod,
                    const json_t *container, const char *pod_dir, char ***ret,
                    char *err, size_t errlen)
{
    static struct envlist zero;
    struct envlist *e = malloc(sizeof *e);
    const char *ns = json_string_value(
        json_object_get(json_object_get(pod, "metadata"), "namespace"));
    const json_t *it, *vols;
    size_t i;
    int rv = 0;

    if (e == NULL)
        return K1S_ENOMEM;
    *e = zero;
    err[0] = '\0';
    json_array_foreach (json_object_get(container, "envFrom"), i, it) {
        const json_t *ref = json_object_get(it, "configMapRef");
        bool secret = false;
        const char *prefix = json_string_value(json_object_get(it, "prefix"));
        const char *name, *k;
        json_t *obj = NULL;
        const json_t *v;

        if (ref == NULL) {
            ref = json_object_get(it, "secretRef");
            secret = true;
        }
        name = json_string_value(json_object_get(ref, "name"));
        if (name == NULL)
            continue;
        rv = env->get_object(env->get_object_arg,
                             secret ? "secrets" : "configmaps", ns, name, &obj);
        if (rv == K1S_ENOTFOUND &&
            json_is_true(json_object_get(ref, "optional"))) {
            rv = 0;
            continue;
        }
        if (rv != 0) {
            snprintf(err, errlen, "%s \"%s\" not found",
                     secret ? "secret" : "configmap", name);
            goto out;
        }
        json_object_foreach (json_object_get(obj, "data"), k, v) {
            char *val = object_key(obj, secret, k), full[512];
            snprintf(full, sizeof full, "%s%s", prefix ? prefix : "", k);
            if (val)
                rv = env_set(e, full, val);
            free(val);
            if (rv != 0)
                break;
        }
        json_decref(obj);
        if (rv != 0)
            goto out;
    }
    json_array_foreach (json_object_get(container, "env"), i, it) {
        const char *name = json_string_value(json_object_get(it, "name"));
        const char *val = json_string_value(json_object_get(it, "value"));
        const json_t *vf = json_object_get(it, "valueFrom"), *ref;
        char tmp[4096], *exp;

        if (name == NULL)
            continue;
        if (vf == NULL) {
            exp = expand_with(e, val ? val : "");
            rv = exp ? env_set(e, name, exp) : K1S_ENOMEM;
            free(exp);
        } else if ((ref = json_object_get(vf, "configMapKeyRef")) ||
                   (ref = json_object_get(vf, "secretKeyRef"))) {
            bool secret = json_object_get(vf, "secretKeyRef") != NULL;
            const char *on = json_string_value(json_object_get(ref, "name"));
            const char *key = json_string_value(json_object_get(ref, "key"));
            bool opt = json_is_true(json_object_get(ref, "optional"));
            json_t *obj = NULL;
            char *v = NULL;

            rv = on && key ? env->get_object(env->get_object_arg,
                                             secret ? "secrets" : "configmaps",
                                             ns, on, &obj)
                           : K1S_EINVAL;
            if (rv == 0)
                v = object_key(obj, secret, key);
            json_decref(obj);
            if (rv == 0 && v == NULL && !opt) {
                snprintf(err, errlen, "couldn't find key %s in %s %s/%s", key,
                         secret ? "Secret" : "ConfigMap", ns, on);
                rv = K1S_ENOTFOUND;
            } else if (rv == K1S_ENOTFOUND && !opt) {
                snprintf(err, errlen, "%s \"%s\" not found",
                         secret ? "secret" : "configmap", on ? on : "");
            } else if (rv == K1S_ENOTFOUND || (rv == 0 && v == NULL)) {
                rv = 0; /* optional and missing: the variable is unset */
            } else if (rv == 0) {
                rv = env_set(e, name, v);
            } else if (err[0] == '\0') {
                snprintf(err, errlen, "cannot read %s %s/%s: %s",
                         secret ? "secret" : "configmap", ns, on ? on : "",
                         err_str(rv));
            }
            free(v);
        } else if ((ref = json_object_get(vf, "fieldRef"))) {
            const char *fp =
                json_string_value(json_object_get(ref, "fieldPath"));
            const char *v =
                fp ? field_value(pod, fp, env->host_ip, tmp, sizeof tmp) : NULL;
            if (v == NULL && fp && strncmp(fp, "metadata.", 9) != 0) {
                snprintf(err, errlen, "unsupported fieldPath: %s", fp);
                rv = K1S_EINVALID;
            } else {
                rv = env_set(e, name, v ? v : "");
            }
        } else if ((ref = json_object_get(vf, "resourceFieldRef"))) {
            rv = resource_value(container, ref, tmp, sizeof tmp);
            if (rv == 0)
                rv = env_set(e, name, tmp);
            else
                snprintf(err, errlen, "invalid resourceFieldRef in %s", name);
        }
        if (rv != 0)
            goto out;
    }
    if (!env_has(e, "PATH"))
        rv = env_set(e, "PATH",
                     "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                     "/usr/bin:/sbin:/bin");
    if (rv == 0 && !env_has(e, "HOSTNAME"))
        rv = env_set(e, "HOSTNAME",
                     json_string_value(json_object_get(
                         json_object_get(pod, "metadata"), "name")));
    vols = json_object_get(json_object_get(pod, "spec"), "volumes");
    json_array_foreach (vols, i, it) {
        const char *vn = json_string_value(json_object_get(it, "name"));
        char key[300], *src;
        size_t k;
        if (vn == NULL || rv != 0)
            continue;
        k = (size_t)snprintf(key, sizeof key, "K1S_VOLUME_%s", vn);
        for (size_t j = 11; j < k && j < sizeof key; j++)
            key[j] = key[j] == '-' || key[j] == '.'
                         ? '_'
                         : (key[j] >= 'a' && key[j] <= 'z' ? (char)(key[j] - 32)
                                                           : key[j]);
        src = agent_volume_source(pod, vn, pod_dir);
        if (src)
            rv = env_set(e, key, src);
        free(src);
    }
    if (rv == 0) {
        *ret = env_vec(e);
        if (*ret == NULL)
            rv = K1S_ENOMEM;
    }
out:
    if (rv != 0 && err[0] == '\0')
        snprintf(err, errlen, "environment: %s", err_str(rv));
    env_free(e);
    free(e);
    return rv;
}

/* ------------------------------------------------------------ volumes */

const json_t *agent_json_find(const json_t *list, const char *key,
                              const char *value)
{
    const json_t *v;
    size_t i;
    json_array_foreach (list, i, v) {
        const char *s = json_string_value(json_object_get(v, key));
        if (s && strcmp(s, value) == 0)
            return v;
    }
    return NULL;
}

static const json_t *find_volume(const json_t *pod, const char *name)
{
    return agent_json_find(
        json_object_get(json_object_get(pod, "spec"), "volumes"), "name", name);
}

char *agent_volume_source(const json_t *pod, const char *vol_name,
                          const char *pod_dir)
{
    const json_t *v = find_volume(pod, vol_name), *hp;
    char *r = NULL;

    if (v == NULL)
        return NULL;
    hp = json_object_get(v, "hostPath");
    if (hp && json_string_value(json_object_get(hp, "path")))
        return strdup(json_string_value(json_object_get(hp, "path")));
    if (asprintf(&r, "%s/volumes/%s", pod_dir, vol_name) < 0)
        return NULL;
    return r;
}

static bool safe_rel(const char *p)
{
    if (p == NULL || p[0] == '\0' || p[0] == '/' || strlen(p) > 1024)
        return false;
    return strstr(p, "..") == NULL;
}

static int write_key_file(const char *dir, const char *rel, const char *data,
                          size_t len, int mode)
{
    char path[PATH_MAX];
    int fd, rv = 0;

    if (!safe_rel(rel) ||
        snprintf(path, sizeof path, "%s/%s", dir, rel) >= (int)sizeof path)
        return K1S_EINVALID;
    fs_mkdir_parents(path, 0755);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return err_from_errno(errno);
    if (write(fd, data, len) != (ssize_t)len)
        rv = K1S_EIO;
    fchmod(fd, (mode_t)(mode & 0777));
    close(fd);
    return rv;
}

static int project(const struct agent_pod_env *env, const char *ns,
                   const json_t *src, bool secret, const char *dir, char *err,
                   size_t errlen)
{
    const char *name =
        json_string_value(json_object_get(src, secret ? "secretName" : "name"));
    const json_t *items = json_object_get(src, "items"), *it, *v;
    json_int_t mode = json_integer_value(json_object_get(src, "defaultMode"));
    json_t *obj = NULL;
    const char *k;
    size_t i;
    int rv;

    if (mode == 0)
        mode = 0644;
    if (name == NULL)
        return K1S_EINVALID;
    rv = env->get_object(env->get_object_arg, secret ? "secrets" : "configmaps",
                         ns, name, &obj);
    if (rv == K1S_ENOTFOUND && json_is_true(json_object_get(src, "optional")))
        return 0;
    if (rv != 0) {
        snprintf(err, errlen, "%s \"%s\" not found",
                 secret ? "secret" : "configmap", name);
        return rv;
    }
    if (json_array_size(items) > 0) {
        json_array_foreach (items, i, it) {
            const char *key = json_string_value(json_object_get(it, "key"));
            const char *path = json_string_value(json_object_get(it, "path"));
            json_int_t m = json_integer_value(json_object_get(it, "mode"));
            char *val = key ? object_key(obj, secret, key) : NULL;
            if (val == NULL) {
                snprintf(err, errlen,
                         "configmap references non-existent "
                         "config key: %s",
                         key ? key : "");
                rv = K1S_ENOTFOUND;
            } else {
                rv = write_key_file(dir, path, val, strlen(val),
                                    (int)(m ? m : mode));
            }
            free(val);
            if (rv != 0)
                break;
        }
    } else {
        const char *sects[3] = {"data", secret ? NULL : "binaryData", NULL};
        for (int s = 0; sects[s] && rv == 0; s++)
            json_object_foreach (json_object_get(obj, sects[s]), k, v) {
                char *val = object_key(obj, secret, k);
                if (val)
                    rv = write_key_file(dir, k, val, strlen(val), (int)mode);
                free(val);
                if (rv != 0)
                    break;
            }
    }
    json_decref(obj);
    if (rv != 0 && err[0] == '\0')
        snprintf(err, errlen, "volume %s: %s", name, err_str(rv));
    return rv;
}

int agent_volumes_prepare(const struct agent_pod_env *env, const json_t *pod,
                          const char *pod_dir, char *err, size_t errlen)
{
    const char *ns = json_string_value(
        json_object_get(json_object_get(pod, "metadata"), "namespace"));
    const json_t *v;
    char dir[PATH_MAX];
    size_t i;
    int rv = 0;

    err[0] = '\0';
    snprintf(dir, sizeof dir, "%s/volumes", pod_dir);
    mkdir(dir, 0755);
    json_array_foreach (
        json_object_get(json_object_get(pod, "spec"), "volumes"), i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const json_t *src;

        if (!safe_rel(name) || strchr(name, '/')) {
            snprintf(err, errlen, "invalid volume name");
            return K1S_EINVALID;
        }
        if ((src = json_object_get(v, "hostPath")) != NULL) {
            const char *p = json_string_value(json_object_get(src, "path"));
            const char *t = json_string_value(json_object_get(src, "type"));
            char tmp[PATH_MAX];
            struct stat st;
            if (p == NULL || p[0] != '/') {
                snprintf(err, errlen, "hostPath %s: path must be absolute",
                         name);
                return K1S_EINVALID;
            }
            if (t && strcmp(t, "DirectoryOrCreate") == 0) {
                snprintf(tmp, sizeof tmp, "%s/", p);
                fs_mkdir_parents(tmp, 0755);
            } else if (t && strcmp(t, "FileOrCreate") == 0) {
                int fd;
                snprintf(tmp, sizeof tmp, "%s", p);
                fs_mkdir_parents(tmp, 0755);
                fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
                if (fd >= 0)
                    close(fd);
            } else if (t && t[0] && stat(p, &st) != 0) {
                snprintf(err, errlen,
                         "hostPath type check failed: %s is "
                         "not a %s",
                         p, t);
                return K1S_ENOTFOUND;
            }
            continue;
        }
        snprintf(dir, sizeof dir, "%s/volumes/%s", pod_dir, name);
        if (mkdir(dir, 0777) != 0 && errno != EEXIST)
            return err_from_errno(errno);
        if ((src = json_object_get(v, "configMap")) != NULL)
            rv = project(env, ns, src, false, dir, err, errlen);
        else if ((src = json_object_get(v, "secret")) != NULL)
            rv = project(env, ns, src, true, dir, err, errlen);
        /* emptyDir and everything else: the empty directory. */
        if (rv != 0)
            return rv;
    }
    return 0;
}

void agent_mounts_free(struct agent_mount *m, size_t n)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(m[i].src);
        free(m[i].dst);
    }
    free(m);
}

int agent_mounts_build(const json_t *pod, const json_t *container,
                       const char *pod_dir, struct agent_mount **ret,
                       size_t *ret_n, char *err, size_t errlen)
{
    const json_t *mounts = json_object_get(container, "volumeMounts"), *m;
    size_t n = json_array_size(mounts), i, k = 0;
    struct agent_mount *out;

    *ret = NULL;
    *ret_n = 0;
    if (n == 0)
        return 0;
    if (n > 256)
        return K1S_EINVALID;
    out = calloc(n, sizeof *out);
    if (out == NULL)
        return K1S_ENOMEM;
    json_array_foreach (mounts, i, m) {
        const char *vn = json_string_value(json_object_get(m, "name"));
        const char *mp = json_string_value(json_object_get(m, "mountPath"));
        const char *sub = json_string_value(json_object_get(m, "subPath"));
        char *src;

        if (vn == NULL || mp == NULL || mp[0] != '/' ||
            (src = agent_volume_source(pod, vn, pod_dir)) == NULL) {
            snprintf(err, errlen,
                     "volumeMount %s: no such volume or bad "
                     "mountPath",
                     vn ? vn : "");
            agent_mounts_free(out, k);
            return K1S_EINVALID;
        }
        if (sub && sub[0]) {
            char *full = NULL;
            if (!safe_rel(sub) || asprintf(&full, "%s/%s", src, sub) < 0) {
                free(src);
                agent_mounts_free(out, k);
                snprintf(err, errlen, "invalid subPath %s", sub);
                return K1S_EINVALID;
            }
            free(src);
            src = full;
            mkdir(src, 0777);
        }
        out[k].src = src;
        out[k].dst = strdup(mp);
        out[k].ro = json_is_true(json_object_get(m, "readOnly"));
        k++;
    }
    *ret = out;
    *ret_n = k;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

int agent_rm_rf(const char *path)
{
    if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0)
        return errno == ENOENT ? 0 : err_from_errno(errno);
    return 0;
}

/*
 * DESIGN: kubeconfig, as client-go's clientcmd reads it.
 *
 * Files: --kubeconfig FILE alone; else every file of $KUBECONFIG (':'
 * separated; missing ones skipped); else ~/.kube/config. The merge keeps,
 * for each named cluster, context and user, the first definition met, and
 * the first non-empty current-context (clientcmd's "first file to set a
 * value wins"). Paths inside a file (certificate-authority, client-key...)
 * are relative to that file's directory, so each merged entry remembers its
 * file's directory under a private key.
 *
 * Flags override the file: --context picks the context, --server, --token,
 * -n and --insecure-skip-tls-verify override what the context gives. With
 * nothing configured the server is http://localhost:8080, as kubectl's
 * default, so the error a user sees is the familiar "connection refused".
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"

#define DIR_KEY "__k1s_dir"

/* ---------------------------------------------------------- global flags */

static int flag_value(int *i, int argc, char **argv, const char *name,
                      const char **ret)
{
    const char *a = argv[*i];
    size_t n = strlen(name);

    if (a[n] == '=') {
        *ret = a + n + 1;
        return 0;
    }
    if (*i + 1 >= argc) {
        fprintf(stderr, "error: flag needs an argument: %s\n", name);
        return 1;
    }
    *ret = argv[++*i];
    return 0;
}

static bool flag_is(const char *a, const char *name)
{
    size_t n = strlen(name);
    return strncmp(a, name, n) == 0 && (a[n] == '\0' || a[n] == '=');
}

int kctl_global_flags(int *argc, char **argv, struct kctl_globals *g)
{
    int out = 1; /* argv[0] stays */
    const char *v;

    memset(g, 0, sizeof *g);
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char **dst = NULL;
        const char *name = NULL;

        if (strcmp(a, "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (flag_is(a, "--kubeconfig"))
            dst = &g->kubeconfig, name = "--kubeconfig";
        else if (flag_is(a, "--context"))
            dst = &g->context, name = "--context";
        else if (flag_is(a, "--server"))
            dst = &g->server, name = "--server";
        else if (flag_is(a, "-s"))
            dst = &g->server, name = "-s";
        else if (flag_is(a, "--token"))
            dst = &g->token, name = "--token";
        else if (flag_is(a, "--namespace"))
            dst = &g->namespace, name = "--namespace";
        else if (flag_is(a, "-n"))
            dst = &g->namespace, name = "-n";
        if (dst != NULL) {
            if (flag_value(&i, *argc, argv, name, dst) != 0)
                return 1;
            continue;
        }
        if (strncmp(a, "-n", 2) == 0 && a[2] != '\0' && a[2] != '=') {
            g->namespace = a + 2; /* -nfoo */
            continue;
        }
        if (flag_is(a, "--insecure-skip-tls-verify")) {
            g->insecure = strcmp(a, "--insecure-skip-tls-verify=false") != 0;
            continue;
        }
        if (flag_is(a, "-v") || flag_is(a, "--v")) {
            if (flag_value(&i, *argc, argv, a[1] == 'v' ? "-v" : "--v", &v) !=
                0)
                return 1;
            g->verbose = atoi(v);
            continue;
        }
        if (flag_is(a, "--request-timeout")) {
            if (flag_value(&i, *argc, argv, "--request-timeout", &v) != 0)
                return 1;
            g->request_timeout_s = strtol(v, NULL, 10);
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

/* ---------------------------------------------------------------- files */

static char *read_file(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    struct buf b;
    char chunk[8192];
    size_t n;

    if (f == NULL)
        return NULL;
    buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&b, chunk, n) != 0)
            break;
    fclose(f);
    return buf_steal(&b, ret_len);
}

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char cwd[4096];

    if (slash == NULL)
        return strdup(getcwd(cwd, sizeof cwd) ? cwd : ".");
    if (path[0] != '/' && getcwd(cwd, sizeof cwd) != NULL) {
        struct buf b;
        buf_init(&b);
        buf_printf(&b, "%s/%.*s", cwd, (int)(slash - path), path);
        return buf_steal(&b, NULL);
    }
    return strndup(path, (size_t)(slash - path) + (slash == path));
}

/* Adds the named entries of `list` (kubeconfig's [{name, cluster}, …]) that
 * `into` does not have yet, each with its file's directory. */
static void merge_named(json_t *into, json_t *list, const char *dir)
{
    size_t i;
    json_t *e;

    if (!json_is_array(list))
        return;
    json_array_foreach (list, i, e) {
        const char *name = json_string_value(json_object_get(e, "name"));
        json_t *copy;
        if (name == NULL || json_object_get(into, name) != NULL)
            continue;
        copy = json_deep_copy(e);
        json_object_set_new(copy, DIR_KEY, json_string(dir));
        json_object_set_new(into, name, copy);
    }
}

static int merge_file(json_t *cfg, const char *path, bool must_exist)
{
    size_t len;
    char *text = read_file(path, &len);
    json_t *docs = NULL, *doc;
    char err[512];
    char *dir;

    if (text == NULL) {
        if (!must_exist && errno == ENOENT)
            return 0;
        fprintf(stderr, "error: stat %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (kctl_yaml_parse(text, len, path, &docs, err, sizeof err) != 0) {
        free(text);
        fprintf(stderr, "error: %s\n", err);
        return -1;
    }
    free(text);
    doc = json_array_get(docs, 0);
    if (!json_is_object(doc)) {
        json_decref(docs);
        return 0;
    }
    dir = dir_of(path);
    merge_named(json_object_get(cfg, "clusters"),
                json_object_get(doc, "clusters"), dir);
    merge_named(json_object_get(cfg, "contexts"),
                json_object_get(doc, "contexts"), dir);
    merge_named(json_object_get(cfg, "users"), json_object_get(doc, "users"),
                dir);
    {
        const char *cur =
            json_string_value(json_object_get(doc, "current-context"));
        const char *have =
            json_string_value(json_object_get(cfg, "current-context"));
        if (cur != NULL && cur[0] != '\0' && (have == NULL || !have[0]))
            json_object_set_new(cfg, "current-context", json_string(cur));
    }
    free(dir);
    json_decref(docs);
    return 0;
}

/* The files clientcmd would read, in precedence order (new array). */
static json_t *config_files(const struct kctl_globals *g)
{
    json_t *files = json_array();
    const char *env = getenv("KUBECONFIG");

    if (g->kubeconfig != NULL && g->kubeconfig[0] != '\0') {
        json_array_append_new(files, json_string(g->kubeconfig));
    } else if (env != NULL && env[0] != '\0') {
        char *copy = strdup(env), *save = NULL;
        for (char *p = strtok_r(copy, ":", &save); p != NULL;
             p = strtok_r(NULL, ":", &save))
            json_array_append_new(files, json_string(p));
        free(copy);
    } else {
        const char *home = getenv("HOME");
        struct buf b;
        buf_init(&b);
        buf_printf(&b, "%s/.kube/config", home ? home : "");
        json_array_append_new(files, json_string(b.data));
        buf_close(&b);
    }
    return files;
}

int kctl_config_load(const struct kctl_globals *g, json_t **ret_cfg,
                     char **ret_path)
{
    json_t *files = config_files(g);
    json_t *cfg =
        json_pack("{s:{}, s:{}, s:{}}", "clusters", "contexts", "users");
    bool explicit_file = g->kubeconfig != NULL && g->kubeconfig[0] != '\0';
    size_t i;
    json_t *f;
    const char *target = NULL;

    json_array_foreach (files, i, f) {
        const char *path = json_string_value(f);
        bool had_cur =
            json_string_value(json_object_get(cfg, "current-context")) != NULL;
        if (merge_file(cfg, path, explicit_file) != 0) {
            json_decref(files);
            json_decref(cfg);
            return -1;
        }
        /* clientcmd writes current-context to the first file that sets
         * it; failing that, to the first existing file; else the last. */
        if (target == NULL && !had_cur &&
            json_string_value(json_object_get(cfg, "current-context")))
            target = path;
    }
    if (target == NULL) {
        json_array_foreach (files, i, f) {
            if (access(json_string_value(f), F_OK) == 0) {
                target = json_string_value(f);
                break;
            }
        }
    }
    if (target == NULL)
        target = json_string_value(
            json_array_get(files, json_array_size(files) - 1));
    if (ret_path != NULL)
        *ret_path = target ? strdup(target) : NULL;
    json_decref(files);
    *ret_cfg = cfg;
    return 0;
}

/* ----------------------------------------------------------- resolution */

static int b64_value(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes standard base64 (whitespace ignored) into out. */
static int b64_decode(const char *s, struct buf *out)
{
    unsigned acc = 0;
    int bits = 0;

    buf_reset(out);
    for (; *s != '\0'; s++) {
        int v;
        if (*s == '=' || *s == '\n' || *s == '\r' || *s == ' ')
            continue;
        v = b64_value((unsigned char)*s);
        if (v < 0)
            return K1S_EINVAL;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            char c = (char)((acc >> (bits - 8)) & 0xff);
            bits -= 8;
            if (buf_append(out, &c, 1) != 0)
                return K1S_ENOMEM;
        }
    }
    return 0;
}

/* A path from the kubeconfig, absolute (relative to the file's dir). */
static char *abs_path(const json_t *entry, const char *p)
{
    const char *dir = json_string_value(json_object_get(entry, DIR_KEY));
    struct buf b;

    if (p == NULL || p[0] == '\0')
        return NULL;
    if (p[0] == '/' || dir == NULL)
        return strdup(p);
    buf_init(&b);
    buf_printf(&b, "%s/%s", dir, p);
    return buf_steal(&b, NULL);
}

static int take_data(const json_t *obj, const char *key, struct buf *out,
                     const char *what)
{
    const char *v = json_string_value(json_object_get(obj, key));
    if (v == NULL)
        return 0;
    if (b64_decode(v, out) != 0) {
        fprintf(stderr, "error: illegal base64 data in %s %s\n", what, key);
        return -1;
    }
    return 0;
}

int kctl_conn_resolve(const struct kctl_globals *g, struct kctl_conn *c)
{
    json_t *cfg = NULL, *ctx_e = NULL, *ctx, *cluster_e = NULL, *cluster;
    json_t *user_e = NULL, *user;
    const char *ctx_name, *s;
    int rv = -1;

    memset(c, 0, sizeof *c);
    buf_init(&c->ca_data);
    buf_init(&c->cert_data);
    buf_init(&c->key_data);
    if (kctl_config_load(g, &cfg, NULL) != 0)
        return -1;
    ctx_name = g->context
                   ? g->context
                   : json_string_value(json_object_get(cfg, "current-context"));
    if (ctx_name != NULL && ctx_name[0] != '\0') {
        ctx_e = json_object_get(json_object_get(cfg, "contexts"), ctx_name);
        if (ctx_e == NULL && g->context != NULL) {
            fprintf(stderr,
                    "error: context was not found for specified context: "
                    "%s\n",
                    ctx_name);
            goto out;
        }
    }
    ctx = json_object_get(ctx_e, "context");
    s = json_string_value(json_object_get(ctx, "cluster"));
    if (s != NULL)
        cluster_e = json_object_get(json_object_get(cfg, "clusters"), s);
    if (s != NULL && cluster_e == NULL && g->server == NULL) {
        fprintf(stderr,
                "error: cluster \"%s\" of context \"%s\" was not found in "
                "the kubeconfig\n",
                s, ctx_name);
        goto out;
    }
    cluster = json_object_get(cluster_e, "cluster");
    s = json_string_value(json_object_get(ctx, "user"));
    if (s != NULL)
        user_e = json_object_get(json_object_get(cfg, "users"), s);
    user = json_object_get(user_e, "user");

    c->context = strdup(ctx_name ? ctx_name : "");
    s = g->server ? g->server
                  : json_string_value(json_object_get(cluster, "server"));
    if (s == NULL || s[0] == '\0')
        s = "http://localhost:8080";
    c->server = strdup(s);
    while (strlen(c->server) > 0 && c->server[strlen(c->server) - 1] == '/')
        c->server[strlen(c->server) - 1] = '\0';
    if (strstr(c->server, "://") == NULL) {
        char *full = malloc(strlen(c->server) + 9);
        sprintf(full, "https://%s", c->server);
        free(c->server);
        c->server = full;
    }
    s = g->namespace ? g->namespace
                     : json_string_value(json_object_get(ctx, "namespace"));
    c->namespace = strdup(s && s[0] ? s : "default");
    c->insecure =
        g->insecure ||
        json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
    c->ca_file = abs_path(cluster_e, json_string_value(json_object_get(
                                         cluster, "certificate-authority")));
    c->cert_file = abs_path(
        user_e, json_string_value(json_object_get(user, "client-certificate")));
    c->key_file = abs_path(
        user_e, json_string_value(json_object_get(user, "client-key")));
    if (take_data(cluster, "certificate-authority-data", &c->ca_data,
                  "cluster") != 0 ||
        take_data(user, "client-certificate-data", &c->cert_data, "user") !=
            0 ||
        take_data(user, "client-key-data", &c->key_data, "user") != 0)
        goto out;
    s = g->token ? g->token : json_string_value(json_object_get(user, "token"));
    if (s == NULL) {
        char *tf = abs_path(
            user_e, json_string_value(json_object_get(user, "tokenFile")));
        if (tf != NULL) {
            size_t len;
            char *t = read_file(tf, &len);
            if (t == NULL) {
                fprintf(stderr, "error: reading token file %s: %s\n", tf,
                        strerror(errno));
                free(tf);
                goto out;
            }
            while (len > 0 && (t[len - 1] == '\n' || t[len - 1] == '\r'))
                t[--len] = '\0';
            c->token = t;
            free(tf);
        }
    } else if (s[0] != '\0') {
        c->token = strdup(s);
    }
    rv = 0;
out:
    json_decref(cfg);
    if (rv != 0)
        kctl_conn_close(c);
    return rv;
}

void kctl_conn_close(struct kctl_conn *c)
{
    if (c == NULL)
        return;
    free(c->server);
    free(c->namespace);
    free(c->token);
    free(c->ca_file);
    free(c->cert_file);
    free(c->key_file);
    free(c->context);
    buf_close(&c->ca_data);
    buf_close(&c->cert_data);
    buf_close(&c->key_data);
    memset(c, 0, sizeof *c);
}

/*
 * DESIGN: `config view | current-context | use-context | get-contexts`,
 * as kubectl's pkg/cmd/config does them, over the merged kubeconfig that
 * config.c loads (so the same files, the same precedence).
 *
 * view prints the v1 Config clientcmd would serialise: named lists sorted
 * by name, relative paths made absolute (clientcmd resolves them when it
 * loads), and — unless --raw or --flatten — certificate and key data
 * shortened the way clientcmdapi.ShortenConfig does (DATA+OMITTED, key
 * data and tokens REDACTED). YAML keys are sorted by the emitter; for -o
 * json the keys are put in the Go structs' field order, as kubectl's JSON
 * printer (4-space indent) shows them.
 *
 * use-context changes one file only: the one config.c names (clientcmd's
 * choice for current-context), read as it is, its current-context
 * replaced, written back whole through a temporary file and rename(2), so
 * a crash never leaves half a kubeconfig.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubectl-lite/jsonpath.h"
#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"

#define DIR_KEY "__k1s_dir"

/* ------------------------------------------------------------ helpers */

/* Go's text/tabwriter as kubectl's printers.GetNewTabWriter sets it up
 * (minwidth 6, tabwidth 4, padding 3, ' '): every cell but the last of a
 * row is padded to its column's width. rows: array of arrays of strings. */
static void print_tabbed(const json_t *rows)
{
    size_t widths[16] = {0};
    size_t i, j;
    json_t *row, *cell;

    json_array_foreach (rows, i, row) {
        json_array_foreach (row, j, cell) {
            size_t w = strlen(json_string_value(cell)) + 3;
            if (j + 1 < json_array_size(row) && j < 16 && w > widths[j])
                widths[j] = w < 6 ? 6 : w;
        }
    }
    json_array_foreach (rows, i, row) {
        json_array_foreach (row, j, cell) {
            const char *s = json_string_value(cell);
            if (j + 1 < json_array_size(row) && j < 16)
                printf("%-*s", (int)widths[j], s);
            else
                printf("%s", s);
        }
        printf("\n");
    }
}

static void make_abs(json_t *obj, const char *key, const char *dir)
{
    const char *p = json_string_value(json_object_get(obj, key));
    struct buf b;

    if (p == NULL || p[0] == '\0' || p[0] == '/' || dir == NULL)
        return;
    buf_init(&b);
    buf_printf(&b, "%s/%s", dir, p);
    json_object_set_new(obj, key, json_string(b.data));
    buf_close(&b);
}

static int b64_encode_file(const char *path, json_t *obj, const char *key)
{
    static const char tbl[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    FILE *f = fopen(path, "rb");
    struct buf in, out;
    char chunk[4096];
    size_t n;

    if (f == NULL) {
        /* Go's os.PathError text: strerror in lower case */
        char why[128];
        snprintf(why, sizeof why, "%s", strerror(errno));
        why[0] = (char)tolower((unsigned char)why[0]);
        fprintf(stderr, "error: open %s: %s\n", path, why);
        return -1;
    }
    buf_init(&in);
    buf_init(&out);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&in, chunk, n);
    fclose(f);
    for (size_t i = 0; i < in.len; i += 3) {
        unsigned char *s = (unsigned char *)in.data + i;
        size_t left = in.len - i;
        unsigned v = (unsigned)s[0] << 16 |
                     (left > 1 ? (unsigned)s[1] << 8 : 0) |
                     (left > 2 ? s[2] : 0);
        char q[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63],
                     left > 1 ? tbl[v >> 6 & 63] : '=',
                     left > 2 ? tbl[v & 63] : '='};
        buf_append(&out, q, 4);
    }
    json_object_set_new(obj, key,
                        json_stringn(out.data ? out.data : "", out.len));
    buf_close(&in);
    buf_close(&out);
    return 0;
}

/* Orders an object's keys: `order` first (those present), then the rest. */
static json_t *ordered(const json_t *obj, const char *const *order)
{
    json_t *out = json_object();
    const char *key;
    json_t *v;

    for (int i = 0; order[i] != NULL; i++)
        if ((v = json_object_get(obj, order[i])) != NULL)
            json_object_set(out, order[i], v);
    json_object_foreach ((json_t *)obj, key, v) {
        if (json_object_get(out, key) == NULL)
            json_object_set(out, key, v);
    }
    return out;
}

static const char *const cluster_order[] = {
    "server",
    "tls-server-name",
    "insecure-skip-tls-verify",
    "certificate-authority",
    "certificate-authority-data",
    "proxy-url",
    "disable-compression",
    "extensions",
    NULL,
};
static const char *const user_order[] = {
    "client-certificate",
    "client-certificate-data",
    "client-key",
    "client-key-data",
    "token",
    "tokenFile",
    "as",
    "as-uid",
    "as-groups",
    "as-user-extra",
    "username",
    "password",
    "auth-provider",
    "exec",
    "extensions",
    NULL,
};
static const char *const context_order[] = {"cluster", "user", "namespace",
                                            "extensions", NULL};

static int cmp_keys(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The named map `m` (name -> entry) as clientcmd's v1 list, sorted by
 * name, each entry {name, <field>: …} (+ the private directory key,
 * dropped by shorten()); null when empty (a nil slice). */
static json_t *named_list(const json_t *m, const char *field,
                          const char *const *order, bool json_order)
{
    size_t n = json_object_size(m), k = 0;
    const char **names;
    const char *key;
    json_t *v, *out;

    if (n == 0)
        return json_null();
    names = calloc(n, sizeof *names);
    json_object_foreach ((json_t *)m, key, v) {
        names[k++] = key;
    }
    qsort(names, n, sizeof *names, cmp_keys);
    out = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_object_get(m, names[i]);
        const char *dir = json_string_value(json_object_get(e, DIR_KEY));
        json_t *body = json_object_get(e, field);
        json_t *copy =
            json_is_object(body) ? json_deep_copy(body) : json_object();
        json_t *item = json_object();
        /* kubectl shows paths as written; --flatten reads them relative
         * to their file, so the directory rides along until then */
        if (dir != NULL)
            json_object_set_new(item, DIR_KEY, json_string(dir));
        json_object_set_new(item, "name", json_string(names[i]));
        json_object_set_new(
            item, field, json_order ? ordered(copy, order) : json_incref(copy));
        json_decref(copy);
        json_array_append_new(out, item);
    }
    free(names);
    return out;
}

/* -------------------------------------------------------------- view */

static int minify(json_t *cfg, const char *ctx_override)
{
    const char *cur_v =
        ctx_override
            ? ctx_override
            : json_string_value(json_object_get(cfg, "current-context"));
    json_t *ctxs = json_object_get(cfg, "contexts");
    json_t *ce, *c, *nm;
    const char *s;
    char cur[512];

    /* a copy: replacing current-context below frees the string cur_v may
     * point into */
    snprintf(cur, sizeof cur, "%s", cur_v ? cur_v : "");
    if (cur[0] == '\0') {
        fprintf(stderr,
                "error: current-context must exist in order to minify\n");
        return -1;
    }
    ce = json_object_get(ctxs, cur);
    if (ce == NULL) {
        fprintf(stderr, "error: cannot locate context %s\n", cur);
        return -1;
    }
    json_object_set_new(cfg, "current-context", json_string(cur));
    c = json_object_get(ce, "context");
    nm = json_object();
    json_object_set(nm, cur, ce);
    json_object_set_new(cfg, "contexts", nm);
    s = json_string_value(json_object_get(c, "cluster"));
    nm = json_object();
    if (s != NULL && s[0] != '\0') {
        json_t *cl = json_object_get(json_object_get(cfg, "clusters"), s);
        if (cl == NULL) {
            fprintf(stderr, "error: cannot locate cluster %s\n", s);
            json_decref(nm);
            return -1;
        }
        json_object_set(nm, s, cl);
    }
    json_object_set_new(cfg, "clusters", nm);
    s = json_string_value(json_object_get(c, "user"));
    nm = json_object();
    if (s != NULL && s[0] != '\0') {
        json_t *u = json_object_get(json_object_get(cfg, "users"), s);
        if (u == NULL) {
            fprintf(stderr, "error: cannot locate user %s\n", s);
            json_decref(nm);
            return -1;
        }
        json_object_set(nm, s, u);
    }
    json_object_set_new(cfg, "users", nm);
    return 0;
}

/* ShortenConfig (or, with flatten, FlattenConfig) over the v1 lists. */
static int shorten(json_t *clusters, json_t *users, bool raw, bool flatten)
{
    size_t i;
    json_t *e;

    json_array_foreach (clusters, i, e) {
        json_t *c = json_object_get(e, "cluster");
        const char *ca;
        if (flatten)
            make_abs(c, "certificate-authority",
                     json_string_value(json_object_get(e, DIR_KEY)));
        json_object_del(e, DIR_KEY);
        ca = json_string_value(json_object_get(c, "certificate-authority"));
        if (flatten && ca != NULL) {
            if (b64_encode_file(ca, c, "certificate-authority-data") != 0)
                return -1;
            json_object_del(c, "certificate-authority");
        } else if (!raw && !flatten &&
                   json_object_get(c, "certificate-authority-data")) {
            json_object_set_new(c, "certificate-authority-data",
                                json_string("DATA+OMITTED"));
        }
    }
    json_array_foreach (users, i, e) {
        json_t *u = json_object_get(e, "user");
        const char *cc, *ck;
        if (flatten) {
            const char *dir = json_string_value(json_object_get(e, DIR_KEY));
            make_abs(u, "client-certificate", dir);
            make_abs(u, "client-key", dir);
        }
        json_object_del(e, DIR_KEY);
        cc = json_string_value(json_object_get(u, "client-certificate"));
        ck = json_string_value(json_object_get(u, "client-key"));
        if (flatten) {
            if (cc != NULL) {
                if (b64_encode_file(cc, u, "client-certificate-data") != 0)
                    return -1;
                json_object_del(u, "client-certificate");
            }
            if (ck != NULL) {
                if (b64_encode_file(ck, u, "client-key-data") != 0)
                    return -1;
                json_object_del(u, "client-key");
            }
            continue;
        }
        if (raw)
            continue;
        if (json_string_length(json_object_get(u, "client-key-data")) > 0)
            json_object_set_new(u, "client-key-data",
                                json_string("DATA+OMITTED"));
        if (json_string_length(json_object_get(u, "client-certificate-data")) >
            0)
            json_object_set_new(u, "client-certificate-data",
                                json_string("DATA+OMITTED"));
        if (json_string_length(json_object_get(u, "token")) > 0)
            json_object_set_new(u, "token", json_string("REDACTED"));
    }
    return 0;
}

static int config_view(struct kctl_client *cl, int argc, char **argv)
{
    bool minify_f = false, raw = false, flatten = false;
    const char *output = NULL, *merge = NULL;
    const struct kctl_opt opts[] = {
        {"minify", 0, KCTL_OPT_BOOL, &minify_f},
        {"raw", 0, KCTL_OPT_BOOL, &raw},
        {"flatten", 0, KCTL_OPT_BOOL, &flatten},
        {"merge", 0, KCTL_OPT_STR, &merge},
        {"output", 'o', KCTL_OPT_STR, &output},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    json_t *cfg = NULL, *out = NULL, *clusters, *users, *contexts, *e;
    size_t i;
    bool as_json;
    const char *jsonpath = NULL;
    int rv = 1;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (pos.n > 0) {
        fprintf(stderr, "error: unexpected arguments: [");
        for (int k = 0; k < pos.n; k++)
            fprintf(stderr, "%s%s", k ? " " : "", pos.v[k]);
        fprintf(stderr, "]\nSee 'kubectl-lite config view -h' for help and "
                        "examples\n");
        goto out;
    }
    if (output != NULL && strncmp(output, "jsonpath=", 9) == 0)
        jsonpath = output + 9;
    if (output != NULL && strcmp(output, "yaml") != 0 &&
        strcmp(output, "json") != 0 && strcmp(output, "name") != 0 &&
        jsonpath == NULL) {
        fprintf(stderr,
                "error: unable to match a printer suitable for the output "
                "format \"%s\", allowed formats are: go-template,"
                "go-template-file,json,jsonpath,jsonpath-as-json,"
                "jsonpath-file,name,template,templatefile,yaml\n",
                output);
        goto out;
    }
    as_json = output != NULL && strcmp(output, "json") == 0;
    if (kctl_config_load(&cl->g, &cfg, NULL) != 0)
        goto out;
    if (minify_f && minify(cfg, cl->g.context) != 0)
        goto out;
    clusters = named_list(json_object_get(cfg, "clusters"), "cluster",
                          cluster_order, as_json);
    users =
        named_list(json_object_get(cfg, "users"), "user", user_order, as_json);
    contexts = named_list(json_object_get(cfg, "contexts"), "context",
                          context_order, as_json);
    json_array_foreach (contexts, i, e) {
        json_object_del(e, DIR_KEY);
    }
    if (shorten(clusters, users, raw, flatten) != 0) {
        json_decref(clusters);
        json_decref(users);
        json_decref(contexts);
        goto out;
    }
    {
        const char *cur =
            json_string_value(json_object_get(cfg, "current-context"));
        out = json_pack("{s:s, s:s, s:{}, s:o, s:o, s:o, s:s}", "kind",
                        "Config", "apiVersion", "v1", "preferences", "clusters",
                        clusters, "users", users, "contexts", contexts,
                        "current-context", cur ? cur : "");
    }
    if (output != NULL && strcmp(output, "name") == 0) {
        /* a Config has no name: kubectl's name printer says so */
        printf("config/<unknown>\n");
    } else if (jsonpath != NULL) {
        struct buf b;
        char err[256];
        int jrv;
        buf_init(&b);
        jrv = kctl_jsonpath(jsonpath, out, &b, err, sizeof err);
        if (jrv != 0) {
            fprintf(stderr, "error: error %s jsonpath %s, %s\n",
                    jrv == K1S_EINVAL ? "parsing" : "executing", jsonpath, err);
            buf_close(&b);
            goto out;
        }
        fwrite(b.data ? b.data : "", 1, b.len, stdout);
        buf_close(&b);
    } else if (as_json) {
        char *s = json_dumps(out, JSON_INDENT(4));
        printf("%s\n", s);
        free(s);
    } else {
        struct buf b;
        buf_init(&b);
        if (kctl_yaml_emit(out, &b) != 0) {
            buf_close(&b);
            fprintf(stderr, "error: cannot write YAML\n");
            goto out;
        }
        fwrite(b.data, 1, b.len, stdout);
        buf_close(&b);
    }
    rv = 0;
out:
    json_decref(out);
    json_decref(cfg);
    free(pos.v);
    return rv;
}

/* ----------------------------------------------------- current-context */

static int config_current_context(struct kctl_client *cl, int argc, char **argv)
{
    const struct kctl_opt opts[] = {{NULL, 0, 0, NULL}};
    struct kctl_strv pos;
    json_t *cfg;
    const char *cur;
    int rv = 1;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    free(pos.v);
    if (kctl_config_load(&cl->g, &cfg, NULL) != 0)
        return 1;
    cur = json_string_value(json_object_get(cfg, "current-context"));
    if (cur == NULL || cur[0] == '\0') {
        fprintf(stderr, "error: current-context is not set\n");
    } else {
        printf("%s\n", cur);
        rv = 0;
    }
    json_decref(cfg);
    return rv;
}

/* --------------------------------------------------------- use-context */

static char *slurp(const char *path, size_t *ret_len)
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
    if (b.data == NULL)
        buf_append(&b, "", 0);
    return buf_steal(&b, ret_len);
}

static int cmp_entries(const void *a, const void *b)
{
    const char *na =
        json_string_value(json_object_get(*(json_t *const *)a, "name"));
    const char *nb =
        json_string_value(json_object_get(*(json_t *const *)b, "name"));
    return strcmp(na ? na : "", nb ? nb : "");
}

/* Sorts a named list ([{name: …}, …]) by name, in place. */
static void sort_by_name(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **v = calloc(n + 1, sizeof *v);

    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(list, i));
    qsort(v, n, sizeof *v, cmp_entries);
    json_array_clear(list);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, v[i]);
    free(v);
}

/* Writes `text` to path through path.tmp + rename, keeping the mode of
 * the file it replaces (0600 for a new one). */
static int write_atomic(const char *path, const char *text, size_t len)
{
    struct buf tmp;
    struct stat st;
    mode_t mode = 0600;
    int fd, rv = -1;

    if (stat(path, &st) == 0)
        mode = st.st_mode & 07777;
    buf_init(&tmp);
    buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        goto out;
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            close(fd);
            unlink(tmp.data);
            goto out;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        unlink(tmp.data);
        goto out;
    }
    if (rename(tmp.data, path) != 0) {
        unlink(tmp.data);
        goto out;
    }
    rv = 0;
out:
    if (rv != 0)
        fprintf(stderr, "error: writing %s: %s\n", path, strerror(errno));
    buf_close(&tmp);
    return rv;
}

static int config_use_context(struct kctl_client *cl, int argc, char **argv)
{
    const struct kctl_opt opts[] = {{NULL, 0, 0, NULL}};
    struct kctl_strv pos;
    json_t *cfg = NULL, *docs = NULL, *doc;
    char *path = NULL, *text = NULL;
    const char *name;
    int rv = 1;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (pos.n != 1) {
        /* kubectl prints the command's help, then the error */
        printf("Set the current-context in a kubeconfig file.\n\n"
               "Aliases:\nuse-context, use\n\n"
               "Examples:\n"
               "  # Use the context for the minikube cluster\n"
               "  kubectl-lite config use-context minikube\n\n"
               "Usage:\n"
               "  kubectl-lite config use-context CONTEXT_NAME [options]\n");
        fprintf(stderr, "error: Unexpected args: [");
        for (int i = 0; i < pos.n; i++)
            fprintf(stderr, "%s%s", i ? " " : "", pos.v[i]);
        fprintf(stderr, "]\n");
        goto out;
    }
    name = pos.v[0];
    if (name[0] == '\0') {
        fprintf(stderr, "error: empty context names are not allowed\n");
        goto out;
    }
    if (kctl_config_load(&cl->g, &cfg, &path) != 0)
        goto out;
    if (json_object_get(json_object_get(cfg, "contexts"), name) == NULL) {
        fprintf(stderr, "error: no context exists with the name: \"%s\"\n",
                name);
        goto out;
    }
    if (path == NULL) {
        fprintf(stderr, "error: no kubeconfig file to write to\n");
        goto out;
    }
    {
        const char *cur =
            json_string_value(json_object_get(cfg, "current-context"));
        if (cur != NULL && strcmp(cur, name) == 0) {
            printf("Switched to context \"%s\".\n", name);
            rv = 0;
            goto out;
        }
    }
    {
        size_t len = 0;
        char err[512];
        struct buf b;
        text = slurp(path, &len);
        if (text != NULL) {
            if (kctl_yaml_parse(text, len, path, &docs, err, sizeof err) != 0) {
                fprintf(stderr, "error: %s\n", err);
                goto out;
            }
            doc = json_array_get(docs, 0);
        } else {
            doc = NULL;
        }
        if (!json_is_object(doc)) {
            json_decref(docs);
            docs =
                json_pack("[{s:s, s:s}]", "apiVersion", "v1", "kind", "Config");
            doc = json_array_get(docs, 0);
        }
        json_object_set_new(doc, "current-context", json_string(name));
        /* what clientcmd.WriteToFile always writes */
        if (json_object_get(doc, "apiVersion") == NULL)
            json_object_set_new(doc, "apiVersion", json_string("v1"));
        if (json_object_get(doc, "kind") == NULL)
            json_object_set_new(doc, "kind", json_string("Config"));
        if (!json_is_object(json_object_get(doc, "preferences")))
            json_object_set_new(doc, "preferences", json_object());
        const char *lists[] = {"clusters", "contexts", "users"};
        for (int i = 0; i < 3; i++) {
            json_t *l = json_object_get(doc, lists[i]);
            if (l == NULL)
                json_object_set_new(doc, lists[i], json_null());
            else if (json_is_array(l))
                sort_by_name(l); /* clientcmd writes its maps in order */
        }
        buf_init(&b);
        if (kctl_yaml_emit(doc, &b) != 0 ||
            write_atomic(path, b.data, b.len) != 0) {
            buf_close(&b);
            goto out;
        }
        buf_close(&b);
    }
    printf("Switched to context \"%s\".\n", name);
    rv = 0;
out:
    free(text);
    free(path);
    json_decref(docs);
    json_decref(cfg);
    free(pos.v);
    return rv;
}

/* -------------------------------------------------------- get-contexts */

static int config_get_contexts(struct kctl_client *cl, int argc, char **argv)
{
    bool no_headers = false;
    const char *output = NULL;
    const struct kctl_opt opts[] = {
        {"no-headers", 0, KCTL_OPT_BOOL, &no_headers},
        {"output", 'o', KCTL_OPT_STR, &output},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    json_t *cfg = NULL, *rows, *ctxs, *names;
    const char *cur;
    bool name_only = false;
    struct buf errs;
    int nerr = 0, rv = 1;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    buf_init(&errs);
    if (output != NULL && output[0] != '\0') {
        if (strcmp(output, "name") != 0) {
            fprintf(stderr, "error: output must be one of '' or 'name': %s\n",
                    output);
            goto out;
        }
        name_only = true;
    }
    if (kctl_config_load(&cl->g, &cfg, NULL) != 0)
        goto out;
    ctxs = json_object_get(cfg, "contexts");
    cur = json_string_value(json_object_get(cfg, "current-context"));
    names = json_array();
    if (pos.n == 0) {
        const char *key;
        json_t *v;
        json_object_foreach (ctxs, key, v) {
            json_array_append_new(names, json_string(key));
        }
    } else {
        for (int i = 0; i < pos.n; i++) {
            if (json_object_get(ctxs, pos.v[i]) != NULL) {
                json_array_append_new(names, json_string(pos.v[i]));
            } else {
                if (nerr++ > 0)
                    buf_append_str(&errs, "\n");
                buf_printf(&errs, "context %s not found", pos.v[i]);
            }
        }
    }
    {
        size_t n = json_array_size(names);
        const char **v = calloc(n + 1, sizeof *v);
        for (size_t i = 0; i < n; i++)
            v[i] = json_string_value(json_array_get(names, i));
        qsort(v, n, sizeof *v, cmp_keys);
        rows = json_array();
        if (!no_headers && !name_only)
            json_array_append_new(rows, json_pack("[s,s,s,s,s]", "CURRENT",
                                                  "NAME", "CLUSTER", "AUTHINFO",
                                                  "NAMESPACE"));
        for (size_t i = 0; i < n; i++) {
            json_t *c = json_object_get(json_object_get(ctxs, v[i]), "context");
            const char *cluster =
                json_string_value(json_object_get(c, "cluster"));
            const char *user = json_string_value(json_object_get(c, "user"));
            const char *ns = json_string_value(json_object_get(c, "namespace"));
            if (name_only) {
                printf("%s\n", v[i]);
                continue;
            }
            json_array_append_new(
                rows,
                json_pack("[s,s,s,s,s]",
                          cur != NULL && strcmp(cur, v[i]) == 0 ? "*" : "",
                          v[i], cluster ? cluster : "", user ? user : "",
                          ns ? ns : ""));
        }
        free(v);
    }
    print_tabbed(rows);
    json_decref(rows);
    json_decref(names);
    if (nerr > 0) {
        /* kubectl prints one error with "error: ", several one a line */
        fprintf(stderr, "%s%s\n", nerr > 1 ? "" : "error: ", errs.data);
        goto out;
    }
    rv = 0;
out:
    buf_close(&errs);
    json_decref(cfg);
    free(pos.v);
    return rv;
}

/* -------------------------------------------------------------- verb */

int kctl_cmd_config(struct kctl_client *cl, int argc, char **argv)
{
    static const struct {
        const char *name;
        kctl_verb_fn run;
    } subs[] = {
        {"view", config_view},
        {"current-context", config_current_context},
        {"use-context", config_use_context},
        {"use", config_use_context},
        {"get-contexts", config_get_contexts},
    };

    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "Modify kubeconfig files.\n\nAvailable Commands:\n"
                   "  current-context   Display the current-context\n"
                   "  get-contexts      Describe one or many contexts\n"
                   "  use-context       Set the current-context in a "
                   "kubeconfig file\n"
                   "  view              Display merged kubeconfig settings "
                   "or a specified kubeconfig file\n");
        return argc < 2 ? 1 : 0;
    }
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (strcmp(argv[1], subs[i].name) == 0)
            return subs[i].run(cl, argc - 1, argv + 1);
    fprintf(stderr,
            "error: unknown command \"%s\"\nSee 'kubectl-lite config -h' for "
            "help and examples\n",
            argv[1]);
    return 1;
}

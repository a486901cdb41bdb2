/*
 * DESIGN: the command-line and manifest-reading pieces every verb shares.
 *
 * Options follow pflag's rules as kubectl users type them: --name=value,
 * --name value, -x value, -xvalue, -x=value, bools bare or =true/false,
 * "--" ends the options. Manifests: -f FILE | DIR | -, each file split into
 * its YAML documents and `List` objects flattened, in file order (a
 * directory's files in name order), as kubectl's resource builder does.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kubectl-lite/jsonpath.h"
#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"

/* ---------------------------------------------------------------- opts */

static const struct kctl_opt *find_long(const struct kctl_opt *opts,
                                        const char *name, size_t len)
{
    for (; opts->name != NULL; opts++)
        if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
            return opts;
    return NULL;
}

static const struct kctl_opt *find_short(const struct kctl_opt *opts, char c)
{
    for (; opts->name != NULL; opts++)
        if (opts->short_name == c)
            return opts;
    return NULL;
}

static int set_opt(const struct kctl_opt *o, const char *val, bool has_val,
                   int *i, int argc, char **argv, const char *shown)
{
    if (o->type == KCTL_OPT_BOOL) {
        bool v = true;
        if (has_val) {
            if (strcmp(val, "true") == 0)
                v = true;
            else if (strcmp(val, "false") == 0)
                v = false;
            else {
                fprintf(stderr,
                        "error: invalid argument \"%s\" for \"%s\" flag: "
                        "strconv.ParseBool: parsing \"%s\": invalid "
                        "syntax\n",
                        val, shown, val);
                return 1;
            }
        }
        *(bool *)o->ptr = v;
        return 0;
    }
    if (!has_val) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "error: flag needs an argument: %s\n", shown);
            return 1;
        }
        val = argv[++*i];
    }
    switch (o->type) {
    case KCTL_OPT_STR:
        *(const char **)o->ptr = val;
        break;
    case KCTL_OPT_STRS: {
        struct kctl_strv *sv = o->ptr;
        const char **nv = realloc(sv->v, sizeof *nv * (size_t)(sv->n + 2));
        if (nv == NULL)
            return 1;
        nv[sv->n++] = val;
        nv[sv->n] = NULL;
        sv->v = nv;
        break;
    }
    case KCTL_OPT_INT: {
        char *end;
        long v = strtol(val, &end, 10);
        if (*val == '\0' || *end != '\0') {
            fprintf(stderr,
                    "error: invalid argument \"%s\" for \"%s\" flag: "
                    "strconv.ParseInt: parsing \"%s\": invalid syntax\n",
                    val, shown, val);
            return 1;
        }
        *(long *)o->ptr = v;
        break;
    }
    case KCTL_OPT_BOOL:
        break;
    }
    return 0;
}

static int push(struct kctl_strv *pos, const char *a)
{
    const char **nv = realloc(pos->v, sizeof *nv * (size_t)(pos->n + 2));
    if (nv == NULL)
        return 1;
    nv[pos->n++] = a;
    nv[pos->n] = NULL;
    pos->v = nv;
    return 0;
}

int kctl_opts_parse(int argc, char **argv, const struct kctl_opt *opts,
                    struct kctl_strv *pos)
{
    pos->v = NULL;
    pos->n = 0;
    if (push(pos, argv[0]) != 0) /* keeps v non-NULL; dropped below */
        return 1;
    pos->n = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct kctl_opt *o;
        char shown[128];

        if (strcmp(a, "--") == 0) {
            while (++i < argc)
                if (push(pos, argv[i]) != 0)
                    return 1;
            break;
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (push(pos, a) != 0)
                return 1;
            continue;
        }
        if (a[1] == '-') {
            const char *eq = strchr(a + 2, '=');
            size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
            o = find_long(opts, a + 2, len);
            snprintf(shown, sizeof shown, "--%.*s", (int)len, a + 2);
            if (o == NULL) {
                fprintf(stderr,
                        "error: unknown flag: %s\nSee 'kubectl-lite %s "
                        "--help' for usage.\n",
                        shown, argv[0]);
                return 1;
            }
            if (set_opt(o, eq ? eq + 1 : NULL, eq != NULL, &i, argc, argv,
                        shown) != 0)
                return 1;
            continue;
        }
        o = find_short(opts, a[1]);
        if (o == NULL) {
            fprintf(stderr,
                    "error: unknown shorthand flag: '%c' in %s\nSee "
                    "'kubectl-lite %s --help' for usage.\n",
                    a[1], a, argv[0]);
            return 1;
        }
        snprintf(shown, sizeof shown, "-%c", a[1]);
        if (a[2] == '\0') {
            if (set_opt(o, NULL, false, &i, argc, argv, shown) != 0)
                return 1;
        } else {
            const char *v = a + 2 + (a[2] == '=');
            if (o->type == KCTL_OPT_BOOL && a[2] != '=') {
                fprintf(stderr, "error: unknown flag combination: %s\n", a);
                return 1;
            }
            if (set_opt(o, v, true, &i, argc, argv, shown) != 0)
                return 1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ manifests */

static char *slurp(FILE *f, size_t *ret_len)
{
    struct buf b;
    char chunk[65536];
    size_t n;

    buf_init(&b);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > KCTL_YAML_MAX_BYTES || buf_append(&b, chunk, n)) {
            buf_close(&b);
            errno = EFBIG;
            return NULL;
        }
    }
    return buf_steal(&b, ret_len);
}

static int add_objects(const json_t *doc, const char *source, json_t *objs,
                       json_t *sources)
{
    const char *kind = json_string_value(json_object_get(doc, "kind"));
    size_t kl = kind ? strlen(kind) : 0;

    if (!json_is_object(doc)) {
        fprintf(stderr,
                "error: error validating \"%s\": a manifest must be a "
                "mapping (an object), not %s\n",
                source, json_is_array(doc) ? "a list" : "a scalar");
        return -1;
    }
    if (kl >= 4 && strcmp(kind + kl - 4, "List") == 0 &&
        json_is_array(json_object_get(doc, "items"))) {
        size_t i;
        json_t *it;
        json_array_foreach (json_object_get(doc, "items"), i, it) {
            if (add_objects(it, source, objs, sources) != 0)
                return -1;
        }
        return 0;
    }
    if (kind == NULL ||
        json_string_value(json_object_get(doc, "apiVersion")) == NULL) {
        fprintf(stderr,
                "error: error validating \"%s\": error validating data: "
                "[%s%s%s]; if you choose to ignore these errors, turn "
                "validation off with --validate=false\n",
                source,
                json_object_get(doc, "apiVersion") ? "" : "apiVersion not set",
                !json_object_get(doc, "apiVersion") && !kind ? ", " : "",
                kind ? "" : "kind not set");
        return -1;
    }
    json_array_append(objs, (json_t *)doc);
    json_array_append_new(sources, json_string(source));
    return 0;
}

static int read_one(const char *path, FILE *f, json_t *objs, json_t *sources)
{
    size_t len;
    char *text = slurp(f, &len);
    json_t *docs;
    char err[1024];
    size_t i;
    json_t *d;
    int rv = 0;

    if (text == NULL) {
        fprintf(stderr, "error: reading %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (kctl_yaml_parse(text, len, path, &docs, err, sizeof err) != 0) {
        free(text);
        fprintf(stderr, "error: %s\n", err);
        return -1;
    }
    free(text);
    json_array_foreach (docs, i, d) {
        if (json_is_null(d))
            continue;
        if ((rv = add_objects(d, path, objs, sources)) != 0)
            break;
    }
    json_decref(docs);
    return rv;
}

static bool manifest_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot != NULL &&
           (strcmp(dot, ".yaml") == 0 || strcmp(dot, ".yml") == 0 ||
            strcmp(dot, ".json") == 0);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_path(const char *path, bool recursive, bool top, json_t *objs,
                     json_t *sources)
{
    struct stat st;
    FILE *f;
    int rv;

    if (strcmp(path, "-") == 0)
        return read_one("STDIN", stdin, objs, sources);
    if (stat(path, &st) != 0) {
        fprintf(stderr, "error: the path \"%s\" does not exist\n", path);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        DIR *d;
        struct dirent *de;
        char **names = NULL;
        size_t n = 0;
        if (!top && !recursive)
            return 0;
        d = opendir(path);
        if (d == NULL) {
            fprintf(stderr, "error: %s: %s\n", path, strerror(errno));
            return -1;
        }
        while ((de = readdir(d)) != NULL) {
            char **nn;
            if (de->d_name[0] == '.')
                continue;
            nn = realloc(names, sizeof *names * (n + 1));
            if (nn == NULL)
                break;
            names = nn;
            names[n++] = strdup(de->d_name);
        }
        closedir(d);
        qsort(names, n, sizeof *names, cmp_names);
        rv = 0;
        for (size_t i = 0; i < n; i++) {
            struct buf p;
            struct stat cst;
            buf_init(&p);
            buf_printf(&p, "%s/%s", path, names[i]);
            if (rv == 0 && stat(p.data, &cst) == 0) {
                if (S_ISDIR(cst.st_mode))
                    rv = read_path(p.data, recursive, false, objs, sources);
                else if (manifest_ext(names[i]))
                    rv = read_path(p.data, recursive, false, objs, sources);
            }
            buf_close(&p);
            free(names[i]);
        }
        free(names);
        return rv;
    }
    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "error: open %s: %s\n", path, strerror(errno));
        return -1;
    }
    rv = read_one(path, f, objs, sources);
    fclose(f);
    return rv;
}

int kctl_read_manifests(const char *verb, const char *const *files, int nfiles,
                        bool recursive, json_t **ret_objs, json_t **ret_sources)
{
    json_t *objs = json_array(), *sources = json_array();

    for (int i = 0; i < nfiles; i++) {
        if (read_path(files[i], recursive, true, objs, sources) != 0) {
            json_decref(objs);
            json_decref(sources);
            return -1;
        }
    }
    if (json_array_size(objs) == 0) {
        fprintf(stderr, "error: no objects passed to %s\n", verb);
        json_decref(objs);
        json_decref(sources);
        return -1;
    }
    *ret_objs = objs;
    *ret_sources = sources;
    return 0;
}

/* -------------------------------------------------------------- targets */

static int add_target(struct kctl_target **v, int *n,
                      const struct kctl_resource *r, const char *name)
{
    struct kctl_target *nv = realloc(*v, sizeof *nv * (size_t)(*n + 1));
    if (nv == NULL)
        return -1;
    nv[*n].r = *r;
    nv[*n].name = name;
    *v = nv;
    ++*n;
    return 0;
}

int kctl_targets(struct kctl_client *cl, const char *const *args, int n,
                 struct kctl_target **ret, int *ret_n)
{
    struct kctl_target *v = NULL;
    int nv = 0;
    struct kctl_resource r;

    *ret = NULL;
    *ret_n = 0;
    if (n == 0)
        return 0;
    if (strchr(args[0], '/') != NULL) {
        for (int i = 0; i < n; i++) {
            const char *slash = strchr(args[i], '/');
            char type[256];
            if (slash == NULL) {
                fprintf(stderr,
                        "error: there is no need to specify a resource type "
                        "as a separate argument when passing arguments in "
                        "resource/name form (e.g. 'kubectl-lite get "
                        "resource/<resource_name>' instead of 'kubectl-lite "
                        "get resource resource/<resource_name>'\n");
                free(v);
                return -1;
            }
            snprintf(type, sizeof type, "%.*s", (int)(slash - args[i]),
                     args[i]);
            if (kctl_resource_find(cl, type, &r) != 0 ||
                add_target(&v, &nv, &r, slash + 1) != 0) {
                free(v);
                return -1;
            }
        }
    } else {
        char *types = strdup(args[0]), *save = NULL;
        for (char *t = strtok_r(types, ",", &save); t != NULL;
             t = strtok_r(NULL, ",", &save)) {
            if (kctl_resource_find(cl, t, &r) != 0) {
                free(types);
                free(v);
                return -1;
            }
            if (n == 1) {
                if (add_target(&v, &nv, &r, NULL) != 0)
                    break;
                continue;
            }
            for (int i = 1; i < n; i++) {
                if (strchr(args[i], '/') != NULL) {
                    fprintf(stderr,
                            "error: there is no need to specify a resource "
                            "type as a separate argument when passing "
                            "arguments in resource/name form\n");
                    free(types);
                    free(v);
                    return -1;
                }
                if (add_target(&v, &nv, &r, args[i]) != 0)
                    break;
            }
        }
        free(types);
    }
    *ret = v;
    *ret_n = nv;
    return 0;
}

void kctl_print_action(const struct kctl_resource *r, const char *name,
                       const char *action, const char *dry_run)
{
    char q[160];
    kctl_resource_qualified(r, true, q, sizeof q);
    printf("%s/%s %s%s\n", q, name, action,
           dry_run == NULL                  ? ""
           : strcmp(dry_run, "server") == 0 ? " (server dry run)"
           : strcmp(dry_run, "client") == 0 ? " (dry run)"
                                            : "");
}

/* Go's time.ParseDuration: "300ms", "1.5h", "2h45m", "-1s"; a unit is
 * required except for "0". Returns 0 and *ret_ns, or -1 with the reason
 * in why ("time: invalid duration \"x\""). */
int kctl_go_duration(const char *s, int64_t *ret_ns, char *why, size_t len)
{
    static const struct {
        const char *unit;
        double ns;
    } units[] = {{"ns", 1},          {"us", 1e3},  {"\xc2\xb5s", 1e3},
                 {"\xce\xbcs", 1e3}, {"ms", 1e6},  {"s", 1e9},
                 {"m", 60e9},        {"h", 3600e9}};
    const char *p = s;
    double total = 0;
    int sign = 1;

    if (*p == '-' || *p == '+')
        sign = *p++ == '-' ? -1 : 1;
    if (strcmp(p, "0") == 0) {
        *ret_ns = 0;
        return 0;
    }
    if (*p == '\0')
        goto invalid;
    while (*p != '\0') {
        char *end;
        double v;
        size_t ul = 0, best = 0;
        int found = -1;
        if (!isdigit((unsigned char)*p) && *p != '.')
            goto invalid;
        v = strtod(p, &end);
        if (end == p)
            goto invalid;
        p = end;
        while (p[ul] != '\0' && p[ul] != '.' && !isdigit((unsigned char)p[ul]))
            ul++;
        if (ul == 0) {
            snprintf(why, len, "time: missing unit in duration \"%s\"", s);
            return -1;
        }
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            size_t l = strlen(units[i].unit);
            if (l == ul && strncmp(p, units[i].unit, l) == 0 && l > best) {
                best = l;
                found = (int)i;
            }
        }
        if (found < 0) {
            snprintf(why, len, "time: unknown unit \"%.*s\" in duration \"%s\"",
                     (int)ul, p, s);
            return -1;
        }
        total += v * units[found].ns;
        p += ul;
    }
    *ret_ns = (int64_t)(sign * total);
    return 0;
invalid:
    snprintf(why, len, "time: invalid duration \"%s\"", s);
    return -1;
}

int64_t kctl_parse_duration(const char *s)
{
    char why[160];
    int64_t ns;
    char *end;
    double v = strtod(s, &end);

    /* A bare number is seconds (kubectl's older integer flags). */
    if (end != s && *end == '\0')
        return v < 0 ? -1 : (int64_t)(v * 1e9);
    return kctl_go_duration(s, &ns, why, sizeof why) == 0 && ns >= 0 ? ns : -1;
}

/* HumanDuration (k8s.io/apimachinery/pkg/util/duration), for tables the
 * server did not format. */
void kctl_human_duration(int64_t ns, char *out, size_t len)
{
    int64_t s = ns / 1000000000ll, m, h;

    if (s < -1) {
        snprintf(out, len, "<invalid>");
        return;
    }
    if (s < 0)
        s = 0;
    m = s / 60;
    h = s / 3600;
    if (s < 120)
        snprintf(out, len, "%llds", (long long)s);
    else if (m < 10 && s % 60 != 0)
        snprintf(out, len, "%lldm%llds", (long long)m, (long long)(s % 60));
    else if (m < 180)
        snprintf(out, len, "%lldm", (long long)m);
    else if (h < 8 && m % 60 != 0)
        snprintf(out, len, "%lldh%lldm", (long long)h, (long long)(m % 60));
    else if (h < 48)
        snprintf(out, len, "%lldh", (long long)h);
    else if (h < 24 * 8 && h % 24 != 0)
        snprintf(out, len, "%lldd%lldh", (long long)(h / 24),
                 (long long)(h % 24));
    else if (h < 24 * 365 * 2)
        snprintf(out, len, "%lldd", (long long)(h / 24));
    else if (h < 24 * 365 * 8 && (h / 24) % 365 != 0)
        snprintf(out, len, "%lldy%lldd", (long long)(h / 24 / 365),
                 (long long)((h / 24) % 365));
    else
        snprintf(out, len, "%lldy", (long long)(h / 24 / 365));
}

const char *kctl_str_at(const json_t *o, const char *a, const char *b)
{
    const json_t *v = json_object_get(o, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_string_value(v);
}

struct sel_req {
    const char *key;
    char *text;
};

static int cmp_req(const void *a, const void *b)
{
    const struct sel_req *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    /* stable: equal keys keep their order (matchLabels first) */
    return c != 0 ? c : (x < y ? -1 : x > y);
}

int kctl_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **kctl_sorted_keys(const json_t *o, size_t *ret_n)
{
    size_t n = json_object_size(o), i = 0;
    const char **k = malloc(sizeof *k * (n ? n : 1));
    const char *key;
    json_t *v;

    *ret_n = 0;
    if (k == NULL)
        return NULL;
    json_object_foreach ((json_t *)o, key, v) {
        k[i++] = key;
    }
    qsort(k, n, sizeof *k, kctl_cmp_str);
    *ret_n = n;
    return k;
}

size_t kctl_runes(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            n++;
    return n;
}

void kctl_format_labels(const json_t *labels, struct buf *out)
{
    size_t n = json_object_size(labels), i = 0;
    char **pairs;
    const char *k;
    json_t *v;

    if (n == 0) {
        buf_append_str(out, "<none>");
        return;
    }
    pairs = calloc(n, sizeof *pairs);
    if (pairs == NULL)
        return;
    json_object_foreach ((json_t *)labels, k, v) {
        const char *val = json_string_value(v);
        if (asprintf(&pairs[i], "%s=%s", k, val ? val : "") >= 0)
            i++;
    }
    qsort(pairs, i, sizeof *pairs, kctl_cmp_str);
    for (size_t j = 0; j < i; j++) {
        buf_printf(out, "%s%s", j ? "," : "", pairs[j]);
        free(pairs[j]);
    }
    free(pairs);
}

void kctl_selector_string(const json_t *sel, struct buf *out)
{
    const json_t *ml = json_object_get(sel, "matchLabels");
    const json_t *me = json_object_get(sel, "matchExpressions");
    size_t n = json_object_size(ml) + json_array_size(me), k = 0, i;
    struct sel_req *r = calloc(n ? n : 1, sizeof *r);
    const char *key;
    json_t *v, *e;

    if (r == NULL)
        return;
    json_object_foreach ((json_t *)ml, key, v) {
        r[k].key = key;
        if (asprintf(&r[k].text, "%s=%s", key,
                     json_string_value(v) ? json_string_value(v) : "") >= 0)
            k++;
    }
    json_array_foreach (me, i, e) {
        const char *ek = kctl_str_at(e, "key", NULL);
        const char *op = kctl_str_at(e, "operator", NULL);
        const json_t *vals = json_object_get(e, "values");
        struct buf t;
        if (ek == NULL || op == NULL)
            continue;
        buf_init(&t);
        if (strcmp(op, "Exists") == 0) {
            buf_append_str(&t, ek);
        } else if (strcmp(op, "DoesNotExist") == 0) {
            buf_printf(&t, "!%s", ek);
        } else {
            size_t vn = json_array_size(vals), j;
            const char **vs = calloc(vn ? vn : 1, sizeof *vs);
            for (j = 0; vs != NULL && j < vn; j++) {
                const char *x = json_string_value(json_array_get(vals, j));
                vs[j] = x ? x : "";
            }
            if (vs != NULL)
                qsort(vs, vn, sizeof *vs, kctl_cmp_str);
            buf_printf(&t, "%s %s (", ek,
                       strcmp(op, "In") == 0 ? "in" : "notin");
            for (j = 0; vs != NULL && j < vn; j++)
                buf_printf(&t, "%s%s", j ? "," : "", vs[j]);
            buf_append_str(&t, ")");
            free(vs);
        }
        r[k].key = ek;
        r[k++].text = buf_steal(&t, NULL);
    }
    qsort(r, k, sizeof *r, cmp_req);
    for (i = 0; i < k; i++) {
        buf_printf(out, "%s%s", i ? "," : "", r[i].text ? r[i].text : "");
        free(r[i].text);
    }
    free(r);
}

void kctl_objs_free(struct kctl_objs *os)
{
    for (int i = 0; i < os->n; i++) {
        free(os->v[i].ns);
        free(os->v[i].name);
        json_decref(os->v[i].obj);
    }
    free(os->v);
    os->v = NULL;
    os->n = 0;
}

int kctl_objs_add(struct kctl_objs *os, const struct kctl_resource *r,
                  const char *ns, const char *name, json_t *obj)
{
    struct kctl_obj *nv = realloc(os->v, sizeof *nv * (size_t)(os->n + 1));
    if (nv == NULL) {
        json_decref(obj);
        return -1;
    }
    nv[os->n].r = *r;
    nv[os->n].ns = (r->namespaced && ns != NULL) ? strdup(ns) : NULL;
    nv[os->n].name = strdup(name);
    nv[os->n].obj = obj;
    os->v = nv;
    os->n++;
    return 0;
}

int kctl_check_output(const char *output, const char *allowed)
{
    if (output == NULL || output[0] == '\0' || strcmp(output, "name") == 0 ||
        strcmp(output, "json") == 0 || strcmp(output, "yaml") == 0)
        return 0;
    fprintf(stderr,
            "error: unable to match a printer suitable for the output format "
            "\"%s\", allowed formats are: %s\n",
            output, allowed);
    return -1;
}

int kctl_print_object(const json_t *obj, const char *output)
{
    struct buf b;
    int rv;

    buf_init(&b);
    if (strcmp(output, "json") == 0) {
        rv = kctl_json_go(obj, 4, &b);
        if (rv == 0)
            rv = buf_append(&b, "\n", 1);
    } else {
        rv = kctl_yaml_emit(obj, &b);
    }
    if (rv == 0 && b.len > 0)
        fwrite(b.data, 1, b.len, stdout);
    buf_close(&b);
    return rv == 0 ? 0 : -1;
}

/*
 * DESIGN: `wait --for=delete|create|condition=C[=V]|jsonpath=EXPR[=V]`, as
 * kubectl's pkg/cmd/wait does it (kubectl-wire.md §4.6, §4.8).
 *
 * The objects are found as kubectl's resource builder finds them (TYPE/NAME,
 * TYPE NAME…, TYPE -l SEL | --all | --field-selector, -f FILE; -A for every
 * namespace); a named object that does not exist is a NotFound error,
 * except for --for=delete where it is already what was asked for.
 *
 * Each object is then waited on in turn, with one deadline for the whole
 * command (--timeout, default 30s; 0 = look once; negative = a week):
 * an informer-style list (fieldSelector=metadata.name=NAME) and watch from
 * the list's resourceVersion, re-watched from the last version seen when
 * the server ends the stream (each watch asks for timeoutSeconds = the
 * time left) and re-listed after an ERROR event. --for=create polls every
 * 500ms as kubectl does. Success prints "KIND.GROUP/NAME condition met";
 * a timeout prints "timed out waiting for the condition on RESOURCE/NAME".
 * Failures are gathered and printed at the end as kubectl's CheckErr
 * prints an aggregate: one as "error: …", several one a line.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kubectl-lite/jsonpath.h"
#include "kubectl-lite/kctl_int.h"
#include "lib/clock.h"

#define WEEK_NS ((int64_t)168 * 3600 * 1000000000LL)

enum wait_kind { WAIT_DELETE, WAIT_CREATE, WAIT_CONDITION, WAIT_JSONPATH };

struct wait_cond {
    enum wait_kind kind;
    char *name;  /* condition type, or the jsonpath template */
    char *value; /* wanted status / value; NULL = any (jsonpath) */
};

/* ------------------------------------------------------------ helpers */

/* Failures kept for the end, as an aggregate. */
struct errs {
    struct buf text;
    int n;
};

static void errs_add(struct errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void errs_add(struct errs *e, const char *fmt, ...)
{
    va_list ap;
    char line[1024];
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    buf_printf(&e->text, "%s%s", e->n++ ? "\n" : "", line);
}

static void errs_print(const struct errs *e)
{
    if (e->n == 1)
        fprintf(stderr, "%s%s\n",
                strncmp(e->text.data, "error: ", 7) == 0 ||
                        strncmp(e->text.data, "Error from server", 17) == 0
                    ? ""
                    : "error: ",
                e->text.data);
    else if (e->n > 1)
        fprintf(stderr, "%s\n", e->text.data);
}

/* Message of a non-2xx answer (Status.message), for the aggregate. */
static void resp_message(const struct kctl_resp *r, char *out, size_t len)
{
    json_t *st =
        json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    const char *m = json_string_value(json_object_get(st, "message"));
    const char *reason = json_string_value(json_object_get(st, "reason"));
    if (m != NULL && reason != NULL && reason[0] != '\0')
        snprintf(out, len, "Error from server (%s): %s", reason, m);
    else if (m != NULL)
        snprintf(out, len, "Error from server: %s", m);
    else
        snprintf(out, len,
                 "the server responded with the status code %ld but did not "
                 "return more information",
                 r->status);
    json_decref(st);
}

/* GET one object. Returns 0 (*ret new reference), 1 for 404, -1 for
 * another failure (message in msg; "" when already printed). */
static int get_object(struct kctl_client *cl, const struct kctl_resource *r,
                      const char *ns, const char *name, json_t **ret, char *msg,
                      size_t len)
{
    struct buf p;
    struct kctl_resp resp;
    int rv;

    *ret = NULL;
    msg[0] = '\0';
    buf_init(&p);
    kctl_resource_path(&p, r, ns, name);
    rv = kctl_http(cl, "GET", p.data, NULL, NULL, 0, NULL, &resp);
    buf_close(&p);
    if (rv != 0) {
        kctl_resp_close(&resp);
        return -1;
    }
    if (resp.status == 404) {
        resp_message(&resp, msg, len);
        rv = 1;
    } else if (resp.status < 200 || resp.status > 299) {
        resp_message(&resp, msg, len);
        rv = -1;
    } else {
        *ret = json_loadb(resp.body.data, resp.body.len, 0, NULL);
        rv = *ret ? 0 : -1;
        if (*ret == NULL)
            snprintf(msg, len, "cannot decode the server's answer");
    }
    kctl_resp_close(&resp);
    return rv;
}

/* ----------------------------------------------------- the conditions */

/* --for's value → cond. Returns 0 or -1 after printing. */
static int parse_for(const char *f, struct wait_cond *c)
{
    memset(c, 0, sizeof *c);
    if (f == NULL)
        f = "";
    if (strcasecmp(f, "delete") == 0) {
        c->kind = WAIT_DELETE;
        return 0;
    }
    if (strcasecmp(f, "create") == 0) {
        c->kind = WAIT_CREATE;
        return 0;
    }
    if (strncmp(f, "condition=", 10) == 0) {
        const char *n = f + 10, *eq = strchr(n, '=');
        c->kind = WAIT_CONDITION;
        c->name = eq ? strndup(n, (size_t)(eq - n)) : strdup(n);
        c->value = strdup(eq ? eq + 1 : "true");
        return 0;
    }
    if (strncmp(f, "jsonpath=", 9) == 0) {
        /* splitJSONPathInput: split on single '=', "==" stays */
        const char *in = f + 9;
        struct buf parts[3];
        int np = 1;
        const char *expr, *val = NULL;
        char *s;
        for (int i = 0; i < 3; i++)
            buf_init(&parts[i]);
        buf_append(&parts[0], "", 0);
        for (size_t i = 0; in[i] != '\0'; i++) {
            if (in[i] == '=' && in[i + 1] == '=') {
                buf_append(&parts[np - 1], "==", 2);
                i++;
            } else if (in[i] == '=') {
                if (np == 3) {
                    np = 4;
                    break;
                }
                buf_append(&parts[np++], "", 0);
            } else {
                buf_append(&parts[np - 1], &in[i], 1);
            }
        }
        if (np > 2) {
            fprintf(stderr, "error: jsonpath wait format must be "
                            "--for=jsonpath='{.status.readyReplicas}'=3 or "
                            "--for=jsonpath='{.status.readyReplicas}'\n");
            goto jp_fail;
        }
        expr = parts[0].data;
        /* RelaxedJSONPathExpression */
        if (expr[0] != '\0') {
            size_t l = strlen(expr);
            const char *body = NULL;
            size_t bl = 0;
            if (expr[0] == '{' && l >= 2 && expr[l - 1] == '}') {
                body = expr + 1;
                bl = l - 2;
            } else {
                body = expr;
                bl = l;
            }
            if (bl > 0 && body[0] == '.') {
                body++;
                bl--;
            }
            if (bl == 0 || memchr(body, '{', bl) || memchr(body, '}', bl)) {
                fprintf(stderr,
                        "error: unexpected path string, expected a "
                        "'name1.name2' or '.name1.name2' or '{name1.name2}' "
                        "or '{.name1.name2}'\n");
                goto jp_fail;
            }
            s = malloc(bl + 4);
            if (s == NULL)
                goto jp_fail;
            snprintf(s, bl + 4, "{.%.*s}", (int)bl, body);
            c->name = s;
        }
        if (np == 2) {
            size_t a = 0, b = parts[1].len;
            val = parts[1].data;
            while (a < b && (val[a] == '\'' || val[a] == '"'))
                a++;
            while (b > a && (val[b - 1] == '\'' || val[b - 1] == '"'))
                b--;
            if (a == b) {
                fprintf(stderr, "error: jsonpath wait has to have a value "
                                "after equal sign, like "
                                "--for=jsonpath='{.status.readyReplicas}'=3\n");
                goto jp_fail;
            }
            c->value = strndup(val + a, b - a);
        }
        if (c->name == NULL) {
            fprintf(stderr, "error: jsonpath expression cannot be empty\n");
            goto jp_fail;
        }
        c->kind = WAIT_JSONPATH;
        for (int i = 0; i < 3; i++)
            buf_close(&parts[i]);
        return 0;
    jp_fail:
        for (int i = 0; i < 3; i++)
            buf_close(&parts[i]);
        free(c->name);
        free(c->value);
        c->name = c->value = NULL;
        return -1;
    }
    fprintf(stderr, "error: unrecognized condition: \"%s\"\n", f);
    return -1;
}

/* ConditionalWait.checkCondition. */
static bool condition_met(const json_t *obj, const struct wait_cond *c)
{
    const json_t *st = json_object_get(obj, "status");
    size_t i;
    json_t *cond;

    json_array_foreach (json_object_get(st, "conditions"), i, cond) {
        const char *t = kctl_str_at(cond, "type", NULL);
        const char *s = kctl_str_at(cond, "status", NULL);
        const json_t *gen;
        if (t == NULL || strcasecmp(t, c->name) != 0 || s == NULL)
            continue;
        gen = json_object_get(json_object_get(obj, "metadata"), "generation");
        if (json_is_integer(gen)) {
            const json_t *og = json_object_get(cond, "observedGeneration");
            if (!json_is_integer(og))
                og = json_object_get(st, "observedGeneration");
            if (json_is_integer(og) &&
                json_integer_value(og) < json_integer_value(gen))
                return false;
        }
        return strcasecmp(s, c->value) == 0;
    }
    return false;
}

/* fmt.Sprintf("%v") of a JSON scalar. */
static void go_value_text(const json_t *v, char *out, size_t len)
{
    if (json_is_string(v))
        snprintf(out, len, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        snprintf(out, len, "%g", json_real_value(v));
    else if (json_is_true(v))
        snprintf(out, len, "true");
    else if (json_is_false(v))
        snprintf(out, len, "false");
    else
        snprintf(out, len, "<nil>");
}

static void trim(char *s)
{
    size_t n = strlen(s), a = 0;
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    while (isspace((unsigned char)s[a]))
        a++;
    memmove(s, s + a, n - a + 1);
}

/* JSONPathWait.isJSONPathConditionMet. Returns 1 met, 0 not yet, -1 with
 * the error in err. */
static int jsonpath_met(const json_t *obj, const struct wait_cond *c, char *err,
                        size_t len)
{
    json_t *vals = NULL;
    const json_t *v;
    char have[1024], want[1024];
    int rv;

    if (kctl_jsonpath_values(c->name, obj, &vals, err, len) != 0)
        return -1; /* missing keys are no error: they yield nothing */
    if (json_array_size(vals) == 0) {
        json_decref(vals);
        return 0;
    }
    if (json_array_size(vals) > 1) {
        json_decref(vals);
        snprintf(err, len,
                 "given jsonpath expression matches more than one value");
        return -1;
    }
    if (c->value == NULL) {
        json_decref(vals);
        return 1;
    }
    v = json_array_get(vals, 0);
    if (json_is_object(v) || json_is_array(v)) {
        json_decref(vals);
        snprintf(err, len,
                 "jsonpath leads to a nested object or list which is not "
                 "supported");
        return -1;
    }
    go_value_text(v, have, sizeof have);
    snprintf(want, sizeof want, "%s", c->value);
    trim(have);
    trim(want);
    rv = strcmp(have, want) == 0;
    json_decref(vals);
    return rv;
}

/* -------------------------------------------------------- per object */

struct check_ctx {
    const struct wait_cond *c;
    const struct kctl_obj *o;
    json_t *last; /* the object that met the condition */
    char err[512];
    bool not_found;
};

static int check_event_cb(const json_t *obj, const char *type, void *arg)
{
    struct check_ctx *x = arg;
    int met;

    if (x->c->kind == WAIT_DELETE) {
        if (strcmp(type, "NONE") == 0 || strcmp(type, "DELETED") == 0)
            return 1;
        return 0;
    }
    if (strcmp(type, "NONE") == 0) {
        x->not_found = true;
        return -1;
    }
    if (strcmp(type, "DELETED") == 0)
        return 0;
    if (x->c->kind == WAIT_CONDITION)
        met = condition_met(obj, x->c);
    else
        met = jsonpath_met(obj, x->c, x->err, sizeof x->err);
    if (met > 0) {
        json_decref(x->last);
        x->last = json_incref((json_t *)obj);
    }
    return met;
}

static void print_met(const struct kctl_obj *o, const json_t *obj,
                      const char *output)
{
    char q[160];
    kctl_resource_qualified(&o->r, true, q, sizeof q);
    if (output != NULL &&
        (strcmp(output, "json") == 0 || strcmp(output, "yaml") == 0) &&
        obj != NULL) {
        kctl_print_object(obj, output);
    } else if (output != NULL && strcmp(output, "name") == 0) {
        printf("%s/%s\n", q, o->name);
    } else {
        printf("%s/%s condition met\n", q, o->name);
    }
    fflush(stdout);
}

/* Waits for one object. Returns 0 when met (printed), -1 otherwise (the
 * failure added to e, or printed). */
static int wait_one(struct kctl_client *cl, const struct kctl_obj *o,
                    const struct wait_cond *c, int64_t timeout_ns,
                    int64_t deadline, const char *output, struct errs *e)
{
    struct check_ctx x = {.c = c, .o = o};
    json_t *cur = NULL;
    char msg[1024];
    int g, w;

    g = get_object(cl, &o->r, o->ns, o->name, &cur, msg, sizeof msg);
    if (c->kind == WAIT_DELETE && g == 1) {
        /* a named object that is not there was never visited (the
         * builder ignores NotFound for delete); a listed one was */
        if (o->obj != NULL)
            print_met(o, o->obj, output);
        return 0;
    }
    if (g != 0) {
        if (msg[0] != '\0')
            errs_add(e, "%s", msg);
        json_decref(cur);
        return -1;
    }
    if (timeout_ns == 0) {
        int met;
        if (c->kind == WAIT_DELETE)
            met = 0;
        else if (c->kind == WAIT_CONDITION)
            met = condition_met(cur, c);
        else
            met = jsonpath_met(cur, c, x.err, sizeof x.err);
        if (met > 0)
            print_met(o, cur, output);
        else if (met < 0)
            errs_add(e, "%s", x.err);
        else
            errs_add(e, "condition not met for %s/%s", o->r.resource, o->name);
        json_decref(cur);
        return met > 0 ? 0 : -1;
    }
    if (clock_mono_ns() >= deadline) {
        errs_add(e, "timed out waiting for the condition on %s/%s",
                 o->r.resource, o->name);
        json_decref(cur);
        return -1;
    }
    w = kctl_watch_object(cl, &o->r, o->ns, o->name, deadline, check_event_cb,
                          &x);
    if (w == 0) {
        print_met(o, x.last ? x.last : (o->obj ? o->obj : cur), output);
    } else if (w == 1) {
        errs_add(e, "timed out waiting for the condition on %s/%s",
                 o->r.resource, o->name);
    } else if (x.not_found) {
        char q[160];
        kctl_resource_qualified(&o->r, false, q, sizeof q);
        errs_add(e, "Error from server (NotFound): %s \"%s\" not found", q,
                 o->name);
    } else if (x.err[0] != '\0') {
        errs_add(e, "%s", x.err);
    }
    json_decref(x.last);
    json_decref(cur);
    return w == 0 ? 0 : -1;
}

/* --------------------------------------------------------------- verb */

int kctl_cmd_wait(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv pos, files = {0};
    const char *for_ = NULL, *timeout = NULL, *selector = NULL,
               *field_selector = NULL, *output = NULL;
    bool all = false, all_ns = false, recursive = true, local = false;
    const struct kctl_opt opts[] = {
        {"for", 0, KCTL_OPT_STR, &for_},
        {"timeout", 0, KCTL_OPT_STR, &timeout},
        {"selector", 'l', KCTL_OPT_STR, &selector},
        {"field-selector", 0, KCTL_OPT_STR, &field_selector},
        {"all", 0, KCTL_OPT_BOOL, &all},
        {"all-namespaces", 'A', KCTL_OPT_BOOL, &all_ns},
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"output", 'o', KCTL_OPT_STR, &output},
        {"local", 0, KCTL_OPT_BOOL, &local},
        {NULL, 0, 0, NULL},
    };
    struct wait_cond c = {0};
    struct kctl_objs os = {NULL, 0};
    struct errs e;
    struct kctl_target *t = NULL;
    int nt = 0, rv = 1;
    int64_t timeout_ns = 30 * 1000000000LL, deadline;
    const char *ns;
    char why[256];

    buf_init(&e.text);
    e.n = 0;
    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (timeout != NULL &&
        kctl_go_duration(timeout, &timeout_ns, why, sizeof why) != 0) {
        fprintf(stderr,
                "Error: invalid argument \"%s\" for \"--timeout\" flag: "
                "%s\nSee 'kubectl-lite wait --help' for usage.\n",
                timeout, why);
        goto out;
    }
    if (timeout_ns < 0)
        timeout_ns = WEEK_NS;
    if (output != NULL && output[0] != '\0' && strcmp(output, "name") != 0 &&
        strcmp(output, "json") != 0 && strcmp(output, "yaml") != 0) {
        fprintf(stderr,
                "error: unable to match a printer suitable for the output "
                "format \"%s\", allowed formats are: json,name,yaml\n",
                output);
        goto out;
    }
    if (parse_for(for_, &c) != 0)
        goto out;
    if (pos.n == 0 && files.n == 0) {
        fprintf(stderr, "error: You must provide one or more resources by "
                        "argument or filename.\n"
                        "Example resource specifications include:\n"
                        "   '-f rsrc.yaml'\n"
                        "   '--filename=rsrc.json'\n"
                        "   '<resource> <name>'\n"
                        "   '<resource>'\n");
        goto out;
    }
    deadline = clock_mono_ns() + timeout_ns;
    ns = all_ns ? NULL : kctl_namespace(cl);

    /* the resource builder */
    if (files.n > 0) {
        json_t *objs, *sources, *obj;
        size_t i;
        if (kctl_read_manifests("wait", files.v, files.n, recursive, &objs,
                                &sources) != 0)
            goto out;
        json_array_foreach (objs, i, obj) {
            struct kctl_resource r;
            const char *ons;
            if (kctl_prepare_object(cl, obj, &r, &ons) != 0) {
                json_decref(objs);
                json_decref(sources);
                goto out;
            }
            kctl_objs_add(&os, &r, ons, kctl_str_at(obj, "metadata", "name"),
                          NULL);
        }
        json_decref(objs);
        json_decref(sources);
    }
    if (pos.n > 0 && kctl_targets(cl, pos.v, pos.n, &t, &nt) != 0)
        goto out;
    for (int i = 0; i < nt; i++) {
        struct buf p;
        json_t *list = NULL, *it;
        size_t k;
        char sep = '?';
        if (t[i].name != NULL) {
            kctl_objs_add(&os, &t[i].r, all_ns ? kctl_namespace(cl) : ns,
                          t[i].name, NULL);
            continue;
        }
        if (selector == NULL && field_selector == NULL && !all) {
            fprintf(stderr, "error: resource(s) were provided, but no name "
                            "was specified\n");
            goto out;
        }
        buf_init(&p);
        kctl_resource_path(&p, &t[i].r, ns, NULL);
        if (selector != NULL) {
            buf_printf(&p, "%clabelSelector=", sep);
            kctl_query_escape(&p, selector);
            sep = '&';
        }
        if (field_selector != NULL) {
            buf_printf(&p, "%cfieldSelector=", sep);
            kctl_query_escape(&p, field_selector);
        }
        if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &list) != 0) {
            buf_close(&p);
            goto out;
        }
        buf_close(&p);
        json_array_foreach (json_object_get(list, "items"), k, it) {
            const char *name = kctl_str_at(it, "metadata", "name");
            if (name != NULL)
                kctl_objs_add(&os, &t[i].r,
                              kctl_str_at(it, "metadata", "namespace"), name,
                              json_incref(it));
        }
        json_decref(list);
    }

    /* --for=create: poll until every named object exists */
    if (c.kind == WAIT_CREATE) {
        for (;;) {
            bool all_there = true;
            for (int i = 0; i < os.n && all_there; i++) {
                json_t *got = NULL;
                char msg[1024];
                int g = get_object(cl, &os.v[i].r, os.v[i].ns, os.v[i].name,
                                   &got, msg, sizeof msg);
                if (g < 0) {
                    if (msg[0] != '\0')
                        fprintf(stderr, "%s\n", msg);
                    goto out;
                }
                if (g == 1)
                    all_there = false;
                else if (os.v[i].obj == NULL)
                    os.v[i].obj = json_incref(got);
                json_decref(got);
            }
            if (all_there)
                break;
            if (clock_mono_ns() + 500000000LL > deadline) {
                fprintf(stderr, "error: timed out waiting for the condition\n");
                goto out;
            }
            nanosleep(&(struct timespec){0, 500000000L}, NULL);
        }
        for (int i = 0; i < os.n; i++)
            print_met(&os.v[i], os.v[i].obj, output);
        rv = os.n == 0 ? 1 : 0;
        if (os.n == 0)
            fprintf(stderr, "error: no matching resources found\n");
        goto out;
    }

    rv = 0;
    for (int i = 0; i < os.n; i++) {
        if (wait_one(cl, &os.v[i], &c, timeout_ns, deadline, output, &e) != 0)
            rv = 1;
    }
    if (os.n == 0 && c.kind != WAIT_DELETE) {
        errs_add(&e, "no matching resources found");
        rv = 1;
    }
    errs_print(&e);
out:
    free(t);
    kctl_objs_free(&os);
    free(c.name);
    free(c.value);
    buf_close(&e.text);
    free(pos.v);
    free(files.v);
    return rv;
}

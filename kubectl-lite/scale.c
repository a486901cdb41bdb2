/*
 * DESIGN: `scale`, as kubectl's ScaleOptions does it (kubectl-wire.md
 * §4.7).
 *
 * The objects are found the way kubectl's resource builder finds them
 * (TYPE NAME…, TYPE/NAME…, TYPE -l SEL, TYPE --all, -f FILE: each named
 * object is read first, so a missing one is a NotFound before anything
 * changes). Without a precondition the new size is a blind JSON merge patch
 * of the scale subresource, {"spec":{"replicas":N}}, with no query. With
 * --current-replicas or --resource-version kubectl's scaler reads the Scale,
 * checks the precondition ("Expected replicas to be 2, was 3") and PUTs it
 * back; a 409 is retried (kubectl polls every second for up to 5 minutes;
 * we retry a bounded number of times). --timeout waits until
 * status.replicas reaches the new size.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kubectl-lite/kctl_int.h"

struct scale_item {
    struct kctl_resource r;
    char *ns;
    char *name;
};

struct scale_opts {
    long replicas, current;
    const char *resource_version;
    const char *dry_run;
    const char *selector;
    bool all;
    long timeout_s;
    const char *output; /* NULL, "name", "json", "yaml" */
};

static void items_free(struct scale_item *v, int n)
{
    for (int i = 0; i < n; i++) {
        free(v[i].ns);
        free(v[i].name);
    }
    free(v);
}

static int items_add(struct scale_item **v, int *n,
                     const struct kctl_resource *r, const char *ns,
                     const char *name)
{
    struct scale_item *nv = realloc(*v, sizeof *nv * (size_t)(*n + 1));
    if (nv == NULL)
        return -1;
    nv[*n].r = *r;
    nv[*n].ns = (r->namespaced && ns != NULL) ? strdup(ns) : NULL;
    nv[*n].name = strdup(name);
    *v = nv;
    ++*n;
    return 0;
}

/* Finds the objects the arguments name (as kubectl's builder does): named
 * objects are read, types with -l / --all listed. A named object that
 * cannot be read is appended to errs ({message, reason}) and the others
 * still found; returns -1 only after printing another failure. */
static int find_objects(struct kctl_client *cl, const struct kctl_strv *pos,
                        const struct kctl_strv *files,
                        const struct scale_opts *o, struct scale_item **ret,
                        int *ret_n, json_t *errs)
{
    struct kctl_target *t = NULL;
    int nt = 0, rv = 0;
    const char *ns = kctl_namespace(cl);

    *ret = NULL;
    *ret_n = 0;
    if (files->n > 0) {
        json_t *objs, *sources, *obj;
        size_t i;
        if (kctl_read_manifests("scale", files->v, files->n, false, &objs,
                                &sources) != 0)
            return -1;
        json_array_foreach (objs, i, obj) {
            struct kctl_resource r;
            const char *ons;
            if (kctl_prepare_object(cl, obj, &r, &ons) != 0) {
                rv = -1;
                continue;
            }
            items_add(ret, ret_n, &r, ons,
                      json_string_value(json_object_get(
                          json_object_get(obj, "metadata"), "name")));
        }
        json_decref(objs);
        json_decref(sources);
        if (rv != 0)
            return rv;
    }
    if (pos->n == 0) {
        if (files->n > 0)
            return 0;
        fprintf(stderr,
                "error: You must provide one or more resources by argument "
                "or filename.\nExample resource specifications include:\n"
                "   '-f rsrc.yaml'\n   '--filename=rsrc.json'\n"
                "   '<resource> <name>'\n   '<resource>'\n");
        return -1;
    }
    if (kctl_targets(cl, pos->v, pos->n, &t, &nt) != 0)
        return -1;
    for (int i = 0; i < nt && rv == 0; i++) {
        struct buf p;
        json_t *obj = NULL;
        buf_init(&p);
        if (t[i].name == NULL) {
            size_t k;
            json_t *it;
            if (o->selector == NULL && !o->all) {
                fprintf(stderr, "error: resource(s) were provided, but no "
                                "name was specified\n");
                rv = -1;
                buf_close(&p);
                break;
            }
            kctl_resource_path(&p, &t[i].r, ns, NULL);
            if (o->selector != NULL) {
                buf_append_str(&p, "?labelSelector=");
                kctl_query_escape(&p, o->selector);
            }
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &obj) != 0)
                rv = -1;
            json_array_foreach (json_object_get(obj, "items"), k, it) {
                items_add(ret, ret_n, &t[i].r, ns,
                          json_string_value(json_object_get(
                              json_object_get(it, "metadata"), "name")));
            }
        } else {
            struct kctl_resp resp;
            kctl_resource_path(&p, &t[i].r, ns, t[i].name);
            if (kctl_http(cl, "GET", p.data, NULL, NULL, 0, NULL, &resp) != 0) {
                rv = -1;
            } else if (resp.status < 200 || resp.status > 299) {
                /* kept for later: kubectl's builder goes on */
                json_t *st = json_loadb(resp.body.data ? resp.body.data : "",
                                        resp.body.len, 0, NULL);
                const char *m =
                    json_string_value(json_object_get(st, "message"));
                const char *reason =
                    json_string_value(json_object_get(st, "reason"));
                json_array_append_new(errs, json_pack("{s:s, s:s}", "message",
                                                      m ? m : "unknown error",
                                                      "reason",
                                                      reason ? reason : ""));
                json_decref(st);
            } else {
                items_add(ret, ret_n, &t[i].r, ns, t[i].name);
            }
            kctl_resp_close(&resp);
        }
        json_decref(obj);
        buf_close(&p);
    }
    free(t);
    return rv;
}

/* Waits (polling the Scale every second) until status.replicas is the new
 * size, as kubectl's WaitForScaleHasDesiredReplicas. */
static int wait_replicas(struct kctl_client *cl, const char *path, long want,
                         long timeout_s)
{
    time_t end = time(NULL) + timeout_s;

    for (;;) {
        json_t *sc = NULL;
        if (kctl_json(cl, "GET", path, NULL, NULL, false, &sc) != 0)
            return -1;
        json_t *st = json_object_get(sc, "status");
        long have = (long)json_integer_value(json_object_get(st, "replicas"));
        json_decref(sc);
        if (have == want)
            return 0;
        if (time(NULL) >= end) {
            fprintf(stderr, "error: timed out waiting for the condition\n");
            return -1;
        }
        sleep(1);
    }
}

/* What kubectl's printer shows for a scaled object: "KIND/NAME scaled",
 * or with -o the object as it was read before the change (info.Object). */
static void print_result(const struct scale_item *it,
                         const struct scale_opts *o, const json_t *before)
{
    char q[160];

    if (o->output == NULL || o->output[0] == '\0') {
        kctl_print_action(&it->r, it->name, "scaled", o->dry_run);
        return;
    }
    kctl_resource_qualified(&it->r, true, q, sizeof q);
    if (strcmp(o->output, "name") == 0 || before == NULL) {
        printf("%s/%s\n", q, it->name);
    } else {
        kctl_print_object(before, o->output);
    }
}

static int scale_one(struct kctl_client *cl, const struct scale_item *it,
                     const struct scale_opts *o)
{
    struct buf p;
    json_t *before = NULL;
    int rv = 0;

    buf_init(&p);
    kctl_resource_path(&p, &it->r, it->ns, it->name);
    if (o->output != NULL &&
        (strcmp(o->output, "json") == 0 || strcmp(o->output, "yaml") == 0) &&
        kctl_json(cl, "GET", p.data, NULL, NULL, false, &before) != 0) {
        buf_close(&p);
        return -1;
    }
    buf_append_str(&p, "/scale");
    if (o->dry_run != NULL && strcmp(o->dry_run, "client") == 0) {
        print_result(it, o, before);
        json_decref(before);
        buf_close(&p);
        return 0;
    }
    if (o->current == -1 && o->resource_version == NULL) {
        json_t *patch =
            json_pack("{s:{s:I}}", "spec", "replicas", (json_int_t)o->replicas);
        struct buf q;
        buf_init(&q);
        buf_append_str(&q, p.data);
        if (o->dry_run != NULL)
            buf_append_str(&q, "?dryRun=All");
        rv = kctl_json(cl, "PATCH", q.data, "application/merge-patch+json",
                       patch, false, NULL);
        json_decref(patch);
        buf_close(&q);
    } else {
        for (int attempt = 0;; attempt++) {
            json_t *sc = NULL;
            struct kctl_resp resp;
            char *body;
            if (kctl_json(cl, "GET", p.data, NULL, NULL, false, &sc) != 0) {
                rv = -1;
                break;
            }
            long have = (long)json_integer_value(
                json_object_get(json_object_get(sc, "spec"), "replicas"));
            const char *rver = json_string_value(json_object_get(
                json_object_get(sc, "metadata"), "resourceVersion"));
            if (o->current != -1 && have != o->current) {
                fprintf(stderr, "error: Expected replicas to be %ld, was %ld\n",
                        o->current, have);
                json_decref(sc);
                rv = -1;
                break;
            }
            if (o->resource_version != NULL &&
                strcmp(rver ? rver : "", o->resource_version) != 0) {
                fprintf(stderr,
                        "error: Expected resource version to be %s, was %s\n",
                        o->resource_version, rver ? rver : "");
                json_decref(sc);
                rv = -1;
                break;
            }
            json_object_set_new(json_object_get(sc, "spec"), "replicas",
                                json_integer(o->replicas));
            body = json_dumps(sc, JSON_COMPACT);
            json_decref(sc);
            {
                struct buf q;
                buf_init(&q);
                buf_append_str(&q, p.data);
                if (o->dry_run != NULL)
                    buf_append_str(&q, "?dryRun=All");
                rv = kctl_http(cl, "PUT", q.data, "application/json", body,
                               strlen(body), NULL, &resp);
                buf_close(&q);
            }
            free(body);
            if (rv != 0) {
                kctl_resp_close(&resp);
                break;
            }
            if (resp.status == 409 && attempt < 10 &&
                o->resource_version == NULL) {
                kctl_resp_close(&resp);
                continue;
            }
            if (resp.status < 200 || resp.status > 299) {
                kctl_print_status(&resp, NULL);
                rv = -1;
            }
            kctl_resp_close(&resp);
            break;
        }
    }
    if (rv == 0 && o->timeout_s > 0 && o->dry_run == NULL)
        rv = wait_replicas(cl, p.data, o->replicas, o->timeout_s);
    if (rv == 0)
        print_result(it, o, before);
    json_decref(before);
    buf_close(&p);
    return rv;
}

int kctl_cmd_scale(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv pos, files = {0};
    const char *replicas = NULL, *dry = NULL, *timeout = NULL, *output = NULL;
    struct scale_opts o = {.replicas = -1, .current = -1};
    bool recursive = false;
    const struct kctl_opt opts[] = {
        {"replicas", 0, KCTL_OPT_STR, &replicas},
        {"current-replicas", 0, KCTL_OPT_INT, &o.current},
        {"resource-version", 0, KCTL_OPT_STR, &o.resource_version},
        {"selector", 'l', KCTL_OPT_STR, &o.selector},
        {"all", 0, KCTL_OPT_BOOL, &o.all},
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"dry-run", 0, KCTL_OPT_STR, &dry},
        {"timeout", 0, KCTL_OPT_STR, &timeout},
        {"output", 'o', KCTL_OPT_STR, &output},
        {NULL, 0, 0, NULL},
    };
    struct scale_item *items = NULL;
    json_t *errs = NULL;
    int n = 0, rv = 0;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (replicas != NULL) {
        char *end;
        o.replicas = strtol(replicas, &end, 10);
        if (*replicas == '\0' || *end != '\0') {
            fprintf(stderr,
                    "Error: invalid argument \"%s\" for \"--replicas\" flag: "
                    "strconv.ParseInt: parsing \"%s\": invalid syntax\n"
                    "See 'kubectl-lite scale --help' for usage.\n",
                    replicas, replicas);
            rv = 1;
            goto out;
        }
    }
    if (replicas == NULL) {
        fprintf(stderr, "error: required flag(s) \"replicas\" not set\n");
        rv = 1;
        goto out;
    }
    if (kctl_check_output(output, KCTL_OUTPUT_ALL_PRINTERS) != 0) {
        rv = 1;
        goto out;
    }
    o.output = output;
    if (o.replicas < 0) {
        fprintf(stderr, "error: The --replicas=COUNT flag is required, and "
                        "COUNT must be greater than or equal to 0\n");
        rv = 1;
        goto out;
    }
    if (o.current < -1) {
        fprintf(stderr, "error: The --current-replicas must specify an "
                        "integer of -1 or greater\n");
        rv = 1;
        goto out;
    }
    if (timeout != NULL) {
        int64_t ns = kctl_parse_duration(timeout);
        o.timeout_s = ns < 0 ? -1 : (long)((ns + 999999999) / 1000000000);
        if (o.timeout_s < 0) {
            fprintf(stderr,
                    "Error: invalid argument \"%s\" for \"--timeout\" flag: "
                    "time: invalid duration \"%s\"\nSee 'kubectl-lite scale "
                    "--help' for usage.\n",
                    timeout, timeout);
            rv = 1;
            goto out;
        }
    }
    if (kctl_parse_dry_run(dry, &o.dry_run) != 0) {
        rv = 1;
        goto out;
    }
    if (o.all && o.selector != NULL) {
        fprintf(stderr, "error: cannot set --all and --selector at the same "
                        "time\n");
        rv = 1;
        goto out;
    }
    errs = json_array();
    if (find_objects(cl, &pos, &files, &o, &items, &n, errs) != 0) {
        rv = 1;
        goto out;
    }
    if (o.resource_version != NULL && n > 1) {
        fprintf(stderr, "error: cannot use --resource-version with multiple "
                        "resources\n");
        rv = 1;
        goto out;
    }
    if (n == 0) {
        /* kubectl: fmt.Errorf("no objects passed to scale %w", r.Err()) */
        size_t ne = json_array_size(errs);
        fprintf(stderr, "error: no objects passed to scale%s%s", ne ? " " : "",
                ne > 1 ? "[" : "");
        for (size_t k = 0; k < ne; k++)
            fprintf(stderr, "%s%s", k ? ", " : "",
                    json_string_value(
                        json_object_get(json_array_get(errs, k), "message")));
        fprintf(stderr, "%s\n", ne > 1 ? "]" : "");
        rv = 1;
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (scale_one(cl, &items[i], &o) != 0)
            rv = 1;
    /* the objects that could not be read: after the others, as kubectl's
     * second Visit meets them */
    for (size_t k = 0; k < json_array_size(errs); k++) {
        const json_t *e = json_array_get(errs, k);
        const char *reason = json_string_value(json_object_get(e, "reason"));
        if (reason != NULL && reason[0] != '\0')
            fprintf(stderr, "Error from server (%s): %s\n", reason,
                    json_string_value(json_object_get(e, "message")));
        else
            fprintf(stderr, "Error from server: %s\n",
                    json_string_value(json_object_get(e, "message")));
        rv = 1;
    }
out:
    json_decref(errs);
    items_free(items, n);
    free(pos.v);
    free(files.v);
    return rv;
}

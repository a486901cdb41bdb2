/*
 * DESIGN: `delete -f | TYPE NAME… | TYPE -l SEL | TYPE --all`.
 *
 * Each object gets one DELETE with kubectl's DeleteOptions body
 * (propagationPolicy from --cascade: background (default), foreground,
 * orphan; gracePeriodSeconds from --grace-period / --now / --force).
 * Selections (-l, --all) are listed first and deleted by name. With --wait
 * (the default, as in kubectl) the command returns once every deleted
 * object is gone — its uid no longer answers — polling with a growing
 * interval, bounded by --timeout.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/clock.h"

struct del_opts {
    const char *cascade;
    long grace;
    bool now, force, ignore_nf, wait, all;
    const char *selector, *field_selector, *dry_run, *timeout;
};

struct gone {
    struct kctl_resource r;
    char *ns, *name, *uid;
};

static int delete_one(struct kctl_client *cl, const struct kctl_resource *r,
                      const char *ns, const char *name,
                      const struct del_opts *o, struct gone **gv, int *gn)
{
    struct buf p;
    json_t *body, *res = NULL;
    const char *policy = "Background";
    int rv;

    if (o->cascade != NULL) {
        if (strcmp(o->cascade, "foreground") == 0)
            policy = "Foreground";
        else if (strcmp(o->cascade, "orphan") == 0 ||
                 strcmp(o->cascade, "false") == 0)
            policy = "Orphan";
    }
    body = json_pack("{s:s, s:s, s:s}", "kind", "DeleteOptions", "apiVersion",
                     "v1", "propagationPolicy", policy);
    if (o->force && o->grace < 0)
        json_object_set_new(body, "gracePeriodSeconds", json_integer(0));
    else if (o->now)
        json_object_set_new(body, "gracePeriodSeconds", json_integer(1));
    else if (o->grace >= 0)
        json_object_set_new(body, "gracePeriodSeconds", json_integer(o->grace));
    if (o->dry_run != NULL && strcmp(o->dry_run, "server") == 0)
        json_object_set_new(body, "dryRun", json_pack("[s]", "All"));
    buf_init(&p);
    kctl_resource_path(&p, r, ns, name);
    if (o->dry_run != NULL && strcmp(o->dry_run, "server") == 0)
        buf_printf(&p, "?dryRun=All");
    if (o->dry_run != NULL && strcmp(o->dry_run, "client") == 0)
        rv = kctl_json(cl, "GET", p.data, NULL, NULL, o->ignore_nf, &res);
    else
        rv = kctl_json(cl, "DELETE", p.data, "application/json", body,
                       o->ignore_nf, &res);
    json_decref(body);
    buf_close(&p);
    if (rv == -2)
        return 0; /* --ignore-not-found */
    if (rv != 0)
        return -1;
    {
        char q[160];
        kctl_resource_qualified(r, true, q, sizeof q);
        printf("%s \"%s\" deleted%s\n", q, name,
               o->dry_run == NULL                  ? ""
               : strcmp(o->dry_run, "server") == 0 ? " (server dry run)"
                                                   : " (dry run)");
    }
    if (o->wait && o->dry_run == NULL) {
        /* A Status answer (finalizers done at once) has no uid: the
         * object is gone already unless a GET still finds it. */
        const char *uid = json_string_value(
            json_object_get(json_object_get(res, "metadata"), "uid"));
        struct gone *nv = realloc(*gv, sizeof *nv * (size_t)(*gn + 1));
        if (nv != NULL) {
            nv[*gn].r = *r;
            nv[*gn].ns = ns ? strdup(ns) : NULL;
            nv[*gn].name = strdup(name);
            nv[*gn].uid = uid ? strdup(uid) : NULL;
            *gv = nv;
            ++*gn;
        }
    }
    json_decref(res);
    return 0;
}

/* Waits until every deleted object is gone; returns 0 or -1 on timeout. */
static int wait_gone(struct kctl_client *cl, struct gone *gv, int gn,
                     int64_t timeout_ns)
{
    int64_t deadline = clock_mono_ns() + timeout_ns;
    long sleep_ms = 50;
    int rv = 0;

    for (int i = 0; i < gn; i++) {
        for (;;) {
            struct buf p;
            json_t *obj = NULL;
            int g;
            buf_init(&p);
            kctl_resource_path(&p, &gv[i].r, gv[i].ns, gv[i].name);
            g = kctl_json(cl, "GET", p.data, NULL, NULL, true, &obj);
            buf_close(&p);
            if (g == -2)
                break;
            if (g == 0 && gv[i].uid != NULL) {
                const char *uid = json_string_value(
                    json_object_get(json_object_get(obj, "metadata"), "uid"));
                if (uid == NULL || strcmp(uid, gv[i].uid) != 0) {
                    json_decref(obj);
                    break;
                }
            }
            json_decref(obj);
            if (g == -1 || clock_mono_ns() > deadline) {
                char q[160];
                kctl_resource_qualified(&gv[i].r, false, q, sizeof q);
                fprintf(stderr,
                        "error: timed out waiting for the condition on "
                        "%s/%s\n",
                        q, gv[i].name);
                rv = -1;
                break;
            }
            struct timespec ts = {sleep_ms / 1000,
                                  (sleep_ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            if (sleep_ms < 1000)
                sleep_ms *= 2;
        }
    }
    return rv;
}

/* Lists `r` in ns by the selectors and deletes each; counts into *found. */
static int delete_selected(struct kctl_client *cl,
                           const struct kctl_resource *r, const char *ns,
                           const struct del_opts *o, struct gone **gv, int *gn,
                           int *found)
{
    json_t *list = NULL, *item;
    size_t i;
    int rv = 0;

    if (kctl_list(cl, r, ns, o->selector, o->field_selector, &list) != 0)
        return -1;
    json_array_foreach (json_object_get(list, "items"), i, item) {
        const char *name = json_string_value(
            json_object_get(json_object_get(item, "metadata"), "name"));
        ++*found;
        if (name != NULL && delete_one(cl, r, ns, name, o, gv, gn) != 0)
            rv = -1;
    }
    json_decref(list);
    return rv;
}

int kctl_cmd_delete(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv files = {0}, pos;
    bool recursive = false, all_ns = false;
    const char *dry = NULL, *cascade = NULL;
    struct del_opts o = {.grace = -1, .wait = true};
    const struct kctl_opt opts[] = {
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"selector", 'l', KCTL_OPT_STR, &o.selector},
        {"field-selector", 0, KCTL_OPT_STR, &o.field_selector},
        {"all", 0, KCTL_OPT_BOOL, &o.all},
        {"all-namespaces", 'A', KCTL_OPT_BOOL, &all_ns},
        {"cascade", 0, KCTL_OPT_STR, &cascade},
        {"grace-period", 0, KCTL_OPT_INT, &o.grace},
        {"now", 0, KCTL_OPT_BOOL, &o.now},
        {"force", 0, KCTL_OPT_BOOL, &o.force},
        {"ignore-not-found", 0, KCTL_OPT_BOOL, &o.ignore_nf},
        {"wait", 0, KCTL_OPT_BOOL, &o.wait},
        {"timeout", 0, KCTL_OPT_STR, &o.timeout},
        {"dry-run", 0, KCTL_OPT_STR, &dry},
        {NULL, 0, 0, NULL},
    };
    struct gone *gv = NULL;
    int gn = 0, rv = 0;
    int64_t timeout_ns = (int64_t)3600 * 1000000000LL;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    o.cascade = cascade;
    if (cascade != NULL && strcmp(cascade, "background") != 0 &&
        strcmp(cascade, "foreground") != 0 && strcmp(cascade, "orphan") != 0 &&
        strcmp(cascade, "true") != 0 && strcmp(cascade, "false") != 0) {
        fprintf(stderr,
                "error: invalid cascade value (%s). Must be \"background\", "
                "\"foreground\", or \"orphan\"\n",
                cascade);
        rv = 1;
        goto out;
    }
    if (kctl_parse_dry_run(dry, &o.dry_run) != 0) {
        rv = 1;
        goto out;
    }
    if (o.timeout != NULL) {
        int64_t t = kctl_parse_duration(o.timeout);
        if (t < 0) {
            fprintf(stderr,
                    "error: invalid argument \"%s\" for "
                    "\"--timeout\" flag: time: invalid duration\n",
                    o.timeout);
            rv = 1;
            goto out;
        }
        if (t > 0)
            timeout_ns = t;
    }
    if (files.n > 0) {
        json_t *objs, *sources, *obj;
        size_t i;
        if (kctl_read_manifests("delete", files.v, files.n, recursive, &objs,
                                &sources) != 0) {
            rv = 1;
            goto out;
        }
        json_array_foreach (objs, i, obj) {
            struct kctl_resource r;
            const char *ns;
            if (kctl_prepare_object(cl, obj, &r, &ns) != 0 ||
                delete_one(cl, &r, ns,
                           json_string_value(json_object_get(
                               json_object_get(obj, "metadata"), "name")),
                           &o, &gv, &gn) != 0)
                rv = 1;
        }
        json_decref(objs);
        json_decref(sources);
    } else {
        struct kctl_target *t;
        int nt;
        if (pos.n == 0) {
            fprintf(stderr, "error: You must provide one or more resources "
                            "by argument or filename.\n"
                            "Example resource specifications include:\n"
                            "   '-f rsrc.yaml'\n"
                            "   '--filename=rsrc.json'\n"
                            "   '<resource> <name>'\n"
                            "   '<resource>'\n");
            rv = 1;
            goto out;
        }
        if (kctl_targets(cl, pos.v, pos.n, &t, &nt) != 0) {
            rv = 1;
            goto out;
        }
        int found = 0;
        bool selection = false;
        for (int i = 0; i < nt; i++) {
            const char *ns = all_ns ? NULL : kctl_namespace(cl);
            if (t[i].name != NULL) {
                if (delete_one(cl, &t[i].r, ns, t[i].name, &o, &gv, &gn) != 0)
                    rv = 1;
                continue;
            }
            selection = true;
            if (o.selector == NULL && o.field_selector == NULL && !o.all) {
                fprintf(stderr, "error: resource(s) were provided, but no "
                                "name was specified\n");
                rv = 1;
                break;
            }
            if (delete_selected(cl, &t[i].r, ns, &o, &gv, &gn, &found) != 0)
                rv = 1;
        }
        if (selection && found == 0 && rv == 0)
            printf("No resources found\n");
        free(t);
    }
    if (gn > 0 && wait_gone(cl, gv, gn, timeout_ns) != 0)
        rv = 1;
out:
    for (int i = 0; i < gn; i++) {
        free(gv[i].ns);
        free(gv[i].name);
        free(gv[i].uid);
    }
    free(gv);
    free(pos.v);
    free(files.v);
    return rv;
}

/*
 * DESIGN: `create -f` and `replace -f`: one write per manifest object, as
 * kubectl's builder sends them (kubectl-wire.md §4.3): POST with
 * fieldManager=kubectl-create, PUT to the object's name with
 * fieldManager=kubectl-replace. `--save-config` records the
 * last-applied-configuration annotation so a later apply has a base. One
 * object failing does not stop the others; the exit code says whether any
 * failed.
 */
#include <stdlib.h>
#include <string.h>

#include "kubectl-lite/kctl_int.h"

static int write_all(struct kctl_client *cl, int argc, char **argv,
                     bool replace)
{
    struct kctl_strv files = {0}, pos;
    bool recursive = false, save_config = false, force = false;
    const char *dry = NULL, *dry_run = NULL, *validate = NULL;
    const struct kctl_opt opts[] = {
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"dry-run", 0, KCTL_OPT_STR, &dry},
        {"save-config", 0, KCTL_OPT_BOOL, &save_config},
        {"validate", 0, KCTL_OPT_STR, &validate},
        {"force", 0, KCTL_OPT_BOOL, &force},
        {NULL, 0, 0, NULL},
    };
    const char *verb = replace ? "replace" : "create";
    json_t *objs, *sources;
    size_t i;
    json_t *obj;
    int rv = 0;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    if (pos.n > 0 && !replace) {
        fprintf(stderr,
                "error: kubectl-lite create takes manifests only (-f); "
                "unknown argument \"%s\"\n",
                pos.v[0]);
        free(pos.v);
        free(files.v);
        return 1;
    }
    free(pos.v);
    if (files.n == 0) {
        fprintf(stderr, "error: must specify one of -f and -k\n");
        free(files.v);
        return 1;
    }
    if (kctl_parse_dry_run(dry, &dry_run) != 0 ||
        kctl_read_manifests(verb, files.v, files.n, recursive, &objs,
                            &sources) != 0) {
        free(files.v);
        return 1;
    }
    free(files.v);
    json_array_foreach (objs, i, obj) {
        const char *src = json_string_value(json_array_get(sources, i));
        struct kctl_resource r;
        const char *ns, *name;
        struct buf p;
        struct kctl_resp resp;
        char *body;
        json_t *made;

        if (kctl_prepare_object(cl, obj, &r, &ns) != 0) {
            rv = 1;
            continue;
        }
        if (save_config && kctl_set_last_applied(obj) != 0) {
            rv = 1;
            continue;
        }
        name = json_string_value(
            json_object_get(json_object_get(obj, "metadata"), "name"));
        if (replace && name == NULL) {
            fprintf(stderr,
                    "error: error when replacing \"%s\": resource "
                    "name may not be empty\n",
                    src);
            rv = 1;
            continue;
        }
        if (dry_run != NULL && strcmp(dry_run, "client") == 0) {
            kctl_print_action(&r, name, replace ? "replaced" : "created",
                              dry_run);
            continue;
        }
        buf_init(&p);
        kctl_resource_path(&p, &r, ns, replace ? name : NULL);
        buf_printf(&p, "?fieldManager=kubectl-%s&fieldValidation=Strict", verb);
        if (dry_run != NULL)
            buf_printf(&p, "&dryRun=All");
        body = json_dumps(obj, JSON_COMPACT);
        if (kctl_http(cl, replace ? "PUT" : "POST", p.data, "application/json",
                      body, strlen(body), NULL, &resp) != 0) {
            rv = 1;
        } else if (resp.status < 200 || resp.status > 299) {
            char when[1024];
            snprintf(when, sizeof when, "error when %s \"%s\"",
                     replace ? "replacing" : "creating", src);
            kctl_print_status(&resp, when);
            rv = 1;
        } else {
            made = json_loadb(resp.body.data, resp.body.len, 0, NULL);
            kctl_print_action(&r,
                              json_string_value(json_object_get(
                                  json_object_get(made, "metadata"), "name")),
                              replace ? "replaced" : "created", dry_run);
            json_decref(made);
        }
        free(body);
        kctl_resp_close(&resp);
        buf_close(&p);
    }
    json_decref(objs);
    json_decref(sources);
    return rv;
}

int kctl_cmd_create(struct kctl_client *cl, int argc, char **argv)
{
    return write_all(cl, argc, argv, false);
}

int kctl_cmd_replace(struct kctl_client *cl, int argc, char **argv)
{
    return write_all(cl, argc, argv, true);
}

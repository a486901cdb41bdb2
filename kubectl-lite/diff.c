/*
 * DESIGN: `diff -f`, as kubectl does it (kubectl-wire.md §4.3): for each
 * manifest object the live object is read and the object as it would be
 * after `apply` is asked of the server itself — the apply patch sent with
 * dryRun=All (or a dry-run create when absent) — so defaulting and
 * admission show in the diff and nothing is persisted. Both sides are
 * written as YAML (managedFields left out, as kubectl does by default) to
 * LIVE-* and MERGED-* directories, one file per object named
 * group.version.Kind.namespace.name, and `diff -u -N` (or
 * $KUBECTL_EXTERNAL_DIFF) compares the directories. Exit status as
 * kubectl's: 0 no differences, 1 differences, >1 an error.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kubectl-lite/kctl_int.h"

static int write_yaml(const char *dir, const char *file, const json_t *obj)
{
    struct buf path, text;
    FILE *f;
    int rv = 0;

    buf_init(&path);
    buf_init(&text);
    buf_printf(&path, "%s/%s", dir, file);
    if (obj != NULL) {
        json_t *copy = json_deep_copy(obj);
        json_object_del(json_object_get(copy, "metadata"), "managedFields");
        rv = kctl_yaml_emit(copy, &text);
        json_decref(copy);
    }
    f = fopen(path.data, "w");
    if (f == NULL ||
        (text.len > 0 && fwrite(text.data, 1, text.len, f) != text.len))
        rv = -1;
    if (f != NULL && fclose(f) != 0)
        rv = -1;
    buf_close(&path);
    buf_close(&text);
    return rv;
}

/* The object after a server-side dry-run apply (new reference), or NULL
 * after printing an error. */
static json_t *merged_object(struct kctl_client *cl,
                             const struct kctl_resource *r, const char *ns,
                             json_t *obj, const json_t *live, bool server_side)
{
    const char *name = json_string_value(
        json_object_get(json_object_get(obj, "metadata"), "name"));
    struct buf p;
    json_t *out = NULL;

    buf_init(&p);
    if (server_side) {
        kctl_resource_path(&p, r, ns, name);
        buf_printf(&p, "?dryRun=All&fieldManager=kubectl&force=false");
        kctl_json(cl, "PATCH", p.data, "application/apply-patch+yaml", obj,
                  false, &out);
    } else if (live == NULL) {
        kctl_resource_path(&p, r, ns, NULL);
        buf_printf(&p, "?dryRun=All&fieldManager=kubectl-client-side-apply");
        kctl_json(cl, "POST", p.data, NULL, obj, false, &out);
    } else {
        json_t *patch;
        const char *ctype;
        if (kctl_apply_patch(cl, r, obj, live, &patch, &ctype) == 0) {
            kctl_resource_path(&p, r, ns, name);
            buf_printf(&p,
                       "?dryRun=All&fieldManager=kubectl-client-side-apply");
            kctl_json(cl, "PATCH", p.data, ctype, patch, false, &out);
            json_decref(patch);
        }
    }
    buf_close(&p);
    return out;
}

int kctl_cmd_diff(struct kctl_client *cl, int argc, char **argv)
{
    struct kctl_strv files = {0}, pos;
    bool recursive = false, server_side = false;
    const struct kctl_opt opts[] = {
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {"recursive", 'R', KCTL_OPT_BOOL, &recursive},
        {"server-side", 0, KCTL_OPT_BOOL, &server_side},
        {NULL, 0, 0, NULL},
    };
    char live_dir[] = "/tmp/LIVE-XXXXXX", merged_dir[] = "/tmp/MERGED-XXXXXX";
    json_t *objs = NULL, *sources = NULL, *obj;
    size_t i;
    int rv = 0;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 2;
    free(pos.v);
    if (files.n == 0) {
        fprintf(stderr, "error: must specify one of -f and -k\n");
        free(files.v);
        return 2;
    }
    if (kctl_read_manifests("diff", files.v, files.n, recursive, &objs,
                            &sources) != 0) {
        free(files.v);
        return 2;
    }
    free(files.v);
    if (mkdtemp(live_dir) == NULL || mkdtemp(merged_dir) == NULL) {
        perror("error: mkdtemp");
        json_decref(objs);
        json_decref(sources);
        return 2;
    }
    json_array_foreach (objs, i, obj) {
        struct kctl_resource r;
        const char *ns, *name;
        struct buf p, file;
        json_t *live = NULL, *merged;
        int g;

        if (kctl_prepare_object(cl, obj, &r, &ns) != 0) {
            rv = 2;
            break;
        }
        name = json_string_value(
            json_object_get(json_object_get(obj, "metadata"), "name"));
        buf_init(&p);
        kctl_resource_path(&p, &r, ns, name);
        g = kctl_json(cl, "GET", p.data, NULL, NULL, true, &live);
        buf_close(&p);
        if (g == -1) {
            rv = 2;
            break;
        }
        if (!server_side && kctl_set_last_applied(obj) != 0) {
            json_decref(live);
            rv = 2;
            break;
        }
        merged = merged_object(cl, &r, ns, obj, live, server_side);
        if (merged == NULL) {
            json_decref(live);
            rv = 2;
            break;
        }
        buf_init(&file);
        buf_printf(&file, "%s%s%s.%s.%s.%s", r.group, r.group[0] ? "." : "",
                   r.version, r.kind, ns ? ns : "", name);
        if (write_yaml(live_dir, file.data, live) != 0 ||
            write_yaml(merged_dir, file.data, merged) != 0)
            rv = 2;
        buf_close(&file);
        json_decref(live);
        json_decref(merged);
        if (rv != 0)
            break;
    }
    json_decref(objs);
    json_decref(sources);
    if (rv == 0) {
        const char *ext = getenv("KUBECTL_EXTERNAL_DIFF");
        pid_t pid;
        int st;
        fflush(stdout);
        pid = fork();
        if (pid == 0) {
            if (ext != NULL && ext[0] != '\0')
                execlp("sh", "sh", "-c",
                       "exec $KUBECTL_EXTERNAL_DIFF \"$0\" "
                       "\"$1\"",
                       live_dir, merged_dir, (char *)NULL);
            else
                execlp("diff", "diff", "-u", "-N", live_dir, merged_dir,
                       (char *)NULL);
            _exit(127);
        }
        if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st))
            rv = 2;
        else
            rv = WEXITSTATUS(st) <= 1 ? WEXITSTATUS(st) : 2;
    }
    {
        /* both directories hold only the files written above */
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s'", live_dir, merged_dir);
        if (system(cmd) != 0)
            rv = rv ? rv : 2;
    }
    return rv;
}

/*
 * DESIGN: server-side apply, the part k1s does ("Server-Side Apply",
 * kubernetes.io/docs/reference/using-api/server-side-apply/). The applied
 * configuration is merged into the live object with the strategic merge
 * patch rules; field ownership is kept, per manager, in
 * metadata.managedFields as an Apply entry whose fieldsV1 lists the paths
 * the manager set (the FieldsV1 "f:<key>" form; lists are owned whole).
 * On the next apply by the same manager, a field it set before and no
 * longer sets is removed — so dropping a label or a key from the manifest
 * removes it from the object, as with a real cluster. Conflicts between
 * managers are not computed (force is accepted and changes nothing).
 * The entry is rewritten only when the owned set changes, so applying the
 * same configuration twice changes nothing, resourceVersion included.
 */
#include <stdio.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "apiserver/objects_int.h"

/* What `applied` sets, as FieldsV1. New reference. */
static json_t *fields_of(const json_t *applied, int depth)
{
    json_t *f = json_object();
    const char *k;
    json_t *v;
    char key[512];

    if (depth > API_JSON_DEPTH_MAX)
        return f;
    json_object_foreach ((json_t *)applied, k, v) {
        snprintf(key, sizeof key, "f:%s", k);
        if (json_is_object(v) && json_object_size(v) > 0)
            json_object_set_new(f, key, fields_of(v, depth + 1));
        else
            json_object_set_new(f, key, json_object());
    }
    return f;
}

/* Removes from `obj` what `owned` lists and `applied` no longer sets. */
static void prune(json_t *obj, const json_t *owned, const json_t *applied,
                  int depth)
{
    const char *k;
    json_t *sub;

    if (!json_is_object(obj) || depth > API_JSON_DEPTH_MAX)
        return;
    json_object_foreach ((json_t *)owned, k, sub) {
        const char *name = k + 2;
        json_t *a;
        if (strncmp(k, "f:", 2) != 0)
            continue;
        a = json_object_get(applied, name);
        if (a == NULL) {
            json_object_del(obj, name);
            continue;
        }
        if (json_is_object(a) && json_object_size(sub) > 0)
            prune(json_object_get(obj, name), sub, a, depth + 1);
    }
}

static bool is_entry_of(const json_t *e, const char *manager)
{
    const char *m = json_string_value(json_object_get(e, "manager"));
    const char *op = json_string_value(json_object_get(e, "operation"));
    return m && op && strcmp(m, manager) == 0 && strcmp(op, "Apply") == 0;
}

void api_ssa_merge(json_t *result, const json_t *live, const json_t *applied,
                   const char *manager, const char *api_version)
{
    json_t *meta = api_meta(result);
    json_t *mf = json_object_get(
        json_object_get(live ? live : result, "metadata"), "managedFields");
    json_t *entries = json_is_array(mf) ? json_deep_copy(mf) : json_array();
    json_t *cmp = json_deep_copy(applied);
    json_t *owned, *prev = NULL;
    size_t i;
    json_t *e;
    char ts[32];

    /* name, namespace and the applied object's own managedFields are not
     * owned fields */
    json_object_del(json_object_get(cmp, "metadata"), "managedFields");
    json_object_del(json_object_get(cmp, "metadata"), "resourceVersion");
    owned = fields_of(cmp, 0);
    json_array_foreach (entries, i, e) {
        if (is_entry_of(e, manager))
            prev = json_object_get(e, "fieldsV1");
    }
    if (prev)
        prune(result, prev, cmp, 0);
    if (prev && json_equal(prev, owned)) {
        json_object_set_new(meta, "managedFields", entries);
    } else {
        json_t *keep = json_array();
        json_array_foreach (entries, i, e) {
            if (!is_entry_of(e, manager))
                json_array_append(keep, e);
        }
        api_now(ts, sizeof ts);
        json_array_append_new(
            keep,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "manager", manager,
                      "operation", "Apply", "apiVersion", api_version, "time",
                      ts, "fieldsType", "FieldsV1", "fieldsV1", owned));
        json_object_set_new(meta, "managedFields", keep);
        json_decref(entries);
    }
    json_decref(owned);
    json_decref(cmp);
}

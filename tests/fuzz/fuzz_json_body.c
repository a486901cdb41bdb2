/* libFuzzer target: the request-body path of the API server that needs no
 * store — api_json_decode (depth cap), then, for an object, what a create
 * does to it: defaulting, validation (kind-specific and metadata), strict
 * unknown-field detection, Table printing, and server-side apply's field
 * ownership (re-applying the same object is a no-op). The first input byte
 * picks the registry row. Any input must give a value or a K1S_E* error, never
 * a crash, a hang or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "apiserver/api_int.h"
#include "apiserver/objects_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct api_resource *res;
    json_t *obj = NULL;
    char err[512], unk[400];
    struct api_errs e;

    if (size < 1)
        return 0;
    res = &api_resources[data[0] % api_nresources];
    if (api_json_decode((const char *)data + 1, size - 1, &obj, err,
                        sizeof err) != 0) {
        if (obj != NULL)
            __builtin_trap();
        return 0;
    }
    if (json_is_object(obj)) {
        if (res->defaults)
            res->defaults(obj);
        api_errs_init(&e);
        api_validate_meta(res, obj, &e);
        if (res->validate)
            res->validate(obj, NULL, &e);
        api_errs_close(&e);
        api_unknown_fields(res, obj, unk, sizeof unk);
        json_t *items = json_pack("[O]", obj);
        json_t *t =
            api_table_new(res, items, "1", NULL, true, API_INC_METADATA);
        if (t == NULL)
            __builtin_trap();
        json_decref(t);
        json_decref(items);
        /* server-side apply's ownership: applying the object onto itself
         * twice must prune nothing it sets */
        json_t *live = json_deep_copy(obj);
        api_ssa_merge(live, NULL, obj, "fuzz", "v1");
        json_t *again = json_deep_copy(live);
        api_ssa_merge(again, live, obj, "fuzz", "v1");
        if (!json_equal(again, live))
            __builtin_trap();
        json_decref(again);
        json_decref(live);
    }
    json_decref(obj);
    return 0;
}

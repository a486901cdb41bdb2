/* libFuzzer target: strategic merge patch (apiserver/patch_strategic.c).
 * Input: one byte choosing the kind, a JSON document, a newline, a JSON
 * patch. Must give 0 and a value or a K1S_E* error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "apiserver/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const kinds[][2] = {
    {"apps/v1", "Deployment"}, {"v1", "Pod"},
    {"v1", "Service"},         {"v1", "Node"},
    {"batch/v1", "Job"},       {"v1", "ConfigMap"},
    {"x.io/v1", "Widget"},     {"v1", "ServiceAccount"},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl;
    json_t *doc, *patch, *out = NULL;
    char err[512];
    size_t n1, k;

    if (size < 1)
        return 0;
    k = data[0] % (sizeof kinds / sizeof kinds[0]);
    data++;
    size--;
    nl = memchr(data, '\n', size);
    if (nl == NULL)
        return 0;
    n1 = (size_t)(nl - data);
    doc = json_loadb((const char *)data, n1, JSON_DECODE_ANY, NULL);
    patch =
        json_loadb((const char *)nl + 1, size - n1 - 1, JSON_DECODE_ANY, NULL);
    if (doc != NULL && patch != NULL) {
        int rv = api_strategic_merge_patch(doc, patch, kinds[k][0], kinds[k][1],
                                           &out, err, sizeof err);
        if (rv == 0 && out == NULL)
            __builtin_trap();
        json_decref(out);
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}

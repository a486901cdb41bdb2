/* libFuzzer target: RFC 7386 JSON merge patch (apiserver/patch_merge.c).
 * Input: a JSON document, a newline, a JSON patch. Any input must give
 * either 0 and a value or a K1S_E* error, never a crash or a leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "apiserver/patch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    json_t *doc, *patch, *out = NULL;
    char err[256];
    size_t n1;

    if (nl == NULL)
        return 0;
    n1 = (size_t)(nl - data);
    doc = json_loadb((const char *)data, n1, JSON_DECODE_ANY, NULL);
    patch =
        json_loadb((const char *)nl + 1, size - n1 - 1, JSON_DECODE_ANY, NULL);
    if (doc != NULL && patch != NULL) {
        int rv = api_merge_patch(doc, patch, &out, err, sizeof err);
        if (rv == 0 && out == NULL)
            __builtin_trap();
        json_decref(out);
    }
    json_decref(doc);
    json_decref(patch);
    return 0;
}

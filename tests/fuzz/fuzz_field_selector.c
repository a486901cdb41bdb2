/* libFuzzer target: field selector parsing and matching
 * (apiserver/selector.c). Input: the selector text; matched against a
 * fixed Pod-like object, with and without an allowed-field list. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apiserver/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const allowed[] = {"metadata.name", "metadata.namespace",
                                      "spec.nodeName", "status.phase", NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_field_selector *sel = NULL;
    char *s = malloc(size + 1);
    char err[512];
    json_t *obj;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    obj = json_pack("{s:{s:s, s:s}, s:{s:s, s:b}, s:{s:i}}", "metadata", "name",
                    "a,b", "namespace", "default", "spec", "nodeName", "n1",
                    "hostNetwork", 1, "status", "count", 3);
    for (int pass = 0; pass < 2; pass++) {
        if (api_field_selector_parse(s, pass ? allowed : NULL, &sel, err,
                                     sizeof err) == 0) {
            (void)api_field_selector_matches(sel, obj);
            (void)api_field_selector_matches(sel, NULL);
            (void)api_field_selector_name(sel);
            api_field_selector_free(sel);
        }
    }
    json_decref(obj);
    free(s);
    return 0;
}

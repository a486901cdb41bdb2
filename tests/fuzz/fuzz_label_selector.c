/* libFuzzer target: label selector parsing (apiserver/selector.c).
 * Input: the selector text. A selector that parses must print a canonical
 * string that parses again to the same string, and match without crashing
 * against a fixed label set. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apiserver/selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_label_selector *sel = NULL, *again = NULL;
    char *s = malloc(size + 1), *canon, *canon2;
    char err[1024];
    json_t *labels;

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (api_label_selector_parse(s, &sel, err, sizeof err) == 0) {
        labels =
            json_pack("{s:s, s:s, s:s}", "app", "web", "tier", "", "x", "5");
        (void)api_label_selector_matches(sel, labels);
        (void)api_label_selector_matches(sel, NULL);
        json_decref(labels);
        canon = api_label_selector_string(sel);
        if (canon != NULL) {
            /* the canonical form must be parseable and stable */
            if (api_label_selector_parse(canon, &again, err, sizeof err) != 0)
                __builtin_trap();
            canon2 = api_label_selector_string(again);
            if (canon2 != NULL && strcmp(canon, canon2) != 0)
                __builtin_trap();
            free(canon2);
            api_label_selector_free(again);
        }
        free(canon);
        api_label_selector_free(sel);
    }
    free(s);
    return 0;
}

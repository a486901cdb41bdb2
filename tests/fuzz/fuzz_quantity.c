/* libFuzzer target: resource quantity parsing (apiserver/quantity.c).
 * Input: the quantity text. A quantity that parses must format, and its
 * canonical form must parse back to the same value. (Not always to the
 * same string: as in Kubernetes, "812.5Ki" prints "832000", which then
 * parses as decimal and prints "832k".) */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/quantity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct api_quantity q, q2;
    char *s = malloc(size + 1), out[64], out2[64];

    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (api_quantity_parse(s, &q) == 0) {
        (void)api_quantity_milli(&q);
        (void)api_quantity_value(&q);
        if (api_quantity_format(&q, out, sizeof out) <= 0)
            __builtin_trap();
        if (api_quantity_parse(out, &q2) != 0 ||
            api_quantity_cmp(&q, &q2) != 0 ||
            api_quantity_format(&q2, out2, sizeof out2) <= 0)
            __builtin_trap();
    }
    free(s);
    return 0;
}

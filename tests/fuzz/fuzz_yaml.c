/* libFuzzer target: kubectl-lite's YAML reader and writer
 * (kubectl-lite/yaml.c). Any input must give either 0 and an array of
 * documents or K1S_EINVAL with a message — never a crash, a leak or an
 * unbounded amount of work (alias bombs, deep nesting). What is read must
 * be writable, and what is written must read back as the same values. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *docs = NULL, *again = NULL, *d;
    char err[512];
    struct buf out;
    size_t i;

    if (kctl_yaml_parse((const char *)data, size, "fuzz", &docs, err,
                        sizeof err) != 0) {
        if (docs != NULL || err[0] == '\0')
            __builtin_trap(); /* an error always comes with a message */
        return 0;
    }
    json_array_foreach (docs, i, d) {
        buf_init(&out);
        if (kctl_yaml_emit(d, &out) != 0)
            __builtin_trap();
        if (kctl_yaml_parse(out.data ? out.data : "", out.len, "emitted",
                            &again, err, sizeof err) != 0)
            __builtin_trap(); /* the writer produced unreadable YAML */
        /* Round trip: a null or empty document reads back as nothing. */
        if (json_array_size(again) == 1 &&
            !json_equal(json_array_get(again, 0), d))
            __builtin_trap();
        json_decref(again);
        buf_close(&out);
    }
    json_decref(docs);
    return 0;
}

/* libFuzzer target: the protobuf body decoder (apiserver/protobuf.c).
 * Input: the request body. The seed corpus holds real-shaped envelopes;
 * the fuzzer also tries each input behind a valid "k8s\0" prefix so the
 * mutations reach the message decoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "apiserver/protobuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size)
{
    json_t *out = NULL;
    char err[256];
    int rv = api_protobuf_decode(data, size, &out, err, sizeof err);

    if ((rv == 0) != (out != NULL))
        __builtin_trap();
    json_decref(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *buf;

    one(data, size);
    buf = malloc(size + 4);
    if (buf == NULL)
        return 0;
    memcpy(buf, "k8s\0", 4);
    memcpy(buf + 4, data, size);
    one(buf, size + 4);
    free(buf);
    return 0;
}

/*
 * DESIGN: request body decoding. Bodies are capped in size by the HTTP
 * layer (API_BODY_MAX) and in nesting depth here, before jansson builds
 * anything: a scan that tracks string state counts brackets, so a body of
 * a million '[' is refused in linear time without recursion.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/err.h"

static int depth_ok(const char *p, size_t len)
{
    int depth = 0;
    bool in_str = false, esc = false;

    for (size_t i = 0; i < len; i++) {
        char c = p[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[') {
            if (++depth > API_JSON_DEPTH_MAX)
                return 0;
        } else if (c == '}' || c == ']')
            depth--;
    }
    return 1;
}

int api_json_decode(const char *data, size_t len, json_t **ret, char *errbuf,
                    size_t errlen)
{
    json_error_t jerr;
    json_t *v;

    *ret = NULL;
    if (data == NULL || len == 0) {
        snprintf(errbuf, errlen, "the request body is empty");
        return K1S_EBADREQ;
    }
    if (!depth_ok(data, len)) {
        snprintf(errbuf, errlen,
                 "the request body is nested deeper than %d levels",
                 API_JSON_DEPTH_MAX);
        return K1S_EBADREQ;
    }
    v = json_loadb(data, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (v == NULL) {
        snprintf(errbuf, errlen,
                 "couldn't decode the request body as JSON: "
                 "%s (line %d, column %d)",
                 jerr.text, jerr.line, jerr.column);
        return K1S_EBADREQ;
    }
    *ret = v;
    return 0;
}

char *api_json_dump(const json_t *v, size_t *ret_len)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);

    if (ret_len)
        *ret_len = s ? strlen(s) : 0;
    return s;
}

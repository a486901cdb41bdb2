/*
 * DESIGN: what must exist from the first start: the namespaces default,
 * kube-system, kube-public and kube-node-lease. They are created through
 * the in-process client (so they get uid, timestamps and defaults like any
 * other object); one that already exists is left alone, so a restart
 * changes nothing.
 */
#include <stdio.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/err.h"
#include "lib/log.h"

int api_bootstrap(struct api_server *srv, char *errbuf, size_t errlen)
{
    static const char *const names[] = {"default", "kube-system", "kube-public",
                                        "kube-node-lease"};

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        json_t *ns =
            json_pack("{s:s, s:s, s:{s:s}}", "apiVersion", "v1", "kind",
                      "Namespace", "metadata", "name", names[i]);
        json_t *out = NULL;
        int code = api_call(srv, "POST", "/api/v1/namespaces", NULL, ns, &out);
        json_decref(ns);
        if (code != 201 && code != 409) {
            const char *msg =
                json_string_value(json_object_get(out, "message"));
            snprintf(errbuf, errlen,
                     "apiserver: cannot create namespace %s: %s", names[i],
                     msg ? msg : err_str(code < 0 ? code : K1S_EINTERNAL));
            json_decref(out);
            return code < 0 ? code : K1S_EINTERNAL;
        }
        if (code == 201)
            log_info("apiserver: created namespace %s", names[i]);
        json_decref(out);
    }
    return 0;
}

/*
 * DESIGN: the API server's use of label and field selectors, in one place:
 * parse both query parameters against the resource's served fields (the
 * parsers are selector.c's), match an object, free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "apiserver/selector.h"
#include "lib/err.h"

int api_sel_parse(const struct api_resource *res, const char *label,
                  const char *field, void **ret_ls, void **ret_fs, char *errbuf,
                  size_t errlen)
{
    struct api_label_selector *ls = NULL;
    struct api_field_selector *fs = NULL;
    int rv;

    *ret_ls = *ret_fs = NULL;
    if (label && *label) {
        rv = api_label_selector_parse(label, &ls, errbuf, errlen);
        if (rv != 0)
            return rv;
    }
    if (field && *field) {
        rv = api_field_selector_parse(field, res->fields, &fs, errbuf, errlen);
        if (rv != 0) {
            api_label_selector_free(ls);
            return rv;
        }
    }
    *ret_ls = ls;
    *ret_fs = fs;
    return 0;
}

bool api_sel_match(const void *ls, const void *fs, const json_t *obj)
{
    if (ls &&
        !api_label_selector_matches(
            ls, json_object_get(json_object_get(obj, "metadata"), "labels")))
        return false;
    if (fs && !api_field_selector_matches(fs, obj))
        return false;
    return true;
}

const char *api_sel_name(const void *fs)
{
    return fs ? api_field_selector_name(fs) : NULL;
}

void api_sel_free(void *ls, void *fs)
{
    api_label_selector_free(ls);
    api_field_selector_free(fs);
}

int api_labels_match(const char *selector, const json_t *labels, char *errbuf,
                     size_t errlen)
{
    struct api_label_selector *ls = NULL;
    int rv =
        api_label_selector_parse(selector ? selector : "", &ls, errbuf, errlen);
    if (rv != 0)
        return rv;
    rv = api_label_selector_matches(ls, labels) ? 1 : 0;
    api_label_selector_free(ls);
    return rv;
}

/*
 * DESIGN: the API server's use of label and field selectors, in one place:
 * parse both query parameters against the resource's served fields,
 * match an object, free. The parsers themselves live in selector.c (the
 * apilibs helper's); until that file is linked in, a minimal parser for
 * `k=v` / `k!=v` conjunctions stands in, so list and watch filtering works
 * in the meantime (weak references decide at link time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiserver/api_int.h"
#include "lib/err.h"

#if API_HAVE_SELECTOR
#pragma weak api_label_selector_parse
#pragma weak api_label_selector_matches
#pragma weak api_label_selector_free
#pragma weak api_label_selector_is_empty
#pragma weak api_field_selector_parse
#pragma weak api_field_selector_matches
#pragma weak api_field_selector_name
#pragma weak api_field_selector_free
#endif

/* --- fallback: conjunctions of k=v, k==v, k!=v ------------------------ */
struct fb_term {
    char *key, *val;
    bool neq;
};
struct fb_sel {
    struct fb_term t[32];
    size_t n;
    bool field;
};

static void fb_free(struct fb_sel *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->t[i].key);
        free(s->t[i].val);
    }
    free(s);
}

static int fb_parse(const char *str, bool field, const char *const *allowed,
                    struct fb_sel **ret, char *errbuf, size_t errlen)
{
    struct fb_sel *s = calloc(1, sizeof *s);
    char *dup = strdup(str ? str : ""), *save = NULL, *tok;

    if (s == NULL || dup == NULL) {
        free(s);
        free(dup);
        return K1S_ENOMEM;
    }
    s->field = field;
    for (tok = strtok_r(dup, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        char *op;
        bool neq = false;
        size_t oplen = 1;
        while (*tok == ' ')
            tok++;
        if (*tok == '\0')
            continue;
        if ((op = strstr(tok, "!=")) != NULL) {
            neq = true;
            oplen = 2;
        } else if ((op = strstr(tok, "==")) != NULL)
            oplen = 2;
        else
            op = strchr(tok, '=');
        if (op == NULL || s->n >= 32) {
            snprintf(errbuf, errlen, "unable to parse requirement: %s", tok);
            goto err;
        }
        *op = '\0';
        if (field && allowed) {
            size_t i;
            for (i = 0; allowed[i]; i++)
                if (strcmp(allowed[i], tok) == 0)
                    break;
            if (allowed[i] == NULL) {
                snprintf(errbuf, errlen, "field label not supported: %s",
                         tok);
                goto err;
            }
        }
        s->t[s->n].key = strdup(tok);
        s->t[s->n].val = strdup(op + oplen);
        s->t[s->n].neq = neq;
        s->n++;
    }
    free(dup);
    *ret = s;
    return 0;
err:
    free(dup);
    fb_free(s);
    return K1S_EBADREQ;
}

static const char *field_value(const json_t *obj, const char *path,
                               char *tmp, size_t len)
{
    char p[256];
    char *save = NULL, *tok;
    const json_t *v = obj;

    snprintf(p, sizeof p, "%s", path);
    for (tok = strtok_r(p, ".", &save); tok && v;
         tok = strtok_r(NULL, ".", &save))
        v = json_object_get(v, tok);
    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_boolean(v))
        return json_is_true(v) ? "true" : "false";
    if (json_is_integer(v)) {
        snprintf(tmp, len, "%lld", (long long)json_integer_value(v));
        return tmp;
    }
    return "";
}

static bool fb_match(const struct fb_sel *s, const json_t *obj)
{
    const json_t *labels =
        json_object_get(json_object_get(obj, "metadata"), "labels");
    char tmp[32];

    for (size_t i = 0; s && i < s->n; i++) {
        const char *v;
        if (s->field)
            v = field_value(obj, s->t[i].key, tmp, sizeof tmp);
        else {
            const json_t *j = json_object_get(labels, s->t[i].key);
            v = json_is_string(j) ? json_string_value(j) : NULL;
            if (v == NULL) {
                if (!s->t[i].neq)
                    return false;
                continue;
            }
        }
        if ((strcmp(v, s->t[i].val) == 0) == s->t[i].neq)
            return false;
    }
    return true;
}

/* --- the glue --------------------------------------------------------- */
struct api_sel {
    void *ls, *fs;
    bool fb;
};

static bool have_lib(void)
{
#if API_HAVE_SELECTOR
    return api_label_selector_parse != NULL &&
           api_field_selector_parse != NULL;
#else
    return false;
#endif
}

int api_sel_parse(const struct api_resource *res, const char *label,
                  const char *field, void **ret_ls, void **ret_fs,
                  char *errbuf, size_t errlen)
{
    int rv;

    *ret_ls = *ret_fs = NULL;
    if (!have_lib()) {
        struct fb_sel *l = NULL, *f = NULL;
        if (label && *label) {
            rv = fb_parse(label, false, NULL, &l, errbuf, errlen);
            if (rv != 0)
                return rv;
        }
        if (field && *field) {
            rv = fb_parse(field, true, res->fields, &f, errbuf, errlen);
            if (rv != 0) {
                fb_free(l);
                return rv;
            }
        }
        *ret_ls = l;
        *ret_fs = f;
        return 0;
    }
#if API_HAVE_SELECTOR
    struct api_label_selector *ls = NULL;
    struct api_field_selector *fs = NULL;
    if (label && *label) {
        rv = api_label_selector_parse(label, &ls, errbuf, errlen);
        if (rv != 0)
            return rv;
    }
    if (field && *field) {
        rv = api_field_selector_parse(field, res->fields, &fs, errbuf,
                                      errlen);
        if (rv != 0) {
            api_label_selector_free(ls);
            return rv;
        }
    }
    *ret_ls = ls;
    *ret_fs = fs;
#endif
    return 0;
}

bool api_sel_match(const void *ls, const void *fs, const json_t *obj)
{
    if (!have_lib())
        return fb_match(ls, obj) && fb_match(fs, obj);
#if API_HAVE_SELECTOR
    if (ls &&
        !api_label_selector_matches(
            ls, json_object_get(json_object_get(obj, "metadata"), "labels")))
        return false;
    if (fs && !api_field_selector_matches(fs, obj))
        return false;
#endif
    return true;
}

const char *api_sel_name(const void *fs)
{
    if (fs == NULL)
        return NULL;
    if (!have_lib()) {
        const struct fb_sel *s = fs;
        for (size_t i = 0; i < s->n; i++)
            if (!s->t[i].neq && strcmp(s->t[i].key, "metadata.name") == 0)
                return s->t[i].val;
        return NULL;
    }
#if API_HAVE_SELECTOR
    return api_field_selector_name(fs);
#else
    return NULL;
#endif
}

void api_sel_free(void *ls, void *fs)
{
    if (!have_lib()) {
        fb_free(ls);
        fb_free(fs);
        return;
    }
#if API_HAVE_SELECTOR
    api_label_selector_free(ls);
    api_field_selector_free(fs);
#endif
}

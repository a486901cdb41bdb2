/*
 * DESIGN: YAML <-> JSON for kubectl-lite.
 *
 * Reading: libyaml's event parser, and a stack of open containers that
 * builds jansson values directly (no intermediate node tree). The scalar
 * rules are those kubectl gets from sigs.k8s.io/yaml (go-yaml v2, YAML
 * 1.1): see resolve_plain(). Anchors are remembered with the number of
 * nodes they hold, so an alias costs its node count against
 * KCTL_YAML_MAX_ALIAS_NODES before anything is copied — a "billion laughs"
 * document fails after a bounded amount of work.
 *
 * Writing: the layout go-yaml v2 (libyaml's emitter) gives kubectl -o yaml:
 * block style, sequences not indented under their key, keys in go-yaml's
 * "natural" order, the same quoting decisions (a string that would read
 * back as another type is double-quoted; one that cannot be plain is
 * single-quoted; one with special characters is double-quoted with
 * escapes) and the same folding of long lines at 80 columns.
 */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"

/* ------------------------------------------------------- scalar typing */

enum scalar_kind { SK_STR, SK_NULL, SK_BOOL, SK_INT, SK_FLOAT, SK_MERGE };

struct scalar {
    enum scalar_kind kind;
    bool b;
    long long i;
    double f;
};

/* Go's strconv.ParseInt(s, 0, 64) after go-yaml removed the '_'s: 0x, 0o,
 * 0b prefixes (either case), a leading 0 means octal, an optional sign. */
static bool parse_int_go(const char *s, long long *ret)
{
    bool neg = false;
    int base = 10;
    unsigned long long v = 0, lim;

    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        base = 16, s += 2;
    else if (s[0] == '0' && (s[1] == 'o' || s[1] == 'O'))
        base = 8, s += 2;
    else if (s[0] == '0' && (s[1] == 'b' || s[1] == 'B'))
        base = 2, s += 2;
    else if (s[0] == '0' && s[1] != '\0')
        base = 8, s += 1;
    if (*s == '\0')
        return false;
    lim =
        neg ? (unsigned long long)INT64_MAX + 1 : (unsigned long long)INT64_MAX;
    for (; *s != '\0'; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            d = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            d = *s - 'A' + 10;
        else
            return false;
        if (d >= base || v > (lim - (unsigned)d) / (unsigned)base)
            return false;
        v = v * (unsigned)base + (unsigned)d;
    }
    *ret = neg ? (long long)(0 - v) : (long long)v;
    return true;
}

/* go-yaml v2's yamlStyleFloat:
 * ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool yaml_style_float(const char *s)
{
    if (*s == '+' || *s == '-')
        s++;
    if (*s == '.') {
        if (!isdigit((unsigned char)s[1]))
            return false;
        for (s++; isdigit((unsigned char)*s); s++)
            ;
    } else {
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
        if (*s == '.')
            for (s++; isdigit((unsigned char)*s); s++)
                ;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return false;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return *s == '\0';
}

static bool digits(const char **p, int min, int max)
{
    int n = 0;
    while (isdigit((unsigned char)**p) && n < max)
        (*p)++, n++;
    return n >= min;
}

/* go-yaml v2 reads these plain forms as timestamps (and then, decoding
 * into interface{}, keeps the string); the writer must quote them. */
static bool looks_timestamp(const char *s)
{
    const char *p = s;
    if (!digits(&p, 4, 4) || *p++ != '-' || !digits(&p, 1, 2) || *p++ != '-' ||
        !digits(&p, 1, 2))
        return false;
    if (*p == '\0')
        return true;
    if (*p != 'T' && *p != 't' && *p != ' ')
        return false;
    p++;
    if (!digits(&p, 1, 2) || *p++ != ':' || !digits(&p, 1, 2) || *p++ != ':' ||
        !digits(&p, 1, 2))
        return false;
    if (*p == '.') {
        p++;
        if (!digits(&p, 1, 9))
            return false;
    }
    if (*p == 'Z')
        p++;
    else if (*p == '+' || *p == '-') {
        p++;
        if (!digits(&p, 1, 2) || *p++ != ':' || !digits(&p, 2, 2))
            return false;
    }
    return *p == '\0';
}

/* go-yaml v2's isBase60Float: "1:20" and the like are quoted on output. */
static bool base60_float(const char *s)
{
    const char *p = s;
    bool colon = false;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p) || *p == '_')
        p++;
    while (*p == ':') {
        const char *q = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        if (p == q || p - q > 2 || (p - q == 2 && q[0] > '5'))
            return false;
        colon = true;
    }
    if (!colon)
        return false;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p) || *p == '_'; p++)
            ;
    return *p == '\0';
}

static bool in_list(const char *s, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

/* What a plain (unquoted, untagged) scalar means, as go-yaml v2's resolve()
 * decides it. Strings with NUL bytes never resolve to anything but str. */
static void resolve_plain(const char *s, struct scalar *ret)
{
    static const char *const yes[] = {"y",   "Y",    "yes",  "Yes",
                                      "YES", "true", "True", "TRUE",
                                      "on",  "On",   "ON",   NULL};
    static const char *const no[] = {"n",   "N",     "no",    "No",
                                     "NO",  "false", "False", "FALSE",
                                     "off", "Off",   "OFF",   NULL};
    static const char *const nul[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const nan_[] = {".nan", ".NaN", ".NAN", NULL};
    static const char *const inf[] = {".inf",  ".Inf",  ".INF", "+.inf",
                                      "+.Inf", "+.INF", NULL};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};
    char plain[80];
    size_t n = 0;

    memset(ret, 0, sizeof *ret);
    if (in_list(s, yes) || in_list(s, no)) {
        ret->kind = SK_BOOL;
        ret->b = in_list(s, yes);
        return;
    }
    if (in_list(s, nul)) {
        ret->kind = SK_NULL;
        return;
    }
    if (strcmp(s, "<<") == 0) {
        ret->kind = SK_MERGE;
        return;
    }
    if (in_list(s, nan_) || in_list(s, inf) || in_list(s, ninf)) {
        ret->kind = SK_FLOAT;
        ret->f = in_list(s, nan_)  ? NAN
                 : in_list(s, inf) ? INFINITY
                                   : -INFINITY;
        return;
    }
    if (!(isdigit((unsigned char)s[0]) || s[0] == '+' || s[0] == '-' ||
          s[0] == '.'))
        return;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p == '_')
            continue;
        if (n + 1 >= sizeof plain)
            return; /* far too long for a number */
        plain[n++] = *p;
    }
    plain[n] = '\0';
    if (parse_int_go(plain, &ret->i)) {
        ret->kind = SK_INT;
        return;
    }
    if (yaml_style_float(plain)) {
        ret->kind = SK_FLOAT;
        ret->f = strtod(plain, NULL);
        return;
    }
    if (looks_timestamp(s))
        return; /* a string to the reader; quoted by the writer */
}

/* ------------------------------------------------------------- reading */

struct anchor {
    char *name;
    json_t *value;
    size_t nodes;
};

struct frame {
    json_t *node;   /* object or array being filled */
    char *anchor;   /* its anchor, registered when it closes */
    size_t nodes;   /* nodes in it so far, itself included */
    char *key;      /* a mapping's pending key (NULL: expecting a key) */
    bool key_merge; /* the pending key is the merge key << */
    size_t key_line;
    json_t *merges; /* mappings named by << (array), or NULL */
};

struct reader {
    yaml_parser_t parser;
    const char *name;
    int doc; /* 1-based index of the document being read */
    struct frame stack[KCTL_YAML_MAX_DEPTH + 1];
    int depth;
    struct anchor *anchors;
    size_t nanchors, cap_anchors;
    size_t alias_nodes;
    json_t *root; /* the document's value once complete */
    char *err;
    size_t errlen;
};

static int fail(struct reader *r, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct reader *r, size_t line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(r->err, r->errlen,
                     "error parsing %s (document %d, "
                     "line %zu): ",
                     r->name, r->doc, line);
    if (n >= 0 && (size_t)n < r->errlen) {
        va_start(ap, fmt);
        vsnprintf(r->err + n, r->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return K1S_EINVAL;
}

static int remember_anchor(struct reader *r, const char *name, json_t *v,
                           size_t nodes)
{
    for (size_t i = 0; i < r->nanchors; i++) {
        if (strcmp(r->anchors[i].name, name) == 0) { /* redefined */
            json_decref(r->anchors[i].value);
            r->anchors[i].value = json_incref(v);
            r->anchors[i].nodes = nodes;
            return 0;
        }
    }
    if (r->nanchors == r->cap_anchors) {
        size_t cap = r->cap_anchors ? r->cap_anchors * 2 : 8;
        struct anchor *a = realloc(r->anchors, cap * sizeof *a);
        if (a == NULL)
            return K1S_ENOMEM;
        r->anchors = a;
        r->cap_anchors = cap;
    }
    r->anchors[r->nanchors].name = strdup(name);
    if (r->anchors[r->nanchors].name == NULL)
        return K1S_ENOMEM;
    r->anchors[r->nanchors].value = json_incref(v);
    r->anchors[r->nanchors].nodes = nodes;
    r->nanchors++;
    return 0;
}

static void forget_anchors(struct reader *r)
{
    for (size_t i = 0; i < r->nanchors; i++) {
        free(r->anchors[i].name);
        json_decref(r->anchors[i].value);
    }
    r->nanchors = 0;
}

/* A mapping key as JSON wants it: a string. go-yaml decodes plain keys
 * with their type and sigs.k8s.io/yaml prints them back: true, 1, null. */
static char *key_text(const yaml_event_t *ev, bool *is_merge)
{
    const char *v = (const char *)ev->data.scalar.value;
    struct scalar sc;
    char tmp[32];

    *is_merge = false;
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
        ev->data.scalar.tag != NULL)
        return strdup(v);
    resolve_plain(v, &sc);
    switch (sc.kind) {
    case SK_MERGE:
        *is_merge = true;
        return strdup(v);
    case SK_BOOL:
        return strdup(sc.b ? "true" : "false");
    case SK_NULL:
        return strdup("null");
    case SK_INT:
        snprintf(tmp, sizeof tmp, "%lld", sc.i);
        return strdup(tmp);
    default:
        return strdup(v);
    }
}

/* A float as JSON carries it: an integral value is an integer (Go's
 * encoding/json prints float64 1000 as 1000). */
static json_t *json_from_double(double f)
{
    if (f == floor(f) && fabs(f) < 9.0e15)
        return json_integer((json_int_t)f);
    return json_real(f);
}

static int scalar_value(struct reader *r, const yaml_event_t *ev, json_t **ret)
{
    const char *v = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    size_t line = ev->start_mark.line + 1;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    struct scalar sc;

    *ret = NULL;

    if (tag != NULL && strncmp(tag, "tag:yaml.org,2002:", 18) == 0) {
        const char *t = tag + 18;
        if (strcmp(t, "str") == 0 || strcmp(t, "binary") == 0) {
            *ret = json_stringn(v, ev->data.scalar.length);
            return *ret ? 0 : K1S_ENOMEM;
        }
        resolve_plain(v, &sc);
        if ((strcmp(t, "int") == 0 && sc.kind != SK_INT) ||
            (strcmp(t, "bool") == 0 && sc.kind != SK_BOOL) ||
            (strcmp(t, "null") == 0 && sc.kind != SK_NULL) ||
            (strcmp(t, "float") == 0 && sc.kind != SK_FLOAT &&
             sc.kind != SK_INT))
            return fail(r, line, "cannot decode \"%s\" as !!%s", v, t);
    } else if (!plain || strlen(v) != ev->data.scalar.length) {
        *ret = json_stringn(v, ev->data.scalar.length);
        return *ret ? 0 : K1S_ENOMEM;
    } else {
        resolve_plain(v, &sc);
    }
    switch (sc.kind) {
    case SK_NULL:
        *ret = json_null();
        break;
    case SK_BOOL:
        *ret = json_boolean(sc.b);
        break;
    case SK_INT:
        *ret = json_integer(sc.i);
        break;
    case SK_FLOAT:
        if (!isfinite(sc.f))
            return fail(r, line, "%s cannot be represented in JSON", v);
        *ret = json_from_double(sc.f);
        break;
    default:
        *ret = json_string(v);
        break;
    }
    return *ret ? 0 : K1S_ENOMEM;
}

/* Merges the << sources into a closed mapping: keys written in the mapping
 * win, then earlier sources over later ones. */
static int apply_merges(json_t *obj, json_t *merges)
{
    size_t i;
    json_t *src, *v;
    const char *k;

    json_array_foreach (merges, i, src) {
        json_object_foreach (src, k, v) {
            if (json_object_get(obj, k) == NULL &&
                json_object_set_new(obj, k, json_deep_copy(v)) != 0)
                return K1S_ENOMEM;
        }
    }
    return 0;
}

/* Hands a finished value (new reference, counted `nodes`) to the container
 * on top of the stack, or makes it the document's root. */
static int attach(struct reader *r, json_t *v, size_t nodes, size_t line)
{
    struct frame *f;
    int rv = 0;

    if (r->depth == 0) {
        r->root = v;
        return 0;
    }
    f = &r->stack[r->depth - 1];
    f->nodes += nodes;
    if (json_is_array(f->node))
        return json_array_append_new(f->node, v) == 0 ? 0 : K1S_ENOMEM;
    if (f->key == NULL) {
        json_decref(v);
        return fail(r, line, "mapping keys must be scalars");
    }
    if (f->key_merge) {
        size_t i;
        json_t *m;
        if (f->merges == NULL && (f->merges = json_array()) == NULL)
            rv = K1S_ENOMEM;
        else if (json_is_object(v))
            rv = json_array_append(f->merges, v) == 0 ? 0 : K1S_ENOMEM;
        else if (json_is_array(v)) {
            json_array_foreach (v, i, m) {
                if (!json_is_object(m)) {
                    rv = fail(r, line,
                              "map merge requires map or sequence "
                              "of maps as the value");
                    break;
                }
                json_array_append(f->merges, m);
            }
        } else {
            rv = fail(r, line,
                      "map merge requires map or sequence of maps "
                      "as the value");
        }
        json_decref(v);
    } else if (json_object_get(f->node, f->key) != NULL) {
        rv = fail(r, f->key_line, "found duplicate key \"%s\"", f->key);
        json_decref(v);
    } else if (json_object_set_new(f->node, f->key, v) != 0) {
        rv = K1S_ENOMEM;
    }
    free(f->key);
    f->key = NULL;
    return rv;
}

static int open_container(struct reader *r, const yaml_event_t *ev, bool is_map)
{
    struct frame *f;
    const yaml_char_t *anchor =
        is_map ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;

    if (r->depth >= KCTL_YAML_MAX_DEPTH)
        return fail(r, ev->start_mark.line + 1, "nesting deeper than %d levels",
                    KCTL_YAML_MAX_DEPTH);
    f = &r->stack[r->depth];
    memset(f, 0, sizeof *f);
    f->node = is_map ? json_object() : json_array();
    f->nodes = 1;
    if (f->node == NULL)
        return K1S_ENOMEM;
    if (anchor != NULL && (f->anchor = strdup((const char *)anchor)) == NULL) {
        json_decref(f->node);
        return K1S_ENOMEM;
    }
    r->depth++;
    return 0;
}

static int close_container(struct reader *r, size_t line)
{
    struct frame *f = &r->stack[--r->depth];
    json_t *v = f->node;
    size_t nodes = f->nodes;
    int rv = 0;

    if (f->merges != NULL)
        rv = apply_merges(v, f->merges);
    if (rv == 0 && f->anchor != NULL)
        rv = remember_anchor(r, f->anchor, v, nodes);
    json_decref(f->merges);
    free(f->anchor);
    free(f->key);
    if (rv != 0) {
        json_decref(v);
        return rv;
    }
    return attach(r, v, nodes, line);
}

/* An event inside a document. */
static int on_event(struct reader *r, const yaml_event_t *ev)
{
    size_t line = ev->start_mark.line + 1;
    struct frame *top = r->depth > 0 ? &r->stack[r->depth - 1] : NULL;
    json_t *v = NULL;
    int rv;

    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        if (top != NULL && json_is_object(top->node) && top->key == NULL) {
            top->key = key_text(ev, &top->key_merge);
            top->key_line = line;
            if (top->key == NULL)
                return K1S_ENOMEM;
            if (!top->key_merge && json_object_get(top->node, top->key))
                return fail(r, line, "found duplicate key \"%s\"", top->key);
            return 0;
        }
        if ((rv = scalar_value(r, ev, &v)) != 0)
            return rv;
        if (ev->data.scalar.anchor != NULL &&
            (rv = remember_anchor(r, (const char *)ev->data.scalar.anchor, v,
                                  1)) != 0) {
            json_decref(v);
            return rv;
        }
        return attach(r, v, 1, line);
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        struct anchor *a = NULL;
        for (size_t i = 0; i < r->nanchors; i++)
            if (strcmp(r->anchors[i].name, name) == 0)
                a = &r->anchors[i];
        if (a == NULL)
            return fail(r, line, "unknown anchor '%s' referenced", name);
        if (top != NULL && json_is_object(top->node) && top->key == NULL) {
            if (!json_is_string(a->value) && !json_is_integer(a->value))
                return fail(r, line, "mapping keys must be scalars");
            top->key = json_is_string(a->value)
                           ? strdup(json_string_value(a->value))
                           : NULL;
            if (top->key == NULL) {
                char tmp[32];
                snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT,
                         json_integer_value(a->value));
                top->key = strdup(tmp);
            }
            top->key_merge = false;
            top->key_line = line;
            if (top->key != NULL && json_object_get(top->node, top->key))
                return fail(r, line, "found duplicate key \"%s\"", top->key);
            return top->key ? 0 : K1S_ENOMEM;
        }
        r->alias_nodes += a->nodes;
        if (r->alias_nodes > KCTL_YAML_MAX_ALIAS_NODES)
            return fail(r, line,
                        "aliases expand to more than %d nodes (an alias "
                        "bomb?)",
                        KCTL_YAML_MAX_ALIAS_NODES);
        v = json_deep_copy(a->value);
        if (v == NULL)
            return K1S_ENOMEM;
        return attach(r, v, a->nodes, line);
    }
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        if (top != NULL && json_is_object(top->node) && top->key == NULL)
            return fail(r, line, "mapping keys must be scalars");
        return open_container(r, ev, ev->type == YAML_MAPPING_START_EVENT);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return close_container(r, line);
    default:
        return 0;
    }
}

static void reader_unwind(struct reader *r)
{
    while (r->depth > 0) {
        struct frame *f = &r->stack[--r->depth];
        json_decref(f->node);
        json_decref(f->merges);
        free(f->anchor);
        free(f->key);
    }
    json_decref(r->root);
    r->root = NULL;
}

int kctl_yaml_parse(const char *text, size_t len, const char *name,
                    json_t **ret_docs, char *errbuf, size_t errlen)
{
    struct reader r;
    json_t *docs;
    yaml_event_t ev;
    bool done = false;
    int rv = 0;

    *ret_docs = NULL;
    memset(&r, 0, sizeof r);
    r.name = name;
    r.err = errbuf;
    r.errlen = errlen;
    if (errlen > 0)
        errbuf[0] = '\0';
    if (len > KCTL_YAML_MAX_BYTES) {
        snprintf(errbuf, errlen, "error parsing %s: larger than %u MiB", name,
                 KCTL_YAML_MAX_BYTES >> 20);
        return K1S_EINVAL;
    }
    if ((docs = json_array()) == NULL)
        return K1S_ENOMEM;
    if (!yaml_parser_initialize(&r.parser)) {
        json_decref(docs);
        return K1S_ENOMEM;
    }
    yaml_parser_set_input_string(&r.parser, (const unsigned char *)text, len);
    while (!done && rv == 0) {
        if (!yaml_parser_parse(&r.parser, &ev)) {
            const char *problem =
                r.parser.problem ? r.parser.problem : "invalid YAML";
            if (r.parser.error == YAML_MEMORY_ERROR)
                rv = K1S_ENOMEM;
            else if (r.parser.context != NULL)
                rv = fail(&r, r.parser.problem_mark.line + 1, "%s %s",
                          r.parser.context, problem);
            else
                rv = fail(&r, r.parser.problem_mark.line + 1, "%s", problem);
            break;
        }
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            r.doc++;
            forget_anchors(&r); /* anchors do not cross documents */
            break;
        case YAML_DOCUMENT_END_EVENT:
            /* An empty document (comments only, or a bare ---) reads as
             * null: kubectl skips those, and so do we. */
            if (r.root != NULL && !json_is_null(r.root) &&
                json_array_append(docs, r.root) != 0)
                rv = K1S_ENOMEM;
            json_decref(r.root);
            r.root = NULL;
            break;
        default:
            rv = on_event(&r, &ev);
            break;
        }
        yaml_event_delete(&ev);
    }
    reader_unwind(&r);
    forget_anchors(&r);
    free(r.anchors);
    yaml_parser_delete(&r.parser);
    if (rv != 0) {
        if (rv == K1S_ENOMEM)
            snprintf(errbuf, errlen, "error parsing %s: out of memory", name);
        json_decref(docs);
        return rv;
    }
    *ret_docs = docs;
    return 0;
}

/* ------------------------------------------------------------- writing */

#define BEST_WIDTH 80

struct writer {
    struct buf *out;
    int column;       /* in characters */
    bool inline_next; /* the next line_start continues after "- " */
    int rv;
};

static void put(struct writer *w, const char *s, size_t n)
{
    if (w->rv == 0 && buf_append(w->out, s, n) != 0)
        w->rv = K1S_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w->column++;
}

static void puts_(struct writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static void newline(struct writer *w)
{
    if (w->rv == 0 && buf_append(w->out, "\n", 1) != 0)
        w->rv = K1S_ENOMEM;
    w->column = 0;
}

static void pad(struct writer *w, int indent)
{
    while (w->column < indent)
        put(w, " ", 1);
}

/* Starts a line at `indent`, unless the previous "- " already placed us
 * there. */
static void line_start(struct writer *w, int indent)
{
    if (w->inline_next) {
        w->inline_next = false;
        return;
    }
    if (w->column > 0)
        newline(w);
    pad(w, indent);
}

/* One decoded character of s at i: returns its length (1 for bad bytes,
 * with *cp = 0xFFFD so it counts as special). */
static size_t utf8_char(const unsigned char *s, size_t len, size_t i,
                        unsigned *cp)
{
    unsigned c = s[i];
    size_t n = c < 0x80             ? 1
               : (c & 0xE0) == 0xC0 ? 2
               : (c & 0xF0) == 0xE0 ? 3
               : (c & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n == 0 || i + n > len) {
        *cp = 0xFFFFFFFFu;
        return 1;
    }
    *cp = n == 1 ? c : c & (0xFFu >> (n + 1));
    for (size_t k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80) {
            *cp = 0xFFFFFFFFu;
            return 1;
        }
        *cp = (*cp << 6) | (s[i + k] & 0x3F);
    }
    return n;
}

/* libyaml's IS_PRINTABLE (with unicode output on, as go-yaml sets it). */
static bool printable(unsigned c)
{
    return c == 0x0A || (c >= 0x20 && c <= 0x7E) || c == 0x85 ||
           (c >= 0xA0 && c <= 0xD7FF) ||
           (c >= 0xE000 && c <= 0xFFFD && c != 0xFEFF) ||
           (c >= 0x10000 && c <= 0x10FFFF);
}

struct analysis {
    bool plain, single, block;
};

/* libyaml's yaml_emitter_analyze_scalar, for block context. */
static void analyze(const char *s, size_t len, bool simple_key,
                    struct analysis *a)
{
    const unsigned char *u = (const unsigned char *)s;
    bool block_ind = false, special = false, line_breaks = false;
    bool leading_space = false, leading_break = false;
    bool trailing_space = false, trailing_break = false;
    bool break_space = false, space_break = false;
    bool prev_space = false, prev_break = false;
    bool preceded_by_ws = true;

    a->plain = a->single = a->block = true;
    if (len == 0) {
        a->plain = a->block = false;
        return;
    }
    if ((len >= 3 && (memcmp(s, "---", 3) == 0 || memcmp(s, "...", 3) == 0)))
        block_ind = true;
    for (size_t i = 0; i < len;) {
        unsigned c;
        size_t n = utf8_char(u, len, i, &c);
        bool first = i == 0, last = i + n >= len;
        unsigned next = last ? 0 : u[i + n];
        bool followed_by_ws =
            last || next == ' ' || next == '\t' || next == '\r' || next == '\n';
        if (first) {
            if (strchr("#,[]{}&*!|>'\"%@`", (int)c) != NULL && c != 0)
                block_ind = true;
            if ((c == '?' || c == ':') && followed_by_ws)
                block_ind = true;
            if (c == '-' && followed_by_ws)
                block_ind = true;
        } else {
            if (c == ':' && followed_by_ws)
                block_ind = true;
            if (c == '#' && preceded_by_ws)
                block_ind = true;
        }
        /* NEL, LS and PS are line breaks to a YAML reader: only escapes
         * (double quotes) carry them through unchanged. */
        if (!printable(c) || c == 0xFEFF || c == 0x85 || c == 0x2028 ||
            c == 0x2029)
            special = true;
        if (c == '\n')
            line_breaks = true;
        if (c == ' ') {
            if (first)
                leading_space = true;
            if (last)
                trailing_space = true;
            if (prev_break)
                break_space = true;
            prev_space = true;
            prev_break = false;
        } else if (c == '\n') {
            if (first)
                leading_break = true;
            if (last)
                trailing_break = true;
            if (prev_space)
                space_break = true;
            prev_break = true;
            prev_space = false;
        } else {
            prev_space = prev_break = false;
        }
        preceded_by_ws = c == ' ' || c == '\t' || c == '\n';
        i += n;
    }
    if (leading_space || leading_break || trailing_space || trailing_break)
        a->plain = false;
    if (trailing_space)
        a->block = false;
    if (break_space)
        a->plain = a->single = false;
    if (space_break || special)
        a->plain = a->single = a->block = false;
    if (line_breaks)
        a->plain = false;
    if (block_ind)
        a->plain = false;
    if (simple_key && line_breaks)
        a->single = a->block = false;
}

static void write_plain(struct writer *w, const char *s, size_t len, int indent,
                        bool breaks)
{
    bool spaces = false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            if (breaks && !spaces && w->column > BEST_WIDTH && i + 1 < len &&
                s[i + 1] != ' ') {
                newline(w);
                pad(w, indent);
            } else {
                put(w, s + i, 1);
            }
            spaces = true;
        } else {
            put(w, s + i, 1);
            spaces = false;
        }
    }
}

static void write_single(struct writer *w, const char *s, size_t len,
                         int indent, bool breaks)
{
    bool spaces = false;
    put(w, "'", 1);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') {
            if (breaks && !spaces && w->column > BEST_WIDTH && i != 0 &&
                i != len - 1 && s[i + 1] != ' ') {
                newline(w);
                pad(w, indent);
            } else {
                put(w, s + i, 1);
            }
            spaces = true;
        } else {
            if (s[i] == '\'')
                put(w, "'", 1);
            put(w, s + i, 1);
            spaces = false;
        }
    }
    put(w, "'", 1);
}

static void write_double(struct writer *w, const char *s, size_t len,
                         int indent, bool breaks)
{
    const unsigned char *u = (const unsigned char *)s;
    bool spaces = false;
    char esc[16];

    put(w, "\"", 1);
    for (size_t i = 0; i < len;) {
        unsigned c;
        size_t n = utf8_char(u, len, i, &c);
        if (!printable(c) || c == 0xFEFF || c == '\n' || c == '"' ||
            c == '\\' || c == 0x85 || c == 0x2028 || c == 0x2029) {
            const char *e = NULL;
            switch (c) {
            case 0:
                e = "\\0";
                break;
            case 7:
                e = "\\a";
                break;
            case 8:
                e = "\\b";
                break;
            case 9:
                e = "\\t";
                break;
            case 0xA:
                e = "\\n";
                break;
            case 0xB:
                e = "\\v";
                break;
            case 0xC:
                e = "\\f";
                break;
            case 0xD:
                e = "\\r";
                break;
            case 0x1B:
                e = "\\e";
                break;
            case '"':
                e = "\\\"";
                break;
            case '\\':
                e = "\\\\";
                break;
            case 0x85:
                e = "\\N";
                break;
            case 0xA0:
                e = "\\_";
                break;
            case 0x2028:
                e = "\\L";
                break;
            case 0x2029:
                e = "\\P";
                break;
            default:
                break;
            }
            if (e == NULL) {
                if (c == 0xFFFFFFFFu) /* a byte that is not UTF-8 */
                    snprintf(esc, sizeof esc, "\\x%02X", u[i]);
                else if (c <= 0xFF)
                    snprintf(esc, sizeof esc, "\\x%02X", c);
                else if (c <= 0xFFFF)
                    snprintf(esc, sizeof esc, "\\u%04X", c);
                else
                    snprintf(esc, sizeof esc, "\\U%08X", c);
                e = esc;
            }
            puts_(w, e);
            spaces = false;
        } else if (c == ' ') {
            if (breaks && !spaces && w->column > BEST_WIDTH && i != 0 &&
                i != len - 1) {
                newline(w);
                pad(w, indent);
                if (s[i + 1] == ' ')
                    put(w, "\\", 1);
            } else {
                put(w, " ", 1);
            }
            spaces = true;
        } else {
            put(w, s + i, n);
            spaces = false;
        }
        i += n;
    }
    put(w, "\"", 1);
}

static void write_literal(struct writer *w, const char *s, size_t len,
                          int indent)
{
    bool breaks = true;
    put(w, "|", 1);
    if (s[0] == ' ' || s[0] == '\n')
        put(w, "2", 1);
    if (s[len - 1] != '\n')
        put(w, "-", 1);
    else if (len == 1 || s[len - 2] == '\n')
        put(w, "+", 1);
    newline(w);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n') {
            newline(w);
            breaks = true;
        } else {
            if (breaks)
                pad(w, indent);
            put(w, s + i, 1);
            breaks = false;
        }
    }
}

/* go-yaml's choice for a string: plain if it reads back as the same string
 * and the emitter allows it, else single quotes, else double quotes;
 * strings with a newline as literal blocks where allowed. */
static void write_string(struct writer *w, const char *s, size_t len,
                         int indent, bool simple_key)
{
    struct analysis a;
    struct scalar sc;
    bool as_str = true;

    if (memchr(s, '\0', len) == NULL) {
        resolve_plain(s, &sc);
        as_str = sc.kind == SK_STR && !looks_timestamp(s) && !base60_float(s);
    } else {
        as_str = false;
    }
    analyze(s, len, simple_key, &a);
    if (memchr(s, '\n', len) != NULL && !simple_key) {
        if (a.block)
            write_literal(w, s, len, indent);
        else
            write_double(w, s, len, indent, true);
    } else if (as_str && a.plain) {
        write_plain(w, s, len, indent, !simple_key);
    } else if (as_str && a.single) {
        write_single(w, s, len, indent, !simple_key);
    } else {
        write_double(w, s, len, indent, !simple_key);
    }
}

/* Go's strconv.FormatFloat(f, 'g', -1, 64). */
static void format_float(double f, char *out, size_t n)
{
    char tmp[40];
    int p, exp;

    for (p = 1; p <= 17; p++) {
        snprintf(tmp, sizeof tmp, "%.*e", p - 1, f);
        if (strtod(tmp, NULL) == f)
            break;
    }
    exp = atoi(strchr(tmp, 'e') + 1);
    int eprec = 6;
    if (eprec > p && p >= exp + 1)
        eprec = p;
    if (exp < -4 || exp >= eprec)
        snprintf(out, n, "%s", tmp);
    else
        snprintf(out, n, "%.*f", p - 1 - exp > 0 ? p - 1 - exp : 0, f);
}

/* go-yaml's sorter: letters after other characters, runs of digits
 * compared as numbers. */
static bool is_letter(unsigned char c)
{
    return isalpha(c) || c >= 0x80;
}

static int key_cmp(const void *pa, const void *pb)
{
    const unsigned char *a = *(const unsigned char *const *)pa;
    const unsigned char *b = *(const unsigned char *const *)pb;
    size_t la = strlen((const char *)a), lb = strlen((const char *)b);

    for (size_t i = 0; i < la && i < lb; i++) {
        if (a[i] == b[i])
            continue;
        bool al = is_letter(a[i]), bl = is_letter(b[i]);
        if (al && bl)
            return a[i] < b[i] ? -1 : 1;
        if (al || bl)
            return bl ? -1 : 1;
        unsigned long long an = 0, bn = 0;
        size_t ai, bi;
        if (a[i] == '0' || b[i] == '0') {
            for (size_t j = i; j-- > 0 && isdigit(a[j]);) {
                if (a[j] != '0') {
                    an = bn = 1;
                    break;
                }
            }
        }
        for (ai = i; ai < la && isdigit(a[ai]); ai++)
            an = an * 10 + (a[ai] - '0');
        for (bi = i; bi < lb && isdigit(b[bi]); bi++)
            bn = bn * 10 + (b[bi] - '0');
        if (an != bn)
            return an < bn ? -1 : 1;
        if (ai != bi)
            return ai < bi ? -1 : 1;
        return a[i] < b[i] ? -1 : 1;
    }
    return la < lb ? -1 : la > lb ? 1 : 0;
}

static void write_node(struct writer *w, const json_t *v, int indent);

/* A value after "key:" or "- ": scalars and empty containers on the same
 * line, containers below. `seq_indent` is where a sequence's "- " go. */
static void write_value(struct writer *w, const json_t *v, int indent,
                        int seq_indent, bool after_dash)
{
    if (json_is_object(v) && json_object_size(v) > 0) {
        w->inline_next = after_dash;
        write_node(w, v, indent);
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        w->inline_next = after_dash;
        write_node(w, v, seq_indent);
    } else {
        if (!after_dash)
            put(w, " ", 1);
        write_node(w, v, indent);
    }
}

static void write_node(struct writer *w, const json_t *v, int indent)
{
    char tmp[64];

    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        size_t n = json_object_size(v), i = 0;
        const char **keys;
        const char *k;
        json_t *x;
        if (n == 0) {
            puts_(w, "{}");
            return;
        }
        keys = malloc(n * sizeof *keys);
        if (keys == NULL) {
            w->rv = K1S_ENOMEM;
            return;
        }
        json_object_foreach ((json_t *)v, k, x)
            keys[i++] = k;
        qsort(keys, n, sizeof *keys, key_cmp);
        for (i = 0; i < n; i++) {
            line_start(w, indent);
            write_string(w, keys[i], strlen(keys[i]), indent, true);
            put(w, ":", 1);
            write_value(w, json_object_get(v, keys[i]), indent + 2, indent,
                        false);
        }
        free(keys);
        return;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *x;
        if (json_array_size(v) == 0) {
            puts_(w, "[]");
            return;
        }
        json_array_foreach ((json_t *)v, i, x) {
            line_start(w, indent);
            puts_(w, "- ");
            write_value(w, x, indent + 2, indent + 2, true);
        }
        return;
    }
    case JSON_STRING:
        write_string(w, json_string_value(v), json_string_length(v), indent,
                     false);
        return;
    case JSON_INTEGER:
        snprintf(tmp, sizeof tmp, "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        puts_(w, tmp);
        return;
    case JSON_REAL:
        format_float(json_real_value(v), tmp, sizeof tmp);
        puts_(w, tmp);
        return;
    case JSON_TRUE:
        puts_(w, "true");
        return;
    case JSON_FALSE:
        puts_(w, "false");
        return;
    case JSON_NULL:
        puts_(w, "null");
        return;
    }
}

int kctl_yaml_emit(const json_t *v, struct buf *out)
{
    struct writer w = {.out = out};

    /* A scalar's continuation lines (block scalars, folding) go one level
     * in, also at the top (libyaml: the root's indent is -1, a scalar's
     * best_indent). */
    write_node(&w, v, json_is_object(v) || json_is_array(v) ? 0 : 2);
    if (w.column > 0)
        newline(&w);
    return w.rv;
}

/*
 * DESIGN: a port of client-go's util/jsonpath (parser.go, jsonpath.go) over
 * jansson values, so templates parse, fail and print as kubectl's do.
 *
 * The parser follows Go's structure function for function: the template
 * becomes a root list of text nodes and action lists; an action list holds
 * field, array (slice), filter, wildcard, recursive, union, literal and
 * identifier (range/end) nodes, evaluated left to right over a set of
 * current values. `{range X}…{end}` pairs are matched once after parsing
 * (Go tracks them with counters while walking; the result is the same for
 * well-formed templates). Values are borrowed jansson references held in a
 * jansson array, literals are fresh values.
 *
 * The Go JSON writer lives here too (kctl_json_go): jsonpath prints maps
 * and lists with json.Marshal, and `get -o json` with json.MarshalIndent.
 */
#include "kubectl-lite/jsonpath.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kubectl-lite/kctl_int.h"
#include "lib/err.h"

/* ------------------------------------------------------------- Go JSON */

/* The shortest decimal digits that read back as d (d > 0, finite): digits
 * in digs (no trailing zeros), value = 0.DIGS × 10^dp. */
static void float_digits(double d, char *digs, int *ret_nd, int *ret_dp)
{
    char tmp[64];
    int nd = 0, e;
    char *p;

    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec - 1, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    for (p = tmp; *p != 'e'; p++)
        if (isdigit((unsigned char)*p))
            digs[nd++] = *p;
    e = atoi(p + 1);
    while (nd > 1 && digs[nd - 1] == '0')
        nd--;
    digs[nd] = '\0';
    *ret_nd = nd;
    *ret_dp = e + 1;
}

static void fmt_f(struct buf *out, const char *digs, int nd, int dp)
{
    if (dp <= 0) {
        buf_append_str(out, "0.");
        for (int i = 0; i < -dp; i++)
            buf_append_str(out, "0");
        buf_append(out, digs, (size_t)nd);
    } else if (dp >= nd) {
        buf_append(out, digs, (size_t)nd);
        for (int i = nd; i < dp; i++)
            buf_append_str(out, "0");
    } else {
        buf_append(out, digs, (size_t)dp);
        buf_append_str(out, ".");
        buf_append(out, digs + dp, (size_t)(nd - dp));
    }
}

static void fmt_e(struct buf *out, const char *digs, int nd, int dp, bool json)
{
    int exp = dp - 1;
    buf_append(out, digs, 1);
    if (nd > 1) {
        buf_append_str(out, ".");
        buf_append(out, digs + 1, (size_t)(nd - 1));
    }
    /* strconv writes at least two exponent digits; encoding/json then
     * trims "e-07" to "e-7" (but keeps "e+21"). */
    if (json && exp < 0 && exp > -10)
        buf_printf(out, "e-%d", -exp);
    else
        buf_printf(out, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
}

/* A float as Go prints it: json (encoding/json) or %v (fmt). */
static void go_float(struct buf *out, double d, bool json)
{
    char digs[32];
    int nd, dp;
    double a = fabs(d);

    if (isnan(d)) {
        buf_append_str(out, "NaN");
        return;
    }
    if (isinf(d)) {
        buf_append_str(out, d < 0 ? "-Inf" : "+Inf");
        return;
    }
    if (d == 0) {
        buf_append_str(out, signbit(d) ? "-0" : "0");
        return;
    }
    if (d < 0)
        buf_append_str(out, "-");
    float_digits(a, digs, &nd, &dp);
    if (json) {
        if (a < 1e-6 || a >= 1e21)
            fmt_e(out, digs, nd, dp, true);
        else
            fmt_f(out, digs, nd, dp);
    } else {
        int exp = dp - 1;
        if (exp < -4 || exp >= 6) /* strconv 'g', shortest */
            fmt_e(out, digs, nd, dp, false);
        else
            fmt_f(out, digs, nd, dp);
    }
}

static void go_string(struct buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t start = 0;

    buf_append_str(out, "\"");
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[8];
        size_t skip = 1;

        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\r')
            esc = "\\r";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\f')
            esc = "\\f";
        else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
            snprintf(u, sizeof u, "\\u00%c%c", hex[c >> 4], hex[c & 15]);
            esc = u;
        } else if (c == 0xe2 && i + 2 < len &&
                   (unsigned char)s[i + 1] == 0x80 &&
                   ((unsigned char)s[i + 2] == 0xa8 ||
                    (unsigned char)s[i + 2] == 0xa9)) {
            esc = (unsigned char)s[i + 2] == 0xa8 ? "\\u2028" : "\\u2029";
            skip = 3;
        }
        if (esc == NULL)
            continue;
        buf_append(out, s + start, i - start);
        buf_append_str(out, esc);
        i += skip - 1;
        start = i + 1;
    }
    buf_append(out, s + start, len - start);
    buf_append_str(out, "\"");
}

static void newline_indent(struct buf *out, int indent, int depth)
{
    buf_append_str(out, "\n");
    for (int i = 0; i < indent * depth; i++)
        buf_append_str(out, " ");
}

static void go_json(const json_t *v, int indent, int depth, struct buf *out)
{
    size_t i, n;

    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char **keys = kctl_sorted_keys(v, &n);
        if (n == 0) {
            buf_append_str(out, "{}");
            free(keys);
            return;
        }
        buf_append_str(out, "{");
        for (i = 0; i < n; i++) {
            if (i > 0)
                buf_append_str(out, ",");
            if (indent > 0)
                newline_indent(out, indent, depth + 1);
            go_string(out, keys[i], strlen(keys[i]));
            buf_append_str(out, indent > 0 ? ": " : ":");
            go_json(json_object_get(v, keys[i]), indent, depth + 1, out);
        }
        if (indent > 0)
            newline_indent(out, indent, depth);
        buf_append_str(out, "}");
        free(keys);
        return;
    }
    case JSON_ARRAY:
        n = json_array_size(v);
        if (n == 0) {
            buf_append_str(out, "[]");
            return;
        }
        buf_append_str(out, "[");
        for (i = 0; i < n; i++) {
            if (i > 0)
                buf_append_str(out, ",");
            if (indent > 0)
                newline_indent(out, indent, depth + 1);
            go_json(json_array_get(v, i), indent, depth + 1, out);
        }
        if (indent > 0)
            newline_indent(out, indent, depth);
        buf_append_str(out, "]");
        return;
    case JSON_STRING:
        go_string(out, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        buf_printf(out, "%lld", (long long)json_integer_value(v));
        return;
    case JSON_REAL:
        go_float(out, json_real_value(v), true);
        return;
    case JSON_TRUE:
        buf_append_str(out, "true");
        return;
    case JSON_FALSE:
        buf_append_str(out, "false");
        return;
    case JSON_NULL:
        buf_append_str(out, "null");
        return;
    }
}

int kctl_json_go(const json_t *v, int indent, struct buf *out)
{
    go_json(v, indent, 0, out);
    return out->data == NULL ? K1S_ENOMEM : 0;
}

/* ---------------------------------------------------------------- nodes */

enum jp_kind {
    JP_LIST,
    JP_TEXT,
    JP_FIELD,
    JP_ARRAY,
    JP_FILTER,
    JP_INT,
    JP_FLOAT,
    JP_BOOL,
    JP_WILDCARD,
    JP_RECURSIVE,
    JP_UNION,
    JP_IDENT,
};

struct jp_param {
    long long value;
    bool known, derived;
};

struct jp_node {
    enum jp_kind kind;
    char *text; /* TEXT, FIELD, IDENT; FILTER: the operator */
    long long ival;
    double fval;
    bool bval;
    struct jp_param params[3];
    struct jp_node **kids; /* LIST: nodes; UNION: lists; FILTER: l, r */
    size_t nkids;
};

static void node_free(struct jp_node *n)
{
    if (n == NULL)
        return;
    for (size_t i = 0; i < n->nkids; i++)
        node_free(n->kids[i]);
    free(n->kids);
    free(n->text);
    free(n);
}

static struct jp_node *node_new(enum jp_kind kind)
{
    struct jp_node *n = calloc(1, sizeof *n);
    if (n != NULL)
        n->kind = kind;
    return n;
}

static int node_append(struct jp_node *list, struct jp_node *kid)
{
    struct jp_node **nv;
    if (kid == NULL)
        return K1S_ENOMEM;
    nv = realloc(list->kids, sizeof *nv * (list->nkids + 1));
    if (nv == NULL) {
        node_free(kid);
        return K1S_ENOMEM;
    }
    nv[list->nkids++] = kid;
    list->kids = nv;
    return 0;
}

/* --------------------------------------------------------------- parser */

#define JP_EOF (-1)

struct parser {
    const char *input;
    size_t len, pos, start;
    char *err;
    size_t errlen;
};

static int perr(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int perr(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
    return K1S_EINVAL;
}

static int p_next(struct parser *p)
{
    if (p->pos >= p->len) {
        p->pos = p->len + 1; /* so that backup() returns to len */
        return JP_EOF;
    }
    return (unsigned char)p->input[p->pos++];
}

static void p_backup(struct parser *p)
{
    p->pos--;
}

static int p_peek(struct parser *p)
{
    int r = p_next(p);
    p_backup(p);
    return r;
}

static char *p_consume(struct parser *p)
{
    size_t end = p->pos > p->len ? p->len : p->pos;
    char *s = strndup(p->input + p->start, end - p->start);
    p->start = p->pos;
    return s;
}

static bool has_prefix(const struct parser *p, const char *pre)
{
    size_t n = strlen(pre);
    return p->pos <= p->len && p->len - p->pos >= n &&
           memcmp(p->input + p->pos, pre, n) == 0;
}

static bool is_space(int r)
{
    return r == ' ' || r == '\t';
}

static bool is_eol(int r)
{
    return r == '\r' || r == '\n';
}

static bool is_terminator(int r)
{
    return is_space(r) || is_eol(r) || r == JP_EOF || r == '.' || r == ',' ||
           r == '[' || r == ']' || r == '$' || r == '@' || r == '{' || r == '}';
}

static bool is_alnum(int r)
{
    return r == '_' || (r >= 0x80) || isalnum(r);
}

static int parse_text(struct parser *p, struct jp_node *root);
static int parse_inside(struct parser *p, struct jp_node *cur,
                        struct jp_node *root);

/* A sub-expression ("[0]" of a union, "@.x" of a filter) parsed as the
 * action "{TEXT}": the action's list. */
static int parse_action(const char *text, struct jp_node **ret, char *err,
                        size_t errlen)
{
    struct parser p = {0};
    struct jp_node *root = node_new(JP_LIST);
    char *s;
    int rv;

    *ret = NULL;
    if (root == NULL || asprintf(&s, "{%s}", text) < 0) {
        node_free(root);
        return K1S_ENOMEM;
    }
    p.input = s;
    p.len = strlen(s);
    p.err = err;
    p.errlen = errlen;
    rv = parse_text(&p, root);
    free(s);
    if (rv != 0) {
        node_free(root);
        return rv;
    }
    if (root->nkids == 0 || root->kids[0]->kind != JP_LIST) {
        node_free(root);
        snprintf(err, errlen, "invalid expression %s", text);
        return K1S_EINVAL;
    }
    *ret = root->kids[0];
    root->kids[0] = NULL;
    root->nkids = 0;
    node_free(root);
    return 0;
}

static int parse_left_delim(struct parser *p, struct jp_node *root)
{
    struct jp_node *list;
    int rv;

    p->pos += 1;
    free(p_consume(p));
    list = node_new(JP_LIST);
    if ((rv = node_append(root, list)) != 0)
        return rv;
    return parse_inside(p, list, root);
}

static int parse_text(struct parser *p, struct jp_node *root)
{
    for (;;) {
        if (has_prefix(p, "{")) {
            if (p->pos > p->start) {
                struct jp_node *t = node_new(JP_TEXT);
                int rv;
                if (t != NULL)
                    t->text = p_consume(p);
                if ((rv = node_append(root, t)) != 0)
                    return rv;
            }
            return parse_left_delim(p, root);
        }
        if (p_next(p) == JP_EOF)
            break;
    }
    if (p->pos > p->len)
        p->pos = p->len;
    if (p->pos > p->start) {
        struct jp_node *t = node_new(JP_TEXT);
        if (t != NULL)
            t->text = p_consume(p);
        return node_append(root, t);
    }
    return 0;
}

static int parse_right_delim(struct parser *p, struct jp_node *root)
{
    p->pos += 1;
    free(p_consume(p));
    return parse_text(p, root);
}

static int parse_field(struct parser *p, struct jp_node *cur,
                       struct jp_node *root)
{
    char *value;
    struct jp_node *n;
    int rv;

    free(p_consume(p));
    for (;;) {
        int r = p_next(p);
        if (r == '\\') {
            p_next(p);
        } else if (is_terminator(r)) {
            p_backup(p);
            break;
        }
        if (is_terminator(p_peek(p)))
            break;
    }
    value = p_consume(p);
    if (value == NULL)
        return K1S_ENOMEM;
    if (strcmp(value, "*") == 0) {
        free(value);
        n = node_new(JP_WILDCARD);
    } else {
        /* strings.Replace(value, "\\", "", -1) */
        char *w = value;
        for (char *r = value; *r != '\0'; r++)
            if (*r != '\\')
                *w++ = *r;
        *w = '\0';
        n = node_new(JP_FIELD);
        if (n != NULL)
            n->text = value;
        else
            free(value);
    }
    if ((rv = node_append(cur, n)) != 0)
        return rv;
    return parse_inside(p, cur, root);
}

static int parse_recursive(struct parser *p, struct jp_node *cur,
                           struct jp_node *root)
{
    int rv;

    if (cur->nkids > 0 && cur->kids[cur->nkids - 1]->kind == JP_RECURSIVE)
        return perr(p, "invalid multiple recursive descent");
    p->pos += 2;
    free(p_consume(p));
    if ((rv = node_append(cur, node_new(JP_RECURSIVE))) != 0)
        return rv;
    if (is_alnum(p_peek(p)))
        return parse_field(p, cur, root); /* "..name" */
    return parse_inside(p, cur, root);
}

/* strconv.UnquoteChar's escapes, for quoted literals. */
static int unquote(const char *s, char **ret)
{
    size_t n = strlen(s);
    char quote;
    struct buf b;

    *ret = NULL;
    if (n < 2 || s[0] != s[n - 1] || (s[0] != '"' && s[0] != '\''))
        return K1S_EINVAL;
    quote = s[0];
    buf_init(&b);
    buf_append_str(&b, "");
    for (size_t i = 1; i < n - 1; i++) {
        char c = s[i];
        if (c == quote) {
            buf_close(&b);
            return K1S_EINVAL;
        }
        if (c != '\\') {
            buf_append(&b, &c, 1);
            continue;
        }
        if (++i >= n - 1) {
            buf_close(&b);
            return K1S_EINVAL;
        }
        c = s[i];
        switch (c) {
        case 'a':
            buf_append_str(&b, "\a");
            break;
        case 'b':
            buf_append_str(&b, "\b");
            break;
        case 'f':
            buf_append_str(&b, "\f");
            break;
        case 'n':
            buf_append_str(&b, "\n");
            break;
        case 'r':
            buf_append_str(&b, "\r");
            break;
        case 't':
            buf_append_str(&b, "\t");
            break;
        case 'v':
            buf_append_str(&b, "\v");
            break;
        case '\\':
            buf_append_str(&b, "\\");
            break;
        case '\'':
        case '"':
            if (c != quote) {
                buf_close(&b);
                return K1S_EINVAL;
            }
            buf_append(&b, &c, 1);
            break;
        case 'x':
        case 'u':
        case 'U': {
            int digits = c == 'x' ? 2 : c == 'u' ? 4 : 8;
            unsigned long v = 0;
            for (int k = 0; k < digits; k++) {
                char h = s[++i];
                if (i >= n - 1 || !isxdigit((unsigned char)h)) {
                    buf_close(&b);
                    return K1S_EINVAL;
                }
                v = v * 16 + (unsigned long)(isdigit((unsigned char)h)
                                                 ? h - '0'
                                                 : (tolower(h) - 'a' + 10));
            }
            if (c == 'x') {
                char byte = (char)v;
                buf_append(&b, &byte, 1);
            } else {
                char u[4];
                size_t ul;
                if (v > 0x10ffff || (v >= 0xd800 && v < 0xe000)) {
                    buf_close(&b);
                    return K1S_EINVAL;
                }
                if (v < 0x80) {
                    u[0] = (char)v;
                    ul = 1;
                } else if (v < 0x800) {
                    u[0] = (char)(0xc0 | (v >> 6));
                    u[1] = (char)(0x80 | (v & 0x3f));
                    ul = 2;
                } else if (v < 0x10000) {
                    u[0] = (char)(0xe0 | (v >> 12));
                    u[1] = (char)(0x80 | ((v >> 6) & 0x3f));
                    u[2] = (char)(0x80 | (v & 0x3f));
                    ul = 3;
                } else {
                    u[0] = (char)(0xf0 | (v >> 18));
                    u[1] = (char)(0x80 | ((v >> 12) & 0x3f));
                    u[2] = (char)(0x80 | ((v >> 6) & 0x3f));
                    u[3] = (char)(0x80 | (v & 0x3f));
                    ul = 4;
                }
                buf_append(&b, u, ul);
            }
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                int v = 0;
                for (int k = 0; k < 3; k++, i++) {
                    if (i >= n - 1 || s[i] < '0' || s[i] > '7') {
                        buf_close(&b);
                        return K1S_EINVAL;
                    }
                    v = v * 8 + (s[i] - '0');
                }
                i--;
                if (v > 255) {
                    buf_close(&b);
                    return K1S_EINVAL;
                }
                char byte = (char)v;
                buf_append(&b, &byte, 1);
                break;
            }
            buf_close(&b);
            return K1S_EINVAL;
        }
    }
    *ret = buf_steal(&b, NULL);
    return *ret ? 0 : K1S_ENOMEM;
}

static int parse_quote(struct parser *p, struct jp_node *cur,
                       struct jp_node *root, int end)
{
    char *value, *s;
    struct jp_node *t;
    int rv;

    for (;;) {
        int r = p_next(p);
        if (r == JP_EOF || r == '\n')
            return perr(p, "unterminated quoted string");
        if (r == end && p->input[p->pos - 2] != '\\')
            break;
    }
    value = p_consume(p);
    if (value == NULL)
        return K1S_ENOMEM;
    if (unquote(value, &s) != 0) {
        rv = perr(p, "unquote string %s error invalid syntax", value);
        free(value);
        return rv;
    }
    free(value);
    t = node_new(JP_TEXT);
    if (t != NULL)
        t->text = s;
    else
        free(s);
    if ((rv = node_append(cur, t)) != 0)
        return rv;
    return parse_inside(p, cur, root);
}

static bool all_digits(const char *s, bool allow_sign)
{
    if (allow_sign && *s == '-')
        s++;
    for (; *s != '\0'; s++)
        if (!isdigit((unsigned char)*s))
            return false;
    return true;
}

/* Go's regexp ^(-?[\d]*)(:-?[\d]*)?(:-?[\d]*)?$ by hand. */
static bool split_slice(const char *text, char parts[3][64])
{
    const char *c1 = strchr(text, ':');
    const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
    size_t l0 = c1 ? (size_t)(c1 - text) : strlen(text);

    if (c2 != NULL && strchr(c2 + 1, ':') != NULL)
        return false;
    parts[0][0] = parts[1][0] = parts[2][0] = '\0';
    if (l0 >= 64)
        return false;
    snprintf(parts[0], 64, "%.*s", (int)l0, text);
    if (c1 != NULL) {
        size_t l1 = c2 ? (size_t)(c2 - c1) : strlen(c1);
        if (l1 >= 64)
            return false;
        snprintf(parts[1], 64, "%.*s", (int)l1, c1);
    }
    if (c2 != NULL) {
        if (strlen(c2) >= 64)
            return false;
        snprintf(parts[2], 64, "%s", c2);
    }
    if (!all_digits(parts[0], true))
        return false;
    for (int i = 1; i < 3; i++)
        if (parts[i][0] != '\0' && !all_digits(parts[i] + 1, true))
            return false;
    return true;
}

static int parse_array(struct parser *p, struct jp_node *cur,
                       struct jp_node *root)
{
    char *raw, *text;
    struct jp_node *n;
    char parts[3][64];
    int rv;

    for (;;) {
        int r = p_next(p);
        if (r == JP_EOF || r == '\n')
            return perr(p, "unterminated array");
        if (r == ']')
            break;
    }
    raw = p_consume(p);
    if (raw == NULL)
        return K1S_ENOMEM;
    raw[strlen(raw) - 1] = '\0';
    text = raw + 1;
    if (strcmp(text, "*") == 0)
        text[0] = ':';

    if (strchr(text, ',') != NULL) { /* union */
        char *save = NULL, *dup = strdup(text);
        n = node_new(JP_UNION);
        if (dup == NULL || n == NULL) {
            free(dup);
            node_free(n);
            free(raw);
            return K1S_ENOMEM;
        }
        /* strings.Split keeps empty pieces: walk by hand */
        for (char *s = dup;; s = save + 1) {
            struct jp_node *sub;
            char *b, *e;
            save = strchr(s, ',');
            if (save != NULL)
                *save = '\0';
            for (b = s; *b == ' '; b++)
                ;
            for (e = b + strlen(b); e > b && e[-1] == ' '; e--)
                ;
            *e = '\0';
            char *expr;
            if (asprintf(&expr, "[%s]", b) < 0) {
                rv = K1S_ENOMEM;
            } else {
                rv = parse_action(expr, &sub, p->err, p->errlen);
                free(expr);
                if (rv == 0)
                    rv = node_append(n, sub);
            }
            if (rv != 0) {
                node_free(n);
                free(dup);
                free(raw);
                return rv;
            }
            if (save == NULL)
                break;
        }
        free(dup);
        free(raw);
        if ((rv = node_append(cur, n)) != 0)
            return rv;
        return parse_inside(p, cur, root);
    }

    size_t tl = strlen(text);
    if (tl >= 2 && text[0] == '\'' && text[tl - 1] == '\'' &&
        memchr(text + 1, '\'', tl - 2) == NULL) { /* ['key'] */
        struct jp_node *sub;
        char *expr;
        if (asprintf(&expr, ".%.*s", (int)(tl - 2), text + 1) < 0) {
            free(raw);
            return K1S_ENOMEM;
        }
        rv = parse_action(expr, &sub, p->err, p->errlen);
        free(expr);
        free(raw);
        if (rv != 0)
            return rv;
        for (size_t i = 0; i < sub->nkids; i++) {
            if (rv == 0)
                rv = node_append(cur, sub->kids[i]);
            else
                node_free(sub->kids[i]);
            sub->kids[i] = NULL;
        }
        sub->nkids = 0;
        node_free(sub);
        if (rv != 0)
            return rv;
        return parse_inside(p, cur, root);
    }

    if (!split_slice(text, parts)) {
        rv = perr(p, "invalid array index %s", text);
        free(raw);
        return rv;
    }
    free(raw);
    n = node_new(JP_ARRAY);
    if (n == NULL)
        return K1S_ENOMEM;
    for (int i = 0; i < 3; i++) {
        const char *v = parts[i];
        if (v[0] != '\0') {
            if (i > 0)
                v++;
            if (i > 0 && v[0] == '\0') {
                n->params[i].known = false;
            } else {
                if (v[0] == '\0' || (v[0] == '-' && v[1] == '\0')) {
                    node_free(n);
                    return perr(p, "array index %s is not a number", v);
                }
                n->params[i].known = true;
                n->params[i].value = strtoll(v, NULL, 10);
            }
        } else if (i == 1) {
            n->params[1].known = true;
            n->params[1].value = n->params[0].value + 1;
            n->params[1].derived = true;
        }
    }
    /* Go's Atoi("") fails: "[]" or "[:x]" with an empty first index that
     * is "known" cannot happen (empty → unknown) */
    if ((rv = node_append(cur, n)) != 0)
        return rv;
    return parse_inside(p, cur, root);
}

static int parse_filter(struct parser *p, struct jp_node *cur,
                        struct jp_node *root)
{
    bool begin = false, end = false;
    int pair = 0, rv;
    char *text;
    struct jp_node *n, *left = NULL, *right = NULL;

    p->pos += 3;
    free(p_consume(p));
    for (;;) {
        int r = p_next(p);
        if (r == JP_EOF || r == '\n')
            return perr(p, "unterminated filter");
        if (r == '"' || r == '\'') {
            if (!begin) {
                begin = true;
                pair = r;
                continue;
            }
            if (p->input[p->pos - 2] != '\\' && r == pair)
                end = true;
        } else if (r == ')') {
            if (begin == end)
                break;
        }
    }
    if (p_next(p) != ']')
        return perr(p, "unclosed array expect ]");
    text = p_consume(p);
    if (text == NULL)
        return K1S_ENOMEM;
    text[strlen(text) - 2] = '\0';

    /* ^([^!<>=]+)([!<>=]+)(.+?)$ */
    size_t i = strcspn(text, "!<>=");
    size_t j = i + strspn(text + i, "!<>=");
    n = node_new(JP_FILTER);
    if (n == NULL) {
        free(text);
        return K1S_ENOMEM;
    }
    if (i == 0 || text[i] == '\0' || text[j] == '\0') {
        rv = parse_action(text, &left, p->err, p->errlen);
        if (rv == 0)
            right = node_new(JP_LIST);
        n->text = strdup("exists");
    } else {
        char *l = strndup(text, i);
        n->text = strndup(text + i, j - i);
        rv = l ? parse_action(l, &left, p->err, p->errlen) : K1S_ENOMEM;
        free(l);
        if (rv == 0)
            rv = parse_action(text + j, &right, p->err, p->errlen);
    }
    free(text);
    if (rv == 0 && (right == NULL || n->text == NULL))
        rv = K1S_ENOMEM;
    if (rv == 0)
        rv = node_append(n, left);
    else
        node_free(left);
    if (rv == 0)
        rv = node_append(n, right);
    else
        node_free(right);
    if (rv != 0) {
        node_free(n);
        return rv;
    }
    if ((rv = node_append(cur, n)) != 0)
        return rv;
    return parse_inside(p, cur, root);
}

static int parse_number(struct parser *p, struct jp_node *cur,
                        struct jp_node *root)
{
    int r = p_peek(p), rv;
    char *value, *end;
    struct jp_node *n;

    if (r == '+' || r == '-')
        p_next(p);
    for (;;) {
        r = p_next(p);
        if (r != '.' && !(r >= '0' && r <= '9')) {
            p_backup(p);
            break;
        }
    }
    value = p_consume(p);
    if (value == NULL)
        return K1S_ENOMEM;
    long long iv = strtoll(value, &end, 10);
    if (*end == '\0' && end != value && isdigit((unsigned char)end[-1])) {
        n = node_new(JP_INT);
        if (n != NULL)
            n->ival = iv;
    } else {
        double d = strtod(value, &end);
        if (*end != '\0' || end == value) {
            rv = perr(p, "cannot parse number %s", value);
            free(value);
            return rv;
        }
        n = node_new(JP_FLOAT);
        if (n != NULL)
            n->fval = d;
    }
    free(value);
    if ((rv = node_append(cur, n)) != 0)
        return rv;
    return parse_inside(p, cur, root);
}

static int parse_identifier(struct parser *p, struct jp_node *cur,
                            struct jp_node *root)
{
    char *value;
    struct jp_node *n;
    int rv;

    for (;;) {
        int r = p_next(p);
        if (is_terminator(r) || r == ' ') {
            p_backup(p);
            break;
        }
    }
    value = p_consume(p);
    if (value == NULL)
        return K1S_ENOMEM;
    if (strcmp(value, "true") == 0 || strcmp(value, "false") == 0) {
        n = node_new(JP_BOOL);
        if (n != NULL)
            n->bval = value[0] == 't';
        free(value);
    } else {
        n = node_new(JP_IDENT);
        if (n != NULL)
            n->text = value;
        else
            free(value);
    }
    if ((rv = node_append(cur, n)) != 0)
        return rv;
    return parse_inside(p, cur, root);
}

static int parse_inside(struct parser *p, struct jp_node *cur,
                        struct jp_node *root)
{
    for (;;) {
        int r;
        if (has_prefix(p, "}"))
            return parse_right_delim(p, root);
        if (has_prefix(p, "[?("))
            return parse_filter(p, cur, root);
        if (has_prefix(p, ".."))
            return parse_recursive(p, cur, root);
        r = p_next(p);
        if (r == JP_EOF || is_eol(r))
            return perr(p, "unclosed action");
        if (r == ' ' || r == '@' || r == '$') {
            free(p_consume(p));
            continue;
        }
        if (r == '[')
            return parse_array(p, cur, root);
        if (r == '"' || r == '\'')
            return parse_quote(p, cur, root, r);
        if (r == '.')
            return parse_field(p, cur, root);
        if (r == '+' || r == '-' || (r >= '0' && r <= '9')) {
            p_backup(p);
            return parse_number(p, cur, root);
        }
        if (is_alnum(r)) {
            p_backup(p);
            return parse_identifier(p, cur, root);
        }
        if (r >= 0x20 && r < 0x7f)
            return perr(p, "unrecognized character in action: U+%04X '%c'",
                        (unsigned)r, r);
        return perr(p, "unrecognized character in action: U+%04X", (unsigned)r);
    }
}

static int jp_parse(const char *tmpl, struct jp_node **ret, char *err,
                    size_t errlen)
{
    struct parser p = {0};
    struct jp_node *root = node_new(JP_LIST);
    int rv;

    *ret = NULL;
    if (root == NULL)
        return K1S_ENOMEM;
    p.input = tmpl;
    p.len = strlen(tmpl);
    p.err = err;
    p.errlen = errlen;
    rv = parse_text(&p, root);
    if (rv != 0) {
        node_free(root);
        return rv;
    }
    *ret = root;
    return 0;
}

/* ------------------------------------------------------------ evaluator */

struct exec {
    char *err;
    size_t errlen;
};

static int xerr(struct exec *x, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int xerr(struct exec *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, x->errlen, fmt, ap);
    va_end(ap);
    return K1S_EBADREQ;
}

static const char *go_type(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "map[string]interface {}";
    case JSON_ARRAY:
        return "[]interface {}";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "int64";
    case JSON_REAL:
        return "float64";
    case JSON_TRUE:
    case JSON_FALSE:
        return "bool";
    case JSON_NULL:
        break;
    }
    return "<nil>";
}

static int walk(struct exec *x, json_t *in, const struct jp_node *n,
                json_t **ret);

static int eval_list(struct exec *x, json_t *in, const struct jp_node *n,
                     json_t **ret)
{
    json_t *cur = json_incref(in);
    for (size_t i = 0; i < n->nkids; i++) {
        json_t *next = NULL;
        int rv = walk(x, cur, n->kids[i], &next);
        json_decref(cur);
        if (rv != 0)
            return rv;
        cur = next;
    }
    *ret = cur;
    return 0;
}

static void add_sorted_values(json_t *out, const json_t *obj)
{
    size_t n;
    const char **keys = kctl_sorted_keys(obj, &n);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, json_object_get(obj, keys[i]));
    free(keys);
}

static void recursive(json_t *out, json_t *in)
{
    size_t i;
    json_t *v;

    json_array_foreach (in, i, v) {
        json_t *kids = json_array();
        if (json_is_object(v))
            add_sorted_values(kids, v);
        else if (json_is_array(v))
            json_array_extend(kids, v);
        if (json_array_size(kids) > 0) {
            json_array_append(out, v);
            recursive(out, kids);
        }
        json_decref(kids);
    }
}

static int eval_array(struct exec *x, json_t *in, const struct jp_node *n,
                      json_t *out)
{
    size_t i;
    json_t *v;

    json_array_foreach (in, i, v) {
        long long len, p0, p1, step = 1;
        if (json_is_null(v))
            continue;
        if (!json_is_array(v))
            return xerr(x, "%s is not array or slice", go_type(v));
        len = (long long)json_array_size(v);
        p0 = n->params[0].known ? n->params[0].value : 0;
        if (p0 < 0)
            p0 += len;
        p1 = n->params[1].known ? n->params[1].value : len;
        if (p1 < 0 || (p1 == 0 && n->params[1].derived))
            p1 += len;
        if (p1 == p0)
            return 0;
        if (p0 >= len || p0 < 0)
            return xerr(x, "array index out of bounds: index %lld, length %lld",
                        p0, len);
        if (p1 > len || p1 < 0)
            return xerr(x, "array index out of bounds: index %lld, length %lld",
                        p1 - 1, len);
        if (p0 > p1)
            return xerr(x,
                        "starting index %lld is greater than ending index "
                        "%lld",
                        p0, p1);
        if (n->params[2].known) {
            if (n->params[2].value <= 0)
                return xerr(x, "step must be > 0");
            step = n->params[2].value;
        }
        for (long long k = p0; k < p1; k += step)
            json_array_append(out, json_array_get(v, (size_t)k));
    }
    return 0;
}

/* text/template's basic kinds, for comparisons. */
enum kind { K_INVALID, K_BOOL, K_INT, K_FLOAT, K_STRING };

static enum kind basic_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_TRUE:
    case JSON_FALSE:
        return K_BOOL;
    case JSON_INTEGER:
        return K_INT;
    case JSON_REAL:
        return K_FLOAT;
    case JSON_STRING:
        return K_STRING;
    default:
        return K_INVALID;
    }
}

/* Returns 0 and *ret_pass, or an error (text/template's messages). */
static int compare(struct exec *x, const char *op, const json_t *l,
                   const json_t *r, bool *ret_pass)
{
    enum kind kl = basic_kind(l), kr = basic_kind(r);
    bool eq_op = strcmp(op, "==") == 0 || strcmp(op, "!=") == 0;
    int c = 0;

    if (kl == K_INVALID || kr == K_INVALID)
        return xerr(x, "invalid type for comparison");
    if (kl != kr)
        return xerr(x, "incompatible types for comparison");
    if (!eq_op && kl == K_BOOL)
        return xerr(x, "invalid type for comparison");
    switch (kl) {
    case K_BOOL:
        c = json_is_true(l) == json_is_true(r) ? 0 : 1;
        break;
    case K_INT: {
        json_int_t a = json_integer_value(l), b = json_integer_value(r);
        c = a < b ? -1 : a > b;
        break;
    }
    case K_FLOAT: {
        double a = json_real_value(l), b = json_real_value(r);
        c = a < b ? -1 : a > b;
        break;
    }
    case K_STRING:
        c = strcmp(json_string_value(l), json_string_value(r));
        c = c < 0 ? -1 : c > 0;
        break;
    case K_INVALID:
        break;
    }
    if (strcmp(op, "==") == 0)
        *ret_pass = c == 0;
    else if (strcmp(op, "!=") == 0)
        *ret_pass = c != 0;
    else if (strcmp(op, "<") == 0)
        *ret_pass = c < 0;
    else if (strcmp(op, ">") == 0)
        *ret_pass = c > 0;
    else if (strcmp(op, "<=") == 0)
        *ret_pass = c <= 0;
    else if (strcmp(op, ">=") == 0)
        *ret_pass = c >= 0;
    else
        return xerr(x, "unrecognized filter operator %s", op);
    return 0;
}

static int eval_filter(struct exec *x, json_t *in, const struct jp_node *n,
                       json_t *out)
{
    size_t i, k;
    json_t *v, *item;

    json_array_foreach (in, i, v) {
        if (!json_is_array(v)) {
            struct buf b;
            int rv;
            buf_init(&b);
            kctl_json_go(v, 0, &b);
            rv = xerr(x, "%s is not array or slice and cannot be filtered",
                      b.data ? b.data : "<nil>");
            buf_close(&b);
            return rv;
        }
        json_array_foreach (v, k, item) {
            json_t *one = json_pack("[O]", item), *lefts = NULL, *rights = NULL;
            bool pass = false;
            int rv = eval_list(x, one, n->kids[0], &lefts);

            if (strcmp(n->text, "exists") == 0) {
                if (rv == 0 && json_array_size(lefts) > 0)
                    json_array_append(out, item);
                json_decref(lefts);
                json_decref(one);
                continue;
            }
            if (rv != 0 || json_array_size(lefts) != 1) {
                json_decref(one);
                json_decref(lefts);
                if (rv != 0)
                    return rv;
                if (json_array_size(lefts) > 1)
                    return xerr(x, "can only compare one element at a time");
                continue;
            }
            rv = eval_list(x, one, n->kids[1], &rights);
            json_decref(one);
            if (rv == 0 && json_array_size(rights) > 1)
                rv = xerr(x, "can only compare one element at a time");
            if (rv == 0 && json_array_size(rights) == 1)
                rv = compare(x, n->text, json_array_get(lefts, 0),
                             json_array_get(rights, 0), &pass);
            json_decref(lefts);
            json_decref(rights);
            if (rv != 0)
                return rv;
            if (pass)
                json_array_append(out, item);
        }
    }
    return 0;
}

static int walk(struct exec *x, json_t *in, const struct jp_node *n,
                json_t **ret)
{
    json_t *out;
    size_t i;
    json_t *v;
    int rv = 0;

    if (n->kind == JP_LIST)
        return eval_list(x, in, n, ret);
    out = json_array();
    if (out == NULL)
        return K1S_ENOMEM;
    switch (n->kind) {
    case JP_LIST:
        break;
    case JP_TEXT:
        json_array_append_new(out, json_string(n->text));
        break;
    case JP_FIELD:
        json_array_foreach (in, i, v) {
            json_t *f = json_is_object(v) ? json_object_get(v, n->text) : NULL;
            if (f != NULL)
                json_array_append(out, f);
        }
        break;
    case JP_ARRAY:
        rv = eval_array(x, in, n, out);
        break;
    case JP_FILTER:
        rv = eval_filter(x, in, n, out);
        break;
    case JP_INT:
        json_array_foreach (in, i, v) {
            json_array_append_new(out, json_integer(n->ival));
        }
        break;
    case JP_FLOAT:
        json_array_foreach (in, i, v) {
            json_array_append_new(out, json_real(n->fval));
        }
        break;
    case JP_BOOL:
        json_array_foreach (in, i, v) {
            json_array_append_new(out, json_boolean(n->bval));
        }
        break;
    case JP_WILDCARD:
        json_array_foreach (in, i, v) {
            if (json_is_object(v))
                add_sorted_values(out, v);
            else if (json_is_array(v))
                json_array_extend(out, v);
        }
        break;
    case JP_RECURSIVE:
        recursive(out, in);
        break;
    case JP_UNION:
        for (size_t k = 0; k < n->nkids && rv == 0; k++) {
            json_t *r = NULL;
            rv = walk(x, in, n->kids[k], &r);
            if (rv == 0)
                json_array_extend(out, r);
            json_decref(r);
        }
        break;
    case JP_IDENT:
        if (strcmp(n->text, "range") == 0)
            json_array_extend(out, in);
        else if (strcmp(n->text, "end") != 0)
            rv = xerr(x, "unrecognized identifier %s", n->text);
        break;
    }
    if (rv != 0) {
        json_decref(out);
        return rv;
    }
    *ret = out;
    return 0;
}

/* Whether a root action list opens or closes a range. */
static bool has_ident(const struct jp_node *n, const char *name)
{
    if (n->kind != JP_LIST)
        return false;
    for (size_t i = 0; i < n->nkids; i++)
        if (n->kids[i]->kind == JP_IDENT && strcmp(n->kids[i]->text, name) == 0)
            return true;
    return false;
}

/* Runs root nodes [from, to) over `data`, appending one array of results
 * per action to `results`. match[i]: the index of the end closing the
 * range at i. */
static int find_results(struct exec *x, const struct jp_node *root,
                        const size_t *match, size_t from, size_t to,
                        const json_t *data, json_t *results)
{
    json_t *in = json_pack("[O]", data);
    int rv = 0;

    if (in == NULL)
        return K1S_ENOMEM;
    for (size_t i = from; i < to && rv == 0; i++) {
        const struct jp_node *n = root->kids[i];
        json_t *r = NULL;

        if (has_ident(n, "end"))
            continue; /* only reached for matched ends (checked before) */
        rv = walk(x, in, n, &r);
        if (rv != 0)
            break;
        if (has_ident(n, "range")) {
            size_t k;
            json_t *v;
            json_array_foreach (r, k, v) {
                rv = find_results(x, root, match, i + 1, match[i], v, results);
                if (rv != 0)
                    break;
            }
            json_decref(r);
            i = match[i];
            continue;
        }
        json_array_append_new(results, r);
    }
    json_decref(in);
    return rv;
}

static int run(const char *tmpl, const json_t *data, json_t **ret_results,
               char *err, size_t errlen)
{
    struct jp_node *root;
    struct exec x = {err, errlen};
    size_t *match, *stack, depth = 0;
    json_t *results;
    int rv;

    *ret_results = NULL;
    if (errlen > 0)
        err[0] = '\0';
    rv = jp_parse(tmpl, &root, err, errlen);
    if (rv != 0)
        return rv;
    match = calloc(root->nkids + 1, sizeof *match);
    stack = calloc(root->nkids + 1, sizeof *stack);
    results = json_array();
    if (match == NULL || stack == NULL || results == NULL) {
        rv = K1S_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < root->nkids; i++) {
        match[i] = root->nkids;
        if (has_ident(root->kids[i], "range")) {
            stack[depth++] = i;
        } else if (has_ident(root->kids[i], "end")) {
            if (depth == 0) {
                rv = xerr(&x, "not in range, nothing to end");
                goto out;
            }
            match[stack[--depth]] = i;
        }
    }
    rv = find_results(&x, root, match, 0, root->nkids, data, results);
out:
    free(match);
    free(stack);
    node_free(root);
    if (rv != 0) {
        json_decref(results);
        return rv;
    }
    *ret_results = results;
    return 0;
}

static void print_value(struct buf *out, const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        kctl_json_go(v, 0, out);
        break;
    case JSON_STRING:
        buf_append(out, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        buf_printf(out, "%lld", (long long)json_integer_value(v));
        break;
    case JSON_REAL:
        go_float(out, json_real_value(v), false);
        break;
    case JSON_TRUE:
        buf_append_str(out, "true");
        break;
    case JSON_FALSE:
        buf_append_str(out, "false");
        break;
    case JSON_NULL:
        buf_append_str(out, "null");
        break;
    }
}

int kctl_jsonpath(const char *tmpl, const json_t *data, struct buf *out,
                  char *err, size_t errlen)
{
    json_t *results, *r, *v;
    size_t i, k;
    int rv = run(tmpl, data, &results, err, errlen);

    if (rv != 0)
        return rv;
    json_array_foreach (results, i, r) {
        json_array_foreach (r, k, v) {
            if (k > 0)
                buf_append_str(out, " ");
            print_value(out, v);
        }
    }
    json_decref(results);
    return 0;
}

int kctl_jsonpath_values(const char *tmpl, const json_t *data,
                         json_t **ret_values, char *err, size_t errlen)
{
    json_t *results, *r, *all;
    size_t i;
    int rv = run(tmpl, data, &results, err, errlen);

    *ret_values = NULL;
    if (rv != 0)
        return rv;
    all = json_array();
    json_array_foreach (results, i, r) {
        json_array_extend(all, r);
    }
    json_decref(results);
    *ret_values = all;
    return all ? 0 : K1S_ENOMEM;
}

void kctl_go_v(const json_t *v, struct buf *out)
{
    size_t i, n;
    json_t *x;

    if (json_is_string(v)) {
        buf_append_str(out, json_string_value(v));
    } else if (json_is_null(v)) {
        buf_append_str(out, "<nil>");
    } else if (json_is_array(v)) {
        buf_append_str(out, "[");
        json_array_foreach (v, i, x) {
            if (i > 0)
                buf_append_str(out, " ");
            kctl_go_v(x, out);
        }
        buf_append_str(out, "]");
    } else if (json_is_object(v)) {
        const char **keys = kctl_sorted_keys(v, &n);
        if (keys == NULL)
            return;
        buf_append_str(out, "map[");
        for (i = 0; i < n; i++) {
            buf_printf(out, "%s%s:", i ? " " : "", keys[i]);
            kctl_go_v(json_object_get(v, keys[i]), out);
        }
        buf_append_str(out, "]");
        free(keys);
    } else if (json_is_real(v)) {
        go_float(out, json_real_value(v), false);
    } else {
        kctl_json_go(v, 0, out); /* integers, booleans */
    }
}

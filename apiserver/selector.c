/*
 * DESIGN: label and field selectors.
 *
 * Label selectors: a hand-written lexer and recursive-descent-free parser
 * after k8s.io/apimachinery/pkg/labels/selector.go. The lexer yields
 * identifiers (runs of bytes that are neither whitespace nor one of
 * `=!(),<>`), the keywords `in`/`notin` and the operator symbols (longest
 * match: `!=`, `==`). The parser is a loop over requirements with one token
 * of lookahead; inside a value position keywords are plain identifiers.
 * Each requirement is validated as labels.NewRequirement does (qualified
 * key, label values, value counts per operator) and the list is sorted by
 * key, so the canonical string is stable.
 *
 * Field selectors: after pkg/fields/selector.go. Terms split on unescaped
 * commas; each term splits at the first `!=`, `==` or `=`; the value is
 * unescaped (`\\`, `\,`, `\=`; any other escape and any bare `,`/`=` is an
 * error). Matching resolves the dotted path in the object.
 *
 * Both parsers run in time linear in the input, which is capped at
 * API_SELECTOR_MAX_LEN bytes; nothing recurses.
 */
#include "apiserver/selector.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/err.h"

/* ---- validation (k8s.io/apimachinery/pkg/util/validation) ------------- */

#define QNAME_FMT "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define QNAME_ERR                                                              \
    "must consist of alphanumeric characters, '-', '_' or '.', and must "      \
    "start and end with an alphanumeric character (e.g. 'MyName',  or "        \
    "'my.name',  or '123-abc', regex used for validation is '" QNAME_FMT "')"
#define LABEL_VALUE_ERR                                                        \
    "a valid label must be an empty string or consist of alphanumeric "        \
    "characters, '-', '_' or '.', and must start and end with an "             \
    "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or "             \
    "'12345', regex used for validation is "                                   \
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
#define DNS1123_SUB_ERR                                                        \
    "a lowercase RFC 1123 subdomain must consist of lower case "               \
    "alphanumeric characters, '-' or '.', and must start and end with an "     \
    "alphanumeric character (e.g. 'example.com', regex used for "              \
    "validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"      \
    "[a-z0-9])?)*')"

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0, n) */
static bool match_qname(const char *s, size_t n)
{
    if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return false;
    return true;
}

static bool match_dns1123_subdomain(const char *s, size_t n)
{
    bool label_start = true;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool lower = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (c == '.') {
            if (label_start || s[i - 1] == '-')
                return false;
            label_start = true;
        } else if (c == '-') {
            if (label_start)
                return false;
        } else if (lower) {
            label_start = false;
        } else {
            return false;
        }
    }
    return !label_start && s[n - 1] != '-';
}

/* IsQualifiedName; writes the joined messages into msg, false if bad. */
static bool valid_qualified_name(const char *key, char *msg, size_t len)
{
    const char *slash = strchr(key, '/');
    const char *name = key;
    size_t n;

    if (slash != NULL) {
        size_t plen = (size_t)(slash - key);
        name = slash + 1;
        if (strchr(name, '/') != NULL) {
            snprintf(msg, len,
                     "a qualified name " QNAME_ERR
                     " with an optional DNS subdomain prefix and '/' "
                     "(e.g. 'example.com/MyName')");
            return false;
        }
        if (plen == 0) {
            snprintf(msg, len, "prefix part must be non-empty");
            return false;
        }
        if (plen > 253) {
            snprintf(msg, len,
                     "prefix part must be no more than 253 "
                     "characters");
            return false;
        }
        if (!match_dns1123_subdomain(key, plen)) {
            snprintf(msg, len, "prefix part " DNS1123_SUB_ERR);
            return false;
        }
    }
    n = strlen(name);
    if (n == 0) {
        snprintf(msg, len, "name part must be non-empty");
        return false;
    }
    if (n > 63) {
        snprintf(msg, len, "name part must be no more than 63 characters");
        return false;
    }
    if (!match_qname(name, n)) {
        snprintf(msg, len, "name part " QNAME_ERR);
        return false;
    }
    return true;
}

static bool valid_label_value(const char *v, char *msg, size_t len)
{
    size_t n = strlen(v);

    if (n > 63) {
        snprintf(msg, len, "must be no more than 63 characters");
        return false;
    }
    if (n > 0 && !match_qname(v, n)) {
        snprintf(msg, len, LABEL_VALUE_ERR);
        return false;
    }
    return true;
}

static int fail(char *errbuf, size_t errlen, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(char *errbuf, size_t errlen, int rv, const char *fmt, ...)
{
    va_list ap;

    if (errbuf != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return rv;
}

/* ---- label selector: representation ------------------------------------ */

enum op {
    OP_EQ,  /* = */
    OP_DEQ, /* == */
    OP_NE,  /* != */
    OP_IN,
    OP_NOTIN,
    OP_EXISTS,
    OP_NOTEXIST, /* !key */
    OP_GT,
    OP_LT,
};

struct req {
    char *key;
    enum op op;
    char **vals; /* sorted, unique */
    size_t nvals;
    long long num; /* OP_GT / OP_LT */
};

struct api_label_selector {
    struct req *reqs;
    size_t n;
    bool nothing; /* from a null metav1.LabelSelector: selects nothing */
};

static void req_close(struct req *r)
{
    free(r->key);
    for (size_t i = 0; i < r->nvals; i++)
        free(r->vals[i]);
    free(r->vals);
}

void api_label_selector_free(struct api_label_selector *sel)
{
    if (sel == NULL)
        return;
    for (size_t i = 0; i < sel->n; i++)
        req_close(&sel->reqs[i]);
    free(sel->reqs);
    free(sel);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_req(const void *a, const void *b)
{
    const struct req *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    /* qsort is not stable: break ties by operator, then first value */
    if (c != 0)
        return c;
    if (x->op != y->op)
        return (int)x->op - (int)y->op;
    if (x->nvals && y->nvals)
        return strcmp(x->vals[0], y->vals[0]);
    return (int)x->nvals - (int)y->nvals;
}

static const char *op_name(enum op op)
{
    switch (op) {
    case OP_EQ:
        return "=";
    case OP_DEQ:
        return "==";
    case OP_NE:
        return "!=";
    case OP_IN:
        return "in";
    case OP_NOTIN:
        return "notin";
    case OP_EXISTS:
        return "exists";
    case OP_NOTEXIST:
        return "!";
    case OP_GT:
        return "gt";
    case OP_LT:
        return "lt";
    }
    return "?";
}

/* labels.NewRequirement: validates and appends; takes ownership of key and
 * vals (freed on failure too). */
static int add_req(struct api_label_selector *sel, char *key, enum op op,
                   char **vals, size_t nvals, char *errbuf, size_t errlen)
{
    char msg[768];
    struct req r = {key, op, vals, nvals, 0};
    struct req *nr;
    size_t i, j;
    int rv = K1S_EBADREQ;

    if (!valid_qualified_name(key, msg, sizeof msg)) {
        rv = fail(errbuf, errlen, rv,
                  "unable to parse requirement: key: Invalid value: "
                  "\"%s\": %s",
                  key, msg);
        goto err;
    }
    switch (op) {
    case OP_IN:
    case OP_NOTIN:
        if (nvals == 0) {
            rv = fail(errbuf, errlen, rv,
                      "unable to parse requirement: values: Invalid value: "
                      "[]: for 'in', 'notin' operators, values set can't "
                      "be empty");
            goto err;
        }
        break;
    case OP_EQ:
    case OP_DEQ:
    case OP_NE:
        if (nvals != 1) {
            rv = fail(errbuf, errlen, rv,
                      "unable to parse requirement: values: Invalid value: "
                      "exact-match compatibility requires one single "
                      "value");
            goto err;
        }
        break;
    case OP_EXISTS:
    case OP_NOTEXIST:
        if (nvals != 0) {
            rv = fail(errbuf, errlen, rv,
                      "unable to parse requirement: values: Invalid value: "
                      "values set must be empty for exists and does not "
                      "exist");
            goto err;
        }
        break;
    case OP_GT:
    case OP_LT: {
        char *end;
        if (nvals != 1) {
            rv = fail(errbuf, errlen, rv,
                      "unable to parse requirement: values: Invalid value: "
                      "for 'Gt', 'Lt' operators, exactly one value is "
                      "required");
            goto err;
        }
        errno = 0;
        r.num = strtoll(vals[0], &end, 10);
        if (errno != 0 || end == vals[0] || *end != '\0') {
            rv = fail(errbuf, errlen, rv,
                      "unable to parse requirement: values[0]: Invalid "
                      "value: \"%s\": for 'Gt', 'Lt' operators, the value "
                      "must be an integer",
                      vals[0]);
            goto err;
        }
        break;
    }
    }
    for (i = 0; i < nvals; i++) {
        if (!valid_label_value(vals[i], msg, sizeof msg)) {
            rv = fail(errbuf, errlen, rv,
                      "unable to parse requirement: values[%zu][%s]: "
                      "Invalid value: \"%s\": %s",
                      i, key, vals[i], msg);
            goto err;
        }
    }
    /* a set: sorted, duplicates dropped */
    if (nvals > 1) {
        qsort(vals, nvals, sizeof *vals, cmp_str);
        for (i = 1, j = 1; i < nvals; i++) {
            if (strcmp(vals[i], vals[j - 1]) == 0)
                free(vals[i]);
            else
                vals[j++] = vals[i];
        }
        r.nvals = j;
    }
    nr = realloc(sel->reqs, (sel->n + 1) * sizeof *nr);
    if (nr == NULL) {
        rv = fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
        goto err;
    }
    sel->reqs = nr;
    sel->reqs[sel->n++] = r;
    return 0;

err:
    req_close(&r);
    return rv;
}

/* ---- label selector: lexer --------------------------------------------- */

enum tok {
    T_END,
    T_IDENT,
    T_IN,
    T_NOTIN,
    T_NOT, /* ! */
    T_NE,  /* != */
    T_EQ,  /* = */
    T_DEQ, /* == */
    T_GT,  /* > */
    T_LT,  /* < */
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
};

struct lexer {
    const char *s;
    size_t pos;
    /* the token last read */
    enum tok tok;
    const char *lit;
    size_t litlen;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
    return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' ||
           c == '>' || c == '<';
}

/* Reads the next token into lx->tok/lit; keywords only if !values_ctx. */
static void lex(struct lexer *lx, bool values_ctx)
{
    const char *s = lx->s;
    size_t p = lx->pos;

    while (is_space(s[p]))
        p++;
    lx->lit = s + p;
    if (s[p] == '\0') {
        lx->tok = T_END;
        lx->litlen = 0;
    } else if (is_special(s[p])) {
        char c = s[p], d = s[p + 1];
        lx->litlen = 1;
        switch (c) {
        case '!':
            lx->tok = d == '=' ? T_NE : T_NOT;
            break;
        case '=':
            lx->tok = d == '=' ? T_DEQ : T_EQ;
            break;
        case '>':
            lx->tok = T_GT;
            break;
        case '<':
            lx->tok = T_LT;
            break;
        case '(':
            lx->tok = T_LPAREN;
            break;
        case ')':
            lx->tok = T_RPAREN;
            break;
        default:
            lx->tok = T_COMMA;
            break;
        }
        if (lx->tok == T_NE || lx->tok == T_DEQ)
            lx->litlen = 2;
        p += lx->litlen;
    } else {
        size_t st = p;
        while (s[p] != '\0' && !is_space(s[p]) && !is_special(s[p]))
            p++;
        lx->litlen = p - st;
        lx->tok = T_IDENT;
        if (!values_ctx && lx->litlen == 2 && memcmp(s + st, "in", 2) == 0)
            lx->tok = T_IN;
        if (!values_ctx && lx->litlen == 5 && memcmp(s + st, "notin", 5) == 0)
            lx->tok = T_NOTIN;
    }
    lx->pos = p;
}

/* The next token without consuming it. */
static enum tok peek(const struct lexer *lx, bool values_ctx)
{
    struct lexer copy = *lx;
    lex(&copy, values_ctx);
    return copy.tok;
}

static int lex_fail(const struct lexer *lx, char *errbuf, size_t errlen,
                    const char *expected)
{
    const char *lit = lx->tok == T_END ? "" : lx->lit;
    int n = lx->tok == T_END ? 0 : (int)lx->litlen;
    return fail(errbuf, errlen, K1S_EBADREQ, "found '%.*s', expected: %s", n,
                lit, expected);
}

static char *lit_dup(const struct lexer *lx)
{
    return strndup(lx->lit, lx->litlen);
}

/* Appends a heap copy of s[0,n) to *vals. */
static int push_val(char ***vals, size_t *n, const char *s, size_t len)
{
    char **nv;
    char *v = strndup(s, len);

    if (v == NULL)
        return K1S_ENOMEM;
    nv = realloc(*vals, (*n + 1) * sizeof *nv);
    if (nv == NULL) {
        free(v);
        return K1S_ENOMEM;
    }
    *vals = nv;
    (*vals)[(*n)++] = v;
    return 0;
}

static void free_vals(char **vals, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
}

/* `( v1, v2, ... )` after in/notin; "(a,)" holds "a" and "". */
static int parse_set(struct lexer *lx, char ***vals, size_t *n, char *errbuf,
                     size_t errlen)
{
    lex(lx, true);
    if (lx->tok != T_LPAREN)
        return lex_fail(lx, errbuf, errlen, "'('");
    if (peek(lx, true) == T_RPAREN) {
        lex(lx, true);
        return push_val(vals, n, "", 0);
    }
    for (;;) {
        enum tok nx = peek(lx, true);
        if (nx == T_IDENT) {
            lex(lx, true);
            if (push_val(vals, n, lx->lit, lx->litlen) != 0)
                return K1S_ENOMEM;
        } else if (nx == T_COMMA || nx == T_RPAREN) {
            if (push_val(vals, n, "", 0) != 0) /* empty element */
                return K1S_ENOMEM;
        } else {
            lex(lx, true);
            return lex_fail(lx, errbuf, errlen, "',', ')' or identifier");
        }
        lex(lx, true);
        if (lx->tok == T_RPAREN)
            return 0;
        if (lx->tok != T_COMMA)
            return lex_fail(lx, errbuf, errlen, "',' or ')'");
    }
}

static int parse_requirement(struct lexer *lx, struct api_label_selector *sel,
                             char *errbuf, size_t errlen)
{
    char *key;
    char **vals = NULL;
    size_t nvals = 0;
    enum op op;
    enum tok t;
    int rv;

    lex(lx, false);
    if (lx->tok == T_NOT) {
        lex(lx, false);
        if (lx->tok != T_IDENT)
            return lex_fail(lx, errbuf, errlen, "identifier");
        key = lit_dup(lx);
        if (key == NULL)
            return K1S_ENOMEM;
        return add_req(sel, key, OP_NOTEXIST, NULL, 0, errbuf, errlen);
    }
    if (lx->tok != T_IDENT)
        return lex_fail(lx, errbuf, errlen, "identifier");
    key = lit_dup(lx);
    if (key == NULL)
        return K1S_ENOMEM;
    t = peek(lx, false);
    if (t == T_END || t == T_COMMA)
        return add_req(sel, key, OP_EXISTS, NULL, 0, errbuf, errlen);

    lex(lx, false);
    switch (lx->tok) {
    case T_EQ:
        op = OP_EQ;
        break;
    case T_DEQ:
        op = OP_DEQ;
        break;
    case T_NE:
        op = OP_NE;
        break;
    case T_GT:
        op = OP_GT;
        break;
    case T_LT:
        op = OP_LT;
        break;
    case T_IN:
        op = OP_IN;
        break;
    case T_NOTIN:
        op = OP_NOTIN;
        break;
    default:
        free(key);
        return lex_fail(lx, errbuf, errlen,
                        "'=', '!=', '==', 'in', 'notin', '>', '<'");
    }
    if (op == OP_IN || op == OP_NOTIN) {
        rv = parse_set(lx, &vals, &nvals, errbuf, errlen);
    } else {
        t = peek(lx, true);
        if (t == T_END || t == T_COMMA) {
            rv = push_val(&vals, &nvals, "", 0);
        } else {
            lex(lx, true);
            if (lx->tok != T_IDENT)
                rv = lex_fail(lx, errbuf, errlen, "identifier");
            else
                rv = push_val(&vals, &nvals, lx->lit, lx->litlen);
        }
    }
    if (rv != 0) {
        free(key);
        free_vals(vals, nvals);
        return rv == K1S_ENOMEM ? fail(errbuf, errlen, rv, "out of memory")
                                : rv;
    }
    return add_req(sel, key, op, vals, nvals, errbuf, errlen);
}

int api_label_selector_parse(const char *s, struct api_label_selector **ret,
                             char *errbuf, size_t errlen)
{
    struct api_label_selector *sel;
    struct lexer lx = {s ? s : "", 0, T_END, NULL, 0};
    enum tok t;
    int rv;

    if (strlen(lx.s) > API_SELECTOR_MAX_LEN)
        return fail(errbuf, errlen, K1S_EBADREQ,
                    "label selector longer than %d bytes",
                    API_SELECTOR_MAX_LEN);
    sel = calloc(1, sizeof *sel);
    if (sel == NULL)
        return fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
    for (;;) {
        t = peek(&lx, false);
        if (t == T_END)
            break;
        if (t != T_IDENT && t != T_NOT) {
            lex(&lx, false);
            rv = lex_fail(&lx, errbuf, errlen,
                          "!, identifier, or 'end of string'");
            goto err_after_sel;
        }
        rv = parse_requirement(&lx, sel, errbuf, errlen);
        if (rv != 0)
            goto err_after_sel;
        lex(&lx, false);
        if (lx.tok == T_END)
            break;
        if (lx.tok != T_COMMA) {
            rv = lex_fail(&lx, errbuf, errlen, "',' or 'end of string'");
            goto err_after_sel;
        }
        t = peek(&lx, false);
        if (t != T_IDENT && t != T_NOT) {
            lex(&lx, false);
            rv = lex_fail(&lx, errbuf, errlen, "identifier after ','");
            goto err_after_sel;
        }
    }
    if (sel->n > 1)
        qsort(sel->reqs, sel->n, sizeof *sel->reqs, cmp_req);
    *ret = sel;
    return 0;

err_after_sel:
    api_label_selector_free(sel);
    return rv;
}

int api_label_selector_from_json(const json_t *ls,
                                 struct api_label_selector **ret, char *errbuf,
                                 size_t errlen)
{
    struct api_label_selector *sel;
    const json_t *ml, *me, *e, *v;
    const char *k;
    size_t i, j;
    int rv;

    sel = calloc(1, sizeof *sel);
    if (sel == NULL)
        return fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
    if (ls == NULL || json_is_null(ls)) {
        sel->nothing = true;
        *ret = sel;
        return 0;
    }
    if (!json_is_object(ls)) {
        rv = fail(errbuf, errlen, K1S_EINVALID,
                  "a label selector must be an object");
        goto err_after_sel;
    }
    ml = json_object_get(ls, "matchLabels");
    me = json_object_get(ls, "matchExpressions");
    if (ml != NULL && !json_is_null(ml) && !json_is_object(ml)) {
        rv = fail(errbuf, errlen, K1S_EINVALID,
                  "matchLabels must be an object of strings");
        goto err_after_sel;
    }
    if (me != NULL && !json_is_null(me) && !json_is_array(me)) {
        rv = fail(errbuf, errlen, K1S_EINVALID,
                  "matchExpressions must be a list");
        goto err_after_sel;
    }
    json_object_foreach ((json_t *)ml, k, v) {
        char *key = strdup(k), **vals = NULL;
        size_t nv = 0;
        if (!json_is_string(v)) {
            free(key);
            rv = fail(errbuf, errlen, K1S_EINVALID,
                      "matchLabels[%s] must be a string", k);
            goto err_after_sel;
        }
        if (key == NULL || push_val(&vals, &nv, json_string_value(v),
                                    json_string_length(v)) != 0) {
            free(key);
            rv = fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
            goto err_after_sel;
        }
        rv = add_req(sel, key, OP_EQ, vals, nv, errbuf, errlen);
        if (rv != 0)
            goto err_after_sel_invalid;
    }
    json_array_foreach (me, i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *opn = json_string_value(json_object_get(e, "operator"));
        const json_t *vs = json_object_get(e, "values");
        char **vals = NULL, *kd;
        size_t nv = 0;
        enum op op;

        if (key == NULL || opn == NULL) {
            rv = fail(errbuf, errlen, K1S_EINVALID,
                      "matchExpressions[%zu]: key and operator are "
                      "required",
                      i);
            goto err_after_sel;
        }
        if (strcmp(opn, "In") == 0) {
            op = OP_IN;
        } else if (strcmp(opn, "NotIn") == 0) {
            op = OP_NOTIN;
        } else if (strcmp(opn, "Exists") == 0) {
            op = OP_EXISTS;
        } else if (strcmp(opn, "DoesNotExist") == 0) {
            op = OP_NOTEXIST;
        } else {
            rv = fail(errbuf, errlen, K1S_EINVALID,
                      "\"%s\" is not a valid label selector operator", opn);
            goto err_after_sel;
        }
        if (vs != NULL && !json_is_null(vs) && !json_is_array(vs)) {
            rv = fail(errbuf, errlen, K1S_EINVALID,
                      "matchExpressions[%zu].values must be a list", i);
            goto err_after_sel;
        }
        json_array_foreach (vs, j, v) {
            if (!json_is_string(v)) {
                free_vals(vals, nv);
                rv = fail(errbuf, errlen, K1S_EINVALID,
                          "matchExpressions[%zu].values[%zu] must be a "
                          "string",
                          i, j);
                goto err_after_sel;
            }
            if (push_val(&vals, &nv, json_string_value(v),
                         json_string_length(v)) != 0) {
                free_vals(vals, nv);
                rv = fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
                goto err_after_sel;
            }
        }
        kd = strdup(key);
        if (kd == NULL) {
            free_vals(vals, nv);
            rv = fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
            goto err_after_sel;
        }
        rv = add_req(sel, kd, op, vals, nv, errbuf, errlen);
        if (rv != 0)
            goto err_after_sel_invalid;
    }
    if (sel->n > 1)
        qsort(sel->reqs, sel->n, sizeof *sel->reqs, cmp_req);
    *ret = sel;
    return 0;

err_after_sel_invalid:
    if (rv == K1S_EBADREQ)
        rv = K1S_EINVALID; /* a bad object, not a bad query */
err_after_sel:
    api_label_selector_free(sel);
    return rv;
}

static bool req_has(const struct req *r, const char *v)
{
    return bsearch(&v, r->vals, r->nvals, sizeof *r->vals, cmp_str) != NULL;
}

static bool req_matches(const struct req *r, const json_t *labels)
{
    const json_t *lv = json_object_get(labels, r->key);
    const char *v = json_string_value(lv);
    long long n;
    char *end;

    switch (r->op) {
    case OP_EQ:
    case OP_DEQ:
    case OP_IN:
        return v != NULL && req_has(r, v);
    case OP_NE:
    case OP_NOTIN:
        return v == NULL || !req_has(r, v);
    case OP_EXISTS:
        return lv != NULL;
    case OP_NOTEXIST:
        return lv == NULL;
    case OP_GT:
    case OP_LT:
        if (v == NULL)
            return false;
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0')
            return false;
        return r->op == OP_GT ? n > r->num : n < r->num;
    }
    return false;
}

bool api_label_selector_matches(const struct api_label_selector *sel,
                                const json_t *labels)
{
    if (sel == NULL)
        return true;
    if (sel->nothing)
        return false;
    for (size_t i = 0; i < sel->n; i++)
        if (!req_matches(&sel->reqs[i], labels))
            return false;
    return true;
}

bool api_label_selector_is_empty(const struct api_label_selector *sel)
{
    return sel == NULL || (sel->n == 0 && !sel->nothing);
}

char *api_label_selector_string(const struct api_label_selector *sel)
{
    struct buf b;
    int rv = 0;

    buf_init(&b);
    for (size_t i = 0; sel != NULL && i < sel->n && rv == 0; i++) {
        const struct req *r = &sel->reqs[i];
        if (i > 0)
            rv = buf_append_str(&b, ",");
        switch (r->op) {
        case OP_NOTEXIST:
            rv = rv ? rv : buf_printf(&b, "!%s", r->key);
            break;
        case OP_EXISTS:
            rv = rv ? rv : buf_append_str(&b, r->key);
            break;
        case OP_IN:
        case OP_NOTIN:
            rv = rv ? rv : buf_printf(&b, "%s %s (", r->key, op_name(r->op));
            for (size_t j = 0; j < r->nvals && rv == 0; j++)
                rv = buf_printf(&b, "%s%s", j ? "," : "", r->vals[j]);
            rv = rv ? rv : buf_append_str(&b, ")");
            break;
        case OP_GT:
        case OP_LT:
            rv = rv ? rv
                    : buf_printf(&b, "%s%s%s", r->key,
                                 r->op == OP_GT ? ">" : "<", r->vals[0]);
            break;
        default:
            rv = rv ? rv
                    : buf_printf(&b, "%s%s%s", r->key, op_name(r->op),
                                 r->vals[0]);
            break;
        }
    }
    if (rv != 0) {
        buf_close(&b);
        return NULL;
    }
    return buf_steal(&b, NULL);
}

/* ---- field selectors ---------------------------------------------------- */

struct fterm {
    char *field;
    char *value;
    bool negate;
};

struct api_field_selector {
    struct fterm *terms;
    size_t n;
};

void api_field_selector_free(struct api_field_selector *sel)
{
    if (sel == NULL)
        return;
    for (size_t i = 0; i < sel->n; i++) {
        free(sel->terms[i].field);
        free(sel->terms[i].value);
    }
    free(sel->terms);
    free(sel);
}

/* fields.UnescapeValue over s[0,n) into a new string. */
static int unescape_value(const char *s, size_t n, char **ret, char *errbuf,
                          size_t errlen)
{
    char *out = malloc(n + 1);
    size_t j = 0;

    if (out == NULL)
        return fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            if (i + 1 >= n) {
                free(out);
                return fail(errbuf, errlen, K1S_EBADREQ,
                            "invalid field selector: invalid escape "
                            "sequence: \\");
            }
            c = s[++i];
            if (c != '\\' && c != ',' && c != '=') {
                free(out);
                return fail(errbuf, errlen, K1S_EBADREQ,
                            "invalid field selector: invalid escape "
                            "sequence: \\%c",
                            c);
            }
        } else if (c == ',' || c == '=') {
            free(out);
            return fail(errbuf, errlen, K1S_EBADREQ,
                        "invalid field selector: unescaped character in "
                        "value: %c",
                        c);
        }
        out[j++] = c;
    }
    out[j] = '\0';
    *ret = out;
    return 0;
}

static bool allowed_field(const char *f, const char *const *allowed)
{
    if (allowed == NULL)
        return true;
    for (size_t i = 0; allowed[i] != NULL; i++)
        if (strcmp(allowed[i], f) == 0)
            return true;
    return false;
}

/* One term s[0,n): `field op value`. */
static int parse_term(struct api_field_selector *sel, const char *s, size_t n,
                      const char *const *allowed, char *errbuf, size_t errlen)
{
    size_t i, oplen = 0;
    bool negate = false;
    struct fterm t = {NULL, NULL, false};
    struct fterm *nt;
    int rv;

    for (i = 0; i < n; i++) {
        if (s[i] == '!' && i + 1 < n && s[i + 1] == '=') {
            negate = true;
            oplen = 2;
            break;
        }
        if (s[i] == '=') {
            oplen = (i + 1 < n && s[i + 1] == '=') ? 2 : 1;
            break;
        }
    }
    if (oplen == 0)
        return fail(errbuf, errlen, K1S_EBADREQ,
                    "invalid selector: '%.*s'; can't understand '%.*s'", (int)n,
                    s, (int)n, s);
    t.field = strndup(s, i);
    if (t.field == NULL)
        return fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
    t.negate = negate;
    rv = unescape_value(s + i + oplen, n - i - oplen, &t.value, errbuf, errlen);
    if (rv != 0)
        goto err;
    if (!allowed_field(t.field, allowed)) {
        rv = fail(errbuf, errlen, K1S_EBADREQ, "field label not supported: %s",
                  t.field);
        goto err;
    }
    nt = realloc(sel->terms, (sel->n + 1) * sizeof *nt);
    if (nt == NULL) {
        rv = fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
        goto err;
    }
    sel->terms = nt;
    sel->terms[sel->n++] = t;
    return 0;

err:
    free(t.field);
    free(t.value);
    return rv;
}

int api_field_selector_parse(const char *s, const char *const *allowed,
                             struct api_field_selector **ret, char *errbuf,
                             size_t errlen)
{
    struct api_field_selector *sel;
    size_t start = 0, i, len;
    int rv;

    if (s == NULL)
        s = "";
    len = strlen(s);
    if (len > API_SELECTOR_MAX_LEN)
        return fail(errbuf, errlen, K1S_EBADREQ,
                    "field selector longer than %d bytes",
                    API_SELECTOR_MAX_LEN);
    sel = calloc(1, sizeof *sel);
    if (sel == NULL)
        return fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
    /* split on commas not preceded by an escaping backslash */
    for (i = 0; i <= len; i++) {
        if (i + 1 < len && s[i] == '\\') {
            i++; /* the escaped byte never splits */
            continue;
        }
        if (i < len && s[i] != ',')
            continue;
        if (i > start) {
            rv = parse_term(sel, s + start, i - start, allowed, errbuf, errlen);
            if (rv != 0)
                goto err_after_sel;
        }
        start = i + 1;
    }
    *ret = sel;
    return 0;

err_after_sel:
    api_field_selector_free(sel);
    return rv;
}

/* The field's value as a selector compares it; "" when absent. */
static void field_value(const json_t *obj, const char *path, char *tmp,
                        size_t tmplen, const char **ret)
{
    const json_t *cur = obj;
    const char *p = path, *dot;

    *ret = "";
    while (cur != NULL && *p != '\0') {
        char key[256];
        size_t n;
        dot = strchr(p, '.');
        n = dot ? (size_t)(dot - p) : strlen(p);
        if (n >= sizeof key)
            return;
        memcpy(key, p, n);
        key[n] = '\0';
        cur = json_object_get(cur, key);
        p = dot ? dot + 1 : p + n;
    }
    if (json_is_string(cur)) {
        *ret = json_string_value(cur);
    } else if (json_is_true(cur)) {
        *ret = "true";
    } else if (json_is_false(cur)) {
        *ret = "false";
    } else if (json_is_integer(cur)) {
        snprintf(tmp, tmplen, "%" JSON_INTEGER_FORMAT, json_integer_value(cur));
        *ret = tmp;
    }
}

bool api_field_selector_matches(const struct api_field_selector *sel,
                                const json_t *obj)
{
    char tmp[32];
    const char *v;

    if (sel == NULL)
        return true;
    for (size_t i = 0; i < sel->n; i++) {
        field_value(obj, sel->terms[i].field, tmp, sizeof tmp, &v);
        if ((strcmp(v, sel->terms[i].value) == 0) == sel->terms[i].negate)
            return false;
    }
    return true;
}

const char *api_field_selector_name(const struct api_field_selector *sel)
{
    for (size_t i = 0; sel != NULL && i < sel->n; i++)
        if (!sel->terms[i].negate &&
            strcmp(sel->terms[i].field, "metadata.name") == 0)
            return sel->terms[i].value;
    return NULL;
}

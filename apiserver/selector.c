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

static bool is_digit_or_sign(char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-';
}

/* Go's %#v of a []string, as field.Invalid prints a bad value list. */
static int go_strings(struct buf *b, char **vals, size_t n, bool nil_if_empty)
{
    int rv;

    if (n == 0)
        return buf_append_str(b, nil_if_empty ? "[]string(nil)" : "[]string{}");
    rv = buf_append_str(b, "[]string{");
    for (size_t i = 0; i < n && rv == 0; i++) {
        rv = buf_append_str(b, i ? ", \"" : "\"");
        for (const char *c = vals[i]; *c && rv == 0; c++)
            rv = (*c == '"' || *c == '\\') ? buf_printf(b, "\\%c", *c)
                                           : buf_append(b, c, 1);
        rv = rv ? rv : buf_append_str(b, "\"");
    }
    return rv ? rv : buf_append_str(b, "}");
}

/* strconv.ParseInt(s, 10, 64) succeeds (no spaces, optional sign) */
static bool go_parse_int(const char *s, long long *ret)
{
    char *end;

    if (!is_digit_or_sign(s[0]))
        return false;
    errno = 0;
    *ret = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == '\0';
}

/* labels.NewRequirement: validates and appends; takes ownership of key and
 * vals (freed on failure too). Messages are field errors
 * ("values[0][app]: Invalid value: ..."), several joined as an aggregate
 * ("[e1, e2]"). `parsed`: the requirement comes from the query syntax
 * (its key was checked already, its values are a set). */
static int add_req(struct api_label_selector *sel, char *key, enum op op,
                   char **vals, size_t nvals, bool parsed, char *errbuf,
                   size_t errlen)
{
    char msg[768];
    struct req r = {key, op, vals, nvals, 0};
    struct req *nr;
    struct buf errs, one;
    size_t i, j, nerr = 0;
    int rv = 0;

    buf_init(&errs);
    buf_init(&one);
    if (parsed && nvals > 1) {
        /* sets.String.List(): sorted, unique */
        qsort(vals, nvals, sizeof *vals, cmp_str);
        for (i = 1, j = 1; i < nvals; i++) {
            if (strcmp(vals[i], vals[j - 1]) == 0)
                free(vals[i]);
            else
                vals[j++] = vals[i];
        }
        r.nvals = nvals = j;
    }
#define ADD_ERR(...)                                                           \
    do {                                                                       \
        if (rv == 0)                                                           \
            rv = buf_printf(&errs, "%s", nerr ? ", " : "");                    \
        if (rv == 0)                                                           \
            rv = buf_printf(&errs, __VA_ARGS__);                               \
        nerr++;                                                                \
    } while (0)
#define ADD_LIST_ERR(what)                                                     \
    do {                                                                       \
        buf_reset(&one);                                                       \
        if (go_strings(&one, vals, nvals, !parsed) != 0)                       \
            rv = K1S_ENOMEM;                                                   \
        ADD_ERR("values: Invalid value: %s: %s", one.data ? one.data : "",     \
                what);                                                         \
    } while (0)

    if (!parsed && !valid_qualified_name(key, msg, sizeof msg))
        ADD_ERR("key: Invalid value: \"%s\": %s", key, msg);
    switch (op) {
    case OP_IN:
    case OP_NOTIN:
        if (nvals == 0)
            ADD_LIST_ERR("for 'in', 'notin' operators, values set can't be "
                         "empty");
        break;
    case OP_EQ:
    case OP_DEQ:
    case OP_NE:
        if (nvals != 1)
            ADD_LIST_ERR("exact-match compatibility requires one single "
                         "value");
        break;
    case OP_EXISTS:
    case OP_NOTEXIST:
        if (nvals != 0)
            ADD_LIST_ERR("values set must be empty for exists and does not "
                         "exist");
        break;
    case OP_GT:
    case OP_LT:
        if (nvals != 1)
            ADD_LIST_ERR("for 'Gt', 'Lt' operators, exactly one value is "
                         "required");
        for (i = 0; i < nvals; i++)
            if (!go_parse_int(vals[i], &r.num))
                ADD_ERR("values[%zu]: Invalid value: \"%s\": for 'Gt', 'Lt' "
                        "operators, the value must be an integer",
                        i, vals[i]);
        break;
    }
    for (i = 0; i < nvals; i++)
        if (!valid_label_value(vals[i], msg, sizeof msg))
            ADD_ERR("values[%zu][%s]: Invalid value: \"%s\": %s", i, key,
                    vals[i], msg);
#undef ADD_LIST_ERR
#undef ADD_ERR
    if (rv != 0) {
        rv = fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
        goto err;
    }
    if (nerr > 0) {
        rv = fail(errbuf, errlen, K1S_EBADREQ, "%s%s%s", nerr > 1 ? "[" : "",
                  errs.data, nerr > 1 ? "]" : "");
        goto err;
    }
    if (nvals > 1) { /* matching bsearches a sorted set */
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
    buf_close(&errs);
    buf_close(&one);
    return 0;

err:
    buf_close(&errs);
    buf_close(&one);
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

/* Reads the next token into lx->tok/lit. In the "values" context (the
 * parser's Values) the keywords in/notin are plain identifiers; only the
 * operator position (KeyAndOperator) sees them as keywords. */
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
static struct lexer peek(const struct lexer *lx, bool values_ctx)
{
    struct lexer copy = *lx;
    lex(&copy, values_ctx);
    return copy;
}

/* "found '<lit>', expected: ..." (fmt after the literal). */
static int lex_fail(const struct lexer *lx, char *errbuf, size_t errlen,
                    const char *fmt)
{
    int n = lx->tok == T_END ? 0 : (int)lx->litlen;
    char lit[256];

    snprintf(lit, sizeof lit, "%.*s", n > 200 ? 200 : n, lx->lit);
    return fail(errbuf, errlen, K1S_EBADREQ, "found '%s'%s", lit, fmt);
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

/* parseIdentifiersList: "a,,b" holds "a", "" and "b"; "(,a" and "a,)"
 * hold "" too. */
static int parse_ident_list(struct lexer *lx, char ***vals, size_t *n,
                            char *errbuf, size_t errlen)
{
    for (;;) {
        struct lexer nx;
        lex(lx, true);
        if (lx->tok == T_IDENT) {
            if (push_val(vals, n, lx->lit, lx->litlen) != 0)
                return K1S_ENOMEM;
            nx = peek(lx, true);
            if (nx.tok == T_COMMA)
                continue;
            if (nx.tok == T_RPAREN)
                return 0;
            return lex_fail(&nx, errbuf, errlen, ", expected: ',' or ')'");
        }
        if (lx->tok != T_COMMA)
            return lex_fail(lx, errbuf, errlen,
                            ", expected: ',', or identifier");
        if (*n == 0 && push_val(vals, n, "", 0) != 0)
            return K1S_ENOMEM;
        nx = peek(lx, true);
        if (nx.tok == T_RPAREN)
            return push_val(vals, n, "", 0);
        if (nx.tok == T_COMMA) {
            lex(lx, true);
            if (push_val(vals, n, "", 0) != 0)
                return K1S_ENOMEM;
        }
    }
}

/* parseValues: `( ... )` after in/notin; "()" holds "". */
static int parse_values(struct lexer *lx, char ***vals, size_t *n, char *errbuf,
                        size_t errlen)
{
    struct lexer nx;
    int rv;

    lex(lx, true);
    if (lx->tok != T_LPAREN)
        return lex_fail(lx, errbuf, errlen, " expected: '('");
    nx = peek(lx, true);
    if (nx.tok == T_RPAREN) {
        lex(lx, true);
        return push_val(vals, n, "", 0);
    }
    if (nx.tok != T_IDENT && nx.tok != T_COMMA)
        return lex_fail(&nx, errbuf, errlen,
                        ", expected: ',', ')' or identifier");
    rv = parse_ident_list(lx, vals, n, errbuf, errlen);
    if (rv != 0)
        return rv;
    lex(lx, true);
    if (lx->tok != T_RPAREN)
        return lex_fail(&nx, errbuf, errlen, ", expected: ')'");
    return 0;
}

/* parseRequirement. Its errors are wrapped by the caller. */
static int parse_requirement(struct lexer *lx, struct api_label_selector *sel,
                             char *errbuf, size_t errlen)
{
    char msg[768];
    char *key;
    char **vals = NULL;
    size_t nvals = 0;
    bool notexist = false;
    struct lexer nx;
    enum op op;
    int rv;

    lex(lx, true);
    if (lx->tok == T_NOT) {
        notexist = true;
        lex(lx, true);
    }
    if (lx->tok != T_IDENT)
        return lex_fail(lx, errbuf, errlen, ", expected: identifier");
    key = lit_dup(lx);
    if (key == NULL)
        return fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
    if (!valid_qualified_name(key, msg, sizeof msg)) {
        /* validateLabelKey with the parser's (nil) field path */
        rv = fail(errbuf, errlen, K1S_EBADREQ,
                  "<nil>: Invalid value: \"%s\": %s", key, msg);
        free(key);
        return rv;
    }
    nx = peek(lx, true);
    if (notexist)
        return add_req(sel, key, OP_NOTEXIST, NULL, 0, true, errbuf, errlen);
    if (nx.tok == T_END || nx.tok == T_COMMA)
        return add_req(sel, key, OP_EXISTS, NULL, 0, true, errbuf, errlen);

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
                        ", expected: in, notin, =, ==, !=, gt, lt");
    }
    if (op == OP_IN || op == OP_NOTIN) {
        rv = parse_values(lx, &vals, &nvals, errbuf, errlen);
    } else {
        nx = peek(lx, true);
        if (nx.tok == T_END || nx.tok == T_COMMA) {
            rv = push_val(&vals, &nvals, "", 0);
        } else {
            lex(lx, true);
            if (lx->tok != T_IDENT)
                rv = lex_fail(lx, errbuf, errlen, ", expected: identifier");
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
    return add_req(sel, key, op, vals, nvals, true, errbuf, errlen);
}

int api_label_selector_parse(const char *s, struct api_label_selector **ret,
                             char *errbuf, size_t errlen)
{
    struct api_label_selector *sel;
    struct lexer lx = {s ? s : "", 0, T_END, NULL, 0}, nx;
    int rv;

    if (strlen(lx.s) > API_SELECTOR_MAX_LEN)
        return fail(errbuf, errlen, K1S_EBADREQ,
                    "label selector longer than %d bytes",
                    API_SELECTOR_MAX_LEN);
    sel = calloc(1, sizeof *sel);
    if (sel == NULL)
        return fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
    for (;;) {
        nx = peek(&lx, true);
        if (nx.tok == T_END)
            break;
        if (nx.tok != T_IDENT && nx.tok != T_NOT) {
            rv = lex_fail(&nx, errbuf, errlen,
                          ", expected: !, identifier, or 'end of string'");
            goto err_after_sel;
        }
        rv = parse_requirement(&lx, sel, errbuf, errlen);
        if (rv == K1S_EBADREQ && errbuf != NULL && errlen > 0) {
            char inner[1024];
            snprintf(inner, sizeof inner, "%s", errbuf);
            snprintf(errbuf, errlen, "unable to parse requirement: %s", inner);
        }
        if (rv != 0)
            goto err_after_sel;
        lex(&lx, true);
        if (lx.tok == T_END)
            break;
        if (lx.tok != T_COMMA) {
            rv = lex_fail(&lx, errbuf, errlen,
                          ", expected: ',' or 'end of string'");
            goto err_after_sel;
        }
        nx = peek(&lx, true);
        if (nx.tok != T_IDENT && nx.tok != T_NOT) {
            rv = lex_fail(&nx, errbuf, errlen,
                          ", expected: identifier after ','");
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
        rv = add_req(sel, key, OP_EQ, vals, nv, false, errbuf, errlen);
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
        rv = add_req(sel, kd, op, vals, nv, false, errbuf, errlen);
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
                        "value: %d",
                        c); /* Go prints the rune with %v: its number */
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
static int parse_term(struct api_field_selector *sel, const char *whole,
                      const char *s, size_t n, char *errbuf, size_t errlen)
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
                    "invalid selector: '%.200s'; can't understand '%.*s'",
                    whole, (int)(n > 200 ? 200 : n), s);
    t.field = strndup(s, i);
    if (t.field == NULL)
        return fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
    t.negate = negate;
    rv = unescape_value(s + i + oplen, n - i - oplen, &t.value, errbuf, errlen);
    if (rv != 0)
        goto err;
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

struct span {
    const char *p;
    size_t n;
};

/* Go's string order: bytewise, a prefix first. */
static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    size_t n = x->n < y->n ? x->n : y->n;
    int c = memcmp(x->p, y->p, n);

    if (c != 0)
        return c;
    return x->n < y->n ? -1 : x->n > y->n;
}

int api_field_selector_parse(const char *s, const char *const *allowed,
                             struct api_field_selector **ret, char *errbuf,
                             size_t errlen)
{
    struct api_field_selector *sel;
    struct span *spans = NULL;
    size_t start = 0, i, len, nterms = 0, cap = 0;
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
    /* fields.splitTerms: commas not escaped by a backslash split; then, as
     * parseSelector, the terms are handled in sorted order (so the error
     * reported for several bad terms is the same one Kubernetes reports) */
    for (i = 0; i <= len; i++) {
        if (i + 1 < len && s[i] == '\\') {
            i++; /* the escaped byte never splits */
            continue;
        }
        if (i < len && s[i] != ',')
            continue;
        if (nterms == cap) {
            struct span *nspans;
            cap = cap ? 2 * cap : 8;
            nspans = realloc(spans, cap * sizeof *spans);
            if (nspans == NULL) {
                rv = fail(errbuf, errlen, K1S_ENOMEM, "out of memory");
                goto err_after_sel;
            }
            spans = nspans;
        }
        spans[nterms].p = s + start;
        spans[nterms++].n = i - start;
        start = i + 1;
    }
    qsort(spans, nterms, sizeof *spans, cmp_span);
    for (i = 0; i < nterms; i++) {
        if (spans[i].n == 0)
            continue;
        rv = parse_term(sel, s, spans[i].p, spans[i].n, errbuf, errlen);
        if (rv != 0)
            goto err_after_sel;
    }
    /* the resource's field conversion runs on the parsed terms */
    for (i = 0; i < sel->n; i++) {
        if (!allowed_field(sel->terms[i].field, allowed)) {
            rv = fail(errbuf, errlen, K1S_EBADREQ,
                      "field label not supported: %s", sel->terms[i].field);
            goto err_after_sel;
        }
    }
    free(spans);
    *ret = sel;
    return 0;

err_after_sel:
    free(spans);
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

/*
 * DESIGN: `describe TYPE [NAME_PREFIX…] | TYPE/NAME | TYPE -l SEL`, laid
 * out as kubectl 1.32's describers lay it out (k8s.io/kubectl/pkg/describe):
 * Pod, Deployment, ReplicaSet and Node have their own; every other kind
 * gets kubectl's generic describer (Name, Namespace, Labels, Annotations,
 * then the object's fields as "Smart Label: value" lines, nested by
 * indentation), and every description ends with the Events of the object
 * (fetched by involvedObject field selector, sorted by lastTimestamp).
 *
 * Alignment is Go's text/tabwriter as kubectl configures it (minwidth 0,
 * padding 2, spaces): text is buffered, cells end at '\t', and each column
 * is aligned over a *block* of consecutive lines that all have that
 * column — a line without a tab ends every block. This is why, in kubectl's
 * output, "Containers:" breaks the alignment of the lines around it. The
 * writer is flushed before the Events table, as kubectl does. Times print
 * as Go's RFC1123Z in local time; ages use HumanDuration.
 *
 * As in kubectl, `describe TYPE NAME` that finds nothing describes every
 * object of TYPE whose name starts with NAME, and descriptions of several
 * objects are separated by two empty lines.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kubectl-lite/jsonpath.h"
#include "kubectl-lite/kctl_int.h"
#include "lib/clock.h"

/* ------------------------------------------------------- Go's tabwriter */

struct tcell {
    const char *s;
    size_t len, width;
};

struct tline {
    struct tcell *cells;
    size_t n;
};

/* The description being written: pending text (until a flush) and what
 * has been formatted already. */
struct dw {
    struct buf pending;
    struct buf out;
    /* formatting state */
    struct tline *lines;
    size_t nlines;
    size_t widths[64];
    size_t nwidths;
    bool last_newline;
};

static void write_lines(struct dw *d, size_t l0, size_t l1)
{
    for (size_t i = l0; i < l1; i++) {
        const struct tline *ln = &d->lines[i];
        for (size_t j = 0; j < ln->n; j++) {
            const struct tcell *c = &ln->cells[j];
            buf_append(&d->out, c->s, c->len);
            if (j < d->nwidths)
                for (size_t k = c->width; k < d->widths[j]; k++)
                    buf_append_str(&d->out, " ");
        }
        if (i + 1 < d->nlines || d->last_newline)
            buf_append_str(&d->out, "\n");
    }
}

static void format_block(struct dw *d, size_t line0, size_t line1)
{
    size_t column = d->nwidths;

    for (size_t this = line0; this < line1; this ++) {
        if (column + 1 >= d->lines[this].n)
            continue;
        write_lines(d, line0, this);
        line0 = this;
        size_t width = 0; /* minwidth */
        for (; this < line1; this ++) {
            const struct tline *ln = &d->lines[this];
            if (column + 1 >= ln->n)
                break;
            if (ln->cells[column].width + 2 > width)
                width = ln->cells[column].width + 2;
        }
        if (d->nwidths < sizeof d->widths / sizeof d->widths[0]) {
            d->widths[d->nwidths++] = width;
            format_block(d, line0, this);
            d->nwidths--;
        } else {
            write_lines(d, line0, this);
        }
        line0 = this;
        if (this >= line1)
            break;
    }
    write_lines(d, line0, line1);
}

static void dw_flush(struct dw *d)
{
    char *text = d->pending.data;
    size_t len = d->pending.len, start = 0;

    if (len == 0)
        return;
    d->lines = NULL;
    d->nlines = 0;
    d->last_newline = text[len - 1] == '\n';
    while (start < len) {
        size_t end = start;
        struct tline ln = {0};
        struct tline *nl;
        while (end < len && text[end] != '\n')
            end++;
        /* cells: split at tabs */
        size_t cs = start;
        for (size_t i = start;; i++) {
            if (i == end || text[i] == '\t') {
                struct tcell *nc = realloc(ln.cells, sizeof *nc * (ln.n + 1));
                if (nc == NULL)
                    break;
                nc[ln.n].s = text + cs;
                nc[ln.n].len = i - cs;
                nc[ln.n].width = kctl_runes(text + cs, i - cs);
                ln.cells = nc;
                ln.n++;
                cs = i + 1;
                if (i == end)
                    break;
            }
        }
        nl = realloc(d->lines, sizeof *nl * (d->nlines + 1));
        if (nl == NULL) {
            free(ln.cells);
            break;
        }
        nl[d->nlines++] = ln;
        d->lines = nl;
        start = end + 1;
    }
    d->nwidths = 0;
    format_block(d, 0, d->nlines);
    for (size_t i = 0; i < d->nlines; i++)
        free(d->lines[i].cells);
    free(d->lines);
    d->lines = NULL;
    d->nlines = 0;
    buf_reset(&d->pending);
}

/* kubectl's PrefixWriter.Write: two spaces per level, then the text. */
static void w(struct dw *d, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void w(struct dw *d, int level, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;

    for (int i = 0; i < level; i++)
        buf_append_str(&d->pending, "  ");
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) >= 0)
        buf_append_str(&d->pending, s);
    va_end(ap);
    free(s);
}

/* --------------------------------------------------------------- helpers */

static const char *str(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : "";
}

static const json_t *get(const json_t *o, const char *path)
{
    char key[128];
    const char *p = path;

    while (o != NULL && *p != '\0') {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        snprintf(key, sizeof key, "%.*s", (int)l, p);
        o = json_object_get(o, key);
        p += l + (dot != NULL);
    }
    return o;
}

static const char *gs(const json_t *o, const char *path)
{
    return str(get(o, path));
}

static long long gi(const json_t *o, const char *path)
{
    const json_t *v = get(o, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : 0;
}

static const char *or_none(const char *s)
{
    return s != NULL && s[0] != '\0' ? s : "<none>";
}

/* Go's RFC1123Z in local time ("Mon, 07 Dec 2026 12:18:50 +0000"). */
static void fmt_time(const char *ts, char *out, size_t len)
{
    int64_t ns;
    time_t t;
    struct tm tm;

    if (ts == NULL || ts[0] == '\0' || clock_parse_rfc3339(ts, &ns) != 0) {
        /* the zero time.Time */
        snprintf(out, len, "Mon, 01 Jan 0001 00:00:00 +0000");
        return;
    }
    t = (time_t)(ns / 1000000000ll);
    localtime_r(&t, &tm);
    strftime(out, len, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* translateTimestampSince: "<unknown>" for a missing time. */
static void since(const char *ts, char *out, size_t len)
{
    int64_t ns;
    if (ts == NULL || ts[0] == '\0' || clock_parse_rfc3339(ts, &ns) != 0) {
        snprintf(out, len, "<unknown>");
        return;
    }
    kctl_human_duration(clock_real_ns() - ns, out, len);
}

/* printLabelsMultilineWithIndent: the title at `level`, the values in
 * the next column (continuation lines carry no indent, as kubectl's). */
static void labels_multiline_at(struct dw *d, int level, const char *title,
                                const json_t *labels)
{
    size_t n;
    const char **k;

    w(d, level, "%s:\t", title);
    k = kctl_sorted_keys(labels, &n);
    if (n == 0) {
        w(d, 0, "<none>\n");
        free(k);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (i != 0)
            w(d, 0, "\t");
        w(d, 0, "%s=%s\n", k[i], str(json_object_get(labels, k[i])));
    }
    free(k);
}

/* printLabelsMultiline */
static void labels_multiline(struct dw *d, const char *title,
                             const json_t *labels)
{
    labels_multiline_at(d, 0, title, labels);
}

#define MAX_ANNOTATION_LEN 140

/* printAnnotationsMultiline */
static void annotations_multiline(struct dw *d, const char *title,
                                  const json_t *ann)
{
    size_t n, shown = 0;
    const char **k;

    w(d, 0, "%s:\t", title);
    k = kctl_sorted_keys(ann, &n);
    for (size_t i = 0; i < n; i++) {
        const char *key = k[i];
        char *value;
        size_t vl;
        if (strcmp(key, "kubectl.kubernetes.io/last-applied-configuration") ==
            0)
            continue;
        if (shown++ != 0)
            w(d, 0, "\t");
        value = strdup(str(json_object_get(ann, key)));
        if (value == NULL)
            break;
        vl = strlen(value);
        if (vl > 0 && value[vl - 1] == '\n')
            value[--vl] = '\0';
        if (vl + strlen(key) + 2 > MAX_ANNOTATION_LEN ||
            strchr(value, '\n') != NULL) {
            w(d, 0, "%s:\n", key);
            for (char *s = value;;) {
                char *nl = strchr(s, '\n');
                size_t l = nl ? (size_t)(nl - s) : strlen(s);
                if (l > MAX_ANNOTATION_LEN - 2)
                    w(d, 0, "\t  %.*s...\n", MAX_ANNOTATION_LEN - 2, s);
                else
                    w(d, 0, "\t  %.*s\n", (int)l, s);
                if (nl == NULL)
                    break;
                s = nl + 1;
            }
        } else {
            w(d, 0, "%s: %s\n", key, value);
        }
        free(value);
    }
    if (shown == 0)
        w(d, 0, "<none>\n");
    free(k);
}

/* printTolerationsMultilineWithIndent */
static void tolerations_multiline(struct dw *d, const char *title,
                                  const json_t *tols)
{
    size_t n = json_array_size(tols);
    const json_t **v;

    w(d, 0, "%s:\t", title);
    if (n == 0) {
        w(d, 0, "<none>\n");
        return;
    }
    v = malloc(sizeof *v * n);
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(tols, i);
    for (size_t a = 1; a < n; a++) /* by key; insertion sort is stable */
        for (size_t b = a;
             b > 0 && strcmp(gs(v[b - 1], "key"), gs(v[b], "key")) > 0; b--) {
            const json_t *t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        const json_t *t = v[i];
        const char *key = gs(t, "key"), *val = gs(t, "value"),
                   *eff = gs(t, "effect"), *op = gs(t, "operator");
        if (i != 0)
            w(d, 0, "\t");
        w(d, 0, "%s", key);
        if (val[0] != '\0')
            w(d, 0, "=%s", val);
        if (eff[0] != '\0')
            w(d, 0, ":%s", eff);
        if (strcmp(op, "Exists") == 0 && val[0] == '\0') {
            if (key[0] != '\0' || eff[0] != '\0')
                w(d, 0, " op=Exists");
            else
                w(d, 0, "op=Exists");
        }
        if (json_is_integer(json_object_get(t, "tolerationSeconds")))
            w(d, 0, " for %llds", gi(t, "tolerationSeconds"));
        w(d, 0, "\n");
    }
    free(v);
}

/* printTaintsMultilineWithIndent */
static void taints_multiline(struct dw *d, const char *title,
                             const json_t *taints)
{
    size_t n = json_array_size(taints);
    char **v;

    w(d, 0, "%s:\t", title);
    if (n == 0) {
        w(d, 0, "<none>\n");
        return;
    }
    v = calloc(n, sizeof *v);
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        const json_t *t = json_array_get(taints, i);
        /* sort key "effect,key", then the text */
        if (asprintf(&v[i], "%s,%s\x01%s%s%s:%s", gs(t, "effect"), gs(t, "key"),
                     gs(t, "key"), gs(t, "value")[0] ? "=" : "", gs(t, "value"),
                     gs(t, "effect")) < 0)
            v[i] = NULL;
    }
    for (size_t a = 1; a < n; a++)
        for (size_t b = a;
             b > 0 && v[b] && v[b - 1] && strcmp(v[b - 1], v[b]) > 0; b--) {
            char *t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        if (i != 0)
            w(d, 0, "\t");
        w(d, 0, "%s\n", v[i] ? strchr(v[i], '\x01') + 1 : "");
        free(v[i]);
    }
    free(v);
}

/* metav1.FormatLabelSelector: "<none>" when empty. */
static void format_label_selector(const json_t *sel, struct buf *out)
{
    size_t before = out->len;
    kctl_selector_string(sel, out);
    if (out->len == before)
        buf_append_str(out, "<none>");
}

/* "Kind/name" of the controller owner reference, or NULL. */
static const json_t *controller_of(const json_t *obj)
{
    size_t i;
    json_t *r;
    json_array_foreach (get(obj, "metadata.ownerReferences"), i, r) {
        if (json_is_true(json_object_get(r, "controller")))
            return r;
    }
    return NULL;
}

/* ----------------------------------------------------------- quantities */

/* A resource.Quantity kept as milli-units, with its format. */
enum qfmt { Q_DECIMAL_SI, Q_BINARY_SI, Q_DECIMAL_EXP };

struct qty {
    long long milli;
    enum qfmt fmt;
    bool set;
};

static struct qty qty_parse(const char *s)
{
    struct qty q = {0, Q_DECIMAL_SI, false};
    char *end;
    long double v, mult = 1;

    if (s == NULL || *s == '\0')
        return q;
    v = strtold(s, &end);
    if (end == s)
        return q;
    if (*end == '\0') {
        mult = 1;
    } else if (end[1] == 'i' && end[2] == '\0') {
        const char *b = "KMGTPE";
        const char *p = strchr(b, end[0]);
        q.fmt = Q_BINARY_SI;
        if (p == NULL)
            return q;
        for (long i = 0; i <= p - b; i++)
            mult *= 1024;
    } else if (end[0] == 'e' || end[0] == 'E') {
        if (end[1] != '\0') {
            q.fmt = Q_DECIMAL_EXP;
            long e = strtol(end + 1, NULL, 10);
            for (long i = 0; i < (e < 0 ? -e : e); i++)
                mult = e < 0 ? mult / 10 : mult * 10;
        } else {
            mult = 1e18L; /* "E" exa */
        }
    } else if (end[1] == '\0') {
        switch (end[0]) {
        case 'n':
            mult = 1e-9L;
            break;
        case 'u':
            mult = 1e-6L;
            break;
        case 'm':
            mult = 1e-3L;
            break;
        case 'k':
            mult = 1e3L;
            break;
        case 'M':
            mult = 1e6L;
            break;
        case 'G':
            mult = 1e9L;
            break;
        case 'T':
            mult = 1e12L;
            break;
        case 'P':
            mult = 1e15L;
            break;
        default:
            return q;
        }
    } else {
        return q;
    }
    {
        long double m = v * mult * 1000;
        long long r = (long long)m;
        if ((long double)r < m) /* MilliValue rounds up */
            r++;
        q.milli = r;
    }
    q.set = true;
    return q;
}

static void qty_add(struct qty *a, struct qty b)
{
    if (!b.set)
        return;
    if (!a->set || a->milli == 0)
        a->fmt = b.fmt;
    a->milli += b.milli;
    a->set = true;
}

/* Quantity.String() (CanonicalizeBytes) */
static void qty_string(struct qty q, char *out, size_t len)
{
    long long v = q.milli;
    int exp = -3;
    enum qfmt f = q.fmt;

    if (v == 0) {
        snprintf(out, len, "0");
        return;
    }
    if (f == Q_BINARY_SI) {
        if (v > -1024000 && v < 1024000)
            f = Q_DECIMAL_SI;
        else if (v % 1000 != 0)
            f = Q_DECIMAL_SI;
    }
    if (f == Q_BINARY_SI) {
        long long u = v / 1000;
        int e = 0;
        static const char *suf[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
        while (u % 1024 == 0 && e < 6) {
            u /= 1024;
            e++;
        }
        snprintf(out, len, "%lld%s", u, suf[e]);
        return;
    }
    while (v % 10 == 0) {
        v /= 10;
        exp++;
    }
    if (((exp % 3) + 3) % 3 == 1) {
        v *= 10;
        exp--;
    } else if (((exp % 3) + 3) % 3 == 2) {
        v *= 100;
        exp -= 2;
    }
    if (f == Q_DECIMAL_EXP) {
        if (exp == 0)
            snprintf(out, len, "%lld", v);
        else
            snprintf(out, len, "%llde%d", v, exp);
        return;
    }
    {
        const char *s = "";
        switch (exp) {
        case -9:
            s = "n";
            break;
        case -6:
            s = "u";
            break;
        case -3:
            s = "m";
            break;
        case 0:
            s = "";
            break;
        case 3:
            s = "k";
            break;
        case 6:
            s = "M";
            break;
        case 9:
            s = "G";
            break;
        case 12:
            s = "T";
            break;
        case 15:
            s = "P";
            break;
        case 18:
            s = "E";
            break;
        default:
            snprintf(out, len, "%llde%d", v, exp);
            return;
        }
        snprintf(out, len, "%lld%s", v, s);
    }
}

static void qty_field_string(const json_t *v, char *out, size_t len)
{
    if (json_is_string(v))
        qty_string(qty_parse(json_string_value(v)), out, len);
    else if (json_is_integer(v))
        snprintf(out, len, "%lld", (long long)json_integer_value(v));
    else
        snprintf(out, len, "0");
}

/* ---------------------------------------------------------------- events */

static int fetch_json(struct kctl_client *cl, const char *path, json_t **ret)
{
    return kctl_json(cl, "GET", path, NULL, NULL, true, ret);
}

/* Events whose involvedObject matches; appended to `into` (an array). */
static void search_events(struct kctl_client *cl, const char *name,
                          const char *ns, const char *kind, const char *uid,
                          json_t *into)
{
    struct buf p, sel;
    json_t *list = NULL;

    buf_init(&p);
    buf_init(&sel);
    buf_printf(&sel, "involvedObject.name=%s,involvedObject.namespace=%s", name,
               ns ? ns : "");
    if (kind != NULL)
        buf_printf(&sel, ",involvedObject.kind=%s", kind);
    if (uid != NULL && uid[0] != '\0')
        buf_printf(&sel, ",involvedObject.uid=%s", uid);
    if (ns != NULL && ns[0] != '\0') {
        buf_append_str(&p, "/api/v1/namespaces/");
        kctl_query_escape(&p, ns);
        buf_append_str(&p, "/events?fieldSelector=");
    } else {
        buf_append_str(&p, "/api/v1/events?fieldSelector=");
    }
    kctl_query_escape(&p, sel.data);
    buf_append_str(&p, "&limit=500");
    if (fetch_json(cl, p.data, &list) == 0)
        json_array_extend(into, json_object_get(list, "items"));
    json_decref(list);
    buf_close(&p);
    buf_close(&sel);
}

static int64_t ts_ns(const char *ts)
{
    int64_t ns;
    if (ts == NULL || ts[0] == '\0' || clock_parse_rfc3339(ts, &ns) != 0)
        return INT64_MIN;
    return ns;
}

/* DescribeEvents */
static void describe_events(struct dw *d, const json_t *events)
{
    size_t n = json_array_size(events);
    const json_t **v;

    if (n == 0) {
        w(d, 0, "Events:\t<none>\n");
        return;
    }
    dw_flush(d);
    v = malloc(sizeof *v * n);
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(events, i);
    for (size_t a = 1; a < n; a++) /* by lastTimestamp, stable */
        for (size_t b = a; b > 0 && ts_ns(gs(v[b - 1], "lastTimestamp")) >
                                        ts_ns(gs(v[b], "lastTimestamp"));
             b--) {
            const json_t *t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    w(d, 0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n");
    w(d, 1, "----\t------\t----\t----\t-------\n");
    for (size_t i = 0; i < n; i++) {
        const json_t *e = v[i];
        char first[32], last[32], interval[96];
        const char *src = gs(e, "source.component");
        const char *msg = gs(e, "message");
        size_t ml;

        if (gs(e, "eventTime")[0] != '\0')
            since(gs(e, "eventTime"), first, sizeof first);
        else
            since(gs(e, "firstTimestamp"), first, sizeof first);
        if (json_is_object(json_object_get(e, "series"))) {
            since(gs(e, "series.lastObservedTime"), last, sizeof last);
            snprintf(interval, sizeof interval, "%s (x%lld over %s)", last,
                     gi(e, "series.count"), first);
        } else if (gi(e, "count") > 1) {
            since(gs(e, "lastTimestamp"), last, sizeof last);
            snprintf(interval, sizeof interval, "%s (x%lld over %s)", last,
                     gi(e, "count"), first);
        } else {
            snprintf(interval, sizeof interval, "%s", first);
        }
        if (src[0] == '\0')
            src = gs(e, "reportingController");
        while (*msg != '\0' && isspace((unsigned char)*msg))
            msg++;
        ml = strlen(msg);
        while (ml > 0 && isspace((unsigned char)msg[ml - 1]))
            ml--;
        w(d, 1, "%s\t%s\t%s\t%s\t%.*s\n", gs(e, "type"), gs(e, "reason"),
          interval, src, (int)ml, msg);
    }
    free(v);
}

/* The Events section of a namespaced object (kind NULL: any kind). */
static void describe_events_of(struct kctl_client *cl, struct dw *d,
                               const json_t *obj, const char *kind)
{
    json_t *ev = json_array();
    search_events(cl, gs(obj, "metadata.name"), gs(obj, "metadata.namespace"),
                  kind, gs(obj, "metadata.uid"), ev);
    describe_events(d, ev);
    json_decref(ev);
}

/* ------------------------------------------------------------ pod parts */

static void describe_ports(const json_t *ports, bool host, struct buf *out)
{
    size_t i;
    json_t *p;
    json_array_foreach (ports, i, p) {
        buf_printf(out, "%s%lld/%s", i ? ", " : "",
                   gi(p, host ? "hostPort" : "containerPort"),
                   gs(p, "protocol"));
    }
}

static void describe_probe(const json_t *p, struct buf *out)
{
    char attrs[160];
    snprintf(attrs, sizeof attrs,
             "delay=%llds timeout=%llds period=%llds #success=%lld "
             "#failure=%lld",
             gi(p, "initialDelaySeconds"), gi(p, "timeoutSeconds"),
             gi(p, "periodSeconds"), gi(p, "successThreshold"),
             gi(p, "failureThreshold"));
    if (json_is_object(json_object_get(p, "exec"))) {
        size_t i;
        json_t *c;
        buf_append_str(out, "exec [");
        json_array_foreach (get(p, "exec.command"), i, c) {
            buf_printf(out, "%s%s", i ? " " : "", str(c));
        }
        buf_printf(out, "] %s", attrs);
    } else if (json_is_object(json_object_get(p, "httpGet"))) {
        const json_t *h = json_object_get(p, "httpGet");
        const json_t *port = json_object_get(h, "port");
        char scheme[32];
        size_t i;
        snprintf(scheme, sizeof scheme, "%s", gs(h, "scheme"));
        for (i = 0; scheme[i]; i++)
            scheme[i] = (char)tolower((unsigned char)scheme[i]);
        buf_printf(out, "http-get %s%s%s", scheme, scheme[0] ? "://" : "",
                   gs(h, "host"));
        if (json_is_integer(port))
            buf_printf(out, ":%lld", (long long)json_integer_value(port));
        else if (str(port)[0] != '\0')
            buf_printf(out, ":%s", str(port));
        buf_printf(out, "%s %s", gs(h, "path"), attrs);
    } else if (json_is_object(json_object_get(p, "tcpSocket"))) {
        const json_t *port = get(p, "tcpSocket.port");
        if (json_is_integer(port))
            buf_printf(out, "tcp-socket %s:%lld %s", gs(p, "tcpSocket.host"),
                       (long long)json_integer_value(port), attrs);
        else
            buf_printf(out, "tcp-socket %s:%s %s", gs(p, "tcpSocket.host"),
                       str(port), attrs);
    } else if (json_is_object(json_object_get(p, "grpc"))) {
        buf_printf(out, "grpc <pod>:%lld %s %s", gi(p, "grpc.port"),
                   gs(p, "grpc.service"), attrs);
    } else {
        buf_printf(out, "unknown %s", attrs);
    }
}

static void describe_state(struct dw *d, const char *name, const json_t *st)
{
    char t1[64], t2[64];
    if (json_is_object(json_object_get(st, "running"))) {
        w(d, 2, "%s:\tRunning\n", name);
        fmt_time(gs(st, "running.startedAt"), t1, sizeof t1);
        w(d, 3, "Started:\t%s\n", t1);
    } else if (json_is_object(json_object_get(st, "waiting"))) {
        w(d, 2, "%s:\tWaiting\n", name);
        if (gs(st, "waiting.reason")[0] != '\0')
            w(d, 3, "Reason:\t%s\n", gs(st, "waiting.reason"));
    } else if (json_is_object(json_object_get(st, "terminated"))) {
        w(d, 2, "%s:\tTerminated\n", name);
        if (gs(st, "terminated.reason")[0] != '\0')
            w(d, 3, "Reason:\t%s\n", gs(st, "terminated.reason"));
        if (gs(st, "terminated.message")[0] != '\0')
            w(d, 3, "Message:\t%s\n", gs(st, "terminated.message"));
        w(d, 3, "Exit Code:\t%lld\n", gi(st, "terminated.exitCode"));
        if (gi(st, "terminated.signal") > 0)
            w(d, 3, "Signal:\t%lld\n", gi(st, "terminated.signal"));
        fmt_time(gs(st, "terminated.startedAt"), t1, sizeof t1);
        fmt_time(gs(st, "terminated.finishedAt"), t2, sizeof t2);
        w(d, 3, "Started:\t%s\n", t1);
        w(d, 3, "Finished:\t%s\n", t2);
    } else {
        w(d, 2, "%s:\tWaiting\n", name);
    }
}

static void describe_resources(struct dw *d, const json_t *res, int level)
{
    static const char *const kinds[] = {"limits", "Limits", "requests",
                                        "Requests"};
    for (int k = 0; k < 4; k += 2) {
        const json_t *l = json_object_get(res, kinds[k]);
        size_t n;
        const char **keys = kctl_sorted_keys(l, &n);
        if (n > 0)
            w(d, level, "%s:\n", kinds[k + 1]);
        for (size_t i = 0; i < n; i++) {
            char q[64];
            qty_field_string(json_object_get(l, keys[i]), q, sizeof q);
            w(d, level + 1, "%s:\t%s\n", keys[i], q);
        }
        free(keys);
    }
}

/* The value kubectl describe shows for an env var's fieldRef
 * (EnvValueRetriever): the path first goes through its client scheme's
 * field-label conversion, which for every kind it knows is the default
 * one — metadata.name and metadata.namespace only — so every other path
 * (uid, labels, spec.nodeName, status.podIP, ...) prints empty, as checked
 * against kubectl 1.32. */
static void field_path_value(const json_t *pod, const char *fp, struct buf *out)
{
    if (pod != NULL && (strcmp(fp, "metadata.name") == 0 ||
                        strcmp(fp, "metadata.namespace") == 0))
        buf_append_str(out, gs(pod, fp));
}

static void describe_env(struct dw *d, const json_t *c, const json_t *pod)
{
    size_t i;
    json_t *e;

    if (json_array_size(json_object_get(c, "envFrom")) > 0) {
        w(d, 2, "Environment Variables from:\n");
        json_array_foreach (json_object_get(c, "envFrom"), i, e) {
            const char *from = "", *name = "", *prefix = gs(e, "prefix");
            bool optional = false;
            if (json_is_object(json_object_get(e, "configMapRef"))) {
                from = "ConfigMap";
                name = gs(e, "configMapRef.name");
                optional = json_is_true(get(e, "configMapRef.optional"));
            } else if (json_is_object(json_object_get(e, "secretRef"))) {
                from = "Secret";
                name = gs(e, "secretRef.name");
                optional = json_is_true(get(e, "secretRef.optional"));
            }
            if (prefix[0] == '\0')
                w(d, 3, "%s\t%s\tOptional: %s\n", name, from,
                  optional ? "true" : "false");
            else
                w(d, 3, "%s\t%s with prefix '%s'\tOptional: %s\n", name, from,
                  prefix, optional ? "true" : "false");
        }
    }
    if (json_array_size(json_object_get(c, "env")) == 0) {
        w(d, 2, "Environment:\t<none>\n");
        return;
    }
    w(d, 2, "Environment:\n");
    json_array_foreach (json_object_get(c, "env"), i, e) {
        const json_t *vf = json_object_get(e, "valueFrom");
        const char *name = gs(e, "name");
        if (vf == NULL) {
            const char *v = gs(e, "value");
            bool first = true;
            for (const char *s = v;;) {
                const char *nl = strchr(s, '\n');
                int l = (int)(nl ? (size_t)(nl - s) : strlen(s));
                if (first)
                    w(d, 3, "%s:\t%.*s\n", name, l, s);
                else
                    w(d, 3, "\t%.*s\n", l, s);
                first = false;
                if (nl == NULL)
                    break;
                s = nl + 1;
            }
            continue;
        }
        if (json_is_object(json_object_get(vf, "fieldRef"))) {
            struct buf v;
            buf_init(&v);
            buf_append_str(&v, "");
            field_path_value(pod, gs(vf, "fieldRef.fieldPath"), &v);
            w(d, 3, "%s:\t%s (%s:%s)\n", name, v.data,
              gs(vf, "fieldRef.apiVersion"), gs(vf, "fieldRef.fieldPath"));
            buf_close(&v);
        } else if (json_is_object(json_object_get(vf, "resourceFieldRef"))) {
            const char *res = gs(vf, "resourceFieldRef.resource");
            char q[64] = "";
            const char *dot = strchr(res, '.');
            if (dot != NULL) {
                char kind[32];
                snprintf(kind, sizeof kind, "%.*s", (int)(dot - res), res);
                const json_t *qv = json_object_get(
                    json_object_get(json_object_get(c, "resources"), kind),
                    dot + 1);
                if (qv != NULL)
                    qty_field_string(qv, q, sizeof q);
                else
                    snprintf(q, sizeof q, "0");
            }
            if (strcmp(q, "0") == 0 && (strcmp(res, "limits.cpu") == 0 ||
                                        strcmp(res, "limits.memory") == 0))
                snprintf(q, sizeof q, "node allocatable");
            w(d, 3, "%s:\t%s (%s)\n", name, q, res);
        } else if (json_is_object(json_object_get(vf, "secretKeyRef"))) {
            w(d, 3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %s\n",
              name, gs(vf, "secretKeyRef.key"), gs(vf, "secretKeyRef.name"),
              json_is_true(get(vf, "secretKeyRef.optional")) ? "true"
                                                             : "false");
        } else if (json_is_object(json_object_get(vf, "configMapKeyRef"))) {
            w(d, 3,
              "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %s\n",
              name, gs(vf, "configMapKeyRef.key"),
              gs(vf, "configMapKeyRef.name"),
              json_is_true(get(vf, "configMapKeyRef.optional")) ? "true"
                                                                : "false");
        }
    }
}

static void describe_mounts(struct dw *d, const json_t *c)
{
    const json_t *mounts = json_object_get(c, "volumeMounts");
    size_t n = json_array_size(mounts);
    const json_t **v;

    if (n == 0) {
        w(d, 2, "Mounts:\t<none>\n");
        return;
    }
    w(d, 2, "Mounts:\n");
    v = malloc(sizeof *v * n);
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(mounts, i);
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && strcmp(gs(v[b - 1], "mountPath"),
                                           gs(v[b], "mountPath")) > 0;
             b--) {
            const json_t *t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        const char *sub = gs(v[i], "subPath");
        if (sub[0] != '\0')
            w(d, 3, "%s from %s (%s,path=\"%s\")\n", gs(v[i], "mountPath"),
              gs(v[i], "name"),
              json_is_true(json_object_get(v[i], "readOnly")) ? "ro" : "rw",
              sub);
        else
            w(d, 3, "%s from %s (%s)\n", gs(v[i], "mountPath"),
              gs(v[i], "name"),
              json_is_true(json_object_get(v[i], "readOnly")) ? "ro" : "rw");
    }
    free(v);
}

/* describeContainers; `statuses` NULL for templates, `space` "" or "  " */
static void describe_containers(struct dw *d, const char *label,
                                const json_t *containers,
                                const json_t *statuses, const json_t *pod,
                                const char *space)
{
    size_t i, k;
    json_t *c, *s;

    w(d, 0, "%s%s:%s\n", space, label,
      json_array_size(containers) == 0 ? " <none>" : "");
    json_array_foreach (containers, i, c) {
        const json_t *st = NULL;
        struct buf ports;
        json_array_foreach (statuses, k, s) {
            if (strcmp(gs(s, "name"), gs(c, "name")) == 0)
                st = s;
        }
        w(d, 1, "%s%s:\n", space[0] ? " " : "", gs(c, "name"));
        if (st != NULL)
            w(d, 2, "Container ID:\t%s\n", gs(st, "containerID"));
        w(d, 2, "Image:\t%s\n", gs(c, "image"));
        if (st != NULL)
            w(d, 2, "Image ID:\t%s\n", gs(st, "imageID"));
        buf_init(&ports);
        buf_append_str(&ports, "");
        describe_ports(json_object_get(c, "ports"), false, &ports);
        if (strchr(ports.data, ',') != NULL)
            w(d, 2, "Ports:\t%s\n", ports.data);
        else
            w(d, 2, "Port:\t%s\n", or_none(ports.data));
        buf_reset(&ports);
        buf_append_str(&ports, "");
        describe_ports(json_object_get(c, "ports"), true, &ports);
        if (strchr(ports.data, ',') != NULL)
            w(d, 2, "Host Ports:\t%s\n", ports.data);
        else
            w(d, 2, "Host Port:\t%s\n", or_none(ports.data));
        buf_close(&ports);
        if (gs(c, "restartPolicy")[0] != '\0')
            w(d, 2, "Restart Policy:\t%s\n", gs(c, "restartPolicy"));
        if (json_array_size(json_object_get(c, "command")) > 0) {
            w(d, 2, "Command:\n");
            json_array_foreach (json_object_get(c, "command"), k, s) {
                for (const char *p = str(s);;) {
                    const char *nl = strchr(p, '\n');
                    w(d, 3, "%.*s\n", (int)(nl ? (size_t)(nl - p) : strlen(p)),
                      p);
                    if (nl == NULL)
                        break;
                    p = nl + 1;
                }
            }
        }
        if (json_array_size(json_object_get(c, "args")) > 0) {
            w(d, 2, "Args:\n");
            json_array_foreach (json_object_get(c, "args"), k, s) {
                for (const char *p = str(s);;) {
                    const char *nl = strchr(p, '\n');
                    w(d, 3, "%.*s\n", (int)(nl ? (size_t)(nl - p) : strlen(p)),
                      p);
                    if (nl == NULL)
                        break;
                    p = nl + 1;
                }
            }
        }
        if (st != NULL) {
            describe_state(d, "State", json_object_get(st, "state"));
            if (json_is_object(get(st, "lastState.terminated")))
                describe_state(d, "Last State",
                               json_object_get(st, "lastState"));
            w(d, 2, "Ready:\t%s\n",
              json_is_true(json_object_get(st, "ready")) ? "True" : "False");
            w(d, 2, "Restart Count:\t%lld\n", gi(st, "restartCount"));
        }
        describe_resources(d, json_object_get(c, "resources"), 2);
        {
            static const char *const probes[][2] = {
                {"livenessProbe", "Liveness"},
                {"readinessProbe", "Readiness"},
                {"startupProbe", "Startup"}};
            for (size_t p = 0; p < 3; p++) {
                const json_t *pr = json_object_get(c, probes[p][0]);
                struct buf b;
                if (!json_is_object(pr))
                    continue;
                buf_init(&b);
                describe_probe(pr, &b);
                w(d, 2, "%s:\t%s\n", probes[p][1], b.data ? b.data : "");
                buf_close(&b);
            }
        }
        describe_env(d, c, pod);
        describe_mounts(d, c);
    }
}

static void describe_volumes(struct dw *d, const json_t *vols,
                             const char *space)
{
    size_t i;
    json_t *v;

    if (json_array_size(vols) == 0) {
        w(d, 0, "%sVolumes:\t<none>\n", space);
        return;
    }
    w(d, 0, "%sVolumes:\n", space);
    json_array_foreach (vols, i, v) {
        w(d, 1, "%s%s:\n", space[0] ? " " : "", gs(v, "name"));
        if (json_is_object(json_object_get(v, "hostPath"))) {
            w(d, 2,
              "Type:\tHostPath (bare host directory volume)\n    Path:\t%s\n"
              "    HostPathType:\t%s\n",
              gs(v, "hostPath.path"), or_none(gs(v, "hostPath.type")));
        } else if (json_is_object(json_object_get(v, "emptyDir"))) {
            char q[64] = "<unset>";
            struct qty sz = qty_parse(gs(v, "emptyDir.sizeLimit"));
            if (sz.set && sz.milli > 0)
                qty_string(sz, q, sizeof q);
            w(d, 2,
              "Type:\tEmptyDir (a temporary directory that shares a pod's "
              "lifetime)\n    Medium:\t%s\n    SizeLimit:\t%s\n",
              gs(v, "emptyDir.medium"), q);
        } else if (json_is_object(json_object_get(v, "secret"))) {
            w(d, 2,
              "Type:\tSecret (a volume populated by a Secret)\n"
              "    SecretName:\t%s\n    Optional:\t%s\n",
              gs(v, "secret.secretName"),
              json_is_true(get(v, "secret.optional")) ? "true" : "false");
        } else if (json_is_object(json_object_get(v, "configMap"))) {
            w(d, 2,
              "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
              "    Name:\t%s\n    Optional:\t%s\n",
              gs(v, "configMap.name"),
              json_is_true(get(v, "configMap.optional")) ? "true" : "false");
        } else if (json_is_object(
                       json_object_get(v, "persistentVolumeClaim"))) {
            w(d, 2,
              "Type:\tPersistentVolumeClaim (a reference to a "
              "PersistentVolumeClaim in the same namespace)\n"
              "    ClaimName:\t%s\n    ReadOnly:\t%s\n",
              gs(v, "persistentVolumeClaim.claimName"),
              json_is_true(get(v, "persistentVolumeClaim.readOnly")) ? "true"
                                                                     : "false");
        } else {
            w(d, 1, "<unknown>\n");
        }
    }
}

static void describe_topology(struct dw *d, const json_t *tscs,
                              const char *space)
{
    size_t n = json_array_size(tscs);
    const json_t **v;

    if (n == 0)
        return;
    v = malloc(sizeof *v * n);
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(tscs, i);
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0 && strcmp(gs(v[b - 1], "topologyKey"),
                                           gs(v[b], "topologyKey")) > 0;
             b--) {
            const json_t *t = v[b];
            v[b] = v[b - 1];
            v[b - 1] = t;
        }
    w(d, 0, "%sTopology Spread Constraints:\t", space);
    for (size_t i = 0; i < n; i++) {
        if (i != 0)
            w(d, 0, "%s\t", space);
        w(d, 0, "%s:%s when max skew %lld is exceeded", gs(v[i], "topologyKey"),
          gs(v[i], "whenUnsatisfiable"), gi(v[i], "maxSkew"));
        if (json_is_object(json_object_get(v[i], "labelSelector"))) {
            struct buf b;
            buf_init(&b);
            format_label_selector(json_object_get(v[i], "labelSelector"), &b);
            w(d, 0, " for selector %s", b.data);
            buf_close(&b);
        }
        w(d, 0, "\n");
    }
    free(v);
}

/* DescribePodTemplate */
static void describe_pod_template(struct dw *d, const json_t *tmpl)
{
    const json_t *spec = json_object_get(tmpl, "spec");

    w(d, 0, "Pod Template:\n");
    if (tmpl == NULL) {
        w(d, 1, "<unset>");
        return;
    }
    labels_multiline(d, "  Labels", get(tmpl, "metadata.labels"));
    if (json_object_size(get(tmpl, "metadata.annotations")) > 0)
        annotations_multiline(d, "  Annotations",
                              get(tmpl, "metadata.annotations"));
    if (gs(spec, "serviceAccountName")[0] != '\0')
        w(d, 1, "Service Account:\t%s\n", gs(spec, "serviceAccountName"));
    if (json_array_size(json_object_get(spec, "initContainers")) > 0)
        describe_containers(d, "Init Containers",
                            json_object_get(spec, "initContainers"), NULL, NULL,
                            "  ");
    describe_containers(d, "Containers", json_object_get(spec, "containers"),
                        NULL, NULL, "  ");
    describe_volumes(d, json_object_get(spec, "volumes"), "  ");
    describe_topology(d, json_object_get(spec, "topologySpreadConstraints"),
                      "  ");
    if (gs(spec, "priorityClassName")[0] != '\0')
        w(d, 1, "Priority Class Name:\t%s\n", gs(spec, "priorityClassName"));
    labels_multiline(d, "  Node-Selectors",
                     json_object_get(spec, "nodeSelector"));
    tolerations_multiline(d, "  Tolerations",
                          json_object_get(spec, "tolerations"));
}

/* qos.GetPodQOS: the status field, else computed. */
static const char *pod_qos(const json_t *pod)
{
    size_t i;
    json_t *c;
    bool any = false, guaranteed = true;

    if (gs(pod, "status.qosClass")[0] != '\0')
        return gs(pod, "status.qosClass");
    json_array_foreach (get(pod, "spec.containers"), i, c) {
        const json_t *req = get(c, "resources.requests");
        const json_t *lim = get(c, "resources.limits");
        static const char *const rs[] = {"cpu", "memory"};
        for (int k = 0; k < 2; k++) {
            const json_t *r = json_object_get(req, rs[k]);
            const json_t *l = json_object_get(lim, rs[k]);
            if (r != NULL || l != NULL)
                any = true;
            if (l == NULL || (r != NULL && qty_parse(str(r)).milli !=
                                               qty_parse(str(l)).milli))
                guaranteed = false;
        }
    }
    if (!any)
        return "BestEffort";
    return guaranteed ? "Guaranteed" : "Burstable";
}

/* --------------------------------------------------------- the describers */

static void describe_pod(struct kctl_client *cl, struct dw *d,
                         const json_t *pod, bool events)
{
    const json_t *spec = json_object_get(pod, "spec");
    const json_t *status = json_object_get(pod, "status");
    const json_t *ctrl;
    size_t i;
    json_t *c;
    char t[64];

    w(d, 0, "Name:\t%s\n", gs(pod, "metadata.name"));
    w(d, 0, "Namespace:\t%s\n", gs(pod, "metadata.namespace"));
    if (json_is_integer(json_object_get(spec, "priority")))
        w(d, 0, "Priority:\t%lld\n", gi(spec, "priority"));
    if (gs(spec, "priorityClassName")[0] != '\0')
        w(d, 0, "Priority Class Name:\t%s\n", gs(spec, "priorityClassName"));
    if (gs(spec, "runtimeClassName")[0] != '\0')
        w(d, 0, "Runtime Class Name:\t%s\n", gs(spec, "runtimeClassName"));
    if (gs(spec, "serviceAccountName")[0] != '\0')
        w(d, 0, "Service Account:\t%s\n", gs(spec, "serviceAccountName"));
    if (gs(spec, "nodeName")[0] == '\0')
        w(d, 0, "Node:\t<none>\n");
    else
        w(d, 0, "Node:\t%s/%s\n", gs(spec, "nodeName"), gs(status, "hostIP"));
    if (gs(status, "startTime")[0] != '\0') {
        fmt_time(gs(status, "startTime"), t, sizeof t);
        w(d, 0, "Start Time:\t%s\n", t);
    }
    labels_multiline(d, "Labels", get(pod, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(pod, "metadata.annotations"));
    if (gs(pod, "metadata.deletionTimestamp")[0] != '\0' &&
        strcmp(gs(status, "phase"), "Failed") != 0 &&
        strcmp(gs(status, "phase"), "Succeeded") != 0) {
        since(gs(pod, "metadata.deletionTimestamp"), t, sizeof t);
        w(d, 0, "Status:\tTerminating (lasts %s)\n", t);
        w(d, 0, "Termination Grace Period:\t%llds\n",
          gi(pod, "metadata.deletionGracePeriodSeconds"));
    } else {
        w(d, 0, "Status:\t%s\n", gs(status, "phase"));
    }
    if (gs(status, "reason")[0] != '\0')
        w(d, 0, "Reason:\t%s\n", gs(status, "reason"));
    if (gs(status, "message")[0] != '\0')
        w(d, 0, "Message:\t%s\n", gs(status, "message"));
    if (json_is_object(get(spec, "securityContext.seccompProfile"))) {
        w(d, 0, "SeccompProfile:\t%s\n",
          gs(spec, "securityContext.seccompProfile.type"));
        if (strcmp(gs(spec, "securityContext.seccompProfile.type"),
                   "Localhost") == 0)
            w(d, 0, "LocalhostProfile:\t%s\n",
              gs(spec, "securityContext.seccompProfile.localhostProfile"));
    }
    w(d, 0, "IP:\t%s\n", gs(status, "podIP"));
    if (json_array_size(json_object_get(status, "podIPs")) == 0) {
        w(d, 0, "IPs:\t<none>\n");
    } else {
        w(d, 0, "IPs:\n");
        json_array_foreach (json_object_get(status, "podIPs"), i, c) {
            w(d, 1, "IP:\t%s\n", gs(c, "ip"));
        }
    }
    if ((ctrl = controller_of(pod)) != NULL)
        w(d, 0, "Controlled By:\t%s/%s\n", gs(ctrl, "kind"), gs(ctrl, "name"));
    if (gs(status, "nominatedNodeName")[0] != '\0')
        w(d, 0, "NominatedNodeName:\t%s\n", gs(status, "nominatedNodeName"));
    if (json_array_size(json_object_get(spec, "initContainers")) > 0)
        describe_containers(
            d, "Init Containers", json_object_get(spec, "initContainers"),
            json_object_get(status, "initContainerStatuses"), pod, "");
    describe_containers(d, "Containers", json_object_get(spec, "containers"),
                        json_object_get(status, "containerStatuses"), pod, "");
    if (json_array_size(json_object_get(spec, "readinessGates")) > 0) {
        w(d, 0, "Readiness Gates:\n  Type\tStatus\n");
        json_array_foreach (json_object_get(spec, "readinessGates"), i, c) {
            const char *st = "<none>";
            size_t k;
            json_t *cond;
            json_array_foreach (json_object_get(status, "conditions"), k,
                                cond) {
                if (strcmp(gs(cond, "type"), gs(c, "conditionType")) == 0)
                    st = gs(cond, "status");
            }
            w(d, 1, "%s \t%s \n", gs(c, "conditionType"), st);
        }
    }
    if (json_array_size(json_object_get(status, "conditions")) > 0) {
        w(d, 0, "Conditions:\n  Type\tStatus\n");
        json_array_foreach (json_object_get(status, "conditions"), i, c) {
            w(d, 1, "%s \t%s \n", gs(c, "type"), gs(c, "status"));
        }
    }
    describe_volumes(d, json_object_get(spec, "volumes"), "");
    w(d, 0, "QoS Class:\t%s\n", pod_qos(pod));
    labels_multiline(d, "Node-Selectors",
                     json_object_get(spec, "nodeSelector"));
    tolerations_multiline(d, "Tolerations",
                          json_object_get(spec, "tolerations"));
    describe_topology(d, json_object_get(spec, "topologySpreadConstraints"),
                      "");
    if (events) {
        describe_events_of(cl, d, pod, NULL);
    }
}

/* The ReplicaSets a Deployment controls, oldest first (by creation time,
 * then name). New reference. */
static json_t *owned_replicasets(struct kctl_client *cl, const json_t *dep)
{
    struct buf p, sel;
    json_t *list = NULL, *out = json_array(), *rs;
    size_t i;

    buf_init(&p);
    buf_init(&sel);
    buf_append_str(&sel, "");
    kctl_selector_string(get(dep, "spec.selector"), &sel);
    buf_append_str(&p, "/apis/apps/v1/namespaces/");
    kctl_query_escape(&p, gs(dep, "metadata.namespace"));
    buf_append_str(&p, "/replicasets?labelSelector=");
    kctl_query_escape(&p, sel.data);
    if (fetch_json(cl, p.data, &list) == 0) {
        json_array_foreach (json_object_get(list, "items"), i, rs) {
            const json_t *ctrl = controller_of(rs);
            if (ctrl != NULL &&
                strcmp(gs(ctrl, "uid"), gs(dep, "metadata.uid")) == 0)
                json_array_append(out, rs);
        }
    }
    json_decref(list);
    buf_close(&p);
    buf_close(&sel);
    size_t n = json_array_size(out);
    for (size_t a = 1; a < n; a++)
        for (size_t b = a; b > 0; b--) {
            json_t *x = json_array_get(out, b - 1), *y = json_array_get(out, b);
            int64_t tx = ts_ns(gs(x, "metadata.creationTimestamp")),
                    ty = ts_ns(gs(y, "metadata.creationTimestamp"));
            if (tx < ty || (tx == ty && strcmp(gs(x, "metadata.name"),
                                               gs(y, "metadata.name")) <= 0))
                break;
            json_incref(x);
            json_array_set(out, b - 1, y);
            json_array_set_new(out, b, x);
        }
    return out;
}

/* EqualIgnoreHash of two pod templates. */
static bool template_equal_ignore_hash(const json_t *a, const json_t *b)
{
    json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
    bool eq;
    json_object_del((json_t *)get(x, "metadata.labels"), "pod-template-hash");
    json_object_del((json_t *)get(y, "metadata.labels"), "pod-template-hash");
    eq = json_equal(x, y);
    json_decref(x);
    json_decref(y);
    return eq;
}

static void rs_list_string(const json_t *v[], size_t n, struct buf *out)
{
    if (n == 0) {
        buf_append_str(out, "<none>");
        return;
    }
    for (size_t i = 0; i < n; i++)
        buf_printf(out, "%s%s (%lld/%lld replicas created)", i ? ", " : "",
                   gs(v[i], "metadata.name"), gi(v[i], "status.replicas"),
                   json_is_integer(get(v[i], "spec.replicas"))
                       ? gi(v[i], "spec.replicas")
                       : 1);
}

/* "Selector:" with spec.selector as kubectl prints a LabelSelector. */
static void selector_line(struct dw *d, const json_t *spec)
{
    struct buf b;
    buf_init(&b);
    buf_append_str(&b, "");
    kctl_selector_string(json_object_get(spec, "selector"), &b);
    w(d, 0, "Selector:\t%s\n", b.data);
    buf_close(&b);
}

static void describe_deployment(struct kctl_client *cl, struct dw *d,
                                const json_t *dep, bool events)
{
    const json_t *spec = json_object_get(dep, "spec");
    const json_t *status = json_object_get(dep, "status");
    json_t *rss;
    const json_t *new_rs = NULL;
    const json_t **old = NULL;
    size_t i, nold = 0;
    json_t *c;
    char t[64];
    struct buf b;

    w(d, 0, "Name:\t%s\n", gs(dep, "metadata.name"));
    w(d, 0, "Namespace:\t%s\n", gs(dep, "metadata.namespace"));
    fmt_time(gs(dep, "metadata.creationTimestamp"), t, sizeof t);
    w(d, 0, "CreationTimestamp:\t%s\n", t);
    labels_multiline(d, "Labels", get(dep, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(dep, "metadata.annotations"));
    selector_line(d, spec);
    w(d, 0,
      "Replicas:\t%lld desired | %lld updated | %lld total | %lld available "
      "| %lld unavailable\n",
      json_is_integer(json_object_get(spec, "replicas")) ? gi(spec, "replicas")
                                                         : 1,
      gi(status, "updatedReplicas"), gi(status, "replicas"),
      gi(status, "availableReplicas"), gi(status, "unavailableReplicas"));
    w(d, 0, "StrategyType:\t%s\n", gs(spec, "strategy.type"));
    w(d, 0, "MinReadySeconds:\t%lld\n", gi(spec, "minReadySeconds"));
    if (json_is_object(get(spec, "strategy.rollingUpdate"))) {
        char mu[32], ms[32];
        const json_t *u = get(spec, "strategy.rollingUpdate.maxUnavailable");
        const json_t *s = get(spec, "strategy.rollingUpdate.maxSurge");
        if (json_is_integer(u))
            snprintf(mu, sizeof mu, "%lld", (long long)json_integer_value(u));
        else
            snprintf(mu, sizeof mu, "%s", u ? str(u) : "<nil>");
        if (json_is_integer(s))
            snprintf(ms, sizeof ms, "%lld", (long long)json_integer_value(s));
        else
            snprintf(ms, sizeof ms, "%s", s ? str(s) : "<nil>");
        w(d, 0, "RollingUpdateStrategy:\t%s max unavailable, %s max surge\n",
          mu, ms);
    }
    describe_pod_template(d, json_object_get(spec, "template"));
    if (json_array_size(json_object_get(status, "conditions")) > 0) {
        w(d, 0, "Conditions:\n  Type\tStatus\tReason\n");
        w(d, 1, "----\t------\t------\n");
        json_array_foreach (json_object_get(status, "conditions"), i, c) {
            w(d, 1, "%s \t%s\t%s\n", gs(c, "type"), gs(c, "status"),
              gs(c, "reason"));
        }
    }
    rss = owned_replicasets(cl, dep);
    old = malloc(sizeof *old * (json_array_size(rss) + 1));
    json_array_foreach (rss, i, c) {
        if (new_rs == NULL &&
            template_equal_ignore_hash(json_object_get(spec, "template"),
                                       get(c, "spec.template")))
            new_rs = c;
    }
    json_array_foreach (rss, i, c) {
        if (c == new_rs || old == NULL)
            continue;
        if (!json_is_integer(get(c, "spec.replicas")) ||
            gi(c, "spec.replicas") != 0)
            old[nold++] = c;
    }
    if (nold > 0 || new_rs != NULL) {
        buf_init(&b);
        rs_list_string(old, nold, &b);
        w(d, 0, "OldReplicaSets:\t%s\n", b.data);
        buf_reset(&b);
        rs_list_string(&new_rs, new_rs ? 1 : 0, &b);
        w(d, 0, "NewReplicaSet:\t%s\n", b.data);
        buf_close(&b);
    }
    free(old);
    json_decref(rss);
    if (events) {
        describe_events_of(cl, d, dep, "Deployment");
    }
}

/* getPodStatusForController: "Pods Status:" of the pods that obj's
 * selector selects and obj controls, by phase. */
static void pods_status_line(struct kctl_client *cl, struct dw *d,
                             const json_t *obj)
{
    long long running = 0, waiting = 0, succeeded = 0, failed = 0;
    json_t *pods = NULL, *p;
    const json_t *c;
    struct buf b, path;
    bool pod_err = false;
    size_t i;

    buf_init(&b);
    buf_append_str(&b, "");
    kctl_selector_string(get(obj, "spec.selector"), &b);
    buf_init(&path);
    buf_append_str(&path, "/api/v1/namespaces/");
    kctl_query_escape(&path, gs(obj, "metadata.namespace"));
    buf_append_str(&path, "/pods?labelSelector=");
    kctl_query_escape(&path, b.data);
    if (fetch_json(cl, path.data, &pods) != 0)
        pod_err = true;
    json_array_foreach (json_object_get(pods, "items"), i, p) {
        const char *phase;
        c = controller_of(p);
        if (c == NULL || strcmp(gs(c, "uid"), gs(obj, "metadata.uid")) != 0)
            continue;
        phase = gs(p, "status.phase");
        if (strcmp(phase, "Running") == 0)
            running++;
        else if (strcmp(phase, "Pending") == 0)
            waiting++;
        else if (strcmp(phase, "Succeeded") == 0)
            succeeded++;
        else if (strcmp(phase, "Failed") == 0)
            failed++;
    }
    json_decref(pods);
    buf_close(&path);
    buf_close(&b);
    w(d, 0, "Pods Status:\t");
    if (pod_err)
        w(d, 0, "error in fetching pods\n");
    else
        w(d, 0, "%lld Running / %lld Waiting / %lld Succeeded / %lld Failed\n",
          running, waiting, succeeded, failed);
}

static void describe_replicaset(struct kctl_client *cl, struct dw *d,
                                const json_t *rs, bool events)
{
    const json_t *spec = json_object_get(rs, "spec");
    const json_t *ctrl;
    json_t *c;
    struct buf b;
    size_t i;

    w(d, 0, "Name:\t%s\n", gs(rs, "metadata.name"));
    w(d, 0, "Namespace:\t%s\n", gs(rs, "metadata.namespace"));
    buf_init(&b);
    format_label_selector(json_object_get(spec, "selector"), &b);
    w(d, 0, "Selector:\t%s\n", b.data);
    labels_multiline(d, "Labels", get(rs, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(rs, "metadata.annotations"));
    if ((ctrl = controller_of(rs)) != NULL)
        w(d, 0, "Controlled By:\t%s/%s\n", gs(ctrl, "kind"), gs(ctrl, "name"));
    w(d, 0, "Replicas:\t%lld current / %lld desired\n",
      gi(rs, "status.replicas"),
      json_is_integer(json_object_get(spec, "replicas")) ? gi(spec, "replicas")
                                                         : 1);
    buf_close(&b);
    pods_status_line(cl, d, rs);
    describe_pod_template(d, json_object_get(spec, "template"));
    if (json_array_size(get(rs, "status.conditions")) > 0) {
        w(d, 0, "Conditions:\n  Type\tStatus\tReason\n");
        w(d, 1, "----\t------\t------\n");
        json_array_foreach (get(rs, "status.conditions"), i, c) {
            w(d, 1, "%s \t%s\t%s\n", gs(c, "type"), gs(c, "status"),
              gs(c, "reason"));
        }
    }
    if (events) {
        describe_events_of(cl, d, rs, "ReplicaSet");
    }
}

/* Requests and limits of a pod: containers summed, init containers as a
 * maximum, overhead added (kubectl's resourcehelper). */
static void pod_requests_limits(const json_t *pod, const char *which,
                                const char *res, struct qty *ret)
{
    size_t i;
    json_t *c;
    struct qty sum = {0, Q_DECIMAL_SI, false}, init = sum;

    json_array_foreach (get(pod, "spec.containers"), i, c) {
        const json_t *v = json_object_get(
            json_object_get(json_object_get(c, "resources"), which), res);
        if (v != NULL)
            qty_add(&sum, qty_parse(str(v)));
    }
    json_array_foreach (get(pod, "spec.initContainers"), i, c) {
        const json_t *v = json_object_get(
            json_object_get(json_object_get(c, "resources"), which), res);
        if (v != NULL) {
            struct qty q = qty_parse(str(v));
            if (!init.set || q.milli > init.milli)
                init = q;
        }
    }
    if (init.set && (!sum.set || init.milli > sum.milli))
        sum = init;
    if (json_object_get(get(pod, "spec.overhead"), res) != NULL)
        qty_add(&sum, qty_parse(str(
                          json_object_get(get(pod, "spec.overhead"), res))));
    *ret = sum;
}

static long long pct(long long part, long long whole)
{
    if (whole == 0)
        return 0;
    return (long long)((double)part / (double)whole * 100);
}

static long long qty_value(struct qty q)
{
    return q.milli >= 0 ? (q.milli + 999) / 1000 : q.milli / 1000;
}

static void describe_node_resource(struct dw *d, const json_t *node,
                                   const json_t *pods)
{
    const json_t *alloc = get(node, "status.allocatable");
    size_t i, n;
    json_t *p;
    struct qty acpu, amem, aeph;
    struct qty tr[3] = {{0}}, tl[3] = {{0}};
    static const char *const rn[3] = {"cpu", "memory", "ephemeral-storage"};
    const char **keys;

    if (json_object_size(alloc) == 0)
        alloc = get(node, "status.capacity");
    acpu = qty_parse(str(json_object_get(alloc, "cpu")));
    amem = qty_parse(str(json_object_get(alloc, "memory")));
    aeph = qty_parse(str(json_object_get(alloc, "ephemeral-storage")));
    w(d, 0, "Non-terminated Pods:\t(%zu in total)\n",
      json_array_size(json_object_get(pods, "items")));
    w(d, 1,
      "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory "
      "Requests\tMemory Limits\tAge\n");
    w(d, 1,
      "---------\t----\t\t------------\t----------\t---------------\t---"
      "----------\t---\n");
    json_array_foreach (json_object_get(pods, "items"), i, p) {
        struct qty cr, cl_, mr, ml;
        char s1[64], s2[64], s3[64], s4[64], age[32];
        pod_requests_limits(p, "requests", "cpu", &cr);
        pod_requests_limits(p, "limits", "cpu", &cl_);
        pod_requests_limits(p, "requests", "memory", &mr);
        pod_requests_limits(p, "limits", "memory", &ml);
        qty_string(cr, s1, sizeof s1);
        qty_string(cl_, s2, sizeof s2);
        qty_string(mr, s3, sizeof s3);
        qty_string(ml, s4, sizeof s4);
        since(gs(p, "metadata.creationTimestamp"), age, sizeof age);
        w(d, 1,
          "%s\t%s\t\t%s (%lld%%)\t%s (%lld%%)\t%s (%lld%%)\t%s (%lld%%)\t%s\n",
          gs(p, "metadata.namespace"), gs(p, "metadata.name"), s1,
          pct(cr.milli, acpu.milli), s2, pct(cl_.milli, acpu.milli), s3,
          pct(qty_value(mr), qty_value(amem)), s4,
          pct(qty_value(ml), qty_value(amem)), age);
        for (int k = 0; k < 3; k++) {
            struct qty q;
            pod_requests_limits(p, "requests", rn[k], &q);
            qty_add(&tr[k], q);
            pod_requests_limits(p, "limits", rn[k], &q);
            qty_add(&tl[k], q);
        }
    }
    w(d, 0,
      "Allocated resources:\n  (Total limits may be over 100 percent, "
      "i.e., overcommitted.)\n");
    w(d, 1, "Resource\tRequests\tLimits\n");
    w(d, 1, "--------\t--------\t------\n");
    for (int k = 0; k < 3; k++) {
        char s1[64], s2[64];
        long long pr, pl;
        qty_string(tr[k], s1, sizeof s1);
        qty_string(tl[k], s2, sizeof s2);
        if (k == 0) {
            pr = pct(tr[k].milli, acpu.milli);
            pl = pct(tl[k].milli, acpu.milli);
        } else {
            struct qty a = k == 1 ? amem : aeph;
            pr = pct(qty_value(tr[k]), qty_value(a));
            pl = pct(qty_value(tl[k]), qty_value(a));
        }
        w(d, 1, "%s\t%s (%lld%%)\t%s (%lld%%)\n", rn[k], s1, pr, s2, pl);
    }
    /* hugepages-* then extended resources (not standard, not pods) */
    keys = kctl_sorted_keys(alloc, &n);
    for (int pass = 0; pass < 2; pass++)
        for (i = 0; i < n; i++) {
            const char *r = keys[i];
            bool huge = strncmp(r, "hugepages-", 10) == 0;
            bool standard = strcmp(r, "cpu") == 0 || strcmp(r, "memory") == 0 ||
                            strcmp(r, "ephemeral-storage") == 0 ||
                            strcmp(r, "pods") == 0 || huge ||
                            strncmp(r, "requests.", 9) == 0 ||
                            strncmp(r, "limits.", 7) == 0;
            struct qty rq = {0}, lq = {0};
            char s1[64], s2[64];
            json_t *pp;
            size_t k;
            if ((pass == 0 && !huge) || (pass == 1 && standard))
                continue;
            json_array_foreach (json_object_get(pods, "items"), k, pp) {
                struct qty q;
                pod_requests_limits(pp, "requests", r, &q);
                qty_add(&rq, q);
                pod_requests_limits(pp, "limits", r, &q);
                qty_add(&lq, q);
            }
            qty_string(rq, s1, sizeof s1);
            qty_string(lq, s2, sizeof s2);
            if (huge) {
                struct qty a = qty_parse(str(json_object_get(alloc, r)));
                w(d, 1, "%s\t%s (%lld%%)\t%s (%lld%%)\n", r, s1,
                  pct(qty_value(rq), qty_value(a)), s2,
                  pct(qty_value(lq), qty_value(a)));
            } else {
                w(d, 1, "%s\t%s\t%s\n", r, s1, s2);
            }
        }
    free(keys);
}

static void resource_list(struct dw *d, const json_t *l)
{
    size_t n;
    const char **keys = kctl_sorted_keys(l, &n);
    for (size_t i = 0; i < n; i++) {
        char q[64];
        qty_field_string(json_object_get(l, keys[i]), q, sizeof q);
        w(d, 0, "  %s:\t%s\n", keys[i], q);
    }
    free(keys);
}

static void describe_node(struct kctl_client *cl, struct dw *d,
                          const json_t *node, bool events)
{
    const json_t *labels = get(node, "metadata.labels");
    const json_t *ni = get(node, "status.nodeInfo");
    const char *name = gs(node, "metadata.name");
    json_t *roles = json_array(), *c, *lease = NULL, *pods = NULL;
    const char *k;
    json_t *v;
    size_t i;
    char t[64];
    struct buf p;

    w(d, 0, "Name:\t%s\n", name);
    json_object_foreach ((json_t *)labels, k, v) {
        const char *role = NULL;
        if (strncmp(k, "node-role.kubernetes.io/", 24) == 0)
            role = k + 24;
        else if (strcmp(k, "kubernetes.io/role") == 0)
            role = str(v);
        if (role != NULL && role[0] != '\0') {
            bool dup = false;
            size_t j;
            json_t *r;
            json_array_foreach (roles, j, r) {
                if (strcmp(str(r), role) == 0)
                    dup = true;
            }
            if (!dup)
                json_array_append_new(roles, json_string(role));
        }
    }
    {
        size_t n = json_array_size(roles);
        const char **rv = malloc(sizeof *rv * (n ? n : 1));
        struct buf b;
        buf_init(&b);
        buf_append_str(&b, "");
        for (i = 0; rv && i < n; i++)
            rv[i] = str(json_array_get(roles, i));
        if (rv != NULL)
            qsort(rv, n, sizeof *rv, kctl_cmp_str);
        for (i = 0; rv && i < n; i++)
            buf_printf(&b, "%s%s", i ? "," : "", rv[i]);
        w(d, 0, "Roles:\t%s\n", or_none(b.data));
        buf_close(&b);
        free(rv);
    }
    json_decref(roles);
    labels_multiline(d, "Labels", labels);
    annotations_multiline(d, "Annotations", get(node, "metadata.annotations"));
    fmt_time(gs(node, "metadata.creationTimestamp"), t, sizeof t);
    w(d, 0, "CreationTimestamp:\t%s\n", t);
    taints_multiline(d, "Taints", get(node, "spec.taints"));
    w(d, 0, "Unschedulable:\t%s\n",
      json_is_true(get(node, "spec.unschedulable")) ? "true" : "false");

    buf_init(&p);
    buf_append_str(&p, "/apis/coordination.k8s.io/v1/namespaces/"
                       "kube-node-lease/leases/");
    kctl_query_escape(&p, name);
    {
        struct kctl_resp r;
        if (kctl_http(cl, "GET", p.data, NULL, NULL, 0, NULL, &r) == 0 &&
            r.status >= 200 && r.status <= 299) {
            lease =
                json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
            w(d, 0, "Lease:\n");
            w(d, 1, "HolderIdentity:\t%s\n",
              json_is_string(get(lease, "spec.holderIdentity"))
                  ? gs(lease, "spec.holderIdentity")
                  : "<unset>");
            if (gs(lease, "spec.acquireTime")[0] != '\0')
                fmt_time(gs(lease, "spec.acquireTime"), t, sizeof t);
            else
                snprintf(t, sizeof t, "<unset>");
            w(d, 1, "AcquireTime:\t%s\n", t);
            if (gs(lease, "spec.renewTime")[0] != '\0')
                fmt_time(gs(lease, "spec.renewTime"), t, sizeof t);
            else
                snprintf(t, sizeof t, "<unset>");
            w(d, 1, "RenewTime:\t%s\n", t);
        } else {
            json_t *st =
                json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
            const char *msg = gs(st, "message");
            if (msg[0] == '\0' && r.status == 404)
                msg = "the server could not find the requested resource";
            w(d, 0, "Lease:\tFailed to get lease: %s\n", msg);
            json_decref(st);
        }
        kctl_resp_close(&r);
    }
    json_decref(lease);
    buf_close(&p);

    if (json_array_size(get(node, "status.conditions")) > 0) {
        w(d, 0,
          "Conditions:\n  Type\tStatus\tLastHeartbeatTime\t"
          "LastTransitionTime\tReason\tMessage\n");
        w(d, 1,
          "----\t------\t-----------------\t------------------\t------"
          "\t-------\n");
        json_array_foreach (get(node, "status.conditions"), i, c) {
            char hb[64], tr[64];
            fmt_time(gs(c, "lastHeartbeatTime"), hb, sizeof hb);
            fmt_time(gs(c, "lastTransitionTime"), tr, sizeof tr);
            w(d, 1, "%s \t%s \t%s \t%s \t%s \t%s\n", gs(c, "type"),
              gs(c, "status"), hb, tr, gs(c, "reason"), gs(c, "message"));
        }
    }
    w(d, 0, "Addresses:\n");
    json_array_foreach (get(node, "status.addresses"), i, c) {
        w(d, 1, "%s:\t%s\n", gs(c, "type"), gs(c, "address"));
    }
    if (json_object_size(get(node, "status.capacity")) > 0) {
        w(d, 0, "Capacity:\n");
        resource_list(d, get(node, "status.capacity"));
    }
    if (json_object_size(get(node, "status.allocatable")) > 0) {
        w(d, 0, "Allocatable:\n");
        resource_list(d, get(node, "status.allocatable"));
    }
    w(d, 0, "System Info:\n");
    w(d, 0, "  Machine ID:\t%s\n", gs(ni, "machineID"));
    w(d, 0, "  System UUID:\t%s\n", gs(ni, "systemUUID"));
    w(d, 0, "  Boot ID:\t%s\n", gs(ni, "bootID"));
    w(d, 0, "  Kernel Version:\t%s\n", gs(ni, "kernelVersion"));
    w(d, 0, "  OS Image:\t%s\n", gs(ni, "osImage"));
    w(d, 0, "  Operating System:\t%s\n", gs(ni, "operatingSystem"));
    w(d, 0, "  Architecture:\t%s\n", gs(ni, "architecture"));
    w(d, 0, "  Container Runtime Version:\t%s\n",
      gs(ni, "containerRuntimeVersion"));
    w(d, 0, "  Kubelet Version:\t%s\n", gs(ni, "kubeletVersion"));
    w(d, 0, "  Kube-Proxy Version:\t%s\n", gs(ni, "kubeProxyVersion"));
    if (gs(node, "spec.podCIDR")[0] != '\0')
        w(d, 0, "PodCIDR:\t%s\n", gs(node, "spec.podCIDR"));
    if (json_array_size(get(node, "spec.podCIDRs")) > 0) {
        struct buf b;
        buf_init(&b);
        json_array_foreach (get(node, "spec.podCIDRs"), i, c) {
            buf_printf(&b, "%s%s", i ? "," : "", str(c));
        }
        w(d, 0, "PodCIDRs:\t%s\n", b.data ? b.data : "");
        buf_close(&b);
    }
    if (gs(node, "spec.providerID")[0] != '\0')
        w(d, 0, "ProviderID:\t%s\n", gs(node, "spec.providerID"));

    buf_init(&p);
    {
        struct buf sel;
        buf_init(&sel);
        buf_printf(&sel,
                   "spec.nodeName=%s,status.phase!=Failed,status.phase!="
                   "Succeeded",
                   name);
        buf_append_str(&p, "/api/v1/pods?fieldSelector=");
        kctl_query_escape(&p, sel.data);
        buf_close(&sel);
    }
    if (fetch_json(cl, p.data, &pods) == 0)
        describe_node_resource(d, node, pods);
    else
        w(d, 0, "Pods:\tnot authorized\n");
    json_decref(pods);
    buf_close(&p);
    if (events) {
        json_t *ev = json_array();
        search_events(cl, name, "", "Node", gs(node, "metadata.uid"), ev);
        search_events(cl, name, "", "Node", name, ev);
        describe_events(d, ev);
        json_decref(ev);
    }
}

/* ------------------------------------------------------- generic (others) */

/* smartLabelFor: "podIP" → "Pod IP", "apiVersion" → "API Version". */
static void smart_label(const char *field, struct buf *out)
{
    static const char *const acr[] = {"API", "URL", "UID", "OSB", "GUID"};
    char parts[32][128];
    int np = 0;

    for (const char *p = field; *p; p++)
        if (!isalpha((unsigned char)*p) && *p != '-' &&
            !((unsigned char)*p & 0x80)) {
            buf_append_str(out, field);
            return;
        }
    /* fatih/camelcase.Split: runs of one character class, an upper run
     * followed by lower case gives its last letter to the next run */
    {
        int cls_prev = -1;
        for (const char *p = field; *p && np < 32; p++) {
            int cls = islower((unsigned char)*p)   ? 1
                      : isupper((unsigned char)*p) ? 2
                      : isdigit((unsigned char)*p) ? 3
                                                   : 4;
            if (cls != cls_prev) {
                parts[np++][0] = '\0';
                cls_prev = cls;
            }
            size_t l = strlen(parts[np - 1]);
            if (l + 1 < sizeof parts[0]) {
                parts[np - 1][l] = *p;
                parts[np - 1][l + 1] = '\0';
            }
        }
        for (int i = 0; i + 1 < np; i++) {
            size_t l = strlen(parts[i]);
            if (isupper((unsigned char)parts[i][0]) &&
                islower((unsigned char)parts[i + 1][0]) && l > 0) {
                char moved = parts[i][l - 1];
                size_t l2 = strlen(parts[i + 1]);
                parts[i][l - 1] = '\0';
                if (l2 + 1 < sizeof parts[0]) {
                    memmove(parts[i + 1] + 1, parts[i + 1], l2 + 1);
                    parts[i + 1][0] = moved;
                }
            }
        }
    }
    bool first = true;
    for (int i = 0; i < np; i++) {
        char up[128];
        size_t l = strlen(parts[i]), k;
        bool is_acr = false;
        if (l == 0 || strcmp(parts[i], "_") == 0)
            continue;
        for (k = 0; k < l && k + 1 < sizeof up; k++)
            up[k] = (char)toupper((unsigned char)parts[i][k]);
        up[k] = '\0';
        for (size_t a = 0; a < sizeof acr / sizeof acr[0]; a++)
            if (strcmp(up, acr[a]) == 0)
                is_acr = true;
        if (!first)
            buf_append_str(out, " ");
        first = false;
        if (is_acr) {
            buf_append_str(out, up);
        } else {
            char c = (char)toupper((unsigned char)parts[i][0]);
            buf_append(out, &c, 1);
            buf_append_str(out, parts[i] + 1);
        }
    }
}

static bool skipped(const char *path)
{
    static const char *const skip[] = {
        ".metadata.managedFields", ".metadata.name", ".metadata.namespace",
        ".metadata.labels", ".metadata.annotations"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (strcmp(path, skip[i]) == 0)
            return true;
    return false;
}

static void unstructured(struct dw *d, int level, const json_t *obj,
                         const char *prefix)
{
    size_t n;
    const char **keys = kctl_sorted_keys(obj, &n);

    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_object_get(obj, keys[i]);
        char *path;
        struct buf label;
        if (asprintf(&path, "%s.%s", prefix, keys[i]) < 0)
            break;
        if (skipped(path)) {
            free(path);
            continue;
        }
        buf_init(&label);
        smart_label(keys[i], &label);
        if (json_is_object(v)) {
            w(d, level, "%s:\n", label.data ? label.data : "");
            unstructured(d, level + 1, v, path);
        } else if (json_is_array(v)) {
            size_t k;
            json_t *it;
            w(d, level, "%s:\n", label.data ? label.data : "");
            json_array_foreach (v, k, it) {
                if (json_is_object(it)) {
                    unstructured(d, level + 1, it, path);
                } else {
                    struct buf b;
                    buf_init(&b);
                    buf_append_str(&b, "");
                    kctl_go_v(it, &b);
                    w(d, level + 1, "%s\n", b.data);
                    buf_close(&b);
                }
            }
        } else {
            struct buf b;
            buf_init(&b);
            buf_append_str(&b, "");
            kctl_go_v(v, &b);
            w(d, level, "%s:\t%s\n", label.data ? label.data : "", b.data);
            buf_close(&b);
        }
        buf_close(&label);
        free(path);
    }
    free(keys);
}

static void describe_generic(struct kctl_client *cl, struct dw *d,
                             const json_t *obj, const struct kctl_resource *r,
                             bool events)
{
    w(d, 0, "Name:\t%s\n", gs(obj, "metadata.name"));
    w(d, 0, "Namespace:\t%s\n", gs(obj, "metadata.namespace"));
    labels_multiline(d, "Labels", get(obj, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(obj, "metadata.annotations"));
    unstructured(d, 0, obj, "");
    if (events) {
        describe_events_of(cl, d, obj, r->kind);
    }
}

/* ------------------------------------------ configmap, secret, namespace */

/* The length of base64 data once decoded. */
static size_t b64_len(const char *s)
{
    size_t n = strlen(s), pad = 0;
    while (n > 0 && s[n - 1] == '=') {
        n--;
        pad++;
    }
    return (n + pad) / 4 * 3 - pad;
}

static void describe_configmap(struct kctl_client *cl, struct dw *d,
                               const json_t *cm, bool events)
{
    size_t n;
    const char **keys;

    w(d, 0, "Name:\t%s\n", gs(cm, "metadata.name"));
    w(d, 0, "Namespace:\t%s\n", gs(cm, "metadata.namespace"));
    labels_multiline(d, "Labels", get(cm, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(cm, "metadata.annotations"));
    w(d, 0, "\nData\n====\n");
    keys = kctl_sorted_keys(json_object_get(cm, "data"), &n);
    for (size_t i = 0; i < n; i++) {
        w(d, 0, "%s:\n----\n", keys[i]);
        w(d, 0, "%s\n",
          str(json_object_get(json_object_get(cm, "data"), keys[i])));
        w(d, 0, "\n");
    }
    free(keys);
    w(d, 0, "\nBinaryData\n====\n");
    keys = kctl_sorted_keys(json_object_get(cm, "binaryData"), &n);
    for (size_t i = 0; i < n; i++)
        w(d, 0, "%s: %zu bytes\n", keys[i],
          b64_len(str(
              json_object_get(json_object_get(cm, "binaryData"), keys[i]))));
    free(keys);
    w(d, 0, "\n");
    if (events) {
        describe_events_of(cl, d, cm, "ConfigMap");
    }
}

static void describe_secret(struct dw *d, const json_t *sec)
{
    size_t n;
    const char **keys;
    const char *type = gs(sec, "type");

    w(d, 0, "Name:\t%s\n", gs(sec, "metadata.name"));
    w(d, 0, "Namespace:\t%s\n", gs(sec, "metadata.namespace"));
    labels_multiline(d, "Labels", get(sec, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(sec, "metadata.annotations"));
    w(d, 0, "\nType:\t%s\n", type);
    w(d, 0, "\nData\n====\n");
    keys = kctl_sorted_keys(json_object_get(sec, "data"), &n);
    for (size_t i = 0; i < n; i++) {
        const char *v =
            str(json_object_get(json_object_get(sec, "data"), keys[i]));
        w(d, 0, "%s:\t%zu bytes\n", keys[i], b64_len(v));
    }
    free(keys);
}

static void describe_namespace(struct dw *d, const json_t *ns)
{
    size_t i;
    json_t *c;

    w(d, 0, "Name:\t%s\n", gs(ns, "metadata.name"));
    labels_multiline(d, "Labels", get(ns, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(ns, "metadata.annotations"));
    w(d, 0, "Status:\t%s\n", gs(ns, "status.phase"));
    if (json_array_size(get(ns, "status.conditions")) > 0) {
        w(d, 0, "Conditions:\n");
        w(d, 1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n");
        w(d, 1, "----\t------\t------------------\t------\t-------\n");
        json_array_foreach (get(ns, "status.conditions"), i, c) {
            char t[64];
            fmt_time(gs(c, "lastTransitionTime"), t, sizeof t);
            w(d, 1, "%s\t%s\t%s\t%s\t%s\n", gs(c, "type"), gs(c, "status"), t,
              gs(c, "reason"), gs(c, "message"));
        }
    }
}

/* describeServiceAccount: the three secret lists under headers kubectl
 * pads to one width and prints in sorted order; a mountable secret that
 * does not exist is "(not found)"; tokens are the namespace's
 * service-account-token secrets annotated with this account. */
static void describe_service_account(struct kctl_client *cl, struct dw *d,
                                     const json_t *sa, bool events)
{
    /* 19 columns each, as kubectl pads them */
    static const char *const heads[3] = {
        "Image pull secrets:", "Mountable secrets: ", "Tokens:            "};
    const char *name = gs(sa, "metadata.name");
    const char *ns = gs(sa, "metadata.namespace");
    json_t *lists[3], *secrets = NULL, *it;
    struct buf p;
    size_t i;

    w(d, 0, "Name:\t%s\n", name);
    w(d, 0, "Namespace:\t%s\n", ns);
    labels_multiline(d, "Labels", get(sa, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(sa, "metadata.annotations"));
    buf_init(&p);
    buf_append_str(&p, "/api/v1/namespaces/");
    kctl_query_escape(&p, ns);
    buf_append_str(&p, "/secrets");
    if (fetch_json(cl, p.data, &secrets) != 0)
        secrets = NULL;
    buf_close(&p);
    for (int k = 0; k < 3; k++)
        lists[k] = json_array();
    for (int k = 0; k < 2; k++) {
        /* a referenced secret that is not there (only known when the list
         * could be read) */
        json_array_foreach (
            json_object_get(sa, k == 0 ? "imagePullSecrets" : "secrets"), i,
            it) {
            bool found = secrets == NULL;
            json_t *sec;
            size_t j;
            json_array_foreach (json_object_get(secrets, "items"), j, sec) {
                if (strcmp(gs(sec, "metadata.name"), gs(it, "name")) == 0)
                    found = true;
            }
            json_array_append_new(
                lists[k], found
                              ? json_string(gs(it, "name"))
                              : json_sprintf("%s (not found)", gs(it, "name")));
        }
    }
    json_array_foreach (json_object_get(secrets, "items"), i, it) {
        /* a token is this account's by name and uid annotations */
        const json_t *an = get(it, "metadata.annotations");
        if (strcmp(gs(it, "type"), "kubernetes.io/service-account-token") ==
                0 &&
            strcmp(
                str(json_object_get(an, "kubernetes.io/service-account.name")),
                name) == 0 &&
            strcmp(
                str(json_object_get(an, "kubernetes.io/service-account.uid")),
                gs(sa, "metadata.uid")) == 0)
            json_array_append_new(lists[2],
                                  json_string(gs(it, "metadata.name")));
    }
    for (int k = 0; k < 3; k++) {
        if (json_array_size(lists[k]) == 0)
            w(d, 0, "%s\t<none>\n", heads[k]);
        json_array_foreach (lists[k], i, it) {
            w(d, 0, "%s\t%s\n", i == 0 ? heads[k] : "                   ",
              json_string_value(it));
        }
        json_decref(lists[k]);
    }
    json_decref(secrets);
    if (events) {
        describe_events_of(cl, d, sa, "ServiceAccount");
    }
}

/* describeJob (batch/v1). */
static void describe_job(struct kctl_client *cl, struct dw *d,
                         const json_t *job, bool events)
{
    const json_t *spec = json_object_get(job, "spec");
    const json_t *st = json_object_get(job, "status");
    const json_t *ctrl, *v;
    char t[64];

    w(d, 0, "Name:\t%s\n", gs(job, "metadata.name"));
    w(d, 0, "Namespace:\t%s\n", gs(job, "metadata.namespace"));
    selector_line(d, spec);
    labels_multiline(d, "Labels", get(job, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(job, "metadata.annotations"));
    if ((ctrl = controller_of(job)) != NULL)
        w(d, 0, "Controlled By:\t%s/%s\n", gs(ctrl, "kind"), gs(ctrl, "name"));
    w(d, 0, "Parallelism:\t%lld\n", gi(spec, "parallelism"));
    if (json_is_integer(json_object_get(spec, "completions")))
        w(d, 0, "Completions:\t%lld\n", gi(spec, "completions"));
    else
        w(d, 0, "Completions:\t<unset>\n");
    if (json_is_string(json_object_get(spec, "completionMode")))
        w(d, 0, "Completion Mode:\t%s\n", gs(spec, "completionMode"));
    if (json_is_boolean(v = json_object_get(spec, "suspend")))
        w(d, 0, "Suspend:\t%s\n", json_is_true(v) ? "true" : "false");
    if (json_is_integer(json_object_get(spec, "backoffLimit")))
        w(d, 0, "Backoff Limit:\t%lld\n", gi(spec, "backoffLimit"));
    if (json_is_string(json_object_get(st, "startTime"))) {
        fmt_time(gs(st, "startTime"), t, sizeof t);
        w(d, 0, "Start Time:\t%s\n", t);
    }
    if (json_is_string(json_object_get(st, "completionTime"))) {
        fmt_time(gs(st, "completionTime"), t, sizeof t);
        w(d, 0, "Completed At:\t%s\n", t);
    }
    if (json_is_string(json_object_get(st, "startTime"))) {
        int64_t from = ts_ns(gs(st, "startTime"));
        int64_t to = json_is_string(json_object_get(st, "completionTime"))
                         ? ts_ns(gs(st, "completionTime"))
                         : clock_real_ns();
        kctl_human_duration(to - from, t, sizeof t);
        w(d, 0, "Duration:\t%s\n", t);
    }
    if (json_is_integer(json_object_get(spec, "activeDeadlineSeconds")))
        w(d, 0, "Active Deadline Seconds:\t%llds\n",
          gi(spec, "activeDeadlineSeconds"));
    if (json_is_integer(json_object_get(st, "ready")))
        w(d, 0,
          "Pods Statuses:\t%lld Active (%lld Ready) / %lld Succeeded / "
          "%lld Failed\n",
          gi(st, "active"), gi(st, "ready"), gi(st, "succeeded"),
          gi(st, "failed"));
    else
        w(d, 0, "Pods Statuses:\t%lld Active / %lld Succeeded / %lld Failed\n",
          gi(st, "active"), gi(st, "succeeded"), gi(st, "failed"));
    if (strcmp(gs(spec, "completionMode"), "Indexed") == 0) {
        const char *ci = gs(st, "completedIndexes");
        w(d, 0, "Completed Indexes:\t%s\n", ci[0] ? ci : "<none>");
    }
    describe_pod_template(d, json_object_get(spec, "template"));
    if (events) {
        describe_events_of(cl, d, job, "Job");
    }
}

/* describeDaemonSet (it prints no Namespace line). */
static void describe_daemonset(struct kctl_client *cl, struct dw *d,
                               const json_t *ds, bool events)
{
    const json_t *st = json_object_get(ds, "status");
    struct buf b;

    w(d, 0, "Name:\t%s\n", gs(ds, "metadata.name"));
    selector_line(d, json_object_get(ds, "spec"));
    buf_init(&b);
    kctl_format_labels(get(ds, "spec.template.spec.nodeSelector"), &b);
    w(d, 0, "Node-Selector:\t%s\n", b.data);
    buf_close(&b);
    labels_multiline(d, "Labels", get(ds, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(ds, "metadata.annotations"));
    w(d, 0, "Desired Number of Nodes Scheduled: %lld\n",
      gi(st, "desiredNumberScheduled"));
    w(d, 0, "Current Number of Nodes Scheduled: %lld\n",
      gi(st, "currentNumberScheduled"));
    w(d, 0, "Number of Nodes Scheduled with Up-to-date Pods: %lld\n",
      gi(st, "updatedNumberScheduled"));
    w(d, 0, "Number of Nodes Scheduled with Available Pods: %lld\n",
      gi(st, "numberAvailable"));
    w(d, 0, "Number of Nodes Misscheduled: %lld\n",
      gi(st, "numberMisscheduled"));
    pods_status_line(cl, d, ds);
    describe_pod_template(d, get(ds, "spec.template"));
    if (events)
        describe_events_of(cl, d, ds, "DaemonSet");
}

/* describeStatefulSet, with describeVolumeClaimTemplates. */
static void describe_statefulset(struct kctl_client *cl, struct dw *d,
                                 const json_t *ss, bool events)
{
    const json_t *spec = json_object_get(ss, "spec"), *ru, *vct;
    char t[64];
    size_t i;

    w(d, 0, "Name:\t%s\n", gs(ss, "metadata.name"));
    w(d, 0, "Namespace:\t%s\n", gs(ss, "metadata.namespace"));
    fmt_time(gs(ss, "metadata.creationTimestamp"), t, sizeof t);
    w(d, 0, "CreationTimestamp:\t%s\n", t);
    selector_line(d, spec);
    labels_multiline(d, "Labels", get(ss, "metadata.labels"));
    annotations_multiline(d, "Annotations", get(ss, "metadata.annotations"));
    w(d, 0, "Replicas:\t%lld desired | %lld total\n",
      json_is_integer(json_object_get(spec, "replicas")) ? gi(spec, "replicas")
                                                         : 1,
      gi(ss, "status.replicas"));
    w(d, 0, "Update Strategy:\t%s\n", gs(spec, "updateStrategy.type"));
    ru = get(spec, "updateStrategy.rollingUpdate");
    if (json_is_integer(json_object_get(ru, "partition"))) {
        const json_t *mu = json_object_get(ru, "maxUnavailable");
        w(d, 1, "Partition:\t%lld\n", gi(ru, "partition"));
        if (json_is_integer(mu))
            w(d, 1, "MaxUnavailable:\t%lld\n",
              (long long)json_integer_value(mu));
        else if (json_is_string(mu))
            w(d, 1, "MaxUnavailable:\t%s\n", json_string_value(mu));
    }
    pods_status_line(cl, d, ss);
    describe_pod_template(d, json_object_get(spec, "template"));
    vct = json_object_get(spec, "volumeClaimTemplates");
    if (json_array_size(vct) == 0) {
        w(d, 0, "Volume Claims:\t<none>\n");
    } else {
        const json_t *pvc;
        w(d, 0, "Volume Claims:\n");
        json_array_foreach (vct, i, pvc) {
            const char *sc =
                str(json_object_get(get(pvc, "metadata.annotations"),
                                    "volume.beta.kubernetes.io/storage-class"));
            const json_t *cap = get(pvc, "spec.resources.requests");
            const json_t *m;
            size_t j;
            if (sc[0] == '\0')
                sc = gs(pvc, "spec.storageClassName");
            w(d, 1, "Name:\t%s\n", gs(pvc, "metadata.name"));
            w(d, 1, "StorageClass:\t%s\n", sc);
            labels_multiline_at(d, 1, "Labels", get(pvc, "metadata.labels"));
            labels_multiline_at(d, 1, "Annotations",
                                get(pvc, "metadata.annotations"));
            cap = json_object_get(cap, "storage");
            w(d, 1, "Capacity:\t%s\n", cap ? str(cap) : "<default>");
            w(d, 1, "Access Modes:\t[");
            json_array_foreach (get(pvc, "spec.accessModes"), j, m) {
                w(d, 0, "%s%s", j ? " " : "", str(m));
            }
            w(d, 0, "]\n");
        }
    }
    if (events)
        describe_events_of(cl, d, ss, "StatefulSet");
}

/* ------------------------------------------------------------- the verb */

/* Describes one object; appends the text to out. */
static void describe_one(struct kctl_client *cl, const struct kctl_resource *r,
                         const json_t *obj, bool events, struct buf *out)
{
    struct dw d;

    buf_init(&d.pending);
    buf_init(&d.out);
    d.lines = NULL;
    d.nlines = 0;
    d.nwidths = 0;
    if (r->group[0] == '\0' && strcmp(r->kind, "Pod") == 0)
        describe_pod(cl, &d, obj, events);
    else if (r->group[0] == '\0' && strcmp(r->kind, "Node") == 0)
        describe_node(cl, &d, obj, events);
    else if (strcmp(r->group, "apps") == 0 &&
             strcmp(r->kind, "Deployment") == 0)
        describe_deployment(cl, &d, obj, events);
    else if (strcmp(r->group, "apps") == 0 &&
             strcmp(r->kind, "ReplicaSet") == 0)
        describe_replicaset(cl, &d, obj, events);
    else if (r->group[0] == '\0' && strcmp(r->kind, "ConfigMap") == 0)
        describe_configmap(cl, &d, obj, events);
    else if (r->group[0] == '\0' && strcmp(r->kind, "Secret") == 0)
        describe_secret(&d, obj);
    else if (r->group[0] == '\0' && strcmp(r->kind, "Namespace") == 0)
        describe_namespace(&d, obj);
    else if (r->group[0] == '\0' && strcmp(r->kind, "ServiceAccount") == 0)
        describe_service_account(cl, &d, obj, events);
    else if (strcmp(r->group, "batch") == 0 && strcmp(r->kind, "Job") == 0)
        describe_job(cl, &d, obj, events);
    else if (strcmp(r->group, "apps") == 0 && strcmp(r->kind, "DaemonSet") == 0)
        describe_daemonset(cl, &d, obj, events);
    else if (strcmp(r->group, "apps") == 0 &&
             strcmp(r->kind, "StatefulSet") == 0)
        describe_statefulset(cl, &d, obj, events);
    else
        describe_generic(cl, &d, obj, r, events);
    dw_flush(&d);
    if (d.out.len > 0)
        buf_append(out, d.out.data, d.out.len);
    buf_close(&d.pending);
    buf_close(&d.out);
}

/* GETs a path; 0 and *ret, 1 for a printed error, 2 for a 404 (the
 * response kept in *ret_resp for a later message). */
static int get_object(struct kctl_client *cl, const char *path, json_t **ret,
                      struct kctl_resp *ret_resp)
{
    int rv = kctl_http(cl, "GET", path, NULL, NULL, 0, NULL, ret_resp);

    *ret = NULL;
    if (rv != 0)
        return 1;
    if (ret_resp->status == 404)
        return 2;
    if (ret_resp->status < 200 || ret_resp->status > 299) {
        kctl_print_status(ret_resp, NULL);
        return 1;
    }
    *ret = json_loadb(ret_resp->body.data ? ret_resp->body.data : "",
                      ret_resp->body.len, 0, NULL);
    return *ret ? 0 : 1;
}

struct found {
    struct kctl_resource r;
    json_t *obj;
};

static void add_found(struct found **v, size_t *n,
                      const struct kctl_resource *r, json_t *obj)
{
    struct found *nv = realloc(*v, sizeof *nv * (*n + 1));
    if (nv == NULL) {
        json_decref(obj);
        return;
    }
    nv[*n].r = *r;
    nv[*n].obj = obj;
    *v = nv;
    ++*n;
}

static int list_into(struct kctl_client *cl, const struct kctl_resource *r,
                     const char *ns, const char *selector, const char *prefix,
                     struct found **v, size_t *n)
{
    json_t *list = NULL, *it;
    size_t i;
    int rv;

    rv = kctl_list(cl, r, ns, selector, NULL, &list);
    if (rv != 0)
        return 1;
    json_array_foreach (json_object_get(list, "items"), i, it) {
        if (prefix != NULL &&
            strncmp(gs(it, "metadata.name"), prefix, strlen(prefix)) != 0)
            continue;
        add_found(v, n, r, json_incref(it));
    }
    json_decref(list);
    return 0;
}

int kctl_cmd_describe(struct kctl_client *cl, int argc, char **argv)
{
    const char *selector = NULL, *chunk = NULL;
    bool all_ns = false, show_events = true;
    struct kctl_strv files = {0};
    const struct kctl_opt opts[] = {
        {"selector", 'l', KCTL_OPT_STR, &selector},
        {"all-namespaces", 'A', KCTL_OPT_BOOL, &all_ns},
        {"show-events", 0, KCTL_OPT_BOOL, &show_events},
        {"chunk-size", 0, KCTL_OPT_STR, &chunk},
        {"filename", 'f', KCTL_OPT_STRS, &files},
        {NULL, 0, 0, NULL},
    };
    struct kctl_strv pos;
    struct kctl_target *t = NULL;
    struct found *found = NULL;
    size_t nfound = 0;
    int nt = 0, rv = 0;
    bool by_prefix = false;
    struct buf out;

    if (kctl_opts_parse(argc, argv, opts, &pos) != 0)
        return 1;
    buf_init(&out);
    if (files.n > 0) {
        json_t *objs, *sources, *obj;
        size_t i;
        if (kctl_read_manifests("describe", files.v, files.n, false, &objs,
                                &sources) != 0) {
            rv = 1;
            goto out;
        }
        json_array_foreach (objs, i, obj) {
            struct kctl_resource r;
            const char *ns;
            struct buf p;
            struct kctl_resp resp;
            json_t *live;
            int g;
            if (kctl_prepare_object(cl, obj, &r, &ns) != 0) {
                rv = 1;
                continue;
            }
            buf_init(&p);
            kctl_resource_path(&p, &r, ns, gs(obj, "metadata.name"));
            memset(&resp, 0, sizeof resp);
            g = get_object(cl, p.data, &live, &resp);
            if (g == 2)
                kctl_print_status(&resp, NULL);
            if (g == 0)
                add_found(&found, &nfound, &r, live);
            else
                rv = 1;
            kctl_resp_close(&resp);
            buf_close(&p);
        }
        json_decref(objs);
        json_decref(sources);
    } else {
        if (pos.n == 0) {
            fprintf(stderr, "error: You must specify the type of resource to "
                            "describe. Use \"kubectl api-resources\" for a "
                            "complete list of supported resources.\n");
            rv = 1;
            goto out;
        }
        if (kctl_targets(cl, pos.v, pos.n, &t, &nt) != 0) {
            rv = 1;
            goto out;
        }
        for (int i = 0; i < nt; i++) {
            const char *ns = all_ns ? NULL : kctl_namespace(cl);
            struct buf p;
            struct kctl_resp resp;
            json_t *obj;
            int g;

            if (t[i].name == NULL) {
                if (list_into(cl, &t[i].r, ns, selector, NULL, &found,
                              &nfound) != 0)
                    rv = 1;
                continue;
            }
            buf_init(&p);
            kctl_resource_path(&p, &t[i].r, ns, t[i].name);
            memset(&resp, 0, sizeof resp);
            g = get_object(cl, p.data, &obj, &resp);
            buf_close(&p);
            if (g == 0) {
                add_found(&found, &nfound, &t[i].r, obj);
            } else if (g == 2 && pos.n == 2 && strchr(pos.v[0], '/') == NULL) {
                /* kubectl's DescribeMatchingResources: names by prefix */
                size_t before = nfound;
                if (list_into(cl, &t[i].r, ns, selector, t[i].name, &found,
                              &nfound) != 0) {
                    rv = 1;
                } else if (nfound == before) {
                    kctl_print_status(&resp, NULL);
                    rv = 1;
                } else {
                    by_prefix = true;
                }
            } else {
                if (g == 2)
                    kctl_print_status(&resp, NULL);
                rv = 1;
            }
            kctl_resp_close(&resp);
        }
    }
    /* kubectl separates descriptions with "\n\n", but ends each one
     * found by name prefix with "\n" (DescribeMatchingResources) */
    for (size_t i = 0; i < nfound; i++) {
        if (i > 0 && !by_prefix)
            buf_append_str(&out, "\n\n");
        describe_one(cl, &found[i].r, found[i].obj, show_events, &out);
        if (by_prefix)
            buf_append_str(&out, "\n");
    }
    if (out.len > 0)
        fwrite(out.data, 1, out.len, stdout);
    if (nfound == 0 && rv == 0) {
        if (all_ns)
            fprintf(stderr, "No resources found\n");
        else
            fprintf(stderr, "No resources found in %s namespace.\n",
                    kctl_namespace(cl));
    }
out:
    for (size_t i = 0; i < nfound; i++)
        json_decref(found[i].obj);
    free(found);
    free(t);
    free(pos.v);
    free(files.v);
    buf_close(&out);
    return rv;
}

/*
 * kctl_int.h — what the files of kubectl-lite share. Not included outside
 * kubectl-lite/ (and its tests).
 *
 * kubectl-lite is a single-threaded process: nothing here is thread-safe.
 * jansson values follow jansson's rules: "new reference" means the caller
 * owns it (json_decref), "borrowed" means it lives as long as its owner.
 *
 * Pieces, one file each:
 *   yaml.c     YAML text -> jansson documents (libyaml), JSON -> YAML text
 *   config.c   kubeconfig loading and merging, the global flags
 *   client.c   HTTP to the API server (libcurl), Status errors
 *   discovery.c resource names -> {group, version, resource, kind, scope}
 *   openapi.c  strategic-merge-patch metadata from the server's OpenAPI v3
 *   smp.c      three-way strategic merge patch (kubectl's apply)
 *   args.c     option parsing shared by the verbs
 *   one file per verb (apply.c, get.c, ...)
 */
#ifndef K1S_KUBECTL_LITE_KCTL_INT_H
#define K1S_KUBECTL_LITE_KCTL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "lib/buf.h"

/* ------------------------------------------------------------------ yaml */

/* Caps against hostile input (issue: alias bombs, deep nesting, size). */
#define KCTL_YAML_MAX_BYTES (64u << 20)  /* one input stream */
#define KCTL_YAML_MAX_DEPTH 100          /* nesting of mappings/sequences */
#define KCTL_YAML_MAX_ALIAS_NODES 100000 /* nodes produced through aliases */

/*
 * Parses every document of a YAML (or JSON: it is YAML) stream into a
 * jansson array of documents, in order; empty documents (only comments, or
 * `---` with nothing after it) are skipped. Kubernetes' YAML 1.1 scalar
 * rules for plain (unquoted) scalars: true/false/yes/no/on/off (any case
 * form sigs.k8s.io/yaml accepts) are booleans, ~/null/empty are null,
 * integers (decimal, 0x hex, 0o and leading-0 octal: 0755 = 493), floats
 * (1e3, .5, .inf, .nan) — quoted scalars stay strings. Anchors and aliases
 * are expanded (at most KCTL_YAML_MAX_ALIAS_NODES nodes through aliases),
 * merge keys (<<) honoured, duplicate keys in one mapping are an error, a
 * UTF-8 BOM and CRLF line ends are accepted. Mapping keys become strings.
 *
 * `name` is used in messages only (a file name, or "STDIN").
 * Returns 0 and *ret_docs (new reference, a JSON array), or K1S_EINVAL with
 * a message in errbuf naming the file, the document's index (0-based, as
 * kubectl says "document 1") and the line, e.g.
 *   error parsing x.yaml (document 2, line 7): found duplicate key "name"
 */
int kctl_yaml_parse(const char *text, size_t len, const char *name,
                    json_t **ret_docs, char *errbuf, size_t errlen);

/*
 * Writes `v` as YAML the way kubectl -o yaml does (sigs.k8s.io/yaml over
 * go-yaml v2): mapping keys sorted, two-space indent, sequence items at
 * the same indent as their parent key ("- " form), strings quoted only
 * where a plain scalar would read back as something else (single quotes),
 * multi-line strings as literal blocks (|, |-), empty map {} and empty
 * list []. Appends to out; returns 0 or K1S_ENOMEM.
 */
int kctl_yaml_emit(const json_t *v, struct buf *out);

/* ---------------------------------------------------------------- config */

/* The connection a command uses, resolved from kubeconfig + flags. */
struct kctl_conn {
    char *server;    /* "https://127.0.0.1:6443", no trailing slash */
    char *namespace; /* the context's namespace, or -n, or "default" */
    char *token;     /* bearer token or NULL */
    char *ca_file;   /* file paths from the kubeconfig, made absolute */
    char *cert_file;
    char *key_file;
    struct buf ca_data; /* decoded *-data fields (handed to curl as blobs) */
    struct buf cert_data;
    struct buf key_data;
    bool insecure; /* --insecure-skip-tls-verify or the cluster's flag */
    char *context; /* the context's name ("" when --server alone) */
};

/* Global flags, taken out of argv by kctl_global_flags(). */
struct kctl_globals {
    const char *kubeconfig; /* --kubeconfig */
    const char *context;    /* --context */
    const char *server;     /* --server / -s */
    const char *token;      /* --token */
    const char *namespace;  /* -n / --namespace */
    bool insecure;          /* --insecure-skip-tls-verify */
    int verbose;            /* -v=N: 6+ logs requests to stderr */
    long request_timeout_s; /* --request-timeout, 0 = none */
};

/* Removes the global flags from argv (in place; *argc shrinks) into g.
 * Returns 0, or 1 after printing kubectl's message for a flag missing its
 * value. */
int kctl_global_flags(int *argc, char **argv, struct kctl_globals *g);

/* Loads the merged kubeconfig ($KUBECONFIG list, --kubeconfig, or
 * ~/.kube/config) as JSON (new reference). A missing file in the
 * $KUBECONFIG list is skipped; --kubeconfig naming a missing file is an
 * error. Merge rule (kubectl's): the first file to set a value wins; maps
 * (clusters, contexts, users by name) merge entry by entry. Returns 0 or
 * -1 after printing an error. `ret_path` (may be NULL): the file that
 * current-context changes are written to (new string, free()). */
int kctl_config_load(const struct kctl_globals *g, json_t **ret_cfg,
                     char **ret_path);

/* Resolves the connection for the current (or --context) context. Returns
 * 0, or -1 after printing kubectl's error (e.g. the "The connection to the
 * server localhost:8080 was refused" family when nothing is configured). */
int kctl_conn_resolve(const struct kctl_globals *g, struct kctl_conn *c);
void kctl_conn_close(struct kctl_conn *c);

/* ---------------------------------------------------------------- client */

struct kctl_client {
    struct kctl_conn conn;
    struct kctl_globals g;
    void *curl;        /* CURL *, reused (keep-alive) */
    json_t *discovery; /* cached resource list, see discovery.c */
    json_t *openapi;   /* cached OpenAPI v3 documents by "apis/apps/v1" */
};

/* Opens a client from the global flags: kubeconfig, context, curl. Returns
 * 0 or -1 after printing an error. */
int kctl_client_open(struct kctl_client *cl, const struct kctl_globals *g);
void kctl_client_close(struct kctl_client *cl);

/* The namespace commands default to: -n, else the context's, else
 * "default". Borrowed from the client. */
const char *kctl_namespace(struct kctl_client *cl);

/* One HTTP response. body is NUL-terminated. */
struct kctl_resp {
    long status; /* HTTP status; 0 when no connection was made */
    struct buf body;
    char *content_type;
    char *warning; /* Warning header text(s) or NULL */
};
void kctl_resp_close(struct kctl_resp *r);

/* Sends METHOD path (path includes the query, already escaped) with an
 * optional body of content type ctype, Accept `accept` (NULL: JSON).
 * Returns 0 when a response came (any status: see r->status), or -1 after
 * printing the connection error as kubectl does ("The connection to the
 * server 127.0.0.1:6443 was refused - did you specify the right host or
 * port?"). Warning headers are printed to stderr as "Warning: …". */
int kctl_http(struct kctl_client *cl, const char *method, const char *path,
              const char *ctype, const char *body, size_t body_len,
              const char *accept, struct kctl_resp *r);

/* Convenience: kctl_http with a JSON body (may be NULL), then the response
 * parsed. For 2xx: returns 0 and *ret (new reference; NULL if ret is
 * NULL). Otherwise prints the server's error as kubectl does (see
 * kctl_print_status) and returns -1; a 404 returns -2 without printing
 * when quiet_404 is set. */
int kctl_json(struct kctl_client *cl, const char *method, const char *path,
              const char *ctype, const json_t *body, bool quiet_404,
              json_t **ret);

/* Streams a watch or log: calls line_cb for every complete line (without
 * the newline) until the server closes the stream, line_cb returns
 * non-zero (its value is returned), or the connection fails (-1, printed).
 * A non-2xx response is printed as a Status and returns -1. */
typedef int (*kctl_line_cb)(const char *line, size_t len, void *arg);
int kctl_stream(struct kctl_client *cl, const char *path, const char *accept,
                kctl_line_cb line_cb, void *arg);

/* Prints a non-2xx response the way kubectl prints it:
 *   Error from server (NotFound): deployments.apps "x" not found
 * `when` (may be NULL) adds kubectl's context: "error when creating
 * \"x.yaml\": ..." form: "Error from server (AlreadyExists): error when
 * creating "pod.yaml": pods "mypod" already exists". */
void kctl_print_status(const struct kctl_resp *r, const char *when);

/* qsort comparator over an array of C strings (const char *). */
int kctl_cmp_str(const void *a, const void *b);
/* The keys of a JSON object, sorted byte-wise: a malloc'd array of
 * borrowed strings (free() it), *ret_n of them; NULL on ENOMEM. */
const char **kctl_sorted_keys(const json_t *o, size_t *ret_n);
/* Characters (UTF-8 code points) in s[0..len). */
size_t kctl_runes(const char *s, size_t len);
/* labels.FormatLabels: "k=v,…" sorted as whole pairs (so
 * "app.kubernetes.io/name=x" before "app=y": '.' < '='), or "<none>". */
void kctl_format_labels(const json_t *labels, struct buf *out);

/* Go's %q (strconv.Quote) of a UTF-8 string, appended to out. */
void kctl_go_quote(const char *s, struct buf *out);

struct kctl_resource;

/* cli-runtime's Selector visitor: the Status of a list that failed with
 * BadRequest or NotFound gets what was listed in front of its message
 * ("Unable to find \"/v1, Resource=pods\" that match label selector
 * \"…\", field selector \"…\": …"; "Unable to list …" without
 * selectors). Rewrites r's body in place; other answers are left alone. */
void kctl_wrap_list_error(struct kctl_resp *r, const struct kctl_resource *res,
                          const char *label, const char *field);

/* GET the list of res in ns (NULL: all namespaces) with the selectors that
 * are not NULL: 0 and *ret (new reference), or -1 after printing the error
 * as kubectl does (wrapped as above). One page, no limit. */
int kctl_list(struct kctl_client *cl, const struct kctl_resource *res,
              const char *ns, const char *label, const char *field,
              json_t **ret);

/* Percent-escapes a query value into out (appends). */
int kctl_query_escape(struct buf *out, const char *v);

/* ------------------------------------------------------------- discovery */

struct kctl_resource {
    char group[64];    /* "" for core */
    char version[32];  /* "v1" */
    char resource[64]; /* plural: "deployments" */
    char singular[64]; /* "deployment" */
    char kind[64];     /* "Deployment" */
    bool namespaced;
    bool has_status, has_scale;
};

/* Every resource the server serves (fetched once): an array of
 * {group, version, resource, singular, kind, namespaced, has_status,
 * has_scale, shortNames, verbs, categories}, preferred versions first.
 * Borrowed (owned by the client); NULL after printing an error. */
const json_t *kctl_discovery(struct kctl_client *cl);

/* Resolves what a user typed ("po", "pods", "pod", "deploy",
 * "deployments.apps", "deployment.v1.apps", "Deployment") through the
 * server's discovery (fetched once per process). Returns 0, or -1 after
 * printing kubectl's `error: the server doesn't have a resource type "x"`.
 */
int kctl_resource_find(struct kctl_client *cl, const char *name,
                       struct kctl_resource *ret);

/* Resolves apiVersion + kind of a manifest object. Returns 0, or -1 after
 * printing `error: resource mapping not found for name: ... ensure CRDs are
 * installed first` as kubectl does. */
int kctl_resource_for_kind(struct kctl_client *cl, const char *api_version,
                           const char *kind, struct kctl_resource *ret);

/* The path of a collection or an object: /api/v1/namespaces/NS/pods[/NAME]
 * or /apis/apps/v1/... `ns` NULL or "" for all namespaces (or cluster
 * scope), `name` NULL for the collection. Appends to out. */
int kctl_resource_path(struct buf *out, const struct kctl_resource *r,
                       const char *ns, const char *name);

/* "deployments.apps" or "pods": how kubectl names the resource in
 * messages and in -o name ("deployment.apps/web"). */
void kctl_resource_qualified(const struct kctl_resource *r, bool singular,
                             char *out, size_t len);

/* --------------------------------------------------------------- openapi */

/* A position in the strategic-merge-patch schema of one kind. NULL means
 * "no metadata here" (maps merge, lists are replaced whole). */
struct kctl_smp_schema;

/* Field metadata under a schema position. */
struct kctl_smp_field {
    bool merge;            /* x-kubernetes-patch-strategy contains "merge" */
    bool retain_keys;      /* ... contains "retainKeys" */
    const char *merge_key; /* x-kubernetes-patch-merge-key or NULL */
    const struct kctl_smp_schema *sub; /* schema of the value (for a list,
                                          of its items), or NULL */
};

/* Looks up `field` under schema position `s` (NULL s → all zero). */
void kctl_smp_lookup(const struct kctl_smp_schema *s, const char *field,
                     struct kctl_smp_field *ret);

/* The schema root of a kind, from the server's /openapi/v3 documents
 * (x-kubernetes-group-version-kind, x-kubernetes-patch-strategy,
 * x-kubernetes-patch-merge-key). NULL when the server does not describe the
 * kind (kubectl then uses a JSON merge patch). Owned by the client. */
const struct kctl_smp_schema *kctl_openapi_schema(struct kctl_client *cl,
                                                  const char *group,
                                                  const char *version,
                                                  const char *kind);

/* The same over an OpenAPI v3 group-version document already parsed (for
 * tests and the fuzzer). The returned schema borrows from doc. */
const struct kctl_smp_schema *kctl_openapi_schema_from_doc(const json_t *doc,
                                                           const char *group,
                                                           const char *version,
                                                           const char *kind);

/* ------------------------------------------------------------------- smp */

/*
 * kubectl's three-way patch for client-side apply
 * (strategicpatch.CreateThreeWayMergePatch with overwrite=true): from
 * `original` (the last-applied configuration, may be NULL), `modified` (the
 * new manifest, with its new last-applied annotation already set) and
 * `current` (the live object), the patch that makes current look like
 * modified for every field modified sets, and deletes what original had
 * and modified dropped. With a schema: strategic merge patch with
 * directives ($patch: delete, $setElementOrder/, $retainKeys,
 * $deleteFromPrimitiveList/). schema NULL: a JSON merge patch
 * (jsonmergepatch.CreateThreeWayJSONMergePatch), lists replaced.
 * Returns 0 and *ret_patch (new reference; an empty object means
 * "unchanged"), or K1S_ENOMEM / K1S_EINVAL.
 */
int kctl_smp_three_way(const json_t *original, const json_t *modified,
                       const json_t *current,
                       const struct kctl_smp_schema *schema,
                       json_t **ret_patch);

/* ------------------------------------------------------------------ args */

/* Manifests from -f arguments: files, directories (with -R, recursively;
 * .yaml .yml .json files), "-" for stdin. Each object of every document
 * (a `List` is flattened into its items) is appended to *ret_objs
 * (new reference, array) and its source name to ret_sources (array of
 * strings, same order). Returns 0 or -1 after printing an error (also
 * when there is no object: "error: no objects passed to VERB"). */
int kctl_read_manifests(const char *verb, const char *const *files, int nfiles,
                        bool recursive, json_t **ret_objs,
                        json_t **ret_sources);

/* Options of a verb. Parsing accepts --name=value, --name value, -x value,
 * -xvalue, -x=value; bools also --name=true|false. "--" ends options. */
enum kctl_opt_type {
    KCTL_OPT_BOOL, /* bool * */
    KCTL_OPT_STR,  /* const char ** (points into argv) */
    KCTL_OPT_STRS, /* struct kctl_strv * (repeatable; -f a -f b) */
    KCTL_OPT_INT,  /* long * */
};
struct kctl_strv {
    const char **v;
    int n;
};
struct kctl_opt {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 for none */
    enum kctl_opt_type type;
    void *ptr;
};
/* Parses argv[1..] (argv[0] is the verb) against opts (terminated by a
 * zero row); positional arguments go to *pos (free(pos->v) after). Returns
 * 0, or 1 after printing kubectl's "error: unknown flag: --x" message. */
int kctl_opts_parse(int argc, char **argv, const struct kctl_opt *opts,
                    struct kctl_strv *pos);

/* What a command names: "TYPE NAME…", "TYPE/NAME …", "TYPE[,TYPE2]" (all
 * of that type: name NULL). */
struct kctl_target {
    struct kctl_resource r;
    const char *name; /* borrowed from argv; NULL = every object */
};
/* Resolves positional arguments into targets (malloc'd array, free()).
 * Returns 0 and *ret_n >= 0, or -1 after printing kubectl's error. */
int kctl_targets(struct kctl_client *cl, const char *const *args, int n,
                 struct kctl_target **ret, int *ret_n);

/* Prints "deployment.apps/web ACTION" (+ " (dry run)" / " (server dry
 * run)" when dry_run is "client" / "server"), as kubectl's printers do. */
void kctl_print_action(const struct kctl_resource *r, const char *name,
                       const char *action, const char *dry_run);

/* ------------------------------------------------------------ helpers */

/* The string at o.a (or o.a.b when b is set), or NULL. */
const char *kctl_str_at(const json_t *o, const char *a, const char *b);

/* A metav1.LabelSelector as its selector string (what
 * LabelSelectorAsSelector(...).String() gives: requirements sorted by key,
 * values of in/notin sorted): "app=web,tier in (a,b)". Appends to out;
 * nothing for an empty selector. */
void kctl_selector_string(const json_t *sel, struct buf *out);

/* -o for the verbs that print the changed object: "", name, json or yaml
 * pass (0); anything else is kubectl's "unable to match a printer" error
 * naming `allowed` (the formats that command's kubectl lists), -1. */
int kctl_check_output(const char *output, const char *allowed);
#define KCTL_OUTPUT_ALL_PRINTERS                                               \
    "go-template,go-template-file,json,jsonpath,jsonpath-as-json,"             \
    "jsonpath-file,name,template,templatefile,yaml"

/* Prints obj as kubectl -o json (Go's encoding, 4-space indent) or -o
 * yaml does; 0 or -1 (out of memory). */
int kctl_print_object(const json_t *obj, const char *output);

/* Objects a command names, each with its resource. */
struct kctl_obj {
    struct kctl_resource r;
    char *ns; /* NULL for cluster scope */
    char *name;
    json_t *obj; /* as read from the server, or NULL */
};
struct kctl_objs {
    struct kctl_obj *v;
    int n;
};
/* Appends (obj is stolen, also on failure); 0 or -1 (out of memory). */
int kctl_objs_add(struct kctl_objs *os, const struct kctl_resource *r,
                  const char *ns, const char *name, json_t *obj);
void kctl_objs_free(struct kctl_objs *os);

/* ------------------------------------------------------ wait on one object */

/* Called for the object as listed (type "ADDED"), or with NULL when the
 * list had none (type "NONE"), then for each watch event. Returns 0 to go
 * on, 1 when done, -1 after printing an error. */
typedef int (*kctl_event_cb)(const json_t *obj, const char *type, void *arg);

/* Lists and watches the object NAME of r in ns until cb says done (watch.c).
 * deadline_ns: a clock_mono_ns() instant, or 0 for none. Returns 0 (done),
 * -1 (error, printed) or 1 (deadline passed, nothing printed). */
int kctl_watch_object(struct kctl_client *cl, const struct kctl_resource *r,
                      const char *ns, const char *name, int64_t deadline_ns,
                      kctl_event_cb cb, void *arg);

/* --------------------------------------------------------- apply pieces */

/* Resolves a manifest object's resource and defaults its namespace (-n,
 * else the context's) in place; cluster-scoped objects lose any namespace.
 * *ret_ns is borrowed from obj (NULL for cluster scope). Returns 0 or -1
 * after printing kubectl's error (unknown kind, -n mismatch, no name). */
int kctl_prepare_object(struct kctl_client *cl, json_t *obj,
                        struct kctl_resource *ret_r, const char **ret_ns);

/* Sets obj's last-applied-configuration annotation to obj itself as kubectl
 * serialises it (keys sorted, compact, Go's HTML escaping, trailing
 * newline; any previous annotation removed first, "annotations": {} kept).
 * Returns 0 or K1S_ENOMEM. */
int kctl_set_last_applied(json_t *obj);

/* The three-way apply patch from `modified` (with its annotation set) and
 * the live `current` object, and the content type to send it with.
 * Returns 0 (*ret_patch new reference; empty object = unchanged) or -1
 * after printing an error. */
int kctl_apply_patch(struct kctl_client *cl, const struct kctl_resource *r,
                     const json_t *modified, const json_t *current,
                     json_t **ret_patch, const char **ret_ctype);

/* Go's time.ParseDuration ("300ms", "1.5h", "2h45m", "-1s"; a unit is
 * required except for "0"): 0 and *ret_ns, or -1 with Go's message in why
 * ("time: invalid duration \"x\""). */
int kctl_go_duration(const char *s, int64_t *ret_ns, char *why, size_t len);

/* The same for flags that also take bare seconds; -1 when malformed or
 * negative. */
int64_t kctl_parse_duration(const char *s);

/* A duration as kubectl prints ages (HumanDuration: 5s, 3m2s, 2d3h, 4y). */
void kctl_human_duration(int64_t ns, char *out, size_t len);

/* --dry-run value: none/false → NULL, client/true → "client", server →
 * "server". Returns 0 or -1 after printing kubectl's error. */
int kctl_parse_dry_run(const char *v, const char **ret);

/* ------------------------------------------------------------------ verbs */

/* Every verb: argc/argv start at the verb's name; the global flags are
 * already removed; returns the exit code (0 or 1; diff also 2). */
typedef int (*kctl_verb_fn)(struct kctl_client *cl, int argc, char **argv);

int kctl_cmd_apply(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_create(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_replace(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_delete(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_diff(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_get(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_describe(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_api_resources(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_logs(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_scale(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_rollout(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_wait(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_label(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_annotate(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_cordon(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_uncordon(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_drain(struct kctl_client *cl, int argc, char **argv);
int kctl_cmd_config(struct kctl_client *cl, int argc, char **argv);

#endif

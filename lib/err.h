/*
 * err — the one table of error codes in k1s.
 *
 * Every function that can fail returns int: 0 on success or one of the
 * negative K1S_E* codes below. The table gives, for each code, the HTTP
 * status and the Kubernetes Status.reason that the API server answers with,
 * so the translation from an internal failure to what a client sees is made
 * in one place (libuv's UV_ERRNO_MAP, canonical/raft's src/err.h).
 *
 * Lower layers translate third-party error codes (SQLite, libmicrohttpd,
 * libcurl, errno) into these once, at their border. Thread-safe: the
 * functions only read constant tables.
 */
#ifndef K1S_LIB_ERR_H
#define K1S_LIB_ERR_H

/* X(name, value, http status, Kubernetes Status.reason, message) */
#define K1S_ERR_MAP(X)                                                         \
    X(K1S_ENOMEM, -1, 500, "InternalError", "out of memory")                   \
    X(K1S_EINVAL, -2, 400, "BadRequest", "invalid argument")                   \
    X(K1S_EBADREQ, -3, 400, "BadRequest", "bad request")                       \
    X(K1S_EINVALID, -4, 422, "Invalid", "invalid object")                      \
    X(K1S_ENOTFOUND, -5, 404, "NotFound", "not found")                         \
    X(K1S_EEXIST, -6, 409, "AlreadyExists", "already exists")                  \
    X(K1S_ECONFLICT, -7, 409, "Conflict", "the object has been modified")      \
    X(K1S_EGONE, -8, 410, "Expired", "too old resource version")               \
    X(K1S_ETOOLARGE, -9, 413, "RequestEntityTooLarge",                         \
      "request entity too large")                                              \
    X(K1S_EMEDIA, -10, 415, "UnsupportedMediaType", "unsupported media type")  \
    X(K1S_EMETHOD, -11, 405, "MethodNotAllowed", "method not allowed")         \
    X(K1S_ETOOMANY, -12, 429, "TooManyRequests", "too many requests")          \
    X(K1S_EINTERNAL, -13, 500, "InternalError", "internal error")              \
    X(K1S_EUNAVAIL, -14, 503, "ServiceUnavailable", "service unavailable")     \
    X(K1S_ETIMEOUT, -15, 504, "Timeout", "timed out")                          \
    X(K1S_EIO, -16, 500, "InternalError", "I/O error")                         \
    X(K1S_ECORRUPT, -17, 500, "InternalError", "data is corrupt")              \
    X(K1S_ENOSPACE, -18, 507, "InternalError", "no space left on device")      \
    X(K1S_ESHUTDOWN, -19, 503, "ServiceUnavailable", "shutting down")          \
    X(K1S_ESLOW, -20, 410, "Expired", "watcher fell too far behind")           \
    X(K1S_ENOTLEADER, -21, 503, "ServiceUnavailable", "not the leader")        \
    X(K1S_EFORBIDDEN, -22, 403, "Forbidden", "forbidden")                      \
    X(K1S_EUNAUTH, -23, 401, "Unauthorized", "unauthorized")                   \
    X(K1S_EBUSY, -24, 503, "ServiceUnavailable", "busy")                       \
    X(K1S_ENOTACCEPT, -25, 406, "NotAcceptable", "not acceptable")             \
    X(K1S_EAGAIN, -26, 503, "ServiceUnavailable", "try again")

enum k1s_err {
#define K1S_ERR_ENUM(name, value, http, reason, msg) name = (value),
    K1S_ERR_MAP(K1S_ERR_ENUM)
#undef K1S_ERR_ENUM
};

/* The code's name ("K1S_ENOTFOUND"); "K1S_OK" for 0, "K1S_E?" if unknown. */
const char *err_name(int rv);

/* A short lower-case message for the code ("not found"). Never NULL. */
const char *err_str(int rv);

/* The HTTP status for the code: 200 for 0, 500 for unknown codes. */
int err_http_status(int rv);

/* The Kubernetes Status.reason ("NotFound"); "" for 0. Never NULL. */
const char *err_reason(int rv);

/* Translates an errno value (positive) into a K1S_E* code. */
int err_from_errno(int errnum);

#endif

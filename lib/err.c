#include "lib/err.h"

#include <errno.h>
#include <stddef.h>

struct err_row {
    int code;
    int http;
    const char *name;
    const char *reason;
    const char *msg;
};

static const struct err_row err_rows[] = {
#define K1S_ERR_ROW(name, value, http, reason, msg)                            \
    {value, http, #name, reason, msg},
    K1S_ERR_MAP(K1S_ERR_ROW)
#undef K1S_ERR_ROW
};

static const struct err_row *err_find(int rv)
{
    for (size_t i = 0; i < sizeof err_rows / sizeof err_rows[0]; i++)
        if (err_rows[i].code == rv)
            return &err_rows[i];
    return NULL;
}

const char *err_name(int rv)
{
    const struct err_row *r = err_find(rv);
    if (rv == 0)
        return "K1S_OK";
    return r ? r->name : "K1S_E?";
}

const char *err_str(int rv)
{
    const struct err_row *r = err_find(rv);
    if (rv == 0)
        return "success";
    return r ? r->msg : "unknown error";
}

int err_http_status(int rv)
{
    const struct err_row *r = err_find(rv);
    if (rv == 0)
        return 200;
    return r ? r->http : 500;
}

const char *err_reason(int rv)
{
    const struct err_row *r = err_find(rv);
    if (rv == 0)
        return "";
    return r ? r->reason : "InternalError";
}

int err_from_errno(int errnum)
{
    switch (errnum) {
    case 0:
        return 0;
    case ENOMEM:
        return K1S_ENOMEM;
    case ENOSPC:
    case EDQUOT:
        return K1S_ENOSPACE;
    case ENOENT:
        return K1S_ENOTFOUND;
    case EEXIST:
        return K1S_EEXIST;
    case EINVAL:
        return K1S_EINVAL;
    case ETIMEDOUT:
        return K1S_ETIMEOUT;
    case EAGAIN:
        return K1S_EAGAIN;
    case EBUSY:
        return K1S_EBUSY;
    default:
        return K1S_EIO;
    }
}

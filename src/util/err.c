/*
 * err.c - thread-local error messages with context (see include/istrigger/util/err.h).
 */
#include "istrigger/util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char err_buf[ERR_MSG_MAX];
static _Thread_local int err_last_code;

int err_set(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof(err_buf), fmt, ap);
    va_end(ap);
    err_last_code = code;
    return code;
}

int err_wrap(int code, const char *fmt, ...)
{
    char prefix[ERR_MSG_MAX];
    char old[ERR_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, err_buf, sizeof(old));
    /* A message longer than the buffer is cut; the outer context comes first, so it survives. */
    if (old[0] && snprintf(err_buf, sizeof(err_buf), "%s: %s", prefix, old) >= ERR_MSG_MAX)
        err_buf[ERR_MSG_MAX - 1] = '\0';
    else if (!old[0] && snprintf(err_buf, sizeof(err_buf), "%s", prefix) >= ERR_MSG_MAX)
        err_buf[ERR_MSG_MAX - 1] = '\0';
    err_last_code = code;
    return code;
}

const char *err_msg(void)
{
    return err_buf;
}

int err_code(void)
{
    return err_last_code;
}

void err_clear(void)
{
    err_buf[0] = '\0';
    err_last_code = 0;
}

const char *err_name(int code)
{
    switch (-code) {
    case 0:
        return "OK";
    case EINVAL:
        return "EINVAL";
    case ENOENT:
        return "ENOENT";
    case EACCES:
        return "EACCES";
    case EPERM:
        return "EPERM";
    case EIO:
        return "EIO";
    case ETIMEDOUT:
        return "ETIMEDOUT";
    case EAGAIN:
        return "EAGAIN";
    case ENOMEM:
        return "ENOMEM";
    case ECONNREFUSED:
        return "ECONNREFUSED";
    case EPROTO:
        return "EPROTO";
    case EEXIST:
        return "EEXIST";
    case ECANCELED:
        return "ECANCELED";
    case EBADMSG:
        return "EBADMSG";
    case ENOTSUP:
        return "ENOTSUP";
    case ERANGE:
        return "ERANGE";
    case ESTALE:
        return "ESTALE";
    case ENODATA:
        return "ENODATA";
    case ENOSPC:
        return "ENOSPC";
    default:
        return "ERROR";
    }
}

/*
 * err.h - the one error convention of istrigger.
 *
 * Every function that can fail at run time returns an int: 0 (or a non-negative count) on
 * success, a negative errno-style code on failure (-EINVAL bad input, -ENOENT not found,
 * -EACCES/-EPERM auth, -EIO remote/protocol failure, -ETIMEDOUT, -EAGAIN retry later,
 * -ENOMEM). Functions returning pointers return NULL on failure. In both cases the failing
 * function records a human-readable message with context in a thread-local buffer, and each
 * caller that adds context wraps it, so the final message reads from the outside in:
 *
 *   "resolving docker.io/library/nginx:1.25: HEAD manifest: 401 Unauthorized: ..."
 *
 * Programming errors (violated preconditions) are assert()s, not error returns.
 * Nothing here allocates: the message lives in a fixed thread-local buffer.
 */
#ifndef ISTRIGGER_UTIL_ERR_H
#define ISTRIGGER_UTIL_ERR_H

#include <errno.h>
#include <stddef.h>

#define ERR_MSG_MAX 1024

/* Record `code` (negative) with a printf-style message, replacing any previous message.
 * Returns `code`, so callers can write `return err_set(-EINVAL, "bad tag %s", t);`. */
int err_set(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefix the current message with context ("context: previous message"). Returns `code`. */
int err_wrap(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The current thread's last message ("" when none). Borrowed; valid until the next err_*
 * call on this thread. */
const char *err_msg(void);

/* The code recorded with the last err_set (0 when none). */
int err_code(void);

/* Forget the current message. */
void err_clear(void);

/* Name of an error code for logs and metrics labels ("EINVAL", "ETIMEDOUT", ...). Static string. */
const char *err_name(int code);

#endif

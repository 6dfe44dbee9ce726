/*
 * common.c - pieces shared by the subcommands: global logging flags.
 */
#include "istrigger/cli/cli.h"

#include "istrigger/util/err.h"
#include "istrigger/util/log.h"

#include <stdlib.h>
#include <string.h>

int cli_take_log_flags(int *argc, char **argv)
{
    enum log_level lvl = LOG_LEVEL_INFO;
    enum log_format fmt = LOG_FORMAT_LOGFMT;
    const char *env;
    int out = 0, r;

    if ((env = getenv("ISTRIGGER_LOG_LEVEL")) && *env && (r = log_parse_level(env, &lvl)) < 0)
        return err_wrap(r, "ISTRIGGER_LOG_LEVEL");
    if ((env = getenv("ISTRIGGER_LOG_FORMAT")) && *env && (r = log_parse_format(env, &fmt)) < 0)
        return err_wrap(r, "ISTRIGGER_LOG_FORMAT");
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        bool is_level = false, is_format = false;

        if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            lvl = LOG_LEVEL_DEBUG;
            continue;
        }
        if (strncmp(a, "--log-level", 11) == 0 && (a[11] == '=' || a[11] == '\0'))
            is_level = true;
        else if (strncmp(a, "--log-format", 12) == 0 && (a[12] == '=' || a[12] == '\0'))
            is_format = true;
        if (is_level || is_format) {
            const char *eq = strchr(a, '=');
            if (eq)
                val = eq + 1;
            else if (i + 1 < *argc)
                val = argv[++i];
            else
                return err_set(-EINVAL, "%s needs a value", a);
            r = is_level ? log_parse_level(val, &lvl) : log_parse_format(val, &fmt);
            if (r < 0)
                return r;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    log_configure(lvl, fmt);
    return 0;
}

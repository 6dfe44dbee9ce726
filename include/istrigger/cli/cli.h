/*
 * cli.h - the subcommands of the `istrigger` binary. Each takes the arguments after its own
 * name (argv[0] is the subcommand name), prints its own output and returns the process exit
 * code. Only code under src/cli/ and src/main.c prints to stdout or exits.
 */
#ifndef ISTRIGGER_CLI_CLI_H
#define ISTRIGGER_CLI_CLI_H

int cli_version(int argc, char **argv);
int cli_console_dashboard(int argc, char **argv);
int cli_resolve(int argc, char **argv);

/* `istrigger run`: the operator (src/cli/run.c). */
int cli_run(int argc, char **argv);

/* Shared handling of the global logging flags: consumes "-v", "--log-level L", "--log-format F"
 * (and the environment ISTRIGGER_LOG_LEVEL / ISTRIGGER_LOG_FORMAT) from argv in place, leaving
 * the other arguments. Returns 0 or -EINVAL with err_msg set. */
int cli_take_log_flags(int *argc, char **argv);

#endif

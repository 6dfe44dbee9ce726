/*
 * main.c - the `istrigger` command line: dispatches to the subcommands in src/cli/.
 *
 * To add a subcommand, declare it in include/istrigger/cli/cli.h, implement it in
 * src/cli/NAME.c and add a row to `commands` below.
 */
#include "istrigger/cli/cli.h"
#include "istrigger/version.h"

#include <stdio.h>
#include <string.h>

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
    const char *summary;
};

static const struct command commands[] = {
    {"version", cli_version, "print version information"},
    {"console-dashboard", cli_console_dashboard, "print the OpenShift console dashboard ConfigMap"},
    {"resolve", cli_resolve, "print the digest a registry serves for images"},
    {"run", cli_run, "run the operator (poll registries, import changed ImageStream tags)"},
};

static void usage(FILE *out)
{
    fprintf(out,
            "istrigger %s - image-change triggers and configurable registry polling for "
            "OpenShift ImageStreams\n\n",
            ISTRIGGER_VERSION);
    fprintf(out, "Usage: istrigger COMMAND [OPTIONS]\n\nCommands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'istrigger COMMAND --help' for the options of a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cli_version(1, argv + 1);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].main(argc - 1, argv + 1);
    }
    fprintf(stderr, "istrigger: unknown command \"%s\"\n\n", argv[1]);
    usage(stderr);
    return 2;
}

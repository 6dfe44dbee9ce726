/*
 * console_dashboard.c - `istrigger console-dashboard`: print the OpenShift console dashboard
 * ConfigMap (YAML) for `oc apply -f -`, the manual route when the operator is not allowed to
 * write into openshift-config-managed. manifests/console-dashboard.yaml is this output.
 */
#include "istrigger/cli/cli.h"
#include "istrigger/http/dashboard.h"
#include "istrigger/util/err.h"

#include <stdio.h>
#include <string.h>

int cli_console_dashboard(int argc, char **argv)
{
    struct strbuf out = STRBUF_INIT;

    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: istrigger console-dashboard\n\n"
               "Print the ConfigMap that adds istrigger's dashboard to the OpenShift console\n"
               "(Observe -> Dashboards), for `istrigger console-dashboard | oc apply -f -`.\n"
               "The operator creates it itself when run with --console-dashboard.\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "istrigger console-dashboard: unexpected argument \"%s\"\n", argv[1]);
        return 2;
    }
    if (http_dashboard_yaml(&out) < 0) {
        fprintf(stderr, "istrigger console-dashboard: %s\n", err_msg());
        return 1;
    }
    fwrite(out.buf, 1, out.len, stdout);
    strbuf_free(&out);
    return fflush(stdout) == 0 ? 0 : 1;
}

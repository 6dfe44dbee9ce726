/*
 * run_http.h - `istrigger run`'s HTTP surface: builds the listener's options from the
 * operator's flags (--listen, --auth, --auth-resource, --tls-cert-file, --tls-key-file,
 * --console-dashboard) and starts it. Internal to src/cli/.
 */
#ifndef ISTRIGGER_CLI_RUN_HTTP_H
#define ISTRIGGER_CLI_RUN_HTTP_H

struct operator;
struct http_server;

/* Start the listener for `op` (kube client built); with --console-dashboard also create or
 * update the console dashboard (a failure there is logged, not fatal). NEW server in *out
 * (http_server_stop). 0 or negative errno with err_msg set. */
int cli_run_http_start(struct operator* op, struct http_server **out);

#endif

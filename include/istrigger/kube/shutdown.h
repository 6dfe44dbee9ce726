/*
 * shutdown.h - graceful shutdown on SIGTERM/SIGINT for long-running commands.
 *
 * kube_shutdown_install() blocks SIGTERM and SIGINT in the calling thread (call it in main
 * before starting any thread, so every thread inherits the mask) and kube_shutdown_wait()
 * waits for one of them with sigtimedwait, so no async signal handler runs at all. The order
 * of a clean stop (the operator's run.c): kube_leader_stop (release the lease first, so a
 * successor starts at once), workqueue_shutdown (drain workers), kube_informer_stop (close
 * watches), kube_recorder_free (flush events), kube_client_free.
 */
#ifndef ISTRIGGER_KUBE_SHUTDOWN_H
#define ISTRIGGER_KUBE_SHUTDOWN_H

#include <stdbool.h>
#include <stdint.h>

/* Block SIGTERM and SIGINT for this thread and the threads it creates. 0 or -errno. */
int kube_shutdown_install(void);

/* Wait for SIGTERM/SIGINT (or kube_shutdown_request) up to `timeout_ns` (<0: forever).
 * Returns the signal number, 0 on timeout. */
int kube_shutdown_wait(int64_t timeout_ns);

/* Ask for shutdown from inside the process (a fatal error in a component). Thread-safe. */
void kube_shutdown_request(void);

/* True once a signal or a request arrived. */
bool kube_shutdown_requested(void);

#endif

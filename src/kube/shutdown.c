/*
 * shutdown.c - wait for SIGTERM/SIGINT without signal handlers (see shutdown.h).
 *
 * The signals are blocked in every thread (the mask is inherited), so they stay pending
 * until kube_shutdown_wait() takes them with sigtimedwait(). In-process requests set an
 * atomic flag that the waiter polls between short waits.
 */
#include "istrigger/kube/shutdown.h"

#include "istrigger/util/err.h"
#include "istrigger/util/timeutil.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>

static atomic_int shutdown_signal; /* the signal taken, or -1 for a request */

static void shutdown_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
}

int kube_shutdown_install(void)
{
    sigset_t set;
    int e;

    shutdown_set(&set);
    if ((e = pthread_sigmask(SIG_BLOCK, &set, NULL)))
        return err_set(-e, "blocking SIGTERM/SIGINT: %s", strerror(e));
    return 0;
}

int kube_shutdown_wait(int64_t timeout_ns)
{
    int64_t deadline = timeout_ns >= 0 ? time_mono_ns() + timeout_ns : INT64_MAX;
    sigset_t set;

    shutdown_set(&set);
    for (;;) {
        int got = atomic_load(&shutdown_signal);
        if (got)
            return got > 0 ? got : SIGTERM;
        int64_t left = deadline - time_mono_ns();
        if (left < 0)
            left = 0;
        /* Always look at least once, so a zero timeout polls for a pending signal. */
        int64_t slice = left < 200 * NS_PER_MS ? left : 200 * NS_PER_MS;
        struct timespec ts = {.tv_sec = slice / NS_PER_SEC, .tv_nsec = slice % NS_PER_SEC};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig > 0) {
            int zero = 0;
            atomic_compare_exchange_strong(&shutdown_signal, &zero, sig);
            continue;
        }
        if (left == 0)
            return 0;
    }
}

void kube_shutdown_request(void)
{
    int zero = 0;
    atomic_compare_exchange_strong(&shutdown_signal, &zero, -1);
}

bool kube_shutdown_requested(void)
{
    return atomic_load(&shutdown_signal) != 0;
}

/*
 * trigger_operator.c - the ImageTrigger controller inside `istrigger run`: builds it from the
 * operator's shared client, recorder and namespaces, gates its writes on leadership, and re-queues
 * every ImageTrigger when this replica starts leading (operator listeners).
 */
#include "istrigger/controller/operator.h"
#include "istrigger/controller/trigger.h"

#include "istrigger/util/err.h"
#include "istrigger/util/log.h"

static bool trigger_may_write(void *ctx)
{
    return operator_is_leader(ctx);
}

static void trigger_on_operator_change(void *ctx)
{
    trigger_controller_enqueue_all(ctx);
}

int trigger_controller_start(struct operator* op)
{
    struct trigger_controller *tc = NULL;
    struct trigger_controller_opts opts = {
        .client = op->kube,
        .recorder = op->recorder,
        .namespaces = (const char *const *)op->watch_namespaces,
        .workers = op->cfg.workers,
        .may_write = trigger_may_write,
        .may_write_ctx = op,
    };
    int r = trigger_controller_new(&opts, &tc);

    if (r < 0)
        return r;
    op->trigger = tc;
    if ((r = operator_add_listener(op, trigger_on_operator_change, tc)) < 0)
        return err_wrap(r, "registering the ImageTrigger controller's listener");
    return trigger_controller_run(tc, 0);
}

void trigger_controller_stop(struct operator* op)
{
    trigger_controller_free(op->trigger);
    op->trigger = NULL;
}

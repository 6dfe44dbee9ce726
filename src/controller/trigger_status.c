/*
 * trigger_status.c - conditions and per-trigger resolution for ImageTrigger status (see
 * trigger_status.h). The reasons are meant to be acted upon: each message says what is wrong
 * and on which object, and the first problem found becomes the Ready condition's reason.
 */
#include "istrigger/controller/trigger_status.h"

#include "istrigger/controller/trigger_plan.h"
#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const json_t *trigger_status_condition(const json_t *status, const char *type)
{
    return jsonx_array_find(json_object_get(status, "conditions"), "type", type, NULL);
}

/* Append a condition, keeping lastTransitionTime from `old_status` when status and reason
 * did not change. */
static void add_condition(json_t *conds, const json_t *old_status, const char *type, bool ok,
                          const char *reason, const char *message, json_int_t gen, const char *now)
{
    const json_t *old = trigger_status_condition(old_status, type);
    const char *st = ok ? "True" : "False";
    const char *ltt = now;
    const char *os = jsonx_str(old, "status");
    const char *orsn = jsonx_str(old, "reason");

    if (os && orsn && !strcmp(os, st) && !strcmp(orsn, reason) &&
        jsonx_str(old, "lastTransitionTime"))
        ltt = jsonx_str(old, "lastTransitionTime");
    json_array_append_new(conds, json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "type", type, "status", st,
                                           "reason", reason, "message", message ? message : "",
                                           "observedGeneration", gen, "lastTransitionTime", ltt));
}

static bool watched(const char *const *namespaces, const char *ns)
{
    if (!namespaces)
        return true;
    for (; *namespaces; namespaces++)
        if (!strcmp(*namespaces, ns))
            return true;
    return false;
}

/* Resolution of one trigger: sets image/lastChangeTime or state/message. */
static void resolve_trigger(json_t *t, const json_t *trig, const char *ns,
                            const struct trigger_observation *obs, const json_t *old_t,
                            const char *now, char *state, size_t state_size, char *msg,
                            size_t msg_size)
{
    const json_t *streams = obs->streams;
    const char *istag = jsonx_str(trig, "from", "name");
    _cleanup_free_ char *stream_name = NULL, *tag = NULL, *image = NULL;
    char key[512];
    const json_t *stream;
    const char *created = NULL;

    if (!istag || trigger_split_istag(istag, &stream_name, &tag) < 0) {
        snprintf(state, state_size, "InvalidSpec");
        snprintf(msg, msg_size, "from.name %s is not IMAGESTREAM:TAG", istag ? istag : "(none)");
        return;
    }
    snprintf(key, sizeof(key), "%s/%s", ns, stream_name);
    stream = json_object_get(streams, key);
    if (!stream && !watched(obs->watched, ns)) {
        /* Not "does not exist": istrigger cannot look (--namespaces). The annotation is written
         * anyway, and OpenShift's trigger controller resolves it on its own. */
        snprintf(state, state_size, "StreamNotFound");
        snprintf(msg, msg_size,
                 "ImageStream %.320s is in namespace %.63s, which istrigger does not watch "
                 "(--namespaces): OpenShift still applies the trigger, but istrigger cannot "
                 "report what it resolves to",
                 key, ns);
        return;
    }
    if (!stream) {
        snprintf(state, state_size, "StreamNotFound");
        snprintf(msg, msg_size, "ImageStream %s does not exist (yet)", key);
        return;
    }
    if (trigger_resolve_tag(stream, tag, &image, &created) < 0) {
        snprintf(state, state_size, "TagNotImported");
        snprintf(msg, msg_size, "tag %s of ImageStream %s has not been imported yet", tag, key);
        return;
    }
    json_object_set_new(t, "image", json_string(image));
    if (!created) {
        const char *old_img = jsonx_str(old_t, "image");
        created = old_img && !strcmp(old_img, image) ? jsonx_str(old_t, "lastChangeTime") : NULL;
    }
    json_object_set_new(t, "lastChangeTime", json_string(created ? created : now));
}

json_t *trigger_status_build(const json_t *it, const struct trigger_observation *obs,
                             int64_t now_real_ns)
{
    const json_t *old_status =
        obs->known_status ? obs->known_status : json_object_get(it, "status");
    const char *ns = jsonx_str(it, "metadata", "namespace");
    const char *kind = jsonx_str(it, "spec", "target", "kind");
    const char *target = jsonx_str(it, "spec", "target", "name");
    json_int_t gen = jsonx_int(it, 0, "metadata", "generation");
    _cleanup_json_ json_t *status = json_object(), *triggers = json_array(), *conds = json_array();
    _cleanup_strbuf_ struct strbuf sources = STRBUF_INIT;
    char now[40], apply_reason[64] = "", apply_msg[640] = "", res_reason[64] = "",
                  res_msg[640] = "";
    int apply_problems = 0, unresolved = 0;
    size_t i, j;
    json_t *trig, *claim;

    if (!status || !triggers || !conds)
        return NULL;
    time_format_rfc3339(now_real_ns, now, sizeof(now), false);
    ns = ns ? ns : "";
    kind = kind ? kind : "(none)";
    target = target ? target : "(none)";

    json_array_foreach (jsonx_get(it, "spec", "triggers"), i, trig) {
        const char *from_ns = jsonx_str(trig, "from", "namespace");
        const char *istag = jsonx_str(trig, "from", "name");
        const json_t *old_t = json_array_get(jsonx_get(old_status, "triggers"), i);
        bool paused = jsonx_bool(trig, false, "paused");
        char state[64] = "", msg[640] = "";
        json_t *t;

        from_ns = from_ns && *from_ns ? from_ns : ns;
        if (sources.len)
            strbuf_putc(&sources, ',');
        if (strcmp(from_ns, ns))
            strbuf_printf(&sources, "%s/", from_ns);
        strbuf_puts(&sources, istag ? istag : "?");

        t = json_pack("{s:s,s:s,s:O}", "from", istag ? istag : "", "namespace", from_ns,
                      "containers", json_object_get(trig, "containers") ?: json_array());
        if (!t)
            return NULL;
        json_array_append_new(triggers, t);
        if (paused)
            json_object_set_new(t, "paused", json_true());

        /* Problems with this trigger's containers come first: they are what blocks it. */
        json_array_foreach (obs->claims, j, claim) {
            const char *st = jsonx_str(claim, "state");
            if (jsonx_int(claim, -1, "trigger") != (long long)i || !st || !strcmp(st, "Applied") ||
                !strcmp(st, "Paused"))
                continue;
            if (!state[0]) {
                snprintf(state, sizeof(state), "%s", st);
                snprintf(msg, sizeof(msg), "%s", jsonx_str(claim, "message") ?: "");
            }
            if (!apply_problems++) {
                snprintf(apply_reason, sizeof(apply_reason), "%s", st);
                snprintf(apply_msg, sizeof(apply_msg), "%s", jsonx_str(claim, "message") ?: "");
            }
        }
        {
            char rstate[64] = "", rmsg[640] = "";
            /* Resolved in the source namespace. */
            resolve_trigger(t, trig, from_ns, obs, old_t, now, rstate, sizeof(rstate), rmsg,
                            sizeof(rmsg));
            if (rstate[0]) {
                if (!unresolved++) {
                    snprintf(res_reason, sizeof(res_reason), "%s", rstate);
                    snprintf(res_msg, sizeof(res_msg), "%s", rmsg);
                }
                if (!state[0]) {
                    snprintf(state, sizeof(state), "%s", rstate);
                    snprintf(msg, sizeof(msg), "%s", rmsg);
                }
            }
        }
        if (!obs->target_found && !state[0]) {
            snprintf(state, sizeof(state), "TargetNotFound");
            snprintf(msg, sizeof(msg), "%s %s/%s not found", kind, ns, target);
        }
        json_object_set_new(t, "state",
                            json_string(state[0] ? state
                                        : paused ? "Paused"
                                                 : "Applied"));
        if (msg[0])
            json_object_set_new(t, "message", json_string(msg));
    }

    /* Conditions. */
    {
        char m[800];
        const char *ready_reason = "Ready";
        const char *ready_msg = NULL;
        char ready_buf[800];

        snprintf(m, sizeof(m),
                 obs->target_found ? "%s %s found"
                                   : "%s %s does not exist in namespace %s; its triggers are "
                                     "written when it is created",
                 kind, target, ns);
        add_condition(conds, old_status, "TargetFound", obs->target_found,
                      obs->target_found ? "Found" : "TargetNotFound", m, gen, now);
        if (!obs->target_found) {
            ready_reason = "TargetNotFound";
            snprintf(ready_buf, sizeof(ready_buf), "%s", m);
            ready_msg = ready_buf;
        }

        if (!obs->target_found) {
            add_condition(conds, old_status, "TriggersApplied", false, "TargetNotFound", m, gen,
                          now);
        } else if (obs->apply_err) {
            const char *r = obs->apply_err == -EBADMSG ? "InvalidTriggerAnnotation" : "ApplyFailed";
            snprintf(m, sizeof(m), "%s%s",
                     obs->apply_err == -EBADMSG ? "the existing image.openshift.io/triggers "
                                                  "annotation cannot be parsed; fix or remove "
                                                  "it: "
                                                : "",
                     obs->apply_msg ? obs->apply_msg : "");
            add_condition(conds, old_status, "TriggersApplied", false, r, m, gen, now);
            ready_reason = r;
            snprintf(ready_buf, sizeof(ready_buf), "%s", m);
            ready_msg = ready_buf;
        } else if (apply_problems) {
            if (apply_problems > 1)
                snprintf(m, sizeof(m), "%s (and %d more problems)", apply_msg, apply_problems - 1);
            else
                snprintf(m, sizeof(m), "%s", apply_msg);
            add_condition(conds, old_status, "TriggersApplied", false, apply_reason, m, gen, now);
            ready_reason = apply_reason;
            snprintf(ready_buf, sizeof(ready_buf), "%s", m);
            ready_msg = ready_buf;
        } else {
            snprintf(m, sizeof(m), "%zu container trigger(s) written to %s %s",
                     json_array_size(obs->claims), kind, target);
            add_condition(conds, old_status, "TriggersApplied", true, "Applied", m, gen, now);
        }

        if (unresolved) {
            if (unresolved > 1)
                snprintf(m, sizeof(m), "%s (and %d more)", res_msg, unresolved - 1);
            else
                snprintf(m, sizeof(m), "%s", res_msg);
            add_condition(conds, old_status, "ImagesResolved", false, res_reason, m, gen, now);
            if (!ready_msg) {
                ready_reason = res_reason;
                snprintf(ready_buf, sizeof(ready_buf), "%s", m);
                ready_msg = ready_buf;
            }
        } else {
            add_condition(conds, old_status, "ImagesResolved", true, "Resolved",
                          "every source tag resolves to an image", gen, now);
        }
        add_condition(conds, old_status, "Ready", !ready_msg, ready_reason,
                      ready_msg ? ready_msg : "the triggers are in place and every tag resolves",
                      gen, now);
    }

    json_object_set_new(status, "observedGeneration", json_integer(gen));
    json_object_set_new(status, "sources", json_string(strbuf_str(&sources)));
    json_object_set(status, "triggers", triggers);
    json_object_set(status, "conditions", conds);
    return TAKE_PTR(status);
}

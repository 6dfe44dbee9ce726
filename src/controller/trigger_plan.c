/*
 * trigger_plan.c - the pure core of the ImageTrigger controller (see trigger_plan.h).
 *
 * The workload plan works on the annotation as a list, like oc does (§5.6): it keeps the
 * existing order, rewrites our entries in place, drops ours that are no longer wanted (and
 * those of owners that no longer target the workload), appends new ones in spec order, and
 * leaves foreign entries alone. The result is serialised the way Go's json.Marshal does, so
 * an annotation istrigger writes is byte-identical to what `oc set triggers` would write.
 * A patch is produced only when the annotation, the ownership record or the resolve-names
 * annotation would change: "writes only when something would change".
 */
#include "istrigger/controller/trigger_plan.h"

#include "istrigger/util/cleanup.h"
#include "istrigger/util/err.h"
#include "istrigger/util/jsonx.h"
#include "istrigger/util/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *trigger_pod_spec_path(const char *kind)
{
    if (!kind)
        return NULL;
    if (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") || !strcmp(kind, "DaemonSet"))
        return "spec.template.spec";
    if (!strcmp(kind, "CronJob"))
        return "spec.jobTemplate.spec.template.spec";
    return NULL;
}

char *trigger_field_path(const char *kind, const char *container)
{
    const char *base = trigger_pod_spec_path(kind);
    char *s;

    if (!base || asprintf(&s, "%s.containers[?(@.name==\"%s\")].image", base, container) < 0)
        return NULL;
    return s;
}

/* The pod template (borrowed) that holds metadata.annotations and spec. */
static json_t *pod_template(const json_t *workload, const char *kind)
{
    if (kind && !strcmp(kind, "CronJob"))
        return jsonx_get(workload, "spec", "jobTemplate", "spec", "template");
    return jsonx_get(workload, "spec", "template");
}

json_t *trigger_pod_spec(const json_t *workload, const char *kind)
{
    if (!trigger_pod_spec_path(kind))
        return NULL;
    return jsonx_get(pod_template(workload, kind), "spec");
}

int trigger_split_istag(const char *istag, char **stream, char **tag)
{
    const char *colon = istag ? strchr(istag, ':') : NULL;

    if (!colon || colon == istag || !colon[1] || strchr(colon + 1, ':'))
        return err_set(-EINVAL, "\"%s\" is not of the form IMAGESTREAM:TAG", istag ? istag : "");
    *stream = strndup(istag, (size_t)(colon - istag));
    *tag = strdup(colon + 1);
    if (!*stream || !*tag) {
        free(*stream);
        free(*tag);
        *stream = *tag = NULL;
        return -ENOMEM;
    }
    return 0;
}

const char *trigger_claim_state_name(enum trigger_claim_state s)
{
    switch (s) {
    case TRIGGER_CLAIM_APPLIED:
        return "Applied";
    case TRIGGER_CLAIM_PAUSED:
        return "Paused";
    case TRIGGER_CLAIM_NOT_FOUND:
        return "ContainerNotFound";
    case TRIGGER_CLAIM_CONFLICT:
        return "Conflict";
    case TRIGGER_CLAIM_FOREIGN:
        return "ForeignTrigger";
    case TRIGGER_CLAIM_DUPLICATE:
        return "DuplicateContainer";
    }
    return "Unknown";
}

/* Name lookup searches initContainers first, then containers (§5.3 GetContainerByName). */
static bool pod_has_container(const json_t *pod_spec, const char *name)
{
    return jsonx_array_find(json_object_get(pod_spec, "initContainers"), "name", name, NULL) ||
           jsonx_array_find(json_object_get(pod_spec, "containers"), "name", name, NULL);
}

static bool str_array_has(const json_t *arr, const char *s)
{
    size_t i;
    json_t *v;

    json_array_foreach (arr, i, v) {
        if (json_is_string(v) && !strcmp(json_string_value(v), s))
            return true;
    }
    return false;
}

/* True when ImageTrigger `it` is in the process of being deleted. */
static bool being_deleted(const json_t *it)
{
    return jsonx_str(it, "metadata", "deletionTimestamp") != NULL;
}

/* True when `a` was created before `b` (creationTimestamp, then name, so the order is total). */
static bool created_before(const json_t *a, const json_t *b)
{
    const char *ta = jsonx_str(a, "metadata", "creationTimestamp");
    const char *tb = jsonx_str(b, "metadata", "creationTimestamp");
    int c = strcmp(ta ? ta : "", tb ? tb : "");

    if (c)
        return c < 0;
    return strcmp(jsonx_str(a, "metadata", "name") ?: "", jsonx_str(b, "metadata", "name") ?: "") <
           0;
}

/* The earlier live peer (borrowed) whose spec claims `container`, or NULL. */
static const json_t *earlier_claimant(const json_t *self, const json_t *peers,
                                      const char *container)
{
    const char *self_name = jsonx_str(self, "metadata", "name");
    const json_t *best = NULL;
    size_t i, j;
    json_t *peer, *trig;

    json_array_foreach (peers, i, peer) {
        const char *name = jsonx_str(peer, "metadata", "name");
        if (!name || (self_name && !strcmp(name, self_name)) || being_deleted(peer) ||
            !created_before(peer, self))
            continue;
        json_array_foreach (jsonx_get(peer, "spec", "triggers"), j, trig) {
            if (str_array_has(json_object_get(trig, "containers"), container) &&
                (!best || created_before(peer, best)))
                best = peer;
        }
    }
    return best;
}

static bool peer_targets_live(const json_t *peers, const char *name)
{
    size_t i;
    json_t *peer;

    json_array_foreach (peers, i, peer) {
        const char *n = jsonx_str(peer, "metadata", "name");
        if (n && !strcmp(n, name))
            return true;
    }
    return false;
}

/* Parse an annotation holding JSON of type `type`; absent or blank gives an empty value.
 * NEW reference, or NULL with -EBADMSG in err_msg. */
static json_t *load_annotation(const json_t *obj, const char *key, json_type type)
{
    const char *s = jsonx_str(obj, "metadata", "annotations", key);
    json_t *v;

    if (!s || !s[strspn(s, " \t\r\n")])
        return type == JSON_ARRAY ? json_array() : json_object();
    v = jsonx_loadb(s, strlen(s), key);
    if (v && json_typeof(v) != type) {
        json_decref(v);
        err_set(-EBADMSG, "annotation %s is not a JSON %s", key,
                type == JSON_ARRAY ? "array" : "object");
        return NULL;
    }
    return v;
}

/* One desired annotation entry, in the Go struct's field order (§5.1). */
static json_t *make_entry(const json_t *from, const char *workload_ns, const char *field_path,
                          bool paused)
{
    const char *ns = jsonx_str(from, "namespace");
    json_t *f = json_pack("{s:s,s:s}", "kind", "ImageStreamTag", "name", jsonx_str(from, "name"));
    json_t *e;

    if (f && ns && *ns && (!workload_ns || strcmp(ns, workload_ns)))
        json_object_set_new(f, "namespace", json_string(ns));
    e = json_pack("{s:o,s:s}", "from", f, "fieldPath", field_path);
    if (e && paused)
        json_object_set_new(e, "paused", json_true());
    return e;
}

static int add_claim(json_t *claims, size_t trigger, const char *container, const char *fp,
                     enum trigger_claim_state st, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int add_claim(json_t *claims, size_t trigger, const char *container, const char *fp,
                     enum trigger_claim_state st, const char *fmt, ...)
{
    char msg[512] = "";
    va_list ap;

    if (fmt) {
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
    }
    return json_array_append_new(claims,
                                 json_pack("{s:I,s:s,s:s,s:s,s:s}", "trigger", (json_int_t)trigger,
                                           "container", container, "fieldPath", fp ? fp : "",
                                           "state", trigger_claim_state_name(st), "message", msg))
               ? -ENOMEM
               : 0;
}

/* Does any owner but `self` (and but those being dropped) list `fp`? Returns the owner. */
static const char *other_owner_of(const json_t *managed, const char *self, const char *fp)
{
    const char *owner;
    json_t *rec;

    json_object_foreach ((json_t *)managed, owner, rec) {
        if (strcmp(owner, self) && str_array_has(json_object_get(rec, "fieldPaths"), fp))
            return owner;
    }
    return NULL;
}

/*
 * Desired entries of this ImageTrigger: an object fieldPath -> entry in spec order, and the
 * claims. A container gets an entry only when it exists in the pod spec (an entry for a missing
 * container would make the trigger controller reject the whole annotation, §5.3), no earlier
 * ImageTrigger claims it, no other owner holds its fieldPath and no foreign entry has it
 * (`drop` lists the fieldPaths of entries that are ours or a stale owner's: not foreign).
 */
static int desired_entries(const struct trigger_workload_input *in, const char *kind,
                           const json_t *current, const json_t *managed, const json_t *drop,
                           json_t *desired, struct trigger_workload_plan *plan)
{
    const char *self = jsonx_str(in->trigger, "metadata", "name");
    const char *ns = jsonx_str(in->workload, "metadata", "namespace");
    const char *target = jsonx_str(in->workload, "metadata", "name");
    const json_t *pod = trigger_pod_spec(in->workload, kind);
    size_t i, j, k;
    json_t *trig, *c, *e;

    json_array_foreach (jsonx_get(in->trigger, "spec", "triggers"), i, trig) {
        const json_t *from = json_object_get(trig, "from");
        bool paused = jsonx_bool(trig, false, "paused");
        json_array_foreach (json_object_get(trig, "containers"), j, c) {
            const char *name = json_string_value(c);
            if (!name)
                continue;
            _cleanup_free_ char *fp = trigger_field_path(kind, name);
            const json_t *earlier;
            const char *holder;
            bool foreign = false;
            int r;

            if (!fp)
                return -ENOMEM;
            if (json_object_get(desired, fp)) {
                r = add_claim(plan->claims, i, name, fp, TRIGGER_CLAIM_DUPLICATE,
                              "container %s is already listed by another trigger of this "
                              "ImageTrigger; each container may be referenced by one trigger",
                              name);
            } else if (!pod_has_container(pod, name)) {
                r = add_claim(plan->claims, i, name, fp, TRIGGER_CLAIM_NOT_FOUND,
                              "%s %s has no container or init container named %s", kind, target,
                              name);
            } else if (in->peers && (earlier = earlier_claimant(in->trigger, in->peers, name))) {
                r = add_claim(plan->claims, i, name, fp, TRIGGER_CLAIM_CONFLICT,
                              "container %s of %s %s is claimed by ImageTrigger %s, created "
                              "earlier; remove it from one of them",
                              name, kind, target, jsonx_str(earlier, "metadata", "name"));
            } else if ((holder = other_owner_of(managed, self, fp))) {
                r = add_claim(plan->claims, i, name, fp, TRIGGER_CLAIM_CONFLICT,
                              "container %s of %s %s is still held by ImageTrigger %s", name, kind,
                              target, holder);
            } else {
                if (!str_array_has(drop, fp)) {
                    json_array_foreach (current, k, e) {
                        const char *efp = jsonx_str(e, "fieldPath");
                        if (efp && !strcmp(efp, fp))
                            foreign = true;
                    }
                }
                if (foreign) {
                    r = add_claim(plan->claims, i, name, fp, TRIGGER_CLAIM_FOREIGN,
                                  "%s %s already has a trigger for container %s that istrigger "
                                  "does not manage (oc set triggers?); remove it with `oc set "
                                  "triggers %s/%s --remove --containers=%s` to let istrigger "
                                  "manage it",
                                  kind, target, name, kind, target, name);
                } else {
                    json_t *entry = make_entry(from, ns, fp, paused);
                    if (!entry || json_object_set_new(desired, fp, entry))
                        return -ENOMEM;
                    r = add_claim(plan->claims, i, name, fp,
                                  paused ? TRIGGER_CLAIM_PAUSED : TRIGGER_CLAIM_APPLIED, NULL);
                }
            }
            if (r)
                return r;
        }
    }
    return 0;
}

/* Set `key` = `value` (a NEW string or json_null()) in the patch's metadata.annotations, or in
 * the pod template's when `template` is set. */
static int patch_annotation(json_t *patch, const char *kind, bool template, const char *key,
                            json_t *value)
{
    if (!template)
        return jsonx_set(patch, value, "metadata", "annotations", key);
    if (!strcmp(kind, "CronJob"))
        return jsonx_set(patch, value, "spec", "jobTemplate", "spec", "template", "metadata",
                         "annotations", key);
    return jsonx_set(patch, value, "spec", "template", "metadata", "annotations", key);
}

static int ensure_patch(json_t **patch, const json_t *obj)
{
    const char *rv = jsonx_str(obj, "metadata", "resourceVersion");

    if (*patch)
        return 0;
    *patch = json_object();
    if (!*patch)
        return -ENOMEM;
    return rv ? jsonx_set(*patch, json_string(rv), "metadata", "resourceVersion") : 0;
}

/* resolve-names on the pod template (§6.1), shared between ImageTriggers that want it. */
static int plan_resolve_names(const struct trigger_workload_input *in, const char *kind,
                              const char *self, json_t *managed, json_t **patch)
{
    json_t *tmpl = pod_template(in->workload, kind);
    const char *cur = jsonx_str(tmpl, "metadata", "annotations", TRIGGER_RESOLVE_NAMES_ANNOTATION);
    bool want = !in->release && jsonx_bool(in->trigger, false, "spec", "imageLookup", "workload");
    bool mine = jsonx_bool(managed, false, self, "resolveNames");
    bool others = false;
    const char *owner;
    json_t *rec;
    int r;

    json_object_foreach (managed, owner, rec) {
        if (strcmp(owner, self) && jsonx_bool(rec, false, "resolveNames"))
            others = true;
    }
    if (want) {
        bool claim = !cur || strcmp(cur, "*") || mine || others;
        if (!cur || strcmp(cur, "*")) {
            if ((r = ensure_patch(patch, in->workload)) ||
                (r = patch_annotation(*patch, kind, true, TRIGGER_RESOLVE_NAMES_ANNOTATION,
                                      json_string("*"))))
                return r;
        }
        mine = claim;
    } else {
        if (mine && !others && cur) {
            if ((r = ensure_patch(patch, in->workload)) ||
                (r = patch_annotation(*patch, kind, true, TRIGGER_RESOLVE_NAMES_ANNOTATION,
                                      json_null())))
                return r;
        }
        mine = false;
    }
    rec = json_object_get(managed, self);
    if (mine) {
        if (!rec) {
            rec = json_object();
            if (!rec || json_object_set_new(managed, self, rec))
                return -ENOMEM;
        }
        return json_object_set_new(rec, "resolveNames", json_true()) ? -ENOMEM : 0;
    }
    if (rec)
        json_object_del(rec, "resolveNames");
    return 0;
}

/* The new annotation list: current order kept, ours replaced in place or dropped, foreign kept,
 * new ones appended. `drop` lists fieldPaths owned by us or stale owners. NEW array. */
static json_t *merge_entries(const json_t *current, const json_t *drop, json_t *desired)
{
    json_t *out = json_array();
    json_t *e, *want;
    const char *fp;
    size_t i;
    void *tmp;

    if (!out)
        return NULL;
    json_array_foreach (current, i, e) {
        const char *efp = jsonx_str(e, "fieldPath");
        if (efp && str_array_has(drop, efp)) {
            want = json_object_get(desired, efp);
            if (want) {
                json_array_append(out, want);
                json_object_del(desired, efp);
            }
            continue;
        }
        json_array_append(out, e);
    }
    json_object_foreach_safe (desired, tmp, fp, want) {
        json_array_append(out, want);
    }
    return out;
}

int trigger_plan_workload(const struct trigger_workload_input *in,
                          struct trigger_workload_plan *plan)
{
    const char *kind = in->kind ? in->kind : jsonx_str(in->trigger, "spec", "target", "kind");
    const char *self = jsonx_str(in->trigger, "metadata", "name");
    _cleanup_json_ json_t *current = NULL, *managed = NULL, *desired = json_object();
    _cleanup_json_ json_t *drop = json_array(), *merged = NULL, *patch = NULL;
    const char *owner;
    json_t *rec, *fps;
    void *tmp;
    int r;

    memset(plan, 0, sizeof(*plan));
    if (!trigger_pod_spec_path(kind))
        return err_set(-EINVAL, "kind %s is not handled by the trigger controller",
                       kind ? kind : "(none)");
    if (!self)
        return err_set(-EINVAL, "ImageTrigger without metadata.name");
    plan->claims = json_array();
    if (!plan->claims || !desired || !drop)
        return -ENOMEM;
    current = load_annotation(in->workload, TRIGGER_ANNOTATION, JSON_ARRAY);
    if (!current)
        return err_code();
    managed = load_annotation(in->workload, TRIGGER_MANAGED_ANNOTATION, JSON_OBJECT);
    if (!managed) /* our own record is damaged: start over, entries look foreign */
        managed = json_object();
    if (!managed)
        return -ENOMEM;

    /* Owners that no longer target this workload (deleted without their finalizer running,
     * retargeted) lose their entries; so does this trigger before its entries are recomputed. */
    json_object_foreach_safe (managed, tmp, owner, rec) {
        bool stale = strcmp(owner, self) && in->peers && !peer_targets_live(in->peers, owner);
        if (!stale && strcmp(owner, self))
            continue;
        json_array_extend(drop, json_object_get(rec, "fieldPaths"));
        if (stale)
            json_object_del(managed, owner);
    }
    if (!in->release && (r = desired_entries(in, kind, current, managed, drop, desired, plan)))
        return r;

    /* Record what we own now, before desired is consumed by the merge. */
    fps = json_array();
    if (!fps)
        return -ENOMEM;
    json_object_foreach_safe (desired, tmp, owner, rec) {
        json_array_append_new(fps, json_string(owner));
    }
    rec = NULL;
    rec = json_object_get(managed, self);
    if (json_array_size(fps)) {
        if (!rec) {
            rec = json_object();
            json_object_set_new(managed, self, rec);
        }
        json_object_set_new(rec, "fieldPaths", fps);
    } else {
        json_decref(fps);
        if (rec)
            json_object_del(rec, "fieldPaths");
    }

    merged = merge_entries(current, drop, desired);
    if (!merged)
        return -ENOMEM;
    if (!jsonx_equal(merged, current)) {
        if ((r = ensure_patch(&patch, in->workload)))
            return r;
        if (json_array_size(merged) == 0) {
            r = patch_annotation(patch, kind, false, TRIGGER_ANNOTATION, json_null());
        } else {
            _cleanup_strbuf_ struct strbuf sb = STRBUF_INIT;
            if ((r = jsonx_dump_go(merged, &sb)))
                return r;
            r = patch_annotation(patch, kind, false, TRIGGER_ANNOTATION,
                                 json_string(strbuf_str(&sb)));
        }
        if (r)
            return r;
    }

    if ((r = plan_resolve_names(in, kind, self, managed, &patch)))
        return r;

    /* Drop empty owner records, then compare the record with what is stored. */
    rec = json_object_get(managed, self);
    if (rec && json_object_size(rec) == 0)
        json_object_del(managed, self);
    {
        _cleanup_json_ json_t *stored =
            load_annotation(in->workload, TRIGGER_MANAGED_ANNOTATION, JSON_OBJECT);
        if (!stored || !jsonx_equal(stored, managed)) {
            _cleanup_free_ char *s = json_object_size(managed) ? jsonx_dump(managed) : NULL;
            if ((r = ensure_patch(&patch, in->workload)))
                return r;
            r = patch_annotation(patch, kind, false, TRIGGER_MANAGED_ANNOTATION,
                                 s ? json_string(s) : json_null());
            if (r)
                return r;
        }
    }

    for (size_t i = 0; i < json_array_size(plan->claims); i++) {
        const char *st = jsonx_str(json_array_get(plan->claims, i), "state");
        if (!strcmp(st, "Applied") || !strcmp(st, "Paused"))
            plan->applied++;
        else
            plan->problems++;
    }
    plan->patch = TAKE_PTR(patch);
    return 0;
}

void trigger_workload_plan_clear(struct trigger_workload_plan *plan)
{
    json_decref(plan->patch);
    json_decref(plan->claims);
    plan->patch = plan->claims = NULL;
}

int trigger_workload_owners(const json_t *workload, void (*emit)(void *ctx, const char *owner),
                            void *ctx)
{
    _cleanup_json_ json_t *managed =
        load_annotation(workload, TRIGGER_MANAGED_ANNOTATION, JSON_OBJECT);
    const char *ns = jsonx_str(workload, "metadata", "namespace");
    const char *owner;
    json_t *rec;
    int n = 0;

    if (!managed)
        return 0;
    json_object_foreach (managed, owner, rec) {
        char key[512];
        snprintf(key, sizeof(key), "%s/%s", ns ? ns : "", owner);
        emit(ctx, key);
        n++;
    }
    return n;
}

bool trigger_stream_lookup_owned_by(const json_t *stream, const char *owner)
{
    _cleanup_json_ json_t *owners =
        load_annotation(stream, TRIGGER_LOOKUP_OWNERS_ANNOTATION, JSON_ARRAY);

    return owners && str_array_has(owners, owner);
}

int trigger_plan_stream_lookup(const char *owner, bool want, const json_t *stream, json_t **patch)
{
    _cleanup_json_ json_t *owners =
        load_annotation(stream, TRIGGER_LOOKUP_OWNERS_ANNOTATION, JSON_ARRAY);
    _cleanup_json_ json_t *p = NULL;
    bool local = jsonx_bool(stream, false, "spec", "lookupPolicy", "local");
    bool mine, owners_changed = false;
    size_t i;
    json_t *v;
    int r;

    *patch = NULL;
    if (!owners) /* our record is damaged: rebuild it */
        owners = json_array();
    if (!owners)
        return -ENOMEM;
    mine = str_array_has(owners, owner);
    if (want && !mine && (!local || json_array_size(owners) > 0)) {
        /* We set it, or share it with another ImageTrigger that set it. When it was true
         * before istrigger came (no owners), it is not ours to switch off later. */
        json_array_append_new(owners, json_string(owner));
        owners_changed = true;
    } else if (!want && mine) {
        json_array_foreach (owners, i, v) {
            if (!strcmp(json_string_value(v) ?: "", owner)) {
                json_array_remove(owners, i);
                break;
            }
        }
        owners_changed = true;
    }
    if (owners_changed) {
        _cleanup_free_ char *s = json_array_size(owners) ? jsonx_dump(owners) : NULL;
        if ((r = ensure_patch(&p, stream)) ||
            (r = jsonx_set(p, s ? json_string(s) : json_null(), "metadata", "annotations",
                           TRIGGER_LOOKUP_OWNERS_ANNOTATION)))
            return r;
    }
    if (want && !local) {
        if ((r = ensure_patch(&p, stream)) ||
            (r = jsonx_set(p, json_true(), "spec", "lookupPolicy", "local")))
            return r;
    } else if (!want && mine && local && json_array_size(owners) == 0) {
        if ((r = ensure_patch(&p, stream)) ||
            (r = jsonx_set(p, json_false(), "spec", "lookupPolicy", "local")))
            return r;
    }
    *patch = TAKE_PTR(p);
    return 0;
}

int trigger_resolve_tag(const json_t *stream, const char *tag, char **image, const char **created)
{
    const json_t *st = jsonx_array_find(jsonx_get(stream, "status", "tags"), "tag", tag, NULL);
    const json_t *spec = jsonx_array_find(jsonx_get(stream, "spec", "tags"), "name", tag, NULL);
    const json_t *item = json_array_get(json_object_get(st, "items"), 0);
    const char *policy = jsonx_str(spec, "referencePolicy", "type");
    const char *repo = jsonx_str(stream, "status", "dockerImageRepository");
    const char *img = jsonx_str(item, "image");
    const char *ref = jsonx_str(item, "dockerImageReference");

    *image = NULL;
    if (created)
        *created = NULL;
    if (!item)
        return err_set(-ENOENT, "tag %s of ImageStream %s/%s has not been imported yet", tag,
                       jsonx_str(stream, "metadata", "namespace") ?: "",
                       jsonx_str(stream, "metadata", "name") ?: "");
    if (policy && !strcmp(policy, "Local") && repo && *repo && img && *img) {
        if (asprintf(image, "%s@%s", repo, img) < 0) {
            *image = NULL;
            return -ENOMEM;
        }
    } else {
        if (!ref || !*ref)
            return err_set(-ENOENT, "tag %s has no dockerImageReference", tag);
        if (!(*image = strdup(ref)))
            return -ENOMEM;
    }
    if (created)
        *created = jsonx_str(item, "created");
    return 0;
}

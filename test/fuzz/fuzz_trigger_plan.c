/* libFuzzer target: the ImageTrigger planner on a workload whose annotations come from outside
 * (anyone may edit image.openshift.io/triggers and istrigger.io/managed-triggers). Input: the
 * triggers annotation, a NUL byte, the ownership annotation. Properties: no crash; a written
 * triggers annotation is a JSON array holding our entry; applying the patch and planning again
 * changes nothing (the reconciler converges instead of writing forever). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/controller/trigger_plan.h"
#include "istrigger/util/jsonx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char WORKLOAD[] =
    "{\"metadata\":{\"name\":\"api\",\"namespace\":\"ns\",\"resourceVersion\":\"1\","
    "\"annotations\":{}},\"spec\":{\"template\":{\"metadata\":{},\"spec\":{\"containers\":["
    "{\"name\":\"web\",\"image\":\"x\"},{\"name\":\"side\",\"image\":\"x\"}]}}}}";
static const char TRIGGER[] =
    "{\"metadata\":{\"name\":\"t\",\"namespace\":\"ns\",\"creationTimestamp\":\"2026-01-01T00:00:"
    "00Z\"},"
    "\"spec\":{\"target\":{\"kind\":\"Deployment\",\"name\":\"api\"},\"triggers\":[{\"from\":{"
    "\"name\":\"app:v1\"},\"containers\":[\"web\"]}],\"imageLookup\":{\"workload\":true}}}";

/* Apply the annotation parts of a merge patch (all the planner writes). */
static void apply(json_t *obj, const json_t *patch)
{
    const json_t *maps[2][2] = {
        {jsonx_get(patch, "metadata", "annotations"), jsonx_get(obj, "metadata", "annotations")},
        {jsonx_get(patch, "spec", "template", "metadata", "annotations"), NULL}};
    const char *k;
    json_t *v;

    if (maps[1][0]) {
        if (!jsonx_get(obj, "spec", "template", "metadata", "annotations"))
            jsonx_set(obj, json_object(), "spec", "template", "metadata", "annotations");
        maps[1][1] = jsonx_get(obj, "spec", "template", "metadata", "annotations");
    }
    for (int m = 0; m < 2; m++) {
        json_object_foreach ((json_t *)maps[m][0], k, v) {
            if (json_is_null(v))
                json_object_del((json_t *)maps[m][1], k);
            else
                json_object_set((json_t *)maps[m][1], k, v);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, 0, size);
    size_t alen = nul ? (size_t)(nul - (const char *)data) : size;
    json_t *wl = json_loads(WORKLOAD, 0, NULL);
    json_t *it = json_loads(TRIGGER, 0, NULL);
    json_t *ann = jsonx_get(wl, "metadata", "annotations");
    struct trigger_workload_input in = {.trigger = it, .workload = wl};
    struct trigger_workload_plan p;

    json_object_set_new(ann, TRIGGER_ANNOTATION, json_stringn_nocheck((const char *)data, alen));
    if (nul)
        json_object_set_new(ann, TRIGGER_MANAGED_ANNOTATION,
                            json_stringn_nocheck(nul + 1, size - alen - 1));
    if (trigger_plan_workload(&in, &p) == 0) {
        const char *s = jsonx_str(p.patch, "metadata", "annotations", TRIGGER_ANNOTATION);
        if (s) {
            json_t *arr = json_loads(s, 0, NULL);
            if (!json_is_array(arr) || !strstr(s, "\"app:v1\""))
                abort();
            json_decref(arr);
        }
        if (p.patch) {
            apply(wl, p.patch);
            trigger_workload_plan_clear(&p);
            if (trigger_plan_workload(&in, &p) != 0 || p.patch)
                abort();
        }
    }
    trigger_workload_plan_clear(&p);
    json_decref(wl);
    json_decref(it);
    return 0;
}

/*
 * status.c - the registry of status providers (controllers' live snapshots) and readiness.
 *
 * Providers are called on the HTTP server's threads. The lock guards only the table; it is
 * released before a provider runs, so a slow provider never blocks registration or another
 * request, and a provider may itself use status_* functions.
 */
#include "istrigger/http/status.h"

#include "istrigger/util/err.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROVIDERS 16

struct provider {
    char name[32];
    status_snapshot_fn fn;
    void *ctx;
};

/* Held for reading while providers and checks run, for writing while one is removed: once
 * status_unregister_provider / status_remove_ready_check return, no call to it is in flight,
 * so its owner may free the context. */
static pthread_rwlock_t call_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static struct provider providers[MAX_PROVIDERS];
static size_t nproviders;
static bool ready_flag;
#define MAX_READY_CHECKS 8
static struct ready_check {
    char name[32];
    bool (*fn)(void *ctx, struct strbuf *why);
    void *ctx;
} ready_checks[MAX_READY_CHECKS];
static size_t nready_checks;

static bool valid_provider_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= sizeof(providers[0].name))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
              name[i] == '-'))
            return false;
    return true;
}

/* Caller holds status_lock. */
static struct provider *find_provider(const char *name)
{
    for (size_t i = 0; i < nproviders; i++)
        if (strcmp(providers[i].name, name) == 0)
            return &providers[i];
    return NULL;
}

int status_register_provider(const char *name, status_snapshot_fn fn, void *ctx)
{
    struct provider *p;
    int r = 0;

    if (!valid_provider_name(name) || !fn)
        return err_set(-EINVAL, "status provider name \"%s\": want [a-z0-9-]{1,31}",
                       name ? name : "(null)");
    pthread_mutex_lock(&status_lock);
    p = find_provider(name);
    if (!p && nproviders < MAX_PROVIDERS)
        p = &providers[nproviders++];
    if (p) {
        strcpy(p->name, name);
        p->fn = fn;
        p->ctx = ctx;
    } else {
        r = err_set(-ENOMEM, "status provider %s: more than %d providers", name, MAX_PROVIDERS);
    }
    pthread_mutex_unlock(&status_lock);
    return r;
}

void status_unregister_provider(const char *name)
{
    pthread_rwlock_wrlock(&call_lock);
    pthread_mutex_lock(&status_lock);
    struct provider *p = name ? find_provider(name) : NULL;
    if (p) {
        size_t i = (size_t)(p - providers);
        memmove(providers + i, providers + i + 1, (nproviders - i - 1) * sizeof(*providers));
        nproviders--;
    }
    pthread_mutex_unlock(&status_lock);
    pthread_rwlock_unlock(&call_lock);
}

json_t *status_snapshot(const char *name)
{
    struct provider copy = {0};
    bool found = false;
    json_t *snap;

    pthread_rwlock_rdlock(&call_lock);
    pthread_mutex_lock(&status_lock);
    struct provider *p = name ? find_provider(name) : NULL;
    if (p) {
        copy = *p;
        found = true;
    }
    pthread_mutex_unlock(&status_lock);
    snap = found ? copy.fn(copy.ctx) : NULL;
    pthread_rwlock_unlock(&call_lock);
    return snap;
}

json_t *status_snapshot_all(void)
{
    struct provider copy[MAX_PROVIDERS];
    size_t n;
    json_t *all = json_object();

    pthread_rwlock_rdlock(&call_lock);
    pthread_mutex_lock(&status_lock);
    n = nproviders;
    memcpy(copy, providers, n * sizeof(*copy));
    pthread_mutex_unlock(&status_lock);
    for (size_t i = 0; all && i < n; i++) {
        json_t *snap = copy[i].fn(copy[i].ctx);
        json_object_set_new(all, copy[i].name, snap ? snap : json_null());
    }
    pthread_rwlock_unlock(&call_lock);
    return all;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

json_t *status_provider_names(void)
{
    const char *names[MAX_PROVIDERS] = {0};
    char storage[MAX_PROVIDERS][32];
    size_t n;
    json_t *arr = json_array();

    pthread_mutex_lock(&status_lock);
    n = nproviders;
    for (size_t i = 0; i < n; i++) {
        memcpy(storage[i], providers[i].name, sizeof(storage[i]));
        names[i] = storage[i];
    }
    pthread_mutex_unlock(&status_lock);
    qsort(names, n, sizeof(*names), compare_strings);
    for (size_t i = 0; arr && i < n; i++)
        json_array_append_new(arr, json_string(names[i]));
    return arr;
}

void status_set_ready(bool ready)
{
    pthread_mutex_lock(&status_lock);
    ready_flag = ready;
    pthread_mutex_unlock(&status_lock);
}

int status_add_ready_check(const char *name, bool (*check)(void *ctx, struct strbuf *why),
                           void *ctx)
{
    int r = 0;
    if (!valid_provider_name(name) || !check)
        return err_set(-EINVAL, "readiness check name \"%s\": want [a-z0-9-]{1,31}",
                       name ? name : "(null)");
    pthread_mutex_lock(&status_lock);
    if (nready_checks == MAX_READY_CHECKS) {
        r = err_set(-ENOMEM, "readiness check %s: more than %d checks", name, MAX_READY_CHECKS);
    } else {
        struct ready_check *c = &ready_checks[nready_checks++];
        snprintf(c->name, sizeof(c->name), "%s", name);
        c->fn = check;
        c->ctx = ctx;
    }
    pthread_mutex_unlock(&status_lock);
    return r;
}

void status_remove_ready_check(const char *name)
{
    pthread_rwlock_wrlock(&call_lock);
    pthread_mutex_lock(&status_lock);
    for (size_t i = 0; name && i < nready_checks; i++) {
        if (strcmp(ready_checks[i].name, name) == 0) {
            memmove(ready_checks + i, ready_checks + i + 1,
                    (nready_checks - i - 1) * sizeof(*ready_checks));
            nready_checks--;
            break;
        }
    }
    pthread_mutex_unlock(&status_lock);
    pthread_rwlock_unlock(&call_lock);
}

bool status_is_ready(struct strbuf *why)
{
    struct ready_check copy[MAX_READY_CHECKS];
    struct strbuf reason = STRBUF_INIT;
    size_t n;
    bool flag, ready;

    pthread_rwlock_rdlock(&call_lock);
    pthread_mutex_lock(&status_lock);
    flag = ready_flag;
    n = nready_checks;
    memcpy(copy, ready_checks, n * sizeof(*copy));
    pthread_mutex_unlock(&status_lock);
    if (!flag) {
        pthread_rwlock_unlock(&call_lock);
        if (why)
            strbuf_puts(why, "starting");
        return false;
    }
    ready = true;
    for (size_t i = 0; i < n; i++) {
        strbuf_reset(&reason);
        if (copy[i].fn(copy[i].ctx, &reason))
            continue;
        if (why)
            strbuf_printf(why, "%s%s%s%s", ready ? "" : "; ", copy[i].name, reason.len ? ": " : "",
                          strbuf_str(&reason));
        ready = false;
    }
    pthread_rwlock_unlock(&call_lock);
    strbuf_free(&reason);
    return ready;
}

void status_reset(void)
{
    pthread_mutex_lock(&status_lock);
    nproviders = 0;
    ready_flag = false;
    nready_checks = 0;
    pthread_mutex_unlock(&status_lock);
}

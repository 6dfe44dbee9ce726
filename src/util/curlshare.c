/*
 * curlshare.c - curl's global init and a locked share handle (see util/curlshare.h).
 *
 * curl calls the lock functions around every use of the shared data; one mutex per kind of
 * data (DNS, TLS sessions, connections) keeps unrelated users from waiting on each other.
 */
#include "istrigger/util/curlshare.h"

#include "istrigger/util/err.h"

#include <pthread.h>
#include <stdlib.h>

struct curlshare {
    CURLSH *sh;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST]; /* one per curl_lock_data kind */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_ALL) == CURLE_OK ? 0 : -EIO;
}

int curlshare_global_init(void)
{
    pthread_once(&global_once, global_init);
    if (global_rc < 0)
        return err_set(global_rc, "curl_global_init failed");
    return 0;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *userp)
{
    struct curlshare *s = userp;
    (void)h;
    (void)access;
    pthread_mutex_lock(&s->locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
    struct curlshare *s = userp;
    (void)h;
    pthread_mutex_unlock(&s->locks[data]);
}

int curlshare_new(bool connections, struct curlshare **out)
{
    struct curlshare *s;
    int r;

    *out = NULL;
    if ((r = curlshare_global_init()) < 0)
        return r;
    if (!(s = calloc(1, sizeof(*s))))
        return err_set(-ENOMEM, "curl share: out of memory");
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&s->locks[i], NULL);
    if (!(s->sh = curl_share_init())) {
        curlshare_free(s);
        return err_set(-ENOMEM, "curl share: out of memory");
    }
    curl_share_setopt(s->sh, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(s->sh, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(s->sh, CURLSHOPT_USERDATA, s);
    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (connections)
        curl_share_setopt(s->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    *out = s;
    return 0;
}

CURLSH *curlshare_handle(const struct curlshare *s)
{
    return s->sh;
}

void curlshare_free(struct curlshare *s)
{
    if (!s)
        return;
    if (s->sh)
        curl_share_cleanup(s->sh);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&s->locks[i]);
    free(s);
}

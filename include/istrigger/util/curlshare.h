/*
 * curlshare.h - libcurl's once-per-process global initialisation and a thread-safe curl share
 * handle (DNS cache and TLS sessions, optionally the connection cache) with its locking, for
 * the clients that talk HTTP (kube/, registry/).
 */
#ifndef ISTRIGGER_UTIL_CURLSHARE_H
#define ISTRIGGER_UTIL_CURLSHARE_H

#include <curl/curl.h>
#include <stdbool.h>

/* curl_global_init(CURL_GLOBAL_ALL) exactly once, whichever thread comes first.
 * 0, or -EIO with err_msg set. */
int curlshare_global_init(void);

struct curlshare;

/* A share handle for easy handles used from any thread: DNS and TLS sessions, plus the
 * connection cache when `connections`. Calls curlshare_global_init. 0, or -ENOMEM/-EIO with
 * err_msg set; *out is freed with curlshare_free. */
int curlshare_new(bool connections, struct curlshare **out);

/* The handle for CURLOPT_SHARE. Borrowed; valid until curlshare_free. */
CURLSH *curlshare_handle(const struct curlshare *s);

/* Free (after every easy handle using it is gone). NULL-safe. */
void curlshare_free(struct curlshare *s);

#endif

/*
 * version.c - `istrigger version`.
 */
#include "istrigger/cli/cli.h"
#include "istrigger/version.h"

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

int cli_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("Usage: istrigger version\n\nPrint the version of istrigger and of the libraries "
               "it runs with.\n");
        return 0;
    }
    printf("istrigger %s\n", ISTRIGGER_VERSION);
    printf("libcurl %s, jansson %s, %s\n", curl_version_info(CURLVERSION_NOW)->version,
           jansson_version_str(), OpenSSL_version(OPENSSL_VERSION));
    return 0;
}

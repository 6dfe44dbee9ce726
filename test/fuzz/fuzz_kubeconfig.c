/* libFuzzer target: kubeconfig parsing (src/kube/config.c, libyaml). Property: no crash or
 * leak; a loaded config has a server URL and a namespace; a failure has a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "istrigger/kube/config.h"
#include "istrigger/util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct kube_config *cfg = NULL;
    int r = kube_config_load_buffer((const char *)data, size, "fuzz", "/fuzz", NULL, &cfg);

    if (r == 0) {
        if (!cfg || !cfg->server || strncmp(cfg->server, "http", 4) != 0 || !cfg->namespace)
            abort();
        kube_config_free(cfg);
    } else if (cfg || !err_msg()[0]) {
        abort();
    }
    return 0;
}

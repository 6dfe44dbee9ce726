/* Unit tests for the registry client's batch machinery (registry/client.h) that the
 * integration tests cannot reach through `istrigger resolve`: stepping an event loop,
 * deadlines, cancellation, and the synchronous call failing on
 * a closed port. The "registry" is a real TCP listener that accepts and never answers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "istrigger/registry/client.h"
#include "istrigger/util/err.h"
#include "istrigger/util/timeutil.h"

struct seen {
    int calls;
    int err;
    char error[512];
};

static void record(void *ctx, const struct registry_result *r)
{
    struct seen *s = ctx;
    s->calls++;
    s->err = r->err;
    snprintf(s->error, sizeof(s->error), "%s", r->error);
}

/* A listening socket on 127.0.0.1 that never accepts: connects succeed, nothing answers. */
static int silent_listener(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 64), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void parse_ref(struct image_ref *r, int port, const char *repo)
{
    char s[128];
    snprintf(s, sizeof(s), "127.0.0.1:%d/%s:v1", port, repo);
    assert_int_equal(image_ref_parse(s, r), 0);
}

static void test_batch_deadline_fails_what_is_left_with_etimedout(void **state)
{
    struct registry_client *c;
    struct registry_batch *b;
    struct registry_request_opts o = {.insecure = true};
    struct seen s1 = {0}, s2 = {0};
    struct image_ref r;
    int port, fd = silent_listener(&port);
    (void)state;

    assert_int_equal(registry_client_new(NULL, &c), 0);
    b = registry_batch_new(c, 1); /* one in flight: the second waits in the queue */
    parse_ref(&r, port, "a");
    assert_int_equal(registry_batch_add(b, &r, &o, record, &s1), 0);
    assert_int_equal(registry_batch_add(b, &r, &o, record, &s2), 0);
    assert_int_equal(registry_batch_pending(b), 2);
    assert_int_equal(registry_batch_step(b, 20 * NS_PER_MS), 2);
    assert_int_equal(s1.calls, 0);
    int64_t t0 = time_mono_ns();
    assert_int_equal(registry_batch_run(b, 300 * NS_PER_MS), -ETIMEDOUT);
    assert_true(time_mono_ns() - t0 < 3 * NS_PER_SEC);
    assert_int_equal(s1.calls, 1);
    assert_int_equal(s2.calls, 1);
    assert_int_equal(s1.err, -ETIMEDOUT);
    assert_non_null(strstr(s2.error, "not resolved within 0.3 s"));
    assert_int_equal(registry_batch_pending(b), 0);
    registry_batch_free(b);
    image_ref_free(&r);
    registry_client_free(c);
    close(fd);
}

static void test_freeing_a_busy_batch_cancels_its_checks(void **state)
{
    struct registry_client *c;
    struct registry_batch *b;
    struct registry_request_opts o = {.insecure = true};
    struct seen s = {0};
    struct image_ref r;
    int port, fd = silent_listener(&port);
    (void)state;

    assert_int_equal(registry_client_new(NULL, &c), 0);
    b = registry_batch_new(c, 0);
    parse_ref(&r, port, "b");
    assert_int_equal(registry_batch_add(b, &r, &o, record, &s), 0);
    assert_int_equal(registry_batch_step(b, 10 * NS_PER_MS), 1);
    registry_batch_free(b);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.err, -ECANCELED);
    image_ref_free(&r);
    registry_client_free(c);
    close(fd);
}

static void test_sync_resolve_on_a_closed_port_is_econnrefused(void **state)
{
    struct registry_client *c;
    struct registry_request_opts o = {.insecure = true};
    struct registry_result res;
    struct image_ref r;
    int port, fd = silent_listener(&port);
    (void)state;

    close(fd); /* nothing listens there now */
    assert_int_equal(registry_client_new(NULL, &c), 0);
    parse_ref(&r, port, "d");
    assert_int_equal(registry_resolve_digest(c, &r, &o, &res), -ECONNREFUSED);
    assert_non_null(strstr(res.error, "cannot connect to 127.0.0.1:"));
    assert_non_null(strstr(err_msg(), "cannot connect"));
    assert_null(res.digest);

    struct registry_result copy;
    assert_int_equal(registry_result_copy(&copy, &res), 0);
    assert_string_equal(copy.error, res.error);
    registry_result_clear(&copy);
    registry_result_clear(&res);
    assert_int_equal(res.err, 0);

    struct registry_client_stats st;
    registry_client_get_stats(c, &st);
    assert_true(st.pings >= 1); /* https, then http because insecure */
    image_ref_free(&r);
    registry_client_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batch_deadline_fails_what_is_left_with_etimedout),
        cmocka_unit_test(test_freeing_a_busy_batch_cancels_its_checks),
        cmocka_unit_test(test_sync_resolve_on_a_closed_port_is_econnrefused),
    };
    return cmocka_run_group_tests_name("registry_client", tests, NULL, NULL);
}

/*
 * strmap.h - a hash table from strings to pointers (chained, FNV-1a, grows at load 1).
 *
 * The map copies keys and owns the copies; values are the caller's pointers. When a value
 * destructor is given to strmap_new, the map calls it on values it drops (strmap_remove,
 * strmap_set replacing a value, strmap_free). Not thread-safe: the owner's lock guards it.
 */
#ifndef ISTRIGGER_UTIL_STRMAP_H
#define ISTRIGGER_UTIL_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct strmap;

/* A new empty map (strmap_free). `free_value` may be NULL. NULL on ENOMEM. */
struct strmap *strmap_new(void (*free_value)(void *value));
void strmap_free(struct strmap *m);

/* Insert or replace. 0 or -ENOMEM (the map is unchanged and `value` not taken). */
int strmap_set(struct strmap *m, const char *key, void *value);

/* The value, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);

/* Remove `key`, destroying its value with free_value. True when it was there. */
bool strmap_remove(struct strmap *m, const char *key);

/* Remove `key` and return its value WITHOUT destroying it (NULL if absent). */
void *strmap_take(struct strmap *m, const char *key);

size_t strmap_size(const struct strmap *m);

/* Iteration: `it` starts zeroed; returns false at the end. Key and value are borrowed. The
 * map must not change during the iteration (collect keys first to remove). */
struct strmap_iter {
    size_t bucket;
    void *entry;
};
bool strmap_next(const struct strmap *m, struct strmap_iter *it, const char **key, void **value);

#endif

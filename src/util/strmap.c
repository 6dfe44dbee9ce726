/*
 * strmap.c - string-keyed hash table (see strmap.h): separate chaining with FNV-1a hashes,
 * doubling the bucket array whenever the entries outnumber the buckets.
 */
#include "istrigger/util/strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct strmap_entry {
    struct strmap_entry *next;
    uint64_t hash;
    void *value;
    char key[];
};

struct strmap {
    struct strmap_entry **buckets;
    size_t nbuckets; /* power of two */
    size_t size;
    void (*free_value)(void *);
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 14695981039346656037ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

struct strmap *strmap_new(void (*free_value)(void *value))
{
    struct strmap *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nbuckets = 16;
    m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    m->free_value = free_value;
    return m;
}

void strmap_free(struct strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct strmap_entry *e = m->buckets[i];
        while (e) {
            struct strmap_entry *next = e->next;
            if (m->free_value)
                m->free_value(e->value);
            free(e);
            e = next;
        }
    }
    free(m->buckets);
    free(m);
}

static struct strmap_entry **find_slot(const struct strmap *m, const char *key, uint64_t h)
{
    struct strmap_entry **p = &m->buckets[h & (m->nbuckets - 1)];
    while (*p && ((*p)->hash != h || strcmp((*p)->key, key) != 0))
        p = &(*p)->next;
    return p;
}

static void grow(struct strmap *m)
{
    size_t n = m->nbuckets * 2;
    struct strmap_entry **b = calloc(n, sizeof(*b));
    if (!b)
        return; /* keep the longer chains; still correct */
    for (size_t i = 0; i < m->nbuckets; i++) {
        struct strmap_entry *e = m->buckets[i];
        while (e) {
            struct strmap_entry *next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

int strmap_set(struct strmap *m, const char *key, void *value)
{
    uint64_t h = fnv1a(key);
    struct strmap_entry **p = find_slot(m, key, h);
    if (*p) {
        if (m->free_value && (*p)->value != value)
            m->free_value((*p)->value);
        (*p)->value = value;
        return 0;
    }
    size_t len = strlen(key);
    struct strmap_entry *e = malloc(sizeof(*e) + len + 1);
    if (!e)
        return -ENOMEM;
    memcpy(e->key, key, len + 1);
    e->hash = h;
    e->value = value;
    e->next = NULL;
    *p = e;
    if (++m->size > m->nbuckets)
        grow(m);
    return 0;
}

void *strmap_get(const struct strmap *m, const char *key)
{
    struct strmap_entry **p = find_slot(m, key, fnv1a(key));
    return *p ? (*p)->value : NULL;
}

void *strmap_take(struct strmap *m, const char *key)
{
    struct strmap_entry **p = find_slot(m, key, fnv1a(key));
    if (!*p)
        return NULL;
    struct strmap_entry *e = *p;
    void *v = e->value;
    *p = e->next;
    free(e);
    m->size--;
    return v;
}

bool strmap_remove(struct strmap *m, const char *key)
{
    struct strmap_entry **p = find_slot(m, key, fnv1a(key));
    if (!*p)
        return false;
    void *v = strmap_take(m, key);
    if (m->free_value)
        m->free_value(v);
    return true;
}

size_t strmap_size(const struct strmap *m)
{
    return m->size;
}

bool strmap_next(const struct strmap *m, struct strmap_iter *it, const char **key, void **value)
{
    struct strmap_entry *e = it->entry;
    if (e)
        e = e->next;
    while (!e && it->bucket < m->nbuckets)
        e = m->buckets[it->bucket++];
    it->entry = e;
    if (!e)
        return false;
    if (key)
        *key = e->key;
    if (value)
        *value = e->value;
    return true;
}

/*
 * DESIGN: ParallelizeUntil — n independent calls spread over a few
 * short-lived threads taking indexes from an atomic counter. Used where
 * upstream fans out goroutines: ReplicaSet slow-start batches, deletes.
 * If a thread cannot be created the caller's thread does the work, so the
 * calls always all happen.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "controllers/controllers.h"

struct par {
    int n;
    atomic_int next;
    atomic_int failed;
    int (*fn)(void *, int);
    void *arg;
};

static void *par_main(void *a)
{
    struct par *p = a;
    for (;;) {
        int i = atomic_fetch_add(&p->next, 1);
        if (i >= p->n)
            break;
        if (p->fn(p->arg, i) != 0)
            atomic_fetch_add(&p->failed, 1);
    }
    return NULL;
}

int ctrl_parallel(int n, int workers, int (*fn)(void *arg, int i), void *arg)
{
    struct par p;
    pthread_t th[32];
    int started = 0;

    if (n <= 0)
        return 0;
    p.n = n;
    atomic_init(&p.next, 0);
    atomic_init(&p.failed, 0);
    p.fn = fn;
    p.arg = arg;
    if (workers > 32)
        workers = 32;
    if (workers > n)
        workers = n;
    for (int i = 1; i < workers; i++) {
        if (pthread_create(&th[started], NULL, par_main, &p) != 0)
            break;
        started++;
    }
    par_main(&p);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    return atomic_load(&p.failed);
}

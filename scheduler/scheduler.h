/*
 * scheduler — the default-scheduler of `k1s server`: one thread that takes
 * pods with no spec.nodeName (schedulerName "default-scheduler" or unset),
 * filters and scores the nodes the way kube-scheduler's default profile
 * does, and binds through pods/binding. A pod that fits nowhere gets
 * PodScheduled=False/Unschedulable with kube-scheduler's message and a
 * FailedScheduling Event, and waits until a node or pod changes (or 5 min
 * pass) before it is tried again.
 *
 * Threads: sched_start/sched_stop from main's thread. The scheduler owns a
 * worker thread, two informers (pods, nodes; or it attaches to shared
 * ones) and an event recorder.
 */
#ifndef K1S_SCHEDULER_SCHEDULER_H
#define K1S_SCHEDULER_SCHEDULER_H

struct ctrl_api;
struct sched;

struct ctrl_informer;

/* api is copied. Errors: K1S_ENOMEM. */
int sched_start(const struct ctrl_api *api, struct sched **ret);
/* The same on informers of all pods and all nodes that another component
 * owns and runs (the controller manager's), attached to rather than
 * created, so that the server caches each object once. They must outlive
 * the scheduler (sched_stop detaches from them). */
int sched_start_shared(const struct ctrl_api *api, struct ctrl_informer *pods,
                       struct ctrl_informer *nodes, struct sched **ret);
/* Stops and joins every thread; frees. NULL ok. */
void sched_stop(struct sched *s);

#endif

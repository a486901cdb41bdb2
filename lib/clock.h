/*
 * clock — the two clocks k1s reads, in one place so that tests and the
 * simulation know what to inject instead.
 *
 * Thread-safe.
 */
#ifndef K1S_LIB_CLOCK_H
#define K1S_LIB_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC). */
int64_t clock_mono_ns(void);

/* Wall-clock time in nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_real_ns(void);

/* Formats `ns` (since the epoch) as RFC 3339 in UTC with whole seconds,
 * "2026-11-25T03:48:25Z", as Kubernetes writes creationTimestamp. `out`
 * must hold 21 bytes. Returns out. */
char *clock_rfc3339(int64_t ns, char *out, size_t len);

/* The same with microseconds, "2026-11-25T03:48:25.123456Z" (MicroTime, as
 * in Lease.spec.renewTime and Event.eventTime). `out` must hold 28 bytes. */
char *clock_rfc3339_micro(int64_t ns, char *out, size_t len);

/* Parses RFC 3339 ("...Z" or "+hh:mm", optional fraction) into ns since the
 * epoch. Returns 0 or K1S_EINVAL. */
int clock_parse_rfc3339(const char *s, int64_t *ret_ns);

#endif

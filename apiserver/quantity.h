/*
 * quantity — Kubernetes resource.Quantity ("500m", "1.5Gi", "1e3"):
 * parsing, exact value, and the canonical string Kubernetes stores and
 * prints.
 *
 * The value is kept exactly as Kubernetes keeps it: a sign and a magnitude
 * in units of 10^-9 (1n), anything finer rounded up, the magnitude capped at
 * 2^63-1 base units (k8s.io/apimachinery/pkg/api/resource ParseQuantity).
 * The format (decimal SI, binary SI or decimal exponent) comes from the
 * suffix and decides the canonical form, as in Kubernetes:
 *   "0.5" → "500m", "1000m" → "1", "1024Mi" → "1Gi", "1536Mi" → "1536Mi",
 *   "1e3" → "1e3" (decimal-exponent quantities keep that form), "1.5k" →
 *   "1500", "100Ki" with a fraction → decimal SI.
 *
 * Pure functions over a caller-allocated struct; any thread.
 */
#ifndef K1S_APISERVER_QUANTITY_H
#define K1S_APISERVER_QUANTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum api_quantity_format {
    API_QUANTITY_DECIMAL_SI = 0,       /* n u m "" k M G T P E */
    API_QUANTITY_BINARY_SI = 1,        /* Ki Mi Gi Ti Pi Ei */
    API_QUANTITY_DECIMAL_EXPONENT = 2, /* 1e3, 5E-2 */
};

struct api_quantity {
    bool negative;
    uint64_t nanos_hi; /* magnitude in 1e-9 units, high and low 64 bits; */
    uint64_t nanos_lo; /* at most (2^63-1) * 10^9 */
    enum api_quantity_format format;
};

/* The message Kubernetes gives for a string of the wrong shape. */
#define API_QUANTITY_FORMAT_ERR                                                \
    "quantities must match the regular expression "                            \
    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"

/* Parses s. Errors: K1S_EINVALID (empty, wrong shape, unknown suffix). */
int api_quantity_parse(const char *s, struct api_quantity *ret);

/* The same, with Kubernetes's message in errbuf (NULL ok): the one above,
 * "unable to parse quantity's suffix" or "unable to parse numeric part of
 * quantity". */
int api_quantity_parse_err(const char *s, struct api_quantity *ret,
                           char *errbuf, size_t errlen);

/* The value in thousandths, rounded away from zero (Kubernetes
 * MilliValue); saturates at INT64_MIN/MAX. */
int64_t api_quantity_milli(const struct api_quantity *q);

/* The value in base units, rounded away from zero (Kubernetes Value:
 * "1.2" is 2); saturating. */
int64_t api_quantity_value(const struct api_quantity *q);

/* -1, 0 or 1 as a < b, a == b, a > b (the format does not matter). */
int api_quantity_cmp(const struct api_quantity *a,
                     const struct api_quantity *b);

/* Kubernetes's canonical string into out. Returns the length, or
 * K1S_EINVAL if len is too small (64 bytes is always enough). */
int api_quantity_format(const struct api_quantity *q, char *out, size_t len);

#endif

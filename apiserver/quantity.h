/*
 * quantity — Kubernetes resource.Quantity ("500m", "1.5Gi", "1e3"):
 * parsing, exact value, and the canonical string Kubernetes stores and
 * prints.
 *
 * The value is kept as Kubernetes keeps it (k8s.io/apimachinery
 * pkg/api/resource ParseQuantity): a sign, a decimal mantissa and a
 * power-of-ten exponent; anything finer than 10^-9 (1n) is rounded up,
 * away from zero; binary-SI quantities are capped at 2^63-1 base units
 * (decimal ones are not). The format (decimal SI, binary SI or decimal
 * exponent) comes from the suffix and decides the canonical form:
 *   "0.5" → "500m", "1000m" → "1", "1024Mi" → "1Gi", "1536Mi" → "1536Mi",
 *   "1.5k" → "1500", "10e2" → "1e3", "1.5Ki" → "1536", "8Ei" →
 *   "9223372036854775807".
 * Like Kubernetes, a short number already written in a canonical-looking
 * way is kept exactly as written ("+5", "1e3", "1.G", "062"); see
 * api_quantity_format.
 *
 * Limits (deviations only for inputs no client sends): mantissas keep 36
 * significant digits (Kubernetes keeps any number; beyond 36, digits above
 * 1n are dropped, digits below round up as usual); a decimal-SI value past
 * the "E" suffix prints as "<m>e<exp>" where Kubernetes prints the mantissa
 * with no suffix at all ("1000E" → "1").
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
    uint64_t mant_hi; /* |value| = mantissa * 10^exp; the mantissa's high */
    uint64_t mant_lo; /* and low 64 bits (at most 10^38) */
    int64_t exp;
    enum api_quantity_format format;
    char str[40]; /* the input, when Kubernetes would keep it as written */
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

/* The string Kubernetes stores for q: the input as written when
 * ParseQuantity keeps it (a number of at most 18 digits whose digits and
 * exponent are already canonical), else the canonical form. Returns the
 * length, or K1S_EINVAL if len is too small (64 bytes is always enough). */
int api_quantity_format(const struct api_quantity *q, char *out, size_t len);

#endif

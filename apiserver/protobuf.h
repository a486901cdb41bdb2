/*
 * protobuf — decodes the Kubernetes protobuf request bodies that kubectl's
 * typed clients send (Content-Type application/vnd.kubernetes.protobuf)
 * into the JSON form of the object, so the rest of the API server only
 * ever sees JSON.
 *
 * A body is the magic "k8s\0" followed by a runtime.Unknown message
 * {typeMeta{apiVersion, kind}, raw, contentEncoding, contentType}; raw is
 * the object encoded with the k8s.io/api generated.proto field numbers.
 * Decoded kinds: v1 Namespace, ConfigMap, Secret, Service, Pod,
 * ServiceAccount; apps/v1 Deployment; batch/v1 Job; DeleteOptions;
 * authorization.k8s.io/v1 SelfSubjectAccessReview — the fields kubectl
 * create/auth can-i/drain send (metadata, pod templates with containers,
 * ports, env, resources ...). Fields outside the tables are skipped.
 *
 * gogo-protobuf writes every scalar; empty strings, zeros and empty
 * messages are treated as unset, except for fields that are pointers in Go
 * (replicas, gracePeriodSeconds, immutable ...) where 0/false is a value.
 *
 * Pure function, any thread. Nesting is bounded (API_PROTOBUF_MAX_DEPTH).
 */
#ifndef K1S_APISERVER_PROTOBUF_H
#define K1S_APISERVER_PROTOBUF_H

#include <stddef.h>

#include <jansson.h>

#define API_PROTOBUF_MAX_DEPTH 32

/* Decodes data[0, len) into *ret (new reference, apiVersion and kind
 * set). Errors: K1S_EMEDIA for a kind it does not decode or an encoded
 * (gzip) raw object; K1S_EBADREQ for malformed input (bad magic,
 * truncated varint, length past the end, wrong wire type, nesting too
 * deep); K1S_ENOMEM. errbuf (NULL ok) says why. */
int api_protobuf_decode(const void *data, size_t len, json_t **ret,
                        char *errbuf, size_t errlen);

#endif

/*
 * DESIGN: the Node object and its Lease (core/v1 Node, coordination/v1
 * Lease; the kubelet's "node status" and "node lease" loops).
 *
 * Registration is POST /api/v1/nodes (409 AlreadyExists is fine: a
 * restarted agent re-uses its Node), then the status is written through the
 * status subresource with a merge patch, because a create may reset status.
 * nodeInfo carries all ten NodeSystemInfo fields with real values (the
 * Python client refuses a partial one, kubectl-wire.md §9): kernel from
 * uname, OS image from /etc/os-release, machine-id, boot-id, system UUID
 * (DMI when readable, else the machine-id), architecture in Go's names.
 *
 * The Lease in kube-node-lease is renewed with a merge patch of renewTime;
 * a 404 creates it (and the namespace, if that is what is missing).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent/agent_client.h"
#include "agent/agent_int.h"
#include "lib/clock.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/version.h"

static void read_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "re");
    out[0] = '\0';
    if (f == NULL)
        return;
    if (fgets(out, (int)len, f) == NULL)
        out[0] = '\0';
    out[strcspn(out, "\n")] = '\0';
    fclose(f);
}

static void os_image(char *out, size_t len)
{
    FILE *f = fopen("/etc/os-release", "re");
    char line[512];

    snprintf(out, len, "Linux");
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
            char *v = line + 12;
            v[strcspn(v, "\n")] = '\0';
            if (*v == '"') {
                v++;
                v[strcspn(v, "\"")] = '\0';
            }
            snprintf(out, len, "%s", v);
        }
    }
    fclose(f);
}

static const char *go_arch(const char *m)
{
    if (strcmp(m, "x86_64") == 0)
        return "amd64";
    if (strcmp(m, "aarch64") == 0)
        return "arm64";
    if (strncmp(m, "armv", 4) == 0)
        return "arm";
    if (strcmp(m, "i686") == 0 || strcmp(m, "i386") == 0)
        return "386";
    return m;
}

json_t *agent_node_object(const struct agent_node_desc *d)
{
    struct utsname u;
    char arch[64];
    json_t *node;

    uname(&u);
    snprintf(arch, sizeof arch, "%s", go_arch(u.machine));
    node =
        json_pack("{s:s,s:s,s:{s:s,s:{s:s,s:s,s:s}},s:{}}", "apiVersion", "v1",
                  "kind", "Node", "metadata", "name", d->name, "labels",
                  "kubernetes.io/hostname", d->name, "kubernetes.io/os",
                  "linux", "kubernetes.io/arch", arch, "spec");
    if (d->simulated)
        json_object_set_new(
            json_object_get(json_object_get(node, "metadata"), "labels"),
            "k1s.io/simulated", json_string("true"));
    return node;
}

json_t *agent_node_status(const struct agent_node_desc *d)
{
    struct utsname u;
    char osimg[256], mid[128], bid[128], uuid[128], ts[32], cpu[32], mem[64],
        eph[64], rt[64];
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long long mem_kib =
        (long long)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE) / 1024;
    struct statvfs vfs;
    json_t *st, *conds;
    static const char *const ctypes[4][4] = {
        {"Ready", "True", "KubeletReady", "k1s agent is posting ready status"},
        {"MemoryPressure", "False", "KubeletHasSufficientMemory",
         "k1s agent has sufficient memory available"},
        {"DiskPressure", "False", "KubeletHasNoDiskPressure",
         "k1s agent has no disk pressure"},
        {"PIDPressure", "False", "KubeletHasSufficientPID",
         "k1s agent has sufficient PID available"},
    };

    uname(&u);
    os_image(osimg, sizeof osimg);
    read_line("/etc/machine-id", mid, sizeof mid);
    read_line("/proc/sys/kernel/random/boot_id", bid, sizeof bid);
    read_line("/sys/class/dmi/id/product_uuid", uuid, sizeof uuid);
    if (uuid[0] == '\0')
        snprintf(uuid, sizeof uuid, "%s", mid);
    if (d->simulated) {
        ncpu = 4;
        mem_kib = 16LL * 1024 * 1024;
    }
    snprintf(cpu, sizeof cpu, "%ld", ncpu > 0 ? ncpu : 1);
    snprintf(mem, sizeof mem, "%lldKi", mem_kib);
    if (d->data_dir && statvfs(d->data_dir, &vfs) == 0)
        snprintf(eph, sizeof eph, "%lluKi",
                 (unsigned long long)vfs.f_blocks * vfs.f_frsize / 1024);
    else
        snprintf(eph, sizeof eph, "%dGi", 100);
    snprintf(rt, sizeof rt, "k1s-process://%s", K1S_VERSION);
    clock_rfc3339(clock_real_ns(), ts, sizeof ts);
    conds = json_array();
    for (int i = 0; i < 4; i++)
        json_array_append_new(
            conds,
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type", ctypes[i][0],
                      "status", ctypes[i][1], "reason", ctypes[i][2], "message",
                      ctypes[i][3], "lastHeartbeatTime", ts,
                      "lastTransitionTime", d->since[0] ? d->since : ts));
    st = json_pack(
        "{s:{s:s,s:s,s:s,s:s},s:{s:s,s:s,s:s,s:s},s:o,s:[{s:s,s:s},{s:s,s:s}],"
        "s:{s:{s:i}},s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s},s:[],s:s}",
        "capacity", "cpu", cpu, "memory", mem, "pods", "110",
        "ephemeral-storage", eph, "allocatable", "cpu", cpu, "memory", mem,
        "pods", "110", "ephemeral-storage", eph, "conditions", conds,
        "addresses", "type", "InternalIP", "address", d->ip, "type", "Hostname",
        "address", d->name, "daemonEndpoints", "kubeletEndpoint", "Port",
        d->port, "nodeInfo", "machineID", mid, "systemUUID", uuid, "bootID",
        bid, "kernelVersion", u.release, "osImage", osimg,
        "containerRuntimeVersion", rt, "kubeletVersion", d->kube_version,
        "kubeProxyVersion", d->kube_version, "operatingSystem", "linux",
        "architecture", go_arch(u.machine), "images", "phase", "Running");
    return st;
}

int agent_node_register(struct agent_http *h, const struct agent_node_desc *d,
                        char *err, size_t errlen)
{
    json_t *node = agent_node_object(d), *resp = NULL;
    int rv;

    rv = agent_http_call(h, "POST", "/api/v1/nodes", NULL, node, 10000, &resp);
    json_decref(node);
    json_decref(resp);
    resp = NULL;
    if (rv < 0) {
        snprintf(err, errlen, "cannot reach the API server: %s", err_str(rv));
        return rv;
    }
    if (rv != 201 && rv != 200 && rv != 409) {
        snprintf(err, errlen, "POST /api/v1/nodes answered %d", rv);
        return K1S_EIO;
    }
    return agent_node_post_status(h, d, err, errlen);
}

int agent_node_post_status(struct agent_http *h,
                           const struct agent_node_desc *d, char *err,
                           size_t errlen)
{
    json_t *patch, *resp = NULL;
    char path[512];
    int rv;

    patch = json_pack("{s:o}", "status", agent_node_status(d));
    snprintf(path, sizeof path, "/api/v1/nodes/%s/status", d->name);
    rv = agent_http_call(h, "PATCH", path, "application/merge-patch+json",
                         patch, 10000, &resp);
    json_decref(patch);
    json_decref(resp);
    if (rv == 200)
        return 0;
    snprintf(err, errlen, "PATCH %s answered %d", path, rv);
    return rv == 404 ? K1S_ENOTFOUND : rv < 0 ? rv : K1S_EIO;
}

int agent_lease_renew(struct agent_http *h, const char *node)
{
    char path[512], ts[40];
    json_t *body, *resp = NULL;
    int rv;

    clock_rfc3339_micro(clock_real_ns(), ts, sizeof ts);
    snprintf(path, sizeof path,
             "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/"
             "leases/%s",
             node);
    body = json_pack("{s:{s:s,s:i,s:s}}", "spec", "holderIdentity", node,
                     "leaseDurationSeconds", 40, "renewTime", ts);
    rv = agent_http_call(h, "PATCH", path, "application/merge-patch+json", body,
                         10000, &resp);
    json_decref(resp);
    resp = NULL;
    if (rv == 404) {
        json_t *lease = json_pack(
            "{s:s,s:s,s:{s:s,s:s},s:O}", "apiVersion", "coordination.k8s.io/v1",
            "kind", "Lease", "metadata", "name", node, "namespace",
            "kube-node-lease", "spec", json_object_get(body, "spec"));
        rv = agent_http_call(
            h, "POST",
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
            NULL, lease, 10000, &resp);
        json_decref(resp);
        resp = NULL;
        if (rv == 404) {
            json_t *ns =
                json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind",
                          "Namespace", "metadata", "name", "kube-node-lease");
            agent_http_call(h, "POST", "/api/v1/namespaces", NULL, ns, 10000,
                            NULL);
            json_decref(ns);
            rv = agent_http_call(h, "POST",
                                 "/apis/coordination.k8s.io/v1/namespaces/"
                                 "kube-node-lease/leases",
                                 NULL, lease, 10000, NULL);
        }
        json_decref(lease);
        if (rv == 201 || rv == 409)
            rv = 200;
    }
    json_decref(body);
    return rv == 200 ? 0 : rv < 0 ? rv : K1S_EIO;
}

int agent_server_version(struct agent_http *h, char *out, size_t len)
{
    json_t *v = NULL;
    int rv = agent_http_call(h, "GET", "/version", NULL, NULL, 5000, &v);
    const char *g = json_string_value(json_object_get(v, "gitVersion"));
    if (rv == 200 && g)
        snprintf(out, len, "%s", g);
    json_decref(v);
    return rv == 200 && g ? 0 : rv < 0 ? rv : K1S_EIO;
}

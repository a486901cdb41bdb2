/*
 * DESIGN: cgroups for pods.
 *
 * The agent nests its cgroups under the cgroup it was started in (so a
 * supervisor's limits still hold): `<own>/k1s-<node>/pod-<uid>/c-<name>-<n>`.
 * The pod cgroup carries the sum of its containers' limits, each container
 * run its own (Kubernetes's limits are per container); a fresh container
 * cgroup per run makes its OOM counter mean "this run was OOM-killed".
 *
 * cgroup v1 (memory and cpu hierarchies mounted separately) and v2 (one
 * unified hierarchy; controllers must be enabled in the parents'
 * cgroup.subtree_control) are both handled; v1 is preferred when its memory
 * controller is mounted, because on hybrid machines the v2 tree then has no
 * memory controller at all.
 *
 * Files: memory.limit_in_bytes / cpu.cfs_quota_us + cpu.cfs_period_us (v1,
 * Documentation/admin-guide/cgroup-v1/), memory.max / cpu.max (v2,
 * Documentation/admin-guide/cgroup-v2.rst); OOM kills from the oom_kill
 * line of memory.oom_control (v1) or memory.events (v2).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent/agent_int.h"
#include "lib/err.h"

static int write_file(const char *dir, const char *name, const char *val)
{
    char path[PATH_MAX];
    int fd, rv = 0;
    size_t n = strlen(val);

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return K1S_EINVAL;
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return err_from_errno(errno);
    if (write(fd, val, n) != (ssize_t)n)
        rv = err_from_errno(errno);
    close(fd);
    return rv;
}

static int read_file(const char *dir, const char *name, char *buf, size_t len)
{
    char path[PATH_MAX];
    ssize_t n;
    int fd;

    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return K1S_EINVAL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_from_errno(errno);
    n = read(fd, buf, len - 1);
    close(fd);
    if (n < 0)
        return K1S_EIO;
    buf[n] = '\0';
    return 0;
}

/* Our own path in the hierarchy that has `controller` (v1), or in the
 * unified one (controller == NULL). */
static int own_path(const char *controller, char *ret, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[1024];
    int rv = K1S_ENOTFOUND;

    if (f == NULL)
        return K1S_ENOTFOUND;
    while (fgets(line, sizeof line, f)) {
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c1 = '\0';
        *c2 = '\0';
        line[strcspn(line, "\n")] = '\0';
        c2[1 + strcspn(c2 + 1, "\n")] = '\0';
        if (controller == NULL ? strcmp(line, "0") == 0 && c1[1] == '\0'
                               : false) {
            snprintf(ret, len, "%s", c2 + 1);
            rv = 0;
            break;
        }
        if (controller) {
            char *tok, *save = NULL;
            for (tok = strtok_r(c1 + 1, ",", &save); tok;
                 tok = strtok_r(NULL, ",", &save))
                if (strcmp(tok, controller) == 0) {
                    snprintf(ret, len, "%s", c2 + 1);
                    rv = 0;
                }
            if (rv == 0)
                break;
        }
    }
    fclose(f);
    return rv;
}

/* Where the hierarchy with `opt` (v1 controller) or cgroup2 is mounted. */
static int mount_point(const char *fstype, const char *opt, char *ret,
                       size_t len)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    char dev[256], mnt[PATH_MAX], type[64], opts[1024];
    int rv = K1S_ENOTFOUND;

    if (f == NULL)
        return K1S_ENOTFOUND;
    while (fscanf(f, "%255s %4095s %63s %1023s %*d %*d", dev, mnt, type,
                  opts) == 4) {
        char *tok, *save = NULL;
        if (strcmp(type, fstype) != 0)
            continue;
        if (opt == NULL) {
            snprintf(ret, len, "%s", mnt);
            rv = 0;
            break;
        }
        for (tok = strtok_r(opts, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save))
            if (strcmp(tok, opt) == 0)
                rv = 0;
        if (rv == 0) {
            snprintf(ret, len, "%s", mnt);
            break;
        }
    }
    fclose(f);
    return rv;
}

static int v1_node_dir(const char *controller, const char *node, char *ret,
                       size_t len)
{
    char mnt[PATH_MAX], own[PATH_MAX];

    if (mount_point("cgroup", controller, mnt, sizeof mnt) != 0 ||
        own_path(controller, own, sizeof own) != 0)
        return K1S_ENOTFOUND;
    if (strcmp(own, "/") == 0)
        own[0] = '\0';
    if (snprintf(ret, len, "%s%s/k1s-%s", mnt, own, node) >= (int)len)
        return K1S_EINVAL;
    if (mkdir(ret, 0755) != 0 && errno != EEXIST)
        return err_from_errno(errno);
    return 0;
}

void agent_cgroup_detect(struct agent_cgroups *cg, const char *node)
{
    char mnt[PATH_MAX], own[PATH_MAX], ctl[256];

    memset(cg, 0, sizeof *cg);
    if (v1_node_dir("memory", node, cg->mem_dir, sizeof cg->mem_dir) == 0) {
        cg->version = 1;
        cg->memory = true;
        if (v1_node_dir("cpu", node, cg->cpu_dir, sizeof cg->cpu_dir) == 0)
            cg->cpu = true;
        else {
            cg->cpu_dir[0] = '\0';
            snprintf(cg->why, sizeof cg->why, "no writable v1 cpu hierarchy");
        }
        return;
    }
    cg->mem_dir[0] = '\0';
    if (mount_point("cgroup2", NULL, mnt, sizeof mnt) != 0) {
        snprintf(cg->why, sizeof cg->why, "no cgroup filesystem mounted");
        return;
    }
    if (own_path(NULL, own, sizeof own) != 0)
        own[0] = '\0';
    if (strcmp(own, "/") == 0)
        own[0] = '\0';
    if (snprintf(cg->v2_dir, sizeof cg->v2_dir, "%s%s/k1s-%s", mnt, own,
                 node) >= (int)sizeof cg->v2_dir ||
        (mkdir(cg->v2_dir, 0755) != 0 && errno != EEXIST)) {
        snprintf(cg->why, sizeof cg->why, "cannot create %s: %s", cg->v2_dir,
                 strerror(errno));
        cg->v2_dir[0] = '\0';
        return;
    }
    cg->version = 2;
    /* Enable the controllers for our subtree (fails when our own cgroup
     * still holds processes and is not the root: "no internal processes"),
     * then check what the node directory really got. */
    snprintf(mnt + strlen(mnt), sizeof mnt - strlen(mnt), "%s", own);
    write_file(mnt, "cgroup.subtree_control", "+memory");
    write_file(mnt, "cgroup.subtree_control", "+cpu");
    write_file(cg->v2_dir, "cgroup.subtree_control", "+memory");
    write_file(cg->v2_dir, "cgroup.subtree_control", "+cpu");
    if (read_file(cg->v2_dir, "cgroup.subtree_control", ctl, sizeof ctl) == 0) {
        cg->memory = strstr(ctl, "memory") != NULL;
        cg->cpu = strstr(ctl, "cpu") != NULL;
    }
    if (!cg->memory || !cg->cpu)
        snprintf(cg->why, sizeof cg->why,
                 "cgroup v2 controllers not delegated to %s", cg->v2_dir);
}

static int make_dir(const char *base, const char *rel, char *ret, size_t len)
{
    if (snprintf(ret, len, "%s/%s", base, rel) >= (int)len)
        return K1S_EINVAL;
    if (mkdir(ret, 0755) != 0 && errno != EEXIST)
        return err_from_errno(errno);
    return 0;
}

int agent_cgroup_create(const struct agent_cgroups *cg, const char *rel,
                        int64_t mem_bytes, int64_t cpu_milli)
{
    char dir[PATH_MAX], val[64];
    int rv = 0;

    if (cg->version == 1) {
        if (cg->memory) {
            rv = make_dir(cg->mem_dir, rel, dir, sizeof dir);
            if (rv == 0 && mem_bytes > 0) {
                snprintf(val, sizeof val, "%lld", (long long)mem_bytes);
                rv = write_file(dir, "memory.limit_in_bytes", val);
                /* With swap the limit would only push pages out. */
                write_file(dir, "memory.swappiness", "0");
            }
        }
        if (rv == 0 && cg->cpu) {
            rv = make_dir(cg->cpu_dir, rel, dir, sizeof dir);
            if (rv == 0 && cpu_milli > 0) {
                int64_t q = cpu_milli * 100;
                write_file(dir, "cpu.cfs_period_us", "100000");
                snprintf(val, sizeof val, "%lld",
                         (long long)(q < 1000 ? 1000 : q));
                rv = write_file(dir, "cpu.cfs_quota_us", val);
            }
        }
    } else if (cg->version == 2) {
        rv = make_dir(cg->v2_dir, rel, dir, sizeof dir);
        if (rv == 0) {
            write_file(dir, "cgroup.subtree_control", "+memory");
            write_file(dir, "cgroup.subtree_control", "+cpu");
        }
        if (rv == 0 && cg->memory && mem_bytes > 0) {
            snprintf(val, sizeof val, "%lld", (long long)mem_bytes);
            rv = write_file(dir, "memory.max", val);
            write_file(dir, "memory.swap.max", "0");
        }
        if (rv == 0 && cg->cpu && cpu_milli > 0) {
            int64_t q = cpu_milli * 100;
            snprintf(val, sizeof val, "%lld 100000",
                     (long long)(q < 1000 ? 1000 : q));
            rv = write_file(dir, "cpu.max", val);
        }
    }
    return rv;
}

void agent_cgroup_procs_paths(const struct agent_cgroups *cg, const char *rel,
                              char *ret1, size_t len1, char *ret2, size_t len2)
{
    ret1[0] = ret2[0] = '\0';
    if (cg->version == 1) {
        if (cg->memory)
            snprintf(ret1, len1, "%s/%s/cgroup.procs", cg->mem_dir, rel);
        if (cg->cpu)
            snprintf(ret2, len2, "%s/%s/cgroup.procs", cg->cpu_dir, rel);
    } else if (cg->version == 2) {
        snprintf(ret1, len1, "%s/%s/cgroup.procs", cg->v2_dir, rel);
    }
}

uint64_t agent_cgroup_oom_kills(const struct agent_cgroups *cg, const char *rel)
{
    char dir[PATH_MAX], buf[2048], *p;

    if (cg->version == 1 && cg->memory) {
        snprintf(dir, sizeof dir, "%s/%s", cg->mem_dir, rel);
        if (read_file(dir, "memory.oom_control", buf, sizeof buf) != 0)
            return 0;
    } else if (cg->version == 2) {
        snprintf(dir, sizeof dir, "%s/%s", cg->v2_dir, rel);
        if (read_file(dir, "memory.events", buf, sizeof buf) != 0)
            return 0;
    } else {
        return 0;
    }
    p = strstr(buf, "oom_kill ");
    return p ? strtoull(p + 9, NULL, 10) : 0;
}

static int kill_dir(const char *dir, int sig, int depth)
{
    char path[PATH_MAX], line[32];
    FILE *f;
    DIR *d;
    struct dirent *e;
    int n = 0;

    if (depth > 8)
        return 0;
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    f = fopen(path, "re");
    if (f) {
        while (fgets(line, sizeof line, f)) {
            int pid = atoi(line);
            if (pid > 0 && kill(pid, sig) == 0)
                n++;
        }
        fclose(f);
    }
    d = opendir(dir);
    if (d == NULL)
        return n;
    while ((e = readdir(d)) != NULL) {
        if (e->d_type != DT_DIR || e->d_name[0] == '.')
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >=
            (int)sizeof path)
            continue;
        n += kill_dir(path, sig, depth + 1);
    }
    closedir(d);
    return n;
}

int agent_cgroup_kill(const struct agent_cgroups *cg, const char *rel, int sig)
{
    char dir[PATH_MAX];
    const char *base = cg->version == 2 ? cg->v2_dir
                       : cg->memory     ? cg->mem_dir
                       : cg->cpu        ? cg->cpu_dir
                                        : NULL;
    if (base == NULL || cg->version == 0)
        return 0;
    snprintf(dir, sizeof dir, "%s/%s", base, rel);
    return kill_dir(dir, sig, 0);
}

static void rm_tree(const char *dir, int depth)
{
    char path[PATH_MAX];
    DIR *d;
    struct dirent *e;

    if (depth > 8)
        return;
    d = opendir(dir);
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (e->d_type != DT_DIR || e->d_name[0] == '.')
                continue;
            if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) <
                (int)sizeof path)
                rm_tree(path, depth + 1);
        }
        closedir(d);
    }
    rmdir(dir);
}

void agent_cgroup_remove(const struct agent_cgroups *cg, const char *rel)
{
    const char *bases[2] = {NULL, NULL};
    char dir[PATH_MAX];

    if (cg->version == 1) {
        bases[0] = cg->memory ? cg->mem_dir : NULL;
        bases[1] = cg->cpu ? cg->cpu_dir : NULL;
    } else if (cg->version == 2) {
        bases[0] = cg->v2_dir;
    }
    for (int i = 0; i < 2; i++) {
        if (bases[i] == NULL)
            continue;
        snprintf(dir, sizeof dir, "%s/%s", bases[i], rel);
        rm_tree(dir, 0);
    }
}

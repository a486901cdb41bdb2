"""Node agent benchmarks (make bench).

1. Pod start latency, bound → Running: 100 pods created with spec.nodeName
   (already bound), each timed from its POST's answer to the watch event
   that shows it Running; p50 / p99 / max.
2. The agent's RSS and CPU with those 100 pods running (CPU over 10 s).
3. `k1s agent --simulate 1000`: RSS with 1,000 nodes registered, then with
   BENCH_SIM_PODS (default 10000) pods bound to them and reported Running.

Every figure is printed with what it is measured against; the machine is
shared, so numbers are noisy.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

N_PODS = int(os.environ.get("BENCH_AGENT_PODS", "100"))
SIM_NODES = int(os.environ.get("BENCH_SIM_NODES", "1000"))
SIM_PODS = int(os.environ.get("BENCH_SIM_PODS", "10000"))


def rss_kib(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def mem(pid):
    """RSS, and how much of it is the process's own (anonymous) memory
    versus file pages: the shared libraries the one k1s binary maps (and
    the binary's own code, a few hundred KiB of it)."""
    return "RSS %d KiB (own/anonymous %d KiB, shared-library file pages " \
        "%d KiB)" % (rss_kib(pid), rss_kib(pid, "RssAnon"),
                     rss_kib(pid, "RssFile"))


def mem_by_mapping(pid, n=8):
    """The n mappings with the most resident KiB (/proc/PID/smaps Rss,
    file and anonymous pages together), e.g. "libc.so.6 1600, [heap]
    900": where the RSS above is."""
    per, cur = {}, None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                p = line.split()
                if not p[0].endswith(":"):
                    cur = os.path.basename(p[5]) if len(p) > 5 else "[anon]"
                elif p[0] == "Rss:":
                    per[cur] = per.get(cur, 0) + int(p[1])
    except OSError:
        return "?"
    top = sorted(per.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join("%s %d" % kv for kv in top)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    fields = s[s.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def pct(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    i = min(len(sorted_vals) - 1, int(round(p / 100.0 * (len(sorted_vals) - 1))))
    return sorted_vals[i]


def post(url, path, obj):
    req = urllib.request.Request(url + path, data=json.dumps(obj).encode(),
                                 method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status


def wait(pred, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.2)
    return False


def node_pods(srv, node):
    st, body, _ = srv.get("/api/v1/pods?fieldSelector=spec.nodeName%3D" +
                          node)
    return json.loads(body)["items"] if st == 200 else []


def bench_real_agent():
    srv = k1s.Server().start()
    adir = tempfile.mkdtemp(prefix="k1s-bench-agent-")
    log = open(os.path.join(adir, "agent.log"), "wb")
    agent = subprocess.Popen([k1s.K1S_BIN, "agent", "--server", srv.url,
                              "--node-name", "bench-node", "--data-dir",
                              adir, "--log-level", "debug"],
                             stdout=log, stderr=subprocess.STDOUT)
    try:
        ok = wait(lambda: srv.get("/api/v1/nodes/bench-node")[0] == 200, 30)
        assert ok, "agent did not register"
        running_at = {}
        created_at = {}
        done = threading.Event()

        def watcher():
            req = urllib.request.Request(
                srv.url + "/api/v1/pods?watch=true&fieldSelector="
                "spec.nodeName%3Dbench-node&timeoutSeconds=300")
            with urllib.request.urlopen(req, timeout=310) as r:
                for line in r:
                    ev = json.loads(line)
                    o = ev["object"]
                    if o.get("status", {}).get("phase") == "Running":
                        n = o["metadata"]["name"]
                        running_at.setdefault(n, time.monotonic())
                        if len(running_at) >= N_PODS:
                            done.set()
                            return
        t = threading.Thread(target=watcher, daemon=True)
        t.start()
        time.sleep(0.5)  # let the watch connect before the first POST
        for i in range(N_PODS):
            name = "lat-%03d" % i
            pod = {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name},
                   "spec": {"nodeName": "bench-node",
                            "terminationGracePeriodSeconds": 1,
                            "containers": [{"name": "c", "image": "busybox",
                                            "command": ["sleep", "3600"]}]}}
            post(srv.url, "/api/v1/namespaces/default/pods", pod)
            created_at[name] = time.monotonic()
        done.wait(120)
        lat = sorted((running_at[n] - created_at[n]) * 1000.0
                     for n in created_at if n in running_at)
        print("pod start latency bound->Running, %d pods created one after "
              "another on one node: p50 %.0f ms, p99 %.0f ms, max %.0f ms "
              "(%d/%d Running; target p99 < 1000 ms; Kubernetes SLO 5 s)"
              % (N_PODS, pct(lat, 50), pct(lat, 99), lat[-1] if lat else 0,
                 len(lat), N_PODS))
        inside = agent_side_latency(os.path.join(adir, "agent.log"))
        print("  of which inside the agent (watch event received -> Running "
              "status written, from its log): p50 %.0f ms, p99 %.0f ms; "
              "the rest is the two watch streams and the store's writes"
              % (pct(inside, 50), pct(inside, 99)))
        time.sleep(2)
        t0, c0 = time.monotonic(), cpu_ticks(agent.pid)
        time.sleep(10)
        t1, c1 = time.monotonic(), cpu_ticks(agent.pid)
        hz = os.sysconf("SC_CLK_TCK")
        print("agent with %d pods running: %s (target < 10240 KiB), CPU "
              "%.2f%% of one core over %.0f s (shims are separate "
              "processes: %d KiB RSS each, measured on one)"
              % (N_PODS, mem(agent.pid),
                 100.0 * (c1 - c0) / hz / (t1 - t0), t1 - t0,
                 shim_rss(adir)))
        print("  largest mappings, KiB resident: %s"
              % mem_by_mapping(agent.pid))
        st, body, _ = srv.get("/api/v1/namespaces/default/pods")
        srv.request("DELETE", "/api/v1/namespaces/default/pods",
                    timeout=60)
        for p in json.loads(body)["items"]:
            srv.request("DELETE", "/api/v1/namespaces/default/pods/" +
                        p["metadata"]["name"], body={"gracePeriodSeconds": 1})
        wait(lambda: not node_pods(srv, "bench-node"), 60)
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=20)
        log.close()
        srv.cleanup()
        subprocess.run(["rm", "-rf", adir], check=False)


def agent_side_latency(path):
    """From the agent's debug log: per pod, 'bound here' to 'status ...
    written (Running)', in ms, sorted."""
    import datetime
    seen, out = {}, []

    def ts(line):
        return datetime.datetime.strptime(line.split()[0],
                                          "%Y-%m-%dT%H:%M:%S.%fZ")
    with open(path, errors="replace") as f:
        for line in f:
            if "bound here" in line:
                key = line.split("pod ")[1].split()[0]
                seen[key] = ts(line)
            elif "written (Running)" in line:
                key = line.split("status of ")[1].split()[0]
                if key in seen:
                    out.append((ts(line) - seen.pop(key)).total_seconds()
                               * 1000.0)
    return sorted(out)


def shim_rss(adir):
    for root, _d, files in os.walk(adir):
        if "shim" in files:
            try:
                with open(os.path.join(root, "shim")) as f:
                    return rss_kib(int(f.read().split()[0]))
            except (OSError, ValueError):
                continue
    return 0


def bench_sim():
    srv = k1s.Server().start()
    log_path = os.path.join(srv.data_dir, "sim.log")
    log = open(log_path, "wb")
    sim = subprocess.Popen([k1s.K1S_BIN, "agent", "--server", srv.url,
                            "--simulate", str(SIM_NODES)],
                           stdout=log, stderr=subprocess.STDOUT)
    try:
        t0 = time.monotonic()

        def registered():
            with open(log_path) as f:
                return "simulated nodes registered" in f.read()
        ok = wait(registered, 600)
        t1 = time.monotonic()
        st, body, _ = srv.get("/api/v1/nodes?limit=1")
        print("simulated mode: %d nodes registered in %.1f s; sim %s "
              "(server RSS %d KiB, same moment)" %
              (SIM_NODES if ok else -1, t1 - t0, mem(sim.pid),
               rss_kib(srv.proc.pid)))
        # Pods bound round-robin, created by 4 threads.
        t0 = time.monotonic()

        def creator(k):
            for i in range(k, SIM_PODS, 4):
                pod = {"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "sim-%05d" % i},
                       "spec": {"nodeName": "sim-%d" % (i % SIM_NODES),
                                "containers": [{"name": "c",
                                                "image": "pause"}]}}
                try:
                    post(srv.url, "/api/v1/namespaces/default/pods", pod)
                except Exception as e:  # noqa: BLE001 - reported below
                    print("create sim-%05d: %s" % (i, e))
        ths = [threading.Thread(target=creator, args=(k,)) for k in range(4)]
        for t in ths:
            t.start()
        for t in ths:
            t.join()
        t1 = time.monotonic()

        def all_running():
            # Count Running pods page by page (500 per page).
            n, cont = 0, ""
            for _ in range(1000):
                st, body, _ = srv.get(
                    "/api/v1/pods?fieldSelector=status.phase%3DRunning"
                    "&limit=500" + ("&continue=" + cont if cont else ""),
                    timeout=60)
                if st != 200:
                    return False
                doc = json.loads(body)
                n += len(doc["items"])
                cont = doc["metadata"].get("continue") or ""
                if not cont:
                    break
            return n >= SIM_PODS
        ok = wait(all_running, 600)
        t2 = time.monotonic()
        print("simulated mode: %d pods created in %.1f s, all Running %.1f s "
              "later: %s; sim %s (server RSS %d KiB)"
              % (SIM_PODS, t1 - t0, t2 - t1, "yes" if ok else "NO",
                 mem(sim.pid), rss_kib(srv.proc.pid)))
    finally:
        sim.send_signal(signal.SIGTERM)
        sim.wait(timeout=30)
        log.close()
        srv.cleanup()


if __name__ == "__main__":
    print("# bench_agent: %d cores, %s" % (os.cpu_count(),
                                          time.strftime("%FT%TZ",
                                                        time.gmtime())))
    bench_real_agent()
    bench_sim()

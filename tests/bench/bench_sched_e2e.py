"""End-to-end scheduling through the real k1s server: N simulated nodes
(`k1s agent --simulate N`, which reports bound pods Running and Ready at
once without running anything), Deployments created with
kubectl-equivalent POSTs, and the time until every pod is bound and then
until every replica is available — so this measures the controllers
(ReplicaSet creates, Deployment status), the scheduler (filter, score,
bind), the agent's status writes and the API server and store under them
together.

  python3 tests/bench/bench_sched_e2e.py [nodes] [deployments] [replicas]

Defaults: 1000 nodes, 10 Deployments x 1000 replicas (10,000 pods). The
same run also times a 1000-replica Deployment alone (create → all bound).
Progress is polled every 0.1 s (ReplicaSet status for pods created, one
unbound pod at most for "all bound", Deployment status.availableReplicas
for "all Running"), so timings are at most 0.1 s pessimistic and the poll
itself costs the server little.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402


def main():
    nnodes = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    ndeps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    reps = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    srv = k1s.Server("--disable-agent").start()
    stop = []
    try:
        def api(method, path, body=None):
            st, raw, _ = srv.request(method, path, body, timeout=60)
            return st, (json.loads(raw) if raw else None)

        t0 = time.monotonic()
        log_path = os.path.join(srv.data_dir, "sim.log")
        log = open(log_path, "wb")
        sim = subprocess.Popen([k1s.K1S_BIN, "agent", "--server", srv.url,
                                "--simulate", str(nnodes)],
                               stdout=log, stderr=subprocess.STDOUT)
        stop.append(lambda: (sim.send_signal(signal.SIGTERM),
                             sim.wait(timeout=30), log.close()))
        deadline = t0 + 600
        while time.monotonic() < deadline:
            with open(log_path) as f:
                if "simulated nodes registered" in f.read():
                    break
            time.sleep(0.1)
        else:
            print("bench_sched_e2e: simulated nodes never registered")
            return 1
        print("bench_sched_e2e: %d simulated nodes registered in %.1f s" %
              (nnodes, time.monotonic() - t0))

        def deployment(name, replicas):
            return {"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": name, "namespace": "default"},
                    "spec": {"replicas": replicas,
                             "selector": {"matchLabels": {"app": name}},
                             "template": {
                                 "metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{
                                     "name": "c", "image": "x",
                                     "resources": {"requests": {
                                         "cpu": "10m",
                                         "memory": "16Mi"}}}]}}}}

        def created(names):
            st, l = api("GET", "/apis/apps/v1/namespaces/default/"
                               "replicasets")
            mine = set(names)
            return sum(r.get("status", {}).get("replicas", 0)
                       for r in l["items"]
                       if r["metadata"]["labels"].get("app") in mine)

        def unbound_left():
            # cheap: at most one unbound pod comes back
            st, l = api("GET", "/api/v1/namespaces/default/pods"
                               "?fieldSelector=spec.nodeName%3D&limit=1")
            assert st == 200, (st, l)
            return len(l["items"])

        def available(names):
            st, l = api("GET", "/apis/apps/v1/namespaces/default/"
                               "deployments")
            mine = set(names)
            return sum(d.get("status", {}).get("availableReplicas", 0)
                       for d in l["items"] if d["metadata"]["name"] in mine)

        def run(names, replicas, label):
            t = time.monotonic()
            for n in names:
                st, _ = api("POST", "/apis/apps/v1/namespaces/default/"
                                    "deployments", deployment(n, replicas))
                assert st == 201
            want = len(names) * replicas
            got = avail = 0
            deadline = t + 600
            while time.monotonic() < deadline:
                got = created(names)
                if got >= want and unbound_left() == 0:
                    break
                time.sleep(0.1)
            dt = time.monotonic() - t
            while time.monotonic() < deadline:
                avail = available(names)
                if avail >= want:
                    break
                time.sleep(0.1)
            dt2 = time.monotonic() - t
            print("bench_sched_e2e: %s: %d/%d pods bound in %.2f s "
                  "(%.0f pods/s); %d/%d available (Running and Ready) "
                  "%.2f s after the create" %
                  (label, got, want, dt, got / dt, avail, want, dt2))
            return got == want and avail == want

        ok = run(["single"], reps, "one Deployment of %d" % reps)
        ok = run(["d%d" % i for i in range(ndeps)], reps,
                 "%d Deployments of %d on %d nodes" % (ndeps, reps,
                                                      nnodes)) and ok
        return 0 if ok else 1
    finally:
        for f in stop:
            f()
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(main())

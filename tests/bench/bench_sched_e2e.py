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
Each phase also prints the server's CPU time per pod (user + system from
/proc, all its threads), the figure to compare across runs on a noisy
machine.

What the measuring costs the server: "all bound" comes from one watch on
the phase's pods with fieldSelector spec.nodeName= (the way upstream's
density tests use an informer), so the time is exact, not polled. The
server sends about two events per pod (ADDED when created unbound,
DELETED when bound) but decodes every pod change (about three per pod)
once more for this watcher: roughly 0.1-0.2 ms of CPU per pod, a tenth
of what the server spends per pod (measured by adding three more such
watches: +0.3-0.7 ms per pod). A LIST with that field selector costs far
more: the server decodes every pod in the namespace each time (~0.35 s
of CPU for 10,000 pods; with limit=1 it also reads the store one row at
a time), so polling it every 0.1 s, as this benchmark once did, kept a
core busy and more than halved the rate being measured. Creates and
availability are polled from ReplicaSet and Deployment status (at most
11 objects a poll) every max(0.1 s, elapsed/50), so those timings are at
most 2% pessimistic.
"""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402


class UnboundWatch:
    """Watches the pods of some Deployments (label app in names) that have
    no spec.nodeName: a pod is counted when it appears (ADDED) and done
    when it stops matching (DELETED: bound, or gone)."""

    def __init__(self, srv, names):
        self.srv = srv
        self.sel = urllib.parse.quote("app in (%s)" % ",".join(names))
        self.cond = threading.Condition()
        self.seen = set()
        self.unbound = set()
        self.gone = 0  # deleted before they were bound
        self.rv = ""
        self.error = None
        self.stopping = False
        self.conn = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(30):
            raise RuntimeError("bench_sched_e2e: pod watch did not start")

    def _run(self):
        try:
            while not self.stopping:
                self._stream()
        except Exception as e:  # noqa: BLE001 - reported by wait()
            with self.cond:
                self.error = e
                self.cond.notify_all()
        finally:
            self.ready.set()

    def _stream(self):
        path = ("/api/v1/namespaces/default/pods?watch=true&"
                "allowWatchBookmarks=true&timeoutSeconds=600&"
                "fieldSelector=spec.nodeName%3D&labelSelector=" + self.sel)
        if self.rv:
            path += "&resourceVersion=" + self.rv
        self.conn = http.client.HTTPConnection("127.0.0.1", self.srv.port,
                                               timeout=900)
        self.conn.request("GET", path)
        r = self.conn.getresponse()
        if r.status != 200:
            raise RuntimeError("watch: %d %s" % (r.status, r.read()[:300]))
        self.ready.set()
        while True:
            line = r.readline()
            if not line:
                return  # the server ended the stream: watch again from rv
            ev = json.loads(line)
            t, obj = ev.get("type"), ev.get("object", {})
            if t == "ERROR":
                raise RuntimeError("watch: %s" % obj.get("message"))
            md = obj.get("metadata", {})
            with self.cond:
                self.rv = md.get("resourceVersion", self.rv)
                if t == "ADDED":
                    self.seen.add(md["name"])
                    self.unbound.add(md["name"])
                elif t == "DELETED":
                    self.unbound.discard(md["name"])
                    if not obj.get("spec", {}).get("nodeName"):
                        self.gone += 1
                    self.cond.notify_all()

    def wait(self, want, deadline):
        """Until `want` pods were seen and none is left unbound."""
        with self.cond:
            while not (len(self.seen) >= want and not self.unbound):
                if self.error:
                    raise self.error
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 1.0))
            return True

    def stop(self):
        self.stopping = True
        try:
            self.conn.sock.shutdown(2)
        except (OSError, AttributeError):
            pass
        self.thread.join(10)


def server_cpu(srv):
    """CPU seconds (user + system, every thread) the server used so far."""
    with open("/proc/%d/stat" % srv.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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

        def available(names):
            st, l = api("GET", "/apis/apps/v1/namespaces/default/"
                               "deployments")
            mine = set(names)
            return sum(d.get("status", {}).get("availableReplicas", 0)
                       for d in l["items"] if d["metadata"]["name"] in mine)

        def poll(t, fn, want, deadline):
            got = 0
            while time.monotonic() < deadline:
                got = fn()
                if got >= want:
                    break
                time.sleep(max(0.1, (time.monotonic() - t) / 50))
            return got

        def run(names, replicas, label):
            w = UnboundWatch(srv, names)
            stop.append(w.stop)
            c0 = server_cpu(srv)
            t = time.monotonic()
            for n in names:
                st, _ = api("POST", "/apis/apps/v1/namespaces/default/"
                                    "deployments", deployment(n, replicas))
                assert st == 201
            want = len(names) * replicas
            deadline = t + 600
            bound = w.wait(want, deadline)
            dt = time.monotonic() - t
            c1 = server_cpu(srv)
            got = poll(t, lambda: created(names), want, deadline)
            avail = poll(t, lambda: available(names), want, deadline)
            dt2 = time.monotonic() - t
            w.stop()
            print("bench_sched_e2e: %s: %d/%d pods bound in %.2f s "
                  "(%.0f pods/s, server CPU %.2f ms per pod); %d/%d "
                  "available (Running and Ready) %.2f s after the create" %
                  (label, len(w.seen) - len(w.unbound) - w.gone, want, dt,
                   want / dt if bound else 0, (c1 - c0) * 1000 / want,
                   avail, want, dt2))
            if len(w.seen) != want or w.gone:
                print("bench_sched_e2e: %s: %d pods created, %d deleted "
                      "before they were bound" % (label, len(w.seen), w.gone))
            return bound and got == want and avail == want

        ok = run(["single"], reps, "one Deployment of %d" % reps)
        ok = run(["d%d" % i for i in range(ndeps)], reps,
                 "%d Deployments of %d on %d nodes" % (ndeps, reps,
                                                      nnodes)) and ok
        return 0 if ok else 1
    finally:
        for f in reversed(stop):
            try:
                f()
            except Exception as e:  # noqa: BLE001 - stop the rest anyway
                print("bench_sched_e2e: cleanup: %s" % e)
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(main())

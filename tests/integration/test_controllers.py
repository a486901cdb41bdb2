"""Controllers with the real k1s binary and the real kubectl: Deployments
that roll out, roll back, scale mid-rollout and survive a server restart;
cascade deletion in the three modes; garbage collection after a restart;
namespace deletion; node loss.

Nodes are the agent's simulated nodes: one `k1s agent --simulate 1`
process per node (so that one can be lost alone), which registers node
<name>-0, renews its Lease, reports the pods bound to it Running (Ready
once their readiness gates are True) and confirms their deletion. Pods
that must not become Ready carry a readiness gate that the test's
GateKeeper — in the role of the external controller that owns such a gate
— sets True only when told to. Every wait is bounded.
"""
import json
import os
import signal
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402


def now_rfc3339(micro=False):
    t = time.time()
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))
    if micro:
        s += ".%06d" % int((t % 1) * 1e6)
    return s + "Z"


class Cluster:
    """A k1s server plus helpers to talk to it as JSON."""

    def __init__(self, *args, data_dir=None):
        self.args = args
        self.srv = k1s.Server(*args, data_dir=data_dir)
        self.agents = {}  # node name -> k1s.Agent
        self.gate = None

    def add_sim_node(self, name, unschedulable=False):
        """Starts `k1s agent --simulate 1 --node-name name` (node
        name-0) and waits until the node is Ready; returns the node's
        name. unschedulable: cordoned with the real kubectl."""
        node = name + "-0"
        self.agents[node] = k1s.Agent(
            self.srv, os.path.join(self.srv.data_dir, "agent-" + name),
            "--simulate", "1", "--node-name", name).start()
        self.wait(node + " Ready", lambda: self.node_ready(node))
        if unschedulable:
            self.kubectl("cordon", node, check=True)
        return node

    def node_ready(self, node):
        n = self.get("/api/v1/nodes/" + node)
        return any(c["type"] == "Ready" and c["status"] == "True"
                   for c in (n or {}).get("status", {}).get("conditions", []))

    def open_gate(self):
        """From now on pods gated by GATE become Ready."""
        if self.gate is None:
            self.gate = GateKeeper(self)

    def stop_agents(self, sig=signal.SIGTERM):
        for a in self.agents.values():
            a.stop(sig)

    def restart(self, *extra_args):
        """Stops the agents and the server, starts the server again (with
        extra_args), then the agents, pointed at its new port."""
        self.stop_agents()
        rc = self.srv.stop()
        assert rc == 0, "k1s exited %r on SIGTERM" % rc
        self.srv.extra_args = list(extra_args)
        self.srv.start()
        for a in self.agents.values():
            a.start()

    def start(self):
        self.srv.start()
        return self

    def api(self, method, path, body=None, ct=None):
        hdrs = {"Content-Type": ct} if ct else None
        st, raw, _ = self.srv.request(method, path, body, headers=hdrs)
        try:
            return st, json.loads(raw) if raw else None
        except ValueError:
            return st, raw

    def kubectl(self, *args, **kw):
        return self.srv.kubectl(*args, **kw)

    def add_node(self, name, cpu="4", memory="8Gi", pods="110", labels=None,
                 taints=None, unschedulable=False):
        lab = {"kubernetes.io/hostname": name}
        lab.update(labels or {})
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": name, "labels": lab}, "spec": {}}
        if taints:
            node["spec"]["taints"] = taints
        if unschedulable:
            node["spec"]["unschedulable"] = True
        st, got = self.api("POST", "/api/v1/nodes", node)
        assert st == 201, (st, got)
        res = {"cpu": cpu, "memory": memory, "pods": pods}
        got["status"] = {
            "capacity": res, "allocatable": res,
            "conditions": [{"type": "Ready", "status": "True",
                            "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": now_rfc3339(),
                            "lastTransitionTime": now_rfc3339()}],
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}]}
        st, got = self.api("PUT", "/api/v1/nodes/%s/status" % name, got)
        assert st == 200, (st, got)
        self.renew_lease(name)

    def renew_lease(self, name):
        path = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
        st, lease = self.api("GET", path + "/" + name)
        if st == 404:
            lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                     "metadata": {"name": name,
                                  "namespace": "kube-node-lease"},
                     "spec": {"holderIdentity": name,
                              "leaseDurationSeconds": 40,
                              "renewTime": now_rfc3339(True)}}
            st, _ = self.api("POST", path, lease)
            return st == 201
        lease["spec"]["renewTime"] = now_rfc3339(True)
        st, _ = self.api("PUT", path + "/" + name, lease)
        return st == 200

    def pods(self, ns="default", selector=None):
        path = "/api/v1/namespaces/%s/pods" % ns
        if selector:
            path += "?labelSelector=" + selector
        st, l = self.api("GET", path)
        assert st == 200, (st, l)
        return l["items"]

    def get(self, path):
        st, o = self.api("GET", path)
        return o if st == 200 else None

    def wait(self, what, fn, timeout=60.0, interval=0.05):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = fn()
            if last:
                return last
            time.sleep(interval)
        raise AssertionError("timed out waiting for %s (last: %r)\n%s" %
                             (what, last, self.srv.read_log()[-3000:]))

    def cleanup(self):
        """Stops everything; a server that does not exit 0 on SIGTERM (a
        crash, or a sanitizer report in an asan build) fails the test."""
        if self.gate:
            self.gate.stop()
        self.stop_agents()
        rc = self.srv.stop()
        log = self.srv.read_log()
        self.srv.cleanup()
        if rc not in (0, None):
            raise AssertionError("k1s exited %r on SIGTERM:\n%s" %
                                 (rc, log[-4000:]))


def is_ready(pod):
    for c in pod.get("status", {}).get("conditions", []) or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def terminating(pod):
    return bool(pod["metadata"].get("deletionTimestamp"))


GATE = "k1s.test/ready"


class GateKeeper:
    """Owns the readiness gate GATE: while open, sets its condition True on
    every pod that has the gate (a strategic merge patch of pods/status,
    as a real gate's controller writes it)."""

    def __init__(self, cluster):
        self.c = cluster
        self.stopping = threading.Event()
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def stop(self):
        self.stopping.set()
        self.th.join(timeout=10)

    def loop(self):
        while not self.stopping.is_set():
            try:
                self.step()
            except Exception:  # the server may be restarting
                pass
            self.stopping.wait(0.1)

    def step(self):
        st, l = self.c.api("GET", "/api/v1/pods")
        if st != 200:
            return
        for p in l["items"]:
            gates = [g["conditionType"] for g in
                     p["spec"].get("readinessGates") or []]
            conds = {c["type"]: c["status"] for c in
                     p.get("status", {}).get("conditions") or []}
            if GATE not in gates or conds.get(GATE) == "True":
                continue
            md = p["metadata"]
            self.c.api("PATCH", "/api/v1/namespaces/%s/pods/%s/status" % (
                md["namespace"], md["name"]),
                {"status": {"conditions": [{
                    "type": GATE, "status": "True",
                    "lastTransitionTime": now_rfc3339()}]}},
                ct="application/strategic-merge-patch+json")


DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
spec:
  replicas: %(replicas)d
  selector:
    matchLabels: {app: %(name)s}
  strategy:
    type: %(strategy)s
%(rolling)s
  template:
    metadata:
      labels: {app: %(name)s}
    spec:
      containers:
      - name: c
        image: %(image)s
        resources:
          requests: {cpu: 10m, memory: 16Mi}
"""


def deployment_yaml(name="web", replicas=3, image="nginx:1", surge=None,
                    unavailable=None, strategy="RollingUpdate"):
    rolling = ""
    if strategy == "RollingUpdate" and (surge is not None or
                                        unavailable is not None):
        rolling = "    rollingUpdate:\n"
        if surge is not None:
            rolling += "      maxSurge: %s\n" % surge
        if unavailable is not None:
            rolling += "      maxUnavailable: %s\n" % unavailable
    return DEPLOYMENT % {"name": name, "replicas": replicas, "image": image,
                         "strategy": strategy, "rolling": rolling.rstrip("\n")}


def set_image(c, image, name="web"):
    """kubectl set image (a strategic merge patch of the template)."""
    p = c.kubectl("set", "image", "deployment/" + name, "c=" + image)
    assert p.returncode == 0, p.stderr


def set_gated_image(c, image, name="web"):
    """A new template whose pods wait for the GATE readiness gate: they
    run but do not become Ready until c.open_gate()."""
    p = c.kubectl("patch", "deployment", name, "-p", json.dumps(
        {"spec": {"template": {"spec": {
            "readinessGates": [{"conditionType": GATE}],
            "containers": [{"name": "c", "image": image}]}}}}))
    assert p.returncode == 0, p.stderr


class Base(unittest.TestCase):
    server_args = ()

    def setUp(self):
        self.c = Cluster(*self.server_args).start()
        self.addCleanup(self.c.cleanup)

    def apply(self, text):
        p = self.c.kubectl("apply", "-f", "-", input=text)
        self.assertEqual(p.returncode, 0, p.stderr)

    def rollout_status(self, name="web", timeout="60s"):
        p = self.c.kubectl("rollout", "status", "deployment/" + name,
                           "--timeout=" + timeout, timeout=90)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr +
                         self.c.srv.read_log()[-3000:])
        self.assertIn('deployment "%s" successfully rolled out' % name,
                      p.stdout)

    def live_pods(self, app="web"):
        return [p for p in self.c.pods(selector="app=" + app)
                if not terminating(p)]

    def dep(self, name="web"):
        return self.c.get("/apis/apps/v1/namespaces/default/deployments/" +
                          name)

    def replicasets(self, app="web"):
        st, l = self.c.api("GET", "/apis/apps/v1/namespaces/default/"
                                  "replicasets?labelSelector=app=" + app)
        self.assertEqual(st, 200)
        return l["items"]


class Rollouts(Base):
    def setUp(self):
        super().setUp()
        self.c.add_sim_node("n1")
        self.c.add_sim_node("n2")

    def test_rolling_update_max_unavailable_zero_never_drops_ready(self):
        # minReadySeconds: each step waits a second for availability, so
        # that the rollout lasts long enough to be sampled throughout
        self.apply(deployment_yaml(replicas=4, surge=1, unavailable=0)
                   .replace("spec:\n  replicas:",
                            "spec:\n  minReadySeconds: 1\n  replicas:"))
        self.rollout_status()
        self.assertEqual(len(self.live_pods()), 4)
        samples = []
        stop = threading.Event()

        def sample():
            while not stop.is_set():
                try:
                    samples.append(sum(1 for p in self.live_pods()
                                       if is_ready(p)))
                except AssertionError:
                    pass
                time.sleep(0.02)

        th = threading.Thread(target=sample)
        th.start()
        try:
            set_image(self.c, "nginx:2")
            self.rollout_status()
        finally:
            stop.set()
            th.join()
        self.assertGreater(len(samples), 10)
        self.assertGreaterEqual(min(samples), 4, samples)
        pods = self.live_pods()
        self.assertEqual(len(pods), 4)
        self.assertEqual({p["spec"]["containers"][0]["image"] for p in pods},
                         {"nginx:2"})
        d = self.dep()
        self.assertEqual(d["metadata"]["annotations"]
                         ["deployment.kubernetes.io/revision"], "2")
        conds = {c["type"]: c for c in d["status"]["conditions"]}
        self.assertEqual(conds["Progressing"]["reason"],
                         "NewReplicaSetAvailable")
        self.assertEqual(conds["Available"]["reason"],
                         "MinimumReplicasAvailable")
        self.assertEqual(d["status"]["updatedReplicas"], 4)
        self.assertEqual(d["status"]["availableReplicas"], 4)

    def test_rollout_undo_restores_previous_template(self):
        self.apply(deployment_yaml(replicas=2))
        self.rollout_status()
        set_image(self.c, "nginx:2")
        self.rollout_status()
        p = self.c.kubectl("rollout", "undo", "deployment/web")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.rollout_status()
        d = self.dep()
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]
                         ["image"], "nginx:1")
        self.assertEqual(d["metadata"]["annotations"]
                         ["deployment.kubernetes.io/revision"], "3")
        self.assertEqual({p["spec"]["containers"][0]["image"]
                          for p in self.live_pods()}, {"nginx:1"})
        # the first ReplicaSet came back (revision 3), no third set
        self.assertEqual(len(self.replicasets()), 2)
        p = self.c.kubectl("rollout", "history", "deployment/web")
        self.assertEqual(p.returncode, 0, p.stderr)
        revs = [l.split()[0] for l in p.stdout.splitlines()[2:] if l.strip()]
        self.assertEqual(revs, ["2", "3"], p.stdout)

    def test_scale_up_and_down_mid_rollout(self):
        self.apply(deployment_yaml(replicas=4, surge=2, unavailable=1))
        self.rollout_status()
        set_gated_image(self.c, "nginx:2")  # new pods will not be Ready
        # the rollout is stuck half way: two sets are active
        self.c.wait("two active sets", lambda: len(
            [r for r in self.replicasets() if r["spec"]["replicas"] > 0]) == 2)
        self.c.kubectl("scale", "deployment/web", "--replicas=10",
                       check=True)

        def total():
            return sum(r["spec"]["replicas"] for r in self.replicasets())
        # 10 + maxSurge(25% of 10 -> 3... here 2): proportional, both grow
        self.c.wait("scaled proportionally", lambda: total() == 12)
        sizes = sorted(r["spec"]["replicas"] for r in self.replicasets())
        self.assertTrue(all(s > 0 for s in sizes), sizes)
        self.c.kubectl("scale", "deployment/web", "--replicas=3",
                       check=True)
        self.c.wait("scaled down", lambda: total() <= 5)
        self.c.open_gate()
        self.rollout_status()
        pods = self.live_pods()
        self.assertEqual(len(pods), 3)
        self.assertEqual({p["spec"]["containers"][0]["image"] for p in pods},
                         {"nginx:2"})

    def test_recreate_replaces_all_at_once(self):
        self.apply(deployment_yaml(replicas=3, strategy="Recreate"))
        self.rollout_status()
        old = {p["metadata"]["name"] for p in self.live_pods()}
        set_image(self.c, "nginx:2")
        self.rollout_status()
        new = self.live_pods()
        self.assertEqual(len(new), 3)
        self.assertFalse(old & {p["metadata"]["name"] for p in new})

    def test_pause_and_resume(self):
        self.apply(deployment_yaml(replicas=2))
        self.rollout_status()
        self.c.kubectl("rollout", "pause", "deployment/web", check=True)
        set_image(self.c, "nginx:2")
        self.c.wait("paused condition", lambda: any(
            c["reason"] == "DeploymentPaused"
            for c in (self.dep().get("status", {}).get("conditions") or [])))
        self.assertEqual(len(self.replicasets()), 1)
        self.c.kubectl("rollout", "resume", "deployment/web", check=True)
        self.rollout_status()
        self.assertEqual({p["spec"]["containers"][0]["image"]
                          for p in self.live_pods()}, {"nginx:2"})

    def test_progress_deadline_exceeded(self):
        self.apply(deployment_yaml(replicas=2))
        self.rollout_status()
        p = self.c.kubectl("patch", "deployment", "web", "-p",
                           '{"spec":{"progressDeadlineSeconds":2}}')
        self.assertEqual(p.returncode, 0, p.stderr)
        set_gated_image(self.c, "nginx:broken")  # never Ready
        p = self.c.kubectl("rollout", "status", "deployment/web",
                           "--timeout=60s", timeout=90)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('deployment "web" exceeded its progress deadline',
                      p.stderr)
        cond = [c for c in self.dep()["status"]["conditions"]
                if c["type"] == "Progressing"][0]
        self.assertEqual((cond["status"], cond["reason"]),
                         ("False", "ProgressDeadlineExceeded"))
        self.assertRegex(cond["message"],
                         r'^ReplicaSet "web-[a-z0-9]+" has timed out '
                         r'progressing\.$')
        # old pods were kept: maxUnavailable 25% of 2 rounds down to 0
        self.assertEqual(sum(1 for p in self.live_pods() if is_ready(p)), 2)

    def test_rollout_restart_makes_new_pods(self):
        self.apply(deployment_yaml(replicas=2))
        self.rollout_status()
        old = {p["metadata"]["name"] for p in self.live_pods()}
        self.c.kubectl("rollout", "restart", "deployment/web", check=True)
        self.rollout_status()
        new = {p["metadata"]["name"] for p in self.live_pods()}
        self.assertEqual(len(new), 2)
        self.assertFalse(old & new)

    def test_replicaset_replaces_deleted_pod_and_reports_events(self):
        self.apply(deployment_yaml(replicas=2))
        self.rollout_status()
        victim = self.live_pods()[0]["metadata"]["name"]
        self.c.kubectl("delete", "pod", victim, "--wait=false", check=True)
        self.c.wait("replacement", lambda: len(
            [p for p in self.live_pods() if is_ready(p) and
             p["metadata"]["name"] != victim]) == 2)
        rs = self.replicasets()[0]["metadata"]["name"]
        p = self.c.kubectl("describe", "replicaset", rs)
        self.assertIn("SuccessfulCreate", p.stdout)
        p = self.c.kubectl("describe", "deployment", "web")
        self.assertIn("ScalingReplicaSet", p.stdout)
        self.assertIn("Scaled up replica set %s from 0 to 2" % rs, p.stdout)


class Deletion(Base):
    def setUp(self):
        super().setUp()
        self.c.add_sim_node("n1")
        self.apply(deployment_yaml(replicas=2))
        self.rollout_status()
        self.rs = self.replicasets()[0]["metadata"]["name"]

    def test_background_cascade(self):
        self.c.kubectl("delete", "deployment", "web", "--cascade=background",
                       check=True)
        self.c.wait("sets and pods gone", lambda: not self.replicasets() and
                    not self.c.pods(selector="app=web"))

    def test_foreground_cascade(self):
        p = self.c.kubectl("delete", "deployment", "web",
                           "--cascade=foreground", "--wait=false")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.c.wait("everything gone", lambda: self.dep() is None and
                    not self.replicasets() and
                    not self.c.pods(selector="app=web"))

    def test_orphan_cascade(self):
        self.c.kubectl("delete", "deployment", "web", "--cascade=orphan",
                       check=True)
        self.c.wait("deployment gone", lambda: self.dep() is None)
        rss = self.c.wait("orphaned set", lambda: [
            r for r in self.replicasets()
            if not r["metadata"].get("ownerReferences")])
        self.assertEqual(rss[0]["metadata"]["name"], self.rs)
        time.sleep(1.0)  # give a wrong collector the chance to act
        self.assertEqual(len(self.replicasets()), 1)
        self.assertEqual(len(self.live_pods()), 2)


    def _owned_configmap(self, name):
        uid = self.dep()["metadata"]["uid"]
        body = {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "ownerReferences": [{
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "name": "web", "uid": uid}]},
                "data": {"k": "kept"}}
        st, _ = self.c.api("POST", "/api/v1/namespaces/default/configmaps",
                           body)
        self.assertEqual(st, 201)

    def cm(self, name):
        return self.c.get("/api/v1/namespaces/default/configmaps/" + name)

    def test_configmap_dependents(self):
        # The collector caches ConfigMaps by their ownership metadata only:
        # its writes must be patches that leave the data alone.
        self._owned_configmap("dep-cm")
        self.c.kubectl("delete", "deployment", "web", "--cascade=orphan",
                       check=True)
        cm = self.c.wait("orphaned config map", lambda: (
            lambda o: o if o and not o["metadata"].get("ownerReferences")
            else None)(self.cm("dep-cm")))
        self.assertEqual(cm["data"], {"k": "kept"})
        self.apply(deployment_yaml(replicas=1))
        self._owned_configmap("dep-cm2")
        self.c.kubectl("delete", "deployment", "web", "--cascade=background",
                       check=True)
        self.c.wait("owned config map collected",
                    lambda: self.cm("dep-cm2") is None)
        self.assertIsNotNone(self.cm("dep-cm"))


class Restart(unittest.TestCase):
    def test_restart_mid_rollout_finishes_without_duplicates(self):
        c = Cluster().start()
        self.addCleanup(c.cleanup)
        c.add_sim_node("n1")
        c.kubectl("apply", "-f", "-", check=True,
                  input=deployment_yaml(replicas=4, surge=1, unavailable=0))
        p = c.kubectl("rollout", "status", "deployment/web",
                      "--timeout=60s", timeout=90)
        self.assertEqual(p.returncode, 0, p.stderr)
        set_gated_image(c, "nginx:2")  # the rollout stalls half way
        c.wait("rollout half way", lambda: any(
            p["spec"]["containers"][0]["image"] == "nginx:2"
            for p in c.pods(selector="app=web")))
        c.restart()
        c.open_gate()
        p = c.kubectl("rollout", "status", "deployment/web",
                      "--timeout=60s", timeout=90)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        live = [p for p in c.pods(selector="app=web") if not terminating(p)]
        self.assertEqual(len(live), 4)
        self.assertEqual({p["spec"]["containers"][0]["image"] for p in live},
                         {"nginx:2"})
        st, l = c.api("GET", "/apis/apps/v1/namespaces/default/replicasets")
        self.assertEqual(len(l["items"]), 2)



class GarbageAfterRestart(unittest.TestCase):
    def test_dependents_of_owner_deleted_while_down_are_collected(self):
        c = Cluster().start()
        self.addCleanup(c.cleanup)
        c.add_sim_node("n1")
        c.kubectl("apply", "-f", "-", check=True,
                  input=deployment_yaml(replicas=2))
        p = c.kubectl("rollout", "status", "deployment/web",
                      "--timeout=60s", timeout=90)
        self.assertEqual(p.returncode, 0, p.stderr)
        # the owner goes while no controller runs
        c.restart("--disable-controllers")
        c.kubectl("delete", "deployment", "web", "--cascade=background",
                  check=True)
        st, l = c.api("GET", "/apis/apps/v1/namespaces/default/replicasets")
        self.assertEqual(len(l["items"]), 1)  # nobody collected it
        c.restart()
        c.wait("set and pods collected", lambda: not c.api(
            "GET", "/apis/apps/v1/namespaces/default/replicasets")[1]
            ["items"] and not c.pods(selector="app=web"))


class Namespaces(Base):
    def test_deleting_a_namespace_deletes_its_contents(self):
        self.c.add_sim_node("n1")
        self.c.kubectl("apply", "-f", "-", check=True, input=(
            "apiVersion: v1\nkind: Namespace\nmetadata: {name: tmp}\n"))
        p = self.c.kubectl("apply", "-n", "tmp", "-f", "-",
                           input=deployment_yaml(replicas=2))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.c.kubectl("apply", "-n", "tmp", "-f", "-", check=True, input=(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n"
            "data: {a: b}\n"))
        self.c.wait("pods running", lambda: len(
            [p for p in self.c.pods(ns="tmp") if is_ready(p)]) == 2)
        p = self.c.kubectl("delete", "namespace", "tmp", "--wait=false")
        self.assertEqual(p.returncode, 0, p.stderr)
        # the answer to the DELETE is the namespace, Terminating
        self.assertIn('namespace "tmp" deleted', p.stdout)
        ns = self.c.get("/api/v1/namespaces/tmp")
        if ns is not None:  # the controller may already have finished
            self.assertEqual(ns["status"]["phase"], "Terminating")
        self.c.wait("namespace gone",
                    lambda: self.c.get("/api/v1/namespaces/tmp") is None,
                    timeout=60)
        self.c.wait("contents gone", lambda: not self.c.pods(ns="tmp") and
                    not self.c.get("/api/v1/namespaces/tmp/configmaps")
                    ["items"] and not self.c.get(
                        "/apis/apps/v1/namespaces/tmp/deployments")["items"],
                    timeout=60)


    def test_a_finalizer_keeps_the_namespace_terminating(self):
        self.c.kubectl("create", "namespace", "held", check=True)
        self.c.kubectl("create", "configmap", "-n", "held", "keep",
                       check=True)
        self.c.kubectl("create", "configmap", "-n", "held", "other",
                       check=True)
        self.c.kubectl("patch", "configmap", "-n", "held", "keep", "-p",
                       '{"metadata":{"finalizers":["example.com/hold"]}}',
                       check=True)
        p = self.c.kubectl("delete", "namespace", "held", "--wait=false")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.c.wait("other deleted", lambda: self.c.get(
            "/api/v1/namespaces/held/configmaps/other") is None)
        ns = self.c.get("/api/v1/namespaces/held")
        self.assertIsNotNone(ns, "the namespace went while content is left")
        self.assertEqual(ns["status"]["phase"], "Terminating")
        self.assertEqual(ns["spec"]["finalizers"], ["kubernetes"])
        keep = self.c.get("/api/v1/namespaces/held/configmaps/keep")
        self.assertIn("deletionTimestamp", keep["metadata"])

        def conds():
            ns = self.c.get("/api/v1/namespaces/held") or {}
            c = {x["type"]: x for x in
                 ns.get("status", {}).get("conditions", [])}
            return c if "NamespaceFinalizersRemaining" in c else None
        c = self.c.wait("namespace conditions", conds)
        self.assertEqual(c["NamespaceContentRemaining"]["status"], "True")
        self.assertEqual(c["NamespaceContentRemaining"]["message"],
                         "Some resources are remaining: configmaps. has 1 "
                         "resource instances")
        self.assertEqual(c["NamespaceFinalizersRemaining"]["reason"],
                         "SomeFinalizersRemain")
        self.assertEqual(c["NamespaceFinalizersRemaining"]["message"],
                         "Some content in the namespace has finalizers "
                         "remaining: example.com/hold in 1 resource "
                         "instances")
        # NamespaceLifecycle: nothing new while it is being terminated
        p = self.c.kubectl("create", "configmap", "-n", "held", "new1")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('configmaps "new1" is forbidden: unable to create new '
                      'content in namespace held because it is being '
                      'terminated', p.stderr)
        p = self.c.kubectl("patch", "configmap", "-n", "held", "keep",
                           "--type=json", "-p",
                           '[{"op":"remove","path":"/metadata/finalizers"}]')
        self.assertEqual(p.returncode, 0, p.stderr)
        self.c.wait("namespace gone",
                    lambda: self.c.get("/api/v1/namespaces/held") is None,
                    timeout=30)
        # and a namespace of the same name starts afresh
        self.c.kubectl("create", "namespace", "held", check=True)
        p = self.c.kubectl("create", "configmap", "-n", "held", "new1")
        self.assertEqual(p.returncode, 0, p.stderr)


class NodeLoss(Base):
    server_args = ("--node-monitor-grace-period", "2",
                   "--default-unreachable-toleration-seconds", "3")

    def test_pods_of_a_lost_node_are_recreated_elsewhere(self):
        n1 = self.c.add_sim_node("n1")
        n2 = self.c.add_sim_node("n2", unschedulable=True)
        text = deployment_yaml(replicas=2).replace(
            "      containers:\n",
            "      tolerations:\n"
            "      - {key: node.kubernetes.io/unreachable, operator: Exists,"
            " effect: NoExecute, tolerationSeconds: 3}\n"
            "      containers:\n")
        self.apply(text)
        self.rollout_status()
        self.assertEqual({p["spec"]["nodeName"] for p in self.live_pods()},
                         {n1})
        self.c.kubectl("uncordon", n2, check=True)
        self.c.agents[n1].stop(signal.SIGKILL)  # n1 is lost
        node = self.c.wait("n1 unreachable", lambda: [
            x for x in (self.c.get("/api/v1/nodes/" + n1)["spec"]
                        .get("taints") or [])
            if x["key"] == "node.kubernetes.io/unreachable" and
            x["effect"] == "NoExecute"])
        self.assertTrue(node)
        ready = [c for c in self.c.get("/api/v1/nodes/" + n1)["status"]
                 ["conditions"] if c["type"] == "Ready"][0]
        self.assertEqual((ready["status"], ready["reason"]),
                         ("Unknown", "NodeStatusUnknown"))
        self.c.wait("replacements ready on n2", lambda: sorted(
            p["spec"]["nodeName"] for p in self.live_pods()
            if is_ready(p)) == [n2, n2], timeout=60)
        p = self.c.kubectl("get", "nodes")
        self.assertRegex(p.stdout, n1 + r"\s+NotReady")
        # n1 comes back: Ready again, taint removed, and the pods evicted
        # from it (Terminating while it was away) confirmed gone
        self.c.agents[n1].start()
        self.c.wait("n1 healthy", lambda: not (
            self.c.get("/api/v1/nodes/" + n1)["spec"].get("taints")))
        self.c.wait("evicted pods gone", lambda: all(
            p["spec"]["nodeName"] == n2
            for p in self.c.pods(selector="app=web")))

if __name__ == "__main__":
    unittest.main()

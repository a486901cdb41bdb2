"""The node agent with the real k1s server, the real kubectl and the Python
client: pods bound to a node run as real processes, logs (also -f),
CrashLoopBackOff, liveness restarts, deletion within the grace period,
OOM kills, agent restarts that adopt running pods, an API server that goes
away and comes back.

The agent runs as its own process (`k1s agent --server URL`), exactly as a
remote node would; the harness's server runs with --disable-agent.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402


def memory_cgroup_reason():
    """None when a memory cgroup can be used, else why not."""
    if os.geteuid() != 0:
        return "not root: cannot create cgroups"
    if os.path.isdir("/sys/fs/cgroup/memory"):
        return None
    try:
        with open("/sys/fs/cgroup/cgroup.controllers") as f:
            if "memory" in f.read().split():
                return None
    except OSError:
        pass
    return "no memory cgroup controller on this machine"


def controllers_reason():
    """None when this k1s build runs the scheduler and controllers (the
    Deployment test needs both), else why not."""
    out = subprocess.run([k1s.K1S_BIN, "server", "--help"],
                         capture_output=True, text=True).stdout
    if "--disable-controllers" in out:
        return None
    return "this build has no scheduler/controllers yet (k1s server --help)"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def count_procs(marker):
    n = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if marker.encode() in f.read():
                    n += 1
        except OSError:
            pass
    return n


def Agent(server, node, data_dir):
    """A real agent for node `node` (k1s.Agent with --node-name)."""
    return k1s.Agent(server, data_dir, "--node-name", node)


class AgentTest(unittest.TestCase):
    node = "it-node"

    def setUp(self):
        self.srv = k1s.Server().start()
        self.agent_dir = tempfile.mkdtemp(prefix="k1s-agent-it-")
        self.agent = Agent(self.srv, self.node, self.agent_dir).start()
        self.markers = []
        k1s.wait_for(lambda: self.node_ready(), 20, "the node to be Ready")

    def tearDown(self):
        # Delete every pod so their processes go, then stop everything.
        self.srv.kubectl("delete", "pods", "--all", "--grace-period=1",
                         "--wait=true", "--timeout=30s")
        self.agent.stop()
        if self.agent.proc is None and any(count_procs(m)
                                           for m in self.markers):
            # Last resort for a failed test: the pods' own processes, by
            # the PIDs recorded in the agent's run directories.
            for root, _dirs, files in os.walk(self.agent_dir):
                if "pid" in files:
                    try:
                        with open(os.path.join(root, "pid")) as f:
                            os.kill(int(f.read().split()[0]), signal.SIGKILL)
                    except (OSError, ValueError):
                        pass
        self.srv.cleanup()
        subprocess.run(["rm", "-rf", self.agent_dir], check=False)

    # ------------------------------------------------------------ helpers
    def node_ready(self):
        p = self.srv.kubectl("get", "node", self.node, "-o", "json")
        if p.returncode != 0:
            return False
        for c in json.loads(p.stdout).get("status", {}).get("conditions",
                                                           []):
            if c["type"] == "Ready":
                return c["status"] == "True"
        return False

    def marker(self):
        m = "%d.%d" % (900 + len(self.markers), os.getpid())
        self.markers.append(m)
        return m

    def apply(self, pod):
        pod.setdefault("apiVersion", "v1")
        pod.setdefault("kind", "Pod")
        pod["spec"]["nodeName"] = self.node
        self.srv.kubectl("apply", "-f", "-", input=json.dumps(pod),
                         check=True)

    def pod(self, name):
        p = self.srv.kubectl("get", "pod", name, "-o", "json")
        return json.loads(p.stdout) if p.returncode == 0 else None

    def cstatus(self, name):
        p = self.pod(name)
        cs = (p or {}).get("status", {}).get("containerStatuses") or [{}]
        return cs[0]

    def simple_pod(self, name, script, **spec):
        s = {"containers": [{"name": "main", "image": "busybox",
                             "command": ["sh", "-c", script]}]}
        s.update(spec)
        return {"metadata": {"name": name}, "spec": s}

    # ------------------------------------------------------------ tests
    def test_node_has_complete_info_for_kubectl_and_python(self):
        node = json.loads(self.srv.kubectl("get", "node", self.node, "-o",
                                           "json", check=True).stdout)
        info = node["status"]["nodeInfo"]
        self.assertEqual(len(info), 10)
        self.assertTrue(info["containerRuntimeVersion"].startswith(
            "k1s-process://"))
        self.assertTrue(info["kubeletVersion"].startswith("v1.32."))
        self.assertEqual(node["status"]["capacity"]["pods"], "110")
        self.assertGreater(node["status"]["daemonEndpoints"]
                           ["kubeletEndpoint"]["Port"], 0)
        out = subprocess.run(
            ["/usr/bin/python3", "-c",
             "from kubernetes import client, config;"
             "config.load_kube_config(%r);"
             "n = client.CoreV1Api().list_node().items[0];"
             "print(n.status.node_info.machine_id)" % self.srv.kubeconfig],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        with open("/etc/machine-id") as f:
            self.assertEqual(out.stdout.strip(), f.read().strip())
        lease = self.srv.kubectl("get", "lease", "-n", "kube-node-lease",
                                 self.node, "-o", "json")
        self.assertEqual(lease.returncode, 0, lease.stderr)
        self.assertEqual(json.loads(lease.stdout)["spec"]["holderIdentity"],
                         self.node)

    def test_pod_runs_and_kubectl_logs_reads_it(self):
        m = self.marker()
        self.apply(self.simple_pod(
            "hello", "echo first; echo second; echo third >&2; "
            "exec sleep %s" % m))
        self.srv.kubectl("wait", "--for=condition=Ready", "pod/hello",
                         "--timeout=30s", check=True)
        # Running means forked; the exec follows at once.
        k1s.wait_for(lambda: count_procs(m) == 1, 10, "the container process")
        cs = self.cstatus("hello")
        self.assertEqual(cs["restartCount"], 0)
        self.assertIn("running", cs["state"])
        self.assertTrue(cs["imageID"])
        k1s.wait_for(lambda: "third" in self.srv.kubectl("logs", "hello").stdout,
                 10, "the log")
        logs = self.srv.kubectl("logs", "hello", check=True).stdout
        self.assertEqual(logs.split(), ["first", "second", "third"])
        tail = self.srv.kubectl("logs", "hello", "--tail=1",
                                "--timestamps", check=True).stdout
        self.assertRegex(tail, r"^\d{4}-\d\d-\d\dT\S+Z third\n$")
        # The Python client deserialises the pod list (needs imageID).
        out = subprocess.run(
            ["/usr/bin/python3", "-c",
             "from kubernetes import client, config;"
             "config.load_kube_config(%r);"
             "p = client.CoreV1Api().list_namespaced_pod('default').items[0];"
             "print(p.status.phase, p.status.container_statuses[0].ready)"
             % self.srv.kubeconfig],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split(), ["Running", "True"])

    def test_logs_follow_streams_until_the_container_ends(self):
        self.apply(self.simple_pod(
            "counter", "for i in 1 2 3 4 5 6; do echo n$i; sleep 0.3; done",
            restartPolicy="Never"))
        k1s.wait_for(lambda: self.cstatus("counter").get("containerID"), 20,
                 "the container to start")
        p = self.srv.kubectl("logs", "-f", "counter", timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["n1", "n2", "n3", "n4", "n5",
                                            "n6"])
        k1s.wait_for(lambda: (self.pod("counter") or {}).get("status", {})
                 .get("phase") == "Succeeded", 20, "phase Succeeded")

    def test_crashing_container_goes_to_crashloopbackoff(self):
        self.apply(self.simple_pod("crasher", "echo boom; exit 1"))

        def backoff(msg):
            w = self.cstatus("crasher").get("state", {}).get("waiting", {})
            return (w.get("reason") == "CrashLoopBackOff" and
                    msg in w.get("message", ""))
        k1s.wait_for(lambda: backoff("back-off 10s"), 30, "back-off 10s")
        k1s.wait_for(lambda: backoff("back-off 20s"), 30, "back-off 20s")
        cs = self.cstatus("crasher")
        self.assertGreaterEqual(cs["restartCount"], 2)
        self.assertEqual(cs["lastState"]["terminated"]["exitCode"], 1)
        self.assertIn("CrashLoopBackOff",
                      self.srv.kubectl("get", "pod", "crasher").stdout)
        prev = self.srv.kubectl("logs", "crasher", "--previous")
        self.assertEqual(prev.returncode, 0, prev.stderr)
        self.assertEqual(prev.stdout.strip(), "boom")

    def test_failing_liveness_probe_restarts_the_container(self):
        m = self.marker()
        pod = self.simple_pod("unwell", "exec sleep %s" % m,
                              terminationGracePeriodSeconds=1)
        pod["spec"]["containers"][0]["livenessProbe"] = {
            "exec": {"command": ["false"]}, "periodSeconds": 1,
            "failureThreshold": 2}
        self.apply(pod)
        k1s.wait_for(lambda: self.cstatus("unwell").get("restartCount", 0) >= 1,
                 40, "a liveness restart")
        k1s.wait_for(lambda: count_procs(m) == 1, 20, "the restarted process")

    def test_readiness_http_probe_and_the_server_answers(self):
        port = free_port()
        pod = {"metadata": {"name": "web"}, "spec": {
            "terminationGracePeriodSeconds": 2,
            "containers": [{
                "name": "http", "image": "python:3.11-slim",
                "env": [{"name": "POD_IP", "valueFrom": {
                    "fieldRef": {"fieldPath": "status.podIP"}}}],
                "command": ["python3", "-m", "http.server", "--bind",
                            "$(POD_IP)", str(port)],
                "readinessProbe": {"httpGet": {"path": "/", "port": port},
                                   "periodSeconds": 1}}]}}
        self.apply(pod)
        self.srv.kubectl("wait", "--for=condition=Ready", "pod/web",
                         "--timeout=40s", check=True)
        # Each pod has its own loopback address (podIP); the server is
        # there, not on the node's address.
        ip = self.pod("web")["status"]["podIP"]
        self.assertTrue(ip.startswith("127.") and ip != "127.0.0.1", ip)
        with urllib.request.urlopen("http://%s:%d/" % (ip, port),
                                    timeout=10) as r:
            self.assertEqual(r.status, 200)

    def test_readiness_gate_holds_ready_until_its_condition_is_true(self):
        pod = self.simple_pod("gated", "sleep 3600",
                              terminationGracePeriodSeconds=1,
                              readinessGates=[
                                  {"conditionType": "example.com/lb"}])
        self.apply(pod)

        def cond(t):
            for c in (self.pod("gated") or {}).get("status", {}).get(
                    "conditions", []):
                if c["type"] == t:
                    return c
            return None
        k1s.wait_for(lambda: (cond("ContainersReady") or {}).get("status") ==
                 "True", 30, "the container to be ready")
        ready = cond("Ready")
        self.assertEqual((ready["status"], ready.get("reason")),
                         ("False", "ReadinessGatesNotReady"))
        self.assertEqual(ready["message"], 'corresponding condition of pod '
                         'readiness gate "example.com/lb" does not exist.')
        # the gate's owner sets its condition: the agent's own status
        # writes (strategic merge, by condition type) leave it in place
        self.srv.kubectl(
            "patch", "pod", "gated", "--subresource=status",
            "--type=strategic", "-p", json.dumps({"status": {"conditions": [
                {"type": "example.com/lb", "status": "True"}]}}),
            check=True)
        self.srv.kubectl("wait", "--for=condition=Ready", "pod/gated",
                         "--timeout=30s", check=True)
        self.assertEqual(cond("example.com/lb")["status"], "True")

    def test_delete_ends_within_grace_and_leaves_no_process(self):
        m = self.marker()
        # The shell ignores SIGTERM: only the SIGKILL at the end of the
        # grace period ends it, and its background child with it.
        self.apply(self.simple_pod(
            "stubborn", "trap '' TERM; sleep %s & sleep %s; wait" % (m, m),
            terminationGracePeriodSeconds=3))
        self.srv.kubectl("wait", "--for=condition=Ready", "pod/stubborn",
                         "--timeout=30s", check=True)
        # the shell (its command line names the marker) and both sleeps
        k1s.wait_for(lambda: count_procs(m) == 3, 10, "both sleeps")
        t0 = time.monotonic()
        p = self.srv.kubectl("delete", "pod", "stubborn", "--timeout=30s")
        took = time.monotonic() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreaterEqual(took, 2.5)
        self.assertLess(took, 3 + 5)
        self.assertEqual(count_procs(m), 0)
        self.assertIsNone(self.pod("stubborn"))

    if memory_cgroup_reason() is None:
        def test_memory_limit_oomkills_and_reports_it(self):
            pod = self.simple_pod("hungry", "", restartPolicy="Never")
            pod["spec"]["containers"][0].update({
                "command": ["python3", "-c",
                            "b = bytearray(300 * 1024 * 1024)"],
                "resources": {"limits": {"memory": "40Mi"}}})
            self.apply(pod)
            t = k1s.wait_for(lambda: self.cstatus("hungry").get("state", {})
                         .get("terminated"), 40, "termination")
            self.assertEqual(t["reason"], "OOMKilled")
            self.assertEqual(t["exitCode"], 137)
    else:
        print("test_agent: NOT running the OOM test: %s" %
              memory_cgroup_reason(), file=sys.stderr)

    if controllers_reason() is None:
        def test_web_deployment_becomes_ready_and_answers(self):
            path = os.path.join(os.path.dirname(__file__), "..", "..",
                                "manifests", "examples", "web.yaml")
            self.srv.kubectl("apply", "-f", path, check=True)
            self.srv.kubectl("rollout", "status", "deployment/web",
                             "--timeout=90s", check=True, timeout=120)
            pods = json.loads(self.srv.kubectl(
                "get", "pods", "-l", "app=web", "-o", "json",
                check=True).stdout)["items"]
            self.assertEqual(len(pods), 3)
            ips = {p["status"]["podIP"] for p in pods}
            self.assertEqual(len(ips), 3)
            for ip in ips:
                with urllib.request.urlopen("http://%s:8080/" % ip,
                                            timeout=10) as r:
                    self.assertEqual(r.status, 200)
            self.srv.kubectl("delete", "-f", path, "--timeout=60s")
    else:
        print("test_agent: NOT running the Deployment test: %s" %
              controllers_reason(), file=sys.stderr)

    def test_agent_restart_adopts_running_pods(self):
        m = self.marker()
        self.apply(self.simple_pod("survivor", "exec sleep %s" % m))
        self.srv.kubectl("wait", "--for=condition=Ready", "pod/survivor",
                         "--timeout=30s", check=True)
        k1s.wait_for(lambda: count_procs(m) == 1, 10, "the container process")
        before = self.cstatus("survivor")
        self.agent.stop()
        self.assertEqual(count_procs(m), 1, "the pod died with the agent")
        self.agent = Agent(self.srv, self.node, self.agent_dir).start()
        k1s.wait_for(lambda: "adopting pod default/survivor" in
                 self.agent.read_log(), 20, "adoption")
        # Still the same process: no restart, same start time.
        self.assertEqual(count_procs(m), 1)
        after = self.cstatus("survivor")
        self.assertEqual(after["restartCount"], 0)
        self.assertEqual(after["state"]["running"]["startedAt"],
                         before["state"]["running"]["startedAt"])
        # And the new agent still controls it.
        self.srv.kubectl("delete", "pod", "survivor", "--grace-period=1",
                         check=True, timeout=30)
        k1s.wait_for(lambda: count_procs(m) == 0, 10, "the process to go")

    def test_pods_survive_the_api_server_and_the_agent_reconnects(self):
        m = self.marker()
        self.apply(self.simple_pod("steady", "exec sleep %s" % m))
        self.srv.kubectl("wait", "--for=condition=Ready", "pod/steady",
                         "--timeout=30s", check=True)
        k1s.wait_for(lambda: count_procs(m) == 1, 10, "the container process")
        port = self.srv.port
        self.srv.stop()
        time.sleep(2)  # the agent runs without its server for a while
        self.assertEqual(count_procs(m), 1)
        self.srv = k1s.Server("--port", str(port),
                              data_dir=self.srv.data_dir)
        self.srv.own_dir = True
        self.srv.start()
        self.apply(self.simple_pod("later", "exec sleep %s" % m))
        self.srv.kubectl("wait", "--for=condition=Ready", "pod/later",
                         "--timeout=40s", check=True)
        k1s.wait_for(lambda: count_procs(m) == 2, 10, "both pods' processes")
        self.assertEqual(self.cstatus("steady")["restartCount"], 0)


class AgentFailover(unittest.TestCase):
    """Two agents on one machine; one dies; its node goes NotReady and the
    Deployment's pods come back on the other node. Needs the node
    lifecycle controller (controllers helper's work)."""

    def setUp(self):
        if controllers_reason() is not None:
            self.srv = None
            return
        self.srv = k1s.Server("--node-monitor-grace-period", "12",
                              "--default-unreachable-toleration-seconds",
                              "2").start()
        self.dirs = [tempfile.mkdtemp(prefix="k1s-agent-fo-")
                     for _ in range(2)]
        self.agents = [Agent(self.srv, n, d).start()
                       for n, d in zip(("node-a", "node-b"), self.dirs)]

    def tearDown(self):
        if self.srv is None:
            return
        self.srv.kubectl("delete", "deployment", "--all", "--timeout=30s")
        self.srv.kubectl("delete", "pods", "--all", "--grace-period=1",
                         "--timeout=30s")
        for a in self.agents:
            if a.proc is not None:
                a.stop()
        # The dead agent's pods: their processes, by the PIDs recorded in
        # its run directories (nobody else will stop them).
        for d in self.dirs:
            for root, _dirs, files in os.walk(d):
                if "pid" in files and "exit" not in files:
                    try:
                        with open(os.path.join(root, "pid")) as f:
                            os.kill(int(f.read().split()[0]),
                                    signal.SIGKILL)
                    except (OSError, ValueError):
                        pass
            subprocess.run(["rm", "-rf", d], check=False)
        self.srv.cleanup()

    def ready_nodes(self):
        p = self.srv.kubectl("get", "nodes", "-o", "json")
        out = set()
        for n in json.loads(p.stdout)["items"] if p.returncode == 0 else []:
            for c in n.get("status", {}).get("conditions", []):
                if c["type"] == "Ready" and c["status"] == "True":
                    out.add(n["metadata"]["name"])
        return out

    def running_on(self, node):
        p = self.srv.kubectl("get", "pods", "-l", "app=fo", "-o", "json")
        n = 0
        for pod in json.loads(p.stdout)["items"] if p.returncode == 0 else []:
            st = pod.get("status", {})
            if (pod["spec"].get("nodeName") == node and
                    not pod["metadata"].get("deletionTimestamp") and
                    st.get("phase") == "Running"):
                n += 1
        return n

    if controllers_reason() is None:
        def test_killed_agent_node_goes_notready_and_pods_move(self):
            k1s.wait_for(lambda: self.ready_nodes() == {"node-a", "node-b"}, 30,
                     "both nodes Ready")
            dep = {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "fo"},
                   "spec": {"replicas": 4,
                            "selector": {"matchLabels": {"app": "fo"}},
                            "template": {
                                "metadata": {"labels": {"app": "fo"}},
                                "spec": {
                                    "terminationGracePeriodSeconds": 1,
                                    "containers": [{
                                        "name": "c", "image": "busybox",
                                        "command": ["sleep", "3600"]}]}}}}
            self.srv.kubectl("apply", "-f", "-", input=json.dumps(dep),
                             check=True)
            k1s.wait_for(lambda: self.running_on("node-a") +
                     self.running_on("node-b") == 4, 60, "4 pods Running")
            victim = "node-a" if self.running_on("node-a") else "node-b"
            other = "node-b" if victim == "node-a" else "node-a"
            idx = 0 if victim == "node-a" else 1
            self.agents[idx].stop(signal.SIGKILL)
            k1s.wait_for(lambda: victim not in self.ready_nodes(), 60,
                     "%s to go NotReady" % victim)
            try:
                k1s.wait_for(lambda: self.running_on(other) == 4, 90,
                         "all 4 pods Running on %s" % other)
            except AssertionError:
                print(self.srv.kubectl("get", "pods,nodes", "-o",
                                       "wide").stdout, file=sys.stderr)
                raise
    else:
        print("test_agent: NOT running the two-agent failover test: %s" %
              controllers_reason(), file=sys.stderr)


if __name__ == "__main__":
    unittest.main()

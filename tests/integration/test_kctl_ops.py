"""kubectl-lite's operations verbs (logs, rollout, wait, cordon, uncordon,
drain, scale, label, annotate, config) against the real k1s binary, side by
side with the real kubectl wherever the output is deterministic.

The server runs its controllers and scheduler; pods run on two kinds of
nodes, both started here as separate processes (the harness's server runs
with --disable-agent): one real agent (`ops-real`, pods are host
processes, so `logs` has something to read) and one agent simulating two
nodes (`ops-sim-0`, `ops-sim-1`: pods reported Running at once, cheap to
drain). Every wait is bounded; nothing asserts how long anything took.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

REAL = "ops-real"
SIM = "ops-sim"  # nodes ops-sim-0, ops-sim-1


def deployment(name, replicas, selector, script, image="busybox"):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "nodeSelector": selector,
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "c", "image": image,
                                    "command": ["sh", "-c", script]}]}}}}


def pod(name, node, containers, **spec):
    s = {"nodeName": node, "terminationGracePeriodSeconds": 1,
         "containers": [{"name": n, "image": "busybox",
                         "command": ["sh", "-c", script]}
                        for n, script in containers]}
    s.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": s}


def norm(text):
    """kubectl-lite names itself where kubectl says kubectl."""
    return text.replace("kubectl-lite", "kubectl")


def unlogged(text):
    """kubectl's stderr without client-go's klog lines ("W1207 12:53:34
    ... reflector.go ..."): they report the client's own retries."""
    return "".join(line for line in text.splitlines(True)
                   if not re.match(r"^[IWE]\d{4} \d\d:\d\d:\d\d", line))


class KubectlLiteOps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = k1s.Server().start()
        cls.tmp = tempfile.mkdtemp(prefix="k1s-kctl-ops-")
        cls.agents = []
        try:
            real_dir = os.path.join(cls.tmp, "real")
            sim_dir = os.path.join(cls.tmp, "sim")
            os.makedirs(real_dir)
            os.makedirs(sim_dir)
            cls.agents.append(k1s.Agent(cls.srv, real_dir, "--node-name",
                                        REAL).start())
            cls.agents.append(k1s.Agent(cls.srv, sim_dir, "--node-name", SIM,
                                        "--simulate", "2").start())
            k1s.wait_for(lambda: cls.nodes_ready() == 3, 30, "3 Ready nodes")
            cls.k("label", "node", SIM + "-0", SIM + "-1", "pool=sim",
                  check=True)
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        # Pods first, so that the real agent's processes end with them.
        cls.srv.kubectl("delete", "deployments,daemonsets", "--all",
                        "--wait=false")
        cls.srv.kubectl("delete", "pods", "--all", "--grace-period=1",
                        "--wait=true", "--timeout=30s")
        for a in cls.agents:
            a.stop(kill_pods=True)
        cls.srv.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # ------------------------------------------------------------ helpers
    @classmethod
    def k(cls, *args, **kw):
        return cls.srv.kubectl(*args, **kw)

    def lite(self, *args, **kw):
        return self.srv.kubectl_lite(*args, **kw)

    @classmethod
    def nodes_ready(cls):
        p = cls.srv.kubectl("get", "nodes", "-o", "json")
        if p.returncode != 0:
            return 0
        n = 0
        for node in json.loads(p.stdout)["items"]:
            for c in node.get("status", {}).get("conditions", []):
                if c["type"] == "Ready" and c["status"] == "True":
                    n += 1
        return n

    def apply(self, obj):
        self.k("apply", "-f", "-", input=json.dumps(obj), check=True)

    def getj(self, *args):
        p = self.k("get", "-o", "json", *args)
        return json.loads(p.stdout) if p.returncode == 0 else None

    def pods(self, selector):
        return self.getj("pods", "-l", selector)["items"]

    def ready_pods(self, selector, n):
        def ok():
            ps = [p for p in self.pods(selector)
                  if "deletionTimestamp" not in p["metadata"] and any(
                      c["type"] == "Ready" and c["status"] == "True"
                      for c in p.get("status", {}).get("conditions", []))]
            return ps if len(ps) == n else None
        return k1s.wait_for(ok, 60, "%d Ready pods %s" % (n, selector))

    def rolled_out(self, name):
        def ok():
            d = self.getj("deployment", name)
            st = d.get("status", {})
            want = d["spec"]["replicas"]
            return (d["metadata"].get("generation") ==
                    st.get("observedGeneration") and
                    st.get("updatedReplicas") == want and
                    st.get("availableReplicas") == want and
                    st.get("replicas") == want)
        k1s.wait_for(ok, 60, "deployment %s rolled out" % name)

    def same(self, *args, sort_lines=False, input=None):
        """Runs both tools; asserts the same exit code, stdout and stderr
        (kubectl-lite's name read as kubectl's). Returns kubectl-lite's
        result."""
        a = self.k(*args, input=input)
        b = self.lite(*args, input=input)
        fa = (a.returncode, a.stdout, unlogged(a.stderr))
        fb = (b.returncode, norm(b.stdout), norm(b.stderr))
        if sort_lines:
            fa = (fa[0], sorted(fa[1].splitlines()),
                  sorted(fa[2].splitlines()))
            fb = (fb[0], sorted(fb[1].splitlines()),
                  sorted(fb[2].splitlines()))
        self.assertEqual(fb, fa, "args: %r" % (args,))
        return b

    def same_change(self, get_state, set_state, *args, sort_lines=False):
        """For a command that changes something: kubectl runs it, the
        state is put back, kubectl-lite runs it; the same outputs and the
        same state after."""
        before = get_state()
        a = self.k(*args)
        after_kubectl = get_state()
        set_state(before)
        b = self.lite(*args)
        fa = (a.returncode, a.stdout, unlogged(a.stderr))
        fb = (b.returncode, norm(b.stdout), norm(b.stderr))
        if sort_lines:
            fa = (fa[0], sorted(fa[1].splitlines()), fa[2])
            fb = (fb[0], sorted(fb[1].splitlines()), fb[2])
        self.assertEqual(fb, fa, "args: %r" % (args,))
        self.assertEqual(get_state(), after_kubectl, "args: %r" % (args,))
        return b

    def json_patch(self, path, ops):
        s, body, _ = self.srv.request(
            "PATCH", path, body=json.dumps(ops).encode(),
            headers={"Content-Type": "application/json-patch+json"})
        self.assertEqual(s, 200, body)

    def node_state(self, name):
        path = "/api/v1/nodes/" + name

        def get():
            s, body, _ = self.srv.get(path)
            return bool(json.loads(body)["spec"].get("unschedulable"))

        def put(v):
            self.json_patch(path, [{"op": "add",
                                    "path": "/spec/unschedulable",
                                    "value": v}])
        return get, put

    def meta_state(self, path):
        def get():
            s, body, _ = self.srv.get(path)
            md = json.loads(body)["metadata"]
            return (md.get("labels") or {}, md.get("annotations") or {})

        def put(v):
            self.json_patch(path, [
                {"op": "add", "path": "/metadata/labels", "value": v[0]},
                {"op": "add", "path": "/metadata/annotations",
                 "value": v[1]}])
        return get, put

    # ================================================================ logs
    def test_logs_of_a_pod(self):
        self.apply(pod("lp", REAL, [
            ("a", "echo a-one; echo a-two; echo a-three; exec sleep 3600"),
            ("b", "echo b-one; exec sleep 3600")]))
        self.lite("wait", "--for=condition=Ready", "pod/lp",
                  "--timeout=60s", check=True)
        k1s.wait_for(lambda: "a-three" in self.k("logs", "lp", "-c", "a").stdout,
                 20, "the log of lp/a")
        k1s.wait_for(lambda: "b-one" in self.k("logs", "lp", "-c", "b").stdout,
                 20, "the log of lp/b")
        p = self.same("logs", "lp")  # first container, said on stderr
        self.assertEqual(p.stdout, "a-one\na-two\na-three\n")
        self.assertEqual(p.stderr, 'Defaulted container "a" out of: a, b\n')
        self.same("logs", "lp", "b")
        self.same("logs", "lp", "-c", "a", "--tail=2")
        self.same("logs", "lp", "-c", "b", "--prefix")
        self.same("logs", "lp", "--all-containers", "--prefix",
                  sort_lines=True)
        self.same("logs", "lp", "-c", "a", "--since=1h")
        self.same("logs", "lp", "-c", "a", "--limit-bytes=4")
        p = self.lite("logs", "lp", "-c", "a", "--tail=1", "--timestamps")
        self.assertRegex(p.stdout, r"^\d{4}-\d\d-\d\dT\S+Z a-three\n$")
        # errors, word for word
        self.same("logs", "nope")
        self.same("logs")
        self.same("logs", "lp", "-c", "nope")
        self.same("logs", "lp", "a", "-c", "b")
        self.same("logs", "lp", "-l", "app=x")
        self.same("logs", "lp", "--tail=-2")
        self.same("logs", "lp", "--since-time=bad")
        self.same("logs", "lp", "--since=1h",
                  "--since-time=2020-01-01T00:00:00Z")
        # the agent's own message comes through (its body may arrive after
        # its head)
        for _ in range(5):
            self.same("logs", "lp", "-c", "a", "--previous")
        p = self.lite("logs", "lp", "-c", "a", "--previous")
        self.assertEqual(p.returncode, 1)
        self.assertTrue(p.stderr.startswith(
            "Error from server (BadRequest): "), p.stderr)
        self.assertNotIn("refused the log request", p.stderr)
        self.same("logs", "cm/nope")

    def test_logs_of_a_deployment_picks_a_pod(self):
        self.apply(deployment(
            "ld", 2, {"kubernetes.io/hostname": REAL},
            "echo hello from $HOSTNAME; exec sleep 3600"))
        pods = self.ready_pods("app=ld", 2)
        for p in pods:
            name = p["metadata"]["name"]
            k1s.wait_for(lambda: name in self.k("logs", name).stdout, 20,
                     "the log of " + name)
        p = self.lite("logs", "deploy/ld")
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.fullmatch(r"Found 2 pods, using pod/(\S+)\n", p.stderr)
        self.assertTrue(m, p.stderr)
        self.assertIn(m.group(1), [q["metadata"]["name"] for q in pods])
        self.assertEqual(p.stdout, "hello from %s\n" % m.group(1))
        # the ReplicaSet names the same pods
        rs = self.getj("rs", "-l", "app=ld")["items"][0]["metadata"]["name"]
        p = self.lite("logs", "rs/" + rs)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"^hello from ld-")
        # -l: every pod, with the default tail of 10
        p = self.lite("logs", "-l", "app=ld", "--prefix")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.splitlines()), sorted(
            "[pod/%s/c] hello from %s" % (q["metadata"]["name"],
                                          q["metadata"]["name"])
            for q in pods))
        self.same("logs", "-l", "app=nobody")
        p = self.lite("logs", "deploy/ld", "--all-pods")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.splitlines()), sorted(
            "[pod/%s/c] hello from %s" % (q["metadata"]["name"],
                                          q["metadata"]["name"])
            for q in pods))

    def test_logs_follow_streams_until_the_container_ends(self):
        self.apply(pod("lf", REAL, [
            ("a", "for i in 1 2 3 4 5; do echo a$i; sleep 0.2; done"),
            ("b", "for i in 1 2 3; do echo b$i; sleep 0.3; done")],
            restartPolicy="Never"))

        def started():
            p = self.getj("pod", "lf") or {}
            cs = p.get("status", {}).get("containerStatuses") or []
            return len(cs) == 2 and all(c.get("containerID") for c in cs)
        k1s.wait_for(started, 30, "lf's containers to start")
        p = self.lite("logs", "-f", "lf", "-c", "a", timeout=60)
        self.assertEqual((p.returncode, p.stdout.split()),
                         (0, ["a1", "a2", "a3", "a4", "a5"]), p.stderr)
        # several streams at once, each line whole and prefixed
        p = self.lite("logs", "-f", "lf", "--all-containers", "--prefix",
                      timeout=60)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(sorted(p.stdout.splitlines()), sorted(
            ["[pod/lf/a] a%d" % i for i in range(1, 6)] +
            ["[pod/lf/b] b%d" % i for i in range(1, 4)]))
        k1s.wait_for(lambda: (self.getj("pod", "lf") or {}).get(
            "status", {}).get("phase") == "Succeeded", 30, "lf Succeeded")
        self.same("logs", "-f", "lf", "-c", "b")
        self.same("logs", "-f", "lf", "--all-containers",
                  "--max-log-requests=1")

    # ============================================================= rollout
    def test_rollout_status_history_undo_restart(self):
        self.apply(deployment("ro", 3, {"pool": "sim"}, "sleep 3600"))
        p = self.lite("rollout", "status", "deployment/ro", "--timeout=60s")
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[-1], 'deployment "ro" successfully rolled out')
        for line in lines[:-1]:
            self.assertRegex(line, r'^Waiting for deployment (spec update '
                             r'to be observed|"ro" rollout to finish: )')
        self.rolled_out("ro")
        self.same("rollout", "status", "deploy/ro")
        self.same("rollout", "status", "deploy/ro", "-w=false")

        self.k("annotate", "deploy", "ro", "kubernetes.io/change-cause=v2",
               check=True)
        self.k("set", "image", "deploy/ro", "c=busybox:v2", check=True)
        p = self.lite("rollout", "status", "deploy/ro", "--timeout=60s")
        self.assertEqual(p.stdout.splitlines()[-1],
                         'deployment "ro" successfully rolled out', p.stderr)
        self.rolled_out("ro")
        p = self.same("rollout", "history", "deploy/ro")
        self.assertEqual(p.stdout, "deployment.apps/ro \nREVISION  "
                         "CHANGE-CAUSE\n1         <none>\n2         v2\n\n")
        self.same("rollout", "history", "deployment/ro", "--revision=1")
        self.same("rollout", "history", "deployment/ro", "--revision=2")
        self.same("rollout", "history", "deployment/ro", "--revision=9")
        self.same("rollout", "history", "deployment/ro", "-o", "name")
        self.same("rollout", "undo", "deploy/ro", "--to-revision=9")
        self.same("rollout", "undo", "deploy/ro", "--to-revision=2")

        # back to revision 1: the template comes back, it becomes revision 3
        p = self.lite("rollout", "undo", "deploy/ro")
        self.assertEqual((p.returncode, p.stdout),
                         (0, "deployment.apps/ro rolled back\n"), p.stderr)
        d = self.getj("deployment", "ro")
        self.assertEqual(d["spec"]["template"]["spec"]["containers"][0]
                         ["image"], "busybox")
        self.assertNotIn("pod-template-hash",
                         d["spec"]["template"]["metadata"]["labels"])
        self.rolled_out("ro")
        p = self.same("rollout", "history", "deploy/ro")
        self.assertEqual(p.stdout, "deployment.apps/ro \nREVISION  "
                         "CHANGE-CAUSE\n2         v2\n3         <none>\n\n")

        p = self.lite("rollout", "restart", "deploy/ro")
        self.assertEqual((p.returncode, p.stdout),
                         (0, "deployment.apps/ro restarted\n"), p.stderr)
        ann = self.getj("deployment", "ro")["spec"]["template"]["metadata"][
            "annotations"]
        self.assertRegex(ann["kubectl.kubernetes.io/restartedAt"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
        p = self.lite("rollout", "status", "deploy/ro", "--timeout=60s")
        self.assertEqual(p.stdout.splitlines()[-1],
                         'deployment "ro" successfully rolled out', p.stderr)
        self.rolled_out("ro")
        rs = self.getj("rs", "-l", "app=ro")["items"][0]["metadata"]["name"]
        self.same("rollout", "restart", "rs/" + rs)
        self.same("rollout", "undo", "rs/" + rs)
        self.same("rollout", "history", "rs/" + rs)
        self.same("rollout", "status", "rs/" + rs)

    def test_rollout_errors_and_timeouts(self):
        self.same("rollout", "status")
        self.same("rollout", "history")
        self.same("rollout", "status", "deploy/nope")
        self.same("rollout", "restart", "deploy", "-l", "app=nobody")
        self.same("rollout", "status", "deploy", "-l", "app=nobody")
        self.same("rollout", "bogus")
        # never available: no node matches
        self.apply(deployment("stuck", 2, {"pool": "none"}, "sleep 3600"))

        def observed():
            d = self.getj("deployment", "stuck")
            return d["status"].get("updatedReplicas") == 2
        k1s.wait_for(observed, 30, "stuck's ReplicaSet")
        msg = ('Waiting for deployment "stuck" rollout to finish: 0 of 2 '
               'updated replicas are available...\n')
        p = self.same("rollout", "status", "deploy/stuck", "-w=false")
        self.assertEqual(p.stdout, msg)
        p = self.same("rollout", "status", "deploy/stuck", "--timeout=1s")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr,
                         "error: timed out waiting for the condition\n")
        self.same("rollout", "status", "deploy/stuck", "--revision=5")

    def test_rollout_of_a_daemonset_and_from_a_file(self):
        ds = {"apiVersion": "apps/v1", "kind": "DaemonSet",
              "metadata": {"name": "rds"},
              "spec": {"selector": {"matchLabels": {"app": "rds"}},
                       "template": {
                           "metadata": {"labels": {"app": "rds"}},
                           "spec": {"nodeSelector": {"pool": "none"},
                                    "containers": [{"name": "c",
                                                    "image": "busybox"}]}}}}
        self.apply(ds)
        # no DaemonSet controller here: its status never catches up
        self.same("rollout", "status", "ds/rds", "--timeout=1s")
        self.same("rollout", "history", "ds/rds")
        self.same("rollout", "undo", "ds/rds")
        f = os.path.join(self.tmp, "rf.json")
        self.apply(deployment("rf", 1, {"pool": "sim"}, "sleep 3600"))
        with open(f, "w") as out:
            json.dump(deployment("rf", 1, {"pool": "sim"}, "sleep 3600"),
                      out)
        p = self.lite("rollout", "status", "-f", f, "--timeout=60s")
        self.assertEqual(p.stdout.splitlines()[-1],
                         'deployment "rf" successfully rolled out', p.stderr)
        self.rolled_out("rf")
        self.same("rollout", "history", "-f", f)
        self.same("wait", "--for=condition=Available", "-f", f)

    # ================================================================ wait
    def test_wait_conditions_and_jsonpath(self):
        self.apply(deployment("wd", 2, {"pool": "sim"}, "sleep 3600"))
        self.rolled_out("wd")
        p = self.same("wait", "--for=condition=Available", "deploy/wd")
        self.assertEqual(p.stdout, "deployment.apps/wd condition met\n")
        self.same("wait", "--for=condition=available=True", "deploy/wd",
                  "-o", "name")
        self.same("wait", "--for=condition=Available=false", "deploy/wd",
                  "--timeout=1s")
        self.same("wait", "--for=condition=Available", "deploy/wd",
                  "--timeout=0")
        self.same("wait", "--for=condition=Nope", "deploy/wd", "--timeout=0")
        self.same("wait", "--for=jsonpath={.status.readyReplicas}=2",
                  "deploy/wd")
        self.same("wait", "--for=jsonpath=.status.readyReplicas",
                  "deploy/wd")
        self.same("wait", "--for=jsonpath={.status.readyReplicas}=7",
                  "deploy/wd", "--timeout=1s")
        self.same("wait", "--for=jsonpath={.spec.template}=x", "deploy/wd",
                  "--timeout=1s")
        self.same("wait", "--for=jsonpath={.status.conditions[*].type}=x",
                  "deploy/wd", "--timeout=1s")
        self.same("wait", "--for=jsonpath={.status.readyReplicas}=",
                  "deploy/wd")
        self.same("wait", "--for=jsonpath={.status.readyReplicas",
                  "deploy/wd")
        self.same("wait", "--for=condition=Ready", "pod", "-l", "app=wd",
                  sort_lines=True)
        self.same("wait", "--for=condition=Ready", "pod", "-l",
                  "app=nobody")
        self.same("wait", "--for=condition=Nope", "deploy/wd", "pod",
                  "--all", "--timeout=1s")

    def test_wait_errors(self):
        self.same("wait", "pod/x")
        self.same("wait", "--for=bogus", "pod/x")
        self.same("wait", "--for=condition=Ready")
        self.same("wait", "--for=condition=Ready", "pod")
        self.same("wait", "--for=condition=Ready", "pod/nope")
        self.same("wait", "--for=condition=Ready", "pod/x", "--timeout=5")
        self.same("wait", "--for=delete", "pod/nope")
        self.same("wait", "--for=create", "pod/nope", "--timeout=1s")

    def test_wait_for_delete_and_create(self):
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "wcm"}}
        self.apply(cm)
        self.same("wait", "--for=delete", "cm/wcm", "--timeout=1s")
        self.same("wait", "--for=delete", "cm/wcm", "--timeout=0")
        env = dict(os.environ, KUBECONFIG=self.srv.kubeconfig)
        lite = os.path.join(os.path.dirname(os.path.abspath(k1s.K1S_BIN)),
                            "bin", "kubectl-lite")
        w = subprocess.Popen([lite, "wait", "--for=delete", "cm/wcm",
                              "--timeout=60s"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            # the watch is set up when the first request is answered; a
            # delete before that is seen by the initial list just as well
            self.k("delete", "cm", "wcm", check=True)
            out, err = w.communicate(timeout=60)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()
        self.assertEqual((w.returncode, out),
                         (0, "configmap/wcm condition met\n"), err)

        w = subprocess.Popen([lite, "wait", "--for=create", "cm/wcm2",
                              "--timeout=60s"], env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            cm["metadata"]["name"] = "wcm2"
            self.apply(cm)
            out, err = w.communicate(timeout=60)
        finally:
            if w.poll() is None:
                w.kill()
                w.wait()
        self.assertEqual((w.returncode, out),
                         (0, "configmap/wcm2 condition met\n"), err)
        self.same("wait", "--for=create", "cm/wcm2")

    # ================================================================ node
    def test_cordon_and_uncordon(self):
        n = SIM + "-1"
        get, put = self.node_state(n)
        try:
            for args in (["cordon", n], ["cordon", n], ["uncordon", n],
                         ["uncordon", n], ["cordon"], ["cordon", "nope"],
                         ["uncordon", n, "-l", "a=b"],
                         ["cordon", n, "--dry-run=client"],
                         ["cordon", n, "--dry-run=server"],
                         ["uncordon", "-l", "nobody=here"]):
                self.same_change(get, put, *args)
            self.assertFalse(get())
            p = self.lite("cordon", "-l", "pool=sim")
            self.assertEqual(sorted(p.stdout.splitlines()),
                             ["node/%s-0 cordoned" % SIM,
                              "node/%s-1 cordoned" % SIM], p.stderr)
            self.assertTrue(self.getj("node", n)["spec"]["unschedulable"])
            self.same_change(get, put, "uncordon", "node/" + n)
        finally:
            self.k("uncordon", SIM + "-0", SIM + "-1")

    def drain_fixture(self, node):
        """A deployment with pods on the sim nodes, and on `node` a bare
        pod, one with an emptyDir, one owned by a DaemonSet, a mirror
        pod."""
        self.apply(deployment("dr", 4, {"pool": "sim"}, "sleep 3600"))
        self.rolled_out("dr")
        self.apply(pod("bare", node, [("c", "sleep 3600")]))
        self.apply(pod("scratch", node, [("c", "sleep 3600")],
                       volumes=[{"name": "s", "emptyDir": {}}]))
        self.apply({"apiVersion": "apps/v1", "kind": "DaemonSet",
                    "metadata": {"name": "ds"},
                    "spec": {"selector": {"matchLabels": {"app": "ds"}},
                             "template": {
                                 "metadata": {"labels": {"app": "ds"}},
                                 "spec": {"containers": [
                                     {"name": "c", "image": "busybox"}]}}}})
        uid = self.getj("ds", "ds")["metadata"]["uid"]
        p = pod("ds-pod", node, [("c", "sleep 3600")])
        p["metadata"]["ownerReferences"] = [{
            "apiVersion": "apps/v1", "kind": "DaemonSet", "name": "ds",
            "uid": uid, "controller": True}]
        self.apply(p)
        p = pod("mirror", node, [("c", "sleep 3600")])
        p["metadata"]["annotations"] = {"kubernetes.io/config.mirror": "x"}
        self.apply(p)
        k1s.wait_for(lambda: len([q for q in self.getj(
            "pods", "--field-selector", "spec.nodeName=" + node)["items"]
            if q.get("status", {}).get("phase") == "Running"]) >= 4, 30,
            "the pods on " + node)

    @staticmethod
    def unordered(text):
        """kubectl builds these messages from Go maps: compare them as
        sets (lines, and the parts of a [a, b] list or a; separated
        warning)."""
        out = []
        for line in text.splitlines():
            m = re.match(r"^(.*?)\[(.*)\](.*)$", line)
            if m:
                line = (m.group(1), tuple(sorted(m.group(2).split(", "))),
                        m.group(3))
            elif line.startswith("Warning: "):
                line = tuple(sorted(line[9:].split("; ")))
            out.append(line)
        return sorted(out, key=repr)

    def test_drain(self):
        node = SIM + "-0"
        self.drain_fixture(node)
        try:
            # refused: one error per filter, nothing evicted
            a = self.k("drain", node)
            self.k("uncordon", node, check=True)
            b = self.lite("drain", node)
            self.assertEqual(b.returncode, 1)
            self.assertEqual(b.stdout, "node/%s cordoned\n" % node)
            self.assertEqual(self.unordered(norm(b.stderr)),
                             self.unordered(a.stderr))
            self.assertIn("cannot delete DaemonSet-managed Pods (use "
                          "--ignore-daemonsets to ignore): default/ds-pod",
                          b.stderr)
            a = self.k("drain", node, "--force", "--ignore-daemonsets")
            b = self.lite("drain", node, "--force", "--ignore-daemonsets")
            self.assertEqual((b.returncode, b.stdout),
                             (a.returncode, a.stdout))
            self.assertEqual(self.unordered(norm(b.stderr)),
                             self.unordered(a.stderr))
            # dry runs evict nothing
            args = ("drain", node, "--force", "--ignore-daemonsets",
                    "--delete-emptydir-data", "--dry-run=client")
            a, b = self.k(*args), self.lite(*args)
            self.assertEqual((b.returncode, b.stdout),
                             (a.returncode, a.stdout))
            self.assertEqual(self.unordered(b.stderr),
                             self.unordered(a.stderr))
            # kubectl sends dryRun inside the Eviction's deleteOptions, and
            # kubectl-lite also as the query parameter: neither evicts.
            a = self.k("drain", node, "--force", "--ignore-daemonsets",
                       "--delete-emptydir-data", "--dry-run=server")
            self.assertEqual(a.returncode, 0, a.stderr)
            self.assertIsNotNone(self.getj("pod", "bare"))
            p = self.lite("drain", node, "--force", "--ignore-daemonsets",
                          "--delete-emptydir-data", "--dry-run=server")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(self.unordered(p.stdout),
                             self.unordered(a.stdout))
            self.assertIn("evicting pod default/bare (server dry run)\n",
                          p.stdout)
            self.assertTrue(p.stdout.endswith(
                "node/%s drained (server dry run)\n" % node))
            self.assertIsNotNone(self.getj("pod", "bare"))

            on_node = sorted(q["metadata"]["name"] for q in self.getj(
                "pods", "--field-selector", "spec.nodeName=" + node)["items"])
            evicted = [n for n in on_node if n not in ("ds-pod", "mirror")]
            self.assertIn("bare", evicted)
            p = self.lite("drain", node, "--force", "--ignore-daemonsets",
                          "--delete-emptydir-data", "--grace-period=1",
                          "--timeout=60s")
            self.assertEqual(p.returncode, 0, p.stderr)
            want = (["node/%s already cordoned" % node,
                     "node/%s drained" % node] +
                    ["evicting pod default/" + n for n in evicted] +
                    ["pod/%s evicted" % n for n in evicted])
            self.assertEqual(sorted(p.stdout.splitlines()), sorted(want))
            self.assertEqual(self.unordered(p.stderr), self.unordered(
                "Warning: deleting Pods that declare no controller: "
                "default/bare, default/scratch; ignoring DaemonSet-managed "
                "Pods: default/ds-pod\n"))
            left = sorted(q["metadata"]["name"] for q in self.getj(
                "pods", "--field-selector", "spec.nodeName=" + node)["items"])
            self.assertEqual(left, ["ds-pod", "mirror"])
            # the deployment's pods went to the other sim node
            self.ready_pods("app=dr", 4)
            p = self.same("drain", node, "--ignore-daemonsets")
            self.assertEqual(p.stdout, "node/%s already cordoned\nnode/%s "
                             "drained\n" % (node, node))
        finally:
            self.k("uncordon", node)
            self.k("delete", "pod", "bare", "scratch", "ds-pod", "mirror",
                   "--ignore-not-found", "--grace-period=1", "--wait=false")

    def test_drain_errors(self):
        self.same("drain")
        self.same("drain", "nope")
        self.same("drain", "a", "-l", "x=y")
        self.same("drain", "a", "--timeout=5")

    # ================================================= scale, label, config
    def test_scale(self):
        self.apply(deployment("sc", 1, {"pool": "sim"}, "sleep 3600"))
        self.rolled_out("sc")
        p = self.same("scale", "deploy/sc", "--replicas=2")
        self.assertEqual(p.stdout, "deployment.apps/sc scaled\n")
        self.assertEqual(self.getj("deploy", "sc")["spec"]["replicas"], 2)
        self.same("scale", "deploy", "sc", "--replicas=3",
                  "--current-replicas=1")
        self.same("scale", "deploy/sc", "--replicas=2", "--dry-run=client")
        self.same("scale", "deploy/sc", "--replicas=2", "--dry-run=server",
                  "-o", "name")
        self.same("scale", "deploy/nope", "--replicas=1")
        self.same("scale", "deploy/nope", "deploy/nope2", "--replicas=1")
        self.same("scale", "deploy/sc", "--replicas=-1")
        self.same("scale", "deploy/sc", "--replicas=x")
        self.same("scale", "--replicas=1")
        self.same("scale", "deploy", "-l", "app=nobody", "--replicas=1")
        p = self.lite("scale", "deploy/sc", "--replicas=1", "--timeout=60s")
        self.assertEqual(p.stdout, "deployment.apps/sc scaled\n", p.stderr)
        self.assertEqual(self.getj("deploy", "sc")["spec"]["replicas"], 1)

    def test_label_and_annotate(self):
        self.apply({"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": "lc"}})
        get, put = self.meta_state("/api/v1/namespaces/default/configmaps/lc")
        for args in (["label", "cm", "lc", "a=1", "b=2"],
                     ["label", "cm", "lc", "a=2"],
                     ["label", "cm", "lc", "a=1"],
                     ["label", "cm", "lc", "b-"],
                     ["label", "cm", "lc", "b-"],
                     ["label", "cm", "lc", "c=3", "--dry-run=client"],
                     ["label", "cm", "lc", "x=1", "x-"],
                     ["label", "cm", "lc"],
                     ["label", "cm", "nope", "a=1"],
                     ["label", "cm", "lc", "--list"],
                     ["annotate", "cm", "lc", "n=1"],
                     ["annotate", "cm", "lc", "n=1"],
                     ["annotate", "cm", "lc", "n=2"],
                     ["annotate", "cm", "lc", "x=1", "x-"],
                     ["annotate", "cm/lc", "--list"],
                     ["annotate", "cm", "lc", "n-"]):
            # --list: kubectl walks a Go map, in no particular order
            self.same_change(get, put, *args, sort_lines="--list" in args)
        # each changes what it says, once
        p = self.lite("label", "cm", "lc", "a=3", "--overwrite")
        self.assertEqual(p.stdout, "configmap/lc labeled\n", p.stderr)
        p = self.k("label", "cm", "lc", "a=3", "--overwrite")
        self.assertEqual(p.stdout, "configmap/lc not labeled\n", p.stderr)
        p = self.lite("annotate", "cm", "lc", "m=1", "-o", "name")
        self.assertEqual(p.stdout, "configmap/lc\n", p.stderr)
        md = self.getj("cm", "lc")["metadata"]
        self.assertEqual(md["labels"], {"a": "3"})
        self.assertEqual(md["annotations"].get("m"), "1")

    def test_config(self):
        kc = os.path.join(self.tmp, "kc.yaml")
        with open(kc, "w") as f:
            f.write("""apiVersion: v1
kind: Config
clusters:
- name: zeta
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: AAAA
- name: alpha
  cluster:
    server: http://127.0.0.1:1
    insecure-skip-tls-verify: true
contexts:
- name: zeta
  context: {cluster: zeta, user: zed, namespace: prod}
- name: alpha
  context: {cluster: alpha, user: al}
current-context: zeta
users:
- name: zed
  user: {token: secret}
- name: al
  user: {client-certificate-data: BBBB, client-key-data: CCCC}
""")
        for args in (["view"], ["view", "--raw"], ["view", "--minify"],
                     ["view", "-o", "json"], ["view", "--minify", "-o",
                                              "json"],
                     ["view", "-o", "jsonpath={.users[*].name}"],
                     ["view", "--minify", "--context=alpha"],
                     ["current-context"], ["get-contexts"],
                     ["get-contexts", "-o", "name"],
                     ["use-context", "nope"], ["view", "-o", "wide"]):
            self.same("--kubeconfig", kc, "config", *args)
        a, b = kc + ".a", kc + ".b"
        shutil.copy(kc, a)
        shutil.copy(kc, b)
        pa = self.k("--kubeconfig", a, "config", "use-context", "alpha")
        pb = self.lite("--kubeconfig", b, "config", "use-context", "alpha")
        self.assertEqual((pb.returncode, pb.stdout, pb.stderr),
                         (pa.returncode, pa.stdout, pa.stderr))
        with open(a) as fa, open(b) as fb:
            self.assertEqual(fb.read(), fa.read())
        self.same("--kubeconfig", b, "config", "current-context")


if __name__ == "__main__":
    unittest.main()

"""The real kubectl against the real k1s binary: the commands of
kubectl-wire.md §4 that need no controllers and no nodes, and the errors
printed exactly as kubectl prints them against a real cluster."""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
  labels:
    app: %(name)s
spec:
  replicas: %(replicas)d
  selector:
    matchLabels:
      app: %(name)s
  template:
    metadata:
      labels:
        app: %(name)s
    spec:
      containers:
      - name: c
        image: nginx:1.25
        ports:
        - containerPort: 80
"""

CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: %s
data:
  k: v
"""

NODE = """apiVersion: v1
kind: Node
metadata:
  name: %s
  labels:
    node-role.kubernetes.io/worker: ""
"""


def deploy(name, replicas=2):
    return DEPLOY % {"name": name, "replicas": replicas}


class Kubectl(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = k1s.Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def k(self, *args, input=None, ok=True, timeout=60):
        p = self.srv.kubectl(*args, input=input, timeout=timeout)
        if ok:
            self.assertEqual(p.returncode, 0,
                             "kubectl %s: %s%s" % (" ".join(args), p.stdout,
                                                   p.stderr))
        return p

    def getj(self, *args):
        return json.loads(self.k("get", "-o", "json", *args).stdout)

    # --- apply -----------------------------------------------------------

    def test_apply_created_unchanged_configured(self):
        p = self.k("apply", "-f", "-", input=deploy("ap1", 2))
        self.assertEqual(p.stdout.strip(), "deployment.apps/ap1 created")
        d = self.getj("deploy", "ap1")
        self.assertEqual(d["metadata"]["generation"], 1)
        ann = d["metadata"]["annotations"][
            "kubectl.kubernetes.io/last-applied-configuration"]
        self.assertTrue(ann.endswith("\n"))
        p = self.k("apply", "-f", "-", input=deploy("ap1", 2))
        self.assertEqual(p.stdout.strip(), "deployment.apps/ap1 unchanged")
        rv = d["metadata"]["resourceVersion"]
        self.assertEqual(self.getj("deploy", "ap1")["metadata"]
                         ["resourceVersion"], rv)
        p = self.k("apply", "-f", "-", input=deploy("ap1", 4))
        self.assertEqual(p.stdout.strip(), "deployment.apps/ap1 configured")
        d = self.getj("deploy", "ap1")
        self.assertEqual(d["spec"]["replicas"], 4)
        self.assertEqual(d["metadata"]["generation"], 2)

    def test_apply_removes_field_dropped_from_manifest(self):
        m = deploy("ap2", 1).replace("    app: ap2\nspec:",
                                     "    app: ap2\n    tier: x\nspec:")
        self.k("apply", "-f", "-", input=m)
        self.assertEqual(self.getj("deploy", "ap2")["metadata"]["labels"],
                         {"app": "ap2", "tier": "x"})
        self.k("apply", "-f", "-", input=deploy("ap2", 1))
        self.assertEqual(self.getj("deploy", "ap2")["metadata"]["labels"],
                         {"app": "ap2"})

    def test_apply_server_side_upserts_and_is_idempotent(self):
        p = self.k("apply", "--server-side", "-f", "-", input=CM % "ssa1")
        self.assertEqual(p.stdout.strip(),
                         "configmap/ssa1 serverside-applied")
        rv = self.getj("cm", "ssa1")["metadata"]["resourceVersion"]
        p = self.k("apply", "--server-side", "-f", "-", input=CM % "ssa1")
        self.assertEqual(p.stdout.strip(),
                         "configmap/ssa1 serverside-applied")
        self.assertEqual(self.getj("cm", "ssa1")["metadata"]
                         ["resourceVersion"], rv)

    # --- create / replace / diff ---------------------------------------

    def test_create_twice_is_already_exists(self):
        self.k("create", "-f", "-", input=CM % "cr1")
        p = self.k("create", "-f", "-", input=CM % "cr1", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(
            p.stderr.strip(),
            'Error from server (AlreadyExists): error when creating "STDIN": '
            'configmaps "cr1" already exists')

    def test_replace_stale_is_conflict(self):
        self.k("create", "-f", "-", input=CM % "rp1")
        cur = self.getj("cm", "rp1")
        stale = dict(cur)
        stale["data"] = {"k": "v2"}
        p = self.k("replace", "-f", "-", input=json.dumps(stale))
        self.assertEqual(p.stdout.strip(), "configmap/rp1 replaced")
        stale["data"] = {"k": "v3"}
        p = self.k("replace", "-f", "-", input=json.dumps(stale), ok=False)
        self.assertEqual(
            p.stderr.strip(),
            'Error from server (Conflict): error when replacing "STDIN": '
            'Operation cannot be fulfilled on configmaps "rp1": the object '
            'has been modified; please apply your changes to the latest '
            'version and try again')

    def test_diff_does_not_persist(self):
        self.k("apply", "-f", "-", input=deploy("df1", 1))
        p = self.k("diff", "-f", "-", input=deploy("df1", 1), ok=False)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        p = self.k("diff", "-f", "-", input=deploy("df1", 3), ok=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("+  replicas: 3", p.stdout)
        self.assertEqual(self.getj("deploy", "df1")["spec"]["replicas"], 1)

    # --- patch ------------------------------------------------------------

    def test_patch_each_type(self):
        self.k("apply", "-f", "-", input=deploy("pt1", 1))
        self.k("patch", "deploy", "pt1", "-p", '{"spec":{"replicas":2}}')
        self.assertEqual(self.getj("deploy", "pt1")["spec"]["replicas"], 2)
        self.k("patch", "deploy", "pt1", "--type=merge", "-p",
               '{"metadata":{"labels":{"m":"1"}}}')
        self.assertEqual(self.getj("deploy", "pt1")["metadata"]["labels"]
                         ["m"], "1")
        self.k("patch", "deploy", "pt1", "--type=json", "-p",
               '[{"op":"replace","path":"/spec/replicas","value":3}]')
        self.assertEqual(self.getj("deploy", "pt1")["spec"]["replicas"], 3)
        p = self.k("patch", "deploy", "pt1", "--type=json", "-p",
                   '[{"op":"test","path":"/spec/replicas","value":9}]',
                   ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(self.getj("deploy", "pt1")["spec"]["replicas"], 3)
        # strategic merge by merge key: a second container is added
        self.k("patch", "deploy", "pt1", "-p",
               '{"spec":{"template":{"spec":{"containers":'
               '[{"name":"side","image":"busybox"}]}}}}')
        names = [c["name"] for c in self.getj("deploy", "pt1")["spec"]
                 ["template"]["spec"]["containers"]]
        self.assertEqual(sorted(names), ["c", "side"])

    # --- get --------------------------------------------------------------

    def test_get_outputs(self):
        self.k("apply", "-f", "-", input=deploy("gt1", 2))
        p = self.k("get", "deploy", "gt1")
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0].split(),
                         ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"])
        self.assertEqual(lines[1].split()[:4], ["gt1", "0/2", "0", "0"])
        p = self.k("get", "deploy", "gt1", "-o", "wide")
        self.assertEqual(p.stdout.splitlines()[0].split()[5:],
                         ["CONTAINERS", "IMAGES", "SELECTOR"])
        self.assertIn("nginx:1.25", p.stdout)
        self.assertIn("app=gt1", p.stdout)
        p = self.k("get", "deploy", "gt1", "-o", "name")
        self.assertEqual(p.stdout.strip(), "deployment.apps/gt1")
        p = self.k("get", "deploy", "gt1", "-o",
                   "jsonpath={.spec.template.spec.containers[0].image}")
        self.assertEqual(p.stdout, "nginx:1.25")
        p = self.k("get", "deploy", "gt1", "-o", "yaml")
        self.assertIn("kind: Deployment", p.stdout)
        p = self.k("get", "deploy", "gt1", "--show-labels")
        self.assertIn("app=gt1", p.stdout)

    def test_get_selectors_and_all_namespaces(self):
        self.k("apply", "-f", "-", input=CM % "sel1")
        self.k("label", "cm", "sel1", "team=a")
        p = self.k("get", "cm", "-l", "team=a", "-o", "name")
        self.assertEqual(p.stdout.split(), ["configmap/sel1"])
        p = self.k("get", "cm", "-l", "team notin (a)", "-o", "name")
        self.assertNotIn("configmap/sel1", p.stdout.split())
        p = self.k("get", "cm", "--field-selector", "metadata.name=sel1",
                   "-o", "name")
        self.assertEqual(p.stdout.split(), ["configmap/sel1"])
        p = self.k("get", "ns", "-o", "name")
        for ns in ("default", "kube-system", "kube-public",
                   "kube-node-lease"):
            self.assertIn("namespace/" + ns, p.stdout.split())
        p = self.k("get", "cm", "-A", "--field-selector",
                   "metadata.name=sel1")
        self.assertEqual(p.stdout.splitlines()[0].split()[:2],
                         ["NAMESPACE", "NAME"])
        self.assertIn("default", p.stdout.splitlines()[1])

    def test_get_watch_prints_changes(self):
        env = dict(os.environ, KUBECONFIG=self.srv.kubeconfig,
                   KUBECACHEDIR=os.path.join(self.srv.data_dir, "kcache"))
        self.k("apply", "-f", "-", input=CM % "w0")
        proc = subprocess.Popen(
            ["kubectl", "get", "cm", "-w", "--output-watch-events",
             "--field-selector", "metadata.name=w1"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env)
        try:
            time.sleep(1.0)  # kubectl has no readiness signal to wait on
            self.k("apply", "-f", "-", input=CM % "w1")
            self.k("delete", "cm", "w1")
            deadline = time.monotonic() + 20
            out = ""
            os.set_blocking(proc.stdout.fileno(), False)
            while time.monotonic() < deadline and "DELETED" not in out:
                chunk = proc.stdout.read()
                if chunk:
                    out += chunk
                time.sleep(0.05)
        finally:
            proc.kill()
            proc.communicate(timeout=10)
        self.assertIn("ADDED", out)
        self.assertIn("DELETED", out)
        self.assertNotIn("w0", out)

    # --- describe / label / annotate / scale ----------------------------

    def test_describe_label_annotate_scale(self):
        self.k("apply", "-f", "-", input=deploy("ds1", 1))
        p = self.k("describe", "deploy", "ds1")
        self.assertIn("Name:", p.stdout)
        self.assertIn("ds1", p.stdout)
        self.assertIn("Replicas:", p.stdout)
        p = self.k("label", "deploy", "ds1", "env=prod")
        self.assertEqual(p.stdout.strip(), "deployment.apps/ds1 labeled")
        p = self.k("label", "deploy", "ds1", "env=dev", "--overwrite")
        p = self.k("label", "deploy", "ds1", "env-")
        self.assertEqual(p.stdout.strip(), "deployment.apps/ds1 unlabeled")
        self.assertNotIn("env", self.getj("deploy", "ds1")["metadata"]
                         ["labels"])
        p = self.k("annotate", "deploy", "ds1", "team=a")
        self.assertEqual(p.stdout.strip(), "deployment.apps/ds1 annotated")
        self.assertEqual(self.getj("deploy", "ds1")["metadata"]
                         ["annotations"]["team"], "a")
        p = self.k("scale", "deploy", "ds1", "--replicas=5")
        self.assertEqual(p.stdout.strip(), "deployment.apps/ds1 scaled")
        self.assertEqual(self.getj("deploy", "ds1")["spec"]["replicas"], 5)

    # --- delete -----------------------------------------------------------

    def test_delete_and_not_found(self):
        self.k("apply", "-f", "-", input=CM % "del1")
        p = self.k("delete", "cm", "del1")
        self.assertEqual(p.stdout.strip(), 'configmap "del1" deleted')
        p = self.k("get", "cm", "del1", ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(),
                         'Error from server (NotFound): configmaps "del1" '
                         'not found')
        p = self.k("delete", "pod", "nope", ok=False)
        self.assertEqual(p.stderr.strip(),
                         'Error from server (NotFound): pods "nope" not '
                         'found')
        self.k("delete", "pod", "nope", "--ignore-not-found")

    def test_delete_cascade_modes(self):
        for mode in ("background", "orphan", "foreground"):
            name = "cas-" + mode
            self.k("apply", "-f", "-", input=deploy(name, 1))
            p = self.k("delete", "deploy", name, "--cascade=" + mode,
                       "--wait=false")
            self.assertEqual(p.stdout.strip(),
                             'deployment.apps "%s" deleted' % name)
            g = self.srv.kubectl("get", "deploy", name, "-o", "json")
            if mode == "background":
                self.assertEqual(g.returncode, 1)
            elif g.returncode == 0:
                # kept until the garbage collector removes its finalizer
                meta = json.loads(g.stdout)["metadata"]
                self.assertIn("deletionTimestamp", meta)
                self.assertIn({"orphan": "orphan",
                               "foreground": "foregroundDeletion"}[mode],
                              meta["finalizers"])

    def test_wait_for_delete(self):
        self.k("apply", "-f", "-", input=CM % "wt1")
        self.k("apply", "-f", "-", input=CM % "wt2")
        waiter = subprocess.Popen(
            ["kubectl", "wait", "--for=delete", "cm/wt1", "--timeout=30s"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=dict(os.environ, KUBECONFIG=self.srv.kubeconfig,
                     KUBECACHEDIR=os.path.join(self.srv.data_dir,
                                               "kcache")))
        time.sleep(1.0)
        # deleting another object must not satisfy the wait (§10.9)
        self.k("delete", "cm", "wt2")
        time.sleep(1.0)
        self.assertIsNone(waiter.poll())
        self.k("delete", "cm", "wt1")
        out, err = waiter.communicate(timeout=30)
        self.assertEqual(waiter.returncode, 0, err)
        self.assertIn("condition met", out)

    # --- nodes -------------------------------------------------------------

    def test_cordon_uncordon_taint(self):
        self.k("apply", "-f", "-", input=NODE % "n1")
        p = self.k("cordon", "n1")
        self.assertEqual(p.stdout.strip(), "node/n1 cordoned")
        p = self.k("cordon", "n1")
        self.assertEqual(p.stdout.strip(), "node/n1 already cordoned")
        p = self.k("get", "nodes", "n1")
        self.assertIn("SchedulingDisabled", p.stdout)
        self.assertIn("worker", p.stdout)
        p = self.k("uncordon", "n1")
        self.assertEqual(p.stdout.strip(), "node/n1 uncordoned")
        self.assertNotIn("unschedulable", self.getj("node", "n1")["spec"])
        p = self.k("taint", "nodes", "n1", "k=v:NoSchedule")
        self.assertEqual(p.stdout.strip(), "node/n1 tainted")
        self.assertEqual(self.getj("node", "n1")["spec"]["taints"],
                         [{"key": "k", "value": "v",
                           "effect": "NoSchedule"}])

    # --- discovery and errors ----------------------------------------------

    def test_api_resources(self):
        p = self.k("api-resources")
        rows = {line.split()[0]: line for line in p.stdout.splitlines()[1:]}
        for r in ("pods", "deployments", "replicasets", "daemonsets",
                  "statefulsets", "jobs", "leases", "nodes", "namespaces",
                  "configmaps", "secrets", "events", "services",
                  "endpoints", "serviceaccounts"):
            self.assertIn(r, rows)
        self.assertIn("deploy", rows["deployments"])
        self.assertIn("apps/v1", rows["deployments"])

    def test_invalid_printed_like_kubernetes(self):
        bad = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: nocontainers\n"
               "spec:\n  containers: []\n")
        p = self.k("apply", "-f", "-", input=bad, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(),
                         'The Pod "nocontainers" is invalid: '
                         'spec.containers: Required value')

    def test_unknown_field_rejected_strict(self):
        bad = CM % "uf1" + "bogus: 1\n"
        p = self.k("apply", "-f", "-", input=bad, ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('unknown field "bogus"', p.stderr)
        self.assertEqual(self.srv.kubectl("get", "cm", "uf1").returncode, 1)

    def test_write_into_missing_namespace(self):
        p = self.k("apply", "-n", "nosuchns", "-f", "-", input=CM % "x",
                   ok=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn('namespaces "nosuchns" not found', p.stderr)


if __name__ == "__main__":
    unittest.main()

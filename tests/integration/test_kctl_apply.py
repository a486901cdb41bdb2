"""kubectl-lite's writing verbs (apply, create, replace, delete, diff)
against the real k1s binary, side by side with the real kubectl: the same
objects, the same messages, and the two tools taking turns on one object
(client-side apply's last-applied annotation and three-way patch)."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
  labels:
    app: %(name)s
    tier: %(tier)s
spec:
  replicas: 2
  selector:
    matchLabels:
      app: %(name)s
  template:
    metadata:
      labels:
        app: %(name)s
    spec:
      containers:
      - name: a
        image: nginx:1.25
        args: ["x"]
        env:
        - name: A
          value: "1"
        - name: B
          value: "2"
        ports:
        - containerPort: 80
        - containerPort: 443
      - name: b
        image: redis
"""

# The same Deployment after an edit: label tier gone, env A gone, B changed,
# port 443 gone, container b gone, a new container c first.
DEPLOY_EDITED = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
  labels:
    app: %(name)s
spec:
  replicas: 2
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
        image: busybox
      - name: a
        image: nginx:1.25
        args: ["y"]
        env:
        - name: B
          value: "3"
        ports:
        - containerPort: 80
"""

LAST = "kubectl.kubernetes.io/last-applied-configuration"


def manifest(text, **kw):
    kw.setdefault("tier", "web")
    return text % kw


class KubectlLiteApply(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = k1s.Server("--disable-controllers").start()
        cls.tmp = tempfile.mkdtemp(prefix="k1s-kctl-")

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        subprocess.run(["rm", "-rf", cls.tmp])

    # ------------------------------------------------------------ helpers
    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return path

    def lite(self, *args, **kw):
        return self.srv.kubectl_lite(*args, **kw)

    def kubectl(self, *args, **kw):
        return self.srv.kubectl(*args, **kw)

    def get(self, path):
        s, body, _ = self.srv.get(path)
        return s, (json.loads(body) if body else None)

    def deployment(self, name):
        s, d = self.get("/apis/apps/v1/namespaces/default/deployments/" + name)
        self.assertEqual(s, 200, d)
        return d

    # ------------------------------------------------------------ success
    def test_apply_create_then_unchanged_with_both_tools(self):
        f = self.write("d1.yaml", manifest(DEPLOY, name="d1"))
        p = self.lite("apply", "-f", f)
        self.assertEqual((p.returncode, p.stdout),
                         (0, "deployment.apps/d1 created\n"), p.stderr)
        p = self.lite("apply", "-f", f)
        self.assertEqual(p.stdout, "deployment.apps/d1 unchanged\n", p.stderr)
        # the real kubectl sees nothing to change in what kubectl-lite did
        p = self.kubectl("apply", "-f", f)
        self.assertEqual(p.stdout, "deployment.apps/d1 unchanged\n", p.stderr)

    def test_last_applied_annotation_is_byte_identical_to_kubectl(self):
        f = self.write("d2.yaml", manifest(DEPLOY, name="d2"))
        self.kubectl("apply", "-f", f, check=True)
        by_kubectl = self.deployment("d2")["metadata"]["annotations"][LAST]
        self.kubectl("delete", "-f", f, check=True)
        self.lite("apply", "-f", f, check=True)
        by_lite = self.deployment("d2")["metadata"]["annotations"][LAST]
        self.assertEqual(by_lite, by_kubectl)
        self.assertTrue(by_lite.endswith("\n"))

    def check_edited(self, d):
        md = d["metadata"]
        self.assertNotIn("tier", md["labels"])
        cs = d["spec"]["template"]["spec"]["containers"]
        self.assertEqual([c["name"] for c in cs], ["c", "a"])
        a = cs[1]
        self.assertEqual(a["args"], ["y"])
        self.assertEqual(a["env"], [{"name": "B", "value": "3"}])
        self.assertEqual([p["containerPort"] for p in a["ports"]], [80])

    def test_removed_fields_are_removed_kubectl_then_lite(self):
        f = self.write("d3.yaml", manifest(DEPLOY, name="d3"))
        self.kubectl("apply", "-f", f, check=True)
        f2 = self.write("d3e.yaml", manifest(DEPLOY_EDITED, name="d3"))
        p = self.lite("apply", "-f", f2)
        self.assertEqual(p.stdout, "deployment.apps/d3 configured\n", p.stderr)
        self.check_edited(self.deployment("d3"))
        p = self.kubectl("apply", "-f", f2)
        self.assertEqual(p.stdout, "deployment.apps/d3 unchanged\n", p.stderr)

    def test_removed_fields_are_removed_lite_then_kubectl(self):
        f = self.write("d4.yaml", manifest(DEPLOY, name="d4"))
        self.lite("apply", "-f", f, check=True)
        f2 = self.write("d4e.yaml", manifest(DEPLOY_EDITED, name="d4"))
        p = self.kubectl("apply", "-f", f2)
        self.assertEqual(p.stdout, "deployment.apps/d4 configured\n", p.stderr)
        self.check_edited(self.deployment("d4"))
        p = self.lite("apply", "-f", f2)
        self.assertEqual(p.stdout, "deployment.apps/d4 unchanged\n", p.stderr)
        # and back to the first manifest with kubectl-lite: everything
        # returns (a container re-added, env A back, label back)
        p = self.lite("apply", "-f", f)
        self.assertEqual(p.stdout, "deployment.apps/d4 configured\n", p.stderr)
        d = self.deployment("d4")
        self.assertEqual(d["metadata"]["labels"]["tier"], "web")
        cs = d["spec"]["template"]["spec"]["containers"]
        self.assertEqual(sorted(c["name"] for c in cs), ["a", "b"])

    def test_fields_set_by_others_are_kept(self):
        f = self.write("d5.yaml", manifest(DEPLOY, name="d5"))
        self.lite("apply", "-f", f, check=True)
        self.kubectl("label", "deployment", "d5", "extra=yes", check=True)
        self.lite("apply", "-f", f, check=True)
        self.assertEqual(self.deployment("d5")["metadata"]["labels"]["extra"],
                         "yes")

    def test_multi_document_list_and_directory(self):
        docs = ("# two config maps and a List\n---\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m1\n"
                "data:\n  a: \"yes\"\n---\n\n---\n"
                "apiVersion: v1\nkind: List\nitems:\n"
                "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n"
                "    name: m2\n  data:\n    b: x\n")
        self.write("dir/sub/m.yaml", docs)
        self.write("dir/top.json", json.dumps(
            {"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": "m3"}}))
        self.write("dir/ignored.txt", "not a manifest")
        p = self.lite("apply", "-f", os.path.join(self.tmp, "dir"))
        self.assertEqual(p.stdout, "configmap/m3 created\n", p.stderr)
        p = self.lite("apply", "-R", "-f", os.path.join(self.tmp, "dir"))
        self.assertEqual(p.stdout, "configmap/m1 created\nconfigmap/m2 "
                         "created\nconfigmap/m3 unchanged\n", p.stderr)
        s, cm = self.get("/api/v1/namespaces/default/configmaps/m1")
        self.assertEqual(cm["data"], {"a": "yes"})

    def test_apply_from_stdin_and_crlf_bom(self):
        text = "\ufeffapiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n" \
               "  name: m4\r\ndata:\r\n  k: v\r\n"
        p = self.lite("apply", "-f", "-", input=text)
        self.assertEqual(p.stdout, "configmap/m4 created\n", p.stderr)

    def test_server_side_apply(self):
        f = self.write("m5.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                       "metadata:\n  name: m5\ndata:\n  k: v\n")
        p = self.lite("apply", "--server-side", "-f", f)
        self.assertEqual(p.stdout, "configmap/m5 serverside-applied\n",
                         p.stderr)
        p = self.kubectl("apply", "--server-side", "-f", f)
        self.assertEqual(p.stdout, "configmap/m5 serverside-applied\n",
                         p.stderr)

    def test_dry_run_persists_nothing(self):
        f = self.write("m6.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                       "metadata:\n  name: m6\n")
        p = self.lite("apply", "--dry-run=client", "-f", f)
        self.assertEqual(p.stdout, "configmap/m6 created (dry run)\n")
        p = self.lite("apply", "--dry-run=server", "-f", f)
        self.assertEqual(p.stdout, "configmap/m6 created (server dry run)\n",
                         p.stderr)
        self.assertEqual(self.get("/api/v1/namespaces/default/configmaps/m6")
                         [0], 404)

    def test_prune(self):
        a = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"
             "  labels:\n    set: p\n")
        f = self.write("p/all.yaml", (a % "pa") + "---\n" + (a % "pb"))
        self.lite("apply", "-f", f, check=True)
        f = self.write("p/all.yaml", a % "pa")
        p = self.lite("apply", "--prune", "-l", "set=p", "-f", f)
        self.assertEqual(p.stdout, "configmap/pa unchanged\n"
                         "configmap/pb pruned\n", p.stderr)
        self.assertEqual(self.get("/api/v1/namespaces/default/configmaps/pb")
                         [0], 404)

    def test_selector_filters_the_objects_read(self):
        a = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"
             "  labels:\n    tier: %s\n")
        f = self.write("sel/two.yaml", (a % ("sa", "web")) + "---\n" +
                       (a % ("sb", "db")))
        p = self.lite("apply", "-f", f, "-l", "tier=web")
        self.assertEqual((p.returncode, p.stdout), (0, "configmap/sa created\n"),
                         p.stderr)
        self.assertEqual(self.get("/api/v1/namespaces/default/configmaps/sb")
                         [0], 404)
        for args in (("-l", "tier=none"), ("-l", "tier in (web")):
            lite = self.lite("apply", "-f", f, *args)
            real = self.kubectl("apply", "-f", f, *args)
            self.assertEqual((lite.returncode, lite.stdout, lite.stderr),
                             (real.returncode, real.stdout, real.stderr))
            self.assertEqual(lite.returncode, 1)

    def test_create_replace_delete_match_kubectl(self):
        f = self.write("c1.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                       "metadata:\n  name: c1\ndata:\n  k: v\n")
        p = self.lite("create", "-f", f)
        self.assertEqual((p.returncode, p.stdout), (0, "configmap/c1 created\n"))
        lite = self.lite("create", "-f", f)
        real = self.kubectl("create", "-f", f)
        self.assertEqual(lite.returncode, 1)
        self.assertEqual(lite.stderr, real.stderr)
        self.assertIn('Error from server (AlreadyExists): error when creating',
                      lite.stderr)
        self.write("c1.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                   "metadata:\n  name: c1\ndata:\n  k: v2\n")
        p = self.lite("replace", "-f", f)
        self.assertEqual(p.stdout, "configmap/c1 replaced\n", p.stderr)
        s, cm = self.get("/api/v1/namespaces/default/configmaps/c1")
        self.assertEqual(cm["data"], {"k": "v2"})
        p = self.lite("delete", "-f", f)
        self.assertEqual(p.stdout, 'configmap "c1" deleted\n', p.stderr)
        lite = self.lite("delete", "configmap", "c1")
        real = self.kubectl("delete", "configmap", "c1")
        self.assertEqual((lite.returncode, lite.stderr),
                         (real.returncode, real.stderr))
        self.assertEqual(lite.stderr, 'Error from server (NotFound): '
                         'configmaps "c1" not found\n')
        p = self.lite("delete", "cm", "c1", "--ignore-not-found")
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))

    def test_delete_by_selector_and_cascade(self):
        for n in ("s1", "s2", "s3"):
            self.write("s.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                       "metadata:\n  name: %s\n  labels:\n    grp: %s\n"
                       % (n, "x" if n != "s3" else "other"))
            self.lite("create", "-f", os.path.join(self.tmp, "s.yaml"),
                      check=True)
        p = self.lite("delete", "cm", "-l", "grp=x")
        self.assertEqual(p.stdout, 'configmap "s1" deleted\n'
                         'configmap "s2" deleted\n', p.stderr)
        p = self.lite("delete", "cm", "-l", "grp=nothing")
        self.assertEqual((p.returncode, p.stdout), (0, "No resources found\n"))
        # No controllers run here, so nothing removes the "orphan"
        # finalizer: --wait=false, and the finalizer shows the policy sent.
        p = self.lite("delete", "configmaps/s3", "--cascade=orphan",
                      "--wait=false")
        self.assertEqual(p.stdout, 'configmap "s3" deleted\n', p.stderr)
        meta = self.get("/api/v1/namespaces/default/configmaps/s3")[1][
            "metadata"]
        self.assertIn("orphan", meta.get("finalizers", []))
        self.assertIn("deletionTimestamp", meta)
        p = self.lite("delete", "cm", "s9", "--cascade=sideways")
        self.assertEqual(p.returncode, 1)
        self.assertIn("invalid cascade value", p.stderr)

    def test_diff(self):
        f = self.write("df.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                       "metadata:\n  name: df\ndata:\n  k: v\n")
        p = self.lite("diff", "-f", f)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("+  k: v", p.stdout)
        self.assertEqual(self.get("/api/v1/namespaces/default/configmaps/df")
                         [0], 404)
        self.lite("apply", "-f", f, check=True)
        p = self.lite("diff", "-f", f)
        self.assertEqual((p.returncode, p.stdout), (0, ""), p.stderr)
        self.write("df.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                   "metadata:\n  name: df\ndata:\n  k: changed\n")
        p = self.lite("diff", "-f", f)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("-  k: v\n", p.stdout)
        self.assertIn("+  k: changed\n", p.stdout)
        s, cm = self.get("/api/v1/namespaces/default/configmaps/df")
        self.assertEqual(cm["data"], {"k": "v"})

    # ------------------------------------------------------------ failure
    def test_errors(self):
        p = self.lite("apply", "-f", os.path.join(self.tmp, "missing.yaml"))
        self.assertEqual(p.returncode, 1)
        self.assertIn('the path "%s" does not exist' %
                      os.path.join(self.tmp, "missing.yaml"), p.stderr)
        f = self.write("bad.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                       "metadata:\n  name: x\n  name: y\n")
        p = self.lite("apply", "-f", f)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bad.yaml", p.stderr)
        self.assertIn("line 5", p.stderr)
        f = self.write("kind.yaml", "apiVersion: v1\nkind: Gizmo\n"
                       "metadata:\n  name: x\n")
        p = self.lite("apply", "-f", f)
        self.assertEqual(p.returncode, 1)
        self.assertIn('no matches for kind "Gizmo" in version "v1"', p.stderr)
        f = self.write("inv.yaml", "apiVersion: v1\nkind: ConfigMap\n"
                       "metadata:\n  name: Not_Valid\n")
        lite = self.lite("apply", "-f", f)
        real = self.srv.kubectl("apply", "-f", f)
        self.assertEqual((lite.returncode, lite.stderr),
                         (real.returncode, real.stderr))
        self.assertIn('The ConfigMap "Not_Valid" is invalid: metadata.name: '
                      'Invalid value: "Not_Valid"', lite.stderr)
        p = self.lite("apply")
        self.assertEqual(p.returncode, 1)
        p = self.lite("apply", "--bogus", "-f", f)
        self.assertEqual((p.returncode, p.stderr.splitlines()[0]),
                         (1, "error: unknown flag: --bogus"))
        p = self.lite("frobnicate")
        self.assertEqual(p.returncode, 1)
        self.assertIn('unknown command "frobnicate"', p.stderr)

    def test_no_server(self):
        env = dict(os.environ, KUBECONFIG="/nonexistent")
        lite = os.path.join(os.path.dirname(os.path.abspath(k1s.K1S_BIN)),
                            "bin", "kubectl-lite")
        p = subprocess.run([lite, "--server", "http://127.0.0.1:1", "delete",
                            "cm", "x"], capture_output=True, text=True,
                           env=env, timeout=30)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr, "The connection to the server "
                         "127.0.0.1:1 was refused - did you specify the "
                         "right host or port?\n")


if __name__ == "__main__":
    unittest.main()

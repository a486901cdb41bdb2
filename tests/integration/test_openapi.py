"""The OpenAPI v3 documents: the strategic-merge-patch metadata of every
served kind in components.schemas, in the API server's format (what
kubectl-lite builds its apply patches from), and the real kubectl's
client-side apply still building its patches from its own metadata."""
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

REF = "#/components/schemas/"

DEPLOY_V1 = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
  labels: {app: %(name)s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      containers:
      - name: main
        image: nginx:1.25
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
      - name: side
        image: busybox:1.36
        command: [sleep, "3600"]
"""

# env A changed, B removed, C added; container "side" removed
DEPLOY_V2 = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: %(name)s
  labels: {app: %(name)s}
spec:
  replicas: 1
  selector: {matchLabels: {app: %(name)s}}
  template:
    metadata: {labels: {app: %(name)s}}
    spec:
      containers:
      - name: main
        image: nginx:1.25
        env:
        - {name: A, value: "10"}
        - {name: C, value: "3"}
"""


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


class Documents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = k1s.Server().start()
        s, body, _ = cls.srv.get("/openapi/v3")
        assert s == 200, s
        cls.index = json.loads(body)
        cls.raw = {}
        cls.docs = {}
        for gv, e in cls.index["paths"].items():
            s, body, _ = cls.srv.get(e["serverRelativeURL"])
            assert s == 200, (gv, s)
            cls.raw[gv] = body
            cls.docs[gv] = json.loads(body)

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    # --- helpers ------------------------------------------------------------

    def kind_schema(self, gv, group, version, kind):
        """The schema tagged with the GVK, found as kubectl finds it."""
        found = []
        for name, sch in self.docs[gv]["components"]["schemas"].items():
            for g in sch.get("x-kubernetes-group-version-kind", []):
                if g == {"group": group, "version": version, "kind": kind}:
                    found.append(name)
        self.assertEqual(len(found), 1, "%s/%s %s: %s" % (group, version,
                                                         kind, found))
        return self.docs[gv]["components"]["schemas"][found[0]]

    def resolve(self, gv, prop):
        """The schema a property (or list items) refers to through allOf."""
        self.assertIn("allOf", prop)
        ref = prop["allOf"][0]["$ref"]
        self.assertTrue(ref.startswith(REF), ref)
        return self.docs[gv]["components"]["schemas"][ref[len(REF):]]

    def walk(self, gv, sch, *path):
        for name in path:
            prop = sch["properties"][name]
            sch = self.resolve(gv, prop["items"] if prop.get("type") ==
                               "array" else prop)
        return sch

    def meta(self, sch, field):
        p = sch["properties"][field]
        return (p.get("x-kubernetes-patch-merge-key"),
                p.get("x-kubernetes-patch-strategy"))

    # --- index ------------------------------------------------------------

    def test_hash_is_of_the_content(self):
        # kubectl caches each document under its hash: it must change
        # whenever the document does
        for gv, e in self.index["paths"].items():
            m = re.search(r"\?hash=([0-9A-F]{16})$", e["serverRelativeURL"])
            self.assertIsNotNone(m, e)
            self.assertEqual(int(m.group(1), 16), fnv1a64(self.raw[gv]), gv)

    def test_every_served_kind_has_its_schema(self):
        for gv, doc in self.docs.items():
            kinds = set()
            for p in doc["paths"].values():
                if "patch" in p:
                    g = p["patch"]["x-kubernetes-group-version-kind"]
                    kinds.add((g["group"], g["version"], g["kind"]))
            self.assertTrue(kinds, gv)
            for g, v, k in kinds:
                sch = self.kind_schema(gv, g, v, k)
                self.assertEqual(sch["type"], "object")
                self.assertIn("metadata", sch["properties"], k)
                meta = self.resolve(gv, sch["properties"]["metadata"])
                self.assertEqual(self.meta(meta, "finalizers"),
                                 (None, "merge"))

    def test_every_ref_resolves_in_its_document(self):
        for gv, body in self.raw.items():
            schemas = self.docs[gv]["components"]["schemas"]
            refs = re.findall(rb'"\$ref":"#/components/schemas/([^"]+)"',
                              body)
            self.assertTrue(refs, gv)
            for r in refs:
                self.assertIn(r.decode(), schemas, gv)

    # --- patch metadata ---------------------------------------------------

    def test_deployment_pod_template(self):
        gv = "apis/apps/v1"
        d = self.kind_schema(gv, "apps", "v1", "Deployment")
        self.assertIn(
            "io.k8s.api.apps.v1.Deployment",
            self.docs[gv]["components"]["schemas"])
        spec = self.walk(gv, d, "spec")
        self.assertEqual(self.meta(spec, "strategy"), (None, "retainKeys"))
        pod = self.walk(gv, spec, "template", "spec")
        self.assertEqual(self.meta(pod, "containers"), ("name", "merge"))
        self.assertEqual(self.meta(pod, "initContainers"), ("name", "merge"))
        self.assertEqual(self.meta(pod, "volumes"),
                         ("name", "merge,retainKeys"))
        self.assertEqual(pod["properties"]["containers"]["type"], "array")
        c = self.walk(gv, pod, "containers")
        self.assertEqual(self.meta(c, "env"), ("name", "merge"))
        self.assertEqual(self.meta(c, "ports"), ("containerPort", "merge"))
        self.assertEqual(self.meta(c, "volumeMounts"), ("mountPath", "merge"))
        # the shared types are repeated in the apps document, named by
        # their Go package
        self.assertIn("io.k8s.api.core.v1.PodSpec",
                      self.docs[gv]["components"]["schemas"])
        self.assertIn("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
                      self.docs[gv]["components"]["schemas"])

    def test_workloads_reach_the_pod_template(self):
        for gv, g, k in (("apis/apps/v1", "apps", "ReplicaSet"),
                         ("apis/apps/v1", "apps", "DaemonSet"),
                         ("apis/apps/v1", "apps", "StatefulSet"),
                         ("apis/batch/v1", "batch", "Job")):
            sch = self.kind_schema(gv, g, "v1", k)
            pod = self.walk(gv, sch, "spec", "template", "spec")
            self.assertEqual(self.meta(pod, "containers"), ("name", "merge"),
                             k)
            st = self.walk(gv, sch, "status")
            self.assertEqual(self.meta(st, "conditions"), ("type", "merge"),
                             k)

    def test_core_kinds(self):
        gv = "api/v1"
        pod = self.kind_schema(gv, "", "v1", "Pod")
        self.assertEqual(self.meta(self.walk(gv, pod, "status"),
                                   "conditions"), ("type", "merge"))
        spec = self.walk(gv, pod, "spec")
        self.assertEqual(self.meta(spec, "ephemeralContainers"),
                         ("name", "merge"))
        self.assertEqual(
            self.meta(self.walk(gv, spec, "ephemeralContainers"), "env"),
            ("name", "merge"))
        self.assertNotIn("tolerations", spec["properties"])
        svc = self.kind_schema(gv, "", "v1", "Service")
        self.assertEqual(self.meta(self.walk(gv, svc, "spec"), "ports"),
                         ("port", "merge"))
        node = self.kind_schema(gv, "", "v1", "Node")
        ns = self.walk(gv, node, "spec")
        self.assertEqual(self.meta(ns, "podCIDRs"), (None, "merge"))
        self.assertNotIn("taints", ns["properties"])  # replaced whole
        self.assertEqual(self.meta(self.walk(gv, node, "status"),
                                   "addresses"), ("type", "merge"))
        sa = self.kind_schema(gv, "", "v1", "ServiceAccount")
        self.assertEqual(self.meta(sa, "secrets"), ("name", "merge"))

    def test_patch_operations_keep_kubectl_on_its_builtin_metadata(self):
        # kubectl uses the v3 schemas for apply only when the PATCH
        # operation lists application/strategic-merge-patch+json; ours
        # describe only the fields with a strategy (see discovery.c)
        for gv, doc in self.docs.items():
            for path, p in doc["paths"].items():
                if "patch" in p:
                    self.assertNotIn("requestBody", p["patch"], path)


class KubectlApply(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = k1s.Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def k(self, *args, input=None):
        p = self.srv.kubectl(*args, input=input)
        self.assertEqual(p.returncode, 0, "kubectl %s: %s%s" %
                         (" ".join(args), p.stdout, p.stderr))
        return p

    def test_second_apply_merges_env_and_removes_container(self):
        n = {"name": "oa1"}
        self.k("apply", "-f", "-", input=DEPLOY_V1 % n)
        p = self.k("apply", "-f", "-", "-v=8", input=DEPLOY_V2 % n)
        self.assertEqual(p.stdout.strip(), "deployment.apps/oa1 configured")
        self.assertNotIn("warning: error calculating patch", p.stderr)
        bodies = [json.loads(json.loads(line.split(" body=", 1)[1]))
                  for line in p.stderr.splitlines()
                  if 'helper.go' in line and '"Request Body"' in line and
                  line.split(" body=", 1)[1] != '""']
        self.assertEqual(len(bodies), 1, p.stderr[-3000:])
        patch = bodies[0]["spec"]["template"]["spec"]
        self.assertEqual(patch["$setElementOrder/containers"],
                         [{"name": "main"}])
        self.assertEqual(patch["containers"], [
            {"$setElementOrder/env": [{"name": "A"}, {"name": "C"}],
             "env": [{"name": "A", "value": "10"},
                     {"name": "C", "value": "3"},
                     {"$patch": "delete", "name": "B"}],
             "name": "main"},
            {"$patch": "delete", "name": "side"}])
        d = json.loads(self.k("get", "deploy", "oa1", "-o", "json").stdout)
        cs = d["spec"]["template"]["spec"]["containers"]
        self.assertEqual([c["name"] for c in cs], ["main"])
        self.assertEqual(cs[0]["env"], [{"name": "A", "value": "10"},
                                        {"name": "C", "value": "3"}])

    def test_apply_of_fields_not_in_the_schemas_has_no_warning(self):
        # labels, args, resources: not described by the schemas; kubectl
        # must not try (and fail) to build its patch from them
        n = {"name": "oa2"}
        self.k("apply", "-f", "-", input=DEPLOY_V2 % n)
        m = (DEPLOY_V2 % n).replace(
            "    metadata: {labels: {app: oa2}}",
            "    metadata: {labels: {app: oa2, tier: web}}").replace(
            "        image: nginx:1.25\n",
            "        image: nginx:1.25\n        args: [-g, daemon off;]\n"
            "        resources: {limits: {cpu: 100m}}\n")
        p = self.k("apply", "-f", "-", input=m)
        self.assertEqual(p.stderr, "")
        d = json.loads(self.k("get", "deploy", "oa2", "-o", "json").stdout)
        t = d["spec"]["template"]
        self.assertEqual(t["metadata"]["labels"], {"app": "oa2",
                                                   "tier": "web"})
        self.assertEqual(t["spec"]["containers"][0]["args"],
                         ["-g", "daemon off;"])
        self.assertEqual(t["spec"]["containers"][0]["resources"],
                         {"limits": {"cpu": "100m"}})
        p = self.k("diff", "-f", "-", input=m)
        self.assertEqual(p.stdout, "")


if __name__ == "__main__":
    unittest.main()

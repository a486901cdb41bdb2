"""The Python client (Debian python3-kubernetes, run with /usr/bin/python3)
against the real k1s binary: the calls of kubectl-wire.md §9, watch
included, deserialised into the client's models."""
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

from kubernetes import client, config, watch  # noqa: E402

NS = "default"


def pod(name, labels=None):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": "py"}},
            "spec": {"containers": [{"name": "c", "image": "busybox",
                                     "command": ["sleep", "3600"]}]}}


def deployment(name, replicas=1):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [
                                      {"name": "c", "image": "nginx"}]}}}}


class PythonClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # The client's wire contract (§9) is what is checked here; the
        # deployment controller writing status concurrently would make the
        # exact status values and read-then-replace below racy.
        cls.srv = k1s.Server("--disable-controllers").start()
        cfg = client.Configuration()
        config.load_kube_config(config_file=cls.srv.kubeconfig,
                                client_configuration=cfg)
        cls.api = client.ApiClient(cfg)
        cls.v1 = client.CoreV1Api(cls.api)
        cls.apps = client.AppsV1Api(cls.api)

    @classmethod
    def tearDownClass(cls):
        cls.api.close()
        cls.srv.cleanup()

    def test_pod_create_list_read_patch_delete(self):
        created = self.v1.create_namespaced_pod(NS, pod("p1"))
        self.assertEqual(created.metadata.name, "p1")
        self.assertTrue(created.metadata.uid)
        self.assertEqual(created.status.phase, "Pending")
        names = [p.metadata.name for p in self.v1.list_namespaced_pod(
            NS, label_selector="app=py").items]
        self.assertIn("p1", names)
        all_ns = self.v1.list_pod_for_all_namespaces(
            field_selector="metadata.name=p1").items
        self.assertEqual([p.metadata.name for p in all_ns], ["p1"])
        got = self.v1.read_namespaced_pod("p1", NS)
        self.assertEqual(got.spec.containers[0].name, "c")
        patched = self.v1.patch_namespaced_pod(
            "p1", NS, {"metadata": {"labels": {"extra": "yes"}}})
        self.assertEqual(patched.metadata.labels,
                         {"app": "py", "extra": "yes"})
        self.v1.delete_namespaced_pod("p1", NS, grace_period_seconds=0)
        with self.assertRaises(client.ApiException) as cm:
            self.v1.read_namespaced_pod("p1", NS)
        self.assertEqual(cm.exception.status, 404)
        self.assertIn('pods \\"p1\\" not found', cm.exception.body)

    def test_empty_list_has_items(self):
        lst = self.v1.list_namespaced_pod("kube-public")
        self.assertEqual(lst.items, [])
        self.assertTrue(lst.metadata.resource_version)

    def test_deployment_lifecycle(self):
        self.apps.create_namespaced_deployment(NS, deployment("pd1"))
        d = self.apps.patch_namespaced_deployment(
            "pd1", NS, [{"op": "replace", "path": "/spec/replicas",
                         "value": 2}])
        self.assertEqual(d.spec.replicas, 2)
        s = self.apps.patch_namespaced_deployment_scale(
            "pd1", NS, {"spec": {"replicas": 3}})
        self.assertEqual(s.spec.replicas, 3)
        self.assertEqual(s.status.replicas, 0)
        s = self.apps.read_namespaced_deployment_scale("pd1", NS)
        self.assertEqual(s.status.selector, "app=pd1")
        st = self.apps.read_namespaced_deployment_status("pd1", NS)
        self.assertEqual(st.metadata.name, "pd1")
        cur = self.apps.read_namespaced_deployment("pd1", NS)
        cur.spec.replicas = 4
        upd = self.apps.replace_namespaced_deployment("pd1", NS, cur)
        self.assertEqual(upd.spec.replicas, 4)
        self.assertEqual(upd.metadata.generation, 4)
        cur.metadata.resource_version = "1"
        with self.assertRaises(client.ApiException) as cm:
            self.apps.replace_namespaced_deployment("pd1", NS, cur)
        self.assertEqual(cm.exception.status, 409)
        names = [x.metadata.name for x in
                 self.apps.list_namespaced_deployment(NS).items]
        self.assertIn("pd1", names)
        self.apps.delete_namespaced_deployment(
            "pd1", NS, propagation_policy="Background")
        with self.assertRaises(client.ApiException) as cm:
            self.apps.read_namespaced_deployment("pd1", NS)
        self.assertEqual(cm.exception.status, 404)

    def test_delete_with_body_options(self):
        self.apps.create_namespaced_deployment(NS, deployment("pd2"))
        self.apps.delete_namespaced_deployment(
            "pd2", NS,
            body=client.V1DeleteOptions(propagation_policy="Orphan"))
        d = self.apps.read_namespaced_deployment("pd2", NS)
        # kept, terminating, until the garbage collector orphans dependents
        self.assertIsNotNone(d.metadata.deletion_timestamp)
        self.assertIn("orphan", d.metadata.finalizers)

    def test_watch_stream(self):
        self.v1.create_namespaced_pod(NS, pod("wp0", {"app": "w"}))
        events = []

        def run():
            w = watch.Watch()
            for ev in w.stream(self.v1.list_namespaced_pod, NS,
                               label_selector="app=w", timeout_seconds=4):
                events.append((ev["type"], ev["object"].metadata.name))

        t = threading.Thread(target=run)
        t.start()
        lst = self.v1.list_namespaced_pod(NS, label_selector="app=w")
        self.v1.create_namespaced_pod(NS, pod("wp1", {"app": "w"}))
        self.v1.delete_namespaced_pod("wp1", NS, grace_period_seconds=0)
        t.join(timeout=30)
        self.assertFalse(t.is_alive())
        self.assertIn(("ADDED", "wp0"), events)
        self.assertIn(("ADDED", "wp1"), events)
        self.assertIn(("DELETED", "wp1"), events)
        # resume from a resourceVersion: only later changes
        rv = lst.metadata.resource_version
        later = [(e["type"], e["object"].metadata.name) for e in
                 watch.Watch().stream(self.v1.list_namespaced_pod, NS,
                                      label_selector="app=w",
                                      resource_version=rv,
                                      timeout_seconds=2)]
        self.assertNotIn(("ADDED", "wp0"), later)

    def test_discovery_and_version(self):
        v = client.VersionApi(self.api).get_code()
        self.assertEqual((v.major, v.minor), ("1", "32"))
        self.assertEqual(client.CoreApi(self.api).get_api_versions().versions,
                         ["v1"])
        groups = [g.name for g in
                  client.ApisApi(self.api).get_api_versions().groups]
        self.assertEqual(sorted(groups),
                         ["apps", "batch", "coordination.k8s.io"])
        res = self.v1.get_api_resources()
        names = [r.name for r in res.resources]
        self.assertIn("pods/eviction", names)

    def test_nodes_and_namespaces_lists(self):
        self.assertEqual(self.v1.list_node().items, [])
        names = {n.metadata.name for n in self.v1.list_namespace().items}
        self.assertTrue({"default", "kube-system", "kube-public",
                         "kube-node-lease"} <= names)


if __name__ == "__main__":
    unittest.main()

"""HTTP-level behaviour of the API server: discovery and OpenAPI shapes,
every error path (Status bodies shaped as Kubernetes shapes them), the
limits, list semantics (selectors, limit/continue, resourceVersion rules),
metadata handling, subresources and dry-run."""
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

AGG_V2 = ("application/json;g=apidiscovery.k8s.io;v=v2;"
          "as=APIGroupDiscoveryList")
AGG_V2B1 = ("application/json;g=apidiscovery.k8s.io;v=v2beta1;"
            "as=APIGroupDiscoveryList")
TABLE = ("application/json;as=Table;v=v1;g=meta.k8s.io,"
         "application/json;as=Table;v=v1beta1;g=meta.k8s.io,"
         "application/json")
CMS = "/api/v1/namespaces/default/configmaps"
DEPS = "/apis/apps/v1/namespaces/default/deployments"


def cm(name, labels=None, data=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}},
            "data": data or {"k": "v"}}


def deployment(name, replicas=1):
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {"replicas": replicas,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [
                                      {"name": "c", "image": "nginx"}]}}}}


class Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = k1s.Server().start()

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()

    def req(self, method, path, body=None, headers=None):
        status, raw, hdrs = self.srv.request(method, path, body=body,
                                             headers=headers)
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = raw
        return status, doc, hdrs

    def assertStatus(self, doc, code, reason):
        self.assertEqual(doc["kind"], "Status")
        self.assertEqual(doc["apiVersion"], "v1")
        self.assertEqual(doc["status"], "Failure")
        self.assertEqual(doc["code"], code)
        self.assertEqual(doc["reason"], reason)
        self.assertIn("message", doc)

    # --- discovery --------------------------------------------------------

    def test_legacy_discovery(self):
        s, d, h = self.req("GET", "/api")
        self.assertEqual(s, 200)
        self.assertEqual(h["Content-Type"], "application/json")
        self.assertEqual(d["versions"], ["v1"])
        self.assertTrue(d["serverAddressByClientCIDRs"])
        s, d, _ = self.req("GET", "/apis")
        self.assertEqual([g["name"] for g in d["groups"]],
                         ["apps", "batch", "coordination.k8s.io"])
        s, d, _ = self.req("GET", "/api/v1")
        by = {r["name"]: r for r in d["resources"]}
        self.assertEqual(by["pods/eviction"]["group"], "policy")
        self.assertEqual(by["pods/eviction"]["kind"], "Eviction")
        self.assertEqual(by["pods/log"]["singularName"], "")
        self.assertEqual(by["pods"]["shortNames"], ["po"])
        s, d, _ = self.req("GET", "/apis/apps/v1")
        by = {r["name"]: r for r in d["resources"]}
        self.assertEqual(by["deployments/scale"]["group"], "autoscaling")
        s, d, _ = self.req("GET", "/apis/apps")
        self.assertEqual(d["preferredVersion"]["groupVersion"], "apps/v1")

    def test_aggregated_discovery_content_types(self):
        for accept, ctype, av in (
                (AGG_V2 + "," + AGG_V2B1 + ",application/json", AGG_V2,
                 "apidiscovery.k8s.io/v2"),
                (AGG_V2B1 + ",application/json", AGG_V2B1,
                 "apidiscovery.k8s.io/v2beta1")):
            s, d, h = self.req("GET", "/apis", headers={"Accept": accept})
            self.assertEqual(s, 200)
            self.assertEqual(h["Content-Type"], ctype)
            self.assertEqual(d["apiVersion"], av)
            apps = [i for i in d["items"] if i["metadata"]["name"] == "apps"]
            res = {r["resource"]: r for r in
                   apps[0]["versions"][0]["resources"]}
            self.assertEqual(res["deployments"]["scope"], "Namespaced")
            self.assertEqual(res["deployments"]["responseKind"]["kind"],
                             "Deployment")
        s, d, h = self.req("GET", "/api", headers={"Accept": AGG_V2})
        self.assertEqual(h["Content-Type"], AGG_V2)
        res = {r["resource"]: r for r in
               d["items"][0]["versions"][0]["resources"]}
        self.assertEqual(res["nodes"]["scope"], "Cluster")
        self.assertIn("all", res["pods"]["categories"])

    def test_openapi(self):
        s, idx, _ = self.req("GET", "/openapi/v3")
        self.assertEqual(s, 200)
        self.assertEqual(set(idx["paths"]),
                         {"api/v1", "apis/apps/v1", "apis/batch/v1",
                          "apis/coordination.k8s.io/v1"})
        url = idx["paths"]["apis/apps/v1"]["serverRelativeURL"]
        self.assertIn("?hash=", url)
        s, doc, _ = self.req("GET", url)
        p = doc["paths"][
            "/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
        self.assertEqual(p["patch"]["x-kubernetes-group-version-kind"],
                         {"group": "apps", "version": "v1",
                          "kind": "Deployment"})
        self.assertIn("fieldValidation",
                      [x["name"] for x in p["patch"]["parameters"]])
        s, d, _ = self.req("GET", "/openapi/v2")
        self.assertEqual(s, 404)

    # --- errors -------------------------------------------------------------

    def test_not_found_shapes(self):
        s, d, _ = self.req("GET", DEPS + "/nope")
        self.assertEqual(s, 404)
        self.assertStatus(d, 404, "NotFound")
        self.assertEqual(d["message"], 'deployments.apps "nope" not found')
        self.assertEqual(d["details"], {"name": "nope", "group": "apps",
                                        "kind": "deployments"})
        s, d, _ = self.req("GET", "/api/v1/nosuchresource")
        self.assertStatus(d, 404, "NotFound")
        s, d, _ = self.req("GET", "/apis/nosuch.group/v1/things")
        self.assertEqual(s, 404)

    def test_method_not_allowed(self):
        s, d, _ = self.req("POST", CMS + "/x", body=cm("x"))
        self.assertEqual(s, 405)
        self.assertStatus(d, 405, "MethodNotAllowed")
        s, d, _ = self.req("PUT", "/api")
        self.assertEqual(s, 405)

    def test_already_exists_and_conflict(self):
        self.assertEqual(self.req("POST", CMS, body=cm("ae1"))[0], 201)
        s, d, _ = self.req("POST", CMS, body=cm("ae1"))
        self.assertEqual(s, 409)
        self.assertStatus(d, 409, "AlreadyExists")
        self.assertEqual(d["message"], 'configmaps "ae1" already exists')
        obj = self.req("GET", CMS + "/ae1")[1]
        obj["metadata"]["resourceVersion"] = "1"
        s, d, _ = self.req("PUT", CMS + "/ae1", body=obj)
        self.assertEqual(s, 409)
        self.assertStatus(d, 409, "Conflict")
        self.assertTrue(d["message"].startswith(
            'Operation cannot be fulfilled on configmaps "ae1"'))

    def test_bad_bodies(self):
        s, d, _ = self.req("POST", CMS, body=b"{not json")
        self.assertEqual(s, 400)
        self.assertStatus(d, 400, "BadRequest")
        s, d, _ = self.req("POST", CMS, body=b"[" * 5000 + b"]" * 5000)
        self.assertEqual(s, 400)
        self.assertIn("nested", d["message"])
        s, d, _ = self.req("POST", CMS, body=b"{}",
                           headers={"Content-Type": "text/plain"})
        self.assertEqual(s, 415)
        self.assertStatus(d, 415, "UnsupportedMediaType")
        s, d, _ = self.req("PATCH", CMS + "/x", body=b"{}",
                           headers={"Content-Type": "application/json"})
        self.assertEqual(s, 415)
        s, d, _ = self.req("POST", CMS, body={"apiVersion": "v1",
                                              "kind": "Pod",
                                              "metadata": {"name": "k"}})
        self.assertEqual(s, 400)

    def test_body_too_large_is_413(self):
        big = cm("big", data={"k": "x" * (3 * 1024 * 1024 + 10)})
        s, d, _ = self.req("POST", CMS, body=big)
        self.assertEqual(s, 413)
        self.assertStatus(d, 413, "RequestEntityTooLarge")
        self.assertEqual(self.req("GET", CMS + "/big")[0], 404)

    def test_invalid_has_causes(self):
        bad = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "Bad_Name"},
               "spec": {"containers": [{"name": "c"}]}}
        s, d, _ = self.req("POST", "/api/v1/namespaces/default/pods",
                           body=bad)
        self.assertEqual(s, 422)
        self.assertStatus(d, 422, "Invalid")
        self.assertEqual(d["details"]["kind"], "Pod")
        fields = [c["field"] for c in d["details"]["causes"]]
        self.assertIn("metadata.name", fields)
        self.assertIn("spec.containers[0].image", fields)
        dep = deployment("badsel")
        dep["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
        s, d, _ = self.req("POST", DEPS, body=dep)
        self.assertEqual(s, 422)
        self.assertIn("`selector` does not match template `labels`",
                      d["message"])

    def test_field_validation(self):
        obj = cm("fv1")
        obj["bogus"] = 1
        s, d, _ = self.req("POST", CMS + "?fieldValidation=Strict", body=obj)
        self.assertEqual(s, 400)
        self.assertIn('unknown field "bogus"', d["message"])
        s, d, h = self.req("POST", CMS + "?fieldValidation=Warn", body=obj)
        self.assertEqual(s, 201)
        self.assertIn('unknown field \\"bogus\\"', h["Warning"])
        s, d, _ = self.req("POST", CMS + "?fieldValidation=Nope",
                           body=cm("fv2"))
        self.assertEqual(s, 400)

    def test_missing_namespace_rejected(self):
        s, d, _ = self.req("POST", "/api/v1/namespaces/ghost/configmaps",
                           body=cm("x"))
        self.assertEqual(s, 404)
        self.assertEqual(d["message"], 'namespaces "ghost" not found')

    def test_protected_namespace_not_deleted(self):
        s, d, _ = self.req("DELETE", "/api/v1/namespaces/default")
        self.assertEqual(s, 403)
        self.assertEqual(self.req("GET", "/api/v1/namespaces/default")[0],
                         200)

    # --- metadata -------------------------------------------------------

    def test_metadata_on_create_and_update(self):
        s, d, _ = self.req("POST", DEPS, body=deployment("md1"))
        self.assertEqual(s, 201)
        m = d["metadata"]
        self.assertEqual(len(m["uid"]), 36)
        self.assertRegex(m["creationTimestamp"],
                         r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(m["generation"], 1)
        self.assertTrue(m["resourceVersion"].isdigit())
        self.assertEqual(d["spec"]["strategy"]["type"], "RollingUpdate")
        # metadata-only change: generation stays
        s, d2, _ = self.req(
            "PATCH", DEPS + "/md1", body={"metadata": {"labels": {"a": "b"}}},
            headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(d2["metadata"]["generation"], 1)
        self.assertGreater(int(d2["metadata"]["resourceVersion"]),
                           int(m["resourceVersion"]))
        # spec change: generation bumped; uid and creationTimestamp kept
        d2["spec"]["replicas"] = 3
        d2["metadata"]["uid"] = "forged"
        # Unconditional update: the deployment controller may have written
        # status since the PATCH, and a stale resourceVersion is rightly a
        # 409; this test is about generation, uid and creationTimestamp.
        del d2["metadata"]["resourceVersion"]
        s, d3, _ = self.req("PUT", DEPS + "/md1", body=d2)
        self.assertEqual(s, 200)
        self.assertEqual(d3["metadata"]["generation"], 2)
        self.assertEqual(d3["metadata"]["uid"], m["uid"])
        # status is ignored on the main resource, taken by /status
        d3["status"] = {"replicas": 7}
        s, d4, _ = self.req("PUT", DEPS + "/md1", body=d3)
        # (the deployment controller may have written its own status in
        # the meantime, but never 7: spec.replicas is 3)
        self.assertNotEqual(d4.get("status", {}).get("replicas"), 7)
        s, d5, _ = self.req(
            "PATCH", DEPS + "/md1/status",
            body={"status": {"replicas": 7, "observedGeneration": 2},
                  "spec": {"replicas": 9}},
            headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(s, 200)
        self.assertEqual(d5["status"]["replicas"], 7)
        self.assertEqual(d5["spec"]["replicas"], 3)

    def test_generate_name_and_dry_run(self):
        obj = cm("")
        obj["metadata"] = {"generateName": "gen-"}
        s, d, _ = self.req("POST", CMS, body=obj)
        self.assertEqual(s, 201)
        self.assertRegex(d["metadata"]["name"], r"^gen-[a-z0-9]{5}$")
        s, d, _ = self.req("POST", CMS + "?dryRun=All", body=cm("dry1"))
        self.assertEqual(s, 201)
        self.assertEqual(self.req("GET", CMS + "/dry1")[0], 404)
        self.req("POST", CMS, body=cm("dry2"))
        self.assertEqual(self.req("DELETE", CMS + "/dry2?dryRun=All")[0],
                         200)
        self.assertEqual(self.req("GET", CMS + "/dry2")[0], 200)

    def test_delete_preconditions(self):
        self.req("POST", CMS, body=cm("pre1"))
        s, d, _ = self.req("DELETE", CMS + "/pre1",
                           body={"preconditions": {"uid": "not-it"}})
        self.assertEqual(s, 409)
        self.assertStatus(d, 409, "Conflict")
        self.assertIn("Precondition failed: UID in precondition: not-it",
                      d["message"])
        uid = self.req("GET", CMS + "/pre1")[1]["metadata"]["uid"]
        s, d, _ = self.req("DELETE", CMS + "/pre1",
                           body={"preconditions": {"uid": uid}})
        self.assertEqual((s, d["status"]), (200, "Success"))
        self.assertEqual(d["details"]["uid"], uid)
        s, d, _ = self.req("DELETE", CMS + "/pre1?propagationPolicy=Sideways")
        self.assertEqual(s, 400)

    def test_finalizers_hold_deletion(self):
        obj = cm("fin1")
        obj["metadata"]["finalizers"] = ["example.com/hold"]
        self.req("POST", CMS, body=obj)
        s, d, _ = self.req("DELETE", CMS + "/fin1")
        self.assertEqual(s, 200)
        self.assertIn("deletionTimestamp", d["metadata"])
        self.assertEqual(self.req("GET", CMS + "/fin1")[0], 200)
        s, d, _ = self.req(
            "PATCH", CMS + "/fin1", body={"metadata": {"finalizers": None}},
            headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual(s, 200)
        self.assertEqual(self.req("GET", CMS + "/fin1")[0], 404)

    def test_pod_on_node_deleted_gracefully(self):
        pods = "/api/v1/namespaces/default/pods"
        pod = {"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "gp1"},
               "spec": {"containers": [{"name": "c", "image": "x"}]}}
        self.req("POST", pods, body=pod)
        s, d, _ = self.req("POST", pods + "/gp1/binding",
                           body={"apiVersion": "v1", "kind": "Binding",
                                 "metadata": {"name": "gp1"},
                                 "target": {"kind": "Node",
                                            "name": "node-a"}})
        self.assertEqual(s, 201)
        s, d, _ = self.req("POST", pods + "/gp1/binding",
                           body={"target": {"name": "node-b"}})
        self.assertEqual(s, 409)
        s, d, _ = self.req("DELETE", pods + "/gp1")
        self.assertEqual(s, 200)
        self.assertEqual(d["metadata"]["deletionGracePeriodSeconds"], 30)
        self.assertEqual(self.req("GET", pods + "/gp1")[0], 200)
        s, d, _ = self.req("DELETE", pods + "/gp1?gracePeriodSeconds=0")
        self.assertEqual(self.req("GET", pods + "/gp1")[0], 404)

    def test_eviction(self):
        pods = "/api/v1/namespaces/default/pods"
        self.req("POST", pods, body={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "ev1"},
            "spec": {"containers": [{"name": "c", "image": "x"}]}})
        s, d, _ = self.req("POST", pods + "/ev1/eviction", body={
            "kind": "Eviction", "apiVersion": "policy/v1",
            "metadata": {"name": "ev1", "namespace": "default"},
            "deleteOptions": {}})
        self.assertEqual(s, 201)
        self.assertEqual(d["status"], "Success")
        self.assertEqual(self.req("GET", pods + "/ev1")[0], 404)

    # --- lists -----------------------------------------------------------

    def test_list_paging_and_selectors(self):
        for i in range(7):
            self.req("POST", CMS, body=cm("pg%d" % i,
                                          labels={"page": "yes",
                                                  "n": str(i % 2)}))
        names, cont, pages = [], "", 0
        while True:
            q = "?labelSelector=page%3Dyes&limit=3"
            if cont:
                q += "&continue=" + cont
            s, d, _ = self.req("GET", CMS + q)
            self.assertEqual(s, 200)
            pages += 1
            names += [i["metadata"]["name"] for i in d["items"]]
            cont = d["metadata"].get("continue", "")
            if not cont:
                break
            self.assertLess(pages, 10)
        self.assertEqual(names, ["pg%d" % i for i in range(7)])
        self.assertEqual(pages, 3)
        s, d, _ = self.req("GET", CMS + "?labelSelector=page%3Dyes,n+in+(1)")
        self.assertEqual([i["metadata"]["name"] for i in d["items"]],
                         ["pg1", "pg3", "pg5"])
        s, d, _ = self.req("GET", CMS + "?labelSelector=n!%3D1,page")
        self.assertEqual(len(d["items"]), 4)
        s, d, _ = self.req("GET", CMS + "?fieldSelector=metadata.name%3Dpg2")
        self.assertEqual([i["metadata"]["name"] for i in d["items"]],
                         ["pg2"])
        s, d, _ = self.req("GET", CMS + "?fieldSelector=spec.bogus%3Dx")
        self.assertEqual(s, 400)
        self.assertIn("field label not supported", d["message"])
        s, d, _ = self.req("GET", CMS + "?labelSelector=a+b+c")
        self.assertEqual(s, 400)
        s, d, _ = self.req("GET", CMS + "?continue=garbage!")
        self.assertEqual(s, 400)

    def test_list_resource_version_rules(self):
        s, d, _ = self.req("GET", "/api/v1/namespaces/kube-public/pods")
        self.assertEqual(d["items"], [])
        rv = int(d["metadata"]["resourceVersion"])
        s, d, _ = self.req("GET", CMS + "?resourceVersion=0")
        self.assertEqual(s, 200)
        s, d, _ = self.req("GET", CMS + "?resourceVersion=%d" % (rv + 10**6))
        self.assertEqual(s, 504)
        self.assertStatus(d, 504, "Timeout")
        s, d, _ = self.req("GET", CMS + "?resourceVersion=%d"
                           "&resourceVersionMatch=Exact" % rv)
        self.assertEqual(s, 200)
        self.assertEqual(d["metadata"]["resourceVersion"], str(rv))
        s, d, _ = self.req("GET", CMS + "?resourceVersionMatch=Exact")
        self.assertEqual(s, 400)
        s, d, _ = self.req("GET", CMS + "?resourceVersion=abc")
        self.assertEqual(s, 400)

    def test_table_output(self):
        self.req("POST", DEPS, body=deployment("tb1", 2))
        s, d, h = self.req("GET", DEPS + "/tb1", headers={"Accept": TABLE})
        self.assertEqual(h["Content-Type"],
                         "application/json;as=Table;v=v1;g=meta.k8s.io")
        self.assertEqual(d["kind"], "Table")
        cols = [c["name"] for c in d["columnDefinitions"]]
        self.assertEqual(cols, ["Name", "Ready", "Up-to-date", "Available",
                                "Age", "Containers", "Images", "Selector"])
        row = d["rows"][0]
        self.assertEqual(row["cells"][:4], ["tb1", "0/2", 0, 0])
        self.assertEqual(row["object"]["kind"], "PartialObjectMetadata")
        self.assertEqual(row["object"]["metadata"]["name"], "tb1")
        s, d, _ = self.req("GET", DEPS + "?includeObject=Object",
                           headers={"Accept": TABLE})
        self.assertTrue(all(r["object"]["kind"] == "Deployment"
                            for r in d["rows"]))

    # --- subresources ---------------------------------------------------

    def test_scale_subresource(self):
        self.req("POST", DEPS, body=deployment("sc1", 1))
        s, d, _ = self.req("GET", DEPS + "/sc1/scale")
        self.assertEqual((s, d["kind"], d["apiVersion"]),
                         (200, "Scale", "autoscaling/v1"))
        self.assertEqual(d["spec"]["replicas"], 1)
        self.assertEqual(d["status"], {"replicas": 0, "selector": "app=sc1"})
        s, d, _ = self.req(
            "PATCH", DEPS + "/sc1/scale", body={"spec": {"replicas": 4}},
            headers={"Content-Type": "application/merge-patch+json"})
        self.assertEqual((s, d["spec"]["replicas"]), (200, 4))
        self.assertEqual(self.req("GET", DEPS + "/sc1")[1]["spec"]
                         ["replicas"], 4)
        d["spec"]["replicas"] = -1
        s, d, _ = self.req("PUT", DEPS + "/sc1/scale", body=d)
        self.assertEqual(s, 422)

    def test_log_without_node_is_bad_request(self):
        pods = "/api/v1/namespaces/default/pods"
        self.req("POST", pods, body={
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "lg1"},
            "spec": {"containers": [{"name": "c", "image": "x"}]}})
        s, d, _ = self.req("GET", pods + "/lg1/log")
        self.assertEqual(s, 400)
        self.assertIn("ContainerCreating", d["message"])

    def test_health_and_python_booleans(self):
        self.assertEqual(self.srv.get("/healthz")[0], 200)
        self.assertEqual(self.srv.get("/readyz")[0], 200)
        s, raw, _ = self.srv.request(
            "GET", CMS + "?watch=True&timeoutSeconds=1")
        self.assertEqual(s, 200)
        for line in raw.decode().splitlines():
            self.assertEqual(json.loads(line)["type"], "ADDED")

    def test_many_connections_are_served(self):
        # more simultaneous keep-alive connections than pool threads
        socks = []
        try:
            for _ in range(200):
                socks.append(socket.create_connection(
                    ("127.0.0.1", self.srv.port), timeout=10))
            for s in socks:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            for s in socks:
                self.assertIn(b"200", s.recv(4096))
        finally:
            for s in socks:
                s.close()


if __name__ == "__main__":
    unittest.main()

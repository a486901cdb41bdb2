"""The scheduler with the real k1s binary and the real kubectl: placement
by filters and scores, the precise FailedScheduling message, retry when a
fitting node appears (and not in a loop meanwhile). The nodes whose
capacity, labels and taints a test needs are registered through the API
as the scheduler's inputs (see test_controllers.Cluster.add_node); the
Deployment test runs on the agent's simulated nodes."""
import json
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from test_controllers import Cluster  # noqa: E402


def pod(name, cpu="100m", extra=None):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": "default",
                      "labels": {"app": name}},
         "spec": {"containers": [{"name": "c", "image": "busybox",
                                  "resources": {"requests": {"cpu": cpu}}}]}}
    if extra:
        p["spec"].update(extra)
    return p


class Scheduling(unittest.TestCase):
    def setUp(self):
        self.c = Cluster().start()
        self.addCleanup(self.c.cleanup)

    def create(self, p):
        st, got = self.c.api("POST", "/api/v1/namespaces/default/pods", p)
        self.assertEqual(st, 201, got)

    def node_of(self, name):
        p = self.c.get("/api/v1/namespaces/default/pods/" + name)
        return p["spec"].get("nodeName") if p else None

    def events_for(self, name, reason):
        st, l = self.c.api("GET", "/api/v1/namespaces/default/events")
        return [e for e in l["items"]
                if e["involvedObject"]["name"] == name and
                e["reason"] == reason]

    def test_unschedulable_gets_precise_message_then_fits_new_node(self):
        self.c.add_node("cp", taints=[{
            "key": "node-role.kubernetes.io/control-plane",
            "effect": "NoSchedule"}])
        self.c.add_node("small1", cpu="1")
        self.c.add_node("small2", cpu="1")
        self.create(pod("big", cpu="2"))
        want = ("0/3 nodes are available: 1 node(s) had untolerated taint "
                "{node-role.kubernetes.io/control-plane: }, 2 Insufficient "
                "cpu. preemption: 0/3 nodes are available: 1 Preemption is "
                "not helpful for scheduling, 2 No preemption victims found "
                "for incoming pod..")
        ev = self.c.wait("FailedScheduling",
                         lambda: self.events_for("big", "FailedScheduling"))
        self.assertEqual(ev[0]["message"], want)
        self.assertEqual(ev[0]["type"], "Warning")
        self.assertEqual(ev[0]["source"]["component"], "default-scheduler")
        p = self.c.wait("condition", lambda: [
            c for c in (self.c.get("/api/v1/namespaces/default/pods/big")
                        .get("status", {}).get("conditions") or [])
            if c["type"] == "PodScheduled" and c["status"] == "False"])
        self.assertEqual(p[0]["reason"], "Unschedulable")
        self.assertEqual(p[0]["message"], want)
        d = self.c.kubectl("describe", "pod", "big")
        self.assertIn("FailedScheduling", d.stdout)
        self.assertIn("Insufficient cpu", d.stdout)
        # not retried in a loop: nothing changed, so no new attempt
        time.sleep(1.5)
        ev = self.events_for("big", "FailedScheduling")
        self.assertEqual(len(ev), 1)
        self.assertEqual(ev[0].get("count", 1), 1)
        self.assertIsNone(self.node_of("big"))
        # a change that matters (a label) retries it: the same failure is
        # the same Event with count 2, as client-go's correlator does
        n = self.c.get("/api/v1/nodes/small1")
        n["metadata"]["labels"]["touched"] = "yes"
        self.assertEqual(self.c.api("PUT", "/api/v1/nodes/small1", n)[0],
                         200)
        ev = self.c.wait("count 2", lambda: [
            e for e in self.events_for("big", "FailedScheduling")
            if e.get("count") == 2])
        self.assertEqual(len(self.events_for("big", "FailedScheduling")), 1)
        # a fitting node appears: scheduled there
        self.c.add_node("large", cpu="8")
        self.c.wait("bound to large", lambda: self.node_of("big") == "large")
        ev = self.c.wait("Scheduled", lambda: self.events_for("big",
                                                              "Scheduled"))
        self.assertEqual(ev[0]["message"],
                         "Successfully assigned default/big to large")

    def test_no_nodes_message(self):
        self.create(pod("lonely"))
        ev = self.c.wait("FailedScheduling",
                         lambda: self.events_for("lonely",
                                                 "FailedScheduling"))
        self.assertEqual(ev[0]["message"],
                         "no nodes available to schedule pods")

    def test_selector_affinity_taints_and_ports(self):
        self.c.add_node("a", labels={"disk": "ssd", "rank": "3"})
        self.c.add_node("b", labels={"disk": "hdd", "rank": "9"})
        self.c.add_node("t", taints=[{"key": "dedicated", "value": "x",
                                      "effect": "NoSchedule"}])
        self.create(pod("sel", extra={"nodeSelector": {"disk": "ssd"}}))
        self.create(pod("gt", extra={"affinity": {"nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [
                    {"key": "rank", "operator": "Gt",
                     "values": ["5"]}]}]}}}}))
        self.create(pod("tol", extra={
            "tolerations": [{"key": "dedicated", "operator": "Equal",
                             "value": "x", "effect": "NoSchedule"}],
            "nodeSelector": {"kubernetes.io/hostname": "t"}}))
        self.c.wait("sel on a", lambda: self.node_of("sel") == "a")
        self.c.wait("gt on b", lambda: self.node_of("gt") == "b")
        self.c.wait("tol on t", lambda: self.node_of("tol") == "t")
        port = {"containers": [{"name": "c", "image": "x",
                                "ports": [{"containerPort": 80,
                                           "hostPort": 8080}]}],
                "nodeSelector": {"disk": "ssd"}}
        self.create(pod("p1", extra=port))
        self.c.wait("p1 on a", lambda: self.node_of("p1") == "a")
        self.create(pod("p2", extra=port))
        ev = self.c.wait("FailedScheduling",
                         lambda: self.events_for("p2", "FailedScheduling"))
        # filters stop at the first failing plugin: the tainted node
        # reports its taint, not its labels
        self.assertEqual(
            ev[0]["message"],
            "0/3 nodes are available: 1 node(s) didn't have free ports for "
            "the requested pod ports, 1 node(s) didn't match Pod's node "
            "affinity/selector, 1 node(s) had untolerated taint "
            "{dedicated: x}. preemption: 0/3 nodes are available: 1 No "
            "preemption victims found for incoming pod, 2 Preemption is not "
            "helpful for scheduling..")
        # freeing the port lets it in
        self.c.api("DELETE", "/api/v1/namespaces/default/pods/p1"
                             "?gracePeriodSeconds=0")
        self.c.wait("p2 on a", lambda: self.node_of("p2") == "a")

    def test_cordon_and_anti_affinity_spread(self):
        self.c.add_node("a")
        self.c.add_node("b")
        self.c.add_node("c", unschedulable=True)  # as after kubectl cordon
        anti = {"affinity": {"podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [{
                "labelSelector": {"matchLabels": {"tier": "db"}},
                "topologyKey": "kubernetes.io/hostname"}]}}}
        for i in range(3):
            q = pod("db%d" % i, extra=anti)
            q["metadata"]["labels"]["tier"] = "db"
            self.create(q)
        self.c.wait("two placed", lambda: len(
            {self.node_of("db%d" % i) for i in range(3)} - {None}) == 2)
        nodes = [self.node_of("db%d" % i) for i in range(3)]
        self.assertEqual(sorted(n for n in nodes if n), ["a", "b"])
        stuck = [("db%d" % i) for i in range(3) if nodes[i] is None][0]
        ev = self.c.wait("FailedScheduling",
                         lambda: self.events_for(stuck, "FailedScheduling"))
        self.assertIn("1 node(s) were unschedulable", ev[0]["message"])
        self.assertIn("2 node(s) didn't match pod anti-affinity rules",
                      ev[0]["message"])
        n = self.c.get("/api/v1/nodes/c")  # uncordon
        del n["spec"]["unschedulable"]
        st, _ = self.c.api("PUT", "/api/v1/nodes/c", n)
        self.assertEqual(st, 200)
        self.c.wait("third on c", lambda: self.node_of(stuck) == "c")

    def test_deployment_pods_spread_over_nodes(self):
        for n in ("a", "b", "c"):  # simulated nodes a-0, b-0, c-0
            self.c.add_sim_node(n)
        dep = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": "s"},
               "spec": {"replicas": 6,
                        "selector": {"matchLabels": {"app": "s"}},
                        "template": {"metadata": {"labels": {"app": "s"}},
                                     "spec": {"containers": [
                                         {"name": "c", "image": "x"}]}}}}
        p = self.c.kubectl("apply", "-f", "-", input=json.dumps(dep))
        self.assertEqual(p.returncode, 0, p.stderr)
        pods = self.c.wait("6 bound", lambda: [
            x for x in self.c.pods(selector="app=s")
            if x["spec"].get("nodeName")] if len(
                [x for x in self.c.pods(selector="app=s")
                 if x["spec"].get("nodeName")]) == 6 else None)
        per = {}
        for x in pods:
            per[x["spec"]["nodeName"]] = per.get(x["spec"]["nodeName"], 0) + 1
        self.assertEqual(sorted(per.values()), [2, 2, 2], per)


if __name__ == "__main__":
    unittest.main()

"""kubectl-lite's reading verbs (get, describe, api-resources, -o jsonpath)
against the real k1s binary, side by side with the real kubectl on the same
objects: stdout, stderr and the exit code must be the same bytes.

Ages and event counts move while the two tools run, so every comparison
runs kubectl, kubectl-lite, kubectl again and accepts kubectl-lite's output
when it equals either kubectl run (retried a few times); only when that
fails is the comparison repeated with ages masked."""
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports: [{containerPort: 80}]
"""

P1 = """apiVersion: v1
kind: Pod
metadata:
  name: p1
  labels: {app: x, tier: "y"}
  annotations: {note: hello}
spec:
  containers:
  - name: c
    image: busybox
"""

OTHER = """apiVersion: v1
kind: Namespace
metadata:
  name: other
---
apiVersion: v1
kind: Pod
metadata:
  name: elsewhere-with-a-long-name
  namespace: other
spec:
  containers:
  - name: c
    image: busybox
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cm1
data:
  a: "1"
  multi: |
    line one
    line two
---
apiVersion: v1
kind: Secret
metadata:
  name: s1
stringData:
  token: abc
"""

# A pod bound to node n1 by name, with most of what describe prints.
RICH = """apiVersion: v1
kind: Pod
metadata:
  name: rich
  labels: {app: rich}
  annotations:
    short: "v"
    multi: "l1\\nl2\\n"
spec:
  nodeName: n1
  tolerations: [{key: dedicated, operator: Equal, value: x,
                 effect: NoSchedule}]
  nodeSelector: {disk: ssd}
  initContainers:
  - name: init
    image: busybox
    command: ["sh", "-c", "echo hi"]
  containers:
  - name: main
    image: nginx:1.25
    args: ["--port", "80"]
    ports: [{containerPort: 80}, {containerPort: 443, hostPort: 8443}]
    env:
    - {name: A, value: "1"}
    - name: POD
      valueFrom: {fieldRef: {fieldPath: metadata.name}}
    - name: NODE
      valueFrom: {fieldRef: {fieldPath: spec.nodeName}}
    - name: UID
      valueFrom: {fieldRef: {fieldPath: metadata.uid}}
    - name: TIER
      valueFrom: {fieldRef: {fieldPath: "metadata.labels['app']"}}
    - name: S
      valueFrom: {secretKeyRef: {name: s1, key: token}}
    envFrom:
    - configMapRef: {name: cm1}
    resources:
      requests: {cpu: 250m, memory: 64Mi}
      limits: {cpu: "1", memory: 128Mi}
    livenessProbe:
      httpGet: {path: /healthz, port: 80}
      initialDelaySeconds: 3
    readinessProbe:
      tcpSocket: {port: 80}
    volumeMounts:
    - {name: data, mountPath: /data}
    - {name: cfg, mountPath: /etc/cfg, readOnly: true}
  - name: side
    image: busybox
    resources:
      requests: {cpu: 100m}
  volumes:
  - name: data
    emptyDir: {}
  - name: cfg
    configMap: {name: cm1}
  - name: hp
    hostPath: {path: /tmp}
"""

AGE = re.compile(r"(?<![\w.:-])\d+(?:[smhdy]\d*)+(?![\w.:/-])")


def now_rfc3339(micro=False):
    t = datetime.datetime.now(datetime.timezone.utc)
    if micro:
        return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def masked(s):
    """Ages to AGE and runs of spaces to one (an age that gains a digit
    re-pads its column)."""
    return re.sub(r" +", " ", AGE.sub("AGE", s))


class KubectlLiteGet(unittest.TestCase):
    step = 0  # label values for the watch tests

    @classmethod
    def setUpClass(cls):
        # A long node grace period: n1 gets no heartbeats, and must not be
        # marked NotReady (its pods would be evicted) while the tests run.
        cls.srv = k1s.Server("--node-monitor-grace-period", "3600").start()
        cls.tmp = tempfile.mkdtemp(prefix="k1s-kget-")
        cls.lite_prog = cls.find_lite()
        try:
            cls.populate()
        except Exception:
            cls.srv.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.srv.cleanup()
        subprocess.run(["rm", "-rf", cls.tmp])

    # ------------------------------------------------------------ fixture
    @classmethod
    def find_lite(cls):
        # The link `make` puts next to the binary (kubectl-lite by argv[0]).
        return [os.path.join(os.path.dirname(os.path.abspath(k1s.K1S_BIN)),
                             "bin", "kubectl-lite")]

    @classmethod
    def apply(cls, name, text):
        path = os.path.join(cls.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        cls.srv.kubectl("apply", "-f", path, check=True)

    @classmethod
    def api(cls, method, path, body=None):
        s, b, _ = cls.srv.request(method, path, body=body)
        if s >= 300:
            raise AssertionError("%s %s: %d %s" % (method, path, s, b))
        return json.loads(b) if b else None

    @classmethod
    def put_status(cls, path, status):
        obj = cls.api("GET", path)
        obj["status"] = status
        return cls.api("PUT", path + "/status", obj)

    @classmethod
    def populate(cls):
        node = {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": "n1", "labels": {
                    "kubernetes.io/hostname": "n1",
                    "node-role.kubernetes.io/control-plane": ""}},
                "spec": {"taints": [{"key": "dedicated", "value": "x",
                                     "effect": "NoSchedule"}]}}
        cls.api("POST", "/api/v1/nodes", node)
        now = now_rfc3339()
        res = {"cpu": "4", "memory": "8Gi", "pods": "110",
               "ephemeral-storage": "100Gi"}
        cls.put_status("/api/v1/nodes/n1", {
            "capacity": res, "allocatable": res,
            "conditions": [{"type": "Ready", "status": "True",
                            "reason": "KubeletReady",
                            "message": "kubelet is posting ready status",
                            "lastHeartbeatTime": now,
                            "lastTransitionTime": now}],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                          {"type": "Hostname", "address": "n1"}],
            "nodeInfo": {"machineID": "m", "systemUUID": "s", "bootID": "b",
                         "kernelVersion": "6.1", "osImage": "Debian 12",
                         "containerRuntimeVersion": "k1s://1",
                         "kubeletVersion": "v1.32.0",
                         "kubeProxyVersion": "", "operatingSystem": "linux",
                         "architecture": "amd64"}})
        cls.api("POST", "/apis/coordination.k8s.io/v1/namespaces/"
                "kube-node-lease/leases",
                {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "n1"},
                 "spec": {"holderIdentity": "n1",
                          "leaseDurationSeconds": 40,
                          "renewTime": now_rfc3339(micro=True)}})
        cls.apply("other.yaml", OTHER)
        cls.apply("deploy.yaml", DEPLOY)
        cls.apply("p1.yaml", P1)
        cls.apply("rich.yaml", RICH)
        cls.put_status("/api/v1/namespaces/default/pods/rich", {
            "phase": "Running", "hostIP": "10.0.0.1",
            "podIP": "10.244.0.5", "podIPs": [{"ip": "10.244.0.5"}],
            "startTime": now, "qosClass": "Burstable",
            "conditions": [{"type": "Ready", "status": "True",
                            "lastTransitionTime": now},
                           {"type": "PodScheduled", "status": "True",
                            "lastTransitionTime": now}],
            "initContainerStatuses": [{
                "name": "init", "image": "busybox", "imageID": "sha:1",
                "containerID": "k1s://a", "ready": False,
                "restartCount": 0,
                "state": {"terminated": {"exitCode": 0,
                                         "reason": "Completed",
                                         "startedAt": now,
                                         "finishedAt": now}}}],
            "containerStatuses": [
                {"name": "main", "image": "nginx:1.25", "imageID": "sha:2",
                 "containerID": "k1s://b", "ready": True, "restartCount": 2,
                 "started": True,
                 "state": {"running": {"startedAt": now}},
                 "lastState": {"terminated": {
                     "exitCode": 137, "signal": 9, "reason": "Error",
                     "message": "oom", "startedAt": now,
                     "finishedAt": now}}},
                {"name": "side", "image": "busybox", "imageID": "",
                 "containerID": "", "ready": False, "restartCount": 0,
                 "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]})
        # the deployment controller's ReplicaSet and pods (bounded wait)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            pods = cls.api("GET", "/api/v1/namespaces/default/pods"
                           "?labelSelector=app%3Dweb")["items"]
            rss = cls.api("GET", "/apis/apps/v1/namespaces/default/"
                          "replicasets")["items"]
            if len(pods) == 2 and len(rss) == 1:
                return
            time.sleep(0.1)
        raise AssertionError("the deployment's pods did not appear")

    # ------------------------------------------------------------ helpers
    def lite(self, *args, timeout=60):
        env = dict(os.environ, KUBECONFIG=self.srv.kubeconfig,
                   KUBECACHEDIR=os.path.join(self.srv.data_dir, "kcache"))
        return subprocess.run(self.lite_prog + list(args),
                              capture_output=True, text=True, env=env,
                              timeout=timeout)

    def kubectl(self, *args, **kw):
        return self.srv.kubectl(*args, **kw)

    def assertSame(self, *args):
        """kubectl-lite prints what kubectl prints (stdout, stderr, rc)."""
        def run(f):
            p = f(*args)
            return (p.returncode, p.stdout, p.stderr)
        for _ in range(3):
            a = run(self.kubectl)
            b = run(self.lite)
            c = run(self.kubectl)
            if b == a or b == c:
                return b
        m = (b[0], masked(b[1]), masked(b[2]))
        if m in ((a[0], masked(a[1]), masked(a[2])),
                 (c[0], masked(c[1]), masked(c[2]))):
            return b
        self.assertEqual(b, a, "kubectl-lite %s" % " ".join(args))

    # -------------------------------------------------------- get: tables
    def test_get_tables(self):
        for args in (["get", "pods"],
                     ["get", "pods", "-o", "wide"],
                     ["get", "po", "p1", "rich"],
                     ["get", "pod/p1"],
                     ["get", "deploy,rs,pods"],
                     ["get", "all"],
                     ["get", "all", "-A"],
                     ["get", "pods", "-A"],
                     ["get", "pods", "--all-namespaces", "--show-labels"],
                     ["get", "pods", "-o", "wide", "--show-labels"],
                     ["get", "pods", "--no-headers"],
                     ["get", "pods,deploy", "--no-headers"],
                     ["get", "pod/p1", "configmap/cm1"],
                     ["get", "pods,cm", "p1"],
                     ["get", "deployment.apps", "web", "-o", "wide"],
                     ["get", "rs", "-o", "wide"],
                     ["get", "nodes"],
                     ["get", "no", "-o", "wide"],
                     ["get", "ns"],
                     ["get", "namespaces", "-A"],
                     ["get", "cm", "-A"],
                     ["get", "pods", "-n", "other"],
                     ["get", "pods", "-l", "app=web"],
                     ["get", "pods", "--selector", "app in (x,rich)"],
                     ["get", "pods", "--field-selector",
                      "status.phase=Running"],
                     ["get", "pods", "--field-selector",
                      "spec.nodeName=n1", "-o", "wide"],
                     ["get", "pods", "--show-kind"]):
            with self.subTest(args=args):
                self.assertSame(*args)

    def test_sort_by_label_and_custom_columns(self):
        self.kubectl("create", "configmap", "lbl", check=True)
        self.kubectl("label", "configmap", "lbl", "app=x",
                     "app.kubernetes.io/name=y", "tier=t", check=True)
        for args in (["get", "pods", "--sort-by=.metadata.uid"],
                     ["get", "pods", "--sort-by=.metadata.uid", "-o", "name"],
                     ["get", "pods", "--sort-by={.metadata.creationTimestamp}",
                      "-o", "wide"],
                     ["get", "cm", "--sort-by=metadata.name", "-o", "json"],
                     ["get", "cm", "-A", "--sort-by=.metadata.uid"],
                     ["get", "pods", "-L", "app", "-L", "tier,nope"],
                     ["get", "cm", "lbl", "-L", "app.kubernetes.io/name",
                      "--show-labels"],
                     ["get", "cm", "--show-labels"],
                     ["get", "pods", "-o",
                      "custom-columns=NAME:.metadata.name,NODE:spec.nodeName,"
                      "C:.spec.containers[*].name,X:.nope"],
                     ["get", "pods,cm", "-o",
                      "custom-columns=K:.kind,L:.metadata.labels",
                      "--sort-by=.metadata.name", "--no-headers"],
                     ["get", "cm", "lbl", "-o", "custom-columns={.data}"],
                     ["get", "cm", "lbl", "-o", "custom-columns=A:{.data},B"],
                     # a failed list names what was listed (cli-runtime)
                     ["get", "pods", "-l", "app in (web"],
                     ["get", "pods", "--field-selector", "bad.field=x"],
                     ["get", "deploy", "-l", "x in (", "--field-selector",
                      "a=b"],
                     ["describe", "pods", "-l", "app in (web"],
                     ["delete", "pods", "-l", "app in (web"],
                     ["label", "pods", "--field-selector", "bad.f=x", "a=b"]):
            with self.subTest(args=args):
                self.assertSame(*args)

    def test_get_empty_and_errors(self):
        for args in (["get", "svc"],
                     ["get", "svc,sts"],
                     ["get", "pods", "-l", "app=none"],
                     ["get", "pods", "-A", "-l", "app=none"],
                     ["get", "nodes", "-l", "app=none"],
                     ["get", "pods", "-n", "nowhere"],
                     ["get", "pod", "p1", "nope1", "nope2"],
                     ["get", "pod", "nope"],
                     ["get", "pod", "nope", "--ignore-not-found"],
                     ["get", "pod", "nope", "-o", "json"],
                     ["get", "pod", "p1", "-l", "app=x"],
                     ["get", "pod", "p1", "-A"],
                     ["get", "frobs"],
                     ["get"],
                     ["get", "pods", "-o", "bogus"],
                     ["get", "pods", "-o", "jsonpath"],
                     ["get", "pods", "-o", "jsonpath="],
                     ["get", "pods", "-o", "jsonpath={.items[0"],
                     ["get", "pods,cm", "-w"]):
            with self.subTest(args=args):
                self.assertSame(*args)

    def test_no_resources_message_is_on_stderr(self):
        p = self.lite("get", "svc")
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (0, "", "No resources found in default "
                                 "namespace.\n"))
        p = self.lite("get", "pod", "nope")
        self.assertEqual((p.returncode, p.stdout, p.stderr),
                         (1, "", 'Error from server (NotFound): pods "nope" '
                                 "not found\n"))

    # ----------------------------------------------- get: generic outputs
    def test_get_json_yaml_name(self):
        for args in (["get", "pod", "p1", "-o", "json"],
                     ["get", "pod/p1", "-o", "yaml"],
                     ["get", "pods", "-o", "json"],
                     ["get", "pods", "-o", "yaml"],
                     ["get", "pod", "p1", "rich", "-o", "yaml"],
                     ["get", "pod", "p1", "nope", "-o", "json"],
                     ["get", "pods,deploy", "-o", "yaml"],
                     ["get", "cm", "cm1", "-o", "json"],
                     ["get", "secret", "s1", "-o", "yaml"],
                     ["get", "node", "n1", "-o", "json"],
                     ["get", "svc", "-o", "json"],
                     ["get", "svc", "-o", "yaml"],
                     ["get", "svc", "-o", "name"],
                     ["get", "pods", "-o", "name"],
                     ["get", "pods,deploy,rs", "-o", "name"],
                     ["get", "all", "-A", "-o", "name"],
                     ["get", "deploy", "web", "-o", "name"]):
            with self.subTest(args=args):
                self.assertSame(*args)

    def test_list_output_is_a_kind_list(self):
        p = self.lite("get", "pods", "-o", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        self.assertEqual((doc["kind"], doc["apiVersion"], doc["metadata"]),
                         ("List", "v1", {"resourceVersion": ""}))
        self.assertTrue(all(i["kind"] == "Pod" for i in doc["items"]))

    def test_jsonpath(self):
        for tmpl in ("{.metadata.name}",
                     "{.items[*].metadata.name}",
                     "{.items[0].metadata.labels}",
                     "{.items[-1].metadata.name}",
                     "{.items[0:2].metadata.name}",
                     "{.items[0,2].metadata.name}",
                     "{.items[::2].metadata.name}",
                     "{range .items[*]}{.metadata.name}{\"\\t\"}"
                     "{.status.phase}{\"\\n\"}{end}",
                     "{range .items[*]}[{range .spec.containers[*]}"
                     "{.name},{end}]{end}",
                     "{.items[?(@.metadata.name==\"p1\")].metadata.uid}",
                     "{.items[?(@.spec.nodeName)].metadata.name}",
                     "{.items[?(@.status.phase!=\"Pending\")].metadata.name}",
                     "{.items[*].spec.containers[?(@.name==\"main\")]"
                     ".resources.limits.cpu}",
                     "{.items[*].status.containerStatuses[*].restartCount}",
                     "{.items[?(@.metadata.name==\"rich\")].status"
                     ".containerStatuses[?(@.restartCount>1)].name}",
                     "literal \\n and {.kind} {\"quoted\\ttab\"} {1} {true}",
                     "{.items[0].metadata['name']}",
                     "{.items[0].spec.containers[0]}",
                     "{.nope}{.items[0].nope.deeper}",
                     "{.items[0].metadata.creationTimestamp}",
                     "{.items[0].spec.priority}",
                     "{.items[0]"):
            with self.subTest(tmpl=tmpl):
                self.assertSame("get", "pods", "-o", "jsonpath=" + tmpl)
        self.assertSame("get", "pod", "rich", "-o",
                        "jsonpath={.spec.containers[*].env[*].name}")
        self.assertSame("get", "pod", "rich", "-o",
                        "jsonpath={.status.conditions[?(@.type==\"Ready\")]"
                        ".status}")
        self.assertSame("get", "pods,cm", "-o",
                        "jsonpath={.items[*].kind}")

    def test_jsonpath_execution_errors(self):
        """The message up to kubectl's dump of the object (Go's %#v, which
        kubectl-lite prints as JSON instead)."""
        cut = "\tobject given to jsonpath engine was:"
        for tmpl in ("{.items[5]}",
                     "{.items[0].metadata.name[0]}",
                     "{end}",
                     "{.items[?(@.spec.priority>=\"x\")]}",
                     "{.items[?(@.metadata.name<3)]}"):
            with self.subTest(tmpl=tmpl):
                a = self.kubectl("get", "pods", "-o", "jsonpath=" + tmpl)
                b = self.lite("get", "pods", "-o", "jsonpath=" + tmpl)
                self.assertEqual((b.returncode, b.stdout), (1, ""))
                self.assertEqual(b.stderr.split(cut)[0],
                                 a.stderr.split(cut)[0])
                self.assertIn(cut, b.stderr)

    # ---------------------------------------------------------------- watch
    def start_watch(self, prog, args):
        env = dict(os.environ, KUBECONFIG=self.srv.kubeconfig,
                   KUBECACHEDIR=os.path.join(self.srv.data_dir, "kcache"))
        out = tempfile.TemporaryFile(mode="w+")
        p = subprocess.Popen(prog + args, stdout=out,
                             stderr=subprocess.STDOUT, env=env, text=True,
                             stdin=subprocess.DEVNULL)
        return p, out

    @staticmethod
    def read(out):
        out.seek(0)
        return out.read()

    def wait_for(self, pred, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return False

    def test_watch(self):
        cases = [(["get", "pods", "-w"], "w1"),
                 (["get", "pods", "-w", "-A", "-o", "wide"], "w2"),
                 (["get", "pods", "--watch", "-o", "name"], "w3"),
                 (["get", "pods", "-w", "-o", "json"], "w4"),
                 (["get", "pod", "p1", "-w"], None)]
        for args, newpod in cases:
            with self.subTest(args=args):
                # a controller's write landing between the two initial
                # lists shows as an event in one output only: retry
                for attempt in range(3):
                    a, b = self.watch_both(args, newpod, attempt)
                    if masked(a) == masked(b):
                        break
                self.assertEqual(masked(b), masked(a))

    def watch_both(self, args, newpod, attempt):
        """Runs kubectl and kubectl-lite watching the same thing while p1
        is relabelled and (with newpod) a pod comes and goes; returns both
        outputs."""
        if newpod:
            newpod = "%s-%d" % (newpod, attempt)
        procs = []
        try:
            procs = [self.start_watch(["kubectl"], args),
                     self.start_watch(self.lite_prog, args)]
            # both printed the initial state
            self.assertTrue(self.wait_for(lambda: all(
                "p1" in self.read(o) for _, o in procs)),
                [self.read(o) for _, o in procs])
            first = [len(self.read(o)) for _, o in procs]
            KubectlLiteGet.step += 1
            self.kubectl("label", "pod", "p1", "step=s%d" % self.step,
                         "--overwrite", check=True)
            if newpod:
                self.kubectl("run", newpod, "--image=busybox", check=True)
                self.kubectl("delete", "pod", newpod, "--wait=false",
                             check=True)
            want = newpod or "p1"

            def settled():
                texts = [self.read(o) for _, o in procs]
                return all(len(t) > n and texts[0].count(want) ==
                           t.count(want) for t, n in zip(texts, first)) \
                    and (not newpod or texts[0].count(newpod) >= 2)
            self.assertTrue(self.wait_for(settled),
                            [self.read(o) for _, o in procs])
            # a last quiet moment for trailing events, then compare
            self.wait_for(lambda: False, timeout=0.5)
            return tuple(self.read(o) for _, o in procs)
        finally:
            for p, o in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGINT)
                    try:
                        p.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait(timeout=10)
                o.close()
            if newpod:
                self.kubectl("delete", "pod", newpod, "--ignore-not-found",
                             "--wait=false")

    def test_watch_ends_when_interrupted(self):
        p, out = self.start_watch(self.lite_prog, ["get", "pods", "-w"])
        try:
            self.assertTrue(self.wait_for(lambda: "p1" in self.read(out)))
            p.send_signal(signal.SIGINT)
            p.wait(timeout=10)
            self.assertTrue(self.read(out).startswith("NAME "))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
            out.close()

    # ------------------------------------------------------------ describe
    def test_describe(self):
        for args in (["describe", "pod", "p1"],
                     ["describe", "pod", "rich"],
                     ["describe", "pods", "web"],
                     ["describe", "pods", "-l", "app=web"],
                     ["describe", "deploy", "web"],
                     ["describe", "deployment/web"],
                     ["describe", "rs"],
                     ["describe", "node", "n1"],
                     ["describe", "nodes"],
                     ["describe", "cm", "cm1"],
                     ["describe", "secret", "s1"],
                     ["describe", "ns", "other"],
                     ["describe", "leases", "-n", "kube-node-lease"],
                     ["describe", "pod", "p1", "--show-events=false"],
                     ["describe", "pod/p1", "deploy/web"],
                     ["describe", "-A", "pods", "-l", "app=none"],
                     ["describe", "svc"],
                     ["describe", "pod", "nope"],
                     ["describe", "pod", "p1", "nope"],
                     ["describe"]):
            with self.subTest(args=args):
                self.assertSame(*args)

    def test_describe_more_kinds(self):
        self.kubectl("create", "sa", "dsa", check=True)
        self.kubectl("create", "secret", "generic", "dsa-pull", check=True)
        self.kubectl("patch", "sa", "dsa", "-p", json.dumps(
            {"imagePullSecrets": [{"name": "dsa-pull"}, {"name": "nope"}],
             "secrets": [{"name": "dsa-pull"}, {"name": "gone"}]}),
            check=True)
        uid = json.loads(self.kubectl("get", "sa", "dsa", "-o", "json",
                                      check=True).stdout)["metadata"]["uid"]
        for name, u in (("dsa-token", uid), ("dsa-other", "x")):
            self.kubectl("apply", "-f", "-", check=True, input=json.dumps({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "annotations": {
                    "kubernetes.io/service-account.name": "dsa",
                    "kubernetes.io/service-account.uid": u}},
                "type": "kubernetes.io/service-account-token"}))
        self.kubectl("apply", "-f", "-", check=True, input=json.dumps({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "djob", "labels": {"a": "b"}},
            "spec": {"parallelism": 2, "completions": 3,
                     "completionMode": "Indexed", "backoffLimit": 2,
                     "activeDeadlineSeconds": 100,
                     "template": {"spec": {
                         "restartPolicy": "Never",
                         "containers": [{"name": "c", "image": "busybox",
                                         "command": ["sh", "-c", "echo"]}]}}}}))
        self.kubectl("apply", "-f", "-", check=True, input=json.dumps({
            "apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "dds", "annotations": {"note": "x"}},
            "spec": {"selector": {"matchLabels": {"app": "dds"}},
                     "template": {"metadata": {"labels": {"app": "dds"}},
                                  "spec": {"nodeSelector": {
                                      "kubernetes.io/os": "linux", "a": "b"},
                                      "containers": [{"name": "c",
                                                      "image": "busybox"}]}}}}))
        tmpl = {"metadata": {"labels": {"app": "dss"}},
                "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        for name, extra in (
                ("dss", {"volumeClaimTemplates": [
                    {"metadata": {"name": "data", "labels": {"x": "y"},
                                  "annotations": {"k": "v"}},
                     "spec": {"accessModes": ["ReadWriteOnce",
                                              "ReadOnlyMany"],
                              "storageClassName": "fast",
                              "resources": {"requests": {"storage": "1Gi"}}}},
                    {"metadata": {"name": "logs"},
                     "spec": {"accessModes": ["ReadWriteOnce"]}}],
                    "updateStrategy": {"type": "RollingUpdate",
                                       "rollingUpdate": {"partition": 1,
                                                         "maxUnavailable": 2}}}),
                ("dss2", {"updateStrategy": {"type": "OnDelete"}})):
            spec = {"serviceName": name, "replicas": 2,
                    "selector": {"matchLabels": {"app": "dss"}},
                    "template": tmpl}
            spec.update(extra)
            self.kubectl("apply", "-f", "-", check=True, input=json.dumps({
                "apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": name}, "spec": spec}))
        for args in (["describe", "sa", "dsa"], ["describe", "sa"],
                     ["describe", "job", "djob"], ["describe", "jobs"],
                     ["describe", "ds", "dds"], ["describe", "sts", "dss"],
                     ["describe", "statefulsets"], ["describe", "rs"]):
            with self.subTest(args=args):
                self.assertSame(*args)

    def test_describe_has_events_and_none(self):
        p = self.lite("describe", "pod", "p1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"\nEvents:\n  Type +Reason +Age +From +"
                                   r"Message\n  ---- +------ +---- +---- +"
                                   r"-------\n")
        p = self.lite("describe", "cm", "cm1")
        self.assertTrue(p.stdout.endswith("\nEvents:  <none>\n"), p.stdout)

    # -------------------------------------------------------- api-resources
    def test_api_resources(self):
        for args in (["api-resources"],
                     ["api-resources", "-o", "wide"],
                     ["api-resources", "-o", "name"],
                     ["api-resources", "--namespaced=false"],
                     ["api-resources", "--namespaced=true", "-o", "name"],
                     ["api-resources", "--api-group=apps", "--no-headers"],
                     ["api-resources", "--api-group="],
                     ["api-resources", "--api-group=nope"],
                     ["api-resources", "--verbs=list,get", "-o", "wide"],
                     ["api-resources", "--sort-by=kind"]):
            with self.subTest(args=args):
                self.assertSame(*args)


if __name__ == "__main__":
    unittest.main()

"""The README's quick start, line for line, with kubectl-lite in place of
kubectl: the lines are read from README.md itself (the code blocks of
"The two commands" and "Running pods: the examples"), run by bash in the
repository's root against a real k1s server with its embedded agent,
with `kubectl` a shell function that runs kubectl-lite. Every line must
succeed; the outputs that say the quick start worked are checked."""
import os
import re
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def quick_start_lines():
    with open(os.path.join(ROOT, "README.md")) as f:
        text = f.read()
    lines = []
    for section in ("## The two commands", "## Running pods: the examples"):
        body = text[text.index(section):]
        body = body[:body.find("\n## ", 1)]
        for block in re.findall(r"```\n(.*?)```", body, re.S):
            for line in block.splitlines():
                if line.startswith(("kubectl ", "curl ")):
                    lines.append(line)
    return lines


class ReadmeWithKubectlLite(unittest.TestCase):
    def setUp(self):
        self.srv = k1s.Server(agent=True).start()
        self.addCleanup(self.srv.cleanup)
        lite = os.path.join(os.path.dirname(os.path.abspath(k1s.K1S_BIN)),
                            "bin", "kubectl-lite")
        # README_KUBECTL=kubectl checks the README itself with the real one.
        self.env = dict(os.environ, KUBECONFIG=self.srv.kubeconfig,
                        LITE=os.environ.get("README_KUBECTL", lite))

    def run_line(self, line):
        # The README's server listens on 6443; this one on its own port.
        line = line.replace("127.0.0.1:6443", "127.0.0.1:%d" % self.srv.port)
        script = 'kubectl() { "$LITE" "$@"; }\nset -o pipefail\n' + line
        return subprocess.run(["bash", "-c", script], cwd=ROOT,
                              env=self.env, capture_output=True, text=True,
                              timeout=180)

    def test_quick_start(self):
        lines = quick_start_lines()
        self.assertGreaterEqual(len(lines), 10, lines)
        out = {}
        try:
            for line in lines:
                p = self.run_line(line)
                # A pod that just turned Ready may not have written yet: a
                # user runs `logs` again; so does this test (bounded).
                for _ in range(40):
                    if not (line.startswith("kubectl logs greeter") and
                            p.returncode == 0 and
                            "repeat = 3" not in p.stdout):
                        break
                    time.sleep(0.25)
                    p = self.run_line(line)
                self.assertEqual(p.returncode, 0, "%s\n%s%s" %
                                 (line, p.stdout, p.stderr))
                out[line.split("#")[0].strip()] = p.stdout
            get = lambda prefix: next(v for k, v in out.items()  # noqa
                                      if k.startswith(prefix))
            self.assertIn("Client Version:", get("kubectl version"))
            self.assertIn(" Ready ", get("kubectl get nodes -o wide"))
            self.assertIn('deployment "web" successfully rolled out',
                          get("kubectl rollout status"))
            self.assertEqual(get("kubectl get pods -o wide").count(
                "Running"), 3)
            self.assertIn("Directory listing", get("curl http://$("))
            self.assertEqual(get("kubectl logs -f count-to-ten").split(),
                             [str(i) for i in range(1, 11)])
            self.assertIn("hello from k1s", get("kubectl logs greeter"))
            self.assertIn("repeat = 3", get("kubectl logs greeter"))
        finally:
            # Pods outlive the server (the agent adopts them): end them.
            for f in ("web.yaml", "batch-pod.yaml", "app-config.yaml"):
                self.run_line("kubectl delete --ignore-not-found "
                              "--grace-period=1 -f manifests/examples/" + f)


if __name__ == "__main__":
    unittest.main()

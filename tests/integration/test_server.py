"""The server binary: start, health endpoints, version, flags, shutdown."""
import json
import os
import signal
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402


class ServerLifecycle(unittest.TestCase):
    def setUp(self):
        self.srv = k1s.Server().start()

    def tearDown(self):
        self.srv.cleanup()

    def test_health_endpoints(self):
        for path in ("/healthz", "/livez", "/readyz"):
            status, body, _ = self.srv.get(path)
            self.assertEqual((status, body), (200, b"ok"), path)

    def test_version_has_nine_fields_and_minor_32(self):
        for path in ("/version", "/version/"):
            status, body, hdrs = self.srv.get(path)
            self.assertEqual(status, 200)
            self.assertTrue(hdrs["Content-Type"].startswith(
                "application/json"))
            v = json.loads(body)
            self.assertEqual(set(v), {
                "major", "minor", "gitVersion", "gitCommit", "gitTreeState",
                "buildDate", "goVersion", "compiler", "platform"})
            self.assertEqual((v["major"], v["minor"]), ("1", "32"))
            self.assertTrue(v["gitVersion"].startswith("v1.32."))

    def test_kubectl_version_reports_server(self):
        p = self.srv.kubectl("version", "-o", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["serverVersion"]["minor"],
                         "32")

    def test_sigterm_exits_zero(self):
        self.assertEqual(self.srv.stop(signal.SIGTERM), 0)
        self.assertIn("shutting down", self.srv.read_log())

    def test_sigint_exits_zero(self):
        self.assertEqual(self.srv.stop(signal.SIGINT), 0)

    def test_unknown_path_is_status_404(self):
        status, body, _ = self.srv.get("/no/such/thing")
        self.assertEqual(status, 404)
        st = json.loads(body)
        self.assertEqual((st["kind"], st["reason"], st["code"]),
                         ("Status", "NotFound", 404))


class ServerFlags(unittest.TestCase):
    def run_k1s(self, *args):
        return subprocess.run([k1s.K1S_BIN] + list(args), capture_output=True,
                              text=True, timeout=20)

    def test_help_on_every_face(self):
        for args in (["--help"], ["server", "--help"], ["agent", "--help"],
                     ["kubectl", "--help"]):
            p = self.run_k1s(*args)
            self.assertEqual(p.returncode, 0, args)
            self.assertIn("Usage", p.stdout, args)

    def test_version(self):
        p = self.run_k1s("version")
        self.assertEqual(p.returncode, 0)
        self.assertIn("v1.32.", p.stdout)

    def test_bad_flags_are_refused(self):
        self.assertEqual(self.run_k1s("server", "--port", "70000").returncode,
                         2)
        self.assertEqual(self.run_k1s("server", "--bogus").returncode, 2)
        self.assertEqual(self.run_k1s("nonsense").returncode, 2)

    def test_non_loopback_needs_insecure_bind(self):
        p = self.run_k1s("server", "--data-dir", "/tmp/k1s-it-nolo",
                         "--bind-address", "0.0.0.0", "--port", "0",
                         "--disable-agent")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--insecure-bind", p.stderr)

    def test_port_in_use_is_a_clear_error(self):
        with k1s.Server() as a:
            p = self.run_k1s("server", "--data-dir", a.data_dir + "/b",
                             "--port", str(a.port), "--disable-agent")
            self.assertEqual(p.returncode, 1)
            self.assertIn("cannot listen", p.stderr)


if __name__ == "__main__":
    unittest.main()

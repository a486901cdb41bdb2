"""The store inside the real `k1s server`: objects survive a clean stop and
a kill -9, a corrupt database is a start-up error that names the file, and
a second server on the same data directory is refused."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

CM = "/api/v1/namespaces/default/configmaps"


def configmap(name, value):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name}, "data": {"k": value}}


class StoreInServerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="k1s-it-store-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def create(self, srv, name, value):
        code, body, _ = srv.request("POST", CM, configmap(name, value))
        self.assertEqual(code, 201, body)
        return json.loads(body)["metadata"]["resourceVersion"]

    def read(self, srv, name):
        code, body, _ = srv.get(CM + "/" + name)
        self.assertEqual(code, 200, body)
        return json.loads(body)

    def test_objects_survive_a_clean_restart(self):
        srv = k1s.Server(data_dir=self.dir).start()
        rv = self.create(srv, "keep", "v1")
        self.assertEqual(srv.stop(), 0)
        srv = k1s.Server(data_dir=self.dir).start()
        try:
            obj = self.read(srv, "keep")
            self.assertEqual(obj["data"], {"k": "v1"})
            self.assertEqual(obj["metadata"]["resourceVersion"], rv)
            # the revision goes on from where it was
            rv2 = self.create(srv, "next", "v2")
            self.assertGreater(int(rv2), int(rv))
        finally:
            srv.stop()

    def test_acknowledged_writes_survive_kill_9(self):
        srv = k1s.Server(data_dir=self.dir).start()
        rvs = [self.create(srv, "cm%d" % i, str(i)) for i in range(20)]
        self.assertEqual(srv.stop(sig=signal.SIGKILL), -signal.SIGKILL)
        srv = k1s.Server(data_dir=self.dir).start()
        try:
            for i in range(20):
                obj = self.read(srv, "cm%d" % i)
                self.assertEqual(obj["data"], {"k": str(i)})
                self.assertEqual(obj["metadata"]["resourceVersion"], rvs[i])
        finally:
            srv.stop()

    def test_corrupt_state_database_is_a_startup_error(self):
        srv = k1s.Server(data_dir=self.dir).start()
        self.create(srv, "x", "y")
        self.assertEqual(srv.stop(), 0)
        path = os.path.join(self.dir, "state.db")
        with open(path, "r+b") as f:
            f.write(b"this is not an SQLite database header")
        p = subprocess.run(
            [k1s.K1S_BIN, "server", "--data-dir", self.dir, "--port", "0",
             "--disable-agent"],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(path, p.stderr)

    def test_second_server_on_the_same_directory_is_refused(self):
        srv = k1s.Server(data_dir=self.dir).start()
        try:
            p = subprocess.run(
                [k1s.K1S_BIN, "server", "--data-dir", self.dir, "--port",
                 "0", "--disable-agent"],
                capture_output=True, text=True, timeout=30)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn("in use by another process", p.stderr)
            # the first one still serves
            self.create(srv, "still", "here")
        finally:
            srv.stop()


if __name__ == "__main__":
    unittest.main()

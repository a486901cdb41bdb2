"""Watch streams over HTTP: event lines, selectors that start and stop
matching, resume from a resourceVersion, bookmarks, timeoutSeconds, Table
events, a thousand concurrent watchers, and shutdown with open streams."""
import json
import os
import select
import signal
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import k1s  # noqa: E402

CMS = "/api/v1/namespaces/default/configmaps"


def cm(name, labels=None):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "labels": labels or {}},
            "data": {"k": "v"}}


class Stream:
    """A raw HTTP/1.1 watch: reads chunked event lines with deadlines."""

    def __init__(self, port, path, accept="application/json"):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAccept: %s\r\n\r\n"
                           % (path, accept)).encode())
        self.buf = b""
        self.head = None
        self.closed = False

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            return False
        data = self.sock.recv(65536)
        if not data:
            self.closed = True
            return False
        self.buf += data
        return True

    def events(self, n, timeout=10):
        """Up to n events (fewer if the stream ends or time runs out)."""
        deadline = time.monotonic() + timeout
        out = []
        while self.head is None:
            if b"\r\n\r\n" in self.buf:
                self.head, self.buf = self.buf.split(b"\r\n\r\n", 1)
                break
            if not self._fill(deadline):
                return out
        while len(out) < n:
            # de-chunk whatever is complete
            while True:
                if b"\r\n" not in self.buf:
                    break
                size_s, rest = self.buf.split(b"\r\n", 1)
                size = int(size_s, 16)
                if size == 0:
                    self.closed = True
                    return out
                if len(rest) < size + 2:
                    break
                for line in rest[:size].splitlines():
                    if line.strip():
                        self.pending = getattr(self, "pending", [])
                        self.pending.append(json.loads(line))
                self.buf = rest[size + 2:]
            pend = getattr(self, "pending", [])
            while pend and len(out) < n:
                out.append(pend.pop(0))
            if len(out) >= n or self.closed:
                return out
            if not self._fill(deadline):
                return out
        return out

    def close(self):
        self.sock.close()


class Watch(unittest.TestCase):
    def setUp(self):
        self.srv = k1s.Server().start()

    def tearDown(self):
        self.srv.cleanup()

    def post(self, obj):
        s, body, _ = self.srv.request("POST", CMS, body=obj)
        self.assertEqual(s, 201, body)
        return json.loads(body)

    def test_events_and_selector_transitions(self):
        w = Stream(self.srv.port, CMS + "?watch=true&labelSelector=sel%3Dyes")
        try:
            self.assertEqual(w.events(1, timeout=0.5), [])
            self.post(cm("a", {"sel": "yes"}))
            self.post(cm("b", {"sel": "no"}))
            self.srv.request(
                "PATCH", CMS + "/a", body={"metadata": {"labels":
                                                        {"sel": "no"}}},
                headers={"Content-Type": "application/merge-patch+json"})
            self.srv.request(
                "PATCH", CMS + "/b", body={"metadata": {"labels":
                                                        {"sel": "yes"}}},
                headers={"Content-Type": "application/merge-patch+json"})
            ev = w.events(3)
            self.assertEqual([(e["type"], e["object"]["metadata"]["name"])
                              for e in ev],
                             [("ADDED", "a"), ("DELETED", "a"),
                              ("ADDED", "b")])
        finally:
            w.close()

    def test_resume_from_resource_version(self):
        first = self.post(cm("r1"))
        self.post(cm("r2"))
        w = Stream(self.srv.port, CMS + "?watch=true&resourceVersion=" +
                   first["metadata"]["resourceVersion"])
        try:
            ev = w.events(1)
            self.assertEqual([e["object"]["metadata"]["name"] for e in ev],
                             ["r2"])
            self.srv.request("DELETE", CMS + "/r1")
            ev = w.events(1)
            self.assertEqual(ev[0]["type"], "DELETED")
            self.assertGreater(int(ev[0]["object"]["metadata"]
                                   ["resourceVersion"]),
                               int(first["metadata"]["resourceVersion"]))
        finally:
            w.close()

    def test_timeout_and_bookmarks(self):
        self.post(cm("t1"))
        w = Stream(self.srv.port, CMS + "?watch=true&resourceVersion=1"
                   "&allowWatchBookmarks=true&timeoutSeconds=8")
        try:
            ev = w.events(10, timeout=20)
            types = [e["type"] for e in ev]
            self.assertIn("BOOKMARK", types)
            bm = ev[types.index("BOOKMARK")]["object"]
            self.assertEqual(bm["kind"], "ConfigMap")
            self.assertTrue(bm["metadata"]["resourceVersion"].isdigit())
            self.assertTrue(w.closed, "stream must end at timeoutSeconds")
        finally:
            w.close()
        # without allowWatchBookmarks there are none
        w = Stream(self.srv.port, CMS + "?watch=true&timeoutSeconds=7")
        try:
            ev = w.events(10, timeout=20)
            self.assertNotIn("BOOKMARK", [e["type"] for e in ev])
            self.assertTrue(w.closed)
        finally:
            w.close()

    def test_table_watch(self):
        w = Stream(self.srv.port, CMS + "?watch=true",
                   accept="application/json;as=Table;v=v1;g=meta.k8s.io,"
                   "application/json")
        try:
            self.post(cm("tw1"))
            self.post(cm("tw2"))
            ev = w.events(2)
            self.assertEqual(ev[0]["object"]["kind"], "Table")
            self.assertTrue(ev[0]["object"]["columnDefinitions"])
            self.assertEqual(ev[1]["object"]["columnDefinitions"], [])
            self.assertEqual(ev[1]["object"]["rows"][0]["cells"][0], "tw2")
        finally:
            w.close()

    def test_thousand_watchers(self):
        n = 1000
        streams = []
        try:
            for i in range(n):
                streams.append(Stream(self.srv.port,
                                      CMS + "?watch=true&resourceVersion=1"))
            # every stream answered its head before the change
            self.post(cm("fan"))
            got = 0
            for s in streams:
                ev = s.events(1, timeout=20)
                if ev and ev[0]["object"]["metadata"]["name"] == "fan":
                    got += 1
            self.assertEqual(got, n)
            # the server still answers other requests
            self.assertEqual(self.srv.get("/healthz")[0], 200)
        finally:
            for s in streams:
                s.close()

    def test_watch_cap_is_429(self):
        srv = k1s.Server("--max-watches", "3").start()
        streams = []
        try:
            for _ in range(3):
                streams.append(Stream(srv.port, CMS + "?watch=true"))
                streams[-1].events(1, timeout=0.3)
                self.assertIn(b" 200 ", streams[-1].head)
            s, body, hdrs = srv.request("GET", CMS + "?watch=true")
            self.assertEqual(s, 429)
            st = json.loads(body)
            self.assertEqual((st["kind"], st["reason"], st["code"]),
                             ("Status", "TooManyRequests", 429))
            self.assertEqual(hdrs["Retry-After"], "1")
            # ordinary requests are still served
            self.assertEqual(srv.request("GET", CMS)[0], 200)
        finally:
            for w in streams:
                w.close()
            srv.cleanup()

    def test_idle_watch_of_a_gone_client_is_ended(self):
        srv = k1s.Server("--log-level", "debug").start()
        try:
            w = Stream(srv.port, CMS + "?watch=true")
            w.events(1, timeout=0.5)
            w.close()
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                if "watch client went away" in srv.read_log():
                    break
                time.sleep(0.2)
            self.assertIn("watch client went away", srv.read_log())
        finally:
            srv.cleanup()

    def test_shutdown_with_open_watches(self):
        streams = [Stream(self.srv.port, CMS + "?watch=true")
                   for _ in range(20)]
        try:
            for s in streams:
                s.events(1, timeout=0.3)
            t0 = time.monotonic()
            rc = self.srv.stop(signal.SIGTERM)
            self.assertEqual(rc, 0)
            self.assertLess(time.monotonic() - t0, 15)
        finally:
            for s in streams:
                s.close()


if __name__ == "__main__":
    unittest.main()

"""Integration-test harness: the real k1s binary on a loopback port chosen
at run time, with a temporary data dir, stopped by its PID.

Every wait is bounded. Use as a context manager or call start()/stop().
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

K1S_BIN = os.environ.get(
    "K1S_BIN",
    os.path.join(os.path.dirname(__file__), "..", "..", "build", "release",
                 "k1s"))


def wait_for(pred, timeout, what):
    """Polls pred every 0.1 s until it returns something true (returned);
    AssertionError after timeout seconds, naming what and the last value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError("timed out after %ss waiting for %s (last: %r)" %
                         (timeout, what, last))


def read_text(path):
    """A log file's text so far ("" if there is none yet)."""
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


class Server:
    def __init__(self, *extra_args, data_dir=None, ready_timeout=20.0,
                 agent=False):
        """agent=True keeps the embedded node agent (this machine as a
        node, pods run as processes), as `make run` does."""
        self.extra_args = list(extra_args)
        self.agent = agent
        self.own_dir = data_dir is None
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="k1s-it-")
        self.ready_timeout = ready_timeout
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.data_dir, "server.log")

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def kubeconfig(self):
        return os.path.join(self.data_dir, "kubeconfig.yaml")

    def start(self):
        kc = self.kubeconfig
        if os.path.exists(kc):
            os.unlink(kc)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [K1S_BIN, "server", "--data-dir", self.data_dir, "--port", "0"] +
            ([] if self.agent else ["--disable-agent"]) + self.extra_args,
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("k1s exited with %d during start:\n%s" %
                                   (self.proc.returncode, self.read_log()))
            if os.path.exists(kc):
                with open(kc) as f:
                    for line in f:
                        line = line.strip()
                        if line.startswith("server: http://"):
                            self.port = int(line.rsplit(":", 1)[1])
                if self.port and self.get("/readyz")[0] == 200:
                    return self
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("k1s not ready within %.0fs:\n%s" %
                           (self.ready_timeout, self.read_log()))

    def read_log(self):
        return read_text(self.log_path)

    def request(self, method, path, body=None, headers=None, timeout=10):
        data = None
        hdrs = dict(headers or {})
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.url + path, data=data,
                                     method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read(), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, e.read(), dict(e.headers)
        except (urllib.error.URLError, ConnectionError):
            return 0, b"", {}

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def kubectl(self, *args, input=None, timeout=60, check=False):
        """Runs the real kubectl against this server; returns
        CompletedProcess (text)."""
        return self._client(["kubectl"], args, input, timeout, check)

    def kubectl_lite(self, *args, input=None, timeout=60, check=False):
        """Runs k1s's own kubectl-lite (the symlink bin/kubectl-lite next
        to K1S_BIN, made by `make`) the same way."""
        lite = os.path.join(os.path.dirname(os.path.abspath(K1S_BIN)),
                            "bin", "kubectl-lite")
        return self._client([lite], args, input, timeout, check)

    def _client(self, prog, args, input, timeout, check):
        env = dict(os.environ, KUBECONFIG=self.kubeconfig,
                   KUBECACHEDIR=os.path.join(self.data_dir, "kcache"))
        p = subprocess.run(prog + list(args), input=input,
                           capture_output=True, text=True, env=env,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("%s %s failed (%d): %s%s" %
                                 (os.path.basename(prog[0]), " ".join(args),
                                  p.returncode, p.stdout, p.stderr))
        return p

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        """Stops the server by PID; returns its exit code (None if it had to
        be killed)."""
        if self.proc is None:
            return None
        rc = None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)
        else:
            rc = self.proc.returncode
        self.proc = None
        self.log.close()
        return rc

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.cleanup()


class Agent:
    """A `k1s agent` process talking to `server` over HTTP, with its own
    data dir; args are its flags (--node-name N, --simulate N, ...).
    Stopped by its PID."""

    def __init__(self, server, data_dir, *args):
        self.server, self.data_dir, self.args = server, data_dir, list(args)
        self.proc = None
        self.log = None
        self.log_path = os.path.join(data_dir, "agent.log")

    def start(self):
        os.makedirs(self.data_dir, exist_ok=True)
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [K1S_BIN, "agent", "--server", self.server.url, "--data-dir",
             self.data_dir] + self.args,
            stdout=self.log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL)
        return self

    def stop(self, sig=signal.SIGTERM, kill_pods=False):
        """Signals the agent and waits for it (bounded). kill_pods: a last
        resort after a failed test, SIGKILL the pods' processes by the PIDs
        the agent recorded in its data dir."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None
        if self.log:
            self.log.close()
            self.log = None
        if kill_pods:
            for root, _dirs, files in os.walk(self.data_dir):
                if "pid" in files:
                    try:
                        with open(os.path.join(root, "pid")) as f:
                            os.kill(int(f.read().split()[0]), signal.SIGKILL)
                    except (OSError, ValueError, IndexError):
                        pass

    def read_log(self):
        return read_text(self.log_path)

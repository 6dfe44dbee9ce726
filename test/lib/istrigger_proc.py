"""Run `istrigger run` as a subprocess for end-to-end tests.

    op = IstriggerRun(workdir, kubeconfig, extra_args=["--namespaces", "a,b"]).start(
        wait_for="ImageTrigger controller started")
    ...
    op.stop()           # SIGTERM, then waits; raises if the process crashed or a sanitizer spoke
    op.log()            # everything it wrote to stderr

The binary comes from ISTRIGGER_BIN (default build/istrigger), so `make test` runs the ASan+UBSan
build here."""
import os
import pathlib
import signal
import subprocess
import time

from istrigger_cli import SANITIZER_MARKS, binary


class IstriggerRun:
    def __init__(self, workdir, kubeconfig, extra_args=(), env=None):
        self.workdir = pathlib.Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = str(kubeconfig)
        self.extra_args = list(extra_args)
        self.env = dict(os.environ, **(env or {}))
        self.log_path = self.workdir / "istrigger.log"
        self.proc = None
        self._log = None

    def argv(self):
        return [binary(), "run", "--kubeconfig", self.kubeconfig] + self.extra_args

    def start(self, wait_for=None, timeout=30):
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(self.argv(), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=self.env, cwd=str(self.workdir))
        if wait_for:
            self.wait_log(wait_for, timeout)
        return self

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, text, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.log():
                return
            if self.proc.poll() is not None:
                raise AssertionError("istrigger exited with %s before %r:\n%s"
                                     % (self.proc.returncode, text, self.log()[-4000:]))
            time.sleep(0.05)
        raise AssertionError("istrigger did not log %r within %ss:\n%s"
                             % (text, timeout, self.log()[-4000:]))

    def stop(self, timeout=20):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("istrigger did not stop within %ss:\n%s"
                                     % (timeout, self.log()[-4000:]))
        self._log.close()
        rc, self.proc = self.proc.returncode, None
        text = self.log()
        for marker in SANITIZER_MARKS:
            assert marker not in text, "sanitizer report in istrigger's output:\n" + text[-8000:]
        assert rc == 0, "istrigger exited with %s:\n%s" % (rc, text[-4000:])

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

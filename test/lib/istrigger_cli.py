"""Run the istrigger binary under test (ISTRIGGER_BIN, default build/istrigger) from pytest.

    res = run("resolve", "--insecure", "127.0.0.1:5000/app:v1")   # CompletedProcess (text)
"""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def binary():
    return os.environ.get("ISTRIGGER_BIN") or str(ROOT / "build" / "istrigger")


def run(*args, timeout=120, input=None, env=None):
    """Run `istrigger ARGS...`; returns the CompletedProcess with text stdout/stderr. The
    sanitizer report of an ASan build ends up in stderr; callers check the exit status."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([binary()] + [str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, input=input, env=full_env)


def lines(res):
    return [l for l in res.stdout.splitlines() if l]

"""Run the istrigger binary under test (ISTRIGGER_BIN, default build/istrigger) from pytest.

    res = run("resolve", "--insecure", "127.0.0.1:5000/app:v1")   # CompletedProcess (text)
"""
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]


def binary():
    return os.environ.get("ISTRIGGER_BIN") or str(ROOT / "build" / "istrigger")


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def run(*args, timeout=120, input=None, env=None):
    """Run `istrigger ARGS...`; returns the CompletedProcess with text stdout/stderr. Fails the
    test when an ASan/UBSan build reports anything, whatever the exit status (a sanitizer's
    exit code 1 would otherwise pass for an expected failure)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    res = subprocess.run([binary()] + [str(a) for a in args], capture_output=True, text=True,
                         timeout=timeout, input=input, env=full_env)
    for mark in SANITIZER_MARKS:
        assert mark not in res.stderr, "sanitizer report from %s:\n%s" % (binary(), res.stderr)
    return res


def lines(res):
    return [l for l in res.stdout.splitlines() if l]

"""The Containerfile builds an image OpenShift can run under restricted-v2: multi-stage, a small
runtime base, a numeric non-root USER, group-0 ownership with group permissions equal to the
owner's for what it may write, the listener port exposed. Its package lists are checked against
the real build: the build stage installs the -dev packages of every library the Makefile links,
and the runtime stage installs exactly the Debian packages that hold the shared libraries those
link lines name (found with pkg-config, ldd and dpkg), so the binary starts in the image.
(No image is built here: there is no container engine or base image on this machine.)"""
import os
import re
import shlex
import subprocess


from pkgtest import ROOT, load_one, root  # noqa: F401 (fixtures)

BASE_PACKAGES = {"libc6"}  # in every Debian base image


def stages():
    text = (ROOT / "Containerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out, cur = [], None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        instr, _, rest = line.partition(" ")
        instr = instr.upper()
        if instr == "FROM":
            cur = {"from": rest.split()[0], "as": rest.split()[-1] if " AS " in rest.upper() else None, "lines": []}
            out.append(cur)
        cur["lines"].append((instr, rest.strip()))
    return out


def apt_packages(stage):
    pkgs = set()
    for instr, rest in stage["lines"]:
        if instr == "RUN":
            for cmd in re.split(r"&&|;", rest):
                words = shlex.split(cmd)
                if "apt-get" in words and "install" in words:
                    pkgs |= {w for w in words[words.index("install") + 1:] if not w.startswith("-")}
    return pkgs


def _run(*argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def _package_of(path):
    """The Debian package holding a file (resolving .so symlinks; Debian 12 records some files
    under /lib and some under /usr/lib, the two being one directory)."""
    real = os.path.realpath(path)
    for candidate in (real, re.sub(r"^/usr/lib/", "/lib/", real), re.sub(r"^/lib/", "/usr/lib/", real)):
        res = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if res.returncode == 0:
            return res.stdout.split(":")[0]
    raise AssertionError("no Debian package holds %s" % path)


def makefile_pkg_config():
    m = re.search(r"^PKGS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    return m.group(1).split()


def test_multi_stage_with_small_runtime_base():
    st = stages()
    assert len(st) >= 2
    assert st[0]["as"], "the build stage is named"
    assert re.search(r"(-slim|minimal|distroless|scratch)", st[-1]["from"]), st[-1]["from"]
    copies = [rest for instr, rest in st[-1]["lines"] if instr == "COPY" and "--from=" in rest]
    assert any("/usr/bin/istrigger" in c for c in copies)
    # Only the operator binary is built: `make all` also builds test tools whose sources the
    # image does not copy.
    makes = [rest for instr, rest in st[0]["lines"] if instr == "RUN" and rest.startswith("make ")]
    assert makes and all(re.search(r"\bbuild/istrigger\b", m) and " all" not in m for m in makes)


def test_runs_as_arbitrary_uid_with_group_zero():
    final = stages()[-1]["lines"]
    users = [rest for instr, rest in final if instr == "USER"]
    assert users and re.fullmatch(r"[1-9]\d*(:0)?", users[-1]), "numeric non-root USER"
    run = " ".join(rest for instr, rest in final if instr == "RUN")
    home = [rest.split("=", 1)[1] for instr, rest in final if instr == "ENV" and rest.startswith("HOME=")]
    assert home, "HOME set to a directory the arbitrary UID can write"
    assert re.search(r"chgrp -R 0 %s" % re.escape(home[0]), run)
    assert re.search(r"chmod -R g=u %s" % re.escape(home[0]), run)
    entry = [rest for instr, rest in final if instr == "ENTRYPOINT"]
    assert entry and '"/usr/bin/istrigger"' in entry[-1]


def test_exposes_the_listener_of_the_deployment():
    final = stages()[-1]["lines"]
    exposed = {int(p.split("/")[0]) for instr, rest in final if instr == "EXPOSE" for p in rest.split()}
    dep = load_one(ROOT / "manifests/deployment.yaml")
    ports = {p["containerPort"] for c in dep["spec"]["template"]["spec"]["containers"] for p in c["ports"]}
    assert ports == exposed


def _lib_paths_of_pkg_config(pkg):
    """The shared libraries the link line of a pkg-config package names (-lfoo -> the file the
    linker's libfoo.so symlink points at)."""
    libdirs = [f[2:] for f in _run("pkg-config", "--libs-only-L", pkg).split()]
    libdirs += ["/usr/lib/x86_64-linux-gnu", "/usr/lib"]
    out = []
    for flag in _run("pkg-config", "--libs-only-l", pkg).split():
        for d in libdirs:
            so = os.path.join(d, "lib%s.so" % flag[2:])
            if os.path.exists(so):
                out.append(os.path.realpath(so))
                break
        else:
            raise AssertionError("no lib%s.so for %s" % (flag[2:], pkg))
    return out


def test_build_stage_installs_the_dev_packages_of_every_linked_library():
    build = apt_packages(stages()[0])
    for pkg in makefile_pkg_config():
        pc = _run("pkg-config", "--variable=pcfiledir", pkg).strip()
        owner = _package_of("%s/%s.pc" % (pc, pkg))
        assert owner in build, "%s (for %s) missing from the build stage" % (owner, pkg)


def test_runtime_stage_installs_exactly_the_libraries_linked():
    runtime = apt_packages(stages()[-1]) - {"ca-certificates"}
    wanted = set()
    for pkg in makefile_pkg_config():
        for path in _lib_paths_of_pkg_config(pkg):
            wanted.add(_package_of(path))
    wanted -= BASE_PACKAGES
    assert runtime == wanted, "runtime packages %s, libraries the Makefile links come from %s" % (
        sorted(runtime), sorted(wanted))


def test_binary_needs_nothing_else(root):
    binary = root / "build/istrigger"
    if not binary.exists():
        subprocess.run(["make", "-C", str(root), "-j2", "all"], check=True, capture_output=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", _run("readelf", "-d", str(binary)))
    ldd = dict(re.findall(r"^\s*(\S+) => (\S+)", _run("ldd", str(binary)), re.M))
    runtime = apt_packages(stages()[-1]) | BASE_PACKAGES
    for lib in needed:
        assert lib in ldd, lib
        assert _package_of(ldd[lib]) in runtime, "%s (%s) is not installed in the image" % (lib, ldd[lib])

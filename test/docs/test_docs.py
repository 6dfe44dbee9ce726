"""The documentation tells the truth about the code: each reference in README.md and docs/ is
compared with what it describes, both ways, so neither can change without the other.

- docs/crd-reference.md is what scripts/gen-crd-docs.py generates from crds/ (and the check
  really catches a drifted schema);
- docs/annotations.md lists exactly the annotation, label and finalizer keys in src/ and include/;
- the README's metrics table lists exactly the metrics the code registers, with their types;
- the README's flag tables equal `istrigger SUBCOMMAND --help`, which equals the options the
  code parses; the README's command table equals `istrigger --help`;
- every event and condition reason the controllers emit is in the README's troubleshooting;
- every test the README cites exists; every relative link in README.md and docs/ resolves;
- docs/architecture.md names every source file.
"""
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test" / "lib"))
import csource  # noqa: E402
import istrigger_cli  # noqa: E402

PY = "/usr/bin/python3"
GEN = ROOT / "scripts" / "gen-crd-docs.py"
README = (ROOT / "README.md").read_text()


def table_after(text, marker):
    """Rows (lists of cells) of the Markdown table that follows `<!-- marker... -->`."""
    i = text.index("<!-- " + marker)
    lines = text[i:].splitlines()[1:]
    while lines and not lines[0].startswith("|"):
        lines.pop(0)
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if cells and not set(cells[0]) <= set("-: "):
            rows.append(cells)
    return rows[1:]  # without the header row


def backticked(cell):
    return re.findall(r"`([^`]+)`", cell)


# ---------------------------------------------------------------- CRD reference

def test_crd_reference_is_generated_from_the_crds():
    res = subprocess.run([PY, str(GEN), "--check"], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr


def test_crd_reference_check_catches_a_drifted_schema(tmp_path):
    crds = tmp_path / "crds"
    shutil.copytree(ROOT / "crds", crds)
    path = crds / "istrigger.io_imagetriggerconfigs.yaml"
    crd = yaml.safe_load(path.read_text())
    props = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    props["properties"]["pollJitter"] = {"type": "string", "description": "a new field"}
    path.write_text(yaml.safe_dump(crd))
    res = subprocess.run([PY, str(GEN), "--check", "--crds", str(crds),
                          "--out", str(ROOT / "docs" / "crd-reference.md")],
                         capture_output=True, text=True)
    assert res.returncode == 1
    assert "spec.pollJitter" in res.stdout and "out of date" in res.stderr


def schema_paths(schema, prefix):
    node, suffix = schema, ""
    if schema.get("type") == "array" and isinstance(schema.get("items"), dict):
        node, suffix = schema["items"], "[]"
    for name, sub in (node.get("properties") or {}).items():
        path = "%s%s.%s" % (prefix, suffix, name) if prefix else name
        yield path
        yield from schema_paths(sub, path)


def test_crd_reference_lists_every_field_of_every_crd():
    doc = (ROOT / "docs" / "crd-reference.md").read_text()
    n = 0
    for path in sorted((ROOT / "crds").glob("istrigger.io_*.yaml")):
        crd = yaml.safe_load(path.read_text())
        assert "## %s" % crd["spec"]["names"]["kind"] in doc
        for v in crd["spec"]["versions"]:
            for field in schema_paths(v["schema"]["openAPIV3Schema"], ""):
                if field in ("apiVersion", "kind"):
                    continue
                assert "| `%s` |" % field in doc, "%s: %s not in crd-reference.md" % (path.name,
                                                                                    field)
                n += 1
    assert n > 40


# ---------------------------------------------------------------- annotations

KEY_RE = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+/[A-Za-z0-9._-]+")
# Strings of the same shape that are not annotation/label/finalizer keys.
NOT_KEYS = {
    "image.openshift.io/v1", "coordination.k8s.io/v1", "authentication.k8s.io/v1",
    "authorization.k8s.io/v1",                               # apiVersions
    "kubernetes.io/dockercfg", "kubernetes.io/dockerconfigjson",  # Secret types
}


def code_keys():
    found = {}
    for lit in csource.string_literals(ROOT):
        if KEY_RE.fullmatch(lit.text) and lit.text not in NOT_KEYS:
            found.setdefault(lit.text, "%s:%d" % (lit.path, lit.line))
    return found


def test_annotation_key_extraction_sees_the_known_keys():
    keys = code_keys()
    for k in ("istrigger.io/poll-interval", "image.openshift.io/triggers",
              "istrigger.io/imagetrigger"):
        assert k in keys
    assert not any(re.search(r"/v\d", k) for k in keys), keys


def test_annotations_md_lists_exactly_the_keys_in_the_code():
    doc = (ROOT / "docs" / "annotations.md").read_text()
    documented = {}
    for marker in ("annotations-table", "finalizers-table", "labels-table"):
        for row in table_after(doc, marker):
            key = backticked(row[0])
            assert len(key) == 1, row
            documented[key[0]] = marker
    in_code = code_keys()
    missing = sorted(set(in_code) - set(documented))
    stale = sorted(set(documented) - set(in_code))
    assert not missing, "used in the code, not in docs/annotations.md: %s" % [
        "%s (%s)" % (k, in_code[k]) for k in missing]
    assert not stale, "in docs/annotations.md, not in the code: %s" % stale


# ---------------------------------------------------------------- metrics

def test_readme_metrics_table_matches_the_registered_metrics():
    registered = csource.metric_registrations(ROOT)
    assert len(registered) >= 10, registered
    table = {backticked(r[0])[0]: r[1] for r in table_after(README, "metrics-table")}
    assert set(table) == set(registered), (
        "registered but not documented: %s; documented but not registered: %s" % (
            sorted(set(registered) - set(table)), sorted(set(table) - set(registered))))
    for name, typ in registered.items():
        assert table[name] == typ, "%s is a %s, the README says %s" % (name, typ, table[name])


def test_no_page_names_a_metric_the_code_does_not_register():
    registered = set(csource.metric_registrations(ROOT))
    for f in [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md")):
        names = set(re.findall(r"\b(istrigger_[a-z0-9_]+[a-z0-9])", f.read_text()))
        # histogram series are documented by family name; `_bucket`/`_sum`/`_count` are fine
        names = {re.sub(r"_(bucket|sum|count)$", "", n) for n in names}
        stale = sorted(names - registered)
        assert not stale, "%s names metrics the code does not register: %s" % (f.name, stale)


def test_metric_names_follow_the_conventions():
    for name, typ in csource.metric_registrations(ROOT).items():
        assert name.startswith("istrigger_")
        assert name.endswith("_total") == (typ == "counter"), name
        if typ == "histogram":
            assert name.endswith("_seconds"), name


# ---------------------------------------------------------------- command line

FLAG_RE = re.compile(r"(?<![\w-])(--[a-z][a-z0-9-]*|-[a-z])\b")
ENV_RE = re.compile(r"\$([A-Z][A-Z0-9_]+)|\b([A-Z][A-Z0-9]*_[A-Z0-9_]+)\b")


def help_text(*cmd):
    res = istrigger_cli.run(*cmd, "--help")
    assert res.returncode == 0, res.stderr
    return res.stdout


def flags_in(text):
    return {f for f in FLAG_RE.findall(text) if f not in ("--help", "-h")}


def envs_in(text):
    return {a or b for a, b in ENV_RE.findall(text)}


def code_options(sub):
    """The long options the subcommand's parser accepts, read from its source."""
    if sub == "run":
        src = (ROOT / "src" / "cli" / "run.c").read_text()
        table = src[src.index("static const struct opt opts[]"):]
        table = table[:table.index("};")]
        names = re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*"', table)
    else:
        src = (ROOT / "src" / "cli" / (sub + ".c")).read_text()
        names = re.findall(r'\{\s*"([a-z][a-z0-9-]*)",\s*(?:no|required|optional)_argument', src)
    names = {"--" + n for n in names} - {"--help"}
    # the shared logging flags (cli_take_log_flags), taken by every subcommand that logs
    return names | {"-v", "--log-level", "--log-format"}


@pytest.mark.parametrize("sub", ["run", "resolve"])
def test_readme_flags_equal_help_equal_the_parser(sub):
    rows = table_after(README, "flags: " + sub)
    documented = set()
    for r in rows:
        documented |= {f for f in backticked(r[0]) if f.startswith("-")}
    shown = flags_in(help_text(sub))
    parsed = code_options(sub)
    assert shown == parsed, "--help vs parser: only in help %s, only in code %s" % (
        sorted(shown - parsed), sorted(parsed - shown))
    assert documented == shown, "README vs --help: only in README %s, only in help %s" % (
        sorted(documented - shown), sorted(shown - documented))


@pytest.mark.parametrize("sub", ["run", "resolve"])
def test_readme_environment_variables_equal_help(sub):
    rows = table_after(README, "flags: " + sub)
    documented = set()
    for r in rows:
        documented |= set(backticked(r[1]))
    shown = envs_in(help_text(sub))
    if sub == "resolve":
        shown |= {"ISTRIGGER_LOG_LEVEL", "ISTRIGGER_LOG_FORMAT"}  # cli_take_log_flags
    assert documented == shown, "only in README %s, only in help %s" % (
        sorted(documented - shown), sorted(shown - documented))


def test_readme_commands_equal_top_level_help():
    res = istrigger_cli.run("--help")
    assert res.returncode == 0
    block = res.stdout.split("Commands:", 1)[1].split("\n\n", 1)[0]
    shown = {line.split()[0] for line in block.splitlines() if line.strip()}
    documented = {backticked(r[0])[0].split()[1] for r in table_after(README, "commands-table")}
    assert shown == documented
    for sub in shown:  # every subcommand has a help of its own
        assert help_text(sub).startswith("Usage: istrigger " + sub)


def test_sync_md_flag_list_names_only_real_flags():
    text = (ROOT / "docs" / "sync.md").read_text()
    section = text[text.index("## `istrigger run` flags"):]
    section = section[:section.index("\n## ", 3)]
    assert flags_in(section) <= flags_in(help_text("run"))


# ---------------------------------------------------------------- troubleshooting

def emitted_reasons():
    """Event reasons and condition reasons the controllers can show a user."""
    reasons = set()
    ctrl = ROOT / "src" / "controller"
    for path in sorted(ctrl.glob("*.c")):
        toks = csource.tokens(path)
        # ...event(obj, key, "Warning", "Reason", ...): a type literal, a comma, a reason literal
        for i in range(len(toks) - 3):
            if (toks[i][0] == "code" and "event(" in toks[i][1][-120:]
                    and toks[i + 1] in (("str", "Normal"), ("str", "Warning"))
                    and toks[i + 2][0] == "code" and toks[i + 2][1].strip() == ","
                    and toks[i + 3][0] == "str"):
                reasons.add(toks[i + 3][1])
    header = (ROOT / "include" / "istrigger" / "controller" / "sync.h").read_text()
    reasons |= set(re.findall(r'#define SYNC_REASON_\w+\s+"(\w+)"', header))
    # reason_of(): the registry failure reasons of PollFailed
    sync = (ctrl / "sync_poller.c").read_text()
    body = sync[sync.index("static const char *reason_of"):]
    reasons |= set(re.findall(r'return "(\w+)";', body[:body.index("\n}\n")]))
    # ImageTrigger condition reasons (trigger_status.c) and trigger states (trigger_plan.c)
    for name in ("trigger_status.c", "trigger_plan.c"):
        text = (ctrl / name).read_text()
        reasons |= set(re.findall(r'"((?:[A-Z][a-z]+){2,})"', text))
    return reasons - {"Unknown", "ImageStreamTag", "StatefulSet", "DaemonSet", "CronJob",
                      "ImageTrigger", "ImageStream"}


def test_every_reason_a_user_can_meet_is_in_the_troubleshooting_section():
    reasons = emitted_reasons()
    for r in ("Imported", "PollFailed", "ImportFailed", "PollIntervalRaised", "Unauthorized",
              "TargetNotFound", "ForeignTrigger", "TriggersUpdated", "ImageResolved"):
        assert r in reasons, "the extraction misses %s: %s" % (r, sorted(reasons))
    section = README[README.index("## Troubleshooting"):README.index("## Security notes")]
    documented = set(re.findall(r"`(?:Normal |Warning )?(\w+)`", section))
    missing = sorted(reasons - documented - {"Found", "Applied", "Paused", "Resolved"})
    assert not missing, "reasons emitted by src/controller/ but not in the README: %s" % missing


# ---------------------------------------------------------------- citations and links

def test_every_test_the_readme_cites_exists():
    cited = re.findall(r"`(test/[\w/]+\.py)(?:::(\w+))?`", README)
    assert len(cited) >= 15
    for path, name in cited:
        f = ROOT / path
        assert f.exists(), path
        if name:
            assert re.search(r"^def %s\(" % name, f.read_text(), re.M), "%s::%s" % (path, name)
    # `::name` shorthands refer to the file cited just before them in the same cell
    for cell in re.findall(r"\|([^|\n]*`test/[^|\n]*)", README):
        last = None
        for path, name in re.findall(r"`(?:(test/[\w/]+\.py))?(?:::(\w+))?`", cell):
            if path:
                last = path
            elif name:
                assert last and re.search(r"^def %s\(" % name, (ROOT / last).read_text(), re.M), \
                    "%s::%s" % (last, name)


def test_relative_links_resolve():
    files = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))
    for f in files:
        text = re.sub(r"``.*?``|`[^`\n]*`", "", f.read_text())  # not inside code spans
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = target.split("#", 1)[0]
            assert (f.parent / path).exists(), "%s links to missing %s" % (f.name, target)


def test_docs_index_lists_every_page():
    index = (ROOT / "docs" / "README.md").read_text()
    for page in sorted((ROOT / "docs").glob("*.md")):
        if page.name != "README.md":
            assert "(%s)" % page.name in index, "docs/README.md does not link %s" % page.name


def test_architecture_names_every_source_file():
    arch = (ROOT / "docs" / "architecture.md").read_text()
    missing = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "src").rglob("*.c"))
               if p.name not in arch]
    assert not missing, "docs/architecture.md does not mention %s" % missing


# ---------------------------------------------------------------- examples

def yaml_examples():
    """Every ```yaml block in README.md and docs/ that declares an istrigger.io object."""
    out = []
    for f in [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md")):
        for block in re.findall(r"```yaml\n(.*?)```", f.read_text(), re.S):
            doc = yaml.safe_load(block)
            if isinstance(doc, dict) and str(doc.get("apiVersion", "")).startswith("istrigger.io/"):
                out.append((f.name, doc))
    return out


def test_yaml_examples_are_accepted_by_the_crds(tmp_path):
    """Each example is applied with real kubectl (server-side dry run, strict field validation)
    to okdsim serving the CRDs from crds/: a field renamed in a CRD breaks this test."""
    sys.path.insert(0, str(ROOT / "test" / "okdsim" / "tests"))
    from okdsim_fixture import start_okdsim
    examples = yaml_examples()
    assert {d["kind"] for _, d in examples} >= {"ImageTrigger", "ImageTriggerConfig"}
    sim = start_okdsim(tmp_path)
    try:
        sim.kubectl("apply", "-k", ROOT / "crds", check=True)
        for crd in ("imagetriggers.istrigger.io", "imagetriggerconfigs.istrigger.io"):
            sim.kubectl("wait", "--for=condition=Established", "crd/" + crd, "--timeout=20s",
                        check=True)
        namespaces = {d["metadata"].get("namespace") for _, d in examples} - {None}
        for ns in sorted(namespaces | {"default"}):
            sim.kubectl("create", "namespace", ns)  # "default" exists already: ignored
        for name, doc in examples:
            res = sim.kubectl("apply", "-n", doc["metadata"].get("namespace", "default"),
                              "--dry-run=server", "--validate=strict", "-f", "-",
                              input=yaml.safe_dump(doc))
            assert res.returncode == 0, "%s: %s example refused: %s" % (name, doc["kind"],
                                                                      res.stderr)
        bad = {"apiVersion": "istrigger.io/v1alpha1", "kind": "ImageTrigger",
               "metadata": {"name": "bad"},
               "spec": {"target": {"kind": "Job", "name": "x"}, "triggers": []}}
        res = sim.kubectl("apply", "-n", "default", "--dry-run=server", "--validate=strict",
                          "-f", "-", input=yaml.safe_dump(bad))
        assert res.returncode != 0 and "invalid" in res.stderr  # the check can fail
    finally:
        sim.stop()

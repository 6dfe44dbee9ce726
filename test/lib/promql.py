"""PromQL helpers for the monitoring tests: the metric names an expression reads, and every
expression istrigger ships (alerts in manifests/prometheusrule.yaml, console dashboard panels
in manifests/console-dashboard.yaml)."""
import json
import pathlib
import re

import yaml

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
            "unless", "offset", "inf", "nan", "Inf", "NaN"}


def metric_names(expr):
    """Metric names an expression reads: identifiers that are not functions, keywords, label
    names (in {...}, by (...), ...) or parts of numbers and durations."""
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    e = re.sub(r"'(?:[^'\\]|\\.)*'", "''", e)
    e = re.sub(r"\{[^}]*\}", " ", e)
    e = re.sub(r"\[[^\]]*\]", " ", e)
    e = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", e)
    e = re.sub(r"\$\w+", " ", e)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", e):
        if m.start() > 0 and (e[m.start() - 1].isdigit() or e[m.start() - 1] == "."):
            continue  # 1e5, 0.5
        if e[m.end():].lstrip().startswith("(") or m.group(0) in KEYWORDS:
            continue
        names.add(m.group(0))
    return names


def _one(path):
    docs = [d for d in yaml.safe_load_all(pathlib.Path(path).read_text()) if d is not None]
    assert len(docs) == 1, path
    return docs[0]


def monitoring_exprs(root):
    """[(where, expr)] of every alert and every dashboard panel query."""
    root = pathlib.Path(root)
    rule = _one(root / "manifests/prometheusrule.yaml")
    out = [(r.get("alert") or r.get("record"), r["expr"])
           for g in rule["spec"]["groups"] for r in g["rules"]]
    cm = _one(root / "manifests/console-dashboard.yaml")
    dash = json.loads(next(iter(cm["data"].values())))
    panels = [p for row in dash.get("rows", []) for p in row.get("panels", [])]
    panels += [p for p in dash.get("panels", []) if p.get("type") != "row"]
    out += [(p["title"], t["expr"]) for p in panels for t in p.get("targets", [])]
    return out

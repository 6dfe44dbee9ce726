"""csource - read facts out of the C sources for documentation tests.

    for lit in string_literals(ROOT):        # every "..." in src/ and include/, comments skipped
        lit.text, lit.path, lit.line
    metric_registrations(ROOT)               # {name: type} of metrics_counter/gauge/histogram

A small lexer, not a C parser: it knows comments, string and character literals (with escapes)
and joins adjacent string literals ("a" "b" -> "ab"), which is all the documentation tests need.
"""
import collections
import pathlib
import re

Literal = collections.namedtuple("Literal", "text path line")

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def _lex(text):
    """Yield ("str", value, line) for joined string literals and ("code", chunk, line) for the
    code between them (comments removed)."""
    i, n, line = 0, len(text), 1
    code = []
    pending = None  # [value, line] of a string literal that may continue
    while i < n:
        ch = text[i]
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            line += text.count("\n", i, end)
            i = end
            code.append(" ")
            continue
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if ch == '"':
            j, buf = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    buf.append(_ESCAPES.get(text[j + 1], text[j + 1]))
                    j += 2
                    continue
                buf.append(text[j])
                j += 1
            if pending is not None and not "".join(code).strip():
                pending[0] += "".join(buf)
            else:
                if pending is not None:
                    yield ("str", pending[0], pending[1])
                yield ("code", "".join(code), line)
                pending = ["".join(buf), line]
            code = []
            i = j + 1
            continue
        if ch == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            code.append("0")
            i = j + 1
            continue
        if ch == "\n":
            line += 1
        code.append(ch)
        i += 1
    if pending is not None:
        yield ("str", pending[0], pending[1])
    yield ("code", "".join(code), line)


def c_files(root, dirs=("src", "include")):
    root = pathlib.Path(root)
    for d in dirs:
        for path in sorted((root / d).rglob("*")):
            if path.suffix in (".c", ".h"):
                yield path


def string_literals(root, dirs=("src", "include")):
    for path in c_files(root, dirs):
        rel = str(path.relative_to(root))
        for kind, value, line in _lex(path.read_text()):
            if kind == "str":
                yield Literal(value, rel, line)


def tokens(path):
    """The file as a list of ("str"|"code", text) pieces, comments removed."""
    return [(k, v) for k, v, _ in _lex(pathlib.Path(path).read_text())]


_REG_RE = re.compile(r"metrics_(counter|gauge|histogram)\s*\(\s*$")


def metric_registrations(root):
    """{metric name: type} for every metrics_counter/gauge/histogram call whose first argument
    is a string literal, in src/ (the registry itself, src/http/metrics.c, excluded)."""
    out = {}
    for path in c_files(root, ("src",)):
        if path.name == "metrics.c":
            continue
        toks = tokens(path)
        for a, b in zip(toks, toks[1:]):
            if a[0] == "code" and b[0] == "str":
                m = _REG_RE.search(a[1])
                if m:
                    out[b[1]] = m.group(1)
    return out

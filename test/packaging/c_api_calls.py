"""c_api_calls - which Kubernetes API verbs the C code uses, read from src/**/*.c.

Finds every call of the REST verbs (kube_get, kube_list, kube_create, kube_update, kube_patch,
kube_delete) and of the helpers that stand for verbs (kube_update_retry: get + update,
kube_watch: watch, kube_informer_new: list + watch), and works out which resource each call is
on. The resource argument is either a KUBE_RES_* constant, or a variable that is
  - a parameter of the enclosing function: resolved at every call site of that function, or
  - assigned from a function call (`res = kind_resource(k)`): every KUBE_RES_* that function
    returns, or
  - assigned from a KUBE_RES_* constant.
The subresource argument is resolved the same way (a string literal, NULL, or a parameter).
Calls inside src/kube/ on a resource that is not a KUBE_RES_* constant (the client's generic
implementation of informers and helpers, e.g. kube_list(c, inf->res, ...)) are not uses; the
calls of those helpers (kube_informer_new, ...) are.

    uses, problems = api_uses(root)   # uses: {(group, "res[/sub]", verb): ["file:line", ...]}
Problems are calls whose resource could not be resolved, and raw kube_request() calls on
resource paths: the RBAC test fails on them, since it cannot check what it cannot see.
"""
import collections
import pathlib
import re

# call name -> (index of the resource argument, index of the subresource argument or None,
#               [(verb, applies to subresource?)])
VERBS = {
    "kube_get": (1, 4, [("get", True)]),
    "kube_list": (1, None, [("list", False)]),
    "kube_create": (1, 4, [("create", True)]),
    "kube_update": (1, 4, [("update", True)]),
    "kube_patch": (1, 6, [("patch", True)]),
    "kube_delete": (1, None, [("delete", False)]),
    "kube_update_retry": (1, 4, [("get", False), ("update", True)]),
    "kube_watch": (1, None, [("watch", False)]),
    "kube_informer_new": (1, None, [("list", False), ("watch", False)]),
}
IMPLEMENTATION_DIR = "src/kube/"
RAW_OK_PATHS = {"/version", "/api", "/apis", "/healthz", "/readyz", "/livez"}

_FUNC_RE = re.compile(r"^(?:[A-Za-z_][\w \t\*]*?[\s\*])?([A-Za-z_]\w*)\s*\(([^;{]*?)\)\s*\{", re.M | re.S)


def _strip_comments(text):
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def _split_args(s):
    """Split a C argument list at top-level commas."""
    args, depth, cur, in_str = [], 0, [], None
    i = 0
    while i < len(s):
        ch = s[i]
        if in_str:
            cur.append(ch)
            if ch == "\\" and i + 1 < len(s):
                cur.append(s[i + 1])
                i += 1
            elif ch == in_str:
                in_str = None
        elif ch in "\"'":
            in_str = ch
            cur.append(ch)
        elif ch in "([{":
            depth += 1
            cur.append(ch)
        elif ch in ")]}":
            depth -= 1
            cur.append(ch)
        elif ch == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if "".join(cur).strip():
        args.append("".join(cur).strip())
    return args


def _call_args(text, open_paren):
    """The argument string of a call whose '(' is at open_paren."""
    depth, i, in_str = 0, open_paren, None
    while i < len(text):
        ch = text[i]
        if in_str:
            if ch == "\\":
                i += 1
            elif ch == in_str:
                in_str = None
        elif ch in "\"'":
            in_str = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return text[open_paren + 1:i]
        i += 1
    return text[open_paren + 1:]


def _split_ternary(expr):
    """(A, B) of a top-level `cond ? A : B`, else None."""
    masked = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: "_" * len(m.group(0)), expr)
    depth, q = 0, None
    for i, ch in enumerate(masked):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "?" and depth == 0 and q is None:
            q = i
        elif ch == ":" and depth == 0 and q is not None:
            return expr[q + 1:i].strip(), expr[i + 1:].strip()
    return None


class Function:
    def __init__(self, file, name, params, body, start, exported):
        self.file, self.name, self.params, self.body, self.start = file, name, params, body, start
        self.exported = exported


def _functions(file, text):
    out = []
    for m in _FUNC_RE.finditer(text):
        name = m.group(1)
        if name in ("if", "for", "while", "switch", "return", "sizeof"):
            continue
        # find the matching closing brace of the body
        depth, i = 0, m.end() - 1
        while i < len(text):
            if text[i] == "{":
                depth += 1
            elif text[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        params = [re.findall(r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*$", p)[0] if re.findall(
            r"([A-Za-z_]\w*)\s*(?:\[[^\]]*\])?\s*$", p) else "" for p in _split_args(m.group(2))]
        head = text[m.start():m.start(1)]
        out.append(Function(file, name, params, text[m.end():i], m.end(),
                            exported="static" not in head.split()))
    return out


class Analyzer:
    def __init__(self, root):
        self.root = pathlib.Path(root)
        self.texts = {}
        self.funcs = collections.defaultdict(list)  # name -> [Function]
        for p in sorted((self.root / "src").rglob("*.c")):
            rel = str(p.relative_to(self.root))
            text = _strip_comments(p.read_text())
            self.texts[rel] = text
            for f in _functions(rel, text):
                self.funcs[f.name].append(f)
        self.problems = []

    def _lookup(self, name, file):
        fs = self.funcs.get(name, [])
        local = [f for f in fs if f.file == file]
        return local or [f for f in fs if f.exported]

    def _callers(self, func):
        """(Function, args) of every call of func in src/."""
        out = []
        pat = re.compile(r"\b%s\s*\(" % re.escape(func.name))
        for fs in self.funcs.values():
            for f in fs:
                if func.exported is False and f.file != func.file:
                    continue
                for m in pat.finditer(f.body):
                    out.append((f, _split_args(_call_args(f.body, m.end() - 1))))
        return out

    def resolve(self, expr, func, depth=0):
        """The set of values an argument expression can take: ("res", CONST), ("str", s) or
        ("null",). Empty set when unresolvable."""
        expr = expr.strip()
        while expr.startswith("(") and expr.endswith(")") and depth < 50:
            expr = expr[1:-1].strip()
        if depth > 8:
            return set()
        m = re.fullmatch(r"&?\s*(KUBE_RES_\w+|kube_res_\w+)", expr)
        if m:
            return {("res", m.group(1).upper())}
        if expr == "NULL":
            return {("null",)}
        m = re.fullmatch(r'"((?:[^"\\]|\\.)*)"', expr)
        if m:
            return {("str", m.group(1))}
        tern = _split_ternary(expr)
        if tern:  # cond ? A : B
            return self.resolve(tern[0], func, depth + 1) | self.resolve(tern[1], func, depth + 1)
        call = re.fullmatch(r"([A-Za-z_]\w*)\s*\((.*)\)", expr, re.S)
        if call:  # a helper returning constants, e.g. kind_resource(k)
            vals = set()
            for g in self._lookup(call.group(1), func.file):
                vals |= {("res", c.upper()) for c in re.findall(r"\b(KUBE_RES_\w+)", g.body)}
            return vals
        if not re.fullmatch(r"[A-Za-z_]\w*", expr):
            return set()
        if expr in func.params:
            idx = func.params.index(expr)
            vals = set()
            for caller, args in self._callers(func):
                if idx < len(args):
                    got = self.resolve(args[idx], caller, depth + 1)
                    if not got:
                        self.problems.append("%s: %s(): cannot tell what %r passes as %s" % (
                            caller.file, caller.name, args[idx], expr))
                    vals |= got
            return vals
        vals = set()
        for m in re.finditer(r"\b%s\s*=\s*([^;=][^;]*);" % re.escape(expr), func.body):
            vals |= self.resolve(m.group(1), func, depth + 1)
        return vals

    def uses(self):
        found = collections.defaultdict(list)
        consts = self._constants()
        for fs in list(self.funcs.values()):
            for f in fs:
                self._scan_function(f, consts, found)
        return dict(found)

    def _scan_function(self, f, consts, found):
        for name, (ri, si, verbs) in VERBS.items():
            for m in re.finditer(r"\b%s\s*\(" % name, f.body):
                args = _split_args(_call_args(f.body, m.end() - 1))
                line = self.texts[f.file][:f.start].count("\n") + f.body[:m.start()].count("\n") + 1
                where = "%s:%d" % (f.file, line)
                if ri >= len(args):
                    continue
                res_expr = args[ri]
                if f.file.startswith(IMPLEMENTATION_DIR) and not re.search(r"KUBE_RES_\w+", res_expr):
                    continue  # the client's generic implementation (informer, retry helpers)
                res_vals = {v[1] for v in self.resolve(res_expr, f) if v[0] == "res"}
                if not res_vals:
                    self.problems.append("%s: %s(): cannot tell the resource of %r" % (where, name, res_expr))
                    continue
                subs = {None}
                if si is not None and si < len(args):
                    sv = self.resolve(args[si], f)
                    if not sv:
                        self.problems.append("%s: %s(): cannot tell the subresource %r" % (where, name, args[si]))
                    subs = {v[1] if v[0] == "str" else None for v in sv} or {None}
                for const in res_vals:
                    if const not in consts:
                        self.problems.append("%s: unknown resource constant %s" % (where, const))
                        continue
                    group, resource = consts[const]
                    for verb, on_sub in verbs:
                        for sub in (subs if on_sub else {None}):
                            found[(group, resource + ("/" + sub if sub else ""), verb)].append(where)
        for m in re.finditer(r"\bkube_request\s*\(", f.body):
            args = _split_args(_call_args(f.body, m.end() - 1))
            if f.file.startswith(IMPLEMENTATION_DIR) and f.exported:
                continue
            path = args[2] if len(args) > 2 else ""
            lit = re.fullmatch(r'"([^"]*)"', path.strip())
            if not lit or lit.group(1) not in RAW_OK_PATHS:
                self.problems.append("%s: kube_request(%s): raw request the RBAC test cannot check"
                                     % (f.file, path))

    def _constants(self):
        """KUBE_RES_X -> (group, resource), from src/kube/resources.c and resources.h."""
        text = self.texts.get("src/kube/resources.c", "")
        defs = {}
        for m in re.finditer(r"kube_resource\s+(kube_res_\w+)\s*=\s*\{([^}]*)\}", text):
            strs = re.findall(r'"([^"]*)"', m.group(2))
            defs[m.group(1)] = (strs[0], strs[2])
        header = (self.root / "include/istrigger/kube/resources.h").read_text()
        consts = {}
        for m in re.finditer(r"#define\s+(KUBE_RES_\w+)\s+\(&(kube_res_\w+)\)", header):
            if m.group(2) in defs:
                consts[m.group(1)] = defs[m.group(2)]
        for var, val in defs.items():
            consts[var.upper()] = val
        return consts


def api_uses(root):
    a = Analyzer(root)
    uses = a.uses()
    return uses, a.problems

#!/usr/bin/env python3
"""The import graph of a crate's modules: loops between files, folders that import each other,
and the largest files.

    python3 ci/import_graph.py harness/src [workloads/src ...]

Reads every `.rs` file, maps each `crate::…`, `super::…` and `self::…` path it names (in `use`
items and in code) to the module file it lands in, and prints:
  - file loops: strongly connected groups of files (a imports b, b imports a, directly or
    through others), child modules importing their parent's `mod.rs` excepted: a parent that
    declares a child and uses its items is one unit;
  - folder loops: pairs of top-level modules (`store`, `summary`, …) that import each other;
  - the ten largest files by lines.
Exits 0 always: a report, not a gate. Text parsing, not rustc's resolver, so it can miss
paths built by macros; it does not invent edges.
"""

import os
import re
import sys
from collections import defaultdict

PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
USE_GROUP = re.compile(r"\buse\s+(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*)\};", re.S)


def module_of(root, file):
    """The module path of `file` (a list of names) under `root`."""
    rel = os.path.relpath(file, root)[: -len(".rs")].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return rel


def resolve(modules, base, names):
    """The longest prefix of base + names that is a module file."""
    path = base + names
    for n in range(len(path), 0, -1):
        if tuple(path[:n]) in modules:
            return tuple(path[:n])
    return None


def edges_of(root, file, modules, text):
    me = module_of(root, file)
    found = set()

    def add(kind, names):
        if kind == "crate":
            base = []
        elif kind == "self":
            base = me
        else:  # super: the parent of this module
            base = me[:-1]
            # `super::super::x`
            while names and names[0] == "super":
                base = base[:-1]
                names = names[1:]
        target = resolve(modules, list(base), names)
        if target is not None and target != tuple(me):
            found.add(target)

    code = re.sub(r"//[^\n]*", "", text)
    for m in USE_GROUP.finditer(code):
        kind, prefix, group = m.group(1), m.group(2), m.group(3)
        prefix_names = [p for p in prefix.split("::") if p]
        for item in re.split(r",", re.sub(r"\{[^}]*\}", "", group)):
            item = item.strip().split(" as ")[0].strip()
            names = [p for p in item.split("::") if p and p != "self"]
            add(kind, prefix_names + names)
    for m in PATH.finditer(code):
        add(m.group(1), [p for p in m.group(2).split("::") if p])
    return found


def strongly_connected(graph):
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                out.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def report(root):
    files = []
    for folder, _, names in os.walk(root):
        files += [os.path.join(folder, n) for n in names if n.endswith(".rs")]
    modules = {tuple(module_of(root, f)): f for f in files}
    graph = defaultdict(set)
    for module, file in modules.items():
        with open(file, encoding="utf-8") as f:
            text = f.read()
        for target in edges_of(root, file, modules, text):
            # A module using its own descendants, or a child its parent: one unit.
            if target[: len(module)] == module or module[: len(target)] == target:
                continue
            graph[module].add(target)
    print(f"# {root}: {len(modules)} files")
    loops = strongly_connected(graph)
    print(f"file loops: {len(loops)}")
    for group in loops:
        print("  " + " <-> ".join("::".join(m) or "crate" for m in group))
    top = defaultdict(set)
    for a, targets in graph.items():
        for b in targets:
            if a and b and a[0] != b[0]:
                top[a[0]].add(b[0])
    pairs = sorted({tuple(sorted((a, b))) for a in top for b in top[a] if a in top.get(b, ())})
    print(f"folder loops (top-level modules importing each other): {len(pairs)}")
    for a, b in pairs:
        print(f"  {a} <-> {b}")
    sizes = sorted(((sum(1 for _ in open(f, encoding="utf-8")), f) for f in files), reverse=True)
    print("largest files:")
    for lines, f in sizes[:10]:
        print(f"  {lines:5} {os.path.relpath(f, root)}")


if __name__ == "__main__":
    for root in sys.argv[1:] or ["harness/src", "workloads/src"]:
        report(root)

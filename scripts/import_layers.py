"""The layers of tl_keras and the imports between them (DESIGN.md, principle 15).

Each part (a subpackage or a top-level module) sits on one layer; an import may
only point down (or within its own layer). Prints every arrow that runs back up
and every cycle between files; exits 1 when there is either, beyond the ones
ALLOWED_UP names with their reasons. An import inside a function counts too.

    python scripts/import_layers.py [--graph]
"""

import argparse
import ast
import os
import sys

# From the top. A part not named here fails the check (so a new part is placed).
LAYERS = [
    ("__init__", "cli", "demo", "plots", "__main__"),
    ("library",),
    ("training", "evaluation", "selection", "adaptation", "unlabelled", "monitoring"),
    ("export",),
    ("bases", "models"),
    ("layers",),
    ("data",),
    ("io", "compat", "errors", "log", "version"),
]
# Arrows allowed to run back up, each with its reason (the README's layout names them).
ALLOWED_UP = {}
# Within the bases-and-models layer, models may import bases but not the reverse.
WITHIN = {("bases", "models")}

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(os.path.dirname(HERE), "tl_keras")


def _modules():
    out = {}
    for root, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(root, name)
                rel = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].replace(os.sep, ".")
                out[rel[: -len(".__init__")] if rel.endswith(".__init__") else rel] = path
    return out


def _imports(name, path, known):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    here = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")[: len(here.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                       for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def part_of(module):
    rest = module.split(".", 1)[1] if "." in module else ""
    return rest.split(".")[0] if rest else "__init__"


def layer_of(part):
    for level, parts in enumerate(LAYERS):
        if part in parts:
            return level
    return None


def check():
    """Returns (arrows_up, unplaced_parts, file_cycles, part_arrows)."""
    modules = _modules()
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    arrows, up, unplaced = set(), [], set()
    for source, targets in graph.items():
        for target in targets:
            a, b = part_of(source), part_of(target)
            if a == b:
                continue
            arrows.add((a, b))
            la, lb = layer_of(a), layer_of(b)
            if la is None or lb is None:
                unplaced.update(p for p, lv in ((a, la), (b, lb)) if lv is None)
                continue
            runs_up = lb < la or (a, b) in WITHIN
            if runs_up and (a, b) not in ALLOWED_UP:
                up.append(f"{source} -> {target}")
    return sorted(up), sorted(unplaced), _cycles(graph), sorted(arrows)


def _cycles(graph):
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

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
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--graph", action="store_true", help="also print every part arrow")
    args = parser.parse_args()
    up, unplaced, cycles, arrows = check()
    if args.graph:
        for a, b in arrows:
            print(f"{a} -> {b}")
    for line in up:
        print(f"runs up: {line}")
    for part in unplaced:
        print(f"not placed on a layer: {part}")
    for cycle in cycles:
        print(f"cycle between files: {', '.join(cycle)}")
    print(f"{len(arrows)} arrows between parts, {len(up)} running up, "
          f"{len(cycles)} cycles between files, {len(unplaced)} parts not placed")
    return 1 if up or unplaced or cycles else 0


if __name__ == "__main__":
    sys.exit(main())

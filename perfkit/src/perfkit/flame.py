"""Call trees from cProfile statistics: the icicle chart's boxes and a speedscope export.

cProfile keeps, per function, its callers and the time spent below each caller edge — not whole stacks.
The tree is rebuilt from the roots down: a function's children are its callees, each given the cumulative
time of that caller -> callee edge, scaled so the children never exceed the parent (recursion is cut where a
function reappears on its own path). That is how snakeviz and tuna draw pstats; exact stacks need a
sampling profiler (`perfkit pyspy`).

Wrapper frames (click's command dispatch, perfkit's CLI plumbing, runpy, cProfile itself) are dropped from
the tree and from the top-functions table: their callees take their place, so the chart starts at the
pipeline's own code.
"""

from __future__ import annotations

import json
import os
import pstats
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Node", "call_tree", "icicle_boxes", "is_wrapper", "label", "speedscope"]

Func = tuple[str, int, str]  # (file, line, function) as pstats keys them

_WRAPPER_DIRS = (f"{os.sep}click{os.sep}", f"{os.sep}runpy.py", f"{os.sep}cProfile.py", f"{os.sep}profile.py")
_WRAPPER_FILES = (
    "perfkit/cli.py",
    "perfkit/clitools.py",
    "perfkit/profiling.py",
    "perfkit/launch.py",
    "_entry.py",
)


def is_wrapper(func: Func) -> bool:
    """True for frames that only dispatch: click, runpy, cProfile, perfkit's CLI plumbing, entry shims."""
    file, _line, name = func
    path = file.replace("\\", "/")
    if file == "~":  # built-ins such as <method 'enable' of '_lsprof.Profiler' objects>
        return "_lsprof" in name
    if path in ("<frozen runpy>", "<string>"):  # runpy is frozen in 3.11+; <string>: `python -c` shims
        return True
    return any(d.replace(os.sep, "/") in path for d in _WRAPPER_DIRS) or path.endswith(_WRAPPER_FILES)


def label(func: Func) -> str:
    """`module.py:line function` (built-ins as cProfile names them)."""
    file, line, name = func
    if file == "~":
        return name
    return f"{os.path.basename(file)}:{line} {name}"


@dataclass
class Node:
    func: Func
    seconds: float
    children: list[Node] = field(default_factory=list)


def call_tree(stats: pstats.Stats, *, min_fraction: float = 0.005, max_depth: int = 40) -> Node:
    """The call tree under a synthetic root, wrapper frames collapsed, boxes under `min_fraction` of the
    total dropped (they would be invisible)."""
    raw: dict[Func, Any] = stats.stats  # type: ignore[attr-defined]
    callees: dict[Func, dict[Func, float]] = {}
    for func, (_cc, _nc, _tt, _ct, callers) in raw.items():
        for caller, edge in callers.items():
            callees.setdefault(caller, {})[func] = edge[3]  # cumulative time below this edge
    roots = [f for f, v in raw.items() if not v[4]]
    total = sum(raw[f][3] for f in roots) or max((v[3] for v in raw.values()), default=0.0)
    floor = total * min_fraction

    def expand(func: Func, seconds: float, path: frozenset, depth: int) -> list[Node]:
        kids = callees.get(func, {})
        budget = sum(kids.values())
        scale = min(1.0, seconds / budget) if budget > 0 else 0.0
        out: list[Node] = []
        for child, t in sorted(kids.items(), key=lambda kv: -kv[1]):
            t *= scale
            if t < floor or child in path or depth >= max_depth:
                continue
            grand = expand(child, t, path | {child}, depth + 1)
            if is_wrapper(child):
                out.extend(grand)  # the callee takes the wrapper's place
            else:
                out.append(Node(child, t, grand))
        return out

    root = Node(("", 0, "all"), total)
    for func in sorted(roots, key=lambda f: -raw[f][3]):
        t = raw[func][3]
        if t < floor:
            continue
        kids = expand(func, t, frozenset({func}), 1)
        root.children.extend(kids if is_wrapper(func) else [Node(func, t, kids)])
    return root


def icicle_boxes(root: Node) -> list[tuple[int, float, float, str]]:
    """(depth, start, width, label) per node below the root, children laid out left to right."""
    boxes: list[tuple[int, float, float, str]] = []

    def walk(node: Node, depth: int, start: float) -> None:
        x = start
        for child in node.children:
            boxes.append((depth, x, child.seconds, label(child.func)))
            walk(child, depth + 1, x)
            x += child.seconds

    walk(root, 0, 0.0)
    return boxes


def speedscope(root: Node, name: str) -> dict[str, Any]:
    """The tree as a speedscope "evented" profile (open at https://www.speedscope.app): each node opens at
    its start and closes after its time, in seconds."""
    frames: list[dict[str, Any]] = []
    index: dict[Func, int] = {}
    events: list[dict[str, Any]] = []

    def frame(func: Func) -> int:
        if func not in index:
            index[func] = len(frames)
            file, line, fname = func
            frames.append({"name": fname, "file": file, "line": line} if file != "~" else {"name": fname})
        return index[func]

    def add(kind: str, f: int, at: float) -> None:
        # Sums of float seconds can step back by an ulp (a child's total rounds past its parent's);
        # speedscope needs the event times in order.
        events.append({"type": kind, "frame": f, "at": max(at, events[-1]["at"]) if events else at})

    def walk(node: Node, start: float) -> None:
        x = start
        for child in node.children:
            f = frame(child.func)
            add("O", f, x)
            walk(child, x)
            add("C", f, x + child.seconds)
            x += child.seconds

    walk(root, 0.0)
    return {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": [
            {
                "type": "evented",
                "name": name,
                "unit": "seconds",
                "startValue": 0.0,
                "endValue": root.seconds,
                "events": events,
            }
        ],
        "name": name,
        "exporter": "perfkit",
    }


def write_speedscope(stats: pstats.Stats, path: str | os.PathLike, name: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(speedscope(call_tree(stats, min_fraction=0.001), name), fh)

"""Sentence templates, hassil-style: one line yields many example sentences.

File format (UTF-8 text, one template per line):

    # a comment
    @subject = water the plants | call mom | take my pills     (slot values, extend)
    [reminder.create]                                        (intent header)
    (remind | tell) me [please] to {subject} [at {time}]

- `(a | b)` is an alternative, `[a | b]` an optional alternative, `{slot}` is filled from
  the `@slot` value list (defaults in assistant/nlu/data/values.txt). Nesting is allowed.
- A template expands to every combination when there are few, else to a fixed-seed random
  sample, so big slot lists do not explode the training set.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_VALUES = Path(__file__).parent / "data" / "values.txt"
_HEADER = re.compile(r"^\[([a-z_]+(?:\.[a-z_]+)?)\]$")
_VALUES = re.compile(r"^@([a-z_]+)\s*=\s*(.*)$")


class TemplateError(ValueError):
    """A sentence file is malformed; the message names file and line."""


@dataclass
class Template:
    intent: str
    text: str
    source: str  # "file:line", to split held-out data by template, not by sentence


@dataclass
class SentenceSet:
    templates: list[Template] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)


# -- parsing ------------------------------------------------------------------------------
Node = list  # a sequence of items; an item is str | ("alt", [Node...], optional) | ("slot", name)


def _parse(text: str, where: str) -> Node:
    pos = 0

    def seq(stop: str) -> tuple[list[Node], int]:
        nonlocal pos
        alts: list[Node] = [[]]
        buf = ""
        while pos < len(text):
            c = text[pos]
            if c in "([{":
                if buf:
                    alts[-1].append(buf)
                    buf = ""
                pos += 1
                if c == "{":
                    end = text.find("}", pos)
                    if end < 0:
                        raise TemplateError(f"{where}: unclosed '{{'")
                    alts[-1].append(("slot", text[pos:end].strip()))
                    pos = end + 1
                else:
                    inner, _ = seq(")" if c == "(" else "]")
                    alts[-1].append(("alt", inner, c == "["))
                continue
            if c in ")]":
                if c != stop:
                    raise TemplateError(f"{where}: unexpected {c!r}")
                pos += 1
                if buf:
                    alts[-1].append(buf)
                return alts, pos
            if c == "|":
                if not stop:
                    raise TemplateError(f"{where}: '|' outside (...) or [...]")
                if buf:
                    alts[-1].append(buf)
                    buf = ""
                alts.append([])
                pos += 1
                continue
            buf += c
            pos += 1
        if stop:
            raise TemplateError(f"{where}: unclosed {'(' if stop == ')' else '['}")
        if buf:
            alts[-1].append(buf)
        return alts, pos

    alts, _ = seq("")
    return alts[0]


def _count(node: Node, values: dict[str, list[str]]) -> int:
    total = 1
    for item in node:
        if isinstance(item, str):
            continue
        if item[0] == "slot":
            total *= max(1, len(values.get(item[1], [])))
        else:
            n = sum(_count(alt, values) for alt in item[1]) + (1 if item[2] else 0)
            total *= n
    return total


def _enumerate(node: Node, values: dict[str, list[str]]) -> list[str]:
    outs = [""]
    for item in node:
        if isinstance(item, str):
            opts = [item]
        elif item[0] == "slot":
            opts = [" " + v + " " for v in values[item[1]]]
        else:
            opts = [s for alt in item[1] for s in _enumerate(alt, values)]
            if item[2]:
                opts.append("")
        outs = [o + x for o in outs for x in opts]
    return outs


def _sample(node: Node, values: dict[str, list[str]], rng: random.Random) -> str:
    out = []
    for item in node:
        if isinstance(item, str):
            out.append(item)
        elif item[0] == "slot":
            out.append(" " + rng.choice(values[item[1]]) + " ")
        else:
            alts = item[1]
            if item[2] and rng.random() < 1 / (len(alts) + 1):
                continue
            out.append(_sample(rng.choice(alts), values, rng))
    return "".join(out)


def _clean(s: str) -> str:
    return " ".join(s.split())


def expand(text: str, values: dict[str, list[str]], limit: int = 40, seed: int = 0,
           where: str = "<template>") -> list[str]:
    """All sentences of one template, or `limit` distinct random ones when there are more."""
    node = _parse(text, where)
    _check_slots(node, values, where)
    if _count(node, values) <= limit:
        return list(dict.fromkeys(c for c in map(_clean, _enumerate(node, values)) if c))
    rng = random.Random(f"{seed}:{text}")
    seen: dict[str, None] = {}
    for _ in range(limit * 8):
        s = _clean(_sample(node, values, rng))
        if s:
            seen.setdefault(s)
        if len(seen) >= limit:
            break
    return list(seen)


def _check_slots(node: Node, values: dict[str, list[str]], where: str) -> None:
    for item in node:
        if isinstance(item, str):
            continue
        if item[0] == "slot":
            if not values.get(item[1]):
                raise TemplateError(f"{where}: slot {{{item[1]}}} has no @{item[1]} values")
        else:
            for alt in item[1]:
                _check_slots(alt, values, where)


def read_files(paths: list[Path], values_file: Path | None = DEFAULT_VALUES) -> SentenceSet:
    """Parse sentence files (and the default slot values) into one SentenceSet."""
    out = SentenceSet()
    for path in ([values_file] if values_file else []) + list(paths):
        path = Path(path)
        intent = None
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise TemplateError(f"{path}: cannot read sentence file: {exc}") from None
        for no, raw in enumerate(lines, 1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            where = f"{path.name}:{no}"
            if m := _VALUES.match(line):
                vals = [_clean(v) for v in m.group(2).split("|") if _clean(v)]
                out.values.setdefault(m.group(1), [])
                out.values[m.group(1)].extend(v for v in vals if v not in out.values[m.group(1)])
                continue
            if m := _HEADER.match(line):
                intent = m.group(1)
                continue
            if intent is None:
                raise TemplateError(f"{where}: template before any [intent] header")
            out.templates.append(Template(intent, line, where))
    return out


def expand_set(sset: SentenceSet, limit: int = 40, seed: int = 0) -> list[tuple[str, str, str]]:
    """(sentence, intent, template source) for every template, lowercased, deduplicated."""
    rows: dict[str, tuple[str, str, str]] = {}
    for t in sset.templates:
        for s in expand(t.text, sset.values, limit, seed, t.source):
            s = s.lower()
            rows.setdefault(s + "\0" + t.intent, (s, t.intent, t.source))
    return list(rows.values())


__all__ = [
    "DEFAULT_VALUES",
    "SentenceSet",
    "Template",
    "TemplateError",
    "expand",
    "expand_set",
    "read_files",
]

"""Example sentences in Home Assistant's sentence-template format, expanded with hassil.

A skill's sentences are a YAML file in the format of Home Assistant's intents repository
(what HA users already write, and what HA's tooling reads):

    language: en
    intents:
      reminder.create:
        data:
          - sentences:
              - "(remind | tell) me [please] to {subject} [at {time}]"
    lists:
      subject:
        values: [water the plants, call mom]

`(a | b)` is an alternative, `[a]` optional, `{name}` a list, `<name>` an expansion rule,
`(a; b)` a permutation. hassil parses the templates; this module turns each into training
sentences: every combination when there are few, else a fixed-seed random sample, so big
lists do not explode the training set. Lists are shared: the defaults in
`assistant/nlu/data/lists.yaml`, extended by each file in load order.
"""

from __future__ import annotations

import itertools
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hassil import Intents, parse_sentence
from hassil.expression import (
    Alternative,
    Expression,
    ListReference,
    Permutation,
    RuleReference,
    Sequence,
    TextChunk,
)
from hassil.parser import ParseError

from assistant.errors import AssistantError

DEFAULT_LISTS = Path(__file__).parent / "data" / "lists.yaml"
OOS_SENTENCES = Path(__file__).parent / "data" / "out_of_scope.yaml"


class TemplateError(AssistantError, ValueError):
    """A sentence file or template is malformed; the message names file and template."""


@dataclass
class Template:
    intent: str
    text: str
    source: str  # "file:intent:n", to split held-out data by template, not by sentence


@dataclass
class SentenceSet:
    templates: list[Template] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)
    rules: dict[str, str] = field(default_factory=dict)


# -- one template ---------------------------------------------------------------------------
# The walk below reads hassil's tree as: a sequence of items; an item is text, a list slot, or
# a choice among alternatives (optional when `[...]`). A group `(x)` with no `|` is a choice of
# one, as it was in the expander this replaced, so the sampled sentences stay the same.
Item = Any  # str | ("slot", name) | ("alt", [items...], optional)


def _items(expr: Expression, rules: dict[str, str], where: str, depth: int = 0) -> list[Item]:
    if depth > 20:
        raise TemplateError(f"{where}: expansion rules nest too deep (a rule refers to itself?)")
    if isinstance(expr, TextChunk):
        return [expr.original_text] if expr.original_text else []
    if isinstance(expr, ListReference):
        return [("slot", expr.list_name)]
    if isinstance(expr, RuleReference):
        if expr.rule_name not in rules:
            raise TemplateError(f"{where}: rule <{expr.rule_name}> is not defined")
        return [("alt", [_parse(rules[expr.rule_name], rules, where, depth + 1)], False)]
    if isinstance(expr, Alternative):
        branches = list(expr.items)
        optional = bool(expr.is_optional)
        if optional and branches and isinstance(branches[-1], TextChunk) and not branches[-1].text:
            branches = branches[:-1]
        return [("alt", [_seq(b, rules, where, depth) for b in branches], optional)]
    if isinstance(expr, Permutation):
        parts = [_seq(b, rules, where, depth) for b in expr.items]
        orders = [
            [x for part in perm for x in part + [" "]] for perm in itertools.permutations(parts)
        ]
        return [("alt", orders, False)]
    if isinstance(expr, Sequence):  # a (group) inside a sequence: a choice of one
        return [("alt", [_seq(expr, rules, where, depth)], False)]
    raise TemplateError(f"{where}: unsupported template part {type(expr).__name__}")


def _seq(expr: Expression, rules: dict[str, str], where: str, depth: int) -> list[Item]:
    if isinstance(expr, Sequence) and not isinstance(expr, (Alternative, Permutation)):
        return [x for e in expr.items for x in _items(e, rules, where, depth)]
    return _items(expr, rules, where, depth)


def _wrapped(text: str) -> bool:
    """True when the whole template is one `( ... )` group (hassil unpacks that)."""
    text = text.strip()
    if not (text.startswith("(") and text.endswith(")")):
        return False
    level = 0
    for i, c in enumerate(text):
        level += c == "("
        level -= c == ")"
        if level == 0 and i < len(text) - 1:
            return False
    return True


def _parse(text: str, rules: dict[str, str], where: str, depth: int = 0) -> list[Item]:
    try:
        expr = parse_sentence(text).expression
    except (ParseError, IndexError, ValueError) as exc:
        raise TemplateError(f"{where}: cannot parse template {text!r}: {exc}") from None
    if (
        isinstance(expr, Sequence)
        and not isinstance(expr, (Alternative, Permutation))
        and not _wrapped(text)
    ):
        return _seq(expr, rules, where, depth)
    return _items(expr, rules, where, depth)


def _count(node: list[Item], values: dict[str, list[str]]) -> int:
    total = 1
    for item in node:
        if isinstance(item, str):
            continue
        if item[0] == "slot":
            total *= max(1, len(values.get(item[1], [])))
        else:
            total *= sum(_count(alt, values) for alt in item[1]) + (1 if item[2] else 0)
    return total


def _enumerate(node: list[Item], values: dict[str, list[str]]) -> list[str]:
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


def _sample(node: list[Item], values: dict[str, list[str]], rng: random.Random) -> str:
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


def _check_slots(node: list[Item], values: dict[str, list[str]], where: str) -> None:
    for item in node:
        if isinstance(item, str):
            continue
        if item[0] == "slot":
            if not values.get(item[1]):
                raise TemplateError(
                    f"{where}: list {{{item[1]}}} has no values (add it under "
                    "`lists:` in the sentence file)"
                )
        else:
            for alt in item[1]:
                _check_slots(alt, values, where)


def _clean(s: str) -> str:
    return " ".join(s.split())


def expand(
    text: str,
    values: dict[str, list[str]],
    limit: int = 40,
    seed: int = 0,
    where: str = "<template>",
    rules: dict[str, str] | None = None,
) -> list[str]:
    """All sentences of one template, or `limit` distinct random ones when there are more."""
    node = _parse(text, rules or {}, where)
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


# -- files ----------------------------------------------------------------------------------
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)?$")


def load_file(path: Path) -> dict[str, Any]:
    """One sentence file, checked: YAML, HA's shape, hassil can read it."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TemplateError(f"{path}: cannot read sentence file: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise TemplateError(f"{where}: not valid YAML: {problem}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("intents", {}), dict)
        or not isinstance(data.get("lists", {}), dict)
    ):
        raise TemplateError(
            f"{path}: expected a mapping with `language`, `intents` and "
            "optionally `lists` (Home Assistant's sentence format)"
        )
    data.setdefault("language", "en")
    data.setdefault("intents", {})
    try:  # HA's own reader must accept the file too
        Intents.from_dict(data)
    except Exception as exc:
        raise TemplateError(
            f"{path}: not in Home Assistant's sentence format: {type(exc).__name__}: {exc}"
        ) from None
    for intent, body in data["intents"].items():
        if not INTENT_NAME.match(str(intent)):
            raise TemplateError(
                f"{path}: intent name {intent!r} is not <domain>.<action> in "
                "lowercase letters, digits and _"
            )
        for block in body.get("data", []) if isinstance(body, dict) else []:
            if not isinstance(block, dict) or not isinstance(block.get("sentences"), list):
                raise TemplateError(
                    f"{path}: intent {intent}: each data entry needs a `sentences` list"
                )
    return data


def list_values(data: dict[str, Any], path: Path) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, body in (data.get("lists") or {}).items():
        vals = body.get("values") if isinstance(body, dict) else None
        if not isinstance(vals, list):
            raise TemplateError(f"{path}: list {name!r} needs `values:` (a list of strings)")
        texts = []
        for v in vals:
            if isinstance(v, dict):  # {"in": "...", "out": ...}: the spoken form is "in"
                v = v.get("in")
            if not isinstance(v, (str, int, float)):
                raise TemplateError(f"{path}: list {name!r} has a value that is not text: {v!r}")
            texts.append(_clean(str(v)))
        out[str(name)] = [t for t in texts if t]
    return out


def read_files(paths: Iterable[Path], lists_file: Path | None = DEFAULT_LISTS) -> SentenceSet:
    """Parse sentence files (and the default lists) into one SentenceSet, in order."""
    out = SentenceSet()
    for path in ([lists_file] if lists_file else []) + [Path(p) for p in paths]:
        data = load_file(path)
        for name, vals in list_values(data, path).items():
            have = out.values.setdefault(name, [])
            have.extend(v for v in vals if v not in have)
        for name, body in (data.get("expansion_rules") or {}).items():
            out.rules[str(name)] = str(body)
        for intent, body in data["intents"].items():
            n = 0
            for block in body.get("data", []):
                for text in block["sentences"]:
                    n += 1
                    out.templates.append(
                        Template(intent, str(text).strip(), f"{path.name}:{intent}:{n}")
                    )
    return out


def intents_of(path: Path) -> list[str]:
    """The intents a sentence file gives sentences for."""
    return [str(i) for i in load_file(path)["intents"]]


def expand_set(sset: SentenceSet, limit: int = 40, seed: int = 0) -> list[tuple[str, str, str]]:
    """(sentence, intent, template source) for every template, lowercased, deduplicated."""
    rows: dict[str, tuple[str, str, str]] = {}
    for t in sset.templates:
        for s in expand(t.text, sset.values, limit, seed, t.source, sset.rules):
            s = s.lower()
            rows.setdefault(s + "\0" + t.intent, (s, t.intent, t.source))
    return list(rows.values())


__all__ = [
    "DEFAULT_LISTS",
    "OOS_SENTENCES",
    "SentenceSet",
    "Template",
    "TemplateError",
    "expand",
    "expand_set",
    "intents_of",
    "load_file",
    "read_files",
]

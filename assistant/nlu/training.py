"""The training sentences: the skill registry's sentence files + out-of-scope negatives.

One place decides which files feed the recognizer, so the exporter (fine-tuning,
calibration), the parser (head fitted at start) and the benches all see the same data.
The files come from the skill registry (built-in, `[skills] paths` and entry-point skills
alike), so a new skill is recognized without a code change elsewhere: its sentences only
re-fit the head (seconds), never the ONNX export.
Held-out splits are by *template line*, never by sentence, so a held-out sentence is
never a near-copy of a training sentence from the same template.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.nlu.sentences import DEFAULT_LISTS, OOS_SENTENCES, expand_set, read_files

if TYPE_CHECKING:
    from assistant.skill import Registry

OOS_FILE = OOS_SENTENCES
OOS = "out_of_scope"
PER_TEMPLATE = 30  # sentences sampled per template line
# Speech front ends leave the wake word in the transcript ("olly set an alarm"), and people
# add politeness; a deterministic ~1 in 8 sentences gets one of these, so no template needs to.
WAKE = ("hey", "ok", "okay", "olly", "hey olly", "alexa", "hey siri", "ok google",
        "hey google", "computer", "assistant", "hey assistant", "um", "so")
SUFFIX = ("please", "thanks", "for me", "please thank you", "now")


def sentence_files(extra: list[Path] | None = None,
                   registry: Registry | None = None) -> list[Path]:
    """The registry's sentence files (default: built-in and entry-point skills), the
    out-of-scope negatives, then any extra files."""
    if registry is None:
        from assistant.skill import load_registry

        registry = load_registry()
    return registry.sentence_files() + [OOS_FILE] + [Path(p) for p in (extra or [])]


def training_rows(extra: list[Path] | None = None, limit: int = PER_TEMPLATE,
                  registry: Registry | None = None) -> list[tuple[str, str, str]]:
    """(sentence, intent, template source) rows, plus wake-word/politeness variants."""
    rows = expand_set(read_files(sentence_files(extra, registry)), limit=limit)
    seen = {r[0] for r in rows}
    out = list(rows)
    for text, intent, source in rows:
        h = hashlib.sha256(text.encode()).digest()
        if h[0] >= 32:  # ~1 in 8
            continue
        if h[1] % 3:
            new = f"{WAKE[h[2] % len(WAKE)]} {text}"
        else:
            new = f"{text} {SUFFIX[h[2] % len(SUFFIX)]}"
        if new not in seen:
            seen.add(new)
            out.append((new, intent, source))
    return out


def is_held_out(source: str, fraction: float = 0.15, salt: str = "holdout-1") -> bool:
    h = hashlib.sha256(f"{salt}:{source}".encode()).digest()
    return h[0] / 256 < fraction


def split_rows(rows: list[tuple[str, str, str]], fraction: float = 0.15
               ) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    train = [r for r in rows if not is_held_out(r[2], fraction)]
    held = [r for r in rows if is_held_out(r[2], fraction)]
    return train, held


def training_digest(extra: list[Path] | None = None, registry: Registry | None = None) -> str:
    h = hashlib.sha256()
    for path in sentence_files(extra, registry) + [DEFAULT_LISTS]:
        h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


__all__ = [
    "OOS",
    "OOS_FILE",
    "is_held_out",
    "sentence_files",
    "split_rows",
    "training_digest",
    "training_rows",
]

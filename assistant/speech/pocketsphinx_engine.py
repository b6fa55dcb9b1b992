"""pocketsphinx with the US-English model inside its PyPI wheel: tiny, fast, fully offline.

Why keep it: 40-110 MB of RAM instead of Whisper's ~250 MB, and with a language model built from
the skills' example sentences it is nearly exact on command words. The shared notes (section 6)
saw a fresh decoder do badly on its first utterance because live cepstral-mean normalisation had
not adapted yet; we always have the whole utterance (VAD cut it), so it is decoded in one
`full_utt=True` call, where the default batch CMN is computed from the utterance itself: right
from the first utterance, no warm-up needed (measured: "set a dinosaur ten minutes" chunked on a
fresh decoder, exact with full_utt).
"""

from __future__ import annotations

import collections
import itertools
import logging
import math
import os
import re
import tempfile

from assistant.config import Config
from assistant.speech.stt import SpeechError, SpeechToText

log = logging.getLogger("assistant.speech")

_DISCOUNT = 0.5


def _words(sentence: str) -> list[str]:
    return re.findall(r"[a-z']+", sentence.lower())


def build_arpa(sentences: list[str], known: set[str] | None = None) -> str:
    """A small bigram ARPA LM (absolute discounting with back-off) from example sentences."""
    uni: collections.Counter[str] = collections.Counter()
    bi: collections.Counter[tuple[str, str]] = collections.Counter()
    for s in sentences:
        ws = [w for w in _words(s) if known is None or w in known]
        if not ws:
            continue
        seq = ["<s>", *ws, "</s>"]
        uni.update(seq[1:])
        uni["<s>"] += 1
        bi.update(itertools.pairwise(seq))
    if not bi:
        raise SpeechError("no usable words in the example sentences for the pocketsphinx LM")
    total = sum(c for w, c in uni.items() if w != "<s>")
    p1 = {w: (c / total if w != "<s>" else 0.0) for w, c in uni.items()}
    after: dict[str, list[tuple[str, int]]] = collections.defaultdict(list)
    for (u, v), c in bi.items():
        after[u].append((v, c))
    backoff: dict[str, float] = {}
    for u, nexts in after.items():
        t = sum(c for _, c in nexts)
        left = _DISCOUNT * len(nexts) / t
        seen_p1 = sum(p1[v] for v, _ in nexts)
        backoff[u] = left / max(1e-9, 1.0 - seen_p1)
    lines = ["\\data\\", f"ngram 1={len(uni)}", f"ngram 2={len(bi)}", "", "\\1-grams:"]
    for w in sorted(uni):
        lp = math.log10(p1[w]) if p1[w] > 0 else -99.0
        bo = f"\t{math.log10(backoff[w]):.4f}" if w in backoff else ""
        lines.append(f"{lp:.4f}\t{w}{bo}")
    lines += ["", "\\2-grams:"]
    for (u, v), c in sorted(bi.items()):
        t = sum(n for _, n in after[u])
        lines.append(f"{math.log10((c - _DISCOUNT) / t):.4f}\t{u} {v}")
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


class PocketSphinxSTT(SpeechToText):
    name = "pocketsphinx"

    def __init__(self, phrases: list[str] | None = None, vad_aggressiveness: int = 1) -> None:
        super().__init__(vad_aggressiveness)
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise SpeechError("engine pocketsphinx is not installed: `pip install pocketsphinx`") from None
        self._lm_file: str | None = None
        kwargs: dict[str, object] = {"samprate": 16000, "loglevel": "FATAL"}
        if phrases:
            probe = Decoder(samprate=16000, loglevel="FATAL")
            known = {w for s in phrases for w in _words(s) if probe.lookup_word(w) is not None}
            del probe
            fd, self._lm_file = tempfile.mkstemp(prefix="assistant-", suffix=".arpa")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(build_arpa(phrases, known))
            kwargs["lm"] = self._lm_file
        try:
            self.decoder = Decoder(**kwargs)
        except Exception as exc:  # noqa: BLE001
            raise SpeechError(f"cannot start pocketsphinx: {exc}") from None
        log.info("speech-to-text: pocketsphinx loaded (%s)",
                 f"LM from {len(phrases)} sentences" if phrases else "general English LM")

    @classmethod
    def from_config(cls, cfg: Config, phrases: list[str] | None = None) -> PocketSphinxSTT:
        return cls(phrases, cfg.speech.vad_aggressiveness)

    def _transcribe(self, pcm: bytes) -> str:
        d = self.decoder
        d.start_utt()
        d.process_raw(pcm, full_utt=True)
        d.end_utt()
        hyp = d.hyp()
        return hyp.hypstr if hyp is not None else ""

    def close(self) -> None:
        if self._lm_file:
            try:
                os.unlink(self._lm_file)
            except OSError:
                pass
            self._lm_file = None

    def __del__(self) -> None:
        self.close()

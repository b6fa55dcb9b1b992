"""Distil a layer-pruned student from the L6 encoder (export time only; needs torch).

The student (bottom `layers` of L6) is trained to reproduce the teacher's mean-pooled,
L2-normalised sentence embeddings (MSE + cosine) on our expanded training sentences,
within a wall-clock budget so an export stays a few minutes on 2 cores.
"""

from __future__ import annotations

import random
import time
from pathlib import Path


def distill(src: Path, out: Path, layers: int, sentences: list[str], seconds: float = 120.0,
            batch: int = 32, lr: float = 5e-5, seed: int = 1) -> dict[str, float]:
    """Train and save the student to `out` (HF format + tokenizer files); return stats."""
    import shutil

    import torch
    from transformers import AutoModel, AutoTokenizer

    torch.manual_seed(seed)
    rng = random.Random(seed)
    tok = AutoTokenizer.from_pretrained(str(src))
    teacher = AutoModel.from_pretrained(str(src)).eval()
    student = AutoModel.from_pretrained(str(src))
    student.encoder.layer = torch.nn.ModuleList(list(student.encoder.layer)[:layers])
    student.config.num_hidden_layers = layers
    student.train()
    opt = torch.optim.AdamW(student.parameters(), lr=lr)

    def pool(model: torch.nn.Module, enc: dict) -> torch.Tensor:
        hidden = model(**enc).last_hidden_state
        m = enc["attention_mask"].unsqueeze(-1).float()
        v = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(v, dim=-1)

    sents = list(sentences)
    rng.shuffle(sents)
    t0, steps, loss_v = time.monotonic(), 0, 0.0
    i = 0
    while time.monotonic() - t0 < seconds:
        chunk = sents[i:i + batch] or sents[:batch]
        i = (i + batch) % max(1, len(sents))
        enc = tok(chunk, padding=True, truncation=True, max_length=64, return_tensors="pt")
        with torch.no_grad():
            target = pool(teacher, enc)
        pred = pool(student, enc)
        loss = ((pred - target) ** 2).sum(-1).mean() + (1 - (pred * target).sum(-1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        steps += 1
        loss_v = float(loss)
    student.eval()
    student.save_pretrained(str(out))
    for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"):
        if (src / name).exists():
            shutil.copy2(src / name, out / name)
    return {"steps": steps, "sentences_seen": steps * batch, "final_loss": loss_v,
            "seconds": time.monotonic() - t0}


__all__ = ["distill"]

"""Distil a small student encoder from all-MiniLM-L6-v2 (export time only; needs torch).

Why: dropping encoder layers makes the model faster, but the remaining layers were
trained to feed the ones removed, so their mean-pooled output no longer means what the
L6 embedding meant (a 3-layer cut loses 3-4 points of out-of-scope recall). The student
(a subset of L6's layers, so it starts close) is trained to reproduce the teacher's
mean-pooled, L2-normalised sentence embeddings on our training sentences plus noisy
variants of them (words dropped, swapped or spliced from another sentence), so it learns
the teacher's geometry around the requests it will see rather than the exact sentences.
Besides the embedding itself the student matches the teacher's *intent probabilities*
(KL divergence to a softmax head fitted on the teacher's embeddings of the same
sentences): a one-layer student cannot copy all of L6's geometry, so it is told which
directions matter for this task. The word-embedding matrix (half of the parameters) is
frozen: it is shared with the teacher, and training it costs most of the time.
A fixed number of steps (not a time budget) keeps the export reproducible.
"""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")


def student_layers(layers: int, total: int = 6) -> list[int]:
    """Which teacher layers seed the student: spread out, always keeping the first.

    For 1 layer the bottom one (it sits on the embeddings the student keeps); for more,
    evenly spaced (0, 3 for 2; 0, 2, 4 for 3), as DistilBERT-style layer selection does."""
    if layers >= total:
        return list(range(total))
    step = total / layers
    return [int(i * step) for i in range(layers)]


def noisy_variants(sentences: Sequence[str], n: int, seed: int = 1) -> list[str]:
    """`n` perturbed copies of random sentences: the student sees the neighbourhood of the
    training data, where real requests (other wordings, STT slips) fall."""
    rng = random.Random(seed)
    out: list[str] = []
    pool = [s.split() for s in sentences if s.strip()]
    while len(out) < n:
        words = list(rng.choice(pool))
        kind = rng.random()
        if kind < 0.35 and len(words) > 2:  # drop a word or two
            for _ in range(rng.randint(1, 2)):
                if len(words) > 2:
                    words.pop(rng.randrange(len(words)))
        elif kind < 0.6 and len(words) > 2:  # swap two neighbours
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
        else:  # splice: the start of one sentence, the end of another
            other = rng.choice(pool)
            words = words[:rng.randint(1, len(words))] + other[rng.randint(0, len(other) - 1):]
        out.append(" ".join(words))
    return out


def distill(src: Path, out: Path, layers: int, rows: Sequence[tuple[str, str]],
            steps: int = 3000, batch: int = 64, lr: float = 3e-4, kl_weight: float = 3.0,
            seed: int = 1, progress: Callable[[str], None] = print) -> dict[str, object]:
    """Train the student on (sentence, intent) rows and save it to `out` (HF format +
    tokenizer files); return stats."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    from assistant.nlu.recognizer import SoftmaxHead

    torch.manual_seed(seed)
    rng = random.Random(seed)
    t0 = time.monotonic()
    tok = AutoTokenizer.from_pretrained(str(src))
    teacher = AutoModel.from_pretrained(str(src)).eval()
    sentences = [r[0] for r in rows]
    texts = list(dict.fromkeys(sentences + noisy_variants(sentences, len(sentences), seed)))
    progress(f"distilling: teacher embeddings of {len(texts)} sentences")
    target = _embed(teacher, tok, texts, torch)
    del teacher
    first = {t: i for i, t in reversed(list(enumerate(texts)))}
    head = SoftmaxHead.fit(target[[first[s] for s in sentences]].numpy(), [r[1] for r in rows])
    W, b = torch.from_numpy(head.W), torch.from_numpy(head.b)
    target_p = torch.softmax(target @ W + b, dim=-1)

    student = AutoModel.from_pretrained(str(src))
    keep = student_layers(layers, len(student.encoder.layer))
    student.encoder.layer = torch.nn.ModuleList([student.encoder.layer[i] for i in keep])
    student.config.num_hidden_layers = layers
    student.embeddings.word_embeddings.weight.requires_grad_(False)
    student.train()
    opt = torch.optim.AdamW([p for p in student.parameters() if p.requires_grad], lr=lr,
                            weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm)))
    order = list(range(len(texts)))
    rng.shuffle(order)
    pos, loss_v = 0, 0.0
    for step in range(steps):
        if pos + batch > len(order):
            rng.shuffle(order)
            pos = 0
        idx = order[pos:pos + batch]
        pos += batch
        enc = tok([texts[i] for i in idx], padding=True, truncation=True, max_length=64,
                  return_tensors="pt")
        pred = _pool(student, enc, torch)
        want = target[idx]
        loss = ((pred - want) ** 2).sum(-1).mean() + (1 - (pred * want).sum(-1)).mean()
        if kl_weight:
            logp = torch.log_softmax(pred @ W + b, dim=-1)
            loss = loss + kl_weight * torch.nn.functional.kl_div(logp, target_p[idx],
                                                                 reduction="batchmean")
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        loss_v = 0.98 * loss_v + 0.02 * loss.item() if step else loss.item()
        if (step + 1) % max(1, steps // 10) == 0:
            progress(f"distilling: step {step + 1}/{steps}, loss {loss_v:.4f}")
    student.eval()
    out.mkdir(parents=True, exist_ok=True)
    student.save_pretrained(str(out))
    for name in TOKENIZER_FILES:
        if (src / name).exists():
            shutil.copy2(src / name, out / name)
    return {"steps": steps, "sentences": len(texts), "teacher_layers_kept": keep,
            "final_loss": round(loss_v, 5), "seconds": round(time.monotonic() - t0, 1)}


def _pool(model, enc, torch):  # type: ignore[no-untyped-def]
    hidden = model(**enc).last_hidden_state
    m = enc["attention_mask"].unsqueeze(-1).float()
    v = (hidden * m).sum(1) / m.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(v, dim=-1)


def _embed(model, tok, texts: list[str], torch, batch: int = 128):  # type: ignore[no-untyped-def]
    """Teacher embeddings, batched by length (little padding), returned in input order."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    out = []
    with torch.no_grad():
        for i in range(0, len(order), batch):
            enc = tok([texts[j] for j in order[i:i + batch]], padding=True, truncation=True,
                      max_length=64, return_tensors="pt")
            out.append(_pool(model, enc, torch))
    vecs = torch.cat(out)
    result = torch.empty_like(vecs)
    result[torch.tensor(order)] = vecs
    return result


__all__ = ["distill", "noisy_variants", "student_layers"]

"""Vocabulary pruning: keep only the word pieces we are likely to see, shrink the model.

The 30522 x 384 word-embedding matrix is most of a small encoder's size. We keep the
special tokens, every single character and "##" character piece (so any word still
tokenizes, just in more pieces), the first `top_n` ids of the BERT vocabulary (its word
part is roughly ordered by frequency: a cheap stand-in for an English word list that
needs no download), and every token of our expanded training sentences. The embedding
initializer in the ONNX graph is sliced to those rows and the tokenizer's vocab is
renumbered to match; WordPiece itself is unchanged, and a word with no kept segmentation
becomes [UNK], as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

EMBED_ROWS = 30522  # rows of the source word-embedding matrix


def kept_token_ids(tokenizer_json: dict[str, Any], sentences: Iterable[str],
                   top_n: int) -> list[int]:
    """Sorted original ids to keep (so [PAD] stays 0 and order is preserved)."""
    from tokenizers import Tokenizer

    vocab: dict[str, int] = tokenizer_json["model"]["vocab"]
    keep = {i for t, i in vocab.items() if i < top_n}
    keep |= {i for t, i in vocab.items()
             if (t.startswith("[") and t.endswith("]") and not t.startswith("[unused"))
             or len(t) == 1 or (t.startswith("##") and len(t) == 3)}
    tok = Tokenizer.from_str(json.dumps(tokenizer_json))
    tok.no_padding()
    for enc in tok.encode_batch(list(sentences)):
        keep.update(enc.ids)
    return sorted(keep)


def prune_tokenizer(tokenizer_json: dict[str, Any], kept: list[int]) -> dict[str, Any]:
    """A copy of the tokenizer whose vocab holds only `kept`, renumbered 0..len-1."""
    data = json.loads(json.dumps(tokenizer_json))
    new_id = {old: new for new, old in enumerate(kept)}
    vocab = data["model"]["vocab"]
    data["model"]["vocab"] = {t: new_id[i] for t, i in sorted(vocab.items(), key=lambda x: x[1])
                              if i in new_id}
    for added in data.get("added_tokens") or []:
        added["id"] = new_id[added["id"]]
    post = data.get("post_processor") or {}
    for spec in (post.get("special_tokens") or {}).values():
        spec["ids"] = [new_id[i] for i in spec["ids"]]
    for key in ("cls", "sep"):  # BertProcessing form: [token, id]
        if isinstance(post.get(key), list):
            post[key] = [post[key][0], new_id[post[key][1]]]
    if data.get("padding"):
        data["padding"]["pad_id"] = new_id[data["padding"]["pad_id"]]
    return data


def prune_onnx(src: Path, dst: Path, kept: list[int]) -> str:
    """Slice the word-embedding initializer of an ONNX graph to `kept` rows; its name."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(src))
    hits = [i for i in model.graph.initializer
            if len(i.dims) == 2 and i.dims[0] == EMBED_ROWS]
    if len(hits) != 1:
        raise ValueError(f"expected one {EMBED_ROWS}-row embedding initializer in {src}, "
                         f"found {len(hits)}; re-export the fp32 model")
    init = hits[0]
    arr = numpy_helper.to_array(init)[np.asarray(kept)]
    init.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(arr), init.name))
    onnx.save(model, str(dst))
    return init.name


def dropped_rate(full: Any, pruned: Any, texts: list[str]) -> float:
    """Fraction of texts whose token sequence changes under the pruned vocabulary."""
    inv = {i: t for t, i in pruned.get_vocab().items()}
    changed = 0
    for text in texts:
        a = full.encode(text).tokens
        b = [inv[i] for i in pruned.encode(text).ids]
        changed += a != b
    return changed / max(1, len(texts))


__all__ = ["dropped_rate", "kept_token_ids", "prune_onnx", "prune_tokenizer"]

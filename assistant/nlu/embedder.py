"""Sentence embeddings at run time: onnxruntime + tokenizers + numpy, nothing heavier.

Mean pooling over the attention mask and L2 normalisation, exactly as all-MiniLM-L6-v2
was trained (sentence-transformers' Pooling + Normalize). The shipped tokenizer pads
every input to 128 tokens, which costs 2-4x per call, so padding is switched off and
only enabled (to the longest sentence) inside a batch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

MAX_TOKENS = 128  # the model window used at export and run time


class Embedder:
    """One ONNX session and one tokenizer, loaded once per process."""

    def __init__(self, folder: Path, threads: int = 1) -> None:
        folder = Path(folder)
        so = ort.SessionOptions()
        so.intra_op_num_threads = max(1, int(threads))
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.log_severity_level = 3
        self.session = ort.InferenceSession(str(folder / "model.onnx"), so,
                                            providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self._inputs = {i.name for i in self.session.get_inputs()}
        self._output = self.session.get_outputs()[0].name
        self.dim = int(self.session.get_outputs()[0].shape[-1] or 384)

    def token_count(self, text: str) -> int:
        """Tokens the model sees (after truncation), for callers that report truncation."""
        return len(self.tokenizer.encode(text).ids)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text.

        With an int8 (dynamically quantized) model, batch_size=1 gives exactly what a
        single request gets; a padded batch shares one activation scale and differs a
        little (cosine >= 0.96), so the recognizer embeds its sentences one at a time."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = []
        for start in range(0, len(texts), batch_size):
            out.append(self._embed_batch(texts[start:start + batch_size]))
        return np.concatenate(out, axis=0)

    def _embed_batch(self, texts: list[str]) -> np.ndarray:
        if len(texts) == 1:
            encs = [self.tokenizer.encode(texts[0])]
        else:
            self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
            try:
                encs = self.tokenizer.encode_batch(texts)
            finally:
                self.tokenizer.no_padding()
        ids = np.array([e.ids for e in encs], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encs], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run([self._output], feed)[0]
        m = mask[..., None].astype(np.float32)
        vec = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        norm = np.linalg.norm(vec, axis=1, keepdims=True)
        return (vec / np.clip(norm, 1e-12, None)).astype(np.float32)


__all__ = ["MAX_TOKENS", "Embedder"]

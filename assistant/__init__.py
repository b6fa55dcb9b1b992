"""Offline voice-and-text personal assistant daemon."""

from assistant import privacy as _privacy

# Before anything can import onnxruntime or huggingface-hub (see assistant/privacy.py).
_privacy.apply()

__version__ = "0.1.0"

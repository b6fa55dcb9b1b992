"""Voice: microphone, wake word, speech-to-text and spoken replies, all offline.

    audio.py        WAV in any common format -> 16 kHz mono s16le (load_wav, AudioError)
    vad.py          webrtcvad utterance segmentation (Segmenter)
    stt.py          the engine interface and factory (SpeechToText, make_recognizer)
    whisper_engine.py / pocketsphinx_engine.py / vosk_engine.py   the engines
    wakeword.py     pocketsphinx keyphrase spotting ("hey assistant")
    microphone.py   sounddevice capture -> VAD -> wake word -> STT -> on_text (Listener)
    satellite.py    audio over MQTT from satellites: framing and per-site buffers
    tts.py          spoken replies: espeak-ng, flite, Hermes, a command, or none

Every audio source ends in `on_text(text, site)`, which the daemon sends to the same text
entry point as MQTT and the CLI.
"""

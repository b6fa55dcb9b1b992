"""Voice in a noisy room: per speech engine and SNR, per wake engine, and Piper's first audio.

Run through bench/voice.py (`python bench/voice.py --room ...`). Audio comes from
bench/room_audio.py (generated now, cached under $ASSISTANT_AUDIO_CACHE, never committed):
the bench's commands spoken in turn by Piper joe (three paces), flite slt/rms and espeak-ng,
reverberated with sox, with pink noise or Piper babble (alternating per command) at each SNR.

- Speech-to-text rows: the command alone (`[speech] wake_word = ""`) through `listen_file`, the
  same code as `assistant listen --wav`, with the real pipeline (`Assistant.handle`; one site per
  clip so no follow-up dialogue leaks between clips). Each engine runs in its own process pinned
  to one CPU with one thread: WER, intent accuracy, full-request accuracy (intent plus the
  expected subject/duration), end of speech -> reply text (p50/p95; includes the VAD's
  `silence_s` hang-over), compute only (speech-to-text + understanding + skill), RTF, peak RSS.
- Wake rows: "okay nabu, <command>" (micro, openwakeword) or "hey assistant, <command>"
  (pocketsphinx) through the detector alone: false-reject rate per SNR; false accepts per hour
  over the cached hour of non-wake speech, streamed faster than real time.
- Piper: time from the reply text to its first audio chunk (one thread), p50/p95, and RTF.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import room_audio as room

SNRS = ("clean", "20", "10", "5")
WAKE_PHRASE = {"micro": "Okay Nabu,", "openwakeword": "Okay Nabu,", "pocketsphinx": "hey assistant,"}


def pct(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    return float(np.percentile(np.array(xs), q))


def make_clips(commands: list[tuple], snrs: list[str], noises: list[str], folder: Path,
               wake: str | None) -> list[dict]:
    """One WAV per command and SNR; the voice and noise rotate with the command."""
    items = []
    for k, (text, intent, slots) in enumerate(commands):
        voice = room.VOICES[k % len(room.VOICES)]
        noise = noises[k % len(noises)]
        parts = [wake, text] if wake else [text]
        for snr in snrs:
            x = room.room_clip(parts, voice, None if snr == "clean" else float(snr), noise, seed=k)
            path = room.write_wav(x, folder / f"{(wake or 'cmd')[:5]}-{k}-{snr}.wav")
            items.append({"text": text, "intent": intent, "slots": slots, "voice": voice,
                          "noise": noise, "snr": snr, "wav": str(path), "audio_s": len(x) / 16000,
                          "speech_end_s": room.room_clip.speech_end_s})
    return items


# -- speech-to-text worker --------------------------------------------------------------------
def stt_worker(engine: str, manifest: str) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from assistant.config import Config, replace
    from assistant.events import Request
    from assistant.pipeline import Assistant
    from assistant.speech.listen import listen_file
    from assistant.speech.stt import make_recognizer
    from assistant.speech.vocabulary import speech_phrases

    items = json.loads(Path(manifest).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        # "whisper-prompt": whisper with the skills' sentences as context; "+wake": the whole
        # path with the default wake word (the clips then start with it)
        real = engine.split("+")[0].split("-")[0]
        with_wake = engine.endswith("+wake")
        cfg = replace(Config(source=str(ROOT / "config.toml")),
                      speech={"engine": real, "threads": 1,
                              **({} if with_wake else {"wake_word": ""}),
                              "whisper_prompt": "skills" if "-prompt" in engine else ""},
                      storage={"path": str(Path(tmp) / "a.db")}, nlu={"threads": 1},
                      tts={"engine": "none"})
        t0 = time.perf_counter()
        stt = make_recognizer(cfg, phrases=speech_phrases(real))
        assistant = Assistant(cfg)
        load_s = time.perf_counter() - t0
        out = []
        for k, it in enumerate(items):
            got: list[dict] = []
            stt_before = getattr(stt, "open_calls", 0)
            t = time.perf_counter()
            listen_file(cfg, it["wav"], lambda text, k=k: assistant.handle(
                Request(text=text, site=f"clip{k}", source="voice")), got.append, stt=stt,
                wake=bool(with_wake), timings=True)
            wall = time.perf_counter() - t
            out.append({"results": got, "wall_s": wall,
                        "whisper": getattr(stt, "open_calls", 0) - stt_before})
        assistant.store.close()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load_s": load_s, "peak_rss_mb": rss, "rows": out}))


def stt_rows(engine: str, items: list[dict], folder: Path, silence_s: float) -> dict:
    from bench.voice import norm, slot_hits, wer_counts

    manifest = folder / f"stt-{engine}.json"
    manifest.write_text(json.dumps(items))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "voice.py"), "--room-worker", engine,
                           str(manifest)], capture_output=True, text=True, timeout=7200, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    out: dict = {"load_s": res["load_s"], "peak_rss_mb": res["peak_rss_mb"], "snr": {}}
    for snr in dict.fromkeys(it["snr"] for it in items):
        idx = [k for k, it in enumerate(items) if it["snr"] == snr]
        errs = words = intent_ok = full_ok = whisper = 0
        by_noise: dict[str, list[int]] = {}
        eos, compute, audio, stt_s = [], [], 0.0, 0.0
        for k in idx:
            it, row = items[k], res["rows"][k]
            # The command's utterance: the one that ends nearest the end of the speech (without a
            # wake word, babble around it is heard as utterances too; a wake word gates those).
            got = sorted(row["results"], key=lambda r: abs(r["end_of_speech_s"] - it["speech_end_s"]))[:1]
            heard = " ".join(r["heard"] for r in got)
            e, n = wer_counts(norm(it["text"]), norm(heard))
            errs, words = errs + e, words + n
            first = got[0] if got else None
            ok = first is not None and first["intent"] == it["intent"]
            intent_ok += ok
            by_noise.setdefault(it["noise"], [0, 0])
            by_noise[it["noise"]][0] += ok
            by_noise[it["noise"]][1] += 1
            h, n_s = slot_hits(it["slots"], first["slots"]) if first else (0, 1)
            full_ok += ok and h == n_s
            whisper += row["whisper"]
            audio += it["audio_s"]
            stt_s += row["wall_s"]
            for r in row["results"]:
                if r["closed_at_s"] - r["end_of_speech_s"] >= silence_s - 0.05:  # ended by silence
                    eos.append(r["replied_at_s"] - r["end_of_speech_s"])
                compute.append(r["compute_s"])
        n = len(idx)
        out["snr"][snr] = {"n": n, "wer": errs / max(1, words), "intent_acc": intent_ok / n,
                           "full_acc": full_ok / n, "eos_to_reply_p50": pct(eos, 50),
                           "eos_to_reply_p95": pct(eos, 95), "compute_p50": pct(compute, 50),
                           "compute_p95": pct(compute, 95), "rtf": stt_s / audio,
                           "whisper_share": whisper / n,
                           "intent_by_noise": {k: a / b for k, (a, b) in by_noise.items()}}
    return out


# -- wake words ---------------------------------------------------------------------------------
def wake_worker(engine: str, manifest: str) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from assistant.config import Config, replace
    from assistant.speech.audio import iter_wav, load_wav
    from assistant.speech.wakeword import make_wake_detector

    spec = json.loads(Path(manifest).read_text())
    engine, _, threshold = engine.partition("@")  # "micro@0.6": another threshold
    word = "hey assistant" if engine == "pocketsphinx" else "okay_nabu"
    cfg = replace(Config(), speech={"wake_engine": engine, "wake_word": word,
                                    "wake_threshold": float(threshold or 0)})
    det = make_wake_detector(cfg)
    hits = []
    t0 = time.perf_counter()
    audio = 0.0
    for it in spec["clips"]:
        det.reset()
        pcm = load_wav(it["wav"])
        audio += len(pcm) / 32000
        n = 0
        for k in range(0, len(pcm), 1600):
            n += len(det.process(pcm[k:k + 1600]))
        hits.append(n)
    fa, fa_s = 0, 0.0
    if spec.get("fa_wav"):
        det.reset()
        for block in iter_wav(spec["fa_wav"], 10.0):
            for k in range(0, len(block), 1600):
                fa += len(det.process(block[k:k + 1600]))
            fa_s += len(block) / 32000
            if fa_s >= spec["fa_limit_s"]:
                break
    cpu = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"hits": hits, "fa": fa, "fa_s": fa_s, "rtf": cpu / (audio + fa_s),
                      "peak_rss_mb": rss}))


def wake_rows(engine: str, clips: list[dict], fa_wav: Path | None, fa_limit_s: float,
              folder: Path) -> dict:
    manifest = folder / f"wake-{engine}.json"
    manifest.write_text(json.dumps({"clips": clips, "fa_wav": str(fa_wav) if fa_wav else "",
                                    "fa_limit_s": fa_limit_s}))
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "voice.py"), "--wake-worker",
                           engine, str(manifest)], capture_output=True, text=True, timeout=7200,
                          check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    out = {"rtf": res["rtf"], "peak_rss_mb": res["peak_rss_mb"], "fa": res["fa"],
           "fa_hours": res["fa_s"] / 3600, "fa_per_hour": res["fa"] / max(1e-9, res["fa_s"] / 3600),
           "frr": {}}
    out["frr_piper"], out["frr_flite_espeak"] = {}, {}
    for snr in dict.fromkeys(c["snr"] for c in clips):
        idx = [k for k, c in enumerate(clips) if c["snr"] == snr]
        out["frr"][snr] = sum(res["hits"][k] == 0 for k in idx) / len(idx)
        for key, keep in (("frr_piper", True), ("frr_flite_espeak", False)):
            sub = [k for k in idx if clips[k]["voice"].startswith("piper") == keep]
            out[key][snr] = sum(res["hits"][k] == 0 for k in sub) / max(1, len(sub))
    return out


# -- Piper -------------------------------------------------------------------------------------
def piper_rows(texts: list[str]) -> dict:
    code = f"""
import json, os, time, resource
os.sched_setaffinity(0, {{min(os.sched_getaffinity(0))}})
from assistant.speech.piper_tts import load_piper_voice
t0 = time.perf_counter(); tts = load_piper_voice(threads=1); load = time.perf_counter() - t0
first, rtf = [], []
for text in {texts!r}:
    t = time.perf_counter(); n = 0; f = None
    for chunk in tts.stream(text):
        f = f if f is not None else time.perf_counter() - t
        n += len(chunk)
    first.append(f); rtf.append((time.perf_counter() - t) / (n / 2 / tts.sample_rate))
print(json.dumps({{"load_s": load, "first": first, "rtf": rtf,
                  "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=1800, check=False)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["?"])[-1]}
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"n": len(texts), "load_s": r["load_s"], "first_p50": pct(r["first"], 50),
            "first_p95": pct(r["first"], 95), "rtf": statistics.median(r["rtf"]),
            "peak_rss_mb": r["rss"]}


# -- main --------------------------------------------------------------------------------------
def run(commands: list[tuple], engines: list[str], wakes: list[str], snrs: list[str],
        noises: list[str], fa_minutes: float, silence_s: float, json_out: str | None) -> dict:
    report: dict = {"commands": len(commands), "snrs": snrs, "noises": noises, "stt": {},
                    "wake": {}, "piper": {}}
    print(f"# {len(commands)} commands x SNR {', '.join(snrs)} dB ({'/'.join(noises)} noise, "
          f"reverb); voices rotate {', '.join(room.VOICES)}; one core, one thread per engine")
    with tempfile.TemporaryDirectory(prefix="voice-room-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        plain = [e for e in engines if not e.endswith("+wake")]
        cmd_clips = make_clips(commands, snrs, noises, folder, None) if plain else []
        wake_clips = make_clips(commands, snrs, noises, folder, WAKE_PHRASE["micro"]) \
            if len(plain) < len(engines) else []
        print(f"# made {len(cmd_clips)} command clips in {time.perf_counter() - t0:.0f} s")
        if engines:
            print(f"\n{'engine':13} {'SNR':>5} {'n':>4} {'WER':>6} {'intent':>7} {'full':>6} "
                  f"{'EoS->reply p50/p95 s':>21} {'compute p50/p95 s':>18} {'RTF':>6} {'RSS MB':>7} "
                  f"{'whisper':>7}  intent by noise")
        for engine in engines:
            r = stt_rows(engine, wake_clips if engine.endswith("+wake") else cmd_clips, folder, silence_s)
            report["stt"][engine] = r
            if "error" in r:
                print(f"{engine:13} could not run: {r['error']}")
                continue
            for snr, f in r["snr"].items():
                print(f"{engine:13} {snr:>5} {f['n']:4d} {f['wer']:6.3f} {f['intent_acc']:7.3f} "
                      f"{f['full_acc']:6.3f} {f['eos_to_reply_p50']:10.2f}/{f['eos_to_reply_p95']:.2f}"
                      f"{f['compute_p50']:13.2f}/{f['compute_p95']:.2f} {f['rtf']:6.3f} "
                      f"{r['peak_rss_mb']:7.0f} {f['whisper_share']:7.2f}  "
                      + " ".join(f"{k} {v:.2f}" for k, v in f["intent_by_noise"].items()))
        fa_wav = None
        if wakes and fa_minutes > 0:
            t0 = time.perf_counter()
            fa_wav = room.false_accept_hour()
            print(f"\n# non-wake speech for false accepts: {fa_wav} "
                  f"({fa_wav.stat().st_size / 32000 / 3600:.2f} h; ready in {time.perf_counter() - t0:.0f} s)")
        if wakes:
            print(f"\n{'wake engine':13} " + " ".join(f"{'FRR ' + s:>9}" for s in snrs)
                  + f" {'FA/hour':>8} {'hours':>6} {'RTF':>7} {'RSS MB':>7}")
        made: dict[str, list[dict]] = {WAKE_PHRASE["micro"]: wake_clips} if wake_clips else {}
        for engine in wakes:
            phrase = WAKE_PHRASE[engine.split("@")[0]]
            if phrase not in made:
                made[phrase] = make_clips(commands, snrs, noises, folder, phrase)
            clips = made[phrase]
            limit = fa_minutes * 60
            r = wake_rows(engine, clips, fa_wav, limit, folder)
            report["wake"][engine] = r
            if "error" in r:
                print(f"{engine:13} could not run: {r['error']}")
                continue
            print(f"{engine:13} " + " ".join(f"{r['frr'][s]:9.3f}" for s in snrs)
                  + f" {r['fa_per_hour']:8.2f} {r['fa_hours']:6.2f} {r['rtf']:7.4f} {r['peak_rss_mb']:7.0f}"
                  + "   FRR Piper voices " + "/".join(f"{r['frr_piper'][s]:.2f}" for s in snrs)
                  + ", flite+espeak " + "/".join(f"{r['frr_flite_espeak'][s]:.2f}" for s in snrs))
        replies = ["A timer for 10 minutes, starting now.", "It's 3:52 AM.",
                   "OK, I'll remind you to water the plants today at 6 PM.",
                   "You have 2 reminders today: call the dentist at 10 AM, and water the plants at 6 PM.",
                   "Sorry, I can't help with that.", "Alarm set for 7:30 AM tomorrow.",
                   "Reminder: take out the trash.", "Your timer is done."] * 3
        r = piper_rows(replies)
        report["piper"] = r
        if "error" in r:
            print(f"\npiper could not run: {r['error']}")
        else:
            print(f"\npiper (en_US-joe-medium, 1 thread): reply text -> first audio p50 {r['first_p50']:.3f} s, "
                  f"p95 {r['first_p95']:.3f} s; RTF {r['rtf']:.3f}; load {r['load_s']:.2f} s; "
                  f"peak RSS {r['peak_rss_mb']:.0f} MB ({r['n']} replies)")
    if json_out:
        Path(json_out).write_text(json.dumps(report, indent=2))
    return report

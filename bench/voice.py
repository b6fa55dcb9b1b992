"""Voice benchmark: synthesized commands through each speech engine (and the NLU, if exported).

Prints, per engine and voice: word error rate, real-time factor on one core, per-utterance
latency, peak RSS, and -- when `assistant.nlu.parser.Parser` imports and the model is exported --
intent and slot accuracy from audio (next to the same figures on the reference text).

Audio is generated at run time (never committed): flite voices slt and rms, and espeak-ng en-us,
16 kHz mono with 0.3 s of silence around each command, the way the VAD hands utterances over.
Each engine runs in its own subprocess pinned to one CPU with one thread, so its peak RSS and
speed are its own.

    .venv/bin/python bench/voice.py                       # all engines, all voices
    .venv/bin/python bench/voice.py --engines whisper --voices slt --limit 20
    .venv/bin/python bench/voice.py --dev 60              # + 60 crowd-sourced requests (SLURP/CLINC150)
    .venv/bin/python bench/voice.py --room                # noisy rooms: per engine and SNR, wake
                                                          # words, Piper (bench/voice_room.py)
    .venv/bin/python bench/voice.py --room --engines hybrid --wakes micro --limit 20 --fa-minutes 15

Latency: "decode" is utterance closed -> text (the engine's time); "end of speech -> text" adds
the VAD hang-over `[speech] silence_s` (default 0.8 s) that decides the speaker has finished.
The optional --dev rows come from /work/shared/data/intents_dev.jsonl (SLURP CC BY 4.0,
CLINC150 CC BY 3.0).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# (text, intent, expected slots) -- subjects, times and phrasings varied on purpose.
COMMANDS: list[tuple[str, str, dict]] = [
    ("remind me to pick up the dry cleaning at five", "reminder.create", {"subject": "pick up the dry cleaning"}),
    ("remind me to water the plants at six", "reminder.create", {"subject": "water the plants"}),
    ("remind me to call my mother tomorrow at noon", "reminder.create", {"subject": "call my mother"}),
    ("remind me to take out the trash tonight", "reminder.create", {"subject": "take out the trash"}),
    ("remind me to buy milk on the way home at seven", "reminder.create", {"subject": "buy milk on the way home"}),
    ("remind me in twenty minutes to check the oven", "reminder.create", {"subject": "check the oven"}),
    ("remind me to feed the cat at eight in the morning", "reminder.create", {"subject": "feed the cat"}),
    ("remind me on friday to pay the rent", "reminder.create", {"subject": "pay the rent"}),
    ("please remind me to book a table for dinner at four", "reminder.create", {"subject": "book a table for dinner"}),
    ("remind me to send the invoice next monday", "reminder.create", {"subject": "send the invoice"}),
    ("remind me to renew my passport in two weeks", "reminder.create", {"subject": "renew my passport"}),
    ("remind me every tuesday at seven to put the bins out", "reminder.create", {"subject": "put the bins out"}),
    ("remind me to charge the car at nine tonight", "reminder.create", {"subject": "charge the car"}),
    ("remind me in an hour to move the laundry to the dryer", "reminder.create", {"subject": "move the laundry to the dryer"}),
    ("remind me to wish sarah a happy birthday tomorrow morning", "reminder.create", {"subject": "wish sarah a happy birthday"}),
    ("set a reminder to stretch at three thirty", "reminder.create", {"subject": "stretch"}),
    ("remind me to close the windows before it rains at two", "reminder.create", {"subject": "close the windows before it rains"}),
    ("remind me to take my vitamins every morning at eight", "reminder.create", {"subject": "take my vitamins"}),
    ("remind me to return the library books on saturday", "reminder.create", {"subject": "return the library books"}),
    ("remind me to defrost the chicken at ten", "reminder.create", {"subject": "defrost the chicken"}),
    ("what are my reminders for today", "reminder.list", {}),
    ("show me my reminders", "reminder.list", {}),
    ("do i have any reminders tomorrow", "reminder.list", {}),
    ("cancel my reminder to call the dentist", "reminder.cancel", {}),
    ("delete the reminder about the rent", "reminder.cancel", {}),
    ("forget the reminder to water the plants", "reminder.cancel", {}),
    ("set an alarm for seven thirty tomorrow morning", "alarm.create", {}),
    ("wake me up at six fifteen", "alarm.create", {}),
    ("set an alarm for eight", "alarm.create", {}),
    ("set an alarm for five forty five on weekdays", "alarm.create", {}),
    ("wake me up at nine on sunday", "alarm.create", {}),
    ("what alarms do i have", "alarm.list", {}),
    ("cancel my alarm for tomorrow", "alarm.cancel", {}),
    ("turn off all my alarms", "alarm.cancel", {}),
    ("set a timer for ten minutes", "timer.start", {"duration_s": 600}),
    ("start a timer for five minutes", "timer.start", {"duration_s": 300}),
    ("set a timer for one hour", "timer.start", {"duration_s": 3600}),
    ("set a pasta timer for twelve minutes", "timer.start", {"duration_s": 720}),
    ("timer for thirty seconds", "timer.start", {"duration_s": 30}),
    ("set a timer for two and a half hours", "timer.start", {"duration_s": 9000}),
    ("set a tea timer for four minutes", "timer.start", {"duration_s": 240}),
    ("how much time is left on my timer", "timer.query", {}),
    ("how long until the timer goes off", "timer.query", {}),
    ("cancel the timer", "timer.cancel", {}),
    ("stop the kitchen timer", "timer.cancel", {}),
    ("add a dentist appointment on thursday at two", "calendar.create", {"subject": "dentist appointment"}),
    ("schedule a meeting with tom tomorrow at ten", "calendar.create", {"subject": "meeting with tom"}),
    ("put lunch with anna on my calendar for friday at noon", "calendar.create", {"subject": "lunch with anna"}),
    ("add yoga class to my calendar on monday at six", "calendar.create", {"subject": "yoga class"}),
    ("what's on my calendar tomorrow", "calendar.list", {}),
    ("what do i have scheduled for friday", "calendar.list", {}),
    ("what is on my agenda this week", "calendar.list", {}),
    ("cancel my meeting with tom", "calendar.cancel", {}),
    ("remove the yoga class from my calendar", "calendar.cancel", {}),
    ("what time is it", "time.query", {}),
    ("tell me the time", "time.query", {}),
    ("what time is it now", "time.query", {}),
    ("what's the date today", "date.query", {}),
    ("what day is it", "date.query", {}),
    ("play some jazz music", "out_of_scope", {}),
    ("what's the weather like tomorrow", "out_of_scope", {}),
    ("turn on the living room lights", "out_of_scope", {}),
    ("tell me a joke", "out_of_scope", {}),
    ("how far is the moon", "out_of_scope", {}),
]

KOREAN: list[str] = ["지금 몇 시 야", "십 분 타이머 맞춰 줘", "내일 아침 일곱 시 반 에 알람 맞춰 줘"]

VOICES = {"slt": ["flite", "-voice", "slt"], "rms": ["flite", "-voice", "rms"],
          "espeak": ["espeak-ng", "-v", "en-us"]}
ENGINES = ("whisper", "whisper-full", "pocketsphinx", "pocketsphinx-lm", "vosk-ko")

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    return " ".join(_ONES[int(d)] for d in str(n))


def norm(text: str) -> str:
    """Lower-case words with numbers spelled out, so "7.30" and "seven thirty" count as equal."""
    t = text.lower()
    t = re.sub(r"\b(\d{1,2})[.:](\d\d)\b", lambda m: m[1] + " " + ("" if m[2] == "00" else m[2]), t)
    t = re.sub(r"\b([ap])\.\s?m\.?", r"\1m", t)
    t = re.sub(r"(\d)(am|pm)\b", r"\1 \2", t)
    t = re.sub(r"[^\w' ]+|_", " ", t)
    t = re.sub(r"\d+", lambda m: number_words(int(m[0])), t)
    return " ".join(t.replace("'s ", " 's ").split())


def wer_counts(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    r, h = ref.split(), hyp.split()
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        cur = [i] + [0] * len(h)
        for j, hw in enumerate(h, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    return prev[-1], len(r)


# -- synthesis ------------------------------------------------------------------------------
def synthesize(items: list[dict], folder: Path) -> None:
    for k, it in enumerate(items):
        raw, out = folder / f"{k}.raw.wav", folder / f"{k}.wav"
        voice = it["voice"]
        if voice == "ko":
            cmd = ["espeak-ng", "-v", "ko", "-w", str(raw), it["text"]]
        elif voice == "espeak":
            cmd = VOICES[voice] + ["-w", str(raw), it["text"]]
        else:
            cmd = VOICES[voice] + ["-t", it["text"], "-o", str(raw)]
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
        subprocess.run(["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", "-e", "signed",
                        str(out), "pad", "0.3", "0.3"], check=True, capture_output=True, timeout=60)
        raw.unlink()
        it["wav"] = str(out)


# -- worker: one engine in its own process ----------------------------------------------------
def worker(engine: str, manifest: str) -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    from assistant.config import Config, replace
    from assistant.speech.audio import duration_s, load_wav
    from assistant.speech.stt import make_recognizer

    items = json.loads(Path(manifest).read_text())
    phrases = None
    if engine == "vosk-ko":
        cfg = replace(Config(), speech={"engine": "vosk", "language": "ko", "threads": 1})
        phrases = KOREAN
    elif engine == "pocketsphinx-lm":
        cfg = replace(Config(), speech={"engine": "pocketsphinx", "threads": 1})
        phrases = lm_phrases()
    elif engine == "whisper-full":  # the standard 30 s padded window, for comparison
        cfg = None
    else:
        cfg = replace(Config(), speech={"engine": engine, "threads": 1})
    t0 = time.perf_counter()
    if cfg is None:
        from assistant.speech.whisper_engine import WhisperSTT

        stt = WhisperSTT(threads=1, trim=False)
    else:
        stt = make_recognizer(cfg, phrases=phrases)
    load_s = time.perf_counter() - t0
    out = []
    for it in items:
        pcm = load_wav(it["wav"])
        t = time.perf_counter()
        text = stt.transcribe(pcm)
        out.append({"text": text, "decode_s": time.perf_counter() - t, "audio_s": duration_s(pcm)})
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"load_s": load_s, "peak_rss_mb": rss, "results": out}))


def lm_phrases() -> list[str]:
    """Sentences for the pocketsphinx LM: the skills' expanded sentences, else the dev data's texts."""
    from assistant.nlu.sentences import expand_set, read_files
    from assistant.skill import load_registry

    files = load_registry().sentence_files()
    lines = [r[0] for r in expand_set(read_files(files), limit=5)] if files else []
    if not lines:
        dev = Path("/work/shared/data/intents_dev.jsonl")
        lines = [json.loads(ln)["text"] for ln in dev.read_text().splitlines()] if dev.exists() else []
    return lines


# -- NLU ----------------------------------------------------------------------------------------
def load_parser():
    try:
        from assistant.config import Config
        from assistant.nlu.parser import Parser
    except Exception as exc:  # noqa: BLE001
        return None, f"NLU not measured: assistant.nlu.parser not importable ({exc})"
    cfg = Config(source=str(ROOT / "config.toml")) if (ROOT / "config.toml").exists() else Config()
    if not (cfg.model_dir / cfg.nlu.variant).exists():
        return None, f"NLU not measured: {cfg.model_dir / cfg.nlu.variant} missing (assistant export-model)"
    try:
        parser = Parser(cfg)
    except Exception as exc:  # noqa: BLE001
        return None, f"NLU not measured: Parser failed to load ({exc})"

    def parse(text: str):
        try:
            return parser.parse(text, None, cfg.zone)
        except TypeError:
            return parser.parse(text)

    return parse, ""


def slot_hits(expected: dict, slots: dict) -> tuple[int, int]:
    hits = 0
    for key, want in expected.items():
        got = slots.get(key)
        if key == "subject":
            hits += bool(got) and norm(str(got)) == norm(want)
        else:
            hits += got == want
    return hits, len(expected)


# -- main -----------------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default=",".join(ENGINES))
    ap.add_argument("--voices", default="slt,rms,espeak")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N commands")
    ap.add_argument("--dev", type=int, default=0, help="add N random dev-set requests (flite slt)")
    ap.add_argument("--silence-s", type=float, default=0.6,
                    help="VAD hang-over ([speech] silence_s) added to latency")
    ap.add_argument("--json", help="also write all figures to this file")
    ap.add_argument("--wake", action="store_true", help="also measure the wake word spotter")
    ap.add_argument("--worker", nargs=2, metavar=("ENGINE", "MANIFEST"), help=argparse.SUPPRESS)
    ap.add_argument("--room", action="store_true",
                    help="noisy-room run: reverb + noise at --snrs through `listen`, wake words, Piper")
    ap.add_argument("--snrs", default="clean,20,10,5", help="--room: SNRs in dB ('clean' = reverb only)")
    ap.add_argument("--noises", default="pink,babble", help="--room: noises, alternating per command")
    ap.add_argument("--wakes", default="micro,openwakeword,pocketsphinx", help="--room: wake engines")
    ap.add_argument("--fa-minutes", type=float, default=60.0,
                    help="--room: minutes of non-wake speech streamed per wake engine for false accepts")
    ap.add_argument("--room-worker", nargs=2, help=argparse.SUPPRESS)
    ap.add_argument("--wake-worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    if args.room_worker or args.wake_worker:
        from bench import voice_room

        if args.room_worker:
            voice_room.stt_worker(*args.room_worker)
        else:
            voice_room.wake_worker(*args.wake_worker)
        return 0
    if args.room:
        from bench import voice_room

        engines = [e for e in args.engines.split(",") if e]
        if args.engines == ",".join(ENGINES):
            engines = ["whisper", "whisper-prompt", "hybrid", "pocketsphinx"]
        commands = COMMANDS[: args.limit] if args.limit else COMMANDS
        voice_room.run(commands, engines, [w for w in args.wakes.split(",") if w],
                       [s for s in args.snrs.split(",") if s], [n for n in args.noises.split(",") if n],
                       args.fa_minutes, args.silence_s, args.json)
        return 0

    commands = COMMANDS[: args.limit] if args.limit else COMMANDS
    voices = [v for v in args.voices.split(",") if v]
    english = [{"text": t, "intent": i, "slots": s, "voice": v} for v in voices for t, i, s in commands]
    if args.dev:
        dev = [json.loads(ln) for ln in Path("/work/shared/data/intents_dev.jsonl").read_text().splitlines()]
        rows = random.Random(7).sample(dev, min(args.dev, len(dev)))
        english += [{"text": r["text"], "intent": r["intent"], "slots": {}, "voice": "slt", "dev": True}
                    for r in rows]
    engines = [e for e in args.engines.split(",") if e]
    report: dict = {"commands": len(commands), "voices": voices, "engines": {}}
    parse, why = load_parser()
    print(f"# {len(commands)} commands x {len(voices)} voices{f' + {args.dev} dev requests' if args.dev else ''}; "
          f"one core, one thread per engine")
    if why:
        print("# " + why)

    with tempfile.TemporaryDirectory(prefix="voice-bench-") as tmp:
        t0 = time.perf_counter()
        synthesize(english, Path(tmp))
        ko = [{"text": t, "voice": "ko"} for t in KOREAN]
        if "vosk-ko" in engines:
            (Path(tmp) / "ko").mkdir()
            synthesize(ko, Path(tmp) / "ko")
        print(f"# synthesized {len(english) + len(ko) * ('vosk-ko' in engines)} WAVs in {time.perf_counter() - t0:.1f} s")
        ref_nlu: dict[str, tuple[bool, tuple[int, int]]] = {}
        if parse:
            for it in english:
                if it["text"] not in ref_nlu:
                    p = parse(it["text"])
                    ref_nlu[it["text"]] = (p.intent == it["intent"], slot_hits(it["slots"], p.slots))
        for engine in engines:
            items = ko if engine == "vosk-ko" else english
            manifest = Path(tmp) / f"{engine}.json"
            manifest.write_text(json.dumps(items))
            proc = subprocess.run([sys.executable, __file__, "--worker", engine, str(manifest)],
                                  capture_output=True, text=True, timeout=3600, check=False)
            if proc.returncode != 0:
                last = (proc.stderr.strip().splitlines() or ["?"])[-1]
                print(f"\n## {engine}: could not run here: {last}")
                report["engines"][engine] = {"error": last}
                continue
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            report["engines"][engine] = summarize(engine, items, res, parse, ref_nlu, args.silence_s)
        if args.wake:
            report["wake"] = wake_bench(english, Path(tmp), voices)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


def wake_bench(english: list[dict], folder: Path, voices: list[str]) -> dict:
    """Detection rate on "hey assistant, <command>" and false alarms on the plain commands."""
    from assistant.speech.audio import duration_s, load_wav
    from assistant.speech.wakeword import WakeWord

    wake = WakeWord("hey assistant", 1e-20)
    plain = [it for it in english if not it.get("dev") and it["voice"] in voices]
    woke = [{"text": "hey assistant, " + it["text"], "voice": it["voice"]} for it in plain[::3]]
    (folder / "wake").mkdir()
    synthesize(woke, folder / "wake")
    t0, audio = time.perf_counter(), 0.0
    out: dict = {}
    for name, group, want in (("detected", woke, True), ("false_alarms", plain, False)):
        by_voice: dict[str, list[int]] = {}
        for it in group:
            pcm = load_wav(it["wav"])
            audio += duration_s(pcm)
            hit = wake.find(pcm) is not None
            by_voice.setdefault(it["voice"], [0, 0])
            by_voice[it["voice"]][0] += hit
            by_voice[it["voice"]][1] += 1
        out[name] = {v: f"{a}/{n}" for v, (a, n) in by_voice.items()}
    out["rtf"] = (time.perf_counter() - t0) / audio
    print(f"\n## wake word 'hey assistant' (pocketsphinx keyphrase, threshold 1e-20): "
          f"detected {out['detected']}, false alarms {out['false_alarms']}, RTF {out['rtf']:.3f}")
    return out


def summarize(engine: str, items: list[dict], res: dict, parse, ref_nlu, silence_s: float) -> dict:
    rows = res["results"]
    print(f"\n## {engine}: model load {res['load_s']:.2f} s, peak RSS {res['peak_rss_mb']:.0f} MB")
    print(f"{'voice':8} {'n':>4} {'WER':>6} {'exact':>6} {'RTF':>6} {'decode med/p90/max s':>22} "
          f"{'EoS->text med':>14} {'intent':>7} {'slots':>6} {'(ref text: intent/slots)':>24}")
    out: dict = {"load_s": res["load_s"], "peak_rss_mb": res["peak_rss_mb"], "voices": {}}
    groups: dict[str, list[int]] = {}
    misses: list[str] = []
    for k, it in enumerate(items):
        groups.setdefault("dev-slt" if it.get("dev") else it["voice"], []).append(k)
    for voice, idx in groups.items():
        errs = words = exact = 0
        decode = [rows[k]["decode_s"] for k in idx]
        audio = sum(rows[k]["audio_s"] for k in idx)
        intent_ok = slot_ok = slot_n = ref_int = ref_slot = 0
        for k in idx:
            e, n = wer_counts(norm(items[k]["text"]), norm(rows[k]["text"]))
            errs, words, exact = errs + e, words + n, exact + (e == 0)
            if parse and "intent" in items[k]:
                p = parse(rows[k]["text"])
                intent_ok += p.intent == items[k]["intent"]
                h, n_s = slot_hits(items[k]["slots"], p.slots)
                slot_ok, slot_n = slot_ok + h, slot_n + n_s
                if h < n_s or p.intent != items[k]["intent"]:
                    misses.append(f"   nlu miss [{voice}] {rows[k]['text']!r} -> {p.intent} {p.slots}")
                ri, (rh, _) = ref_nlu[items[k]["text"]]
                ref_int, ref_slot = ref_int + ri, ref_slot + rh
        q = statistics.quantiles(decode, n=10, method="inclusive")[-1] if len(decode) > 1 else decode[0]
        med = statistics.median(decode)
        fig = {"n": len(idx), "wer": errs / max(1, words), "exact": exact / len(idx),
               "rtf": sum(decode) / audio, "decode_median_s": med, "decode_p90_s": q,
               "decode_max_s": max(decode), "eos_to_text_median_s": med + silence_s}
        nlu = ""
        if parse and "intent" in items[idx[0]]:
            fig.update(intent_acc=intent_ok / len(idx), ref_intent_acc=ref_int / len(idx),
                       slot_acc=slot_ok / slot_n if slot_n else None,
                       ref_slot_acc=ref_slot / slot_n if slot_n else None, slots_checked=slot_n)
            sa = f"{fig['slot_acc']:6.3f}" if slot_n else f"{'-':>6}"
            ra = f"{fig['ref_slot_acc']:.3f}" if slot_n else "-"
            nlu = f"{fig['intent_acc']:7.3f} {sa} {fig['ref_intent_acc']:>13.3f}/{ra}"
        print(f"{voice:8} {len(idx):4d} {fig['wer']:6.3f} {fig['exact']:6.2f} {fig['rtf']:6.3f} "
              f"{med:8.3f}/{q:5.3f}/{max(decode):5.3f}   {med + silence_s:10.3f}    {nlu}")
        out["voices"][voice] = fig
    worst = sorted(range(len(items)), key=lambda k: -wer_counts(norm(items[k]["text"]), norm(rows[k]["text"]))[0])[:3]
    for k in worst:
        print(f"   e.g. [{items[k]['voice']}] {items[k]['text']!r} -> {rows[k]['text']!r}")
    for line in misses[:4]:
        print(line)
    return out


if __name__ == "__main__":
    sys.exit(main())

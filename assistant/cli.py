"""The `assistant` command: a thin layer over the library; every subcommand has --help."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant import __version__, paths
from assistant import config as config_mod
from assistant.config import Config, ConfigError
from assistant.errors import AssistantError

EXIT_USAGE = 2


class CliError(AssistantError):
    """A problem with the user's input: printed as one line, exit code 2."""


def _load_config(args: argparse.Namespace) -> Config:
    return config_mod.load(getattr(args, "config", None))


def _setup_logging(level: str) -> None:
    from assistant.logs import setup_logging

    setup_logging(level)


def _zone(name: str | None, cfg: Config) -> ZoneInfo:
    if not name:
        return cfg.zone
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CliError(f"--tz {name!r}: not an IANA time zone (e.g. Europe/Berlin)") from None


def _naive_now(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        now = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"--now {value!r}: expected an ISO time such as 2026-03-27T09:00") from None
    return now.replace(tzinfo=None) if now.tzinfo is None else now


def _print_json(obj: Any, out: TextIO = sys.stdout) -> None:
    out.write(json.dumps(obj, ensure_ascii=False) + "\n")
    out.flush()


# -- run ------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    cfg = _load_config(args)
    _setup_logging(args.log_level or cfg.log.level)
    from assistant.daemon import run

    return run(cfg)


# -- parse ----------------------------------------------------------------------------------
def cmd_parse(args: argparse.Namespace) -> int:
    cfg = _load_config(args)
    zone = _zone(args.tz, cfg)
    now = _naive_now(args.now)
    from assistant.nlu.parser import Parser

    parser = Parser(cfg)
    if not args.jsonl:
        text = args.text if args.text is not None else sys.stdin.read()
        _print_json(parser.parse(text, now, zone).to_json())
        return 0
    for lineno, raw in enumerate(sys.stdin.buffer, 1):
        _print_json(_parse_line(parser, raw, lineno, now, zone))
    return 0


def _parse_line(parser: Any, raw: bytes, lineno: int, now: datetime | None,
                zone: ZoneInfo) -> dict[str, Any]:
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        return {"error": f"line {lineno}: not valid UTF-8 (byte {exc.start})"}
    text, line_now, line_zone = line, now, zone
    if line.lstrip().startswith("{"):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            return {"error": f"line {lineno}: invalid JSON: {exc.msg}"}
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            return {"error": f"line {lineno}: a JSON line needs a string field \"text\""}
        unknown = set(obj) - {"text", "now", "tz", "id"}
        if unknown:
            return {"error": f"line {lineno}: unknown fields {sorted(unknown)}; "
                             "expected text, now, tz"}
        text = obj["text"]
        try:
            if obj.get("now") is not None:
                line_now = _naive_now(str(obj["now"]))
            if obj.get("tz"):
                line_zone = ZoneInfo(str(obj["tz"]))
        except CliError as exc:
            return {"error": f"line {lineno}: {str(exc).replace('--now', 'now')}"}
        except (ZoneInfoNotFoundError, ValueError):
            return {"error": f"line {lineno}: tz {obj['tz']!r} is not an IANA time zone"}
    try:
        return parser.parse(text, line_now, line_zone).to_json()
    except Exception as exc:  # the run goes on; the error names the line
        return {"error": f"line {lineno}: {type(exc).__name__}: {exc}"}


# -- say / chat -----------------------------------------------------------------------------
def _assistant(cfg: Config) -> Any:
    from assistant.pipeline import Assistant

    return Assistant(cfg)


def cmd_say(args: argparse.Namespace) -> int:
    from assistant.events import Request

    cfg = _load_config(args)
    if args.wav:
        heard = _transcribe(cfg, Path(args.wav), None)
    elif args.text:
        heard = " ".join(args.text)
    else:
        raise CliError("give the request as TEXT, or --wav FILE")
    assistant = _assistant(cfg)
    try:
        reply = assistant.handle(Request(text=heard, site=args.site, source="cli"))
    finally:
        assistant.store.close()
    if args.json:
        _print_json({"heard": heard, "intent": reply.intent, "slots": reply.slots,
                     "speech": reply.speech, "ok": reply.ok,
                     **({"error": reply.error} if reply.error else {})})
    else:
        print(reply.speech)
    return 0 if reply.ok else 1


def cmd_chat(args: argparse.Namespace, stdin: TextIO = sys.stdin) -> int:
    from assistant.events import Request

    cfg = _load_config(args)
    assistant = _assistant(cfg)
    interactive = stdin.isatty()
    if interactive:
        print("Type a request (e.g. 'remind me to water the plants at six'); Ctrl-D or 'quit' "
              "to leave.")
    try:
        while True:
            if interactive:
                print("> ", end="", flush=True)
            line = stdin.readline()
            if not line or line.strip().lower() in ("quit", "exit"):
                break
            if not line.strip():
                continue
            reply = assistant.handle(Request(text=line.strip(), site=args.site, source="cli"))
            detail = f"  [{reply.intent}]" if args.verbose else ""
            print(reply.speech + detail, flush=True)
    finally:
        assistant.store.close()
    return 0


# -- speech ---------------------------------------------------------------------------------
def _transcribe(cfg: Config, path: Path, engine: str | None) -> str:
    from assistant.speech.audio import AudioError, load_wav
    from assistant.speech.stt import make_recognizer

    if engine:
        cfg = config_mod.replace(cfg, speech={"engine": engine})
    try:
        pcm = load_wav(path)
    except AudioError as exc:
        raise CliError(str(exc)) from None
    return make_recognizer(cfg).transcribe(pcm)


def cmd_listen(args: argparse.Namespace) -> int:
    from assistant.events import Request
    from assistant.speech.audio import AudioError
    from assistant.speech.listen import listen_file

    cfg = _load_config(args)
    if not Path(args.wav).is_file():
        raise CliError(f"--wav {args.wav}: no such file")
    assistant = _assistant(cfg)

    def handle(text: str) -> Any:
        return assistant.handle(Request(text=text, site=args.site, source="voice"))

    def emit(result: dict[str, Any]) -> None:
        if args.json:
            _print_json(result)
        else:
            wake = f"[{result['wake_word']} at {result['wake_at_s']:.2f} s] " if result["wake_word"] else ""
            print(f"{result['end_of_speech_s']:8.2f} s {wake}{result['heard']!r} -> "
                  f"{result['intent']}: {result['speech']}", flush=True)

    try:
        listen_file(cfg, args.wav, handle, emit)
    except AudioError as exc:
        raise CliError(str(exc)) from None
    finally:
        assistant.store.close()
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    cfg = _load_config(args)
    t0 = time.perf_counter()
    text = _transcribe(cfg, Path(args.wav), args.engine)
    if args.json:
        _print_json({"text": text, "engine": args.engine or cfg.speech.engine,
                     "seconds": round(time.perf_counter() - t0, 3)})
    else:
        print(text)
    return 0


# -- model ----------------------------------------------------------------------------------
def cmd_export_model(args: argparse.Namespace) -> int:
    cfg = _load_config(args)
    from assistant.nlu.export import export_model

    model_dir = Path(args.model_dir) if args.model_dir else cfg.model_dir
    variants = args.variant or [cfg.nlu.variant]
    if args.bundle:
        if len(variants) != 1:
            raise CliError("--bundle packs one variant; give --variant once")
        return _export_bundle(model_dir, variants[0], Path(args.bundle), args.force)
    if args.head_only:
        from assistant.nlu.artifacts import refit_head

        for variant in variants:
            manifest = refit_head(model_dir, variant)
            print(f"{variant}: head re-fitted on the skills' sentences in "
                  f"{manifest['head_refit_seconds']} s (model.onnx kept; in-scope accuracy "
                  f"{manifest['accuracy']}, out-of-scope recall {manifest['oos_recall']})")
        return 0
    for variant in variants:
        manifest = export_model(model_dir, variant=variant, force=args.force,
                                progress=lambda msg: print(msg, file=sys.stderr, flush=True))
        print(f"{variant}: {model_dir / variant} ready ({manifest.get('size_mb', '?')} MB; "
              f"on held-out template lines: in-scope accuracy {manifest.get('accuracy', '?')}, "
              f"out-of-scope recall {manifest.get('oos_recall', '?')})")
    return 0


def _export_bundle(model_dir: Path, variant: str, out: Path, force: bool) -> int:
    from assistant.nlu.bundle import bundle_digest, create_bundle
    from assistant.nlu.manifest import ModelError, verify_model

    try:
        if force:
            raise ModelError("--force")
        verify_model(model_dir, variant)
    except ModelError:
        from assistant.nlu.export import export_model

        export_model(model_dir, variant=variant, force=force,
                     progress=lambda msg: print(msg, file=sys.stderr, flush=True))
    info = create_bundle(model_dir, variant, out)
    print(f"{variant}: bundle {out} ({out.stat().st_size / 1e6:.1f} MB, {len(info['files'])} "
          f"files, sha256 {bundle_digest(out)}); install it with "
          f"`assistant import-model {out.name}`")
    return 0


def cmd_import_model(args: argparse.Namespace) -> int:
    from assistant.nlu.bundle import import_bundle

    cfg = _load_config(args)
    model_dir = Path(args.model_dir) if args.model_dir else cfg.model_dir
    manifest = import_bundle(Path(args.bundle), model_dir, args.variant)
    variant = manifest["variant"]
    print(f"{variant}: installed in {model_dir / variant} ({len(manifest['files'])} files "
          f"verified; in-scope accuracy {manifest.get('accuracy', '?')})")
    if variant != cfg.nlu.variant:
        print(f"note: the config uses [nlu] variant = {cfg.nlu.variant!r}; set it to "
              f"{variant!r} to use this model", file=sys.stderr)
    return 0


# -- reload ---------------------------------------------------------------------------------
def cmd_reload(args: argparse.Namespace) -> int:
    from assistant.control import ReloadError, request_reload

    try:
        cfg = _load_config(args)
    except ConfigError as exc:
        if "config file not found" in str(exc) or "cannot read config file" in str(exc):
            raise
        # The daemon would refuse it the same way: say so without disturbing it.
        print(f"assistant: reload failed: new config refused, the old one stays: {exc}",
              file=sys.stderr)
        return 1
    try:
        answer = request_reload(cfg, pid=args.pid, timeout=args.timeout)
    except ReloadError as exc:
        print(f"assistant: reload failed: {exc}", file=sys.stderr)
        return 1
    print(f"reloaded: {answer.get('detail') or 'configuration applied'}")
    return 0


# -- reminders ------------------------------------------------------------------------------
def _describe_item(item: Any, zone: ZoneInfo) -> str:
    due = item.due.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")
    what = item.subject or item.label or ""
    rec = f"  (repeats: {item.rrule})" if item.rrule else ""
    return f"{item.id}  {item.kind:<8}  {due}  {item.site:<10}  {what}{rec}"


def _kinds(cfg: Config) -> list[str]:
    from assistant.skill import load_registry

    return list(load_registry(cfg).kinds)


def cmd_reminders(args: argparse.Namespace) -> int:
    from assistant.store.factory import open_store

    cfg = _load_config(args)
    if args.kind:
        kinds = _kinds(cfg)
        if args.kind not in kinds:
            raise CliError(f"--kind {args.kind}: expected one of {', '.join(kinds)} "
                           "(the scheduled kinds of the loaded skills)")
    if args.action == "list":
        if not cfg.storage_url and not paths.check_state_readable(cfg.db_path):
            items = []
        else:
            store = open_store(cfg, readonly=True)
            try:
                items = store.pending(kind=args.kind, site=args.site)
            finally:
                store.close()
        if args.json:
            _print_json([it.to_json() for it in items])
        elif not items:
            print("Nothing pending.")
        else:
            for it in items:
                print(_describe_item(it, cfg.zone))
        return 0
    # cancel
    if not args.ids and not args.all:
        raise CliError("name the ids to cancel (see `assistant reminders list`), or --all")
    if not cfg.storage_url:
        paths.check_state_readable(cfg.db_path)
    store = open_store(cfg)
    try:
        pending = {it.id: it for it in store.pending(kind=args.kind, site=args.site)}
        ids = list(pending) if args.all else args.ids
        unknown = [i for i in ids if i not in pending]
        done = store.cancel([i for i in ids if i in pending])
    finally:
        store.close()
    result = {"cancelled": done, "unknown": unknown}
    if args.json:
        _print_json(result)
    else:
        print(f"Cancelled {done} item{'s' if done != 1 else ''}."
              + (f" Not pending or unknown: {', '.join(unknown)}." if unknown else ""))
    return 0 if not unknown else 1


# -- status ---------------------------------------------------------------------------------
def cmd_status(args: argparse.Namespace) -> int:
    from assistant.control import status_path
    from assistant.pipeline import collect_stats
    from assistant.store.factory import open_store

    cfg = _load_config(args)
    _kinds(cfg)  # the kinds the skills declare, for pending_by_kind
    path = status_path(cfg)
    stats: dict[str, Any] = {}
    running = False
    has_db = paths.check_state_readable(cfg.db_path)
    if paths.check_state_readable(path):
        try:
            stats = json.loads(path.read_text(encoding="utf-8"))
            running = _pid_alive(int(stats.get("pid", 0))) and time.time() - stats.get("updated", 0) < 30
        except (OSError, ValueError):
            stats = {}
    if not running:
        if has_db or cfg.storage_url:
            store = open_store(cfg, readonly=True)
            try:
                stats = collect_stats(store, None, [])
            finally:
                store.close()
        else:
            stats = collect_stats_empty()
    stats["running"] = running
    if cfg.storage_url:
        stats["instances"] = _shared_instances(cfg)
    if args.json:
        _print_json(stats)
        return 0
    for inst in stats.get("instances", []):
        print(f"instance {inst['id']} on {inst['host']} (pid {inst['pid']}): "
              f"{'alive' if inst['alive'] else 'silent'}, last seen "
              f"{_human_s(time.time() - inst['seen_ts'])} ago, up {_human_s(inst.get('uptime_s'))}, "
              f"{inst.get('requests', 0)} requests")
    print(f"daemon: {'running, up ' + _human_s(stats.get('uptime_s')) if running else 'not running'}")
    if running:
        print(f"mqtt: {'connected' if stats.get('mqtt_connected') else 'not connected'}")
        if stats.get("wyoming"):
            from assistant.wyoming.service import status_lines

            print("\n".join(status_lines(stats["wyoming"])))
    kinds = stats.get("pending_by_kind", {})
    print(f"pending: {stats.get('pending', 0)} "
          f"({', '.join(f'{v} {k}s' for k, v in kinds.items() if v) or 'none'})")
    if stats.get("next_due"):
        print(f"next due: {stats['next_due']}  {stats.get('next_subject') or ''}")
    print(f"fired: {stats.get('fired', 0)}, late: {stats.get('late', 0)}, "
          f"missed: {stats.get('missed', 0)}")
    if stats.get("latency_ms_p50") is not None:
        print(f"request latency: p50 {stats['latency_ms_p50']} ms, "
              f"p95 {stats['latency_ms_p95']} ms over {stats['requests']} requests")
    return 0


HEARTBEAT_ALIVE_S = 20.0  # an instance writes one every 5 s


def _shared_instances(cfg: Any) -> list[dict[str, Any]]:
    """Every daemon sharing the PostgreSQL store, from its heartbeats (last hour)."""
    from assistant.store.factory import open_store

    store = open_store(cfg, readonly=True)
    try:
        out = store.instances()
    finally:
        store.close()
    for inst in out:
        inst["alive"] = time.time() - inst["seen_ts"] < HEARTBEAT_ALIVE_S
    return out


def collect_stats_empty() -> dict[str, Any]:
    return {"uptime_s": None, "pending": 0, "pending_by_kind": {}, "next_due": None,
            "fired": 0, "late": 0, "missed": 0, "requests": 0, "latency_ms_p50": None}


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _human_s(s: float | None) -> str:
    if s is None:
        return "?"
    s = int(s)
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    return (f"{d}d " if d else "") + (f"{h}h " if h or d else "") + f"{m}m {s}s"


# -- skills ---------------------------------------------------------------------------------
def cmd_skills(args: argparse.Namespace) -> int:
    """The loaded skills, their intents, kinds and where each came from."""
    from assistant.skill import load_registry

    cfg = _load_config(args)
    registry = load_registry(cfg)
    listed = registry.describe()
    if args.json:
        _print_json({"skills": listed, "problems": registry.problems})
    else:
        for s in listed:
            kinds = f"; schedules: {', '.join(s['kinds'])}" if s["kinds"] else ""
            print(f"{s['name']}  ({s['origin']})")
            print(f"    intents: {', '.join(s['intents'])}{kinds}")
        for problem in registry.problems:
            print(f"SKIPPED {problem}")
    return 1 if registry.problems else 0


# -- doctor ---------------------------------------------------------------------------------
def cmd_doctor(args: argparse.Namespace) -> int:
    from assistant.doctor import run_checks

    try:
        cfg = _load_config(args)
    except ConfigError as exc:
        print(f"FAIL config: {exc}")
        return 1
    results = run_checks(cfg)
    if args.json:
        _print_json([r.__dict__ for r in results])
    else:
        for r in results:
            print(f"{'ok  ' if r.ok else ('warn' if r.warning else 'FAIL')} {r.name}: {r.detail}")
            if not r.ok and r.fix:
                print(f"     fix: {r.fix}")
    return 0 if all(r.ok or r.warning for r in results) else 1


# -- argument parsing -----------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    config_help = (f"configuration file, before or after the command (default: "
                   f"${config_mod.ENV_CONFIG}, else {paths.SYSTEM_CONFIG} when it exists, "
                   "else built-in defaults)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help=config_help)
    # After the command: SUPPRESS keeps a `--config` given before the command (otherwise the
    # subcommand's default None would overwrite it).
    sub_common = argparse.ArgumentParser(add_help=False)
    sub_common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                            help=config_help)
    p = argparse.ArgumentParser(
        prog="assistant", parents=[common],
        description="Offline voice-and-text assistant: reminders, alarms, timers, calendar, clock.")
    p.add_argument("--version", action="version", version=f"assistant {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, parents=[sub_common], help=help_, description=help_)
        sp.set_defaults(func=fn)
        return sp

    sp = add("run", cmd_run, "run the daemon (MQTT, microphone, scheduler) until SIGTERM")
    sp.add_argument("--log-level", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    sp = add("parse", cmd_parse, "print the intent and slots of an utterance as JSON")
    sp.add_argument("text", nargs="?", help="the utterance (default: read standard input)")
    sp.add_argument("--now", help="reference time, naive ISO local time in --tz")
    sp.add_argument("--tz", help="IANA time zone (default: the configured one)")
    sp.add_argument("--jsonl", action="store_true",
                    help="read one utterance per line (text or JSON {text, now, tz}) from stdin")

    sp = add("say", cmd_say, "run one request through the whole pipeline and print the reply")
    sp.add_argument("text", nargs="*", help="the request")
    sp.add_argument("--wav", help="a WAV file to transcribe and run instead of TEXT")
    sp.add_argument("--site", default="default", help="site (room) the request comes from")
    sp.add_argument("--json", action="store_true", help="print one JSON object")

    sp = add("chat", cmd_chat, "an interactive text console on the same pipeline")
    sp.add_argument("--site", default="default")
    sp.add_argument("-v", "--verbose", action="store_true", help="show the intent of each reply")

    sp = add("export-model", cmd_export_model,
             "export the intent model to ONNX and quantize it (needs the export extra)")
    sp.add_argument("--model-dir", help="where models go (default: [nlu] model_dir)")
    sp.add_argument("--variant", action="append",
                    help="model variant, repeatable (default: [nlu] variant)")
    sp.add_argument("--force", action="store_true", help="export even if the manifest matches")
    sp.add_argument("--head-only", action="store_true",
                    help="keep model.onnx; only re-fit the intent head on the current skills' "
                         "sentences (seconds: what adding a skill needs)")
    sp.add_argument("--bundle", metavar="FILE.tar.gz",
                    help="also pack the exported model (exported first only when missing) "
                         "into FILE for `assistant import-model` on a box without torch")

    sp = add("import-model", cmd_import_model,
             "install a model bundle made by `export-model --bundle` (hashes verified)")
    sp.add_argument("bundle", metavar="FILE.tar.gz")
    sp.add_argument("--model-dir", help="where models go (default: [nlu] model_dir)")
    sp.add_argument("--variant", help="refuse the bundle unless it holds this variant")

    sp = add("reload", cmd_reload,
             "make the running daemon re-read its config; fails with the reason if refused")
    sp.add_argument("--pid", type=int, help="the daemon's pid (default: from its status file)")
    sp.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the answer")

    sp = add("listen", cmd_listen, "run the microphone path (wake word, VAD, speech-to-text, "
             "skill) over a WAV file; one line per handled command")
    sp.add_argument("--wav", required=True, help="a WAV recording (any rate, mono or stereo)")
    sp.add_argument("--site", default="default", help="site (room) the audio comes from")
    sp.add_argument("--json", action="store_true",
                    help="one JSON object per command: wake_word, wake_at_s, heard, intent, "
                         "slots, speech, end_of_speech_s, replied_at_s")

    sp = add("transcribe", cmd_transcribe, "print the text of a WAV file (speech-to-text)")
    sp.add_argument("wav", help="a WAV file (any rate; resampled to 16 kHz mono)")
    sp.add_argument("--engine", choices=["whisper", "pocketsphinx", "vosk", "hybrid"],
                    help="override [speech] engine")
    sp.add_argument("--json", action="store_true")

    sp = add("reminders", cmd_reminders, "list or cancel pending items in the store")
    sp.add_argument("action", choices=["list", "cancel"])
    sp.add_argument("ids", nargs="*", help="ids to cancel")
    sp.add_argument("--all", action="store_true", help="cancel every pending item (with --kind)")
    sp.add_argument("--kind", help="only this kind (reminder, alarm, timer, calendar, or a "
                                   "skill's own kind)")
    sp.add_argument("--site")
    sp.add_argument("--json", action="store_true")

    sp = add("status", cmd_status, "uptime, pending items, next due, late/missed, latencies")
    sp.add_argument("--json", action="store_true")

    sp = add("skills", cmd_skills, "list the loaded skills, their intents and where each came from")
    sp.add_argument("--json", action="store_true")

    sp = add("doctor", cmd_doctor, "check config, model, broker, state folder and audio")
    sp.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_USAGE
    try:
        return args.func(args)
    except (ConfigError, CliError) as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except AssistantError as exc:
        # Known, explained failures (a missing model, an unwritable store) carry their fix.
        print(f"assistant: {exc}", file=sys.stderr)
        return 1

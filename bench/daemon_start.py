"""Start-to-ready time, idle memory and stop time of the real daemon, as systemd sees them.

Runs `.venv/bin/assistant run --config <tmp config>` as a subprocess with NOTIFY_SOCKET
pointing at a datagram socket this script owns (the way systemd starts a Type=notify
unit) and WATCHDOG_USEC set, then:
  1. start-to-ready: from just before exec until READY=1 arrives (STATUS= stages timed too);
  2. idle: after --idle seconds, VmRSS / VmHWM from /proc/<pid>/status, CPU used while idle,
     and how many WATCHDOG=1 pings came;
  3. stop: SIGTERM, time until the process has exited, and its exit code.
The config has [speech] enabled = false and [tts] engine = "none" (no audio device needed),
state in a temporary folder, and MQTT pointed at a Mosquitto this script starts on a free
loopback port (--broker mosquitto, the default) or at a closed port (--broker unreachable:
the daemon must still come up). The NLU model comes from --model-dir (default: models/).

With --syscall-filter the daemon runs under the unit's SystemCallFilter= (allow list, denied
calls fail with EPERM, as SystemCallErrorNumber=EPERM), applied with libseccomp the way
systemd would; a call outside the list then shows up as a failure in the daemon's log.

    .venv/bin/python bench/daemon_start.py [--runs 3] [--idle 5] [--broker unreachable]
                                           [--syscall-filter] [--json]

Exit status: 0 when every run reached READY=1 and stopped with exit code 0 within
--stop-timeout; 1 otherwise; 2 when the daemon cannot be run at all (message says why).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WATCHDOG_S = 4.0  # pings expected every 2 s


class BenchError(Exception):
    """The bench cannot run (no daemon, no model): one line saying what to do."""


@dataclass
class Run:
    ok: bool = False
    ready_s: float | None = None
    stages: list[tuple[float, str]] = field(default_factory=list)
    rss_mb: float | None = None
    hwm_mb: float | None = None
    idle_cpu_pct: float | None = None
    watchdog_pings: int = 0
    mqtt_online: bool | None = None
    stop_s: float | None = None
    exit_code: int | None = None
    stopping_seen: bool = False
    error: str = ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, model_dir: Path, port: int, host: str = "127.0.0.1") -> Path:
    path = folder / "config.toml"
    path.write_text(
        "[mqtt]\n"
        f'host = "{host}"\nport = {port}\ndiscovery = false\nreconnect_max_s = 5.0\n'
        "[storage]\n"
        f'path = "{folder / "state" / "assistant.db"}"\n'
        "[time]\n"
        'timezone = "Europe/Berlin"\n'
        "[nlu]\n"
        f'model_dir = "{model_dir}"\n'
        "[speech]\n"
        "enabled = false\n"
        "[tts]\n"
        'engine = "none"\n'
        "[log]\n"
        'level = "INFO"\n',
        encoding="utf-8",
    )
    return path


def proc_status(pid: int) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            out[key] = value.strip()
    return out


def kb_to_mb(value: str) -> float:
    return round(int(value.split()[0]) / 1024, 1)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    # utime and stime are fields 14 and 15 of stat(5); fields[0] here is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def preflight(assistant: Path, model_dir: Path) -> None:
    if not assistant.exists():
        raise BenchError(f"{assistant} not found: run scripts/setup.sh (or pip install -e .) first")
    probe = subprocess.run([str(assistant), "run", "--help"], capture_output=True, text=True,
                           timeout=60, check=False)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BenchError(f"`assistant run --help` failed ({last}): the daemon is not there yet")
    if not model_dir.is_dir() or not any(model_dir.rglob("*.onnx")):
        raise BenchError(f"no model in {model_dir}: run `assistant export-model --model-dir "
                         f"{model_dir}` first (or pass --model-dir)")


def _expand_group(name: str) -> set[str]:
    out = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True,
                         text=True, timeout=30, check=False).stdout
    calls: set[str] = set()
    for line in out.splitlines()[1:]:
        item = line.strip()
        if item and not item.startswith("#"):
            calls |= _expand_group(item) if item.startswith("@") else {item}
    return calls


def unit_syscalls(unit: Path) -> set[str]:
    """The system calls a unit's SystemCallFilter= lines allow (first allow list, minus ~ lines)."""
    allowed: set[str] = set()
    for line in unit.read_text(encoding="utf-8").splitlines():
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.split("=", 1)[1].strip()
        deny = value.startswith("~")
        names: set[str] = set()
        for item in value.lstrip("~").split():
            names |= _expand_group(item) if item.startswith("@") else {item}
        allowed = allowed - names if deny else allowed | names
    return allowed


def unit_address_families(unit: Path) -> list[int]:
    """RestrictAddressFamilies= (an allow list) as socket.AF_* numbers; [] = no restriction."""
    names: list[str] = []
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line.startswith("RestrictAddressFamilies="):
            names = line.split("=", 1)[1].split()
    return [int(getattr(socket, n)) for n in names if not n.startswith("~")]


class SyscallFilter:
    """A seccomp allow list built in the parent; load() runs in the child before exec.

    Emulates SystemCallFilter= (+ SystemCallErrorNumber=EPERM) and RestrictAddressFamilies=
    (socket(2) allowed only for the listed families; systemd answers EAFNOSUPPORT, we EPERM).
    """

    def __init__(self, unit: Path) -> None:
        import ctypes
        import ctypes.util

        if shutil.which("systemd-analyze") is None:
            raise BenchError("--syscall-filter needs systemd-analyze (Debian package systemd)")
        name = ctypes.util.find_library("seccomp")
        if name is None:
            raise BenchError("--syscall-filter needs libseccomp (Debian package libseccomp2)")
        lib = ctypes.CDLL(name)
        lib.seccomp_init.restype = ctypes.c_void_p
        lib.seccomp_init.argtypes = [ctypes.c_uint32]
        lib.seccomp_rule_add.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                         ctypes.c_uint]
        lib.seccomp_syscall_resolve_name.argtypes = [ctypes.c_char_p]
        lib.seccomp_load.argtypes = [ctypes.c_void_p]

        class ArgCmp(ctypes.Structure):  # struct scmp_arg_cmp
            _fields_ = [("arg", ctypes.c_uint), ("op", ctypes.c_int),
                        ("datum_a", ctypes.c_uint64), ("datum_b", ctypes.c_uint64)]

        lib.seccomp_rule_add_array.argtypes = [ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int,
                                               ctypes.c_uint, ctypes.POINTER(ArgCmp)]
        allow, scmp_cmp_eq = 0x7FFF0000, 4
        self.lib = lib
        self.allowed = unit_syscalls(unit)
        self.families = unit_address_families(unit)
        self.ctx = lib.seccomp_init(0x00050000 | 1)  # default action: fail with EPERM
        self.count = 0
        for call in sorted(self.allowed):
            nr = lib.seccomp_syscall_resolve_name(call.encode())
            if nr < 0:
                continue
            if call == "socket" and self.families:
                for fam in self.families:
                    cmp = ArgCmp(0, scmp_cmp_eq, fam, 0)
                    if lib.seccomp_rule_add_array(self.ctx, allow, nr, 1, ctypes.byref(cmp)):
                        raise BenchError("seccomp: cannot add the socket() family rule")
                self.count += 1
            elif lib.seccomp_rule_add(self.ctx, allow, nr, 0) == 0:
                self.count += 1

    def load(self) -> None:
        if self.lib.seccomp_load(self.ctx) != 0:
            raise OSError("seccomp_load failed")


def mqtt_status(port: int, root: str = "assistant") -> bool | None:
    """Whether the retained {root}/status is 'online' (None: mosquitto_sub missing)."""
    sub = shutil.which("mosquitto_sub")
    if sub is None:
        return None
    res = subprocess.run([sub, "-h", "127.0.0.1", "-p", str(port), "-t", f"{root}/status",
                          "-C", "1", "-W", "3"], capture_output=True, text=True,
                         check=False)
    return res.stdout.strip() == "online"


def one_run(assistant: Path, model_dir: Path, broker: str, idle: float, ready_timeout: float,
            stop_timeout: float, keep: bool, sandbox: SyscallFilter | None = None,
            mqtt_host: str = "127.0.0.1") -> Run:
    from tests.fixtures.broker import Broker

    run = Run()
    tmp = Path(tempfile.mkdtemp(prefix="assistant-bench-"))
    mosq: Broker | None = None
    proc: subprocess.Popen[bytes] | None = None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        if broker == "mosquitto":
            mosq = Broker(folder=tmp / "broker").start()
            port = mosq.port
        else:
            port = free_port()  # nothing listens there
        cfg = write_config(tmp, model_dir, port, mqtt_host)
        sock_path = tmp / "notify.sock"
        sock.bind(str(sock_path))
        # PYTHONPATH: measure this working tree even if the editable install is stale.
        env = dict(os.environ, NOTIFY_SOCKET=str(sock_path), PYTHONPATH=str(ROOT),
                   WATCHDOG_USEC=str(int(WATCHDOG_S * 1e6)), PYTHONUNBUFFERED="1")
        env.pop("WATCHDOG_PID", None)
        env.pop("JOURNAL_STREAM", None)
        t0 = time.monotonic()
        with open(tmp / "daemon.log", "wb") as log:
            # preexec_fn is safe here: the bench has no threads of its own at this point.
            proc = subprocess.Popen(
                [str(assistant), "run", "--config", str(cfg)], cwd=tmp, env=env, stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=sandbox.load if sandbox else None)  # noqa: PLW1509
        notes: list[tuple[float, str]] = []

        def drain(timeout: float) -> None:
            sock.settimeout(timeout)
            try:
                while True:
                    data = sock.recv(65536).decode("utf-8", "replace")
                    now = time.monotonic() - t0
                    notes.extend((now, line) for line in data.splitlines())
                    sock.settimeout(0.0)
            except (TimeoutError, BlockingIOError):
                pass

        while True:
            drain(0.05)
            ready = [t for t, n in notes if n == "READY=1"]
            if ready:
                run.ready_s = round(ready[0], 3)
                break
            if proc.poll() is not None:
                run.error = f"daemon exited with {proc.returncode} before READY=1"
                break
            if time.monotonic() - t0 > ready_timeout:
                run.error = f"no READY=1 within {ready_timeout:.0f} s"
                break
        run.stages = [(round(t, 3), n[len("STATUS="):]) for t, n in notes
                      if n.startswith("STATUS=")]
        if run.ready_s is None:
            return run

        cpu0, w0 = cpu_seconds(proc.pid), time.monotonic()
        deadline = time.monotonic() + idle
        while time.monotonic() < deadline:
            drain(min(0.2, max(0.0, deadline - time.monotonic())))
        st = proc_status(proc.pid)
        run.idle_cpu_pct = round(100 * (cpu_seconds(proc.pid) - cpu0) / (time.monotonic() - w0), 2)
        run.rss_mb = kb_to_mb(st["VmRSS"])
        run.hwm_mb = kb_to_mb(st["VmHWM"])
        run.watchdog_pings = sum(1 for t, n in notes if n == "WATCHDOG=1" and t >= run.ready_s)
        if mosq is not None:
            run.mqtt_online = mqtt_status(port)

        t1 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            run.exit_code = proc.wait(stop_timeout)
            run.stop_s = round(time.monotonic() - t1, 3)
        except subprocess.TimeoutExpired:
            run.error = f"still running {stop_timeout:.0f} s after SIGTERM"
        drain(0.05)
        run.stopping_seen = any(n == "STOPPING=1" for _, n in notes)
        run.ok = run.exit_code == 0 and not run.error
        if run.exit_code not in (0, None):
            run.error = f"exit code {run.exit_code} after SIGTERM"
        return run
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        if run.error:
            tail = (tmp / "daemon.log").read_text(errors="replace").strip().splitlines()[-15:]
            shown = "\n      ".join(tail or ["(empty)"])
            run.error += "\n    daemon log (last lines):\n      " + shown
        sock.close()
        if mosq is not None:
            mosq.stop()
        if keep:
            print(f"(kept {tmp})", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def summarize(runs: list[Run]) -> dict[str, Any]:
    def med(key: str) -> float | None:
        vals = [getattr(r, key) for r in runs if getattr(r, key) is not None]
        return round(statistics.median(vals), 3) if vals else None

    return {"runs": len(runs), "ok": sum(r.ok for r in runs), "ready_s_median": med("ready_s"),
            "rss_mb_median": med("rss_mb"), "hwm_mb_median": med("hwm_mb"),
            "idle_cpu_pct_median": med("idle_cpu_pct"), "stop_s_median": med("stop_s")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--assistant", type=Path, default=ROOT / ".venv" / "bin" / "assistant",
                    help="the console script to start (default: .venv/bin/assistant)")
    ap.add_argument("--model-dir", type=Path, default=ROOT / "models",
                    help="exported NLU models (default: models/)")
    ap.add_argument("--broker", choices=("mosquitto", "unreachable"), default="mosquitto")
    ap.add_argument("--mqtt-host", default="127.0.0.1",
                    help="broker name in the config, e.g. localhost to exercise the resolver")
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading memory")
    ap.add_argument("--ready-timeout", type=float, default=120.0)
    ap.add_argument("--stop-timeout", type=float, default=10.0)
    ap.add_argument("--syscall-filter", action="store_true",
                    help="run the daemon under the unit's SystemCallFilter (libseccomp)")
    ap.add_argument("--unit", type=Path, default=ROOT / "systemd" / "assistant.service")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders (logs)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)

    sandbox = None
    try:
        preflight(args.assistant, args.model_dir.resolve())
        if args.syscall_filter:
            sandbox = SyscallFilter(args.unit)
    except (BenchError, OSError, subprocess.TimeoutExpired) as exc:
        print(f"daemon_start: {exc}", file=sys.stderr)
        return 2

    runs = [one_run(args.assistant, args.model_dir.resolve(), args.broker, args.idle,
                    args.ready_timeout, args.stop_timeout, args.keep, sandbox, args.mqtt_host)
            for _ in range(args.runs)]
    summary = summarize(runs)
    if args.json:
        print(json.dumps({"broker": args.broker, "idle_s": args.idle,
                          "syscall_filter": sandbox.count if sandbox else None, "summary": summary,
                          "runs": [asdict(r) for r in runs]}))
    else:
        if sandbox:
            fams = ", ".join(str(socket.AddressFamily(f).name) for f in sandbox.families) or "any"
            print(f"(daemon under the unit's SystemCallFilter: {sandbox.count} calls allowed; "
                  f"sockets: {fams})")
        for i, r in enumerate(runs, 1):
            print(f"run {i}: {'ok' if r.ok else 'FAILED'}")
            if r.ready_s is None:
                print(f"  error: {r.error}")
                continue
            for t, s in r.stages:
                print(f"  {t:7.3f} s  STATUS={s}")
            print(f"  start-to-ready   {r.ready_s} s")
            print(f"  idle RSS / peak  {r.rss_mb} MB / {r.hwm_mb} MB (after {args.idle:g} s idle)")
            print(f"  idle CPU         {r.idle_cpu_pct} %")
            print(f"  watchdog pings   {r.watchdog_pings} (WATCHDOG_USEC={WATCHDOG_S:g} s)")
            if r.mqtt_online is not None:
                print(f"  MQTT status      {'online' if r.mqtt_online else 'NOT online'}")
            print(f"  SIGTERM to exit  {r.stop_s} s, exit code {r.exit_code}, "
                  f"STOPPING=1 {'sent' if r.stopping_seen else 'missing'}")
            if r.error:
                print(f"  error: {r.error}")
        figures = ", ".join(f"{k}={v}" for k, v in summary.items())
        print(f"summary ({args.broker} broker): {figures}")
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

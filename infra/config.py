"""The stack's configuration: every key, its default, and its validation.

The keys, their types and their defaults are declared once, in Pulumi.yaml (the Pulumi
CLI reads them there); this module reads them from it and adds what YAML cannot say: the
allowed ranges. `parse_settings` is a pure function from the raw config strings (what
`pulumi config` holds, keyed without the namespace) to a frozen `Settings`, so it is
tested without Pulumi's runtime. Every error names the key (`chipotle:memorySize`) and
the allowed values.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from infra import build_spec
from infra.project import DEFAULTS, KEYS, NAMESPACE
from serving.cors import OriginError, parse_origins

# How the Pulumi CLI hands a Python program its configuration (see `configured_keys`).
CONFIG_ENV = "PULUMI_CONFIG"

MEMORY_RANGE = (128, 10240)
TIMEOUT_RANGE = (1, 900)
# The values CloudWatch Logs accepts for a log group's retention (days); 0 = never expire.
LOG_RETENTION_DAYS = (
    0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
UNLIMITED = -1  # reservedConcurrency / throttle limits: -1 = no limit of that kind
RESERVED_CONCURRENCY_RANGE = (0, 10000)
# API Gateway's service maxima for a stage (the account's default quota: 10,000 requests
# per second, burst 5,000). "No stage limit" is sent as these: the stage resource cannot
# go back to "unset" once limits were set, and a missing limit would be sent as 0.
THROTTLE_RATE_RANGE = (1, 10000)
THROTTLE_BURST_RANGE = (1, 5000)
KEEP_IMAGES_RANGE = (2, 1000)  # at least the live image and the one before it (a canary's stable)
NO_VERSION = 0  # stableVersion / pinVersion: 0 = not set (Lambda versions start at 1)
COLD_START_MODES = ("on-demand", "snapstart", "provisioned")
PROVISIONED_RANGE = (1, 1000)
LATENCY_ALARM_RANGE = (100, 30000)  # ms; API Gateway gives up after 30 s
RATE_ALARM_RANGE = (1, 100)  # percent
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
# name[:tag][@sha256:<64 hex>]: a registry path, an optional tag, an optional digest.
_IMAGE_REFERENCE = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)
# Only data/ is sent to the Docker build (see .dockerignore): the CSV must live there.
DATA_DIR = "data"
# Not in a dataPath, besides unprintable characters (NUL among them, which no file system
# takes): what Docker's COPY reads as a pattern or an escape (it would copy another file).
_PATH_FORBIDDEN = re.compile(r"[*?\[\]\\]")
NAME_MAX, PATH_MAX = 255, 4096  # bytes: Linux's longest file name and path
# The number grammar of integer settings: ASCII digits only (int() also takes "+512",
# "1_024", " 512" and other scripts' digits), a leading '-' only where -1 means "no limit".
_UNSIGNED = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"-[1-9][0-9]*|[0-9]+")
_MAX_DIGITS = 18  # every range here fits; more digits is out of range whatever they say
# canaryWeight: an unsigned ASCII decimal (float() also takes "nan", "1_0" and other digits).
_DECIMAL = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""


@dataclass(frozen=True)
class Release:
    """Which published Lambda version(s) the `live` alias routes to.

    Default: the version this deploy published (promote). `stable_version` with
    `canary_weight`: the new version gets that share of requests, `stable_version` the
    rest. `pin_version`: all requests to that version, whatever this deploy published.
    """

    stable_version: int | None = None
    canary_weight: float | None = None
    pin_version: int | None = None

    @property
    def kind(self) -> str:
        if self.pin_version is not None:
            return "pin"
        return "canary" if self.stable_version is not None else "promote"


@dataclass(frozen=True)
class Settings:
    model_package: str  # a dotted name; its folder is in the project directory
    # POSIX path relative to the project directory, inside data/; None: the model
    # package's DEFAULT_DATA_PATH (infra/dataset.py resolves it).
    data_path: str | None
    architecture: str  # Lambda architecture: x86_64 | arm64
    memory_size: int
    timeout: int
    reserved_concurrency: int | None  # None: unreserved
    log_retention_days: int
    log_level: str
    throttle_rate_limit: int  # requests per second of the $default stage
    throttle_burst_limit: int
    cors_allow_origins: tuple[str, ...]
    archive_training_image: bool
    keep_images: int
    base_image: str
    release: Release
    cold_start: str  # on-demand | snapstart | provisioned
    provisioned_concurrency: int | None  # only with cold_start == "provisioned"
    operations: Operations

    @property
    def platform(self) -> str:
        """The Docker platform of both images, from the one `architecture` setting."""
        return build_spec.platform_for(self.architecture)


@dataclass(frozen=True)
class Operations:
    """Alarms, their thresholds and notification, and tracing."""

    metrics: bool = True
    alarms: bool = True
    alarm_email: str | None = None
    latency_p99_ms: int = 3000
    client_error_percent: int = 25
    tracing: bool = False


def key_name(key: str) -> str:
    return f"{NAMESPACE}:{key}"


def parse_settings(raw: Mapping[str, str | None], project_dir: Path = build_spec.REPO_ROOT) -> Settings:
    """Validate raw config values (strings, or None when unset) into `Settings`."""
    _refuse_unknown_keys(raw)

    def value(key: str) -> str:
        given = raw.get(key)
        if given is None:
            default = DEFAULTS[key]
            return str(default).lower() if isinstance(default, bool) else str(default)
        return given.strip()

    return Settings(
        model_package=_model_package(value("modelPackage")),
        data_path=_data_path(value("dataPath"), project_dir),
        architecture=_choice(value, "architecture", tuple(build_spec.PLATFORMS)),
        memory_size=_int(value, "memorySize", MEMORY_RANGE),
        timeout=_int(value, "timeout", TIMEOUT_RANGE),
        reserved_concurrency=_optional_int(value, "reservedConcurrency", RESERVED_CONCURRENCY_RANGE),
        log_retention_days=_retention(value),
        log_level=_choice(value, "logLevel", LOG_LEVELS, normalise=str.upper),
        throttle_rate_limit=_throttle(value, "throttleRateLimit", THROTTLE_RATE_RANGE),
        throttle_burst_limit=_throttle(value, "throttleBurstLimit", THROTTLE_BURST_RANGE),
        cors_allow_origins=_origins(value("corsAllowOrigins")),
        archive_training_image=_bool(value, "archiveTrainingImage"),
        keep_images=_int(value, "keepImages", KEEP_IMAGES_RANGE),
        base_image=_image_reference(value, "baseImage"),
        release=_release(value),
        **_cold_start(value),
        operations=Operations(
            metrics=_bool(value, "metrics"),
            alarms=_bool(value, "alarms"),
            alarm_email=_email(value("alarmEmail")),
            latency_p99_ms=_int(value, "alarmLatencyP99Ms", LATENCY_ALARM_RANGE),
            client_error_percent=_int(value, "alarm4xxRatePercent", RATE_ALARM_RANGE),
            tracing=_bool(value, "tracing"),
        ),
    )


def _cold_start(value) -> dict:
    mode = _choice(value, "coldStart", COLD_START_MODES, normalise=str.lower)
    count = _int(value, "provisionedConcurrency", PROVISIONED_RANGE)
    if mode != "provisioned":
        if count != DEFAULTS["provisionedConcurrency"]:
            raise ConfigError(
                f"{key_name('provisionedConcurrency')} is only for {key_name('coldStart')} provisioned "
                f"(it is {mode}); remove it, or set {key_name('coldStart')} provisioned"
            )
        return {"cold_start": mode, "provisioned_concurrency": None}
    reserved = _optional_int(value, "reservedConcurrency", RESERVED_CONCURRENCY_RANGE)
    if reserved is not None and count > reserved:
        raise ConfigError(
            f"{key_name('provisionedConcurrency')} {count} is more than {key_name('reservedConcurrency')} "
            f"{reserved}: the provisioned environments must fit in the reserved ones"
        )
    return {"cold_start": mode, "provisioned_concurrency": count}


def _email(text: str) -> str | None:
    if not text:
        return None
    if not _EMAIL.fullmatch(text):
        raise ConfigError(
            f"{key_name('alarmEmail')} must be an email address like ops@example.com, got {text!r}"
        )
    return text


def _refuse_unknown_keys(raw: Mapping[str, object]) -> None:
    """A key the program does not read is refused, naming the closest key it does read
    (a typo such as `memorysize` would otherwise be ignored in silence)."""
    for key in sorted(set(raw) - set(KEYS)):
        lower = {known.lower(): known for known in KEYS}
        close = difflib.get_close_matches(key.lower(), list(lower), n=1, cutoff=0.6)
        hint = (
            f"did you mean {key_name(lower[close[0]])}?" if close else f"the settings are {', '.join(KEYS)}"
        )
        raise ConfigError(f"{key_name(key)} is not a setting; {hint}")


def _throttle(value, key: str, bounds: tuple[int, int]) -> int:
    """A stage limit; -1 (no stage limit) is sent as the service maximum."""
    limit = _optional_int(value, key, bounds)
    return bounds[1] if limit is None else limit


def _release(value) -> Release:
    stable = _version(value, "stableVersion")
    pin = _version(value, "pinVersion")
    weight_text = value("canaryWeight")
    weight = None
    if weight_text not in ("", "0"):
        weight = float(weight_text) if _DECIMAL.fullmatch(weight_text) else None
        if weight is None or not 0 < weight < 1:
            raise ConfigError(
                f"{key_name('canaryWeight')} must be a share of requests between 0 and 1 (exclusive), "
                f"like 0.1, got {weight_text!r}"
            )
    if pin is not None and (stable is not None or weight is not None):
        raise ConfigError(
            f"{key_name('pinVersion')} routes every request to one version and cannot go with a canary "
            f"({key_name('stableVersion')}/{key_name('canaryWeight')}); remove one or the other"
        )
    if (stable is None) != (weight is None):
        missing = "canaryWeight" if weight is None else "stableVersion"
        raise ConfigError(
            f"a canary needs both {key_name('stableVersion')} and {key_name('canaryWeight')}; "
            f"{key_name(missing)} is not set"
        )
    return Release(stable_version=stable, canary_weight=weight, pin_version=pin)


def _version(value, key: str) -> int | None:
    text = value(key)
    if not re.fullmatch(r"[0-9]{1,9}", text):
        raise ConfigError(
            f"{key_name(key)} must be a published Lambda version number (1, 2, ...), got {text!r}"
        )
    number = int(text)
    return None if number == NO_VERSION else number


def _integer(text: str, *, signed: bool = False) -> int | None:
    """`text` in the integer grammar (ASCII digits; with `signed`, a leading '-'), else None."""
    if not (_SIGNED if signed else _UNSIGNED).fullmatch(text) or len(text) > _MAX_DIGITS:
        return None
    return int(text)


def _int(value, key: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    text = value(key)
    number = _integer(text)
    if number is None:
        raise ConfigError(f"{key_name(key)} must be an integer from {low} to {high}, got {text!r}")
    if not low <= number <= high:
        raise ConfigError(f"{key_name(key)} must be from {low} to {high}, got {number}")
    return number


def _optional_int(value, key: str, bounds: tuple[int, int]) -> int | None:
    low, high = bounds
    text = value(key)
    allowed = f"{UNLIMITED} (no limit) or an integer from {low} to {high}"
    number = _integer(text, signed=True)
    if number is None:
        raise ConfigError(f"{key_name(key)} must be {allowed}, got {text!r}")
    if number == UNLIMITED:
        return None
    if not low <= number <= high:
        raise ConfigError(f"{key_name(key)} must be {allowed}, got {number}")
    return number


def _choice(value, key: str, allowed: tuple[str, ...], normalise=str) -> str:
    # ASCII first: "ınfo".upper() is "INFO" (a dotless i), "ſ".upper() is "S".
    text = normalise(value(key)) if value(key).isascii() else value(key)
    if text not in allowed:
        raise ConfigError(f"{key_name(key)} must be one of {', '.join(allowed)}, got {value(key)!r}")
    return text


def _retention(value) -> int:
    key = "logRetentionDays"
    allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
    text = value(key)
    days = _integer(text)
    if days not in LOG_RETENTION_DAYS:
        raise ConfigError(
            f"{key_name(key)} must be one of CloudWatch's retention periods "
            f"{allowed} (days; 0 = never expire), got {text!r}"
        )
    return days


def _bool(value, key: str) -> bool:
    text = value(key).lower() if value(key).isascii() else value(key)
    if text not in ("true", "false"):
        raise ConfigError(f"{key_name(key)} must be true or false, got {value(key)!r}")
    return text == "true"


def _image_reference(value, key: str) -> str:
    text = value(key)
    if not _IMAGE_REFERENCE.fullmatch(text):
        raise ConfigError(
            f"{key_name(key)} must be an image reference, name[:tag] or name@sha256:<digest> "
            f"(a digest pins the base: pulumi-docker never pulls a tag again), got {text!r}"
        )
    return text


def _origins(text: str) -> tuple[str, ...]:
    try:
        return parse_origins(text)  # the grammar the local server's --cors-origins shares
    except OriginError as exc:
        raise ConfigError(f"{key_name('corsAllowOrigins')} {exc}") from None


def _model_package(text: str) -> str:
    """A dotted Python name (the build spec finds its folder, the program imports it)."""
    if not text or not all(part.isidentifier() for part in text.split(".")):
        raise ConfigError(
            f"{key_name('modelPackage')} must be a dotted Python package name such as "
            f"chipotle_model or examples.regression_model, got {text!r}"
        )
    return text


def _data_path(text: str, project_dir: Path) -> str | None:
    """Unset or empty: None, the model package's own data file (infra/dataset.py)."""
    return data_path_in(text, project_dir) if text else None


def data_path_in(text: str, project_dir: Path) -> str:
    """`text` as a POSIX path relative to `project_dir`, inside data/ (the only data the
    Docker build receives), or ConfigError naming dataPath: a path no file system or
    Docker COPY takes as one file (a NUL byte, a name too long, a pattern) is refused."""
    key = key_name("dataPath")
    if _PATH_FORBIDDEN.search(text) or not text.isprintable():
        raise ConfigError(
            f"{key} must be a file path of printable characters, without * ? [ ] \\ (Docker's "
            f"COPY reads those as a pattern), got {text!r}"
        )
    resolved = (project_dir / text).resolve()
    names = [len(os.fsencode(part)) for part in resolved.parts]
    if len(os.fsencode(resolved)) > PATH_MAX or max(names) > NAME_MAX:
        shown = repr(text) if len(text) <= 80 else f"{text[:60]!r}... ({len(text)} characters)"
        raise ConfigError(
            f"{key} is too long: at most {NAME_MAX} bytes a name and {PATH_MAX} in all, got {shown}"
        )
    try:
        relative = resolved.relative_to((project_dir / DATA_DIR).resolve())
    except ValueError:
        raise ConfigError(
            f"{key} must be a CSV file inside the project's {DATA_DIR}/ directory (the only data "
            f"the Docker build context receives), got {text!r}"
        ) from None
    if not relative.parts:
        raise ConfigError(f"{key} must name a CSV file under {DATA_DIR}/, not the directory itself")
    return f"{DATA_DIR}/{relative.as_posix()}"


def read_settings(
    get: Callable[[str], str | None],
    configured: Iterable[str] = (),
    project_dir: Path = build_spec.REPO_ROOT,
) -> Settings:
    """`parse_settings` over the stack's configuration as Pulumi's public API gives it:
    `get` is `pulumi.Config(NAMESPACE).get` (each known key's value, or None), and
    `configured` the names of every key the stack sets in this namespace (`configured_keys`),
    so that one the program does not read is refused rather than ignored."""
    raw: dict[str, str | None] = {key: get(key) for key in KEYS}
    raw.update({key: None for key in configured if key not in raw})
    return parse_settings(raw, project_dir)


def configured_keys(environ: Mapping[str, str] = os.environ) -> list[str]:
    """The keys of this namespace that the stack sets, without the namespace.

    The Pulumi CLI passes a Python program its whole configuration in the `PULUMI_CONFIG`
    environment variable (a JSON object of `namespace:key` -> string, the project's declared
    defaults included); `pulumi.Config` reads values from it but cannot list them. Absent
    (an Automation API inline program): no key is known beyond those the program reads.
    """
    config = json.loads(environ.get(CONFIG_ENV) or "{}")
    prefix = f"{NAMESPACE}:"
    return [key[len(prefix) :] for key in config if key.startswith(prefix)]

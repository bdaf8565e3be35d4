"""The stack's configuration: every key, its default, and its validation.

The keys, their types and their defaults are declared once, in Pulumi.yaml (the Pulumi
CLI reads them there); this module reads them from it and adds what YAML cannot say: the
allowed ranges. `parse_settings` is a pure function from the raw config strings (what
`pulumi config` holds, keyed without the namespace) to a frozen `Settings`, so it is
tested without Pulumi's runtime. Every error names the key (`chipotle:memorySize`) and
the allowed values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from chipotle_model.cors import ANY_ORIGIN
from infra import build_spec

PROJECT_FILE = build_spec.REPO_ROOT / "Pulumi.yaml"
_PROJECT = yaml.safe_load(PROJECT_FILE.read_text())
NAMESPACE = _PROJECT["name"]  # the project name: `pulumi.Config()` reads this namespace
# Every key of the namespace and its default, as Pulumi.yaml declares them.
DEFAULTS: dict[str, str | int | bool] = {key: spec["default"] for key, spec in _PROJECT["config"].items()}
KEYS = tuple(DEFAULTS)

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
THROTTLE_RATE_RANGE = (1, 10000)  # requests per second (API Gateway's account default: 10,000)
THROTTLE_BURST_RANGE = (1, 5000)  # API Gateway's account default burst: 5,000
KEEP_IMAGES_RANGE = (1, 1000)
# Only data/ is sent to the Docker build (see .dockerignore): the CSV must live there.
DATA_DIR = "data"

_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


class ConfigError(ValueError):
    """A configuration value is invalid; the message names the key and what is allowed."""


@dataclass(frozen=True)
class Settings:
    data_path: str  # POSIX path relative to the project directory, inside data/
    architecture: str  # Lambda architecture: x86_64 | arm64
    memory_size: int
    timeout: int
    reserved_concurrency: int | None  # None: unreserved
    log_retention_days: int
    log_level: str
    throttle_rate_limit: int | None  # None: only the account-level limits apply
    throttle_burst_limit: int | None
    cors_allow_origins: tuple[str, ...]
    archive_training_image: bool
    keep_images: int
    base_image: str

    @property
    def platform(self) -> str:
        """The Docker platform of both images, from the one `architecture` setting."""
        return build_spec.platform_for(self.architecture)


def key_name(key: str) -> str:
    return f"{NAMESPACE}:{key}"


def parse_settings(raw: Mapping[str, str | None], project_dir: Path = build_spec.REPO_ROOT) -> Settings:
    """Validate raw config values (strings, or None when unset) into `Settings`."""
    unknown = sorted(set(raw) - set(KEYS))
    if unknown:
        raise ConfigError(
            f"unknown configuration key(s) {', '.join(key_name(k) for k in unknown)}; "
            f"the keys are {', '.join(key_name(k) for k in KEYS)}"
        )

    def value(key: str) -> str:
        given = raw.get(key)
        if given is None:
            default = DEFAULTS[key]
            return str(default).lower() if isinstance(default, bool) else str(default)
        return given.strip()

    throttle_rate = _optional_int(value, "throttleRateLimit", THROTTLE_RATE_RANGE)
    throttle_burst = _optional_int(value, "throttleBurstLimit", THROTTLE_BURST_RANGE)
    return Settings(
        data_path=_data_path(value("dataPath"), project_dir),
        architecture=_choice(value, "architecture", tuple(build_spec.PLATFORMS)),
        memory_size=_int(value, "memorySize", MEMORY_RANGE),
        timeout=_int(value, "timeout", TIMEOUT_RANGE),
        reserved_concurrency=_optional_int(value, "reservedConcurrency", RESERVED_CONCURRENCY_RANGE),
        log_retention_days=_retention(value),
        log_level=_choice(value, "logLevel", LOG_LEVELS, normalise=str.upper),
        throttle_rate_limit=throttle_rate,
        throttle_burst_limit=throttle_burst,
        cors_allow_origins=_origins(value("corsAllowOrigins")),
        archive_training_image=_bool(value, "archiveTrainingImage"),
        keep_images=_int(value, "keepImages", KEEP_IMAGES_RANGE),
        base_image=_non_empty(value, "baseImage"),
    )


def _int(value, key: str, bounds: tuple[int, int]) -> int:
    low, high = bounds
    text = value(key)
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(f"{key_name(key)} must be an integer from {low} to {high}, got {text!r}") from None
    if not low <= number <= high:
        raise ConfigError(f"{key_name(key)} must be from {low} to {high}, got {number}")
    return number


def _optional_int(value, key: str, bounds: tuple[int, int]) -> int | None:
    low, high = bounds
    text = value(key)
    allowed = f"{UNLIMITED} (no limit) or an integer from {low} to {high}"
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(f"{key_name(key)} must be {allowed}, got {text!r}") from None
    if number == UNLIMITED:
        return None
    if not low <= number <= high:
        raise ConfigError(f"{key_name(key)} must be {allowed}, got {number}")
    return number


def _choice(value, key: str, allowed: tuple[str, ...], normalise=str) -> str:
    text = normalise(value(key))
    if text not in allowed:
        raise ConfigError(f"{key_name(key)} must be one of {', '.join(allowed)}, got {value(key)!r}")
    return text


def _retention(value) -> int:
    key = "logRetentionDays"
    allowed = ", ".join(map(str, LOG_RETENTION_DAYS))
    text = value(key)
    try:
        days = int(text)
    except ValueError:
        days = None
    if days not in LOG_RETENTION_DAYS:
        raise ConfigError(
            f"{key_name(key)} must be one of CloudWatch's retention periods "
            f"{allowed} (days; 0 = never expire), got {text!r}"
        )
    return days


def _bool(value, key: str) -> bool:
    text = value(key).lower()
    if text not in ("true", "false"):
        raise ConfigError(f"{key_name(key)} must be true or false, got {value(key)!r}")
    return text == "true"


def _non_empty(value, key: str) -> str:
    text = value(key)
    if not text:
        raise ConfigError(f"{key_name(key)} must be a non-empty image reference, got ''")
    return text


def _origins(text: str) -> tuple[str, ...]:
    key = key_name("corsAllowOrigins")
    allowed = (
        "'*' or a comma-separated list of origins like https://example.com (scheme, host, optional port)"
    )
    origins = tuple(part.strip() for part in text.split(",") if part.strip())
    if not origins:
        raise ConfigError(f"{key} must be {allowed}, got {text!r}")
    if ANY_ORIGIN in origins:
        if len(origins) > 1:
            raise ConfigError(
                f"{key}: '*' allows every origin and cannot be combined with others, got {text!r}"
            )
        return origins
    for origin in origins:
        if not _ORIGIN.match(origin):
            raise ConfigError(f"{key} must be {allowed}, got {origin!r}")
    return origins


def _data_path(text: str, project_dir: Path) -> str:
    key = key_name("dataPath")
    data_dir = (project_dir / DATA_DIR).resolve()
    if not text:
        raise ConfigError(f"{key} must be the path of a CSV file under {DATA_DIR}/, got ''")
    resolved = (project_dir / text).resolve()
    try:
        relative = resolved.relative_to(data_dir)
    except ValueError:
        raise ConfigError(
            f"{key} must be a CSV file inside the project's {DATA_DIR}/ directory (the only data "
            f"the Docker build context receives), got {text!r}"
        ) from None
    if not relative.parts:
        raise ConfigError(f"{key} must name a CSV file under {DATA_DIR}/, not the directory itself")
    return f"{DATA_DIR}/{relative.as_posix()}"


def read_settings(get, project_dir: Path = build_spec.REPO_ROOT) -> Settings:
    """`parse_settings` over every key, read with `get` (e.g. `pulumi.Config(NAMESPACE).get`)."""
    return parse_settings({key: get(key) for key in KEYS}, project_dir)

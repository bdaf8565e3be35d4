"""infra/config.py without Pulumi's runtime: defaults, parsing, and every validation error
(each names the key, e.g. `chipotle:memorySize`, and the allowed values)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from infra import build_spec
from infra.config import (
    DEFAULTS,
    KEYS,
    LOG_RETENTION_DAYS,
    ConfigError,
    Operations,
    Release,
    Settings,
    configured_keys,
    parse_settings,
    read_settings,
)

PROJECT = build_spec.REPO_ROOT


def parse(**raw: str) -> Settings:
    return parse_settings(raw, PROJECT)


def test_the_declared_defaults_are_valid_and_what_unset_keys_get():
    """Pulumi.yaml declares the defaults; given explicitly they parse to what unset keys get."""
    as_given = {
        key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in DEFAULTS.items()
    }
    settings = parse()
    assert parse(**as_given) == settings
    assert settings.platform == "linux/amd64"
    assert settings.reserved_concurrency is None, "-1: no reserved concurrency"
    assert 128 <= settings.memory_size < 4096, "below the original pattern's 4 GB"


def test_unset_keys_are_the_same_as_absent_ones():
    assert parse_settings(dict.fromkeys(KEYS), PROJECT) == parse()


def test_every_value_parsed():
    settings = parse(
        dataPath="data/other/stores.csv",
        architecture="arm64",
        memorySize="512",
        timeout="900",
        reservedConcurrency="5",
        logRetentionDays="30",
        logLevel="debug",
        throttleRateLimit="10",
        throttleBurstLimit="-1",
        corsAllowOrigins=" https://a.example , http://localhost:8080 ",
        archiveTrainingImage="true",
        keepImages="3",
        baseImage="lambda-base:local",
        stableVersion="2",
        canaryWeight="0.25",
        coldStart="provisioned",
        provisionedConcurrency="2",
        metrics="false",
        alarms="false",
        alarmEmail="ops@example.com",
        alarmLatencyP99Ms="800",
        alarm4xxRatePercent="10",
        tracing="true",
    )
    assert settings == Settings(
        model_package="chipotle_model",
        data_path="data/other/stores.csv",
        architecture="arm64",
        memory_size=512,
        timeout=900,
        reserved_concurrency=5,
        log_retention_days=30,
        log_level="DEBUG",
        throttle_rate_limit=10,
        throttle_burst_limit=5000,
        cors_allow_origins=("https://a.example", "http://localhost:8080"),
        archive_training_image=True,
        keep_images=3,
        base_image="lambda-base:local",
        release=Release(stable_version=2, canary_weight=0.25),
        cold_start="provisioned",
        provisioned_concurrency=2,
        operations=Operations(
            metrics=False,
            alarms=False,
            alarm_email="ops@example.com",
            latency_p99_ms=800,
            client_error_percent=10,
            tracing=True,
        ),
    )
    assert settings.platform == "linux/arm64"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("reservedConcurrency", "-1", None),
        ("reservedConcurrency", "0", 0),
        ("reservedConcurrency", "10000", 10000),
        ("throttleRateLimit", "-1", 10000),  # no stage limit: the service maximum
        ("throttleBurstLimit", "5000", 5000),
        ("throttleBurstLimit", "-1", 5000),
    ],
)
def test_minus_one_means_no_limit(key, value, expected):
    field = {
        "reservedConcurrency": "reserved_concurrency",
        "throttleRateLimit": "throttle_rate_limit",
        "throttleBurstLimit": "throttle_burst_limit",
    }[key]
    assert getattr(parse(**{key: value}), field) == expected


@pytest.mark.parametrize("days", LOG_RETENTION_DAYS)
def test_every_cloudwatch_retention_is_accepted(days):
    assert parse(logRetentionDays=str(days)).log_retention_days == days


ERROR_CASES = [
    ("memorySize", "127", ["from 128 to 10240", "got 127"]),
    ("memorySize", "10241", ["from 128 to 10240", "got 10241"]),
    ("memorySize", "1GB", ["integer from 128 to 10240", "'1GB'"]),
    ("memorySize", "", ["integer from 128 to 10240"]),
    ("timeout", "0", ["from 1 to 900", "got 0"]),
    ("timeout", "901", ["from 1 to 900", "got 901"]),
    ("timeout", "1.5", ["integer from 1 to 900"]),
    ("architecture", "amd64", ["one of x86_64, arm64", "'amd64'"]),
    ("architecture", "X86_64", ["one of x86_64, arm64"]),
    ("logRetentionDays", "2", ["1, 3, 5, 7, 14", "3653", "got '2'"]),
    ("logRetentionDays", "-1", ["CloudWatch's retention periods"]),
    ("logRetentionDays", "forever", ["CloudWatch's retention periods", "'forever'"]),
    ("logLevel", "LOUD", ["one of DEBUG, INFO, WARNING, ERROR, CRITICAL", "'LOUD'"]),
    ("reservedConcurrency", "-2", ["-1 (no limit) or an integer from 0 to 10000", "got -2"]),
    ("reservedConcurrency", "10001", ["from 0 to 10000"]),
    ("reservedConcurrency", "many", ["-1 (no limit)", "'many'"]),
    ("throttleRateLimit", "0", ["-1 (no limit) or an integer from 1 to 10000", "got 0"]),
    ("throttleRateLimit", "10001", ["from 1 to 10000"]),
    ("throttleRateLimit", "2.5", ["from 1 to 10000"]),
    ("throttleBurstLimit", "0", ["-1 (no limit) or an integer from 1 to 5000"]),
    ("throttleBurstLimit", "5001", ["from 1 to 5000"]),
    ("corsAllowOrigins", "", ["'*' or a comma-separated list of origins"]),
    ("corsAllowOrigins", " , ", ["'*' or a comma-separated list of origins"]),
    ("corsAllowOrigins", "example.com", ["scheme, host, optional port", "'example.com'"]),
    ("corsAllowOrigins", "https://example.com/app", ["'https://example.com/app'"]),
    ("corsAllowOrigins", "ftp://example.com", ["'ftp://example.com'"]),
    ("corsAllowOrigins", "*,https://example.com", ["cannot be combined"]),
    ("archiveTrainingImage", "yes", ["true or false", "'yes'"]),
    ("keepImages", "1", ["from 2 to 1000", "got 1"]),
    ("keepImages", "1001", ["from 2 to 1000"]),
    ("baseImage", "  ", ["an image reference, name[:tag] or name@sha256:<digest>"]),
    ("baseImage", "Public.ECR/x", ["an image reference"]),
    ("baseImage", "python@sha256:abc", ["an image reference", "'python@sha256:abc'"]),
    ("stableVersion", "v2", ["a published Lambda version number", "'v2'"]),
    ("stableVersion", "-1", ["a published Lambda version number"]),
    ("pinVersion", "1.5", ["a published Lambda version number"]),
    ("canaryWeight", "1", ["between 0 and 1 (exclusive)", "got '1'"]),
    ("canaryWeight", "ten percent", ["between 0 and 1"]),
    ("coldStart", "warm", ["one of on-demand, snapstart, provisioned", "'warm'"]),
    ("provisionedConcurrency", "3", ["only for chipotle:coldStart provisioned"]),
    ("alarms", "maybe", ["true or false"]),
    ("metrics", "off", ["true or false"]),
    ("alarmEmail", "ops", ["an email address like ops@example.com", "'ops'"]),
    ("alarmEmail", "a@b", ["an email address"]),
    ("alarmLatencyP99Ms", "50", ["from 100 to 30000"]),
    ("alarm4xxRatePercent", "0", ["from 1 to 100"]),
    ("tracing", "on", ["true or false"]),
    ("modelPackage", "my-model", ["dotted Python package name", "'my-model'"]),
    ("dataPath", "", ["under data/"]),
    ("dataPath", "../stores.csv", ["inside the project's data/ directory", "'../stores.csv'"]),
    ("dataPath", "/etc/passwd", ["inside the project's data/ directory", "'/etc/passwd'"]),
    ("dataPath", "README.md", ["inside the project's data/ directory"]),
    ("dataPath", "data/../infra/config.py", ["inside the project's data/ directory"]),
    ("dataPath", "data", ["not the directory itself"]),
]


@pytest.mark.parametrize(("key", "value", "fragments"), ERROR_CASES)
def test_validation_errors_name_the_key_and_the_allowed_values(key, value, fragments):
    with pytest.raises(ConfigError) as error:
        parse(**{key: value})
    message = str(error.value)
    assert f"chipotle:{key}" in message
    for fragment in fragments:
        assert fragment in message


def test_every_key_has_validation_error_cases():
    """A new key must come with its validation, and cases in ERROR_CASES."""
    assert {key for key, _, _ in ERROR_CASES} == set(KEYS)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("memorysize", "chipotle:memorysize is not a setting; did you mean chipotle:memorySize?"),
        ("timout", "chipotle:timout is not a setting; did you mean chipotle:timeout?"),
        ("canary", "chipotle:canary is not a setting; did you mean chipotle:canaryWeight?"),
        ("zzz", "chipotle:zzz is not a setting; the settings are modelPackage, dataPath, architecture"),
    ],
)
def test_unknown_keys_are_refused_naming_the_closest_setting(key, message):
    with pytest.raises(ConfigError) as error:
        parse(**{key: "512"})
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("raw", "release"),
    [
        ({}, Release()),
        ({"stableVersion": "4", "canaryWeight": "0.1"}, Release(stable_version=4, canary_weight=0.1)),
        ({"pinVersion": "3"}, Release(pin_version=3)),
        ({"pinVersion": "0", "stableVersion": "0", "canaryWeight": "0"}, Release()),
    ],
)
def test_release_settings(raw, release):
    assert parse(**raw).release == release


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        ({"stableVersion": "4"}, "chipotle:canaryWeight is not set"),
        ({"canaryWeight": "0.2"}, "chipotle:stableVersion is not set"),
        ({"pinVersion": "3", "stableVersion": "4", "canaryWeight": "0.1"}, "cannot go with a canary"),
        ({"pinVersion": "3", "canaryWeight": "0.1"}, "cannot go with a canary"),
    ],
)
def test_invalid_release_combinations_are_refused(raw, phrase):
    with pytest.raises(ConfigError, match=phrase):
        parse(**raw)


@pytest.mark.parametrize(
    ("raw", "phrase"),
    [
        ({"coldStart": "provisioned", "provisionedConcurrency": "5", "reservedConcurrency": "2"}, "must fit"),
        (
            {"coldStart": "snapstart", "provisionedConcurrency": "2"},
            "only for chipotle:coldStart provisioned",
        ),
    ],
)
def test_invalid_cold_start_combinations_are_refused(raw, phrase):
    with pytest.raises(ConfigError, match=phrase):
        parse(**raw)


@pytest.mark.parametrize(
    "reference",
    [
        "public.ecr.aws/lambda/python:3.13",
        "local/lambda-python:3.13",
        "localhost:5000/lambda/python",
        "public.ecr.aws/lambda/python@sha256:" + "0f" * 32,
        "public.ecr.aws/lambda/python:3.13@sha256:" + "0f" * 32,
    ],
)
def test_base_image_accepts_tags_and_digests(reference):
    assert parse(baseImage=reference).base_image == reference


def test_data_path_is_normalised_inside_data_dir(tmp_path: Path):
    (tmp_path / "data").mkdir()
    settings = parse_settings({"dataPath": "./data/sub/../stores.csv"}, tmp_path)
    assert settings.data_path == "data/stores.csv"
    absolute = str(tmp_path / "data" / "x.csv")
    assert parse_settings({"dataPath": absolute}, tmp_path).data_path == "data/x.csv"


def test_read_settings_reads_pulumi_config_as_the_cli_passes_it(monkeypatch):
    """Through the public API: `pulumi.Config` for the values, PULUMI_CONFIG (a JSON object
    of "project:key" -> string, as the CLI hands it to a Python program) for the key names."""
    import pulumi

    passed = {"chipotle:memorySize": "256", "chipotle:tracing": "true", "aws:region": "eu-west-1"}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(passed))
    settings = read_settings(pulumi.Config("chipotle").get, configured_keys(), PROJECT)
    assert (settings.memory_size, settings.operations.tracing) == (256, True)
    assert configured_keys() == ["memorySize", "tracing"]


def test_read_settings_refuses_a_key_the_stack_sets_and_the_program_does_not_read(monkeypatch):
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({"chipotle:memorysize": "256", "other:key": "x"}))
    with pytest.raises(
        ConfigError, match="chipotle:memorysize is not a setting; did you mean chipotle:memorySize"
    ):
        read_settings(lambda key: None, configured_keys(), PROJECT)


def test_without_pulumi_config_only_the_known_keys_are_read():
    assert configured_keys({}) == []
    assert read_settings({"timeout": "30"}.get, (), PROJECT).timeout == 30

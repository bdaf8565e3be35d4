"""infra/config.py without Pulumi's runtime: defaults, parsing, and every validation error
(each names the key, e.g. `chipotle:memorySize`, and the allowed values)."""

from __future__ import annotations

import json
import sys
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra import build_spec
from infra.config import (
    DEFAULTS,
    KEEP_IMAGES_RANGE,
    KEYS,
    LATENCY_ALARM_RANGE,
    LOG_RETENTION_DAYS,
    MEMORY_RANGE,
    PROVISIONED_RANGE,
    RATE_ALARM_RANGE,
    RESERVED_CONCURRENCY_RANGE,
    THROTTLE_BURST_RANGE,
    THROTTLE_RATE_RANGE,
    TIMEOUT_RANGE,
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
    ("memorySize", "1_024", ["integer from 128 to 10240", "'1_024'"]),
    ("memorySize", "+512", ["integer from 128 to 10240", "'+512'"]),
    ("memorySize", "\u0665\u0661\u0662", ["integer from 128 to 10240"]),  # Arabic-Indic 512
    ("memorySize", "\uff15\uff11\uff12", ["integer from 128 to 10240"]),  # full-width 512
    ("memorySize", "9" * 5000, ["integer from 128 to 10240"]),  # more digits than int() takes
    ("memorySize", "", ["integer from 128 to 10240"]),
    ("timeout", "0", ["from 1 to 900", "got 0"]),
    ("timeout", "901", ["from 1 to 900", "got 901"]),
    ("timeout", "1.5", ["integer from 1 to 900"]),
    ("architecture", "amd64", ["one of x86_64, arm64", "'amd64'"]),
    ("architecture", "X86_64", ["one of x86_64, arm64"]),
    ("logRetentionDays", "2", ["1, 3, 5, 7, 14", "3653", "got '2'"]),
    ("logRetentionDays", "-1", ["CloudWatch's retention periods"]),
    ("logRetentionDays", "forever", ["CloudWatch's retention periods", "'forever'"]),
    ("logRetentionDays", "1_4", ["CloudWatch's retention periods", "'1_4'"]),
    ("logRetentionDays", "\u0661\u0664", ["CloudWatch's retention periods"]),
    ("logLevel", "LOUD", ["one of DEBUG, INFO, WARNING, ERROR, CRITICAL", "'LOUD'"]),
    ("logLevel", "\u0131nfo", ["one of DEBUG, INFO", "'\u0131nfo'"]),  # "ınfo".upper() == "INFO"
    ("reservedConcurrency", "-2", ["-1 (no limit) or an integer from 0 to 10000", "got -2"]),
    ("reservedConcurrency", "10001", ["from 0 to 10000"]),
    ("reservedConcurrency", "many", ["-1 (no limit)", "'many'"]),
    ("reservedConcurrency", "-0", ["-1 (no limit)", "'-0'"]),
    ("reservedConcurrency", "+5", ["-1 (no limit)", "'+5'"]),
    ("reservedConcurrency", "--1", ["-1 (no limit)", "'--1'"]),
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
    ("corsAllowOrigins", "https://example.com:99999", ["'https://example.com:99999'", "from 1 to 65535"]),
    ("corsAllowOrigins", "https://example.com:0", ["'https://example.com:0'", "from 1 to 65535"]),
    ("corsAllowOrigins", "http://-", ["'http://-'", "DNS name"]),
    ("corsAllowOrigins", "http://..", ["'http://..'", "DNS name"]),
    ("corsAllowOrigins", "http://-a.example", ["'http://-a.example'", "DNS name"]),
    ("corsAllowOrigins", "http://example.com.", ["'http://example.com.'"]),
    ("corsAllowOrigins", "http://1.2.3", ["'http://1.2.3'", "not an IPv4 address"]),
    ("corsAllowOrigins", "http://[::1", ["'http://[::1'", "bracketed IPv6"]),
    ("corsAllowOrigins", "http://a.example:+80", ["'http://a.example:+80'", "from 1 to 65535"]),
    ("corsAllowOrigins", "http://a.example:\u0668\u0660", ["from 1 to 65535"]),
    ("corsAllowOrigins", "https://user@a.example", ["no path, query, fragment or user"]),
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
    ("canaryWeight", "0.1_0", ["between 0 and 1", "'0.1_0'"]),
    ("canaryWeight", "\u0660.\u0665", ["between 0 and 1"]),
    ("canaryWeight", "nan", ["between 0 and 1", "'nan'"]),
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
    ("dataPath", "data/stores\x00.csv", ["printable characters", "'data/stores\\x00.csv'"]),
    ("dataPath", "data/stores\n.csv", ["printable characters"]),
    ("dataPath", "data/*.csv", ["Docker's COPY reads those as a pattern", "'data/*.csv'"]),
    ("dataPath", "data/[ab].csv", ["Docker's COPY reads those as a pattern"]),
    ("dataPath", f"data/{'s' * 252}.csv", ["too long: at most 255 bytes a name"]),
    ("dataPath", "data/" + "d/" * 2100 + "s.csv", ["too long", "4096 in all"]),
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


def test_an_unset_or_empty_data_path_is_the_model_packages_own_file():
    """Pulumi.yaml declares "" (a key with no default would be required by the CLI):
    infra/dataset.py then takes the package's DEFAULT_DATA_PATH."""
    assert DEFAULTS["dataPath"] == ""
    assert parse().data_path is None
    assert parse(dataPath="").data_path is None and parse(dataPath="  ").data_path is None


# --- the number grammar: ASCII digits, as strictly as the API's own -------------------

# key -> (the settings it needs beside it, what it becomes, the values it takes)
INTEGER_SETTINGS = {
    "memorySize": ({}, lambda s: s.memory_size, st.integers(*MEMORY_RANGE)),
    "timeout": ({}, lambda s: s.timeout, st.integers(*TIMEOUT_RANGE)),
    "keepImages": ({}, lambda s: s.keep_images, st.integers(*KEEP_IMAGES_RANGE)),
    "alarmLatencyP99Ms": ({}, lambda s: s.operations.latency_p99_ms, st.integers(*LATENCY_ALARM_RANGE)),
    "alarm4xxRatePercent": ({}, lambda s: s.operations.client_error_percent, st.integers(*RATE_ALARM_RANGE)),
    "provisionedConcurrency": (
        {"coldStart": "provisioned"},
        lambda s: s.provisioned_concurrency,
        st.integers(*PROVISIONED_RANGE),
    ),
    "reservedConcurrency": ({}, lambda s: s.reserved_concurrency, st.integers(*RESERVED_CONCURRENCY_RANGE)),
    "throttleRateLimit": ({}, lambda s: s.throttle_rate_limit, st.integers(*THROTTLE_RATE_RANGE)),
    "throttleBurstLimit": ({}, lambda s: s.throttle_burst_limit, st.integers(*THROTTLE_BURST_RANGE)),
    "logRetentionDays": ({}, lambda s: s.log_retention_days, st.sampled_from(LOG_RETENTION_DAYS)),
    "stableVersion": ({"canaryWeight": "0.5"}, lambda s: s.release.stable_version, st.integers(1, 10**9 - 1)),
    "pinVersion": ({}, lambda s: s.release.pin_version, st.integers(1, 10**9 - 1)),
}
# The zero of every script's decimal digits but ASCII's (Unicode keeps each script's 0-9 in a row).
OTHER_ZEROS = [
    c
    for c in map(chr, range(sys.maxunicode + 1))
    if c != "0" and unicodedata.category(c) == "Nd" and unicodedata.digit(c) == 0
]


def refused(key: str, text: str) -> str:
    beside, _, _ = INTEGER_SETTINGS[key]
    with pytest.raises(ConfigError) as error:
        parse(**beside, **{key: text})
    message = str(error.value)
    assert f"chipotle:{key}" in message and repr(text) in message, message
    return message


def test_the_integer_settings_are_every_integer_key():
    declared = {
        key for key, default in DEFAULTS.items() if isinstance(default, int) and not isinstance(default, bool)
    }
    assert set(INTEGER_SETTINGS) == declared


@given(st.data())
def test_integer_settings_take_their_values_in_ascii_digits(data):
    key = data.draw(st.sampled_from(sorted(INTEGER_SETTINGS)))
    beside, field, values = INTEGER_SETTINGS[key]
    number = data.draw(values)
    assert field(parse(**beside, **{key: str(number)})) == number


@given(st.data())
def test_integer_settings_refuse_any_other_scripts_digits(data):
    """int() reads Arabic-Indic or full-width digits as the number they stand for; the
    config does not: a value is what it looks like in `pulumi config`."""
    key = data.draw(st.sampled_from(sorted(INTEGER_SETTINGS)))
    digits = str(data.draw(INTEGER_SETTINGS[key][2]))
    n = len(digits)
    zeros = data.draw(st.lists(st.sampled_from(OTHER_ZEROS), min_size=n, max_size=n))
    ascii_kept = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    ascii_kept[data.draw(st.integers(0, n - 1))] = False  # at least one digit not ASCII
    text = "".join(d if kept else chr(ord(zero) + int(d)) for d, zero, kept in zip(digits, zeros, ascii_kept))
    assert int(text) == int(digits), "a spelling int() itself reads as the same number"
    refused(key, text)


@given(st.data())
def test_integer_settings_refuse_signs_and_digit_separators(data):
    key = data.draw(st.sampled_from(sorted(INTEGER_SETTINGS)))
    digits = str(data.draw(INTEGER_SETTINGS[key][2]))
    spellings = [f"+{digits}"] + ([f"{digits[0]}_{digits[1:]}"] if len(digits) > 1 else [])
    text = data.draw(st.sampled_from(spellings))
    assert int(text) == int(digits)
    refused(key, text)


# --- corsAllowOrigins: scheme://host[:port] ------------------------------------------

_LABELS = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?", fullmatch=True)
_TOP_LABELS = st.from_regex(r"[a-z](?:[a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
DNS_NAMES = st.builds(
    lambda labels, top: ".".join([*labels, top]), st.lists(_LABELS, max_size=4), _TOP_LABELS
)
HOSTS = st.one_of(
    DNS_NAMES,
    st.ip_addresses(v=4).map(str),
    st.ip_addresses(v=6).map(lambda address: f"[{address}]"),
)


@given(st.sampled_from(["http", "https"]), HOSTS, st.none() | st.integers(1, 65535))
def test_every_origin_of_the_grammar_is_accepted(scheme, host, port):
    origin = f"{scheme}://{host}" + ("" if port is None else f":{port}")
    assert parse(corsAllowOrigins=origin).cors_allow_origins == (origin,)


@given(HOSTS, st.one_of(st.just(0), st.integers(65536, 10**12)))
def test_a_port_outside_1_to_65535_is_refused(host, port):
    origin = f"https://{host}:{port}"
    with pytest.raises(ConfigError) as error:
        parse(corsAllowOrigins=f"https://ok.example,{origin}")
    message = str(error.value)
    assert "chipotle:corsAllowOrigins" in message and repr(origin) in message
    assert "from 1 to 65535" in message


@given(st.text(alphabet="-.", min_size=1, max_size=20))
def test_a_host_of_dots_and_hyphens_is_refused(host):
    with pytest.raises(ConfigError, match=r"chipotle:corsAllowOrigins.*DNS name"):
        parse(corsAllowOrigins=f"http://{host}")

"""Configuration: flags over SOCKSORT_* variables over defaults, validated once with a one-line error."""

import argparse

import pytest

from socksort import config
from socksort.errors import UserError


def parser_with_port(monkeypatch, env_value=None):
    if env_value is None:
        monkeypatch.delenv("SOCKSORT_TEST_PORT", raising=False)
    else:
        monkeypatch.setenv("SOCKSORT_TEST_PORT", env_value)
    parser = argparse.ArgumentParser(prog="t")
    config.option(parser, "--port", env="SOCKSORT_TEST_PORT", type=config.port, default=1883)
    return parser


def test_default_applies_without_flag_or_environment(monkeypatch):
    args = config.resolve(parser_with_port(monkeypatch).parse_args([]))
    assert args.port == 1883


def test_environment_overrides_default(monkeypatch):
    args = config.resolve(parser_with_port(monkeypatch, "2883").parse_args([]))
    assert args.port == 2883


def test_flag_overrides_environment(monkeypatch):
    args = config.resolve(parser_with_port(monkeypatch, "2883").parse_args(["--port", "3883"]))
    assert args.port == 3883


def test_bad_environment_value_names_variable_and_value(monkeypatch):
    args = parser_with_port(monkeypatch, "eighty").parse_args([])
    with pytest.raises(UserError, match=r"^SOCKSORT_TEST_PORT='eighty': not a port number"):
        config.resolve(args)


def test_bad_flag_value_names_flag(monkeypatch, capsys):
    with pytest.raises(SystemExit):
        parser_with_port(monkeypatch).parse_args(["--port", "70000"])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--port" in err and "'70000'" in err and "not a port number" in err


def test_a_bad_url_in_the_environment_is_named_without_its_password(monkeypatch):
    monkeypatch.setenv("SOCKSORT_TEST_URL", "mqtt://cam:hunter2@broker:88x3")
    parser = argparse.ArgumentParser(prog="t")
    config.option(parser, "--mqtt-url", env="SOCKSORT_TEST_URL", type=config.mqtt_url)
    with pytest.raises(UserError) as caught:
        config.resolve(parser.parse_args([]))
    assert str(caught.value) == ("SOCKSORT_TEST_URL='mqtt://cam:***@broker:88x3': "
                                 "the URL's port is not a number (1-65535)")


def test_mqtt_url_carries_credentials_and_tls():
    url = config.mqtt_url("mqtts://sock:s3cr%40t@broker.local")
    assert (url.host, url.port, url.username, url.password, url.tls) == ("broker.local", 8883, "sock", "s3cr@t", True)
    assert "s3cr" not in str(url)


@pytest.mark.parametrize("text", ["http://x:1883", "mqtt://", "mqtt://h:99999"])
def test_mqtt_url_rejects_bad_urls(text):
    with pytest.raises(ValueError):
        config.mqtt_url(text)


def test_host_port_requires_both_parts():
    assert str(config.host_port("127.0.0.1:8081")) == "127.0.0.1:8081"
    with pytest.raises(ValueError, match="HOST:PORT"):
        config.host_port("8081")


@pytest.mark.parametrize("text, value", [("1", True), ("Yes", True), (" on ", True), ("0", False), ("false", False), ("", False)])
def test_yes_no_reads_the_usual_spellings(text, value):
    assert config.yes_no(text) is value


def test_yes_no_rejects_anything_else():
    with pytest.raises(ValueError, match="yes/no"):
        config.yes_no("maybe")

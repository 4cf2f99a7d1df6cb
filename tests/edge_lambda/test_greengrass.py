"""Greengrass: v1 publishes through the real greengrasssdk, v2 through the IPC client; the
v2 recipe is a valid component that runs the bundle's entry with a valid configuration.
The Greengrass core itself cannot run here, so its IPC endpoints are stand-ins."""

import base64
import inspect
import json
import re
import sys
import types
import zipfile
from pathlib import Path

import pytest

from socksort.edge_lambda import greengrass_component, lambda_function
from socksort.edge_lambda.package import build_zip
from socksort.edge_lambda.publish import (QOS_AT_LEAST_ONCE, GreengrassV1Publisher, GreengrassV2Publisher,
                                          greengrass_publisher, thing_topic)
from socksort.schema import Prediction

RECIPE = Path(lambda_function.__file__).parent / "greengrass" / "recipe.json"


class StandInIpcClient:
    """Records PublishToIoTCore calls, with the keyword arguments of the real V2 client."""

    calls: list = []

    def __init__(self, *args, **kwargs):
        pass

    def publish_to_iot_core(self, *, topic_name=None, qos=None, payload=None):
        StandInIpcClient.calls.append((topic_name, qos, payload))


@pytest.fixture
def recipe():
    return json.loads(RECIPE.read_text())


def test_recipe_declares_a_generic_component_with_a_semantic_version(recipe):
    assert recipe["RecipeFormatVersion"] == "2020-01-25"
    assert recipe["ComponentType"] == "aws.greengrass.generic"
    assert re.fullmatch(r"\d+\.\d+\.\d+", recipe["ComponentVersion"])
    assert recipe["ComponentName"].count(".") >= 2


def test_recipe_refers_only_to_configuration_it_defines(recipe):
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    used = re.findall(r"\{configuration:/([^}]+)\}", RECIPE.read_text())
    assert used and set(used) <= set(defaults)


def test_recipe_runs_an_entry_that_is_in_the_unarchived_zip(recipe, colour_model, tmp_path):
    manifest = recipe["Manifests"][0]
    artifact = manifest["Artifacts"][0]
    assert artifact["Unarchive"] == "ZIP"
    folder = Path(artifact["URI"]).stem   # the nucleus unarchives x.zip into decompressedPath/x/
    match = re.fullmatch(r"python3 -u \{artifacts:decompressedPath\}/([^/]+)/(\S+)", manifest["Lifecycle"]["Run"]["Script"])
    assert match and match.group(1) == folder
    built = build_zip(colour_model, tmp_path / f"{folder}.zip")
    assert match.group(2) in zipfile.ZipFile(built).namelist()


def test_recipe_allows_publishing_to_the_topic_the_component_uses(recipe):
    policies = recipe["ComponentConfiguration"]["DefaultConfiguration"]["accessControl"]["aws.greengrass.ipc.mqttproxy"]
    policy = next(iter(policies.values()))
    assert policy["operations"] == ["aws.greengrass#PublishToIoTCore"]
    assert thing_topic("{iot:thingName}") in policy["resources"]


def test_recipe_default_configuration_is_a_valid_edge_configuration(recipe, colour_model, monkeypatch):
    defaults = recipe["ComponentConfiguration"]["DefaultConfiguration"]
    for name, value in recipe["Manifests"][0]["Lifecycle"]["Setenv"].items():
        monkeypatch.setenv(name, re.sub(r"\{configuration:/([^}]+)\}", lambda m: defaults[m.group(1)], value))
    monkeypatch.setenv("SOCKSORT_MODEL", str(colour_model))
    config = lambda_function.edge_config()
    assert (config.source, config.runtime, config.mqtt_url, config.fifo) == ("0", "auto", None, None)
    assert str(config.http) == "127.0.0.1:8081"


def test_stand_in_matches_the_real_v2_ipc_client():
    from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
    from awsiot.greengrasscoreipc.model import QOS
    real = inspect.signature(GreengrassCoreIPCClientV2.publish_to_iot_core)
    real.bind(None, topic_name="t", qos=QOS_AT_LEAST_ONCE, payload=b"{}")
    assert QOS.AT_LEAST_ONCE == QOS_AT_LEAST_ONCE


def test_no_thing_name_means_no_greengrass_publisher():
    assert greengrass_publisher({}) is None


def test_a_thing_name_with_an_ipc_token_means_greengrass_v2(monkeypatch):
    import awsiot.greengrasscoreipc.clientv2 as clientv2
    monkeypatch.setattr(clientv2, "GreengrassCoreIPCClientV2", StandInIpcClient)
    publisher = greengrass_publisher({"AWS_IOT_THING_NAME": "t", "SVCUID": "s"})
    assert isinstance(publisher, GreengrassV2Publisher) and publisher.topic == "$aws/things/t/infer"


def test_a_thing_name_alone_means_greengrass_v1(monkeypatch):
    install_greengrass_core_stand_in(monkeypatch)
    publisher = greengrass_publisher({"AWS_IOT_THING_NAME": "t"})
    assert isinstance(publisher, GreengrassV1Publisher) and publisher.topic == "$aws/things/t/infer"


def test_component_publishes_each_prediction_through_the_v2_ipc_client(colour_model, rgb_video, monkeypatch):
    import awsiot.greengrasscoreipc.clientv2 as clientv2
    monkeypatch.setattr(clientv2, "GreengrassCoreIPCClientV2", StandInIpcClient)
    StandInIpcClient.calls = []
    for name, value in {"AWS_IOT_THING_NAME": "sock-cam", "SVCUID": "secret", "SOCKSORT_MODEL": str(colour_model),
                        "SOCKSORT_SOURCE": str(rgb_video), "SOCKSORT_UNTHROTTLED": "yes", "SOCKSORT_MQTT_URL": "none",
                        "SOCKSORT_EDGE_HTTP": "none", "SOCKSORT_FIFO": "none", "SOCKSORT_DEVICE": "sock-cam"}.items():
        monkeypatch.setenv(name, value)
    assert greengrass_component.main() == 0
    assert len(StandInIpcClient.calls) == 30
    assert {(topic, qos) for topic, qos, _ in StandInIpcClient.calls} == {("$aws/things/sock-cam/infer", "1")}
    assert [Prediction.from_json(p).seq for _, _, p in StandInIpcClient.calls] == list(range(30))


def test_v1_publishes_through_the_real_greengrasssdk_to_the_thing_topic(monkeypatch):
    posted = install_greengrass_core_stand_in(monkeypatch)
    publisher = GreengrassV1Publisher("$aws/things/deeplens-1/infer").start()
    payload = Prediction("red", 97.31, 1, "deeplens-1", 0).to_json()
    publisher.publish(payload)
    assert publisher.flush(10)
    publisher.stop()
    assert publisher.published == 1 and publisher.errors == 0
    (function_arn, sent, context, invocation_type), = posted
    assert sent == payload and invocation_type == "Event"
    custom = json.loads(base64.b64decode(context))["custom"]
    assert custom["subject"] == "$aws/things/deeplens-1/infer" and custom["queueFullPolicy"] == "AllOrError"


def install_greengrass_core_stand_in(monkeypatch) -> list:
    """The two modules only a Greengrass v1 core has, recording what the SDK posts to IPC."""
    posted = []
    env_vars = types.ModuleType("greengrass_common.env_vars")
    env_vars.MY_FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:socksort-edge:1"
    env_vars.ROUTER_FUNCTION_ARN = "arn:aws:lambda:::function:GGRouter"
    env_vars.SHADOW_FUNCTION_ARN = "arn:aws:lambda:::function:GGShadowService"
    arn_fields = types.ModuleType("greengrass_common.function_arn_fields")
    arn_fields.FunctionArnFields = object
    ipc = types.ModuleType("greengrass_ipc_python_sdk.ipc_client")

    class IPCClient:
        def __init__(self, endpoint="localhost"):
            pass

        def post_work(self, function_arn, payload, client_context, invocation_type):
            posted.append((function_arn, payload, client_context, invocation_type))
            return "invocation-1"

    ipc.IPCClient, ipc.IPCException = IPCClient, type("IPCException", (Exception,), {})
    for name, module in {"greengrass_common": types.ModuleType("greengrass_common"),
                         "greengrass_common.env_vars": env_vars,
                         "greengrass_common.function_arn_fields": arn_fields,
                         "greengrass_ipc_python_sdk": types.ModuleType("greengrass_ipc_python_sdk"),
                         "greengrass_ipc_python_sdk.ipc_client": ipc}.items():
        monkeypatch.setitem(sys.modules, name, module)
    # A fresh greengrasssdk, so it binds to this test's stand-in and not an earlier one.
    for name in [m for m in sys.modules if m == "greengrasssdk" or m.startswith("greengrasssdk.")]:
        monkeypatch.delitem(sys.modules, name)
    return posted


def test_under_greengrass_the_device_is_named_after_the_thing(colour_model, monkeypatch):
    monkeypatch.setenv("SOCKSORT_MODEL", str(colour_model))
    monkeypatch.delenv("SOCKSORT_DEVICE", raising=False)
    monkeypatch.setenv("AWS_IOT_THING_NAME", "deeplens-kitchen")
    assert lambda_function.edge_config().device == "deeplens-kitchen"


def test_the_bundled_settings_do_not_override_the_environment(tmp_path, monkeypatch):
    (tmp_path / "edge-config.json").write_text(json.dumps({"SOCKSORT_SOURCE": "awscam", "SOCKSORT_MODEL": "model",
                                                           "SOCKSORT_TOPIC": "sockfound"}))
    environ = {"SOCKSORT_TOPIC": "kitchen/socks"}
    lambda_function.apply_settings(tmp_path, environ)
    assert environ == {"SOCKSORT_TOPIC": "kitchen/socks", "SOCKSORT_SOURCE": "awscam",
                       "SOCKSORT_MODEL": str(tmp_path / "model")}

"""``socksort sagemaker train`` against a local S3-compatible server (moto's server mode) for
the S3 half and a stubbed SageMaker client for the job calls: no live AWS here."""

import datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

from socksort import modelcard
from socksort.contract import MODEL_FILES
from socksort.errors import UserError
from socksort.net import free_port
from socksort.training import sagemaker

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
JOB = "socks-1"
ARTIFACT_KEY = f"socksort/output/{JOB}/output/model.tar.gz"


@pytest.fixture
def s3(monkeypatch):
    from moto.server import ThreadedMotoServer
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(key, value)
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    client = boto3.client("s3", region_name=REGION, endpoint_url=f"http://127.0.0.1:{port}")
    client.create_bucket(Bucket="socks")
    yield client
    server.stop()


@pytest.fixture
def records(tmp_path, rec_writer, small_images):
    rec_writer(tmp_path / "socks_train", [(image, i % 3) for i, image in enumerate(small_images)],
               ["Blank", "red", "blue"])
    rec_writer(tmp_path / "socks_val", [(small_images[0], 0)], ["Blank", "red", "blue"])
    return tmp_path / "socks_train.rec", tmp_path / "socks_val.rec", tmp_path / "socks_train_classes.txt"


def describe(status, secondary, **extra):
    return {"TrainingJobName": JOB, "TrainingJobArn": f"arn:aws:sagemaker:{REGION}:123456789012:training-job/{JOB}",
            "ModelArtifacts": {"S3ModelArtifacts": extra.pop("artifacts", "")},
            "TrainingJobStatus": status, "SecondaryStatus": secondary,
            "AlgorithmSpecification": {"TrainingInputMode": "File"},
            "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
            "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
            "CreationTime": datetime.datetime(2026, 11, 21), **extra}


def expected_request():
    return {
        "TrainingJobName": JOB,
        "AlgorithmSpecification": {"TrainingImage": f"811284229777.dkr.ecr.{REGION}.amazonaws.com/image-classification:1",
                                   "TrainingInputMode": "File"},
        "RoleArn": ROLE,
        "HyperParameters": {"num_layers": "18", "use_pretrained_model": "1", "image_shape": "3,512,512",
                            "mini_batch_size": "12", "epochs": "100", "learning_rate": "0.0005",
                            "num_classes": "3", "num_training_samples": "4"},
        "InputDataConfig": ANY,
        "OutputDataConfig": {"S3OutputPath": "s3://socks/socksort/output"},
        "ResourceConfig": {"InstanceType": "ml.p3.2xlarge", "InstanceCount": 1, "VolumeSizeInGB": 50},
        "StoppingCondition": {"MaxRuntimeInSeconds": 7200},
    }


def stubbed_sagemaker(*descriptions):
    client = boto3.client("sagemaker", region_name=REGION)
    stub = Stubber(client)
    stub.add_response("create_training_job", {"TrainingJobArn": describe("", "")["TrainingJobArn"]},
                      expected_request())
    for description in descriptions:
        stub.add_response("describe_training_job", description, {"TrainingJobName": JOB})
    stub.activate()
    return client, stub


def spec():
    return sagemaker.JobSpec(bucket="socks", prefix="socksort", role=ROLE, job_name=JOB)


def test_a_completed_job_uploads_the_records_and_imports_the_model(s3, records, sagemaker_archive, tmp_path):
    train, val, labels = records
    archive, _ = sagemaker_archive(3)
    s3.upload_file(str(archive), "socks", ARTIFACT_KEY)   # what the job would leave behind
    client, stub = stubbed_sagemaker(describe("InProgress", "Training"),
                                     describe("Completed", "Completed", artifacts=f"s3://socks/{ARTIFACT_KEY}"))
    card = sagemaker.run(s3, client, spec(), train, val, labels, tmp_path / "model", REGION,
                         poll_s=0, sleep=lambda s: None)
    stub.assert_no_pending_responses()
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="socks")["Contents"]}
    assert {"socksort/train/socks_train.rec", "socksort/validation/socks_val.rec"} <= keys
    assert card.classes == ("Blank", "red", "blue")
    assert modelcard.load(tmp_path / "model", need=MODEL_FILES).source == "sagemaker-image-classification"


def test_the_channels_point_at_the_uploaded_records(s3, records):
    train, val, _ = records
    channels = sagemaker.upload_records(s3, spec(), train, val)
    request = sagemaker.training_job_request(spec(), channels, REGION, 3, 4)
    uris = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    assert uris == {"train": "s3://socks/socksort/train/", "validation": "s3://socks/socksort/validation/"}
    assert all(c["ContentType"] == "application/x-recordio" for c in request["InputDataConfig"])


def test_a_failed_job_is_reported_with_its_reason(s3, records, tmp_path):
    train, val, labels = records
    client, _ = stubbed_sagemaker(describe("Failed", "Failed", FailureReason="ClientError: out of memory"))
    with pytest.raises(UserError, match="ended Failed: ClientError: out of memory"):
        sagemaker.run(s3, client, spec(), train, val, labels, tmp_path / "model", REGION,
                      poll_s=0, sleep=lambda s: None)
    assert not (tmp_path / "model").exists()


def test_an_unknown_region_needs_an_image(tmp_path):
    with pytest.raises(UserError, match="--image"):
        sagemaker.image_uri("mars-north-1", None)

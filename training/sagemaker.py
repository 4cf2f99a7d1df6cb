"""``socksort sagemaker train``: the seed project's path, SageMaker's built-in algorithm, via boto3.

Upload the ``.rec`` files to S3, start a training job of the image-classification
algorithm with the seed's hyperparameters, follow it until it ends, then download
``model.tar.gz`` and import it as a model folder. The clients are passed in, so the S3
half runs against any S3-compatible endpoint and the job half against a stubbed client.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from socksort import progress
from socksort.errors import UserError
from socksort.training import data
from socksort.training.sagemaker_import import import_sagemaker

# The seed project's settings for SageMaker's image-classification algorithm.
SEED_HYPERPARAMETERS = {
    "num_layers": "18",
    "use_pretrained_model": "1",
    "image_shape": "3,512,512",
    "mini_batch_size": "12",
    "epochs": "100",
    "learning_rate": "0.0005",
}

# The algorithm's container registry accounts (image "image-classification:1") by region;
# --image overrides for any region not listed.
ALGORITHM_ACCOUNTS = {
    "us-east-1": "811284229777",
    "us-east-2": "825641698319",
    "us-west-2": "433757028032",
    "eu-west-1": "685385470294",
}
DONE = ("Completed", "Failed", "Stopped")


@dataclass(frozen=True)
class JobSpec:
    bucket: str
    prefix: str
    role: str
    job_name: str
    instance_type: str = "ml.p3.2xlarge"
    image: str | None = None
    hyperparameters: dict = field(default_factory=lambda: dict(SEED_HYPERPARAMETERS))
    max_runtime_s: int = 2 * 3600
    volume_gb: int = 50


def image_uri(region: str, override: str | None) -> str:
    if override:
        return override
    if region not in ALGORITHM_ACCOUNTS:
        raise UserError(f"no image-classification image known for region {region}; give it with --image")
    return f"{ALGORITHM_ACCOUNTS[region]}.dkr.ecr.{region}.amazonaws.com/image-classification:1"


def valid_job_name(name: str) -> str:
    if not re.fullmatch(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", name):
        raise ValueError("1-63 letters, digits and hyphens, starting with a letter or digit")
    return name


def upload_records(s3, spec: JobSpec, train_rec: Path, val_rec: Path) -> dict[str, str]:
    """The two channels' S3 prefixes after uploading one .rec into each."""
    channels = {}
    for channel, path in (("train", train_rec), ("validation", val_rec)):
        key = f"{spec.prefix.strip('/')}/{channel}/{Path(path).name}".lstrip("/")
        progress.step(f"uploading {path} to s3://{spec.bucket}/{key}")
        s3.upload_file(str(path), spec.bucket, key)
        channels[channel] = f"s3://{spec.bucket}/{key.rsplit('/', 1)[0]}/"
    return channels


def training_job_request(spec: JobSpec, channels: dict[str, str], region: str,
                         num_classes: int, num_training_samples: int) -> dict:
    hyper = {**spec.hyperparameters, "num_classes": str(num_classes),
             "num_training_samples": str(num_training_samples)}
    return {
        "TrainingJobName": spec.job_name,
        "AlgorithmSpecification": {"TrainingImage": image_uri(region, spec.image), "TrainingInputMode": "File"},
        "RoleArn": spec.role,
        "HyperParameters": hyper,
        "InputDataConfig": [
            {"ChannelName": name, "ContentType": "application/x-recordio", "CompressionType": "None",
             "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri,
                                             "S3DataDistributionType": "FullyReplicated"}}}
            for name, uri in channels.items()
        ],
        "OutputDataConfig": {"S3OutputPath": "/".join(filter(None, (f"s3://{spec.bucket}", spec.prefix.strip("/"),
                                                                      "output")))},
        "ResourceConfig": {"InstanceType": spec.instance_type, "InstanceCount": 1, "VolumeSizeInGB": spec.volume_gb},
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_runtime_s},
    }


def follow(sagemaker, job_name: str, poll_s: float = 30.0, sleep=time.sleep) -> dict:
    """Describe the job until it ends, printing each status change; the final description."""
    last = None
    while True:
        job = sagemaker.describe_training_job(TrainingJobName=job_name)
        status = (job["TrainingJobStatus"], job.get("SecondaryStatus"))
        if status != last:
            progress.step(f"training job {job_name}: {status[0]}" + (f" ({status[1]})" if status[1] else ""))
            last = status
        if job["TrainingJobStatus"] in DONE:
            return job
        sleep(poll_s)


def split_s3_uri(uri: str) -> tuple[str, str]:
    match = re.fullmatch(r"s3://([^/]+)/(.+)", uri or "")
    if not match:
        raise UserError(f"not an s3://bucket/key URI: {uri!r}")
    return match.group(1), match.group(2)


def run(s3, sagemaker, spec: JobSpec, train_rec: Path, val_rec: Path, labels: Path, out: Path,
        region: str, poll_s: float = 30.0, sleep=time.sleep):
    """Upload, train, follow, download and import; the imported model card."""
    classes = data.read_classes(Path(labels))
    train_set = data.read_records(Path(train_rec), len(classes))
    data.require_several_classes(train_set, classes)
    data.read_records(Path(val_rec), len(classes))
    channels = upload_records(s3, spec, train_rec, val_rec)
    request = training_job_request(spec, channels, region, len(classes), len(train_set))
    progress.step(f"starting training job {spec.job_name} ({spec.instance_type})")
    sagemaker.create_training_job(**request)
    job = follow(sagemaker, spec.job_name, poll_s, sleep)
    if job["TrainingJobStatus"] != "Completed":
        reason = job.get("FailureReason") or "no reason given"
        raise UserError(f"training job {spec.job_name} ended {job['TrainingJobStatus']}: {reason}")
    bucket, key = split_s3_uri(job.get("ModelArtifacts", {}).get("S3ModelArtifacts", ""))
    archive = Path(out).parent / f".{Path(out).name}.model.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    progress.step(f"downloading s3://{bucket}/{key}")
    try:
        s3.download_file(bucket, key, str(archive))
        return import_sagemaker(archive, labels, out)
    finally:
        archive.unlink(missing_ok=True)

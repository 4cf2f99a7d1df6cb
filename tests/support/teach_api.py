"""Helpers for the teach API's tests: a dashboard to talk to, requests, photos to teach.

The dashboard is the real one (``start_dashboard``) on a free port, its camera, broker,
Connect and ksql URLs pointing at nothing, its photos and models under the test's folder.
"""

from __future__ import annotations

import base64
import contextlib
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path

import teach_photos
from teach_photos import COLOURS

from socksort.config import HostPort, mqtt_url
from socksort.net import free_port


def nowhere() -> str:
    return f"http://127.0.0.1:{free_port()}"


@contextlib.contextmanager
def teach_server(images: Path, models: Path, *, token: str | None = None, edge_url: str | None = None,
                 auto_train: bool = False, host: str = "127.0.0.1"):
    """A running dashboard serving the teach API on ``images`` and ``models``."""
    from socksort.dashboard.app import Settings
    from socksort.dashboard.cli import start_dashboard, stop_dashboard

    settings = Settings(listen=HostPort(host, free_port()), edge_url=edge_url or nowhere(),
                        ksql_url=nowhere(), connect_url=nowhere(),
                        mqtt_url=mqtt_url(f"mqtt://127.0.0.1:{free_port()}"), health_every=0.5,
                        images=images, models=models, api_token=token, auto_train=auto_train,
                        corrections=Path(images).parent / "corrections.json")
    dashboard, server, thread = start_dashboard(settings)
    try:
        yield Api(f"http://127.0.0.1:{server.server_address[1]}", token)
    finally:
        stop_dashboard(dashboard, server, thread)


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class Api:
    base: str
    token: str | None = None

    def call(self, method: str, path: str, *, json_body=None, data: bytes | None = None,
             headers: dict | None = None, timeout: float = 30) -> Answer:
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        if json_body is not None:
            data = json.dumps(json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Answer(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, dict(exc.headers), exc.read())

    def get(self, path: str, **kwargs) -> Answer:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body=None, **kwargs) -> Answer:
        return self.call("POST", path, json_body=body, **kwargs)

    def upload(self, path: str, fields: dict, file: bytes, filename: str = "photo.jpg",
               content_type: str = "image/jpeg") -> Answer:
        body, kind = form(fields, file, filename, content_type)
        return self.call("POST", path, data=body, headers={"Content-Type": kind})

    def teach(self, label: str, photo: bytes) -> Answer:
        return self.post("/api/examples", {"label": label, "base64": base64.b64encode(photo).decode()})


def form(fields: dict, file: bytes | None, filename: str = "photo.jpg",
         content_type: str = "image/jpeg") -> tuple[bytes, str]:
    """A multipart/form-data body as a browser or curl -F sends it."""
    boundary = f"----socksort{uuid.uuid4().hex}"
    chunks = []
    for name, value in fields.items():
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    if file is not None:
        chunks.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                      f"Content-Type: {content_type}\r\n\r\n".encode() + file + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def photo(colour: str, seed: int, fmt: str = ".jpg") -> bytes:
    """A photo of a coloured sock (teach_photos' disc on noise), encoded as ``fmt``."""
    import cv2

    image = teach_photos.photo(COLOURS[colour], seed * 100 + list(COLOURS).index(colour))
    ok, encoded = cv2.imencode(fmt, image)
    assert ok
    return encoded.tobytes()


def teach_colours(api: Api, per_class: int = 3, colours=tuple(COLOURS)) -> None:
    for colour in colours:
        for seed in range(per_class):
            answer = api.teach(colour, photo(colour, seed))
            assert answer.status == 201, answer.body


def sse_events(api: Api, path: str, timeout: float = 300) -> list[tuple[str, dict]]:
    """Every (event, data) of an event stream, read until the server ends it."""
    headers = {"Accept": "text/event-stream"}
    if api.token:
        headers["Authorization"] = f"Bearer {api.token}"
    request = urllib.request.Request(api.base + path, headers=headers)
    events, kind, data = [], None, []
    with urllib.request.urlopen(request, timeout=timeout) as response:
        for raw in response:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                kind = line[len("event: "):]
            elif line.startswith("data: "):
                data.append(line[len("data: "):])
            elif line == "" and data:
                events.append((kind, json.loads("\n".join(data))))
                kind, data = None, []
    return events


def wait_job(api: Api, job: str, timeout: float = 600) -> dict:
    """The job once it has ended, followed through its own event stream."""
    events = sse_events(api, f"/api/train/{job}/events", timeout=timeout)
    assert events and events[-1][0] == "end", events[-3:]
    return api.get(f"/api/train/{job}").json()

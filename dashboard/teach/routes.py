"""The teach API: each route of ``/api/`` that teaches, trains, deploys and classifies.

Routes take a :class:`~socksort.dashboard.teach.web.Request` and give a
:class:`~socksort.dashboard.teach.web.Response`; errors are raised as ``ApiError`` (or the
stores' own ``UserError`` kinds, mapped to statuses in :meth:`TeachApi.handle`) and answer
``{"success": false, "error": "<one line>"}``.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

from socksort import images, modelstore
from socksort.errors import UserError
from socksort.examples import ExampleStore, NoSuchExample, validate_label
from socksort.modelstore import ModelStore, NoSuchModel, valid_id
from socksort.dashboard.sse import comment, frame
from socksort.dashboard.teach import capture, fetch, jobs, state
from socksort.dashboard.teach.autotrain import AutoTrainer
from socksort.dashboard.teach.classify import Classifier
from socksort.dashboard.teach.web import (MAX_IMAGE, ApiError, Request, Response, base64_image, error,
                                          string_field, upload)

KEEPALIVE_S = 10.0
MAX_STATE_FORM = 256 * state.MB   # a state zip sent as a form part is held in memory


class TeachApi:
    def __init__(self, images_dir: Path, models_dir: Path, edge_url: str, auto_train: bool = False,
                 quiet: float | None = None):
        self.images_dir = Path(images_dir)
        self.models_dir = Path(models_dir)
        self.edge_url = edge_url
        self.examples = ExampleStore(self.images_dir)
        self.models = ModelStore(self.models_dir)
        self.jobs = jobs.Jobs(self.images_dir, self.models_dir)
        self.classifier = Classifier(self.models)
        self.stopping = threading.Event()
        self.auto = None
        if auto_train:
            already = {m.card.dataset_version for m in self.models.models() if m.card.mode == "quick"}
            current = self.examples.version()
            kwargs = {} if quiet is None else {"quiet": quiet}
            self.auto = AutoTrainer(self.examples.version, self._auto_job,
                                    busy=lambda: self.jobs.running() is not None,
                                    trained=current if current in already else None, **kwargs)
        self._routes: list[tuple[str, re.Pattern, Callable]] = [
            ("GET", r"/api/teach", self.overview),
            ("GET", r"/api/examples", self.list_examples),
            ("POST", r"/api/examples", self.add_example),
            ("POST", r"/api/examples/capture", self.capture),
            ("GET", r"/api/examples/(?P<example>[^/]+)/image", self.example_image),
            ("DELETE", r"/api/examples/(?P<example>[^/]+)", self.delete_example),
            ("PATCH", r"/api/examples/(?P<example>[^/]+)", self.relabel_example),
            ("POST", r"/api/labels/rename", self.rename_label),
            ("DELETE", r"/api/labels/(?P<label>[^/]+)", self.delete_label),
            ("GET", r"/api/train", self.list_jobs),
            ("POST", r"/api/train", self.train),
            ("GET", r"/api/train/(?P<job>[^/]+)", self.job),
            ("GET", r"/api/train/(?P<job>[^/]+)/events", self.job_events),
            ("POST", r"/api/train/(?P<job>[^/]+)/cancel", self.cancel_job),
            ("GET", r"/api/models", self.list_models),
            ("GET", r"/api/models/(?P<model>[^/]+)", self.model),
            ("POST", r"/api/models/(?P<model>[^/]+)/deploy", self.deploy),
            ("POST", r"/api/classify", self.classify),
            ("GET", r"/api/state", self.export_state),
            ("POST", r"/api/state", self.import_state),
        ]
        self._routes = [(method, re.compile(pattern), func) for method, pattern, func in self._routes]

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        if self.auto is not None:
            self.auto.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.auto is not None:
            self.auto.stop()
        self.jobs.stop_all()

    # --- dispatch -------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        return any(pattern.fullmatch(path) for _, pattern, _ in self._routes)

    def handle(self, request: Request) -> Response:
        allowed = []
        for method, pattern, func in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if method != request.method:
                allowed.append(method)
                continue
            try:
                return func(request, **{k: unquote(v) for k, v in match.groupdict().items()})
            except ApiError as exc:
                return error(exc.status, exc.message)
            except (NoSuchExample, NoSuchModel) as exc:
                return error(404, str(exc))
            except UserError as exc:   # a bad label, an unreadable image, a bad state zip
                return error(400, str(exc))
        if allowed:
            response = error(405, f"{request.method} is not allowed on {request.path} "
                                  f"(use {', '.join(sorted(set(allowed)))})")
            response.headers["Allow"] = ", ".join(sorted(set(allowed)))
            return response
        return error(404, f"no such endpoint: {request.path}")

    # --- the dataset ----------------------------------------------------------------

    def dataset(self, examples=None) -> dict:
        examples = self.examples.examples() if examples is None else examples
        counts: dict[str, int] = {}
        for example in examples:
            counts[example.label] = counts.get(example.label, 0) + 1
        return {"version": self.examples.version(examples), "classes": counts}

    def overview(self, request: Request) -> Response:
        running = self.jobs.running()
        return Response.of_json(200, {
            "images": str(self.images_dir), "models": str(self.models_dir), "edge_url": self.edge_url,
            "dataset": self.dataset(), "deployed": self.models.deployed(),
            "job": running.to_dict() if running else None,
            "auto_train": self.auto.to_dict() if self.auto else {"enabled": False}})

    def list_examples(self, request: Request) -> Response:
        label = request.query.get("label")
        if label is not None:
            validate_label(label)
        everything = self.examples.examples()
        shown = [e for e in everything if label is None or e.label == label]
        return Response.of_json(200, {"examples": [e.to_dict() for e in shown], "dataset": self.dataset(everything)})

    def add_example(self, request: Request) -> Response:
        data, name, fields = upload(request)
        label = fields.get("label")
        if label is None:
            raise ApiError(400, "the example needs a 'label'")
        added = self.examples.add(data, validate_label(label), name=name)
        return Response.of_json(201 if added.created else 200, _example_answer(added.example))

    def capture(self, request: Request) -> Response:
        body = request.json()
        label = validate_label(string_field(body, "label"))
        edge_url = string_field(body, "edge_url", required=False) or self.edge_url
        try:
            captured = capture.capture(self.examples, label, edge_url)
        except fetch.FetchFailed as exc:
            raise ApiError(502, f"no frame from the edge: {exc}") from None
        if captured.added is None:
            return Response.of_json(200, {"skipped": True, "label": label, "duplicate_of": captured.duplicate_of,
                                          "reason": "the frame shows the same view as the class's last photo"})
        example = captured.added.example
        return Response.of_json(201 if captured.added.created else 200,
                                {**_example_answer(example), "skipped": False})

    def example_image(self, request: Request, example: str) -> Response:
        found = self.examples.get(example)
        try:
            data = found.path.read_bytes()
        except FileNotFoundError:
            raise ApiError(404, f"photo {example} was removed meanwhile") from None
        kind = "image/png" if found.path.suffix.lower() == ".png" else "image/jpeg"
        return Response(200, data, kind, {"Cache-Control": "private, max-age=3600"})

    def delete_example(self, request: Request, example: str) -> Response:
        self.examples.delete(example)
        return Response(204, content_type="")

    def relabel_example(self, request: Request, example: str) -> Response:
        label = validate_label(string_field(request.json(), "label"))
        moved = self.examples.relabel(example, label)
        return Response.of_json(200, _example_answer(moved))

    def rename_label(self, request: Request) -> Response:
        body = request.json()
        old, new = string_field(body, "from"), string_field(body, "to")
        moved = self.examples.rename_label(validate_label(old), validate_label(new))
        return Response.of_json(200, {"from": old, "to": new, "moved": moved, "dataset": self.dataset()})

    def delete_label(self, request: Request, label: str) -> Response:
        removed = self.examples.delete_label(validate_label(label))
        return Response.of_json(200, {"label": label, "deleted": removed, "dataset": self.dataset()})

    # --- training -------------------------------------------------------------------

    def train(self, request: Request) -> Response:
        body = request.json(required=False)
        mode = body.get("mode", "quick")
        if not isinstance(mode, str):
            raise ApiError(400, "'mode' must be \"quick\" or \"full\"")
        job = self._start(mode)
        return Response.of_json(202, {"job": job.id, "state": job.state, "mode": job.mode,
                                      "dataset_version": job.dataset_version})

    def _start(self, mode: str) -> jobs.Job:
        examples = self.examples.examples()
        dataset = self.dataset(examples)
        return self.jobs.start(mode, dataset["classes"], dataset["version"])

    def _auto_job(self, version: str) -> jobs.Job:
        return self._start("quick")

    def list_jobs(self, request: Request) -> Response:
        return Response.of_json(200, {"jobs": [job.to_dict() for job in self.jobs.all()]})

    def job(self, request: Request, job: str) -> Response:
        found = self.jobs.get(job)
        with found.changed:
            return Response.of_json(200, found.to_dict())

    def cancel_job(self, request: Request, job: str) -> Response:
        found = self.jobs.cancel(job)
        with found.changed:
            return Response.of_json(200, found.to_dict())

    def job_events(self, request: Request, job: str) -> Response:
        found = self.jobs.get(job)
        last = request.header("last-event-id")
        after = int(last) if last.isdigit() else 0

        def stream():
            yield b"retry: 2000\n\n"
            for event in jobs.follow(found, after, keepalive=KEEPALIVE_S, stopping=self.stopping):
                if event is None:
                    yield comment("keep-alive")
                else:
                    seq, kind, data = event
                    yield frame(kind, data, seq)

        return Response(200, content_type="text/event-stream", headers={"Cache-Control": "no-store"},
                        stream=stream())

    # --- models ---------------------------------------------------------------------

    def list_models(self, request: Request) -> Response:
        deployed = self.models.deployed()
        return Response.of_json(200, {"models": [modelstore.summary(m, deployed) for m in self.models.models()],
                                      "deployed": deployed})

    def model(self, request: Request, model: str) -> Response:
        return Response.of_json(200, modelstore.details(self.models.get(valid_id(model)), self.models.deployed()))

    def deploy(self, request: Request, model: str) -> Response:
        stored = self.models.deploy(valid_id(model))
        return Response.of_json(200, modelstore.summary(stored, stored.id))

    # --- classifying ----------------------------------------------------------------

    def classify(self, request: Request) -> Response:
        if request.media_type == "multipart/form-data":
            data, name, _ = upload(request)
        else:
            body = request.json()
            if "url" in body:
                url = string_field(body, "url")
                try:
                    data, name = fetch.get(url, MAX_IMAGE).data, url
                except fetch.FetchFailed as exc:
                    raise ApiError(400, str(exc)) from None
            elif "base64" in body:
                data, name = base64_image(body), "the base64 image"
            else:
                raise ApiError(400, "give the image as a multipart 'file', or JSON 'base64' or 'url'")
        chosen = request.query.get("model")
        if chosen is not None:
            model = self.models.get(valid_id(chosen))
        else:
            model = self.models.current()
            if model is None:
                raise ApiError(404, "no model yet: teach examples and train one first")
        try:
            return Response.of_json(200, self.classifier.classify(data, model, name).to_dict())
        except images.UnreadableImage as exc:
            raise ApiError(400, str(exc)) from None

    # --- export and import ----------------------------------------------------------

    def export_state(self, request: Request) -> Response:
        spool = state.spool()
        manifest = state.export(self.examples, self.models, spool)
        length = spool.tell()
        spool.seek(0)

        def chunks():
            with spool:
                while block := spool.read(1 << 20):
                    yield block

        stamp = manifest["exported"].replace(":", "").replace("-", "")
        return Response(200, content_type="application/zip", stream=chunks(), length=length,
                        headers={"Content-Disposition": f'attachment; filename="socksort-state-{stamp}.zip"',
                                 "Cache-Control": "no-store"})

    def import_state(self, request: Request) -> Response:
        if request.media_type == "multipart/form-data":
            parts = request.form(MAX_STATE_FORM)
            if "file" not in parts:
                raise ApiError(400, "the form has no 'file' part")
            source = state.spool()
            source.write(parts["file"].data)
        else:
            source = state.spool()
            request.copy_body(source, state.MAX_UPLOAD)
        source.seek(0)
        with source:
            result = state.import_zip(source, self.examples, self.models)
        return Response.of_json(200, {**result.to_dict(), "dataset": self.dataset()})


def _example_answer(example) -> dict:
    return {"id": example.id, "label": example.label, "sha256": example.sha256, "added": example.added}

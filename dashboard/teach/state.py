"""The teach state as one zip: export it from one server, import it into another.

Layout of the zip::

    manifest.json              format, dataset version, every photo, every model's card,
                               the deployed id
    images/<label>/<id>.jpg    every photo, as stored
    models/<id>/model.json     every model's card (its metadata)
    models/<id>/training-history.json    when the model has one
    models/<current id>/...    the whole folder of the model that serves by default (the
                               deployed one, else the newest), so predictions match after import

An import reads a zip nobody vouches for. Before anything is written it checks every
member: its name (no absolute path, no ``..``, nothing outside the layout above), its size
(at most :data:`MAX_MEMBER`, :data:`MAX_TOTAL` in all, and no member expanding more than
:data:`MAX_RATIO` times: a zip bomb stops at the headers), and each photo decodes. Then
photos go in through the example store (atomic writes, one photo at a time) and each
complete model folder through an atomic folder swap.
"""

from __future__ import annotations

import json
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from socksort import atomic, images, modelcard, modelstore
from socksort.contract import MODEL_FILES
from socksort.errors import UserError
from socksort.examples import ExampleStore, validate_label
from socksort.modelstore import ID_PATTERN, ModelStore

FORMAT = "socksort-teach-state/1"
MB = 1024 * 1024
MAX_UPLOAD = 1024 * MB          # the zip itself
MAX_MEMBER = 512 * MB           # one file inside it, uncompressed
MAX_TOTAL = 2048 * MB           # every file inside it, uncompressed
MAX_RATIO = 200                 # uncompressed / compressed size of one member
MAX_MEMBERS = 100_000
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
HISTORY = modelstore.HISTORY


class BadState(UserError):
    """A state zip that cannot be imported; the message names the member and the problem."""


# --- export -------------------------------------------------------------------------------

def export(examples: ExampleStore, models: ModelStore, out) -> dict:
    """Write the state zip to the binary file ``out``; returns the manifest written."""
    photos = examples.examples()
    stored = models.models()
    deployed = models.deployed()
    current = models.current()
    whole = current.id if current is not None else None
    written_photos = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for example in photos:
            name = f"images/{example.label}/{example.id}.jpg"
            try:
                data = example.path.read_bytes()
            except FileNotFoundError:
                continue   # deleted while exporting: the manifest lists what the zip holds
            archive.writestr(zipfile.ZipInfo(name, _zip_time()), data, compress_type=zipfile.ZIP_STORED)
            written_photos.append({**example.to_dict(), "path": name})
        for model in stored:
            folder_files = (_files_of(model.folder) if model.id == whole
                            else [p for p in (model.folder / "model.json", model.folder / HISTORY) if p.is_file()])
            for path in folder_files:
                archive.write(path, f"models/{model.id}/{path.relative_to(model.folder).as_posix()}")
        manifest = {
            "format": FORMAT,
            "exported": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "dataset_version": examples.version(),
            "classes": examples.classes(),
            "examples": written_photos,
            "models": [{"id": m.id, "complete": m.id == whole, "card": m.card.to_dict()} for m in stored],
            "deployed": deployed,
            "current": whole,
        }
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return manifest


def _files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _zip_time() -> tuple:
    return time.gmtime()[:6]


# --- import -------------------------------------------------------------------------------

@dataclass
class Imported:
    examples_added: int = 0
    examples_present: int = 0
    models_added: list[str] = field(default_factory=list)
    models_present: list[str] = field(default_factory=list)
    models_metadata_only: list[str] = field(default_factory=list)
    deployed: str | None = None

    def to_dict(self) -> dict:
        return {"examples_added": self.examples_added, "examples_present": self.examples_present,
                "models_added": self.models_added, "models_present": self.models_present,
                "models_metadata_only": self.models_metadata_only, "deployed": self.deployed}


@dataclass
class _Checked:
    photos: list[tuple[str, zipfile.ZipInfo]]                  # (label, member)
    models: dict[str, list[tuple[str, zipfile.ZipInfo]]]       # id -> (relative path, member)
    deployed: str | None


def import_zip(source, examples: ExampleStore, models: ModelStore) -> Imported:
    """Import a state zip (a path or a seekable binary file) into the stores.

    Photos join the dataset (ones already there stay as they are); each model whose whole
    folder is in the zip is added; the zip's deployed model is deployed when the server has
    none deployed yet. Raises :class:`BadState` naming the first problem, before writing.
    """
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise BadState(f"the upload is not a zip file ({exc})") from None
    with archive:
        checked = _check(archive)
        for label, member in checked.photos:
            _decodes(archive, member)
        complete = {model_id: files for model_id, files in checked.models.items()
                    if {name for name, _ in files} >= set(MODEL_FILES)}
        for model_id, files in complete.items():
            _check_card(archive, model_id, files)
        result = Imported()
        for label, member in checked.photos:
            added = examples.add(_read(archive, member), label, name=member.filename)
            if added.created:
                result.examples_added += 1
            else:
                result.examples_present += 1
        for model_id, files in sorted(checked.models.items()):
            if model_id not in complete:
                result.models_metadata_only.append(model_id)
                continue
            if models.has(model_id):
                result.models_present.append(model_id)
                continue
            _install_model(archive, model_id, files, models)
            result.models_added.append(model_id)
        if checked.deployed and models.deployed() is None and models.has(checked.deployed):
            models.deploy(checked.deployed)
        result.deployed = models.deployed()
        return result


def _check(archive: zipfile.ZipFile) -> _Checked:
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise BadState(f"the zip holds {len(members)} files, more than {MAX_MEMBERS}")
    total = 0
    photos: list[tuple[str, zipfile.ZipInfo]] = []
    model_files: dict[str, list[tuple[str, zipfile.ZipInfo]]] = {}
    manifest = None
    for member in members:
        name = member.filename
        if member.is_dir():
            _safe_parts(name.rstrip("/"))
            continue
        parts = _safe_parts(name)
        if member.file_size > MAX_MEMBER:
            raise BadState(f"{name} is {member.file_size // MB} MB uncompressed, over the {MAX_MEMBER // MB} MB limit")
        if member.file_size > MB and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise BadState(f"{name} expands {member.file_size // max(member.compress_size, 1)} times "
                           f"(over {MAX_RATIO}): refusing a zip bomb")
        total += member.file_size
        if total > MAX_TOTAL:
            raise BadState(f"the zip expands to more than {MAX_TOTAL // MB} MB")
        if parts == ["manifest.json"]:
            manifest = member
        elif len(parts) == 3 and parts[0] == "images":
            try:
                label = validate_label(parts[1])
            except UserError as exc:
                raise BadState(f"{name}: {exc}") from None
            if PurePosixPath(parts[2]).suffix.lower() not in (".jpg", ".jpeg", ".png"):
                raise BadState(f"{name} is not a .jpg, .jpeg or .png photo")
            photos.append((label, member))
        elif len(parts) >= 3 and parts[0] == "models" and ID_PATTERN.fullmatch(parts[1]):
            model_files.setdefault(parts[1], []).append(("/".join(parts[2:]), member))
        else:
            raise BadState(f"{name} has no place in a socksort state zip "
                           f"(expected manifest.json, images/<label>/<photo> or models/<id>/<file>)")
    if manifest is None:
        raise BadState("the zip has no manifest.json: it is not a socksort state export")
    info = _manifest(archive, manifest)
    deployed = info.get("deployed")
    if deployed is not None and (not isinstance(deployed, str) or not ID_PATTERN.fullmatch(deployed)):
        raise BadState(f"manifest.json names {deployed!r} as deployed, which is not a model id")
    return _Checked(photos, model_files, deployed)


def _safe_parts(name: str) -> list[str]:
    """The path of a member as parts, or BadState when it could land outside the target."""
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BadState(f"{name} is an absolute or Windows path: refusing it")
    parts = name.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise BadState(f"{name} has an empty, '.' or '..' part: refusing a path traversal")
    if parts[0] == "models" and len(parts) >= 3 and not all(SAFE_NAME.fullmatch(p) for p in parts[2:]):
        raise BadState(f"{name} is not a plain file name inside a model folder")
    return parts


def _manifest(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> dict:
    try:
        info = json.loads(_read(archive, member, limit=64 * MB))
    except ValueError as exc:
        raise BadState(f"manifest.json is not valid JSON ({exc})") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise BadState(f"manifest.json is not a {FORMAT} manifest")
    return info


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int = MAX_MEMBER) -> bytes:
    """A member's bytes, never more than its header declared (nor ``limit``)."""
    cap = min(member.file_size, limit)
    try:
        with archive.open(member) as handle:
            data = handle.read(cap + 1)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise BadState(f"{member.filename} cannot be read from the zip ({exc})") from None
    if len(data) > cap:
        raise BadState(f"{member.filename} holds more than its header declares: refusing a zip bomb")
    return data


def _decodes(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> None:
    try:
        images.decode(_read(archive, member), member.filename)
    except images.UnreadableImage as exc:
        raise BadState(str(exc)) from None


def _install_model(archive: zipfile.ZipFile, model_id: str, files, models: ModelStore) -> None:
    with atomic.replace_folder(models.folder(model_id)) as staging:
        for relative, member in files:
            target = staging.joinpath(*relative.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as source, open(target, "wb") as out:
                _copy(source, out, member)
        try:
            modelcard.load(staging, need=MODEL_FILES)
        except UserError as exc:
            raise BadState(f"models/{model_id}: {exc}") from None


def _check_card(archive: zipfile.ZipFile, model_id: str, files) -> None:
    """A model folder's model.json must be a card, of this id, before anything is written."""
    member = next(member for path, member in files if path == "model.json")
    try:
        card = modelcard.ModelCard.from_dict(json.loads(_read(archive, member, limit=16 * MB)))
    except (ValueError, TypeError) as exc:
        raise BadState(f"models/{model_id}/model.json is not a model card ({exc})") from None
    if card.id is not None and card.id != model_id:
        raise BadState(f"models/{model_id}/model.json says its id is {card.id}")


def _copy(source, out, member: zipfile.ZipInfo) -> int:
    copied = 0
    while True:
        block = source.read(MB)
        if not block:
            return copied
        copied += len(block)
        if copied > member.file_size:
            raise BadState(f"{member.filename} holds more than its header declares: refusing a zip bomb")
        out.write(block)


def spool() -> tempfile.SpooledTemporaryFile:
    """Where an upload or an export is held: memory while small, a temporary file after."""
    return tempfile.SpooledTemporaryFile(max_size=16 * MB)

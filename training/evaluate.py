"""``socksort evaluate``: accuracy of a model folder on a folder of labelled photos."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from socksort import progress
from socksort.errors import UserError
from socksort.training.metrics import Scores
from socksort.training.predict import IMAGE_SUFFIXES, Classifier, read_image


def labelled_photos(root: Path, classes) -> list[tuple[Path, int]]:
    """(photo, class index) for every ROOT/<label>/<photo>; every label must be a model class."""
    root = Path(root)
    if not root.is_dir():
        raise UserError(f"{root} is not a folder of labelled photos (DATA_DIR/<label>/*.jpg)")
    index = {name: i for i, name in enumerate(classes)}
    items = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        photos = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not photos:
            continue
        if folder.name not in index:
            raise UserError(f"{folder}: '{folder.name}' is not a class of the model "
                            f"({', '.join(classes[:8])}{', ...' if len(classes) > 8 else ''})")
        items += [(photo, index[folder.name]) for photo in photos]
    if not items:
        raise UserError(f"{root} holds no photos in class folders (DATA_DIR/<label>/*.jpg)")
    return items


def evaluate(model: Path, root: Path, batch_size: int = 16) -> Scores:
    classifier = Classifier(model, batch_size)
    items = labelled_photos(root, classifier.classes)
    predicted = []
    with progress.Bar(len(items), "evaluating") as bar:
        for start in range(0, len(items), batch_size):
            chunk = items[start:start + batch_size]
            probabilities = classifier.probabilities([read_image(path) for path, _ in chunk])
            predicted += list(probabilities.argmax(axis=1))
            bar.update(len(chunk))
    truth = np.asarray([label for _, label in items])
    return Scores.of(classifier.classes, truth, np.asarray(predicted))


def report(scores: Scores) -> str:
    lines = [f"accuracy {100 * scores.accuracy:.1f}% on {scores.total} photos", "",
             f"{'class':<24}{'photos':>7}{'accuracy':>10}"]
    counts = scores.confusion.sum(axis=1)
    for (name, accuracy), count in zip(scores.per_class().items(), counts):
        if count:
            lines.append(f"{name:<24}{count:>7}{100 * accuracy:>9.1f}%")
    lines += ["", "confusion matrix (rows: true, columns: predicted, in class order)"]
    lines += [" ".join(f"{v:>3}" for v in row) for row in scores.confusion]
    return "\n".join(lines)

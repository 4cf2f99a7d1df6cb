"""The box head's teaching material (training/box_head.py): things cut out of photos,
backdrops, made-up scenes with exact boxes, and what each cell should say."""

from __future__ import annotations

from dataclasses import asdict

import cv2
import numpy as np
import pytest

from socksort.modelcard import Preprocess
from socksort.training import box_head


def photo_of_a_thing(rng: np.random.Generator, colour=(40, 40, 220)) -> tuple[np.ndarray, np.ndarray]:
    """A 240 x 320 photo: a textured grey floor and a turned, filled ellipse; and its true mask."""
    image = np.clip(rng.normal(120, 12, (240, 320, 3)), 0, 255).astype(np.uint8)
    truth = np.zeros((240, 320), np.uint8)
    cv2.ellipse(truth, (165, 118), (95, 55), 30, 0, 360, 1, -1)
    image[truth > 0] = colour
    return image, truth > 0


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def test_a_thing_is_cut_out_of_its_photo():
    image, truth = photo_of_a_thing(np.random.default_rng(0))
    assert mask_iou(box_head.cut_out(image), truth) > 0.85


def test_a_photo_with_nothing_in_it_cuts_out_nothing():
    assert box_head.cut_out(np.full((240, 320, 3), 128, np.uint8)) is None


def test_a_backdrop_is_the_floor_beside_the_thing_without_the_thing():
    image, truth = photo_of_a_thing(np.random.default_rng(1))
    floor = box_head.backdrop(image, truth)
    assert floor.shape == image.shape
    reddish = (floor[..., 2].astype(int) - floor[..., 0]) > 100
    assert not reddish.any()


def test_a_thing_leaving_no_strip_of_floor_gives_a_backdrop_of_the_floors_colour():
    image = np.zeros((100, 100, 3), np.uint8)
    image[:] = (10, 200, 30)
    mask = np.zeros((100, 100), bool)
    mask[8:92, 8:92] = True
    image[mask] = (200, 0, 200)
    floor = box_head.backdrop(image, mask)
    assert floor.shape == image.shape
    assert np.abs(floor.reshape(-1, 3).mean(axis=0) - (10, 200, 30)).max() < 3


def test_a_thing_filling_its_whole_photo_leaves_no_backdrop():
    image = np.zeros((100, 100, 3), np.uint8)
    mask = np.ones((100, 100), bool)
    mask[0, 0] = False
    assert box_head.backdrop(image, mask) is None


def solid(colour, label: int, size=(60, 90)) -> box_head.Cutout:
    image = np.zeros((*size, 3), np.uint8)
    image[:] = colour
    return box_head.Cutout(image, np.ones(size, np.float32), label)


def test_a_made_up_scenes_boxes_are_where_its_things_are_seen():
    rng = np.random.default_rng(3)
    things = [solid((255, 0, 0), 0), solid((0, 255, 0), 1), solid((0, 0, 255), 2)]
    backdrops = [np.zeros((200, 200, 3), np.uint8)]
    checked = 0
    for _ in range(20):
        scene = box_head.compose(rng, things, backdrops, max_things=3)
        for box, label in zip(scene.boxes, scene.labels):
            if scene.labels.count(label) > 1:
                continue            # two things of one colour: whose pixel is whose is not told
            channel = scene.frame[..., label].astype(int)
            others = np.delete(scene.frame, label, axis=2).max(axis=2).astype(int)
            ys, xs = np.nonzero(channel - others > 120)
            assert abs(xs.min() - box[0]) <= 3 and abs(ys.min() - box[1]) <= 3
            assert abs(xs.max() + 1 - box[2]) <= 3 and abs(ys.max() + 1 - box[3]) <= 3
            checked += 1
    assert checked >= 10


def test_a_thing_with_too_few_pixels_seen_has_no_box():
    rng = np.random.default_rng(5)
    speck = np.zeros((100, 100), np.float32)
    speck[50, 50] = 1.0                                 # a few pixels at any size it is drawn
    things = [box_head.Cutout(np.full((100, 100, 3), 255, np.uint8), speck, 0)]
    scenes = [box_head.compose(rng, things, [np.zeros((50, 50, 3), np.uint8)], max_things=3) for _ in range(10)]
    assert any(s.frame.max() > 100 for s in scenes)     # specks were drawn ...
    assert all(s.boxes == () and s.labels == () for s in scenes)   # ... and none is a thing


def test_the_cell_at_a_things_middle_regresses_its_box_and_class():
    truth = box_head.targets([(0.2, 0.3, 0.6, 0.7)], [4], 14, 14)
    row, col = 7, 5                                      # centres 0.536, 0.393: the box's middle
    assert truth.positive[row, col] and truth.label[row, col] == 4
    assert truth.centre[row, col] == pytest.approx(truth.centre.max())
    x, y = (col + 0.5) / 14, (row + 0.5) / 14
    left, up, right, down = truth.distances[row, col]
    assert (x - left, y - up, x + right, y + down) == pytest.approx((0.2, 0.3, 0.6, 0.7))


def test_cells_away_from_every_thing_are_negative_and_not_a_middle():
    truth = box_head.targets([(0.2, 0.3, 0.6, 0.7)], [0], 14, 14)
    assert not truth.positive[0, 13] and truth.centre[0, 13] < 0.01


def test_a_cell_two_things_claim_belongs_to_the_smaller():
    truth = box_head.targets([(0.0, 0.0, 1.0, 1.0), (0.4, 0.4, 0.6, 0.6)], [0, 1], 14, 14)
    assert truth.label[7, 7] == 1
    assert truth.distances[7, 7][0] == pytest.approx((7.5 / 14) - 0.4)


def test_a_frame_box_maps_onto_the_centre_crop_input_past_its_square():
    pre = Preprocess(input_size=224, resize="shorter_center_crop", resize_shorter=224)
    assert box_head.to_input((0, 0, 320, 480), 640, 480, pre) == pytest.approx((-80 / 480, 0, 240 / 480, 1))


def test_more_photos_make_more_scenes_within_bounds():
    cfg = box_head.BoxHeadConfig()
    assert cfg.scene_count(1) == box_head.MIN_SCENES
    assert cfg.scene_count(20) == 20 * box_head.SCENES_PER_PHOTO
    assert cfg.scene_count(10_000) == box_head.MAX_SCENES
    assert box_head.BoxHeadConfig(scenes=50).scene_count(10_000) == 50


def test_a_head_trained_with_another_recipe_gets_another_model_id(monkeypatch):
    now = box_head.box_params(box_head.BoxHeadConfig())
    monkeypatch.setattr(box_head, "HEAD_RECIPE", box_head.HEAD_RECIPE - 1)
    assert box_head.box_params(box_head.BoxHeadConfig()) != now


def test_the_default_heads_settings_are_spelled_in_its_model_id_so_new_defaults_give_a_new_id():
    assert box_head.box_params(box_head.BoxHeadConfig())["box_head"] == asdict(box_head.BoxHeadConfig())


def test_a_model_without_a_head_does_not_carry_the_head_recipe():
    assert "box_head_recipe" not in box_head.box_params(box_head.BoxHeadConfig(scenes=0))

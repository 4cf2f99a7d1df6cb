"""Augmentation: same-size uint8 variants that really vary, reproducibly for one seed."""

import numpy as np

from socksort.training.augment import Augment, augment, random_crop_box, stretch


def photo():
    rng = np.random.default_rng(0)
    image = np.zeros((120, 160, 3), np.uint8)
    image[:, :80] = (200, 40, 40)          # left half one colour, right half noise
    image[:, 80:] = rng.integers(0, 256, (120, 80, 3), dtype=np.uint8)
    return image


def test_a_variant_is_a_square_uint8_image_of_the_input_size():
    out = augment(photo(), 64, np.random.default_rng(1))
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8


def test_the_same_seed_gives_the_same_variant_and_another_seed_another():
    a = augment(photo(), 64, np.random.default_rng(5))
    b = augment(photo(), 64, np.random.default_rng(5))
    c = augment(photo(), 64, np.random.default_rng(6))
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_stretch_changes_the_aspect_and_keeps_the_area():
    out = stretch(photo(), 1.44)                      # 1.2 x taller, 1/1.2 as wide
    assert out.shape[:2] == (144, 133)


def test_crops_stay_inside_the_image_and_cover_at_least_the_smallest_area():
    aug = Augment(crop_area=(0.5, 1.0))
    rng = np.random.default_rng(2)
    for _ in range(200):
        top, left, h, w = random_crop_box(120, 160, rng, aug)
        assert 0 <= top and top + h <= 120 and 0 <= left and left + w <= 160
        assert h * w >= 0.45 * 120 * 160


def test_with_nothing_random_left_the_variant_is_the_resized_image():
    still = Augment(rotate_degrees=0, stretch=(1.0, 1.0), crop_area=(1.0, 1.0), crop_ratio=(4 / 3, 4 / 3),
                    flip=False, brightness=0, contrast=0, saturation=0, hue_degrees=0)
    import cv2
    out = augment(photo(), 64, np.random.default_rng(0), still)
    expected = cv2.resize(photo(), (64, 64), interpolation=cv2.INTER_AREA)
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 2   # HSV round trip

"""The reference preprocessing that training, predict/evaluate and the edge share."""

import cv2
import numpy as np

from socksort import preprocess
from socksort.modelcard import Preprocess


def image(h=48, w=64, seed=0):
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def test_normalize_matches_the_formula_in_the_model_card():
    pre = Preprocess(input_size=16)
    resized = image(16, 16)
    rgb = resized[:, :, ::-1].astype(np.float64)
    expected = ((rgb / 255.0 - np.array(pre.mean)) / np.array(pre.std)).transpose(2, 0, 1)
    assert np.allclose(preprocess.normalize(resized, pre), expected, atol=1e-5)


def test_bgr_channel_order_keeps_opencv_order():
    pre = Preprocess(input_size=16, channel_order="BGR", mean=(0, 0, 0), std=(1, 1, 1), pixel_scale=1.0)
    resized = image(16, 16)
    assert np.array_equal(preprocess.normalize(resized, pre), resized.transpose(2, 0, 1).astype(np.float32))


def test_prepare_gives_a_float32_nchw_batch_of_one():
    batch = preprocess.prepare(image(), Preprocess(input_size=32))
    assert batch.shape == (1, 3, 32, 32) and batch.dtype == np.float32


def test_shorter_center_crop_keeps_the_middle():
    pre = Preprocess(input_size=8, resize="shorter_center_crop", resize_shorter=8, interpolation="nearest")
    wide = np.zeros((8, 24, 3), np.uint8)
    wide[:, 8:16] = 255  # only the middle third is white
    assert preprocess.resize(wide, pre).min() == 255


# --- shorter_center_crop: the centred source square, cropped first, then resized ------------
#
# Until 2026-11-21 the policy scaled the whole image (shorter side to resize_shorter) and cut
# the centred input_size square out of the result. It now crops the centred source square
# first, so only the pixels the network sees are resized. `scale_then_crop` is that previous
# definition, kept here to pin down what the change may and may not alter.

FINE_TUNED = Preprocess(input_size=224, resize="shorter_center_crop", resize_shorter=224)
IMAGENET = Preprocess(input_size=224, resize="shorter_center_crop", resize_shorter=256)


def scale_then_crop(image_bgr, pre):
    size = pre.input_size
    height, width = image_bgr.shape[:2]
    scale = pre.resize_shorter / min(height, width)
    new_w, new_h = max(size, round(width * scale)), max(size, round(height * scale))
    scaled = cv2.resize(image_bgr, (new_w, new_h), interpolation=preprocess._INTERPOLATION[pre.interpolation])
    top, left = (new_h - size) // 2, (new_w - size) // 2
    return scaled[top:top + size, left:left + size]


def natural_photos():
    """scikit-image's cat and coffee cup (BGR, 451x300 and 600x400), plus both resized to a
    640x480 camera frame, where the two definitions' crops are not pixel-aligned."""
    from skimage import data
    photos = {name: cv2.cvtColor(getattr(data, name)(), cv2.COLOR_RGB2BGR) for name in ("chelsea", "coffee")}
    photos.update({f"{name}@640x480": cv2.resize(photo, (640, 480), interpolation=cv2.INTER_AREA)
                   for name, photo in list(photos.items())})
    return photos


def sock_photos(count=4):
    """Photos from the synthetic generator (`socksort synth dataset`), decoded as training decodes them."""
    from socksort.im2rec import dataset, designs
    chosen = designs.designs(count)
    return [cv2.imdecode(np.frombuffer(dataset.photo(design, dataset.photo_rng(0, k, 0), 640, 480), np.uint8),
                         cv2.IMREAD_COLOR) for k, design in enumerate(chosen)]


def packed_squares():
    """Squares as `im2rec --center-crop` packs them for training: as photographed, and with
    --resize 256 and --resize 224."""
    from socksort.im2rec.pack import PackOptions, shape_image
    images = list(natural_photos().values()) + sock_photos()
    return [shape_image(image, PackOptions(center_crop=True, resize=resize))
            for image in images for resize in (0, 256, 224)]


def test_shorter_center_crop_is_unchanged_on_the_squares_training_packs():
    squares = packed_squares()
    assert all(square.shape[0] == square.shape[1] for square in squares)
    for square in squares:
        assert np.array_equal(preprocess.prepare(square, FINE_TUNED)[0],
                              preprocess.normalize(scale_then_crop(square, FINE_TUNED), FINE_TUNED))


def test_shorter_center_crop_resizes_the_centred_source_square_of_the_card_formula():
    # 640x480 with input 224 / resize_shorter 256: side round(480 * 224 / 256) = 420, at
    # top (480 - 420) // 2 = 30, left (640 - 420) // 2 = 110. Random content tells any other
    # square apart, even one shifted or grown by a single pixel.
    frame = image(480, 640, seed=1)
    expected = cv2.resize(frame[30:450, 110:530], (224, 224), interpolation=cv2.INTER_AREA)
    assert np.array_equal(preprocess.resize(frame, IMAGENET), expected)


def test_shorter_center_crop_rounds_a_half_pixel_side_up_and_puts_the_odd_pixel_bottom_right():
    # 9 * 8 / 16 = 4.5 -> side 5 (Python's round() would give 4); (9 - 5) // 2 = 2 above,
    # (14 - 5) // 2 = 4 to the left, so the odd leftover column goes to the right.
    pre = Preprocess(input_size=8, resize="shorter_center_crop", resize_shorter=16)
    assert preprocess.center_square(9, 14, pre) == (2, 4, 5)


def test_shorter_center_crop_changes_a_photo_less_than_a_one_pixel_shift_would():
    # On non-square sources the two definitions place the crop's edges apart by up to about
    # one pixel of the network's input, usually a fraction (the old one rounded the scaled
    # size and floored the offset in scaled pixels; the new one does both in source pixels).
    # The bound: the change in the network's input (mean absolute difference of the
    # normalised tensor) must be smaller than moving the old crop by one whole input pixel,
    # a misalignment the old rounding itself allowed. Measured: 0.14-0.71 of that on these
    # photos (0.0 on coffee's 600x400, where both crops fall on the same source pixels).
    # A crop off-centre by one source pixel more, or at the wrong scale, fails it.
    for name, photo in natural_photos().items():
        for pre in (FINE_TUNED, IMAGENET):
            old = scale_then_crop(photo, pre)
            new = preprocess.prepare(photo, pre)[0]
            changed = np.abs(new - preprocess.normalize(old, pre)).mean()
            one_pixel = np.abs(preprocess.normalize(old[:, 1:], pre)
                               - preprocess.normalize(old[:, :-1], pre)).mean()
            assert changed < one_pixel, (name, pre.resize_shorter, changed, one_pixel)

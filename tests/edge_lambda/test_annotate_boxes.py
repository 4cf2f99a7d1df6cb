"""Boxes on the annotated frame: each object's box in its label's colour, clipped to the
frame, with a readable tag naming it."""

import numpy as np

from socksort.edge_lambda import annotate
from socksort.schema import Box, DetectedObject


def grey(height=240, width=320):
    return np.full((height, width, 3), 90, np.uint8)


def is_colour(pixel, colour):
    return tuple(int(c) for c in pixel) == colour


def test_a_box_is_outlined_in_its_labels_colour_and_its_inside_left_as_it_was():
    image = annotate.draw_objects(grey(), (DetectedObject("Argyle", 88.0, Box(100, 80, 120, 100)),))
    colour = annotate.label_colour("Argyle")
    assert all(is_colour(image[y, 100], colour) for y in range(120, 180))       # left edge
    assert all(is_colour(image[y, 219], colour) for y in range(120, 180))       # right edge
    assert all(is_colour(image[179, x], colour) for x in range(110, 210))       # bottom edge
    assert (image[100:170, 110:210] == 90).all()                                # inside untouched


def test_the_tag_sits_above_the_box_in_the_labels_colour():
    image = annotate.draw_objects(grey(), (DetectedObject("Argyle", 88.0, Box(100, 80, 120, 100)),))
    colour = annotate.label_colour("Argyle")
    tag_rows = [y for y in range(80) if is_colour(image[y, 100], colour)]
    assert tag_rows == list(range(tag_rows[0], 80))        # a band that ends on the box's top edge
    assert 10 <= len(tag_rows) <= 30                       # a line of text high
    band = image[tag_rows[0]:80, 100:140].reshape(-1, 3)
    assert any(not is_colour(p, colour) for p in band)     # with the text written on it


def test_a_box_reaching_past_the_frame_is_clipped_to_its_edges():
    image = annotate.draw_objects(grey(), (DetectedObject("Argyle", 60.0, Box(250, 150, 200, 200)),))
    colour = annotate.label_colour("Argyle")
    assert all(is_colour(image[y, 319], colour) for y in range(170, 240))   # right edge at the frame's
    assert all(is_colour(image[239, x], colour) for x in range(260, 320))   # bottom edge at the frame's


def test_a_box_wholly_outside_the_frame_draws_nothing():
    image = annotate.draw_objects(grey(), (DetectedObject("Argyle", 60.0, Box(400, 300, 50, 50)),))
    assert (image == 90).all()


def test_the_tag_of_a_box_at_the_top_right_stays_inside_the_frame():
    image = annotate.draw_objects(grey(), (DetectedObject("A long label name", 99.0, Box(280, 0, 40, 40)),))
    colour = annotate.label_colour("A long label name")
    # the tag is pushed left so that it ends at the frame's right edge, inside the box's top
    assert is_colour(image[2, 319], colour) and is_colour(image[2, 200], colour)


def test_different_labels_get_different_colours_and_a_label_always_the_same():
    assert annotate.label_colour("Argyle") != annotate.label_colour("Google")
    assert annotate.label_colour("Argyle") == annotate.label_colour("Argyle")


def test_the_more_probable_of_two_overlapping_boxes_is_drawn_on_top():
    first = DetectedObject("Google", 95.0, Box(50, 50, 100, 100))
    second = DetectedObject("Argyle", 40.0, Box(50, 60, 100, 100))   # shares the left edge
    image = annotate.draw_objects(grey(), (first, second))
    assert is_colour(image[100, 50], annotate.label_colour("Google"))


def test_a_frame_without_objects_gets_the_banner_only():
    plain = annotate.draw(grey(), "Google", 97.0)
    with_none = annotate.draw(grey(), "Google", 97.0, objects=())
    assert (plain == with_none).all()


def test_two_socks_side_by_side_keep_both_tags_whole():
    # The less probable one's tag, above its box, would run under the other's: it goes inside its box.
    right = DetectedObject("grey-stripes", 100.0, Box(150, 100, 120, 100))
    left = DetectedObject("navy-chevrons", 99.0, Box(50, 100, 120, 100))
    image = annotate.draw_objects(grey(), (right, left))
    navy, stripes = annotate.label_colour("navy-chevrons"), annotate.label_colour("grey-stripes")
    above = image[80:99]
    assert not any(is_colour(p, navy) for p in above[:, 150:].reshape(-1, 3))   # nothing of it under the other
    assert is_colour(image[99, 200], stripes)                                   # the more probable one's tag above
    assert not any(is_colour(p, navy) for p in image[80:97, 50:150].reshape(-1, 3))   # not above its box
    inside = image[102:115, 53:150].reshape(-1, 3)
    assert sum(is_colour(p, navy) for p in inside) > len(inside) // 3          # but inside its top edge


def test_a_tag_is_not_put_over_the_label_banner():
    image = annotate.draw(grey(), "Google", 97.0, objects=(DetectedObject("Argyle", 90.0, Box(5, 2, 150, 120)),))
    colour = annotate.label_colour("Argyle")
    banner = image[6:20, 10:60].reshape(-1, 3)   # below the box's top line
    assert not any(is_colour(p, colour) for p in banner)                   # the banner stays whole
    assert is_colour(image[124, 40], colour)                               # the tag went below the box

"""How big a box head the tests that only need *a* head train."""

# Not the default's thousands of scenes (the boxes benchmark measures that head), but not too
# few either: with 700, one sock held close became two objects often enough that a show's pair
# table counted 12 showings where 8 were shown.
TEST_HEAD_SCENES = 1500

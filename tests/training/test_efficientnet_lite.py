"""The converted EfficientNet-Lite0 is really ImageNet-trained: it names known photos right."""

import pytest
from mxnet import nd

from socksort.training.efficientnet_lite import check_input_size, efficientnet_lite0, pretrained_lite0
from socksort.training.imagenet_export import LITE0_IMAGENET_PREPROCESS
from socksort.errors import UserError
from socksort.preprocess import prepare


def top1(net, image) -> int:
    return int(net(nd.array(prepare(image, LITE0_IMAGENET_PREPROCESS))).argmax(axis=1).asscalar())


def names_known_photos(net, photos) -> bool:
    return all(top1(net, image) in classes for image, classes in photos.values())


@pytest.fixture(scope="module")
def imagenet_lite0():
    return pretrained_lite0(1000)


def test_converted_weights_name_the_cat_and_the_coffee(imagenet_lite0, known_photos):
    assert names_known_photos(imagenet_lite0, known_photos)


def test_the_same_check_fails_for_a_randomly_initialised_network(known_photos):
    import mxnet as mx
    mx.random.seed(3)
    net = efficientnet_lite0(1000)
    net.initialize(mx.init.Xavier())
    assert not names_known_photos(net, known_photos)


def test_a_new_head_keeps_the_imagenet_features(imagenet_lite0, known_photos):
    sock_net = pretrained_lite0(5)
    image = known_photos["chelsea"][0]
    x = nd.array(prepare(image, LITE0_IMAGENET_PREPROCESS))
    assert sock_net(x).shape == (1, 5)
    assert (sock_net.features(x) - imagenet_lite0.features(x)).abs().max().asscalar() < 1e-5


def test_input_sizes_must_be_multiples_of_32():
    check_input_size(160)
    with pytest.raises(UserError, match="multiple of 32"):
        check_input_size(200)

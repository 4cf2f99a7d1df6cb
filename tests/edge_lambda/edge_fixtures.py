"""Builders for the edge tests: a small real model folder and real test videos.

The model is a real MXNet network exported the way training exports (symbol + params,
``mx.onnx`` for model.onnx, a ModelCard): a 1x1 convolution and a dense layer whose weights
make it tell red, green and blue frames apart, so tests can check what it says.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

CLASSES = ("red", "green", "blue")
INPUT_SIZE = 32
# BGR colours of the frames in the test videos, in the order of CLASSES.
COLOURS = {"red": (0, 0, 230), "green": (0, 230, 0), "blue": (230, 0, 0)}


def build_colour_model(folder: Path, classes=CLASSES, output: str = "probabilities") -> Path:
    import mxnet as mx
    from mxnet.gluon import nn

    from socksort.modelcard import ModelCard, Preprocess

    net = nn.HybridSequential()
    net.add(nn.Conv2D(3, kernel_size=1, in_channels=3),
            nn.GlobalAvgPool2D(), nn.Flatten(), nn.Dense(len(classes), in_units=3))
    net.initialize(ctx=mx.cpu())
    conv, dense = net[0], net[3]
    conv.weight.set_data(mx.nd.eye(3).reshape((3, 3, 1, 1)))
    conv.bias.set_data(mx.nd.zeros(3))
    weights = np.zeros((len(classes), 3), dtype=np.float32)
    for i in range(min(3, len(classes))):
        weights[i, i] = 0.5   # RGB channel i votes for class i; mild, so probabilities stay below 100
    dense.weight.set_data(mx.nd.array(weights))
    dense.bias.set_data(mx.nd.zeros(len(classes)))

    class WithSoftmax(nn.HybridBlock):
        def __init__(self, body):
            super().__init__()
            self.body = body

        def hybrid_forward(self, F, x):
            return F.softmax(self.body(x))

    model = WithSoftmax(net) if output == "probabilities" else net
    model.hybridize()
    model(mx.nd.zeros((1, 3, INPUT_SIZE, INPUT_SIZE)))
    folder.mkdir(parents=True, exist_ok=True)
    model.export(str(folder / "model"), epoch=0)
    sym, arg_params, aux_params = mx.model.load_checkpoint(str(folder / "model"), 0)
    params = {**arg_params, **aux_params}
    mx.onnx.export_model(sym, params, in_shapes=[(1, 3, INPUT_SIZE, INPUT_SIZE)],
                         in_types=[np.float32], onnx_file_path=str(folder / "model.onnx"))
    ModelCard(backbone="colour-test-net", classes=tuple(classes),
              preprocess=Preprocess(input_size=INPUT_SIZE), output=output).save(folder)
    return folder


BOX_INPUT = 64
BOX_CELL = 4   # input pixels per cell of the box model's map


def build_colour_box_model(folder: Path, classes=CLASSES) -> Path:
    """A localising colour model (``socksort.localise``'s contract): output 0 the whole
    image's class probabilities, output 1 the class logits of every 4x4-pixel cell
    (N x classes x 16 x 16), output 2 each cell's objectness (N x 1 x 16 x 16), the L2 norm of
    its colour, so a black background holds nothing and a saturated patch is an object of
    its colour. A frame with coloured patches on black has known boxes: the patches'."""
    import mxnet as mx
    from mxnet.gluon import nn

    from socksort.modelcard import Localise, ModelCard, Preprocess

    class ColourBoxes(nn.HybridBlock):
        def __init__(self):
            super().__init__()
            self.cells = nn.Conv2D(len(classes), kernel_size=1, in_channels=3)
            self.dense = nn.Dense(len(classes), in_units=len(classes))

        def hybrid_forward(self, F, x):
            fmap = F.Pooling(x, kernel=(BOX_CELL, BOX_CELL), stride=(BOX_CELL, BOX_CELL), pool_type="avg")
            cells = self.cells(fmap)
            pooled = F.flatten(F.Pooling(cells, kernel=(1, 1), global_pool=True, pool_type="avg"))
            objectness = F.sqrt(F.sum(F.square(fmap), axis=1, keepdims=True))
            return F.softmax(self.dense(pooled)), cells, objectness

    net = ColourBoxes()
    net.initialize(ctx=mx.cpu())
    net.cells.weight.set_data(mx.nd.eye(3).reshape((3, 3, 1, 1)) * 6)
    net.cells.bias.set_data(mx.nd.zeros(3))
    net.dense.weight.set_data(mx.nd.eye(3))
    net.dense.bias.set_data(mx.nd.zeros(3))
    net.hybridize()
    net(mx.nd.zeros((1, 3, BOX_INPUT, BOX_INPUT)))
    folder.mkdir(parents=True, exist_ok=True)
    net.export(str(folder / "model"), epoch=0)
    sym, arg_params, aux_params = mx.model.load_checkpoint(str(folder / "model"), 0)
    mx.onnx.export_model(sym, {**arg_params, **aux_params}, in_shapes=[(1, 3, BOX_INPUT, BOX_INPUT)],
                         in_types=[np.float32], onnx_file_path=str(folder / "model.onnx"))
    _outputs_in_symbol_order(folder / "model.onnx", sym.list_outputs())
    # pixels in 0-1, not ImageNet-normalised: black is all zeros, so it has no objectness
    ModelCard(backbone="colour-box-test-net", classes=tuple(classes),
              preprocess=Preprocess(input_size=BOX_INPUT, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)),
              localise=Localise(cells_output=1, objectness_output=2, reference=1.0)).save(folder)
    return folder


def write_frames_video(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """A video of the given BGR frames (all one size), in order."""
    import cv2
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    assert writer.isOpened(), "OpenCV cannot write MJPG videos here"
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def _outputs_in_symbol_order(path: Path, names: list[str]) -> None:
    """MXNet's exporter lists a grouped symbol's outputs in the order it reaches them, not
    the group's; put them back in the symbol's order, which the model card counts in."""
    import onnx

    model = onnx.load(str(path))
    order = {name.removesuffix("_output"): i for i, name in enumerate(names)}
    outputs = sorted(model.graph.output, key=lambda o: order[o.name])
    del model.graph.output[:]
    model.graph.output.extend(outputs)
    onnx.save(model, str(path))


def patches_frame(patches: list[tuple[str, tuple[int, int, int, int]]], size=(320, 240)) -> np.ndarray:
    """A black BGR frame with a solid patch of each (colour name, (left, top, width, height))."""
    width, height = size
    image = np.zeros((height, width, 3), np.uint8)
    for colour, (left, top, w, h) in patches:
        image[top:top + h, left:left + w] = COLOURS[colour]
    return image


def write_video(path: Path, colours: list[tuple[int, int, int]], frames_each: int,
                fps: float = 10.0, size: tuple[int, int] = (96, 64)) -> Path:
    """A video whose frames are solid colours, ``frames_each`` frames per colour."""
    import cv2
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened(), "OpenCV cannot write MJPG videos here"
    width, height = size
    for n, colour in enumerate(colours):
        for k in range(frames_each):
            image = np.zeros((height, width, 3), dtype=np.uint8)
            image[:] = colour
            # A moving mark, so consecutive frames differ even within one colour.
            x = (n * frames_each + k) * 3 % width
            image[:, x:x + 2] = (128, 128, 128)
            writer.write(image)
    writer.release()
    return path




class Subscriber:
    """A real MQTT subscriber with a persistent session, so it misses nothing across a
    broker restart (the broker keeps its session on disk)."""

    def __init__(self, url: str, topic: str, client_id: str = "edge-test-subscriber"):
        import threading

        import paho.mqtt.client as mqtt

        from socksort.config import mqtt_url

        parsed = mqtt_url(url)
        self.payloads: list[bytes] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        client.username_pw_set(parsed.username, parsed.password)
        client.reconnect_delay_set(1, 2)
        client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *a: self._subscribed.set()
        client.on_message = self._on_message
        client.connect(parsed.host, parsed.port)
        client.loop_start()
        self.client = client
        assert self._subscribed.wait(10), "the test subscriber could not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        with self._cond:
            self.payloads.append(message.payload)
            self._cond.notify_all()

    def wait_for(self, count: int, timeout: float = 30) -> list[bytes]:
        with self._cond:
            self._cond.wait_for(lambda: len(self.payloads) >= count, timeout)
            return list(self.payloads)

    def predictions(self):
        from socksort.schema import Prediction
        with self._cond:
            return [Prediction.from_json(p) for p in self.payloads]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def start_in_thread(edge):
    """Run ``edge.run()`` on a thread; returns the thread (join it after request_stop)."""
    import threading
    thread = threading.Thread(target=edge.run, name="test-edge-run", daemon=True)
    thread.start()
    return thread


def wait_until(predicate, timeout: float = 30, step: float = 0.05) -> bool:
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


class NetworkCamera:
    """An MJPEG-over-HTTP camera on a local port that can be unplugged and plugged back in
    (the edge's own HTTP server fed with generated frames)."""

    def __init__(self, port: int, colour=(0, 0, 200)):
        self.port = port
        self.colour = colour
        self.url = f"http://127.0.0.1:{port}/stream.mjpg"
        self._server = None
        self._feeder = None

    def plug_in(self) -> "NetworkCamera":
        import threading

        from socksort.config import HostPort
        from socksort.edge_lambda.http import EdgeHttpServer, JpegHub
        hub = JpegHub()
        self._server = EdgeHttpServer(HostPort("127.0.0.1", self.port), hub, dict, str).start()
        stop = threading.Event()
        self._feeder = (threading.Thread(target=self._feed, args=(hub, stop), daemon=True), stop)
        self._feeder[0].start()
        return self

    def _feed(self, hub, stop) -> None:
        import cv2
        i = 0
        while not stop.is_set():
            image = np.zeros((48, 64, 3), np.uint8)
            image[:] = self.colour
            image[:, i % 64] = 255
            hub.publish(cv2.imencode(".jpg", image)[1].tobytes())
            i += 1
            stop.wait(0.05)

    def unplug(self) -> None:
        thread, stop = self._feeder
        stop.set()
        thread.join(5)
        self._server.stop()


def read_mjpeg_parts(url: str, count: int, timeout: float = 20) -> list[bytes]:
    """The first ``count`` JPEG parts of a multipart/x-mixed-replace stream."""
    import urllib.request
    parts = []
    with urllib.request.urlopen(url, timeout=timeout) as response:
        assert response.headers.get_content_type() == "multipart/x-mixed-replace"
        while len(parts) < count:
            line = response.readline()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
                response.readline()  # the blank line after the part headers
                parts.append(response.read(length))
    return parts


def get(url: str, timeout: float = 10) -> tuple[int, bytes]:
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()

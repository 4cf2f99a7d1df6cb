"""The device's own small web server: the live page, the MJPEG stream, health and metrics.

    /              the annotated live picture with label, probability, FPS and connection state
    /stream.mjpg   multipart JPEG (multipart/x-mixed-replace), one part per annotated frame
    /snapshot.jpg  a freshly drawn annotated frame (frames are drawn only while someone watches)
    /snapshot.jpg?raw=1  the newest camera frame as the camera gave it, nothing drawn on it
                   (the teach service stores these as training photos)
    /status.json   what the page shows, as JSON (``latest`` is the last prediction message,
                   with its ``objects`` when the model finds boxes)
    /healthz       200 {"status": "ok"} or 503 with the problems (dead camera, no broker)
    /metrics       Prometheus text: frames, drops, inference ms, publish errors

With ``--match``, the album's routes (``album_http.py``): /showings.json, /showings/ID/K.jpg,
POST /showings/split and /showings/join.

Each client gets its own thread and waits on the JpegHub for the next frame, so a slow
browser only slows its own stream; and the loop draws a frame only while some viewer is
waiting for one, so frames are encoded at the pace viewers take them, never for nobody.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs

from socksort.config import HostPort
from socksort.edge_lambda import album_http
from socksort.edge_lambda.album import Album
from socksort.edge_lambda.annotate import encode_jpeg
from socksort.edge_lambda.handoff import Broadcast
from socksort.edge_lambda.status import EdgeStatus
from socksort.errors import UserError

BOUNDARY = "socksortframe"


SNAPSHOT_WAIT = 3.0   # seconds /snapshot.jpg waits for a frame drawn for it
RAW_JPEG_QUALITY = 95  # a raw snapshot becomes a training photo: keep the detail
NO_ALBUM = "this edge runs without --match: it keeps no showings to correct"


class JpegHub(Broadcast[bytes]):
    """The latest encoded frame for every viewer (HTTP streams, the DeepLens FIFO)."""

    @property
    def watched(self) -> bool:
        """A viewer is waiting for its next frame: only then is drawing one worth its CPU."""
        return self.waiting > 0


class EdgeHttpServer:
    def __init__(self, address: HostPort, hub: JpegHub, status: Callable[[], EdgeStatus],
                 metrics: Callable[[], str], raw_frame: Callable[[], object | None] | None = None,
                 album: Album | None = None, no_album: str = NO_ALBUM):
        """``raw_frame()`` gives the newest camera frame (``sources.Frame``) for
        ``/snapshot.jpg?raw=1``; without it that answers 404. Without ``album`` the
        /showings routes answer 404, saying ``no_album``."""
        self.hub = hub
        handler = _handler_class(hub, status, metrics, raw_frame, album, no_album)
        try:
            self._server = ThreadingHTTPServer((address.host, address.port), handler)
        except OSError as exc:
            raise UserError(f"cannot serve the edge page on {address}: {exc.strerror or exc}") from None
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="edge-http", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "EdgeHttpServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.hub.close()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_class(hub: JpegHub, status: Callable[[], EdgeStatus], metrics: Callable[[], str],
                   raw_frame: Callable[[], object | None] | None, album: Album | None, no_album: str):
    class Handler(BaseHTTPRequestHandler):
        server_version = "socksort-edge"
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # the request log would drown the edge's own
            pass

        def do_GET(self):
            path, _, query = self.path.partition("?")
            shown = album_http.get(album, path) if album is not None else None
            if shown is not None:
                self._send(*shown)
            elif path == "/":
                self._send(200, "text/html; charset=utf-8", PAGE.encode())
            elif path == "/stream.mjpg":
                self._stream()
            elif path == "/snapshot.jpg" and _yes(parse_qs(query, keep_blank_values=True).get("raw")):
                self._raw_snapshot()
            elif path == "/snapshot.jpg":
                # Frames are drawn only for viewers, so the latest one may be old: ask for a new one.
                jpeg = hub.next(timeout=SNAPSHOT_WAIT)
                if jpeg is None:
                    self._send(503, "text/plain",
                               f"no new frame within {SNAPSHOT_WAIT:g} s (is the camera running?)\n".encode())
                else:
                    self._send(200, "image/jpeg", jpeg)
            elif path == "/status.json":
                self._send(200, "application/json", json.dumps(status().to_dict()).encode())
            elif path == "/healthz":
                report = status()
                body = {"status": "ok" if report.ok else "degraded", "problems": report.problems,
                        "camera": report.camera.state, "model": report.model.id,
                        "outputs": {o.name: o.state for o in report.outputs}}
                code = 200 if report.ok else 503
                self._send(code, "application/json", json.dumps(body).encode())
            elif path == "/metrics":
                self._send(200, "text/plain; version=0.0.4", metrics().encode())
            else:
                self._send(404, "text/plain", b"not found\n")

        def do_POST(self):
            path = self.path.partition("?")[0]
            length = int(self.headers.get("Content-Length") or 0)
            if album is None or path not in album_http.POSTS or length > album_http.MAX_BODY:
                self.close_connection = True   # the body is not read: it must not pass for a request
                if album is not None and path in album_http.POSTS:
                    self._send(*album_http.too_large(length))
                else:
                    self._json(404, {"error": no_album if album is None else f"no such page: {path}"})
                return
            self._send(*album_http.post(album, path, self.rfile.read(length)))

        def _json(self, code: int, obj) -> None:
            self._send(code, "application/json", json.dumps(obj).encode())

        def _raw_snapshot(self) -> None:
            """The newest frame the camera gave; one newer than SNAPSHOT_WAIT is waited for,
            so a camera that stopped does not hand out a stale picture as if it were live."""
            if raw_frame is None:
                self._send(404, "text/plain", b"this server has no camera frames\n")
                return
            deadline = time.monotonic() + SNAPSHOT_WAIT
            frame = raw_frame()
            while frame is None or time.monotonic() - frame.captured > SNAPSHOT_WAIT:
                if time.monotonic() >= deadline:
                    self._send(503, "text/plain", f"no camera frame within {SNAPSHOT_WAIT:g} s "
                                                  "(is the camera running?)\n".encode())
                    return
                time.sleep(0.05)
                frame = raw_frame()
            self._send(200, "image/jpeg", encode_jpeg(frame.image, RAW_JPEG_QUALITY))

        def _send(self, code: int, kind: str, body: bytes) -> None:
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _stream(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            try:
                for jpeg in hub.follow(poll=1.0):
                    self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                                     f"Content-Length: {len(jpeg)}\r\n\r\n".encode())
                    self.wfile.write(jpeg)
                    self.wfile.write(b"\r\n")
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the viewer went away

    return Handler


def _yes(values: list[str] | None) -> bool:
    return bool(values) and values[-1].strip().lower() in ("1", "yes", "true", "on", "")


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>socksort edge</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font-family:system-ui,sans-serif;margin:0;background:#111;color:#eee}
header{display:flex;gap:1.5em;align-items:baseline;padding:.6em 1em;background:#222;flex-wrap:wrap}
#label{font-size:1.6em;font-weight:600}
.bad{color:#f66}.ok{color:#6d6}
img{display:block;max-width:100%;margin:0 auto}
#objects{list-style:none;margin:0;padding:.4em 1em;display:flex;gap:.5em 1.5em;flex-wrap:wrap;background:#1a1a1a}
#objects:empty{display:none}
#objects .box{color:#999;font-size:.85em}
</style></head><body>
<header><span id="label">…</span><span id="prob"></span><span id="fps"></span>
<span>camera: <b id="camera">…</b></span><span>outputs: <b id="outputs">…</b></span>
<span>model: <b id="model">…</b></span></header>
<ul id="objects" aria-label="objects in the frame"></ul>
<img id="live" src="/stream.mjpg" alt="annotated live stream">
<script>
async function refresh(){
  try{
    const s=await (await fetch('/status.json',{cache:'no-store'})).json();
    const p=s.latest;
    document.getElementById('label').textContent=p?p.image:'waiting for the first frame';
    document.getElementById('prob').textContent=p?p.probability.toFixed(1)+' %':'';
    document.getElementById('fps').textContent=s.fps.toFixed(1)+' fps';
    showObjects(p&&p.objects);
    const cam=document.getElementById('camera');
    cam.textContent=s.camera.state+(s.camera.error?' ('+s.camera.error+')':'');
    cam.className=s.camera.state==='lost'?'bad':'ok';
    const out=document.getElementById('outputs');
    out.textContent=s.outputs.map(o=>o.name+' '+o.state).join(', ')||'none';
    out.className=s.outputs.every(o=>o.state==='connected')?'ok':'bad';
    const m=s.model, mod=document.getElementById('model');
    mod.textContent=(m.id||m.folder.split('/').pop()||m.waiting||'none')+(m.loading?' (loading '+m.loading+')':'')
      +(m.error?' ('+m.error+')':'');
    mod.className=m.error||m.waiting?'bad':'ok';
  }catch(e){document.getElementById('camera').textContent='edge not reachable';}
}
// A model that looks for boxes lists each object of the frame; one that does not sends no
// "objects" (nothing listed), and a frame it looked at and found empty says so.
function showObjects(objects){
  const list=document.getElementById('objects');
  const items=(objects||[]).map(o=>{
    const li=document.createElement('li'), b=o.box, where=document.createElement('span');
    li.className='object';
    li.textContent=o.label+' '+o.probability.toFixed(1)+' % ';
    where.className='box';
    where.textContent='at '+b.left+','+b.top+' '+b.width+'\u00d7'+b.height;
    li.append(where);
    return li;
  });
  if(objects&&!objects.length){
    const li=document.createElement('li');li.textContent='no objects in the frame';items.push(li);
  }
  list.replaceChildren(...items);
}
setInterval(refresh,500);refresh();
</script></body></html>
"""

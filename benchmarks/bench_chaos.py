"""A chaos round: a show plays into the real stack while each service is SIGKILLed and restarted.

A fresh stack (Mosquitto, Kafka KRaft, Connect with exactly-once source support, the ksql
engine) on free ports in a temporary folder, with ``ksql-apply`` and ``pairs --reset`` as
the demo runs them. A simulated edge — its own process, publishing a simulated sorting
session (``socksort.ksql.pipeline.simulate``: several sessions back to back, about
``SOCKSORT_BENCH_CHAOS_SECONDS`` long) with paho at QoS 1 at the camera's pace — plays the
show. While it plays, each service in turn gets a SIGKILL and is brought back as an
operator would: Mosquitto, Kafka, Connect and the ksql engine with ``socksort stack up``,
the edge by starting it again. A restarted edge resumes the show at its first frame the
broker never acknowledged (a camera with a durable outbox); what an edge loses from its own
memory is the edge's tests' business, not this round's.

Reported: messages the broker acknowledged, how many of those never reached ``data_mqtt``
(lost) and how many reached it more than once (duplicated), counted by device + seq; how
long each service took to come back (SIGKILL to ``stack up`` done); and whether
``SOCK_PAIRS`` equals the truth (the showings the session simulated) and equals what the
same frames give on an undisturbed in-process engine (the baseline: a mismatch there is
the pipeline's accuracy, not the chaos).

It takes over 6 minutes (380 s on the 2-core machine), so ``make bench`` leaves it out; run
it by name:

    .venv/bin/python benchmarks/run.py chaos          # or: make bench-chaos
    SOCKSORT_BENCH_CHAOS_SECONDS=600 .venv/bin/python benchmarks/run.py chaos
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

from socksort import contract
from socksort.net import free_port
from socksort.progress import step
from socksort.stack import Ports, Stack, load, processes
from socksort.stack.traffic import KafkaTail

SHOW_SECONDS = float(os.environ.get("SOCKSORT_BENCH_CHAOS_SECONDS", "300"))
FPS = float(os.environ.get("SOCKSORT_BENCH_CHAOS_FPS", "15"))
SEED = int(os.environ.get("SOCKSORT_BENCH_CHAOS_SEED", "0"))
FIRST_KILL_AFTER = 20.0   # seconds of show before the first SIGKILL
SETTLE = 15.0             # seconds of normal running between one recovery and the next SIGKILL
VICTIMS = ("mosquitto", "kafka", "connect", "ksql", "edge")
THIS = Path(__file__).resolve()


# --- the show -------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Show:
    frames: list            # socksort.schema.Prediction, seq = index, ts from now on
    truth: dict             # image -> PairRow: what SOCK_PAIRS must end with
    seconds: float


def make_show(device: str, seconds: float = SHOW_SECONDS, fps: float = FPS, seed: int = SEED) -> Show:
    """Simulated sessions back to back until ``seconds`` are filled, as one sorting session."""
    from socksort.ksql.pipeline.simulate import SessionSpec, pair_rows, simulate

    # No simulated redelivery: frames are renumbered below, and the chaos makes its own.
    spec = SessionSpec(fps=fps, device=device, duplicate_share=0.0)
    frames, shown, offset_ms, start = [], Counter(), 0, int(time.time() * 1000) + 5_000
    while offset_ms < seconds * 1000:
        session = simulate(seed, spec)
        first = session.frames[0].ts
        for frame in session.frames:
            frames.append(dataclasses.replace(frame, seq=len(frames), ts=start + offset_ms + frame.ts - first))
        shown.update(showing.image for showing in session.showings)
        offset_ms += session.frames[-1].ts - first + round(1000 / fps)
        seed += 1
    return Show(frames, pair_rows(shown), offset_ms / 1000)


# --- the edge, as a process of its own -------------------------------------------------------

def edge_main(url: str, show_path: str, log_dir: str) -> None:
    """Publish the show at its pace from the first frame no earlier edge saw acknowledged.

    The log (one file per edge process) has "P seq mid" once paho took a frame and "A mid"
    once the broker acknowledged it, so a SIGKILL loses nothing of what was recorded."""
    from socksort import mqtt
    from socksort.ksql.pipeline.replay import paced, read_frames

    frames = read_frames(Path(show_path))
    done = edge_log(Path(log_dir))
    start = next((seq for seq in range(len(frames)) if seq not in done.acked), len(frames))
    log = open(Path(log_dir) / f"edge-{os.getpid()}.log", "a", buffering=1)
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            log.write(line + "\n")

    client = mqtt.connect(url, client_id=f"chaos-edge-{os.getpid()}")
    client.reconnect_delay_set(1, 2)
    client.on_publish = lambda c, userdata, mid, reason, props: write(f"A {mid}")
    infos = []
    for seq, frame in zip(range(start, len(frames)), paced(frames[start:], 1.0)):
        info = client.publish(contract.MQTT_TOPIC, frame.payload, qos=1)
        write(f"P {seq} {info.mid}")
        infos.append(info)
    for info in infos:
        while not info.is_published():
            time.sleep(0.05)
    write("DONE")


@dataclasses.dataclass
class EdgeLog:
    published: set
    acked: set
    finished: bool


def edge_log(folder: Path) -> EdgeLog:
    """What every edge process so far handed to paho, saw acknowledged, and whether one finished."""
    published, acked, finished = set(), set(), False
    for path in sorted(folder.glob("edge-*.log")):
        seq_of, acked_mids = {}, set()
        for line in path.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["P"] and len(parts) == 3:
                seq_of[int(parts[2])] = int(parts[1])
            elif parts[:1] == ["A"] and len(parts) == 2:
                acked_mids.add(int(parts[1]))
            elif parts == ["DONE"]:
                finished = True
        published |= set(seq_of.values())
        acked |= {seq_of[mid] for mid in acked_mids if mid in seq_of}
    return EdgeLog(published, acked, finished)


class Edge:
    def __init__(self, url: str, show_path: Path, log_dir: Path):
        self.argv = [sys.executable, str(THIS), "edge", url, str(show_path), str(log_dir)]
        self.log_dir = log_dir
        self.child: subprocess.Popen | None = None

    def start(self) -> None:
        self.child = processes.spawn(self.argv, self.log_dir / "edge.out", die_with_parent=True)

    def kill(self) -> None:
        processes.kill(self.child.pid, child=self.child)

    def alive(self) -> bool:
        return self.child is not None and self.child.poll() is None


# --- the round --------------------------------------------------------------------------------

def _socksort(home: Path, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "socksort", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "SOCKSORT_HOME": str(home)})


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _kill_service(home: Path, name: str) -> None:
    recorded = processes.read_pid_file(home / name / "pid.json")
    if recorded is None or not recorded.alive():
        raise RuntimeError(f"{name} is not running, nothing to kill")
    processes.kill(recorded.pid)


def _chaos(home: Path, edge: Edge, results: list[dict]) -> None:
    """SIGKILL and restart each victim in turn; record how long each took to come back."""
    time.sleep(FIRST_KILL_AFTER)
    for victim in VICTIMS:
        step(f"chaos: SIGKILL {victim}")
        killed = time.monotonic()
        if victim == "edge":
            edge.kill()
            edge.start()
            outcome = {"rc": 0, "error": ""}
        else:
            _kill_service(home, victim)
            up = _socksort(home, "stack", "up")
            outcome = {"rc": up.returncode, "error": "" if up.returncode == 0 else _last_line(up.stderr)}
            if "Traceback" in up.stderr:
                outcome["error"] = "traceback: " + _last_line(up.stderr)
        results.append({"victim": victim, "seconds": time.monotonic() - killed, **outcome})
        step(f"chaos: {victim} back after {results[-1]['seconds']:.0f} s"
             + (f" (stack up exit {outcome['rc']}: {outcome['error']})" if outcome["rc"] else ""))
        time.sleep(SETTLE)


def _wait_all(tail: KafkaTail, marker: bytes, expected: set, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if expected <= {json.loads(r.value)["seq"] for r in tail.matching(marker)}:
            return
        time.sleep(1)


def run() -> list[dict]:
    from socksort.ksql import kafka_io
    from socksort.ksql.pipeline import pairs, replay
    from socksort.ksql.pipeline.accuracy import pipeline_pairs
    from socksort.ksql.pipeline.simulate import Delivery

    device = f"chaos-{uuid.uuid4().hex[:8]}"
    marker = f'"device":"{device}"'.encode()
    show = make_show(device)
    step(f"show: {len(show.frames)} frames at {FPS:g} FPS over {show.seconds:.0f} s, "
         f"{sum(row.number_socks_seen for row in show.truth.values())} showings of {len(show.truth)} designs")
    step("baseline: the same frames through an undisturbed in-process engine")
    baseline = pipeline_pairs([Delivery.of(frame) for frame in show.frames])

    with tempfile.TemporaryDirectory(prefix="bench-chaos-") as folder:
        home = Path(folder) / "home"
        chosen: list[int] = []
        while len(chosen) < 5:
            if (port := free_port()) not in chosen:
                chosen.append(port)
        stack = Stack(home, Ports(*chosen), with_ksql=True, die_with_parent=True)
        edge = None
        try:
            stack.up()
            for args in (("ksql-apply", "--url", stack.ksql_url, "--mqtt-url", stack.mqtt_url),
                         ("pairs", "--reset", "--url", stack.ksql_url)):
                done = _socksort(home, *args)
                if done.returncode != 0:
                    raise RuntimeError(f"socksort {args[0]} failed: {_last_line(done.stderr)}")
            show_path, log_dir = Path(folder) / "show.jsonl", Path(folder) / "edge"
            log_dir.mkdir()
            show_path.write_bytes(b"".join(frame.to_json() + b"\n" for frame in show.frames))
            recoveries: list[dict] = []
            with KafkaTail(stack.bootstrap_servers) as tail:
                edge = Edge(stack.mqtt_url, show_path, log_dir)
                edge.start()
                began = time.monotonic()
                _chaos(home, edge, recoveries)
                step("chaos done; waiting for the show to end")
                while not edge_log(log_dir).finished:
                    if not edge.alive():
                        raise RuntimeError(f"the edge died: {processes.log_tail(log_dir / 'edge.out')}")
                    time.sleep(1)
                played = time.monotonic() - began
                log = edge_log(log_dir)
                step(f"waiting for the {len(log.acked)} acknowledged messages to reach {contract.KAFKA_TOPIC}")
                _wait_all(tail, marker, log.acked, timeout=300)
                seqs = Counter(json.loads(r.value)["seq"] for r in tail.matching(marker))
            step("waiting for the queries to process everything")
            replay.wait_processed(stack.bootstrap_servers,
                                  kafka_io.end_offsets(stack.bootstrap_servers, contract.KAFKA_TOPIC), 300)
            table = {row.image: row for row in pairs.read(stack.ksql_url)}
        finally:
            if edge is not None and edge.alive():
                edge.kill()
            load(home).down()  # what stack up restarted too, not only what this process started
    return _rows(show, baseline, log, seqs, table, recoveries, played)


def _differences(table: dict, want: dict) -> str:
    wrong = [f"{image}: {table[image].number_socks_seen if image in table else 0} "
             f"not {want[image].number_socks_seen if image in want else 0}"
             for image in sorted(set(table) | set(want)) if table.get(image) != want.get(image)]
    return "; ".join(wrong) or "every row equal"


def _rows(show: Show, baseline: dict, log: EdgeLog, seqs: Counter, table: dict, recoveries: list[dict],
          played: float) -> list[dict]:
    lost = sorted(log.acked - set(seqs))
    duplicated = sum(count - 1 for count in seqs.values())
    extra = sorted(set(seqs) - log.acked)
    rows = [
        {"metric": "messages acknowledged by the broker", "value": len(log.acked), "unit": "msg",
         "note": f"{len(show.frames)} frames at {FPS:g} FPS played in {played:.0f} s with every service "
                 f"killed once; {len(log.published)} handed to paho"},
        {"metric": "acknowledged messages lost", "value": len(lost), "unit": "msg",
         "note": f"never reached {contract.KAFKA_TOPIC}" + (f"; seqs {lost[:10]}" if lost else "")},
        {"metric": "messages duplicated", "value": duplicated, "unit": "msg",
         "note": f"extra copies in {contract.KAFKA_TOPIC}, by device + seq"},
        {"metric": "unacknowledged messages that arrived", "value": len(extra), "unit": "msg",
         "note": "in flight when the edge was killed; arrived once, not lost"},
    ]
    for outcome in recoveries:
        rows.append({"metric": f"back after SIGKILL of {outcome['victim']}", "value": round(outcome["seconds"], 1),
                     "unit": "s", "note": "edge restarted" if outcome["victim"] == "edge" else
                     ("stack up exit 0" if outcome["rc"] == 0 else
                      f"stack up exit {outcome['rc']}: {outcome['error']}")})
    rows += [
        {"metric": "SOCK_PAIRS matches the truth", "value": int(table == show.truth), "unit": "bool",
         "note": _differences(table, show.truth)},
        {"metric": "SOCK_PAIRS matches an undisturbed run", "value": int(table == baseline), "unit": "bool",
         "note": f"same frames on the in-process engine; {_differences(table, baseline)}"},
        {"metric": "undisturbed run matches the truth", "value": int(baseline == show.truth), "unit": "bool",
         "note": "the pipeline's own accuracy on this show: " + _differences(baseline, show.truth)},
    ]
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["edge"]:
        edge_main(*sys.argv[2:5])
    else:
        for row in run():
            print(row)

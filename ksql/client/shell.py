"""`socksort ksql`: an interactive shell like the ksql CLI, for any ksqlDB REST server.

Statements may span lines and end with ';'. SELECT and PRINT stream their results until
they end or Ctrl-C; everything else goes to /ksql. As in the ksql CLI, SET/UNSET
properties and DEFINE/UNDEFINE variables live in the shell and go with every request.
History is kept between sessions when the terminal supports it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Callable, Iterator, TextIO

from socksort.errors import UserError
from socksort.ksql.client import draw, rest_client
from socksort.paths import runtime_dir

_SET = re.compile(r"^\s*SET\s+'([^']+)'\s*=\s*'([^']*)'\s*;?\s*$", re.I | re.S)
_UNSET = re.compile(r"^\s*UNSET\s+'([^']+)'\s*;?\s*$", re.I | re.S)
_DEFINE = re.compile(r"^\s*DEFINE\s+([A-Za-z_][A-Za-z0-9_]*)\s*=\s*'((?:[^']|'')*)'\s*;?\s*$", re.I | re.S)
_UNDEFINE = re.compile(r"^\s*UNDEFINE\s+([A-Za-z_][A-Za-z0-9_]*)\s*;?\s*$", re.I | re.S)
_STREAMED = re.compile(r"^\s*(SELECT|PRINT)\b", re.I)


def statements(lines: Iterator[str]) -> Iterator[str]:
    """Whole statements from input lines: text up to a ';' outside quotes and comments."""
    pending = ""
    for text in lines:
        pending += text if text.endswith("\n") else text + "\n"
        while True:
            end = _statement_end(pending)
            if end is None:
                break
            statement, pending = pending[:end + 1].strip(), pending[end + 1:]
            if statement.strip(" ;\n"):
                yield statement
        if not pending.strip():
            pending = ""


def _statement_end(text: str) -> int | None:
    quote = None
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'`\"":
            quote = ch
        elif text.startswith("--", i):
            newline = text.find("\n", i)
            if newline < 0:
                return None
            i = newline
        elif ch == ";":
            return i
        i += 1
    return None


class Shell:
    def __init__(self, url: str, out: TextIO = sys.stdout):
        self.url = url.rstrip("/")
        self.out = out
        self.properties: dict[str, str] = {}
        self.variables: dict[str, str] = {}

    def run(self, statement: str) -> None:
        """Run one statement; a server error is printed, not raised."""
        if self._local(statement):
            return
        try:
            text = rest_client.substitute(statement, self.variables)
            if _STREAMED.match(text):
                self._stream(text)
            else:
                for entity in rest_client.run(self.url, text, self.properties):
                    self._print(render(entity))
        except UserError as exc:
            self._print(str(exc))

    def _local(self, statement: str) -> bool:
        for pattern, action in ((_SET, self._set), (_UNSET, self._unset),
                                (_DEFINE, self._define), (_UNDEFINE, self._undefine)):
            match = pattern.match(statement)
            if match:
                action(*match.groups())
                return True
        return False

    def _set(self, name, value):
        self.properties[name] = value
        self._print(f"Successfully changed local property '{name}' to '{value}'.")

    def _unset(self, name):
        self.properties.pop(name, None)
        self._print(f"Successfully unset local property '{name}'.")

    def _define(self, name, value):
        self.variables[name.lower()] = value.replace("''", "'")

    def _undefine(self, name):
        self.variables.pop(name.lower(), None)

    def _stream(self, text: str) -> None:
        """A SELECT or PRINT through /query, drawn as it arrives, until it ends or Ctrl-C."""
        body = {"ksql": text, "streamsProperties": self.properties}
        try:
            with rest_client.stream(self.url, "/query", body) as response:
                if response.status_code != 200:
                    response.read()
                    self._print(rest_client.server_message(response.text))
                    return
                self._draw_stream(response.iter_lines(), "text/plain" in
                                  response.headers.get("content-type", ""))
        except KeyboardInterrupt:
            self._print("Query terminated")
        except ConnectionError as exc:
            self._print(str(exc))

    def _draw_stream(self, lines: Iterator[str], plain: bool) -> None:
        widths: list[int] = []
        closed = False
        for raw in lines:
            if plain:
                if raw.strip():
                    self._print(raw)
                continue
            item = _array_item(raw)
            if item is None:
                continue
            if "header" in item:
                columns = rest_client.schema_columns(item["header"].get("schema", ""))
                widths = [max(len(c) + 1, 12) for c in columns]
                self._print(draw.rule(widths) + "\n" + draw.line(columns, widths) + "\n"
                            + draw.rule(widths))
            elif "row" in item:
                self._print(draw.line([draw.cell(v) for v in item["row"]["columns"]], widths))
            elif "finalMessage" in item:
                self._print(draw.rule(widths) + "\n" + item["finalMessage"])
                closed = True
            elif "errorMessage" in item:
                self._print(str(item["errorMessage"].get("message", item["errorMessage"])))
        if widths and not plain and not closed:
            self._print(draw.rule(widths))

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _array_item(raw: str) -> dict | None:
    """One element of /query's streamed JSON array, from its line."""
    text = raw.strip().lstrip("[").rstrip(",").rstrip("]").strip().lstrip(",").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def render(entity: dict) -> str:
    """One /ksql answer as the ksql CLI shows it."""
    kind = entity.get("@type")
    if kind == "currentStatus":
        return entity.get("commandStatus", {}).get("message", "")
    if kind in ("streams", "tables"):
        rows = [(e["name"], e.get("topic", ""), e.get("keyFormat", ""), e.get("valueFormat", ""))
                for e in entity[kind]]
        name = kind[:-1].capitalize() + " Name"
        return draw.table((name, "Kafka Topic", "Key Format", "Value Format"), rows)
    if kind == "queries":
        rows = [(q["id"], ", ".join(q.get("sinks", [])), q.get("queryString", "")[:60])
                for q in entity["queries"]]
        return draw.table(("Query ID", "Sinks", "Query"), rows)
    if kind == "kafka_topics":
        return draw.table(("Kafka Topic", "Partitions"),
                          [(t["name"], len(t.get("replicaInfo", []))) for t in entity["topics"]])
    if kind == "sourceDescription":
        source = entity["sourceDescription"]
        rows = [(f["name"], f["schema"]["type"] + (" (key)" if f.get("type") == "KEY" else ""))
                for f in source.get("fields", [])]
        return f"Name: {source['name']}\n" + draw.table(("Field", "Type"), rows)
    if kind == "connector_list":
        return draw.table(("Connector Name", "Type", "Class", "Status"),
                          [(c["name"], c["type"], c["className"], c["state"])
                           for c in entity["connectors"]])
    return json.dumps(entity, indent=2)


def history_file() -> Path:
    return Path(runtime_dir()) / "ksql_history"


def input_lines(prompt: Callable[[bool], str], interactive: bool) -> Iterator[str]:
    """Lines from the terminal (with history) or from a pipe."""
    if not interactive:
        yield from sys.stdin
        return
    # Only a terminal session loads readline: importing it changes how input() reads.
    import readline

    path = history_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        readline.read_history_file(path)
    except OSError:
        pass
    first = True
    try:
        while True:
            try:
                text = input(prompt(first))
            except EOFError:
                return
            first = text.rstrip().endswith(";") or not text.strip()
            yield text
    finally:
        try:
            readline.write_history_file(path)
        except OSError:
            pass


def main(url: str) -> int:
    interactive = sys.stdin.isatty()
    shell = Shell(url)
    if interactive:
        version = rest_client.client(url).get_ksql_version()
        print(f"socksort ksql shell — server {url} (ksqlDB {version}); statements end with ';', "
              "Ctrl-D quits")
    for statement in statements(input_lines(lambda first: "ksql> " if first else "    > ",
                                            interactive)):
        if statement.strip().rstrip(";").strip().lower() in ("exit", "quit"):
            break
        shell.run(statement)
    return 0

"""Safe by default: loopback only without a token; with one, every /api/ request brings it.
And the page's snapshot at its new name, /api/live, with /api/state's old JSON kept."""

import pytest
from teach_api import Api, photo, teach_server

from socksort.dashboard.teach import auth
from socksort.errors import UserError
from socksort.net import free_port

TOKEN = "s3cret-token-for-tests"


@pytest.fixture
def guarded(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models", token=TOKEN) as running:
        yield running


def test_without_the_token_every_api_request_answers_401(guarded):
    anonymous = Api(guarded.base)
    for method, path in (("GET", "/api/examples"), ("GET", "/api/models"), ("GET", "/api/live"),
                         ("POST", "/api/train"), ("GET", "/api/state"), ("POST", "/api/session")):
        answer = anonymous.call(method, path, data=b"" if method == "POST" else None)
        assert answer.status == 401, (method, path)
        assert answer.json()["success"] is False and "Bearer" in answer.headers["WWW-Authenticate"]


def test_a_wrong_token_answers_401(guarded):
    assert Api(guarded.base, "wrong-token-here").get("/api/examples").status == 401


def test_a_token_in_another_scheme_answers_401(guarded):
    answer = Api(guarded.base).get("/api/examples", headers={"Authorization": f"Basic {TOKEN}"})
    assert answer.status == 401


def test_an_upload_without_the_token_is_refused_and_not_stored(guarded, tmp_path):
    answer = Api(guarded.base).teach("red", photo("red", 1))
    assert answer.status == 401
    assert not (tmp_path / "images").exists()


def test_with_the_token_the_api_answers(guarded):
    assert guarded.teach("red", photo("red", 1)).status == 201
    assert guarded.get("/api/examples").json()["dataset"]["classes"] == {"red": 1}


def test_the_page_itself_needs_no_token(guarded):
    assert Api(guarded.base).get("/healthz").status == 200


def test_listening_beyond_loopback_without_a_token_refuses_to_start(tmp_path):
    with pytest.raises(UserError, match="--api-token"):
        with teach_server(tmp_path / "images", tmp_path / "models", host="0.0.0.0"):
            pass


def test_listening_beyond_loopback_with_a_token_starts(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models", host="0.0.0.0", token=TOKEN) as api:
        assert api.get("/api/examples").status == 200
        assert Api(api.base).get("/api/examples").status == 401


def test_the_command_refuses_a_public_address_without_a_token(run_cli):
    nowhere = f"http://127.0.0.1:{free_port()}"
    result = run_cli("dashboard", "--listen", f"0.0.0.0:{free_port()}", "--edge-url", nowhere,
                     "--ksql-url", nowhere, "--connect-url", nowhere,
                     "--mqtt-url", f"mqtt://127.0.0.1:{free_port()}", timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("socksort: error:")
    assert "--api-token" in result.stderr


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.8.0.1", True), ("::1", True),
                                            ("localhost", True), ("0.0.0.0", False), ("", False),
                                            ("192.168.1.5", False), ("example.org", False)])
def test_only_loopback_addresses_count_as_this_machine(host, loopback):
    assert auth.is_loopback(host) is loopback


def test_the_page_snapshot_is_served_at_api_live(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models") as api:
        live = api.get("/api/live")
        assert live.status == 200 and {"pairs", "showings", "health", "stats"} <= set(live.json())


def test_api_state_asked_for_json_still_gives_the_page_snapshot(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models") as api:
        answer = api.get("/api/state", headers={"Accept": "application/json"})
        assert answer.status == 200 and "stats" in answer.json()


def test_api_state_asked_for_anything_else_gives_the_zip(tmp_path):
    with teach_server(tmp_path / "images", tmp_path / "models") as api:
        for accept in ("*/*", "application/zip", "application/json, application/zip"):
            answer = api.get("/api/state", headers={"Accept": accept})
            assert answer.status == 200 and answer.headers["Content-Type"] == "application/zip", accept
            assert answer.body[:2] == b"PK"


def test_the_teach_page_is_served_at_teach_without_a_token(guarded):
    answer = Api(guarded.base).get("/teach")
    assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/html")

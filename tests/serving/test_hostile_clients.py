"""What an attacker's and a careless client's requests get: lists limited after splitting, times
with their offset, errors in their documented shape, event identities that cannot be silently
overwritten, a deadline for slow headers, ids that are UTF-8 with one spelling, and credentials
kept out of the access log."""

from __future__ import annotations

import logging
import socket

import pytest
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serving.http.guards import MaskCredentials, mask_credentials
from serving.http.slow_clients import HeaderDeadline, TimedHTTPProtocol
from tests.conftest import serving

ADMIN = {"Authorization": "Bearer s3cret"}


def test_a_comma_separated_list_is_limited_after_it_is_split(api, catalogue):
    known = list(catalogue)[:150]
    asked = api.get("/items", params={"ids": ",".join(known)})
    assert asked.status_code == 200, asked.text
    assert [i["item_id"] for i in asked.json()["items"]] == known
    too_many = ",".join(f"x{n}" for n in range(201))
    refused = api.get("/items", params={"ids": too_many})
    assert refused.status_code == 422 and isinstance(refused.json()["detail"], list)

    user = "list-splitting-user"
    excluded = ",".join(known[:300] + [f"y{n}" for n in range(200)])
    listed = api.get(f"/recommendations/{user}", params={"exclude_ids": excluded, "k": 5})
    assert listed.status_code == 200, listed.text
    assert not {i["item_id"] for i in listed.json()["items"]} & set(known)
    similar = api.get(f"/items/{known[0]}/similar", params={"exclude_ids": ",".join(known[1:80])})
    assert similar.status_code == 200, similar.text
    assert not {i["item_id"] for i in similar.json()["items"]} & set(known[1:80])


def test_every_time_in_an_answer_carries_its_offset(api, catalogue):
    user = "timezone-user"
    event = {"user_id": user, "item_id": list(catalogue)[0], "event_type": "like"}
    assert api.post("/events", json=event).status_code == 200
    profile = api.get(f"/users/{user}/profile").json()
    times = [profile["first_activity"], profile["last_activity"]]
    times += [entry["timestamp"] for entry in profile["recent"]]
    times.append(api.get("/model").json()["trained_at"])
    assert all(t.endswith(("Z", "+00:00")) for t in times), times


def test_a_bad_experiment_name_is_a_422_in_the_validation_format(api):
    answer = api.put("/experiments/Bad Name!", json={"variants": []}, headers=ADMIN)
    assert answer.status_code == 422
    assert isinstance(answer.json()["detail"], list) and answer.json()["detail"][0]["loc"]


def test_a_reused_event_id_with_other_content_is_a_conflict(api, catalogue):
    first, second = list(catalogue)[:2]
    event = {"user_id": "idem-user", "item_id": first, "event_type": "like", "event_id": "e-1"}
    assert api.post("/events", json=event).status_code == 200
    again = api.post("/events", json=event)  # a retry: the same event, stored once
    assert again.status_code == 200 and again.json()["stored"] == 1
    other = api.post("/events", json={**event, "item_id": second})
    assert other.status_code == 409 and "e-1" in other.json()["detail"]
    batch = {"events": [{**event, "event_id": "e-2"}, {**event, "event_type": "dislike"}]}
    assert api.post("/events", json=batch).status_code == 409
    profile = api.get("/users/idem-user/profile").json()
    assert profile["events_by_type"] == {"like": 1}  # nothing of either refused request


@pytest.mark.parametrize("protocol", [HttpToolsProtocol, H11Protocol])
def test_a_client_that_sends_its_headers_too_slowly_is_disconnected(api_settings, protocol):
    assert issubclass(TimedHTTPProtocol, HeaderDeadline)  # what every command names
    slow = type("Slow", (HeaderDeadline, protocol), {"header_timeout": 0.5})
    with serving(api_settings, http=slow) as base:
        port = int(base.rsplit(":", 1)[1])
        silent = socket.create_connection(("127.0.0.1", port), timeout=30)
        trickling = socket.create_connection(("127.0.0.1", port), timeout=30)
        trickling.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")  # never the blank line
        for connection in (silent, trickling):
            # A closed connection reads b"" (the 30 s socket timeout would raise instead).
            assert connection.recv(1024) == b""
            connection.close()
        prompt = socket.create_connection(("127.0.0.1", port), timeout=30)
        prompt.sendall(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        assert prompt.recv(1024).startswith(b"HTTP/1.1 200")
        prompt.close()


def test_ids_must_be_utf8_so_each_has_one_spelling(api):
    for raw in ("%FF%FE", "%C0%80", "%ED%A0%80"):  # invalid, an overlong NUL, a surrogate
        answer = api.get(f"/recommendations/{raw}")
        assert answer.status_code == 422, raw
        assert "UTF-8" in answer.json()["detail"][0]["msg"]
    assert api.get("/items", params={"ids": b"\xff".decode("latin-1")}).status_code == 200
    assert api.get("/items?ids=%FF").status_code == 422
    assert api.get("/recommendations/%C3%9F").status_code == 200  # ß, spelled as UTF-8


def test_a_query_string_credential_never_reaches_the_access_log(api):
    assert mask_credentials("/admin/reload?token=abc&k=5") == "/admin/reload?token=***&k=5"
    assert mask_credentials("/x?Api%5FKey=s&q=a") == "/x?Api%5FKey=***&q=a"
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5", "POST", "/admin/reload?token=s3cret", "1.1", 401), None,
    )  # fmt: skip
    assert MaskCredentials().filter(record) and "s3cret" not in record.getMessage()
    # The filter is on the access log of every process that builds the app.
    filters = logging.getLogger("uvicorn.access").filters
    assert any(isinstance(f, MaskCredentials) for f in filters)
    assert api.post("/admin/reload?token=s3cret").status_code in (401, 403)

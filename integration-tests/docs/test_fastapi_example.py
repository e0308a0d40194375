"""examples/fastapi_app.py served through FastAPI's test client, on asyncio and trio."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

pytestmark = pytest.mark.cluster

testclient = pytest.importorskip(
    "fastapi.testclient", reason="the docs dependency group is not installed"
)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_notes_service(
    backend: str,
    load_example: Callable[[str], ModuleType],
    drop_keyspace_around: Callable[[str], None],
) -> None:
    service = load_example("fastapi_app")
    drop_keyspace_around(service.KEYSPACE)

    with testclient.TestClient(service.app, backend=backend) as client:
        created = []
        for number in range(5):
            answer = client.post(
                "/notes/ada", json={"text": f"note {number}", "tags": ["x"]}
            )
            assert answer.status_code == 201, answer.text
            created.append(answer.json())
        assert client.post("/notes/ada", json={"text": ""}).status_code == 422

        first = client.get("/notes/ada", params={"size": 2}).json()
        assert [note["text"] for note in first["notes"]] == ["note 4", "note 3"]
        texts = [note["text"] for note in first["notes"]]
        page = first["next_page"]
        while page is not None:
            answer = client.get("/notes/ada", params={"size": 2, "page": page}).json()
            texts.extend(note["text"] for note in answer["notes"])
            page = answer["next_page"]
        assert texts == [f"note {number}" for number in range(4, -1, -1)]

        note_id = created[0]["id"]
        fetched = client.get(f"/notes/ada/{note_id}").json()
        assert fetched["text"] == "note 0"
        assert fetched["tags"] == ["x"]

        edited = client.put(f"/notes/ada/{note_id}", json={"text": "changed"})
        assert edited.status_code == 200
        assert edited.json()["text"] == "changed"
        assert edited.json()["edited"] is not None

        assert client.delete(f"/notes/ada/{note_id}").status_code == 204
        assert client.get(f"/notes/ada/{note_id}").status_code == 404
        gone = client.put(f"/notes/ada/{note_id}", json={"text": "back?"})
        assert gone.status_code == 404
        assert client.get(f"/notes/ada/{note_id}").status_code == 404

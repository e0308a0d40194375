"""examples/flask_app.py driven through Flask's test client."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest

pytestmark = pytest.mark.cluster

pytest.importorskip("flask", reason="the docs dependency group is not installed")


def test_todo_app(
    load_example: Callable[[str], ModuleType],
    drop_keyspace_around: Callable[[str], None],
) -> None:
    example = load_example("flask_app")
    drop_keyspace_around(example.KEYSPACE)
    app = example.create_app()
    client = app.test_client()
    try:
        ids = []
        for title in ("milk", "bread", "eggs"):
            answer = client.post("/ada/todos", json={"title": title})
            assert answer.status_code == 201
            ids.append(answer.get_json()["id"])
        assert client.post("/ada/todos", json={"title": ""}).status_code == 422

        done = client.post(f"/ada/todos/{ids[1]}/done")
        assert done.status_code == 200
        assert done.get_json()["done"] is True

        open_titles = {t["title"] for t in client.get("/ada/todos").get_json()["todos"]}
        assert open_titles == {"milk", "eggs"}
        assert client.get("/grace/todos").get_json() == {"todos": []}

        assert client.delete(f"/ada/todos/{ids[0]}").status_code == 204
        assert client.delete(f"/ada/todos/{ids[0]}").status_code == 404
        missing = client.post(f"/ada/todos/{ids[0]}/done")
        assert missing.status_code == 404
        assert "no Todo with" in missing.get_json()["error"]
    finally:
        example.shutdown()

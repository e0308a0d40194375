"""A to-do list on Flask and coodie.sync.

The app factory connects once, when the app is created; requests then share the
driver, which is safe across Flask's threads. Run it with
``flask --app examples.flask_app run`` (``pip install coodie-sync flask``); the
hosts come from ``COODIE_HOSTS`` (comma-separated, ``127.0.0.1`` by default).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Annotated, Any
from uuid import UUID, uuid4

from flask import Flask, abort, request
from pydantic import Field, ValidationError

from coodie.exceptions import DocumentNotFound
from coodie.fields import ClusteringKey, PrimaryKey
from coodie.sync import Document, close_coodie, create_keyspace, init_coodie

HOSTS = os.environ.get("COODIE_HOSTS", "127.0.0.1").split(",")
KEYSPACE = "coodie_example_flask"


class Todo(Document):
    owner: Annotated[str, PrimaryKey()]
    id: Annotated[UUID, ClusteringKey()] = Field(default_factory=uuid4)
    title: str = Field(min_length=1)
    done: bool = False
    created: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))

    class Settings:
        name = "todos"


def create_app() -> Flask:
    """Connect, create the table if needed, and return the app."""
    init_coodie(hosts=HOSTS, keyspace=KEYSPACE)
    create_keyspace(KEYSPACE, replication_factor=1)
    Todo.sync_table()

    app = Flask(__name__)

    @app.errorhandler(DocumentNotFound)
    def not_found(error: DocumentNotFound) -> tuple[dict[str, str], int]:
        return {"error": str(error)}, 404

    @app.errorhandler(ValidationError)
    def invalid(error: ValidationError) -> tuple[dict[str, Any], int]:
        return {"error": error.errors(include_url=False, include_context=False)}, 422

    @app.post("/<owner>/todos")
    def add(owner: str) -> tuple[dict[str, Any], int]:
        todo = Todo(owner=owner, title=(request.get_json() or {}).get("title", ""))
        todo.save()
        return todo.model_dump(mode="json"), 201

    @app.get("/<owner>/todos")
    def open_todos(owner: str) -> dict[str, Any]:
        todos = [todo for todo in Todo.find(owner=owner) if not todo.done]
        return {"todos": [todo.model_dump(mode="json") for todo in todos]}

    @app.post("/<owner>/todos/<uuid:todo_id>/done")
    def finish(owner: str, todo_id: UUID) -> dict[str, Any]:
        todo = Todo.get(owner=owner, id=todo_id)
        todo.done = True
        todo.save()  # sends only the changed field
        return todo.model_dump(mode="json")

    @app.delete("/<owner>/todos/<uuid:todo_id>")
    def remove(owner: str, todo_id: UUID) -> tuple[str, int]:
        if not Todo(owner=owner, id=todo_id, title="-").delete(if_exists=True):
            abort(404)
        return "", 204

    return app


def shutdown() -> None:
    """Close the connections; call it when the process stops serving."""
    close_coodie()

"""A notes service on FastAPI and coodie.aio.

Each owner's notes live in one partition, newest first. Listing hands out pages
with a token to fetch the next one. Run it with ``uvicorn examples.fastapi_app:app``
(``pip install coodie-aio fastapi uvicorn``); the hosts come from ``COODIE_HOSTS``
(comma-separated, ``127.0.0.1`` by default).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Annotated
from uuid import UUID, uuid1

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from coodie.aio import Document, close_coodie, create_keyspace, init_coodie
from coodie.exceptions import DocumentNotFound
from coodie.fields import ClusteringKey, PrimaryKey, TimeUUID

HOSTS = os.environ.get("COODIE_HOSTS", "127.0.0.1").split(",")
KEYSPACE = "coodie_example_fastapi"


class Note(Document):
    owner: Annotated[str, PrimaryKey()]
    id: Annotated[UUID, ClusteringKey(order="DESC"), TimeUUID()] = Field(
        default_factory=uuid1
    )
    text: str
    tags: set[str] = set()
    edited: datetime | None = None

    class Settings:
        name = "notes"


class NewNote(BaseModel):
    text: str = Field(min_length=1)
    tags: set[str] = set()


class NoteEdit(BaseModel):
    text: str = Field(min_length=1)


class NotePage(BaseModel):
    notes: list[Note]
    next_page: str | None


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    await init_coodie(hosts=HOSTS, keyspace=KEYSPACE)
    await create_keyspace(KEYSPACE, replication_factor=1)
    await Note.sync_table()
    yield
    await close_coodie()


app = FastAPI(title="notes", lifespan=lifespan)


@app.exception_handler(DocumentNotFound)
async def not_found(request: Request, error: DocumentNotFound) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(error)})


@app.post("/notes/{owner}", status_code=201)
async def add_note(owner: str, new: NewNote) -> Note:
    note = Note(owner=owner, text=new.text, tags=new.tags)
    await note.save()
    return note


@app.get("/notes/{owner}")
async def list_notes(
    owner: str,
    page: Annotated[str | None, Query(description="the previous next_page")] = None,
    size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> NotePage:
    result = await Note.find(owner=owner).paged_all(page, page_size=size)
    return NotePage(notes=result.documents, next_page=result.paging_token)


@app.get("/notes/{owner}/{note_id}")
async def get_note(owner: str, note_id: UUID) -> Note:
    return await Note.get(owner=owner, id=note_id)


@app.put("/notes/{owner}/{note_id}")
async def edit_note(owner: str, note_id: UUID, edit: NoteEdit) -> Note:
    note = Note(owner=owner, id=note_id, text=edit.text)
    edited = datetime.now(timezone.utc)
    # if_exists: editing a note that was deleted must not bring it back.
    result = await note.update(text=edit.text, edited=edited, if_exists=True)
    if not result:
        raise HTTPException(status_code=404, detail="no such note")
    return await Note.get(owner=owner, id=note_id)


@app.delete("/notes/{owner}/{note_id}", status_code=204)
async def delete_note(owner: str, note_id: UUID) -> None:
    await Note.find(owner=owner, id=note_id).delete()

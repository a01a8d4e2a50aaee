"""Call lists and their upload: a placement CSV goes through the importer in the background while
the page shows its progress, then its validation report (every rejected row by line, column and
reason).

Progress lives in the live store, so any web worker can answer the page's polls. The upload is
kept on disk only while it is imported.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import io
import json
import logging
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any

import anyio.from_thread
import sqlalchemy as sa
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from campaigns.importer.reading import ImportFileError
from campaigns.importer.run import ClientNotFoundError, ImportSummary, import_accounts
from campaigns.models import CallList, CallListMember, ImportRun
from infra.models import Client
from workbench.live_store import LiveStore
from workbench.manager_http import form_text, fragment, not_found, page
from workbench.services import Services, services_of
from workbench.viewer import ClientScope, Viewer, visible_clients

JOBS_KEY = "import-jobs"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
PROGRESS_EVERY_SECONDS = 0.25
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")

log = logging.getLogger(__name__)
# The running imports; asyncio keeps only weak references to tasks.
_running: set[asyncio.Task[None]] = set()


@dataclasses.dataclass(frozen=True)
class ListRow:
    call_list: CallList
    client: Client
    members: int


def list_rows(db: Session, scope: ClientScope) -> list[ListRow]:
    members = (
        sa.select(CallListMember.list_id, sa.func.count().label("members"))
        .group_by(CallListMember.list_id)
        .subquery()
    )
    query = (
        sa.select(CallList, Client, sa.func.coalesce(members.c.members, 0))
        .join(Client, Client.id == CallList.client_id)
        .outerjoin(members, members.c.list_id == CallList.id)
        .where(scope.filter(CallList.client_id))
        .order_by(Client.name, CallList.name)
    )
    return [ListRow(call_list, client, count) for call_list, client, count in db.execute(query)]


def import_runs(db: Session, scope: ClientScope, limit: int = 20) -> list[tuple[ImportRun, Client]]:
    query = (
        sa.select(ImportRun, Client)
        .join(Client, Client.id == ImportRun.client_id)
        .where(scope.filter(ImportRun.client_id))
        .order_by(ImportRun.id.desc())
        .limit(limit)
    )
    return [(run, client) for run, client in db.execute(query)]


def import_run(
    db: Session, scope: ClientScope, run_id: int
) -> tuple[ImportRun, Client, CallList | None] | None:
    found = db.execute(
        sa.select(ImportRun, Client)
        .join(Client, Client.id == ImportRun.client_id)
        .where(ImportRun.id == run_id, scope.filter(ImportRun.client_id))
    ).first()
    if found is None:
        return None
    run, client = found
    return run, client, db.get(CallList, run.list_id) if run.list_id else None


async def lists_page(
    request: Request, viewer: Viewer, *, error: str = "", status_code: int = 200
) -> Response:
    def load(db: Session) -> tuple[list[Client], list[ListRow], list[tuple[ImportRun, Client]]]:
        return visible_clients(db, viewer.scope), list_rows(db, viewer.scope), import_runs(db, viewer.scope)

    clients, rows, runs = await services_of(request).run_db(load)
    return page(
        request,
        viewer,
        "manager/lists.html",
        status_code=status_code,
        clients=clients,
        rows=rows,
        runs=runs,
        error=error,
    )


async def lists_index(request: Request, viewer: Viewer) -> Response:
    return await lists_page(request, viewer)


@dataclasses.dataclass
class _Progress:
    """The importer's progress, written to the live store from the import's worker thread."""

    store: LiveStore
    token: str
    job: dict[str, Any]
    written_at: float = 0.0

    def _save(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self.written_at >= PROGRESS_EVERY_SECONDS:
            self.written_at = now
            anyio.from_thread.run(self.store.hash_set, JOBS_KEY, self.token, json.dumps(self.job))

    def start(self, phase: str, total: int) -> None:
        self.job.update(phase=phase, total=total, done=0)
        self._save(force=True)

    def advance(self, rows: int) -> None:
        self.job["done"] += rows
        self._save()


async def _save_job(store: LiveStore, token: str, job: dict[str, Any]) -> None:
    await store.hash_set(JOBS_KEY, token, json.dumps(job))


async def _run_import(
    services: Services,
    token: str,
    job: dict[str, Any],
    *,
    path: Path,
    client_code: str,
    list_name: str | None,
) -> None:
    progress = _Progress(services.store, token, job)

    def work() -> ImportSummary:
        return import_accounts(
            services.db_sessions,
            path,
            client_code=client_code,
            secret=services.settings.effective_secret_key,
            list_name=list_name,
            actor=f"user:{job['user_id']}",
            started_by=job["user_id"],
            workers=0,  # no forking inside the web server
            progress=progress,
        )

    try:
        summary = await run_in_threadpool(work)
        job.update(status="done", run_id=summary.run_id)
    except (ImportFileError, ClientNotFoundError) as error:
        job.update(status="failed", error=str(error))
    except Exception:
        log.exception("import %s failed", token)
        job.update(status="failed", error="The import failed unexpectedly; nothing was stored.")
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    await _save_job(services.store, token, job)


def _upload_name(upload: UploadFile) -> str:
    name = SAFE_NAME.sub("_", Path(upload.filename or "upload.csv").name).strip("._")[:100]
    return name or "upload.csv"


async def _store_upload(upload: UploadFile, destination: Path) -> bool:
    """Copy the upload to disk; False when it is larger than allowed."""
    written = 0
    with destination.open("wb") as out:
        while chunk := await upload.read(1024 * 1024):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                return False
            out.write(chunk)
    return True


async def upload_list(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    form = await request.form()
    upload = form.get("file")
    client_text = form_text(form, "client_id")
    list_name = form_text(form, "list_name", limit=200) or None
    if not isinstance(upload, UploadFile) or not upload.filename:
        return await lists_page(request, viewer, error="Choose a CSV file to upload.", status_code=422)
    client_id = int(client_text) if client_text.isdigit() else 0
    client = await services.run_db(lambda db: db.get(Client, client_id))
    if client is None or not viewer.scope.allows(client.id):
        return await lists_page(request, viewer, error="Choose one of your clients.", status_code=422)
    token = secrets.token_urlsafe(16)
    folder = services.settings.data_dir / "uploads" / token
    folder.mkdir(parents=True)
    path = folder / _upload_name(upload)
    if not await _store_upload(upload, path):
        shutil.rmtree(folder, ignore_errors=True)
        limit = MAX_UPLOAD_BYTES // (1024 * 1024)
        return await lists_page(
            request, viewer, error=f"The file is larger than {limit} MB.", status_code=413
        )
    job: dict[str, Any] = {
        "user_id": viewer.user_id,
        "client_id": client.id,
        "client_name": client.name,
        "file_name": path.name,
        "status": "running",
        "phase": "queued",
        "done": 0,
        "total": 0,
        "run_id": None,
        "error": None,
    }
    await _save_job(services.store, token, job)
    task = asyncio.create_task(
        _run_import(services, token, job, path=path, client_code=client.code, list_name=list_name)
    )
    _running.add(task)
    task.add_done_callback(_running.discard)
    return RedirectResponse(f"/manager/imports/jobs/{token}", status_code=303)


async def import_job_page(request: Request, viewer: Viewer) -> Response:
    services = services_of(request)
    token: str = request.path_params["token"]
    raw = await services.store.hash_get(JOBS_KEY, token)
    job = json.loads(raw) if raw else None
    if job is None or job["user_id"] != viewer.user_id:
        return not_found(request, viewer, "import")
    polled = request.headers.get("hx-request") == "true"
    if job["status"] == "done":
        await services.store.hash_delete(JOBS_KEY, token)  # the import run keeps the report
        report = f"/manager/imports/{job['run_id']}"
        return (
            Response(status_code=204, headers={"HX-Redirect": report})
            if polled
            else RedirectResponse(report, 303)
        )
    context = {"job": job, "token": token}
    if polled:
        return fragment(request, "manager/import_progress.html", **context)
    return page(request, viewer, "manager/import_job.html", **context)


async def import_run_page(request: Request, viewer: Viewer) -> Response:
    run_id: int = request.path_params["run_id"]
    found = await services_of(request).run_db(lambda db: import_run(db, viewer.scope, run_id))
    if found is None:
        return not_found(request, viewer, "import")
    run, client, call_list = found
    return page(request, viewer, "manager/import_run.html", run=run, client=client, call_list=call_list)


def spreadsheet_safe(value: object) -> object:
    """Rejected cells are the client's text: keep a spreadsheet from reading one as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


async def import_rejects_csv(request: Request, viewer: Viewer) -> Response:
    run_id: int = request.path_params["run_id"]
    found = await services_of(request).run_db(lambda db: import_run(db, viewer.scope, run_id))
    if found is None:
        return not_found(request, viewer, "import")
    run = found[0]
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["line", "column", "code", "reason"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(
        {key: spreadsheet_safe(value) for key, value in reject.items()} for reject in run.rejects
    )
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="import-{run.id}-rejects.csv"'},
    )

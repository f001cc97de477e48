"""Request handling of the fake Graph server: the token, throttling, then the documented routes.

Each answer is built whole before any of it is written, so a test can make the server act and
then cut the connection halfway through the answer, as a broken network does.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import socket
import time
import uuid
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from tests.servers.graph_store import (
    ROOT,
    Exists,
    GraphMailboxStore,
    NotFound,
    SyncStateGone,
    folder_resource,
    resource,
)

if TYPE_CHECKING:
    from tests.servers.graph import GraphServer

JSON = ("application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false;"
        " charset=utf-8")
THROTTLED = "Application is over its MailboxConcurrency limit."


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)


def error(status: int, code: str, message: str, **headers: str) -> Answer:
    inner = {"request-id": str(uuid.uuid4()), "date": time.strftime("%Y-%m-%dT%H:%M:%S")}
    body = {"error": {"code": code, "message": message, "innerError": inner}}
    return Answer(status, json.dumps(body).encode(), headers=headers)


def ok(payload: dict, status: int = 200, **headers: str) -> Answer:
    return Answer(status, json.dumps(payload).encode(), headers=headers)


class GraphHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # an idle keep-alive connection is closed after this long
    # Headers and body leave in separate writes; with Nagle on, each answer would wait for
    # the client's delayed ACK (40 ms on Linux).
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def log_message(self, format, *args) -> None:  # noqa: A002 - the base class names it so
        pass

    @property
    def owner(self) -> GraphServer:
        return self.server.owner  # type: ignore[attr-defined]

    def _serve(self, method: str) -> None:
        from tests.servers.graph import MAX_IN_FLIGHT, Exchange

        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        owner = self.owner
        exchange = Exchange(method, unquote(self.path), started=time.monotonic())
        with owner.lock:
            owner.exchanges.append(exchange)
            owner.in_flight += 1
            owner.max_in_flight = max(owner.max_in_flight, owner.in_flight)
            crowded = owner.in_flight > MAX_IN_FLIGHT
        try:
            answer = self._answer(method, body, crowded)
        finally:
            with owner.lock:
                owner.in_flight -= 1
        exchange.status, exchange.finished = answer.status, time.monotonic()
        exchange.retry_after = float(answer.headers.get("Retry-After", 0))
        self._write(answer, drop=owner.take_drop(exchange.path))

    def _answer(self, method: str, body: bytes, crowded: bool) -> Answer:
        owner = self.owner
        if owner.behaviour.latency:
            time.sleep(owner.behaviour.latency)
        authorization = self.headers.get("Authorization", "")
        if not authorization.startswith("Bearer "):
            return error(401, "InvalidAuthenticationToken", "Access token is empty.")
        if not owner.token_accepted(authorization.removeprefix("Bearer ")):
            return error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        with owner.lock:
            behaviour = owner.behaviour
            if behaviour.throttle > 0:
                behaviour.throttle -= 1
                return error(behaviour.throttle_status, "ApplicationThrottled", THROTTLED,
                             **{"Retry-After": _seconds(behaviour.retry_after)})
            deny = behaviour.deny
        if crowded:
            return error(429, "ApplicationThrottled", THROTTLED, **{"Retry-After": "1"})
        if deny:
            return error(403, "ErrorAccessDenied", deny)
        try:
            return self._route(method, body)
        except NotFound:
            return error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        except Exists:
            return error(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        except SyncStateGone:
            return error(410, "syncStateNotFound", "The sync state generation is not found or has expired.")

    # -- routes --------------------------------------------------------------------------------

    def _route(self, method: str, body: bytes) -> Answer:
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        segments = _segments(parts.path)
        if len(segments) < 3 or segments[0] != "v1.0" or segments[1].lower() != "users":
            return error(400, "BadRequest", f"Resource not found for the segment '{parts.path}'.")
        store = self.owner.mailboxes.get(segments[2].lower())
        if store is None:
            return error(404, "ErrorInvalidUser", f"The requested user '{segments[2]}' is invalid.")
        rest = segments[3:]
        words = [s.lower() for s in rest]
        route = (method, words[0] if words else "", len(words), words[2] if len(words) > 2 else "")
        match route:
            case ("GET", "mailfolders", 1, _):
                return self._collection(store, [folder_resource(store, f) for f in store.children(ROOT)],
                                        query, "mailFolders")
            case ("POST", "mailfolders", 1, _):
                return self._create_folder(store, ROOT, body)
            case ("GET", "mailfolders", 2, _):
                return ok(folder_resource(store, store.folder(rest[1])))
            case ("DELETE", "mailfolders", 2, _):
                store.delete_folder(rest[1])
                return Answer(204)
            case ("GET", "mailfolders", 3, "childfolders"):
                folder = store.folder(rest[1])
                children = [folder_resource(store, f) for f in store.children(folder.id)]
                return self._collection(store, children, query, f"mailFolders('{folder.id}')/childFolders")
            case ("POST", "mailfolders", 3, "childfolders"):
                return self._create_folder(store, rest[1], body)
            case ("GET", "mailfolders", 4, "messages") if words[3] == "delta":
                return self._delta(store, rest[1], query)
            case ("GET", "messages", 2, _):
                return ok(resource(store.message(rest[1]), _select(query)))
            case ("GET", "messages", 3, "$value"):
                return Answer(200, store.message(rest[1]).mime, "message/rfc822")
            case ("POST", "messages", 3, "move"):
                destination = _json_body(body).get("destinationId", "")
                return ok(resource(store.move(rest[1], str(destination))), 201)
            case ("POST", "sendmail", 1, _):
                return self._send_mail(store, body)
        return error(400, "BadRequest", f"Resource not found for the segment '{'/'.join(rest)}'.")

    def _collection(self, store: GraphMailboxStore, items: list[dict], query: dict, path: str) -> Answer:
        top, skip = int(query.get("$top", "10")), int(query.get("$skip", "0"))
        select = _select(query)
        page = [{k: v for k, v in i.items() if not select or k == "id" or k in select}
                for i in items[skip:skip + top]]
        payload: dict = {"@odata.context": f"{self.owner.base_url}/$metadata#users('{store.address}')/{path}",
                         "value": page}
        if skip + top < len(items):
            following = urlencode({**query, "$skip": str(skip + top)}, safe="$,")
            payload["@odata.nextLink"] = f"{self._user_url(store)}/{path}?{following}"
        return ok(payload)

    def _create_folder(self, store: GraphMailboxStore, parent: str, body: bytes) -> Answer:
        name = str(_json_body(body).get("displayName") or "")
        if not name:
            return error(400, "ErrorInvalidRequest", "displayName is required.")
        return ok(folder_resource(store, store.create_folder(parent, name)), 201)

    def _delta(self, store: GraphMailboxStore, reference: str, query: dict) -> Answer:
        folder = store.folder(reference)
        prefer = self.headers.get("Prefer", "")
        size = int(prefer.split("odata.maxpagesize=")[1].split(",")[0]) if "maxpagesize=" in prefer else 10
        items, skip, delta = store.delta_page(folder.id, skip=query.get("$skiptoken", ""),
                                              delta=query.get("$deltatoken", ""), page_size=size,
                                              select=_select(query))
        link = f"{self._user_url(store)}/mailfolders('{folder.id}')/messages/delta"
        payload: dict = {"@odata.context": f"{self.owner.base_url}/$metadata#Collection(message)"}
        if skip:
            payload["@odata.nextLink"] = f"{link}?$skiptoken={skip}"
        else:
            payload["@odata.deltaLink"] = f"{link}?$deltatoken={delta}"
        payload["value"] = items
        return ok(payload, **{"Preference-Applied": f"odata.maxpagesize={size}"})

    def _send_mail(self, store: GraphMailboxStore, body: bytes) -> Answer:
        if self.headers.get("Content-Type", "").split(";")[0].strip().lower() != "text/plain":
            return error(400, "ErrorInvalidRequest", "This fake takes sendMail as MIME (text/plain) only.")
        try:
            mime = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return error(400, "ErrorMimeContentInvalidBase64String",
                         "Invalid base64 string for MIME content.")
        headers = BytesHeaderParser(policy=compat32).parsebytes(mime)
        recipients = [a for _, a in getaddresses([str(v) for n in ("to", "cc", "bcc")
                                                  for v in headers.get_all(n, [])]) if a]
        with self.owner.lock:
            refused = [r for r in recipients if r.lower() in self.owner.behaviour.invalid_recipients]
        if not recipients or refused:
            return error(400, "ErrorInvalidRecipients",
                         f"At least one recipient isn't valid., Recipient '{(refused or [''])[0]}' isn't"
                         " resolved. All recipients must be resolved before a message can be submitted.")
        with store.lock:
            store.sent.append(mime)
            store.deliver(mime, store.folder("sentitems").id)  # sendMail saves to Sent Items
        return Answer(202)

    def _user_url(self, store: GraphMailboxStore) -> str:
        return f"{self.owner.base_url}/users/{quote(store.address, safe='@')}"

    # -- writing -------------------------------------------------------------------------------

    def _write(self, answer: Answer, *, drop: bool) -> None:
        self.send_response(answer.status)
        headers = {"Content-Type": answer.content_type, "request-id": str(uuid.uuid4()),
                   "Content-Length": str(len(answer.body)), **answer.headers}
        for name, value in headers.items():
            self.send_header(name, value)
        if drop:
            if answer.body:  # headers and half the body; with no body, nothing at all
                self.end_headers()
                self.wfile.write(answer.body[:len(answer.body) // 2])
                self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.end_headers()
        if answer.body:
            self.wfile.write(answer.body)


def _segments(path: str) -> list[str]:
    """Path segments, with OData key syntax ``mailFolders('id')`` read as ``mailFolders/id``."""
    segments: list[str] = []
    for raw in path.strip("/").split("/"):
        segment = unquote(raw)
        if segment.endswith("')") and "('" in segment:
            name, key = segment[:-2].split("('", 1)
            segments += [name, key]
        else:
            segments.append(segment)
    return segments


def _select(query: dict) -> set[str] | None:
    value = query.get("$select", "")
    return {part.strip() for part in value.split(",") if part.strip()} or None


def _json_body(body: bytes) -> dict:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)

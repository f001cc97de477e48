"""The SOAP side of the fake Exchange server: envelopes, faults and the pieces of EWS answers.

Shapes follow Microsoft's EWS XML reference
(learn.microsoft.com/exchange/client-developer/web-service-reference): each operation answers
``<m:{Operation}Response>`` holding a ``ResponseMessages`` list with one message per requested
folder or item, ``ResponseClass`` Success or Error and a ``ResponseCode``; failures of the whole
request are SOAP faults with HTTP 500. Every answer carries the ``ServerVersionInfo`` header of
Exchange Server 2019 CU14, which is what exchangelib reads to settle the schema version. The
operations themselves are in ``ews_operations``.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from xml.etree.ElementTree import Element
from xml.sax.saxutils import escape, quoteattr

from tests.servers.ews_store import Mailstore, StoredFolder, StoredItem

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
M = "http://schemas.microsoft.com/exchange/services/2006/messages"
T = "http://schemas.microsoft.com/exchange/services/2006/types"
E = "http://schemas.microsoft.com/exchange/services/2006/errors"
_XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
_XSD = 'xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
# The versions a 2019 server accepts in RequestServerVersion; exchangelib tries newest first.
ACCEPTED_VERSIONS = {"Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1",
                     "Exchange2010_SP2", "Exchange2013", "Exchange2013_SP1", "Exchange2016"}
SERVER_VERSION = ('<h:ServerVersionInfo MajorVersion="15" MinorVersion="2" MajorBuildNumber="1544"'
                  f' MinorBuildNumber="4" Version="V2017_07_11" xmlns:h="{T}" xmlns="{T}"'
                  f" {_XSD} {_XSI}/>")
_ERROR_TEXT = {
    "ErrorItemNotFound": "The specified object was not found in the store., The process failed"
                         " to get the correct properties.",
    "ErrorFolderNotFound": "The specified folder could not be found in the store.",
    "ErrorFolderExists": "A folder with the specified name already exists.",
    "ErrorNonExistentMailbox": "The SMTP address has no mailbox associated with it.",
    "ErrorInvalidIdMalformed": "Id is malformed.",
    "ErrorInvalidOperation": "The operation is not supported by this fake server.",
}


@dataclass(frozen=True)
class OperationContext:
    store: Mailstore
    address: str
    envelope: Element


class OperationError(Exception):
    """One requested folder or item failed; it becomes an Error response message."""

    def __init__(self, code: str):
        self.code = code
        super().__init__(code)


def envelope(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>'
            f'<s:Envelope xmlns:s="{SOAP}"><s:Header>{SERVER_VERSION}</s:Header>'
            f"<s:Body {_XSI} {_XSD}>{body}</s:Body></s:Envelope>").encode()


def fault(code: str, text: str, extra: str = "") -> bytes:
    """A SOAP fault as Exchange sends it with HTTP 500 (throttling, schema version)."""
    return ('<?xml version="1.0" encoding="utf-8"?>'
            f'<s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault>'
            f'<faultcode xmlns:a="{T}">a:{code}</faultcode>'
            f'<faultstring xml:lang="en-US">{escape(text)}</faultstring><detail>'
            f'<e:ResponseCode xmlns:e="{E}">{code}</e:ResponseCode>'
            f'<e:Message xmlns:e="{E}">{escape(text)}</e:Message>{extra}'
            "</detail></s:Fault></s:Body></s:Envelope>").encode()


def busy_fault(back_off_ms: int) -> bytes:
    """ErrorServerBusy, as EWS throttling answers (see "EWS throttling in Exchange")."""
    return fault("ErrorServerBusy", "The server cannot service this request right now. Try again later.",
                 f'<t:MessageXml xmlns:t="{T}"><t:Value Name="BackOffMilliseconds">{back_off_ms}'
                 "</t:Value></t:MessageXml>")


# -- building blocks ---------------------------------------------------------------------------


def success_message(operation: str, body: str) -> str:
    return (f'<m:{operation}ResponseMessage ResponseClass="Success">'
            f"<m:ResponseCode>NoError</m:ResponseCode>{body}</m:{operation}ResponseMessage>")


def error_message(operation: str, code: str, container: str = "") -> str:
    empty = f"<m:{container} />" if container else ""
    return (f'<m:{operation}ResponseMessage ResponseClass="Error">'
            f"<m:MessageText>{escape(_ERROR_TEXT.get(code, code))}</m:MessageText>"
            f"<m:ResponseCode>{code}</m:ResponseCode>"
            f"<m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>{empty}</m:{operation}ResponseMessage>")


def each(operation: str, container: str, elements: list[Element],
          answer: Callable[[Element], str]) -> list[str]:
    """One response message per requested folder or item, its answer inside ``container``."""
    replies = []
    for element in elements:
        try:
            replies.append(success_message(operation, f"<m:{container}>{answer(element)}</m:{container}>"))
        except OperationError as error:
            replies.append(error_message(operation, error.code, container))
    return replies


def id_xml(tag: str, id_: str, change_key: str) -> str:
    return f"<t:{tag} Id={quoteattr(id_)} ChangeKey={quoteattr(change_key)}/>"


def requested_fields(request: Element, shape: str) -> set[str]:
    """The FieldURIs of the ItemShape or FolderShape's AdditionalProperties."""
    shape_element = request.find(f"{{{M}}}{shape}")
    if shape_element is None:
        return set()
    return {uri.get("FieldURI", "") for uri in shape_element.iter(f"{{{T}}}FieldURI")}


def folder_xml(folder: StoredFolder, context: OperationContext, fields: set[str]) -> str:
    store = context.store
    parent = store.folder(folder.parent_id) if folder.parent_id else None
    items = store.items_in(folder.id)
    parts = [id_xml("FolderId", folder.id, folder.change_key)]
    if parent is not None:
        parts.append(id_xml("ParentFolderId", parent.id, parent.change_key))
    if folder.folder_class:
        parts.append(f"<t:FolderClass>{folder.folder_class}</t:FolderClass>")
    parts += [f"<t:DisplayName>{escape(folder.name)}</t:DisplayName>",
              f"<t:TotalCount>{len(items)}</t:TotalCount>",
              f"<t:ChildFolderCount>{len(store.children(folder.id))}</t:ChildFolderCount>"]
    if folder.distinguished and "folder:DistinguishedFolderId" in fields:
        parts.append(f"<t:DistinguishedFolderId>{folder.distinguished}</t:DistinguishedFolderId>")
    parts.append("<t:UnreadCount>0</t:UnreadCount>")
    return f"<t:Folder>{''.join(parts)}</t:Folder>"


def resolve_folder(element: Element, context: OperationContext) -> StoredFolder:
    """A t:FolderId or t:DistinguishedFolderId (whose t:Mailbox must be this mailbox)."""
    store = context.store
    if element.tag == f"{{{T}}}DistinguishedFolderId":
        mailbox = element.find(f"{{{T}}}Mailbox/{{{T}}}EmailAddress")
        if mailbox is not None and mailbox.text.lower() != context.address.lower():
            raise OperationError("ErrorNonExistentMailbox")
        folder = store.distinguished(element.get("Id", ""))
    elif element.tag == f"{{{T}}}FolderId":
        folder = store.folder(element.get("Id", ""))
    else:
        raise OperationError("ErrorInvalidIdMalformed")
    if folder is None:
        raise OperationError("ErrorFolderNotFound")
    return folder


def folder_ids(request: Element, tag: str) -> list[Element]:
    container = request.find(f"{{{M}}}{tag}")
    return [] if container is None else list(container)


def equality(request: Element) -> tuple[str, str] | None:
    """The (field, value) of a Restriction holding one IsEqualTo, the only kind sent here."""
    restriction = request.find(f"{{{M}}}Restriction")
    if restriction is None:
        return None
    equal = restriction.find(f"{{{T}}}IsEqualTo")
    uri = None if equal is None else equal.find(f"{{{T}}}FieldURI")
    constant = None if equal is None else equal.find(f"{{{T}}}FieldURIOrConstant/{{{T}}}Constant")
    if uri is None or constant is None:
        raise OperationError("ErrorUnsupportedQueryFilter")
    return uri.get("FieldURI", ""), constant.get("Value", "")


def paged(request: Element, view: str, total: list) -> tuple[list, str]:
    """Apply an IndexedPage*View; returns the page and the RootFolder paging attributes."""
    paging = request.find(f"{{{M}}}{view}")
    offset, limit = 0, len(total)
    if paging is not None:
        offset = int(paging.get("Offset", "0"))
        limit = int(paging.get("MaxEntriesReturned", str(len(total))))
        if paging.get("BasePoint") == "End":
            offset = max(0, len(total) - offset - limit)
    page = total[offset:offset + limit]
    last = offset + len(page) >= len(total)
    attributes = (f'IndexedPagingOffset="{offset + len(page)}" TotalItemsInView="{len(total)}"'
                  f' IncludesLastItemInRange="{"true" if last else "false"}"')
    return page, attributes


def each_root(operation: str, elements: list[Element], answer: Callable[[Element], str]) -> list[str]:
    """Like ``each``, for FindFolder and FindItem, whose RootFolder sits in the message itself."""
    replies = []
    for element in elements:
        try:
            replies.append(success_message(operation, answer(element)))
        except OperationError as error:
            replies.append(error_message(operation, error.code))
    return replies


def item_xml(item: StoredItem, fields: set[str]) -> str:
    parts = [id_xml("ItemId", item.id, item.change_key)]
    if "item:MimeContent" in fields:
        encoded = base64.b64encode(item.mime).decode()
        parts.insert(0, f'<t:MimeContent CharacterSet="UTF-8">{encoded}</t:MimeContent>')
    if "item:Size" in fields:
        parts.append(f"<t:Size>{len(item.mime)}</t:Size>")
    if "item:Subject" in fields:
        parts.append(f"<t:Subject>{escape(item.subject)}</t:Subject>")
    if "item:DateTimeReceived" in fields:
        parts.append(f"<t:DateTimeReceived>{item.received:%Y-%m-%dT%H:%M:%SZ}</t:DateTimeReceived>")
    if "message:InternetMessageId" in fields:
        parts.append(f"<t:InternetMessageId>{escape(item.message_id)}</t:InternetMessageId>")
    return f"<t:Message>{''.join(parts)}</t:Message>"

"""The EWS operations the fake Exchange server answers, and no others.

exchangelib 5.6 sends these for what the adapter does (recorded while writing it, and checked by
test_a_first_pass_makes_the_requests_the_fake_server_replays): ConvertId (its version probe),
GetFolder, FindFolder and CreateFolder (the watched and processed folders), FindItem (listing,
polling, and looking for a sent message in Sent Items), GetItem with MimeContent, MoveItem, and
CreateItem with MessageDisposition SendOnly or SendAndSaveCopy.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from xml.etree.ElementTree import Element

from tests.servers.ews_soap import (
    ACCEPTED_VERSIONS,
    SOAP,
    M,
    OperationContext,
    OperationError,
    T,
    each,
    each_root,
    envelope,
    equality,
    error_message,
    fault,
    folder_ids,
    folder_xml,
    id_xml,
    item_xml,
    paged,
    requested_fields,
    resolve_folder,
    success_message,
)
from tests.servers.ews_store import SentMessage


def handle_operation(name: str, request: Element, context: OperationContext) -> tuple[int, bytes]:
    """The HTTP status and SOAP envelope answering one operation."""
    version = context.envelope.find(f"{{{SOAP}}}Header/{{{T}}}RequestServerVersion")
    if version is not None and version.get("Version") not in ACCEPTED_VERSIONS:
        return 500, fault("ErrorInvalidServerVersion",
                          "The specified server version is invalid.")
    handler = _HANDLERS.get(name)
    if handler is None:
        return 500, fault("ErrorInvalidRequest", f"The request is invalid: {name} is not served here.")
    messages = handler(request, context)
    return 200, envelope(f'<m:{name}Response xmlns:m="{M}" xmlns:t="{T}">'
                         f"<m:ResponseMessages>{''.join(messages)}</m:ResponseMessages>"
                         f"</m:{name}Response>")


# -- the operations ----------------------------------------------------------------------------


def _convert_id(request: Element, context: OperationContext) -> list[str]:
    # exchangelib probes the server version by converting the id "DUMMY"; Exchange refuses it.
    ids = folder_ids(request, "SourceIds")
    return [error_message("ConvertId", "ErrorInvalidIdMalformed") for _ in ids]


def _get_folder(request: Element, context: OperationContext) -> list[str]:
    fields = requested_fields(request, "FolderShape")
    return each("GetFolder", "Folders", folder_ids(request, "FolderIds"),
                 lambda element: folder_xml(resolve_folder(element, context), context, fields))


def _find_folder(request: Element, context: OperationContext) -> list[str]:
    fields = requested_fields(request, "FolderShape")
    deep = request.get("Traversal") == "Deep"

    def answer(element: Element) -> str:
        parent = resolve_folder(element, context)
        found = context.store.children(parent.id, deep=deep)
        condition = equality(request)
        if condition is not None:
            field_uri, value = condition
            if field_uri != "folder:DisplayName":
                raise OperationError("ErrorUnsupportedQueryFilter")
            found = [f for f in found if f.name.lower() == value.lower()]
        page, attributes = paged(request, "IndexedPageFolderView", found)
        folders = "".join(folder_xml(f, context, fields) for f in page)
        return f"<m:RootFolder {attributes}><t:Folders>{folders}</t:Folders></m:RootFolder>"

    return each_root("FindFolder", folder_ids(request, "ParentFolderIds"), answer)


def _create_folder(request: Element, context: OperationContext) -> list[str]:
    parent_element = folder_ids(request, "ParentFolderId")
    try:
        parent = resolve_folder(parent_element[0], context)
    except OperationError as error:
        return [error_message("CreateFolder", error.code, "Folders")]
    replies = []
    for folder in folder_ids(request, "Folders"):
        name = folder.findtext(f"{{{T}}}DisplayName", "")
        try:
            created = context.store.create_folder(parent.id, name)
        except FileExistsError:
            replies.append(error_message("CreateFolder", "ErrorFolderExists", "Folders"))
            continue
        replies.append(success_message("CreateFolder", "<m:Folders><t:Folder>"
                                + id_xml("FolderId", created.id, created.change_key)
                                + "</t:Folder></m:Folders>"))
    return replies


def _find_item(request: Element, context: OperationContext) -> list[str]:
    fields = requested_fields(request, "ItemShape")
    order = request.find(f"{{{M}}}SortOrder/{{{T}}}FieldOrder")
    newest_first = order is not None and order.get("Order") == "Descending"

    def answer(element: Element) -> str:
        items = context.store.items_in(resolve_folder(element, context).id)
        condition = equality(request)
        if condition is not None:
            field_uri, value = condition
            if field_uri != "message:InternetMessageId":
                raise OperationError("ErrorUnsupportedQueryFilter")
            items = [i for i in items if i.message_id == value]
        if newest_first:
            items.reverse()
        page, attributes = paged(request, "IndexedPageItemView", items)
        found = "".join(item_xml(i, fields) for i in page)
        return f"<m:RootFolder {attributes}><t:Items>{found}</t:Items></m:RootFolder>"

    return each_root("FindItem", folder_ids(request, "ParentFolderIds"), answer)


def _get_item(request: Element, context: OperationContext) -> list[str]:
    fields = requested_fields(request, "ItemShape")

    def answer(element: Element) -> str:
        item = context.store.items.get(element.get("Id", ""))
        if item is None:
            raise OperationError("ErrorItemNotFound")
        return item_xml(item, fields)

    return each("GetItem", "Items", folder_ids(request, "ItemIds"), answer)


def _move_item(request: Element, context: OperationContext) -> list[str]:
    try:
        target = resolve_folder(folder_ids(request, "ToFolderId")[0], context)
    except OperationError as error:
        return [error_message("MoveItem", error.code, "Items")]

    def answer(element: Element) -> str:
        moved = context.store.move(element.get("Id", ""), target.id)
        if moved is None:
            raise OperationError("ErrorItemNotFound")
        return f"<t:Message>{id_xml('ItemId', moved.id, moved.change_key)}</t:Message>"

    return each("MoveItem", "Items", folder_ids(request, "ItemIds"), answer)


def _create_item(request: Element, context: OperationContext) -> list[str]:
    disposition = request.get("MessageDisposition", "SaveOnly")
    if disposition not in ("SendOnly", "SendAndSaveCopy"):
        return [error_message("CreateItem", "ErrorInvalidOperation", "Items")]
    saved_in = None
    if disposition == "SendAndSaveCopy":
        target = folder_ids(request, "SavedItemFolderId")
        try:
            saved_in = (resolve_folder(target[0], context) if target
                        else context.store.distinguished("sentitems"))
        except OperationError as error:
            return [error_message("CreateItem", error.code, "Items")]
    replies = []
    for message in folder_ids(request, "Items"):
        mime = base64.b64decode(message.findtext(f"{{{T}}}MimeContent", ""))
        to, bcc = (_addresses(message, kind) for kind in ("ToRecipients", "BccRecipients"))
        context.store.sent.append(SentMessage(mime, disposition, to, bcc,
                                              saved_in.name if saved_in else None))
        if saved_in is not None:
            context.store.deliver(mime, saved_in.id)
        replies.append(success_message("CreateItem", "<m:Items />"))
    return replies


def _addresses(message: Element, kind: str) -> tuple[str, ...]:
    found = message.iterfind(f"{{{T}}}{kind}/{{{T}}}Mailbox/{{{T}}}EmailAddress")
    return tuple(address.text or "" for address in found)


_HANDLERS: dict[str, Callable[[Element, OperationContext], list[str]]] = {
    "ConvertId": _convert_id,
    "GetFolder": _get_folder,
    "FindFolder": _find_folder,
    "CreateFolder": _create_folder,
    "FindItem": _find_item,
    "GetItem": _get_item,
    "MoveItem": _move_item,
    "CreateItem": _create_item,
}

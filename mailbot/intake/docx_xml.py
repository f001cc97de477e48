"""The WordprocessingML vocabulary the form walker reads: element names, toggles, form fields.

``docx_walk`` walks a document part with these. Transitional and ISO-strict namespaces are both
understood. Each element's local name is looked up once per tag in ``NAMES``, so naming a
child costs one dictionary access at the thousand elements a form holds (issue 18).

Children are visited from ``first_child`` by ``getnext()`` rather than by ``for child in el``:
lxml builds a tag matcher for every iterator it hands out, which cost more than the visit itself
for the two or three children most elements of a form have (a walk of every element of our
forms: 146 -> 74 us). Both see the same children, comments included, in the same order.
"""

from __future__ import annotations

from lxml import etree

W_NAMESPACES = ("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                "http://purl.oclc.org/ooxml/wordprocessingml/main")
W14 = "http://schemas.microsoft.com/office/word/2010/wordml"
MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
MATH_NAMESPACES = ("http://schemas.openxmlformats.org/officeDocument/2006/math",
                   "http://purl.oclc.org/ooxml/officeDocument/math")
ALTERNATE_CONTENT = f"{{{MC}}}AlternateContent"
CHECKED, UNCHECKED = "☒", "☐"
# Prompts Word and LibreOffice put in empty controls; seen as text they mean "no answer".
PLACEHOLDER_TEXTS = frozenset({
    "click or tap here to enter text.", "click here to enter text.", "choose an item.",
    "click or tap to enter a date.", "click here to enter a date.", "enter a date.",
    "click or tap here to enter text", "choose an item", "enter text here.",
})
# The longest of them: a longer text is an answer, with no need to lower-case and look it up.
LONGEST_PLACEHOLDER = max(map(len, PLACEHOLDER_TEXTS))
# Containers whose children are read as if they stood in the container's place.
TRANSPARENT = frozenset({"hyperlink", "ins", "smartTag", "customXml", "fldSimple", "moveTo", "bdo",
                         "dir", "sdtContent"})


def tags(*names: str) -> tuple[str, ...]:
    """Each local name's qualified tag in every WordprocessingML namespace."""
    return tuple(f"{{{ns}}}{name}" for name in names for ns in W_NAMESPACES)


class _LocalNames(dict):
    """Tag -> local name of a WordprocessingML element ("w14:name" for Word 2010's, None for
    anything else), worked out once per tag, so that naming a child is one dict lookup."""

    def __missing__(self, tag: object) -> str | None:
        name = None
        if isinstance(tag, str):
            ns, _, local = tag[1:].partition("}") if tag[:1] == "{" else ("", "", tag)
            name = local if ns in W_NAMESPACES else f"w14:{local}" if ns == W14 else None
        self[tag] = name
        return name


NAMES = _LocalNames()


class _Qualified(dict):
    """Local attribute name -> its (transitional, strict) qualified names, worked out once."""

    def __missing__(self, name: str) -> tuple[str, str]:
        transitional, strict = self[name] = tags(name)
        return transitional, strict


_ATTRIBUTES = _Qualified()


def attr(el: etree._Element | None, name: str) -> str | None:
    """A w: attribute in either namespace, else any attribute of that local name."""
    if el is None:
        return None
    transitional, strict = _ATTRIBUTES[name]
    if (value := el.get(transitional)) is not None or (value := el.get(strict)) is not None:
        return value
    for key, value in el.attrib.items():
        if key.rpartition("}")[2] == name:
            return value
    return None


def first_child(el: etree._Element | None) -> etree._Element | None:
    """The first child (element, comment or processing instruction, as iterating yields)."""
    return el[0] if el is not None and len(el) else None


def kids(el: etree._Element | None) -> dict[str | None, etree._Element]:
    """An element's children by local name (the first of each): one pass answers every
    question asked of a property element."""
    found: dict[str | None, etree._Element] = {}
    child = first_child(el)
    while child is not None:
        found.setdefault(NAMES[child.tag], child)
        child = child.getnext()
    return found


def child(el: etree._Element | None, name: str) -> etree._Element | None:
    """The first child of that local name. (Looping here is cheaper than lxml's tag-filtered
    ``iterchildren`` or ``find``, which build a matcher on every call.)"""
    found = first_child(el)
    while found is not None:
        if NAMES[found.tag] == name:
            return found
        found = found.getnext()
    return None


def on(el: etree._Element | None) -> bool:
    """Word's toggle properties: present and not switched off."""
    return el is not None and (attr(el, "val") or "true").lower() not in ("0", "false", "off")


def highlighted(rpr: dict[str | None, etree._Element]) -> bool:
    """``rpr``: the run properties' children by name (``kids``). The highlighter in Word,
    character shading in LibreOffice."""
    highlight = attr(rpr.get("highlight"), "val")
    if highlight and highlight.lower() != "none":
        return True
    fill = (attr(rpr.get("shd"), "fill") or "auto").lower()
    return fill not in ("auto", "ffffff", "none")


_DISPLAY_TEXT = tags("displayText")[0]


def sdt_kind(settings: dict[str | None, etree._Element]) -> tuple[str, tuple[str, ...]]:
    """A content control's kind and, for a list, its entries. ``settings``: the children of
    its w:sdtPr by name (``kids``)."""
    if "w14:checkbox" in settings:
        return "checkbox", ()
    for name, kind in (("dropDownList", "dropdown"), ("comboBox", "combobox")):
        if (entries := settings.get(name)) is not None:
            items = []
            item = first_child(entries)
            while item is not None:
                if NAMES[item.tag] == "listItem":
                    # ``attr(item, "displayText")``, its transitional name asked for first as
                    # the lists of our forms hold a dozen entries a form (issue 18)
                    shown = item.get(_DISPLAY_TEXT)
                    if shown is None:
                        shown = attr(item, "displayText")
                    items.append(shown or attr(item, "value") or "")
                item = item.getnext()
            return kind, tuple(items)
    for name, kind in (("date", "date"), ("text", "text"), ("picture", "picture"),
                       ("docPartObj", "docpart"), ("group", "group")):
        if name in settings:
            return kind, ()
    return "richtext", ()


def legacy_control(data: etree._Element) -> dict[str, object]:
    """A legacy form field's settings (``w:ffData``): its kind, bookmark name and value."""
    settings = kids(data)
    name = attr(settings.get("name"), "val") or ""
    if (box := settings.get("checkBox")) is not None:
        # A box the user ticked or cleared carries w:checked; otherwise it shows its default.
        state = kids(box)
        checked = on(state["checked"] if "checked" in state else state.get("default"))
        return {"kind": "checkbox", "name": name, "value": checked, "options": (),
                "display": CHECKED if checked else UNCHECKED}
    if (drop := settings.get("ddList")) is not None:
        entries = []
        entry = first_child(drop)
        while entry is not None:
            if NAMES[entry.tag] == "listEntry":
                entries.append(attr(entry, "val") or "")
            entry = entry.getnext()
        state = kids(drop)
        chosen = attr(state.get("result"), "val") or attr(state.get("default"), "val")
        index = int(chosen) if chosen and chosen.isdigit() else 0
        value = entries[index] if 0 <= index < len(entries) else ""
        return {"kind": "dropdown", "name": name, "value": value, "options": entries,
                "display": value}
    return {"kind": "text", "name": name, "value": "", "options": ()}


def first_of(parent: etree._Element | None, first: str, second: str,
             ) -> tuple[etree._Element | None, etree._Element | None]:
    """The first child named ``first`` and the first named ``second`` (None where there is
    none), found in one look over the children: a cell's w:gridSpan and w:vMerge in its
    w:tcPr, a content control's w:sdtPr and w:sdtContent."""
    one = two = None
    child = first_child(parent)
    while child is not None:
        name = NAMES[child.tag]
        if name == first and one is None:
            one = child
        elif name == second and two is None:
            two = child
        child = child.getnext()
    return one, two

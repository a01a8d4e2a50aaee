"""Small, pure helpers over raw SIP message text (RFC 3261 framing, RFC 3326 Reason header)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Compact header forms (RFC 3261 section 7.3.3) that matter to the parsers here.
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length"}


@dataclass(frozen=True)
class SipMessage:
    start_line: str
    headers: tuple[tuple[str, str], ...]  # (lower-case name, value), in order
    body: str

    def header(self, name: str) -> str | None:
        wanted = name.lower()
        return next((value for key, value in self.headers if key == wanted), None)

    def all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    @property
    def is_request(self) -> bool:
        return not self.start_line.startswith("SIP/")

    @property
    def method(self) -> str:
        return self.start_line.split(" ", 1)[0] if self.is_request else ""

    @property
    def request_uri(self) -> str:
        parts = self.start_line.split(" ")
        return parts[1] if self.is_request and len(parts) > 1 else ""


def parse(text: str) -> SipMessage:
    head, _, body = text.replace("\r\n", "\n").partition("\n\n")
    lines = head.split("\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:  # folded continuation line
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}")
            continue
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers.append((_COMPACT.get(key, key), value.strip()))
    return SipMessage(start_line=lines[0].strip(), headers=tuple(headers), body=body)


@dataclass(frozen=True)
class Reason:
    protocol: str  # "Q.850" or "SIP"
    cause: int
    text: str


_CAUSE = re.compile(r";\s*cause\s*=\s*(\d+)", re.IGNORECASE)
_TEXT = re.compile(r';\s*text\s*=\s*"((?:[^"\\]|\\.)*)"', re.IGNORECASE)


def parse_reasons(value: str) -> list[Reason]:
    """Parse one Reason header value, which may list several comma-separated reasons."""
    reasons = []
    for item in _split_outside_quotes(value):
        protocol = item.split(";", 1)[0].strip()
        cause = _CAUSE.search(item)
        if not protocol or cause is None:
            continue
        text = _TEXT.search(item)
        reasons.append(
            Reason(protocol=protocol, cause=int(cause.group(1)), text=text.group(1) if text else "")
        )
    return reasons


def q850_cause(message: SipMessage) -> Reason | None:
    for value in message.all("reason"):
        for reason in parse_reasons(value):
            if reason.protocol.upper() == "Q.850":
                return reason
    return None


def user_part(uri: str) -> str:
    """The user part of a SIP URI such as `<sip:+15550100@host;x=y>`."""
    inner = uri.strip().strip("<>").split(">", 1)[0]
    if ":" in inner:
        inner = inner.split(":", 1)[1]
    return inner.split("@", 1)[0].split(";", 1)[0] if "@" in inner else ""


def _split_outside_quotes(value: str) -> list[str]:
    items: list[str] = []
    current: list[str] = []
    quoted = False
    for char in value:
        if char == '"':
            quoted = not quoted
        if char == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]

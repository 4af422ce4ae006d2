"""Which writing direction a page gives the words people typed.

Text in Arabic or Hebrew reads right to left; in English left to right. A page that prints a
customer's words inside an element marked `dir="auto"` lets the browser pick the direction
from the words themselves.
"""

from html.parser import HTMLParser

# Elements with no closing tag never hold text.
VOID_ELEMENTS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "track",
    "wbr",
}


class _DirectionReader(HTMLParser):
    def __init__(self, words: str):
        super().__init__(convert_charrefs=True)
        self.words = words
        self.open: list[tuple[str, str | None]] = []  # (tag, its dir attribute)
        self.found: list[tuple[str, str | None]] = []  # (innermost tag, nearest dir)

    def handle_starttag(self, tag, attrs):
        if tag not in VOID_ELEMENTS:
            self.open.append((tag, dict(attrs).get("dir")))

    def handle_endtag(self, tag):
        for depth in range(len(self.open) - 1, -1, -1):
            if self.open[depth][0] == tag:
                del self.open[depth:]
                return

    def handle_data(self, data):
        if self.words not in data or any(tag in ("title", "head") for tag, _ in self.open):
            return
        nearest = next((found for _, found in reversed(self.open) if found), None)
        self.found.append((self.open[-1][0] if self.open else "", nearest))


def directions_of(html: str, words: str) -> list[tuple[str, str | None]]:
    """Every place in the page's body that prints `words`: the element that holds them, and
    the direction given by it or its nearest ancestor that sets one (None: inherited)."""
    reader = _DirectionReader(words)
    reader.feed(html)
    reader.close()
    return reader.found

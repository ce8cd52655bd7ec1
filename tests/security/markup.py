"""Reading rendered pages as a browser would: which elements, attributes and code they hold."""

import re
from collections import Counter
from html.parser import HTMLParser

# Attributes whose value a browser may load or run.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "xlink:href"}


class Page(HTMLParser):
    """The tags (with their attributes) and the text of an HTML document or fragment."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.elements = []
        self.text = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.text.append(data)

    def tags(self):
        return Counter(tag for tag, _ in self.elements)


def inline_code(html):
    """Everything a strict Content Security Policy would block, as readable descriptions."""
    offences = []
    for tag, attrs in Page(html).elements:
        for name, value in attrs.items():
            if name.startswith("on") or name.startswith(("hx-on", "data-hx-on")):
                offences.append(f"<{tag} {name}=...>: inline event handler")
            if name == "style":
                offences.append(f"<{tag} style=...>: inline style")
            scheme = re.match(r"\s*(javascript|vbscript|data):", value or "", re.I)
            # The one data: URL we use ourselves: an empty favicon, so none is fetched.
            if name in URL_ATTRIBUTES and scheme and (tag, value) != ("link", "data:,"):
                offences.append(f"<{tag} {name}={value[:40]!r}>: script or data URL")
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            offences.append("<script> without src: inline script")
        if tag == "style":
            offences.append("<style>: inline style sheet")
    return offences

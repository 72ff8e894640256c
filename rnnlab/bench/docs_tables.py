"""The docs' benchmark figures, rendered from the bench's JSON at build time instead of pasted by hand.

A page writes a marker where a section of a report belongs:

    <!-- bench: bench/cpu.json models -->

(the JSON's path relative to the page, then one of `rnnlab.bench.tables.SECTIONS`), and the site's build replaces
it with that section as `python -m rnnlab.bench` prints it. mkdocs runs `on_page_markdown` below as a hook
(mkdocs.yml `hooks:`; hooks need no plugin package). A marker that names a missing file or a section the report does
not hold fails the build with one line naming the page, the marker and what there is.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from rnnlab.bench.tables import MissingSection, render_section

# a line of its own (so the syntax can be quoted inside a paragraph or a code span without being replaced)
MARKER = re.compile(r"^<!--\s*bench:\s*(?P<path>\S+)\s+(?P<section>\S+)\s*-->[ \t]*$", re.MULTILINE)

# any line that starts like a marker: one that is not a whole marker is a mistake, not a comment to leave alone
LOOKS_LIKE_MARKER = re.compile(r"^<!--\s*bench\b.*$", re.MULTILINE)


class MarkerError(ValueError):
    """A bench marker that cannot be rendered: its file or its section is missing."""


def markers(markdown: str) -> list[tuple[str, str]]:
    """The (path, section) of every bench marker in `markdown`, in order."""
    return [(m["path"], m["section"]) for m in MARKER.finditer(markdown)]


def expand(markdown: str, page_dir: Path, page: str = "the page") -> str:
    """`markdown` with every bench marker replaced by its section of the JSON it names (relative to `page_dir`)."""
    for line in LOOKS_LIKE_MARKER.findall(markdown):
        if not MARKER.fullmatch(line):
            raise MarkerError(
                f"{page}: {line!r} is no bench marker: write <!-- bench: PATH SECTION --> on its own line"
            )
    reports: dict[Path, dict] = {}

    def replace(match: re.Match) -> str:
        path = page_dir / match["path"]
        if path not in reports:
            if not path.is_file():
                raise MarkerError(f"{page}: {match[0]} names {path}, which does not exist")
            try:
                reports[path] = json.loads(path.read_text())
            except json.JSONDecodeError as error:
                raise MarkerError(f"{page}: {match[0]}: {path} is no JSON report: {error}") from None
        try:
            return render_section(reports[path], match["section"])
        except MissingSection as error:
            raise MarkerError(f"{page}: {match[0]}: {path}: {error}") from None

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """The mkdocs hook: expand the page's bench markers (the page's source file locates the JSON); a bad marker
    stops the build with its one line."""
    from mkdocs.exceptions import PluginError  # only the docs build has mkdocs

    try:
        return expand(markdown, Path(page.file.abs_src_path).parent, page.file.src_path)
    except MarkerError as error:
        raise PluginError(str(error)) from None

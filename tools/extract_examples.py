#!/usr/bin/env python3
"""Extracts every JSON example from the Graph documentation pages the project started from into spec/examples/.

    python3 tools/extract_examples.py [REFERENCE_DIR]   # default: ../shared/reference

Sources: REFERENCE_DIR/seeds/*.txt (saved docs pages) and REFERENCE_DIR/graph-calls.md. Each example is written as
spec/examples/<source>-<n>.json: {"source", "context", "type", "example"}, where "type" names the entry of
switchboard_wire::model::SCHEMAS the example must round-trip through. Documentation JSON is not always JSON: the
pages use // comments and trailing commas, which are removed here (and said so in "cleaned"). Blocks that are
templates rather than examples (placeholders such as `...`) are listed in spec/examples/SKIPPED.md with the reason.
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "spec/examples"


def scan(text):
    """Yields (character, inside a string literal) for `text`, leaving out // comments outside strings."""
    in_string = escaped = False
    i = 0
    while i < len(text):
        ch = text[i]
        if not in_string and text.startswith("//", i):
            i = text.find("\n", i)
            if i == -1:
                return
            continue
        yield ch, in_string
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        i += 1


def clean(text):
    """Documentation JSON → JSON: comments and trailing commas removed."""
    cleaned = "".join(ch for ch, _ in scan(text))
    cleaned = re.sub(r",(\s*[}\]])", r"\1", cleaned)
    return cleaned, cleaned != text


def balanced_block(lines, start):
    """The lines from `start` (a line that is just "{") to its matching "}" line, by brace depth outside strings."""
    depth = 0
    for end in range(start, len(lines)):
        for ch, inside in scan(lines[end]):
            if not inside and ch in "{}":
                depth += 1 if ch == "{" else -1
                if depth == 0:
                    return "\n".join(lines[start : end + 1]), end
    return None, start


def action_of(request_line):
    """`POST https://graph.microsoft.com/v1.0/communications/calls/{id}/participants/{id}/startHoldMusic` → type name."""
    path = request_line.split()[1].split("?")[0]
    segments = [s for s in path.split("/") if s]
    action = segments[-1].removeprefix("microsoft.graph.")
    scope = "Participant" if len(segments) >= 3 and segments[-3] == "participants" else ""
    if action == "calls":
        return "microsoft.graph.call"
    body = action[0].upper() + action[1:] + "PostRequestBody"
    return ("Participant" + body) if scope and action not in ("mute",) else body


def type_of(example, preceding):
    if isinstance(example, dict) and "@odata.type" in example:
        return example["@odata.type"].lstrip("#")
    if isinstance(example, dict) and set(example) == {"error"}:
        return "microsoft.graph.ODataErrors.ODataError"
    requests = [line for line in preceding if re.match(r"^(POST|PATCH|PUT) https?://", line.strip())]
    if requests:
        return action_of(requests[-1].strip())
    return None


def looks_like_json(lines, start):
    """A "{" line followed by a quoted member name; code samples (C#, PHP …) open blocks too."""
    following = [line.strip() for line in lines[start + 1 : start + 4] if line.strip()]
    return bool(following) and following[0].startswith('"')


def blocks_from_text(path):
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        if lines[i].strip() == "{" and looks_like_json(lines, i):
            block, end = balanced_block(lines, i)
            if block is not None:
                yield block, lines[max(0, i - 30) : i], i + 1
                i = end
        i += 1


def blocks_from_markdown(path):
    text = path.read_text()
    for match in re.finditer(r"```json\n(.*?)```", text, re.S):
        block = match.group(1)
        opening = re.search(r"^\{\s*$", block, re.M)  # an HTTP request line and headers may come first
        offset = opening.start() if opening else block.index("{")
        line = text[: match.start()].count("\n") + 2 + block[:offset].count("\n")
        preceding = (text[: match.start()] + block[:offset]).splitlines()[-30:]
        yield block[offset:], preceding, line


def main():
    reference = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared/reference"
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    sources = [(p, blocks_from_text) for p in sorted((reference / "seeds").glob("*.txt"))]
    sources.append((reference / "graph-calls.md", blocks_from_markdown))
    skipped, written = [], 0
    for path, reader in sources:
        source = f"shared/reference/{path.relative_to(reference)}"
        for n, (block, preceding, line) in enumerate(reader(path)):
            text, cleaned = clean(block)
            try:
                example = json.loads(text)
            except json.JSONDecodeError as error:
                skipped.append(f"- `{source}` line {line}: not JSON ({error.msg}); a code sample or a template, not an example:\n"
                               f"  `{' '.join(block.split())[:140]}…`")
                continue
            kind = type_of(example, preceding)
            if kind is None:
                skipped.append(f"- `{source}` line {line}: no way to tell which type it is")
                continue
            name = f"{path.stem.split('_')[0]}-{n:02d}.json"
            record = {"source": f"{source}, line {line}", "type": kind, "cleaned": cleaned, "example": example}
            (OUT / name).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
            written += 1
    (OUT / "SKIPPED.md").write_text(
        "# Documentation blocks that are not examples\n\nWritten by tools/extract_examples.py.\n\n" + "\n".join(skipped) + "\n"
    )
    print(f"wrote {written} examples to {OUT.relative_to(ROOT)}; {len(skipped)} blocks skipped (see SKIPPED.md)")


if __name__ == "__main__":
    main()

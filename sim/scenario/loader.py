"""Reading a scenario: YAML with line numbers, ``--set`` overrides, schema and coherence checks.

Every problem becomes a ``ScenarioError`` whose lines name the file and line (when the value
came from the file), the field's dotted path, the bad value and what is allowed.

What is read of an input file is bounded before YAML sees it (``read_input``, for every scenario
and grid file, a grid's scenario files and a resumed run's scenario): only a regular file is read,
never a device, a named pipe (FIFO) or a folder (``/dev/zero`` was read until memory ran out, a FIFO
without a writer blocked forever), and at most ``MAX_INPUT_BYTES``. Then the parse is bounded: at
most ``MAX_YAML_VALUES`` values (aliases and merge keys counted as they expand) and
``MAX_YAML_DEPTH`` levels of nesting. The three fit together: a scenario is a few kB (a hundred
values), and 1 MiB holds the 100,000 values allowed at about ten bytes each ('  - 1234\n').
"""
from __future__ import annotations

import difflib
import math
import os
import stat
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from ..errors import UserError
from .schema import ANALYSIS_KINDS, DESIGN_KINDS, FieldError, Scenario, VariantError

#: Bytes of an input file (scenario or grid) read at most: 1 MiB.
MAX_INPUT_BYTES = 1 << 20
#: Values in a parsed file, counting each expansion of an alias (*name) and of a merge key (<<:):
#: bounds "YAML bombs" (counted on the composed nodes, before any Python object is built).
MAX_YAML_VALUES = 100_000
#: Levels of nesting ([ and { brackets, indentation, and what aliases repeat): a scenario has about 5.
#: PyYAML's scanner slows down with thousands of open brackets and its composer recurses per level.
MAX_YAML_DEPTH = 100
_MERGE_TAG = "tag:yaml.org,2002:merge"


class ScenarioError(UserError):
    pass


class _YamlProblem(Exception):
    """A problem in YAML text: ``line`` (1-based, or None) and the message to show after it."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line


def _too_deep(line: int, at: str = "") -> _YamlProblem:
    return _YamlProblem(line, f"{at}nested more than {MAX_YAML_DEPTH} levels deep (with [ or {{ brackets, "
                              f"indentation or aliases like *name); a scenario is only a few levels deep")


class _LineLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate keys (PyYAML silently keeps the last one) and reports
    values its constructors cannot build as YAML errors with a line, not Python exceptions.

    Its scanner refuses nesting deeper than ``MAX_YAML_DEPTH`` as soon as it reads the bracket or
    indentation that goes too deep: brackets in quotes or comments do not count, and nothing of
    the rest is read (PyYAML takes seconds on thousands of '[' and then recurses once per level).
    Its composer stops after ``MAX_YAML_VALUES`` nodes (pure-Python PyYAML reads some 20,000 a
    second: a 5 MB list took 100 s to be refused once read).
    """

    _composed = 0

    def compose_node(self, parent, index):
        self._composed += 1
        if self._composed > MAX_YAML_VALUES:
            raise _YamlProblem(self.peek_event().start_mark.line + 1, f"more than {MAX_YAML_VALUES} values; "
                               f"a scenario is small")
        return super().compose_node(parent, index)

    def fetch_flow_collection_start(self, TokenClass):  # '[' or '{'
        if len(self.indents) + self.flow_level + 1 > MAX_YAML_DEPTH:
            raise _too_deep(self.get_mark().line + 1)
        super().fetch_flow_collection_start(TokenClass)

    def add_indent(self, column):  # a block mapping or list, one level in
        if super().add_indent(column):
            if len(self.indents) + self.flow_level > MAX_YAML_DEPTH:
                raise _too_deep(self.get_mark().line + 1)
            return True
        return False

    def construct_object(self, node, deep=False):
        # '!!int abc', '!!bool maybe' or a date-like '2020-13-45' fail with plain Python errors.
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, OverflowError) as e:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.value!r} as {tag} ({e}); quote it if it is text",
                node.start_mark) from None


def _construct_mapping(loader, node, deep=False):
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == _MERGE_TAG:  # '<<: *defaults'; construct_mapping merges it
            continue
        key = loader.construct_object(key_node, deep=deep)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark) from None
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (first on line {seen[key] + 1})", key_node.start_mark)
        seen[key] = key_node.start_mark.line
    return loader.construct_mapping(node, deep=deep)


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _check_nodes(root) -> None:
    """Refuse, before anything is built, a document that expands too far or holds tags that build objects.

    Counts the values the document stands for on the composed nodes: an alias (*name) is the node
    it names, so each reference counts that node's values again, and a merge key (<<:) counts what
    it merges. Counts are memoized by node, so this takes time linear in the file however far the
    aliases would expand (a "billion laughs" under '<<:' is refused as fast as anywhere else), and
    an alias inside the value it names (which would repeat forever) is caught as a cycle. Nesting,
    counting the levels aliases repeat, stops at ``MAX_YAML_DEPTH`` (also bounding the recursion).
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, levels of collections from it down)
    open_nodes: set[int] = set()  # being counted: meeting one again is a cycle

    def too_many(node, path, why: str = "") -> _YamlProblem:
        return _YamlProblem(node.start_mark.line + 1, f"{_at(path)}more than {MAX_YAML_VALUES} values{why}; a "
                            f"scenario is small (do aliases like *name expand too far?)")

    def visit(node, path, depth) -> tuple[int, int]:
        collection = isinstance(node, (yaml.MappingNode, yaml.SequenceNode))
        if depth + collection > MAX_YAML_DEPTH:
            raise _too_deep(node.start_mark.line + 1, _at(path))
        if id(node) in sizes:
            size, height = sizes[id(node)]
            if depth + height > MAX_YAML_DEPTH:
                raise _too_deep(node.start_mark.line + 1, _at(path))
            return size, height
        if id(node) in open_nodes:
            raise too_many(node, path, " (an alias *name inside the value it names repeats it forever)")
        if node.tag not in _LineLoader.yaml_constructors:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise _YamlProblem(node.start_mark.line + 1, f"{_at(path)}the tag {tag} is not allowed; a scenario "
                               f"holds plain values only (numbers, text, true/false, lists and mappings)")
        size, height = 1, int(collection)
        open_nodes.add(id(node))
        for child, child_path in _children(node, path):
            child_size, child_height = visit(child, child_path, depth + 1)
            size += child_size
            height = max(height, child_height + 1)
            if size > MAX_YAML_VALUES:
                raise too_many(node, path)
        open_nodes.discard(id(node))
        sizes[id(node)] = size, height
        return size, height

    visit(root, (), 0)


def _children(node, path):
    """(child node, its field path) of a node; what a merge key (<<:) merges belongs to the mapping."""
    if isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            yield v, path + (i,)
    elif isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            if k.tag == _MERGE_TAG:  # '<<: *defaults' or '<<: [*a, *b]': their keys become this mapping's
                yield v, path
                continue
            yield k, path
            yield v, path + (k.value,) if isinstance(k, yaml.ScalarNode) else path


def _line_index(node, path=(), out=None) -> dict[tuple, int]:
    """Map each field path to the 1-based line where its value starts.

    Also refuses, naming the path, what the safe loader would otherwise report without one or
    not at all: keys that are not text and duplicate keys. Runs after ``_check_nodes``, so what
    it walks (aliases expanded, merge values skipped) is at most ``MAX_YAML_VALUES`` values.
    """
    out = {} if out is None else out
    at = _at(path)
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for k, v in node.value:
            if k.tag == _MERGE_TAG:
                continue
            if not isinstance(k, yaml.ScalarNode):
                raise _YamlProblem(k.start_mark.line + 1, f"{at}a mapping key must be a plain value (a field name)")
            if k.tag != "tag:yaml.org,2002:str":
                raise _YamlProblem(k.start_mark.line + 1, f"{at}the key {k.value or '~'} is not text; keys are "
                                   f"field or level names (quote it, e.g. '{k.value}', if it is a name)")
            p = path + (k.value,)
            if k.value in first:
                raise _YamlProblem(k.start_mark.line + 1, f"{_dotted(p)}: duplicate key (first on line "
                                   f"{first[k.value]}); give each key once")
            first[k.value] = out[p] = k.start_mark.line + 1
            _line_index(v, p, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            p = path + (i,)
            out[p] = v.start_mark.line + 1
            _line_index(v, p, out)
    return out


def _at(path) -> str:
    """'field.path: ' to start a message about the value at ``path`` ('' for the whole document)."""
    return f"{_dotted(path)}: " if path else ""


def _dotted(loc) -> str:
    out = ""
    for part in loc:
        if isinstance(part, str) and (not part or any(c.isspace() or c in ".:[]" for c in part)):
            # One token, visible: quoted, whitespace escaped ('', '\x20', 'ECOG\x200').
            part = "'" + "".join(f"\\x{ord(c):02x}" if c.isspace() and ord(c) < 256 else
                                 f"\\u{ord(c):04x}" if c.isspace() else c for c in part) + "'"
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


_FILE_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
               (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_input(path: str | Path, what: str = "scenario file") -> bytes:
    """The bytes of an input file, read only if it is a regular file, and at most ``MAX_INPUT_BYTES``.

    The descriptor is opened non-blocking (opening a FIFO without a writer would wait forever) and
    checked with fstat, so what is checked is what is read. Its size is checked before reading and
    then at most ``MAX_INPUT_BYTES + 1`` bytes are read, so a file that grows meanwhile, or one that
    tells no size (/proc), is refused too. Errors are ``ScenarioError``s naming the file; ``what``
    says what it is meant to be ("scenario file", "grid file").
    """
    p = str(path)
    allowed = f"only a regular file of at most {MAX_INPUT_BYTES} bytes (1 MiB) is read"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ScenarioError(f"{p}: no such {what}") from None
    except OSError as e:  # unreadable, name too long, a loop of links, ...
        raise ScenarioError(f"{p}: cannot read the {what} ({e.strerror or e})") from None
    except ValueError as e:  # a NUL character in the name (a grid's file: "a\0b")
        raise ScenarioError(f"{p!r}: cannot read the {what} ({e})") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in _FILE_KINDS if test(st.st_mode)), "a special file")
            raise ScenarioError(f"{p}: is {kind}, not a {what}; {allowed}")
        size = st.st_size
        if size > MAX_INPUT_BYTES:
            raise ScenarioError(f"{p}: {size} bytes is too large for a {what}; {allowed}")
        chunks, left = [], MAX_INPUT_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as e:  # a read error (EIO, ...)
        raise ScenarioError(f"{p}: cannot read the {what} ({e.strerror or e})") from None
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > MAX_INPUT_BYTES:
        raise ScenarioError(f"{p}: more than {MAX_INPUT_BYTES} bytes (though its size said {size}) is too large "
                            f"for a {what}; {allowed}")
    return raw


def read_yaml(path: str | Path, what: str = "scenario file") -> tuple[dict, dict[tuple, int]]:
    """Parse a scenario file into a dict and a path -> line index; errors name the file."""
    data, lines, _ = load_yaml(path, what)
    return data, lines


def load_yaml(path: str | Path, what: str = "scenario file") -> tuple[dict, dict[tuple, int], str]:
    """Read (``read_input``) and parse a scenario or grid file: (data, path -> line index, the text
    as written); errors name the file."""
    p = Path(path)
    raw = read_input(p, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise ScenarioError(f"{p}:{line}: the file is not UTF-8 text (bad byte 0x{raw[e.start]:02x} at offset "
                            f"{e.start}); save it as UTF-8") from None
    if not text.strip() or all(not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()):
        raise ScenarioError(f"{p}: the file is empty; a scenario is a YAML mapping (see scenarios/expected.yaml)")
    try:
        data, lines = _parse(text)
    except _YamlProblem as e:
        raise ScenarioError(f"{p}:{e.line}: {e}" if e.line else f"{p}: {e}") from None
    if not isinstance(data, dict):
        raise ScenarioError(
            f"{p}: the top level must be a mapping of sections (name, accrual, treatment, effects, ...), "
            f"not {type(data).__name__}")
    return data, lines, text


def _parse(text: str) -> tuple[Any, dict[tuple, int]]:
    """YAML text to (data, path -> line index); every problem is a ``_YamlProblem``."""
    lines: dict[tuple, int] = {}
    try:
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()  # as yaml.compose; nesting too deep stops the scanner
            if node is not None:
                _check_nodes(node)  # before building anything: bombs, cycles, tags
                lines = _line_index(node)
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or e.context
        if e.context and problem.startswith("but "):  # "expected a single document ..., but found another"
            problem = f"{e.context}, {problem}"
        # A value that cannot be built (e.g. '2020-13-45') is on a line of the index: name its field.
        here = [path for path, line in lines.items() if mark and line == mark.line + 1]
        at = f"{_dotted(here[0])}: " if len(here) == 1 else ""
        raise _YamlProblem(mark.line + 1 if mark else None, f"{at}not valid YAML: {problem}") from None
    except yaml.reader.ReaderError as e:  # a character YAML does not allow (control characters, ...)
        line = text[: e.position].count("\n") + 1 if isinstance(e.position, int) else None
        char = f"0x{e.character:02x}" if isinstance(e.character, int) else repr(e.character)
        raise _YamlProblem(line, f"not valid YAML: {e.reason} (character {char} at offset {e.position}); "
                                 f"remove it or save the file as plain text") from None
    except yaml.YAMLError as e:
        detail = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise _YamlProblem(None, f"not valid YAML: {detail}") from None
    except RecursionError:
        raise _YamlProblem(None, "not valid YAML: nested too deeply") from None
    return data, lines


def apply_override(data: dict, assignment: str) -> tuple[str, ...]:
    """Apply ``path.to.field=value`` (value parsed as YAML) in place; return the path."""
    if "=" not in assignment:
        raise ScenarioError(f"--set {assignment}: expected path.to.field=value, e.g. --set analysis.alpha=0.05")
    key, _, value_text = assignment.partition("=")
    parts = [int(s) if s.isdigit() else s for s in key.strip().split(".")]
    if not key.strip() or any(s == "" for s in parts):
        raise ScenarioError(f"--set {assignment}: '{key}' is not a dotted field path, e.g. effects.control.dcr")
    try:
        value = _parse(value_text)[0] if value_text.strip() else None
    except _YamlProblem as e:
        raise ScenarioError(f"--set {assignment}: bad value: {e}") from None
    node = data
    for depth, part in enumerate(parts[:-1]):
        if isinstance(node, list):
            if not isinstance(part, int) or part >= len(node):
                raise ScenarioError(_no_item(assignment, parts[:depth], part, len(node)))
            node = node[part]
        elif isinstance(node, dict):
            node = node.setdefault(part, {})
        else:
            raise ScenarioError(f"--set {assignment}: {_dotted(parts[:depth])}: is {_describe_value(node)} in the "
                                f"scenario, not a section of fields")
    last = parts[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or last >= len(node):
            raise ScenarioError(_no_item(assignment, parts[:-1], last, len(node)))
        node[last] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"--set {assignment}: {_dotted(parts[:-1])}: is {_describe_value(node)} in the "
                            f"scenario, not a section of fields")
    return tuple(parts)


def _no_item(assignment: str, list_path, part, n: int) -> str:
    allowed = f"items are numbered 0 to {n - 1}" if n else "the list is empty; set the whole list, e.g. path=[...]"
    return f"--set {assignment}: {_dotted(list_path)}: no item {part} in a list of {n} ({allowed})"


def _model_at(loc, root: type[BaseModel] = Scenario, kind: str | None = None) -> type[BaseModel] | None:
    """The pydantic model that owns the fields at ``loc`` (for did-you-mean suggestions); ``kind``: the
    design kind of the analysis section."""
    model: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        if model is Scenario and part == "analysis" and kind in ANALYSIS_KINDS:
            model = ANALYSIS_KINDS[kind]
            continue
        if not (isinstance(model, type) and issubclass(model, BaseModel)) or part not in model.model_fields:
            # tagged unions appear as an extra loc element naming the member
            return None
        model = _unwrap(model.model_fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(tp):
    """Find a BaseModel inside list[...], X | None, X | Literal[...] annotations."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return tp
    for arg in typing.get_args(tp):
        found = _unwrap(arg)
        if found is not None:
            return found
    return None


def _describe_value(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_errors(exc: ValidationError, source: str, lines: dict, overridden: dict,
                   root: type[BaseModel] = Scenario) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        raw_loc = err["loc"]
        kind = None
        if len(raw_loc) > 1 and raw_loc[0] == "analysis" and raw_loc[1] in DESIGN_KINDS:
            kind, raw_loc = raw_loc[1], (raw_loc[0], *raw_loc[2:])  # the design kind's tag
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldError):  # a check across fields, at the field it blames
            loc = (*raw_loc, *cause.loc)
            out.append(f"{_where(loc, source, lines, overridden)}: {_dotted(loc)}: {cause.message}")
            continue
        if isinstance(cause, VariantError):  # each problem at its own place in the variant
            for sub, msg in cause.problems:
                loc = (*raw_loc, "variants", cause.index, *(p for p in sub if p not in DESIGN_KINDS))
                out.append(f"{_where(loc, source, lines, overridden)}: {_dotted(loc)}: {msg}")
            continue
        # effects.ras_mutant takes a section or the word 'control', so a bad value fails both ways:
        # report only the way that matches what was given (the word's error names both choices).
        word_choice = bool(raw_loc) and isinstance(raw_loc[-1], str) and raw_loc[-1].startswith("literal[")
        section_choice = any(isinstance(p, str) and p.startswith("function-") for p in raw_loc)
        if (word_choice and isinstance(err.get("input"), dict)) or (section_choice and err["type"] == "model_type"):
            continue
        loc = tuple(p for p in raw_loc if not (isinstance(p, str) and (p.startswith("function-") or p in (
            "literal['control']",))))
        loc = tuple(p for p in loc if p != "ArmEffect")
        path = _dotted(loc)
        where = _where(loc, source, lines, overridden)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            owner = _model_at(loc[:-1], root, kind)
            allowed = list(owner.model_fields) if owner else []
            guess = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
            hint = f"; did you mean '{guess[0]}'?" if guess else "."
            out.append(f"{where}: {path}: unknown key{hint} Allowed here: {', '.join(allowed)}")
        elif err["type"] == "missing":
            owner = _model_at(loc[:-1], root, kind)
            needed = [k for k, f in owner.model_fields.items() if f.is_required()] if owner else []
            out.append(f"{where}: {path}: required field is missing"
                       + (f" (required here: {', '.join(needed)})" if needed else ""))
        elif err["type"] == "model_type":
            owner = _model_at(loc, root)
            fields = f" ({', '.join(owner.model_fields)})" if owner else ""
            out.append(f"{where}: {path}: should be a section of fields{fields}, not "
                       f"{type(err.get('input')).__name__} (got {_describe_value(err.get('input'))})")
        elif word_choice:
            owner = _model_at(loc, root)
            fields = f" ({', '.join(list(owner.model_fields)[:3])}, ...)" if owner else ""
            out.append(f"{where}: {path}: {msg} or a section of fields{fields} "
                       f"(got {_describe_value(err.get('input'))})")
        else:
            got = "" if err["type"].startswith("value_error") else f" (got {_describe_value(err.get('input'))})"
            out.append(f"{where}: {path}: {msg}{got}")
    return out


def _where(loc, source, lines, overridden) -> str:
    for n in range(len(loc), 0, -1):
        if loc[:n] in overridden:
            return f"--set {overridden[loc[:n]]}"
    # A check across several fields (e.g. orr above dcr) blames any of them that was overridden.
    for key, assignment in overridden.items():
        if key[: len(loc)] == loc:
            return f"--set {assignment}"
    for n in range(len(loc), -1, -1):
        if loc[:n] in lines:
            return f"{source}:{lines[loc[:n]]}"
    return source


def validate(data: dict, source: str = "<scenario>", lines: dict | None = None,
             overridden: dict | None = None) -> Scenario:
    """Schema validation (types, ranges, the designs against the trial). The outcome laws' coherence
    checks come after, in ``sim.inputs`` (the outcome laws are built on the schema)."""
    return _schema(data, source, lines or {}, overridden or {})


def _schema(data: dict, source: str, lines: dict, overridden: dict) -> Scenario:
    """Types and ranges (pydantic), with NaN and infinity refused first."""
    _refuse_non_finite(data, (), source, lines, overridden)
    try:
        return Scenario.model_validate(data)
    except ValidationError as e:
        raise ScenarioError("\n".join(_format_errors(e, source, lines, overridden))) from None


def _refuse_non_finite(node, loc, source, lines, overridden):
    """NaN and infinity are never meaningful inputs; YAML's .nan/.inf would otherwise slip through."""
    if isinstance(node, float) and not math.isfinite(node):
        raise ScenarioError(f"{_where(loc, source, lines, overridden)}: {_dotted(loc)}: {node} is not allowed; "
                            f"give a finite number")
    if isinstance(node, dict):
        for k, v in node.items():
            _refuse_non_finite(v, loc + (k,), source, lines, overridden)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _refuse_non_finite(v, loc + (i,), source, lines, overridden)


def comments(text: str, lines: dict[tuple, int]) -> dict[str, str]:
    """The comment that documents each field path of a scenario file: the one on the field's line, or
    else the block of whole-line comments right above it (the sources of the assumptions)."""
    text_lines = text.splitlines()
    out = {}
    for path, line in lines.items():
        note = _inline_comment(text_lines[line - 1]) if 0 < line <= len(text_lines) else ""
        if not note:
            above, k = [], line - 2
            while k >= 0 and text_lines[k].lstrip().startswith("#"):
                above.insert(0, text_lines[k].lstrip()[1:].strip())
                k -= 1
            note = " ".join(above)
        if note:
            out[_dotted(path)] = note
    return out


def _inline_comment(line: str) -> str:
    """The text after a '#' that starts a YAML comment (outside quotes, after a space)."""
    quote = None
    for i, c in enumerate(line):
        if quote:
            quote = None if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == "#" and (i == 0 or line[i - 1].isspace()):
            return line[i + 1:].strip() if line[:i].strip() else ""
    return ""


def to_yaml(scenario: Scenario) -> str:
    """The resolved scenario (every default filled in), as YAML a user can run again."""
    return yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False, allow_unicode=True)

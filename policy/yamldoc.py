"""Lines of a YAML document, so policy problems can point into the file.

The loader builds its data with `yaml.safe_load` and keeps the composed node tree beside it:
a path such as ("rules", 2, "when") is walked through the nodes to the line of that key.
"""

from __future__ import annotations

from collections.abc import Iterator

import yaml

Path = tuple[str | int, ...]


class YamlDocument:
    def __init__(self, root: yaml.Node) -> None:
        self.root = root

    @classmethod
    def compose(cls, text: str) -> YamlDocument | None:
        """The document in `text`, or None when it is empty. Raises yaml.YAMLError."""
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        return None if root is None else cls(root)

    def line(self, path: Path) -> int | None:
        """1-based line of the deepest part of `path` present in the file.

        A mapping key points at the key's line; a list item at the item's first line. A part
        that is not in the file (a missing key) leaves the line of its parent.
        """
        node = self.root
        line = node.start_mark.line + 1
        for part in path:
            child = _child(node, part)
            if child is None:
                break
            line, node = child
        return line

    def duplicate_keys(self) -> Iterator[tuple[Path, str, int, int]]:
        """(path of the mapping, key, line, first line) for each key repeated in a mapping."""
        yield from _duplicates(self.root, (), set())


def _child(node: yaml.Node, part: str | int) -> tuple[int, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                return key.start_mark.line + 1, value
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        item = node.value[part]
        return item.start_mark.line + 1, item
    return None


def _duplicates(
    node: yaml.Node, path: Path, visited: set[int]
) -> Iterator[tuple[Path, str, int, int]]:
    if id(node) in visited:  # an alias seen before (YAML allows recursive aliases)
        return
    visited.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                line = key.start_mark.line + 1
                if key.value in first_seen and key.value != "<<":
                    yield path, key.value, line, first_seen[key.value]
                first_seen.setdefault(key.value, line)
                yield from _duplicates(value, (*path, key.value), visited)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicates(item, (*path, index), visited)

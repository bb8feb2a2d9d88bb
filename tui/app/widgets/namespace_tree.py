"""Ref namespaces with counts, children added only when a node is opened."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree

from tui.app.refindex import Namespace, RefIndex
from tui.app.text import clean

# Gerrit keeps tens of thousands of refs here: opened only on request.
COLLAPSED = ("refs/changes/", "refs/starred-changes/", "refs/cache-automerge/", "refs/pull/", "refs/merge-requests/")
AUTO_EXPAND_LIMIT = 12  # expand a top namespace by default only when it has few children


class NamespaceTree(Tree[Namespace]):
    """``Chosen`` is posted whenever the highlighted namespace changes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,space", "toggle_node", "Open/close", show=False, id="namespaces.toggle", tooltip="Open or close the namespace"),
    ]

    DEFAULT_CSS = """
    NamespaceTree { width: 32; min-width: 24; }
    """

    class Chosen(Message):
        def __init__(self, tree: NamespaceTree, prefix: str) -> None:
            super().__init__()
            self.tree = tree
            self.prefix = prefix

        @property
        def control(self) -> NamespaceTree:
            return self.tree

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(Text("all refs"), id=id)
        self.guide_depth = 2
        self.auto_expand = False
        self._index: RefIndex | None = None
        self._populated: set[int] = set()

    def set_index(self, index: RefIndex) -> None:
        self._index = index
        self._populated.clear()
        root = self.root
        root.remove_children()
        root.data = Namespace("", "all refs", index.namespace_count(""), True)
        root.set_label(self._label(root.data, "all refs"))
        top = index.children("refs/")
        self._populated.add(id(root))
        for namespace in top:
            node = root.add(self._label(namespace), data=namespace, allow_expand=namespace.has_children)
            if namespace.has_children and namespace.prefix not in COLLAPSED:
                children = index.children(namespace.prefix, limit=AUTO_EXPAND_LIMIT + 1)
                if len(children) <= AUTO_EXPAND_LIMIT:
                    self._populate(node)
                    node.expand()
        root.expand()
        self.move_cursor(root)

    @staticmethod
    def _label(namespace: Namespace, text: str | None = None) -> Text:
        label = Text(no_wrap=True)
        label.append(clean(text or namespace.label.rstrip("/")))
        label.append(f"  {namespace.count:,}", style="dim")
        return label

    def _populate(self, node) -> None:
        if self._index is None or id(node) in self._populated or node.data is None:
            return
        self._populated.add(id(node))
        for namespace in self._index.children(node.data.prefix):
            node.add(self._label(namespace), data=namespace, allow_expand=namespace.has_children)

    def on_tree_node_expanded(self, event: Tree.NodeExpanded[Namespace]) -> None:
        event.stop()
        self._populate(event.node)

    def on_tree_node_highlighted(self, event: Tree.NodeHighlighted[Namespace]) -> None:
        event.stop()
        if event.node.data is not None:
            self.post_message(self.Chosen(self, event.node.data.prefix))

    def on_tree_node_selected(self, event: Tree.NodeSelected[Namespace]) -> None:
        event.stop()

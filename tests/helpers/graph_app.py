"""The application of the structural-comparison tests: plain classes with back-pointers,
shared parts, cycles (no ``__eq__`` anywhere), written as ``myapp/models.py``."""

MODELS = '''
import dataclasses
from typing import List, Optional


class Config:
    def __init__(self, name, retries, tags):
        self.name = name
        self.retries = retries
        self.tags = tags


class Node:
    def __init__(self, name, parent=None):
        self.name = name
        self.parent = parent
        self.children = []
        if parent is not None:
            parent.children.append(self)


@dataclasses.dataclass
class Tree:
    name: str
    parent: Optional["Tree"] = None
    children: List["Tree"] = dataclasses.field(default_factory=list)

    def add(self, name):
        child = Tree(name, self)
        self.children.append(child)
        return child


class Owner:
    def __init__(self, name, perms):
        self.name = name
        self.perms = perms


def config():
    return Config("svc", 3, ["a", "b"])


def nodes():
    root = Node("root")
    Node("a", root)
    Node("b", root)
    return root


def tree():
    root = Tree("root")
    root.add("x").add("y")
    return root


def loop():
    x = []
    x.append(x)
    return {"loop": x, "nan": float("nan")}


def team():
    perms = ["read", "write"]
    return {"owner": Owner("ann", perms), "deputy": Owner("bob", perms)}


SAMPLES = {"config": config, "nodes": nodes, "tree": tree, "loop": loop, "team": team}
'''

"""Which errors a route can answer with, read from the code itself when the app is built.

A list of codes written next to each route would be a second truth that drifts from the raise
sites as soon as a service changes. Instead, the source of the endpoint and of every dependency
it runs is parsed, and every name in it is resolved against the live objects the function sees
(its module's globals, its closure, the classes its parameters are annotated with): an `AppError`
class named there is an error the route can answer with, a function or method of the app is
walked in turn. A name is resolved the way Python would resolve it, not guessed from its
spelling, so an alias (`from api.services import claims as service`) or a helper in another
module is followed like any call.

The walk errs on the side of listing: an error class named anywhere in a reachable function
counts (a table of WeChat codes, a `refusal` field), except as the type of an `except` clause.
What the walk cannot see (an attribute of a value of unknown type) is caught by the tests: the
schemathesis run and the suite's response check (`tests/declared.py`) fail on any answer whose
code the route's OpenAPI does not list.
"""

import ast
import inspect
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterable, Iterator
from functools import cache
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from api.errors import AppError

Errors = frozenset[type[AppError]]
# Methods of these types are never the app's, whatever their name (`dict.get`, `str.count`).
_BUILTIN_METHODS = frozenset(
    name for kind in (dict, list, set, str, bytes, tuple, int) for name in dir(kind)
)


def _is_ours(obj: Any) -> bool:
    module = getattr(obj, "__module__", None)
    return isinstance(module, str) and (module == "api" or module.startswith("api."))


def _is_error(obj: Any) -> bool:
    return isinstance(obj, type) and issubclass(obj, AppError) and obj is not AppError


def _function(obj: Any) -> Callable[..., Any] | None:
    """The plain function behind a function, method, property or callable instance of ours."""
    if isinstance(obj, property):
        obj = obj.fget
    if isinstance(obj, staticmethod | classmethod | types.MethodType):
        obj = obj.__func__
    if inspect.isfunction(obj):
        return inspect.unwrap(obj) if _is_ours(obj) else None
    if not isinstance(obj, type) and _is_ours(type(obj)):
        call = vars(type(obj)).get("__call__")
        return call if inspect.isfunction(call) else None
    return None


def _classes(annotation: Any) -> Iterator[type]:
    """The classes of ours a parameter annotated so may hold (`Annotated`, unions unwrapped)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        yield from _classes(typing.get_args(annotation)[0])
    elif origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            yield from _classes(arg)
    elif isinstance(annotation, type) and _is_ours(annotation):
        yield annotation
        if getattr(annotation, "_is_protocol", False):
            yield from _implementations(annotation)


def _implementations(protocol: type) -> Iterator[type]:
    """Our classes that have every method the protocol declares (a photo store of each kind)."""
    wanted = {name for name, member in vars(protocol).items() if inspect.isfunction(member)}
    wanted = {name for name in wanted if not name.startswith("_")}
    for cls in _our_classes():
        if cls is not protocol and wanted and all(hasattr(cls, name) for name in wanted):
            yield cls


def _our_classes() -> Iterator[type]:
    for module_name, module in list(sys.modules.items()):
        if module_name == "api" or module_name.startswith("api."):
            for cls in vars(module).values():
                if isinstance(cls, type) and cls.__module__ == module_name:
                    yield cls


@cache
def _members_named() -> dict[str, tuple[Any, ...]]:
    """Every method of a class of ours, and what every annotated field may hold, by name: the
    fallback for `value.name` when the type of `value` is unknown. Names builtin types also
    have are left out (`dict.get`, `str.count`)."""
    found: dict[str, list[Any]] = {}
    for cls in _our_classes():
        for name, member in vars(cls).items():
            function = _function(member)
            if function is not None:
                found.setdefault(name, []).append(function)
        for name in _fields(cls):
            found.setdefault(name, []).extend(_attribute_types(cls, name))
    return {
        name: tuple(members)
        for name, members in found.items()
        if name not in _BUILTIN_METHODS and not name.startswith("__")
    }


class _Scope:
    """What the names in one function's source mean."""

    def __init__(self, function: Callable[..., Any]) -> None:
        self.names: dict[str, Any] = dict(getattr(function, "__globals__", {}))
        closure = inspect.getclosurevars(function)
        self.names.update(closure.nonlocals)
        self.types: dict[str, list[type]] = {}
        try:
            hints = typing.get_type_hints(function, include_extras=True)
        except Exception:  # an annotation that names a type only known to the type checker
            hints = {}
        for name, hint in hints.items():
            self.types[name] = list(_classes(hint))
        owner = self._owner(function)
        if owner is not None:
            self.types["self"] = [owner]
            self.types["cls"] = [owner]

    def _owner(self, function: Callable[..., Any]) -> type | None:
        outer, _, _ = function.__qualname__.rpartition(".")
        found = self.names.get(outer) if outer and "<" not in outer else None
        return found if isinstance(found, type) else None

    def learn(self, tree: ast.AST) -> None:
        """The locals annotated in the body (`store: PhotoStore = ...`)."""
        for node in ast.walk(tree):
            if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                named = self.resolve(node.annotation)
                self.types[node.target.id] = [c for hint in named for c in _classes(hint)]

    def resolve(self, node: ast.expr) -> list[Any]:
        """The objects an expression names: a global, a typed parameter's attribute, a
        module's attribute, what a function of ours returns; empty when it cannot be known
        without running the code."""
        if isinstance(node, ast.Await):
            return self.resolve(node.value)
        if isinstance(node, ast.Call):
            return [c for called in self.resolve(node.func) for c in _returned(called)]
        if isinstance(node, ast.Name):
            if node.id in self.types:
                return list(self.types[node.id])
            return [self.names[node.id]] if node.id in self.names else []
        if isinstance(node, ast.Attribute):
            owners = self.resolve(node.value)
            found = [getattr(owner, node.attr) for owner in owners if hasattr(owner, node.attr)]
            found += [
                hint
                for owner in owners
                if isinstance(owner, type)
                for hint in _attribute_types(owner, node.attr)
            ]
            if not owners and node.attr not in _BUILTIN_METHODS:
                found += _members_named().get(node.attr, ())
            return found
        return []


@cache
def _fields(owner: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(owner) if _is_ours(owner) else {}
    except Exception:  # an annotation that names a type only known to the type checker
        return {}


def _attribute_types(owner: type, name: str) -> Iterator[Any]:
    """An annotated field of a class of ours: `refusal: type[RateLimited]` may hold any kind of
    RateLimited, `client: WeChatClient` a client."""
    hint = _fields(owner).get(name)
    if typing.get_origin(hint) is type:
        (held,) = typing.get_args(hint)
        if _is_error(held):
            yield from _kinds(held)
            return
    yield from _classes(hint)


def _returned(called: Any) -> Iterator[type]:
    function = _function(called)
    if function is None:
        return
    try:
        hint = typing.get_type_hints(function).get("return")
    except Exception:  # an annotation that names a type only known to the type checker
        return
    yield from _classes(hint)


def _kinds(error: type[AppError]) -> Iterator[type[AppError]]:
    yield error
    for sub in error.__subclasses__():
        yield from _kinds(sub)


def _caught(tree: ast.AST) -> set[int]:
    """The nodes naming the type of an `except` clause: catching is not raising."""
    return {
        id(node)
        for handler in ast.walk(tree)
        if isinstance(handler, ast.ExceptHandler) and handler.type is not None
        for node in ast.walk(handler.type)
    }


@cache
def raised_by(function: Callable[..., Any]) -> Errors:
    """Every error the function (and whatever of ours it calls) can raise."""
    found: set[type[AppError]] = set()
    pending = [function]
    visited: set[Callable[..., Any]] = set()
    while pending:
        current = pending.pop()
        if current not in visited:
            visited.add(current)
            errors, called = _direct(current)
            found |= errors
            pending.extend(called)
    return frozenset(found)


@cache
def _direct(function: Callable[..., Any]) -> tuple[Errors, tuple[Callable[..., Any], ...]]:
    """The errors a function names and the functions of ours it names, itself."""
    errors: set[type[AppError]] = set()
    called: list[Callable[..., Any]] = []
    for obj in _named_in(function):
        if _is_error(obj):
            errors.add(obj)
        elif (named := _function(obj)) is not None:
            called.append(named)
        elif isinstance(obj, dict | list | tuple | set | frozenset):
            values = obj.values() if isinstance(obj, dict) else obj
            errors.update(value for value in values if _is_error(value))
        elif isinstance(obj, type) and _is_ours(obj) and not _is_error(obj):
            called.extend(_constructor(obj))
    return frozenset(errors), tuple(dict.fromkeys(called))


def _constructor(cls: type) -> Iterable[Callable[..., Any]]:
    for name in ("__init__", "__post_init__", "__call__"):
        function = _function(vars(cls).get(name))
        if function is not None:
            yield function


def _named_in(function: Callable[..., Any]) -> Iterator[Any]:
    try:
        source = textwrap.dedent(inspect.getsource(function))
    except (OSError, TypeError):
        return
    tree = ast.parse(source)
    scope = _Scope(function)
    scope.learn(tree)
    caught = _caught(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name | ast.Attribute) and id(node) not in caught:
            yield from scope.resolve(node)


def dependencies(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    """The endpoint and every dependency FastAPI runs for it."""
    if dependant.call is not None:
        yield dependant.call
    for dependency in dependant.dependencies:
        yield from dependencies(dependency)


def route_errors(route: APIRoute) -> Errors:
    """The errors the route's own code and its dependencies can raise."""
    found: set[type[AppError]] = set()
    for call in dependencies(route.dependant):
        function = _function(call)
        if function is not None:
            found |= raised_by(function)
    return frozenset(found)

"""The small subset of MongoDB query semantics the simulator's `find` needs.

Source: MongoDB docs "Query and Projection Operators", "Project Fields to Return from Query", "Sort Order"
(comparison/sort order of BSON types). Supported:
- filter: equality on top-level and dotted fields (arrays match an element), `{f: null}` matching a missing or null
  field, `$eq $ne $in $nin $exists $gt $gte $lt $lte`, and top-level `$and $or $nor`;
- projection: inclusion (dotted paths allowed, `_id` included unless excluded) or exclusion;
- sort on one or more fields, using the BSON type order for mixed types, or `{$natural: 1 | -1}` alone (the
  insertion order, as a capped collection keeps it: docs "$natural").
"""

from __future__ import annotations

import copy
import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from bson import Binary, Int64, ObjectId, Timestamp
from bson.max_key import MaxKey
from bson.min_key import MinKey

from .errors import CommandError

_MISSING = object()


def _values(doc: Any, path: Sequence[str]) -> list[Any]:
    """Values at `path`, descending into arrays like the server does (missing paths give no value)."""
    if not path:
        return [doc]
    if isinstance(doc, Mapping):
        if path[0] not in doc:
            return []
        return _values(doc[path[0]], path[1:])
    if isinstance(doc, list):
        if path[0].isdigit():
            idx = int(path[0])
            out = _values(doc[idx], path[1:]) if idx < len(doc) else []
        else:
            out = []
        for item in doc:
            if isinstance(item, Mapping):
                out.extend(_values(item, path))
        return out
    return []


def _candidates(doc: Mapping[str, Any], field: str) -> list[Any]:
    """Values to compare for `field`: each value, plus the elements of array values."""
    out: list[Any] = []
    for value in _values(doc, field.split(".")):
        out.append(value)
        if isinstance(value, list):
            out.extend(value)
    return out


def _type_rank(value: Any) -> int:
    # BSON comparison order: MinKey, null, numbers, string, object, array, binData, ObjectId, bool, date,
    # timestamp, regex, MaxKey.
    if isinstance(value, MinKey):
        return 0
    if value is None or value is _MISSING:
        return 1
    if isinstance(value, bool):
        return 9
    if isinstance(value, int | float | Int64):
        return 2
    if isinstance(value, str):
        return 3
    if isinstance(value, Mapping):
        return 4
    if isinstance(value, list):
        return 5
    if isinstance(value, bytes | Binary):
        return 6
    if isinstance(value, ObjectId):
        return 7
    if isinstance(value, datetime.datetime):
        return 10
    if isinstance(value, Timestamp):
        return 11
    if isinstance(value, re.Pattern):
        return 12
    if isinstance(value, MaxKey):
        return 13
    return 14


def sort_key(value: Any) -> tuple[Any, ...]:
    rank = _type_rank(value)
    if rank in (0, 1, 13, 14):
        return (rank,)
    if rank == 4:
        return (rank, tuple((k, sort_key(v)) for k, v in value.items()))
    if rank == 5:
        return (rank, tuple(sort_key(v) for v in value))
    if rank == 11:
        return (rank, value.time, value.inc)
    if rank == 12:
        return (rank, value.pattern)
    if rank == 10 and value.tzinfo is None:
        return (rank, value.replace(tzinfo=datetime.UTC))
    return (rank, value)


def _equal(a: Any, b: Any) -> bool:
    if _type_rank(a) != _type_rank(b):
        return False
    return bool(sort_key(a) == sort_key(b))


def _compare(op: str, value: Any, operand: Any) -> bool:
    if _type_rank(value) != _type_rank(operand):
        return False
    a, b = sort_key(value), sort_key(operand)
    try:
        if op == "$gt":
            return bool(a > b)
        if op == "$gte":
            return bool(a >= b)
        if op == "$lt":
            return bool(a < b)
        return bool(a <= b)
    except TypeError:
        return False


def _match_eq(doc: Mapping[str, Any], field: str, operand: Any) -> bool:
    values = _candidates(doc, field)
    if operand is None:
        # {field: null} matches documents where the field is null or missing.
        return not values or any(v is None for v in values)
    return any(_equal(v, operand) for v in values)


def _match_field(doc: Mapping[str, Any], field: str, cond: Any) -> bool:
    if isinstance(cond, Mapping) and cond and all(str(k).startswith("$") for k in cond):
        for op, operand in cond.items():
            if op == "$eq":
                ok = _match_eq(doc, field, operand)
            elif op == "$ne":
                ok = not _match_eq(doc, field, operand)
            elif op == "$in":
                if not isinstance(operand, list):
                    raise CommandError(2, "$in needs an array")
                ok = any(_match_eq(doc, field, item) for item in operand)
            elif op == "$nin":
                if not isinstance(operand, list):
                    raise CommandError(2, "$nin needs an array")
                ok = not any(_match_eq(doc, field, item) for item in operand)
            elif op == "$exists":
                ok = bool(_values(doc, field.split("."))) == bool(operand)
            elif op in ("$gt", "$gte", "$lt", "$lte"):
                ok = any(_compare(op, v, operand) for v in _candidates(doc, field))
            else:
                raise CommandError(2, f"unknown operator: {op}")
            if not ok:
                return False
        return True
    return _match_eq(doc, field, cond)


def matches(doc: Mapping[str, Any], query: Mapping[str, Any]) -> bool:
    for key, cond in query.items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(cond, list) or not cond:
                raise CommandError(2, f"{key} argument must be a non-empty array")
            results = [matches(doc, sub) for sub in cond]
            if key == "$and" and not all(results):
                return False
            if key == "$or" and not any(results):
                return False
            if key == "$nor" and any(results):
                return False
        elif key.startswith("$"):
            raise CommandError(2, f"unknown top level operator: {key}")
        elif not _match_field(doc, key, cond):
            return False
    return True


def _tree(paths: Sequence[str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        parts = path.split(".")
        for i, part in enumerate(parts):
            if i == len(parts) - 1:
                if part in node:
                    raise CommandError(31250, f"Path collision at {path}")
                node[part] = True
            else:
                child = node.get(part)
                if child is True:
                    raise CommandError(31250, f"Path collision at {path}")
                node = node.setdefault(part, {})
    return tree


# values no one can change in place: a projection hands them out as they are, without deepcopy's cost (a week of
# PITR chunks is a thousand documents per find)
_IMMUTABLE = (str, int, float, bool, type(None), Timestamp, ObjectId, Int64, datetime.datetime, bytes)


def _copy(value: Any) -> Any:
    return value if type(value) in _IMMUTABLE else copy.deepcopy(value)


def _include(value: Any, tree: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            spec = tree.get(key)
            if spec is True:
                out[key] = _copy(sub)
            elif isinstance(spec, Mapping):
                projected = _include(sub, spec)
                if projected is not _MISSING:
                    out[key] = projected
        return out
    if isinstance(value, list):
        return [_include(v, tree) for v in value if isinstance(v, Mapping | list)]
    return _MISSING


def _exclude(value: Any, tree: Mapping[str, Any]) -> Any:
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, sub in value.items():
            spec = tree.get(key)
            if spec is True:
                continue
            out[key] = _exclude(sub, spec) if isinstance(spec, Mapping) else _copy(sub)
        return out
    if isinstance(value, list):
        return [_exclude(v, tree) for v in value]
    return _copy(value)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    raise CommandError(2, f"unsupported projection value {value!r} (the simulator supports 0/1 projections)")


def project(doc: Mapping[str, Any], projection: Mapping[str, Any] | None) -> dict[str, Any]:
    if not projection:
        return copy.deepcopy(dict(doc))
    include_id = True
    inclusions: list[str] = []
    exclusions: list[str] = []
    for key, value in projection.items():
        if key == "_id":
            include_id = _truthy(value)
            continue
        (inclusions if _truthy(value) else exclusions).append(key)
    if inclusions and exclusions:
        raise CommandError(
            31254, f"Cannot do exclusion on field {exclusions[0]} in inclusion projection", "Location31254"
        )
    if inclusions or (not exclusions and include_id):  # {_id: 1} alone is an inclusion projection
        tree = _tree(inclusions)
        if include_id:
            tree["_id"] = True
        result = _include(doc, tree)
        return dict(result) if isinstance(result, Mapping) else {}
    tree = _tree(exclusions)
    if not include_id:
        tree["_id"] = True
    result = _exclude(doc, tree)
    return dict(result) if isinstance(result, Mapping) else {}


def sort_docs(docs: list[dict[str, Any]], sort: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    if not sort:
        return docs
    if "$natural" in sort:
        if len(sort) > 1 or sort["$natural"] not in (1, -1):
            raise CommandError(2, "$natural sort cannot be combined with other sort keys and must be 1 or -1")
        return list(docs) if sort["$natural"] == 1 else list(reversed(docs))
    out = list(docs)
    for field, direction in reversed(list(sort.items())):
        if direction not in (1, -1):
            raise CommandError(2, f"$sort key ordering must be 1 (for ascending) or -1 (for descending): {field}")
        descending = direction == -1

        def key(doc: dict[str, Any], field: str = field, descending: bool = descending) -> tuple[Any, ...]:
            values = _candidates(doc, field) or [None]
            # Arrays sort by their smallest (ascending) or largest (descending) element.
            keys = [sort_key(v) for v in values if not isinstance(v, list)] or [sort_key(values[0])]
            return max(keys) if descending else min(keys)

        out.sort(key=key, reverse=descending)
    return out

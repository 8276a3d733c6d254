"""The Bot API 10.1 spec: look up methods and types, check call parameters and objects."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

SPEC_PATH = Path(__file__).resolve().parent.parent / "data" / "telegram-bot-api-10.1.json"

_INT_RE = re.compile(r"-?\d+")
_DISCRIMINATOR_RE = re.compile(r'(?:always|must be) "?([a-z_]+)"?')
_DISCRIMINATOR_FIELDS = ("type", "status", "source")
_BOOL_STRINGS = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    field: str
    filename: str
    content_type: str
    data: bytes


class ExactError(str):
    """An error text Telegram sends as is, without the "can't parse ..." prefix."""


@dataclass
class Issues:
    """What is wrong with a call: `hard` ones Telegram rejects, `soft` ones it silently ignores."""

    hard: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)

    def extend(self, other: Issues) -> None:
        """Add another set of issues to this one."""
        self.hard.extend(other.hard)
        self.soft.extend(other.soft)


# A per-type check beyond the structure (limits, "exactly one of"); returns hard errors.
TypeCheck = Callable[[dict[str, Any]], list[str]]


class Spec:
    """The methods and types of one Bot API version, with validators built on them."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.version: str = raw["version"]
        self.methods: dict[str, dict[str, Any]] = raw["methods"]
        self.types: dict[str, dict[str, Any]] = raw["types"]
        self._by_lower = {name.lower(): name for name in self.methods}
        self._fields = {
            name: {f["name"]: f for f in entry.get("fields", [])}
            for name, entry in [*self.types.items(), *self.methods.items()]
        }
        self.type_checks: dict[str, TypeCheck] = {}

    def method_name(self, name: str) -> str | None:
        """Return the canonical name of a method (Telegram ignores case), or None if unknown."""
        return self._by_lower.get(name.lower())

    def fields(self, method_or_type: str) -> dict[str, dict[str, Any]]:
        """Return the fields of a method or a type by name."""
        return self._fields[method_or_type]

    def returns(self, method: str) -> list[str]:
        """Return the documented result types of a method."""
        return list(self.methods[method].get("returns", []))

    def coerce_params(
        self, method: str, raw: dict[str, Any], files: dict[str, UploadedFile]
    ) -> tuple[dict[str, Any], Issues]:
        """Parse raw request values into typed ones, checking each against the spec."""
        issues = Issues()
        spec_fields = self.fields(method)
        params: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in spec_fields:
                issues.soft.append(f"unknown parameter {name!r}")
                params[name] = value
                continue
            parsed, found = self._coerce_param(name, value, spec_fields[name]["types"], files)
            issues.extend(found)
            params[name] = parsed
        for name, spec_field in spec_fields.items():
            if spec_field["required"] and name not in raw:
                issues.hard.append(_missing_message(name, spec_field["types"]))
        return params, issues

    def _coerce_param(
        self, name: str, value: Any, types: list[str], files: dict[str, UploadedFile]
    ) -> tuple[Any, Issues]:
        """Turn one top-level parameter into its typed value."""
        issues = Issues()
        if isinstance(value, UploadedFile):
            if "InputFile" not in types:
                issues.hard.append(f"{name} can't be a file upload")
            return value, issues
        scalar = _coerce_scalar(value, types)
        if scalar is not _NO_MATCH:
            if isinstance(scalar, str) and scalar.startswith("attach://") and "InputFile" in types:
                _check_attach(scalar, files, issues)
            return scalar, issues
        complex_types = [t for t in types if t not in _SCALARS]
        if not complex_types:
            issues.hard.append(f'field "{name}" must be of type {" or ".join(types)}')
            return value, issues
        parsed = value
        if isinstance(value, str | bytes):
            try:
                parsed = json.loads(value)
            except ValueError:
                issues.hard.append(f"can't parse {_what(name)} JSON object")
                return value, issues
        found = self.check_value(parsed, complex_types, name, files)
        if found.hard:
            found.hard = [
                e if isinstance(e, ExactError) else f"can't parse {_what(name)}: {e}"
                for e in found.hard
            ]
        issues.extend(found)
        return parsed, issues

    def check_value(
        self,
        value: Any,
        types: list[str],
        path: str,
        files: dict[str, UploadedFile] | None = None,
    ) -> Issues:
        """Check a decoded JSON value against a union of spec types."""
        if (
            len(types) > 1
            and isinstance(value, list)
            and all(t.startswith("Array of ") for t in types)
        ):
            # "Array of A or Array of B" means an array whose items may mix A and B (albums).
            inner = [t.removeprefix("Array of ") for t in types]
            issues = Issues()
            for index, item in enumerate(value):
                issues.extend(self.check_value(item, inner, f"{path}[{index}]", files))
            return issues
        candidates = [self._check_one(value, t, path, files) for t in types]
        clean = [c for c in candidates if not c.hard]
        if clean:
            return min(clean, key=lambda c: len(c.soft))
        # Report against the type the value most resembles: fewest unknown fields first.
        return min(candidates, key=lambda c: (len(c.soft), len(c.hard)))

    def _check_one(
        self, value: Any, type_name: str, path: str, files: dict[str, UploadedFile] | None
    ) -> Issues:
        """Check a decoded JSON value against one spec type."""
        issues = Issues()
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                issues.hard.append(f'Field "{path}" must be an Array')
                return issues
            inner = type_name.removeprefix("Array of ")
            for index, item in enumerate(value):
                issues.extend(self._check_one(item, inner, f"{path}[{index}]", files))
            return issues
        if type_name in _SCALARS:
            if not _scalar_ok(value, type_name):
                issues.hard.append(f'Field "{path}" must be of type {type_name}')
            elif isinstance(value, str) and value.startswith("attach://") and files is not None:
                _check_attach(value, files, issues)
            return issues
        if type_name == "KeyboardButton" and isinstance(value, str):
            return issues  # Telegram accepts a bare string as a text-only keyboard button
        spec_type = self.types.get(type_name)
        if spec_type is None:
            issues.hard.append(f"unknown type {type_name} in the spec")
            return issues
        if "subtypes" in spec_type:
            return self._check_union(value, spec_type["subtypes"], path, files)
        return self._check_object(value, type_name, path, files)

    def _check_object(
        self, value: Any, type_name: str, path: str, files: dict[str, UploadedFile] | None
    ) -> Issues:
        """Check a JSON object against the fields of a spec type."""
        issues = Issues()
        if not isinstance(value, dict):
            issues.hard.append(f'Field "{path}" must be an Object ({type_name})')
            return issues
        spec_fields = self.fields(type_name)
        discriminator = self._discriminator(type_name)
        if discriminator is not None:
            key, expected = discriminator
            if key in value and value[key] != expected:
                issues.hard.append(f'Field "{key}" of {type_name} must be "{expected}"')
        for key, item in value.items():
            if key not in spec_fields:
                issues.soft.append(f"{path}: unknown field {key!r} in {type_name}")
                continue
            issues.extend(self.check_value(item, spec_fields[key]["types"], key, files))
        for key, spec_field in spec_fields.items():
            if spec_field["required"] and key not in value:
                issues.hard.append(f'Can\'t find field "{key}" in {type_name}')
        check = self.type_checks.get(type_name)
        if check is not None and not issues.hard:
            issues.hard.extend(ExactError(e) for e in check(value))
        return issues

    def _check_union(
        self, value: Any, subtypes: list[str], path: str, files: dict[str, UploadedFile] | None
    ) -> Issues:
        """Check a value against an abstract type, picking the subtype by its type field."""
        if isinstance(value, dict):
            for key in _DISCRIMINATOR_FIELDS:
                if key in value:
                    chosen = [s for s in subtypes if self._discriminator(s) == (key, value[key])]
                    if chosen:
                        return self._check_one(value, chosen[0], path, files)
        return self.check_value(value, subtypes, path, files)

    def _discriminator(self, type_name: str) -> tuple[str, str] | None:
        """Return the (field, value) pair that tells a subtype apart, if the spec names one."""
        spec_type = self.types.get(type_name, {})
        for spec_field in spec_type.get("fields", []):
            if spec_field["name"] in _DISCRIMINATOR_FIELDS:
                match = _DISCRIMINATOR_RE.search(spec_field["description"])
                if match:
                    return spec_field["name"], match.group(1)
        return None

    def check_result(self, value: Any, types: list[str]) -> list[str]:
        """Return every problem (hard and soft) of an object the fake itself produced."""
        issues = self.check_value(value, types, "result")
        return issues.hard + issues.soft


_SCALARS = {"Integer", "Float", "Boolean", "String", "True", "InputFile"}
_NO_MATCH = object()


def _scalar_ok(value: Any, type_name: str) -> bool:
    """Tell whether a decoded JSON value has the given scalar type."""
    if type_name == "Integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if type_name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if type_name in ("Boolean", "True"):
        return isinstance(value, bool)
    return isinstance(value, str)


def _coerce_scalar(value: Any, types: list[str]) -> Any:
    """Convert a form or JSON value to the first scalar type of `types` it fits."""
    for type_name in types:
        if type_name == "Integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _INT_RE.fullmatch(value.strip()):
                return int(value)
        elif type_name == "Float":
            if isinstance(value, int | float) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str):
                try:
                    return float(value)
                except ValueError:
                    continue
        elif type_name in ("Boolean", "True"):
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in _BOOL_STRINGS:
                return _BOOL_STRINGS[value.lower()]
        elif type_name in ("String", "InputFile"):
            if isinstance(value, str):
                return value
            if isinstance(value, int | float) and not isinstance(value, bool):
                return str(value)  # Telegram reads every top-level parameter as a string
    return _NO_MATCH


def _check_attach(value: str, files: dict[str, UploadedFile], issues: Issues) -> None:
    """Require that an attach:// reference names a file part of the request."""
    if value.removeprefix("attach://") not in files:
        issues.hard.append(f"file {value} not found in the request")


def _what(name: str) -> str:
    """Name a JSON parameter the way Telegram's error messages do."""
    return {
        "reply_markup": "reply keyboard markup",
        "entities": "entities",
        "caption_entities": "caption entities",
        "media": "media",
    }.get(name, name)


def _missing_message(name: str, types: list[str]) -> str:
    """Describe a missing required parameter like Telegram does."""
    if name == "text":
        return "message text is empty"
    if "InputFile" in types:
        return f"there is no {name} in the request"
    return f"{name} is empty"


@cache
def load_spec() -> Spec:
    """Load the Bot API spec shipped with the tests (once per process), with Telegram's limits."""
    from tests.fakes.markup import TYPE_CHECKS

    spec = Spec(json.loads(SPEC_PATH.read_text(encoding="utf-8")))
    spec.type_checks.update(TYPE_CHECKS)
    return spec

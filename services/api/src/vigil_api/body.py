"""Strict JSON request bodies: decoded by msgspec in strict mode, errors naming the JSON field.

Litestar converts bodies with strict=False (so "60" would pass as a number) and reports a
missing field as `data`. This DTO decodes the raw bytes straight into the handler's struct (or
tagged union) with strict=True, and turns msgspec's message into a FieldError for the field.
The OpenAPI schema is the plain schema of the annotated type.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import msgspec
from litestar.dto import AbstractDTO, DTOConfig
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.typing import FieldDefinition

from .errors import FieldError, InvalidInput, field_error_from_msgspec


def decode_strict(body: bytes, model: Any) -> Any:
    """Decode JSON bytes into `model`; InvalidInput names the field on any error."""
    if not body.strip():
        raise InvalidInput.one("body", "is empty; send a JSON object")
    try:
        return msgspec.json.decode(body, type=model, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput([field_error_from_msgspec(exc)]) from None
    except msgspec.DecodeError as exc:
        raise InvalidInput([FieldError("body", f"is not valid JSON ({exc})")]) from None
    except UnicodeDecodeError as exc:
        # msgspec checks UTF-8 as it builds each string, and reports where in that string.
        raise InvalidInput(
            [
                FieldError(
                    "body",
                    f"holds a string that is not valid UTF-8 ({exc.reason} at"
                    f" byte {exc.start} of {exc.object[:40]!r}); send UTF-8",
                )
            ]
        ) from None
    except RecursionError:
        raise InvalidInput([FieldError("body", "nests objects or arrays too deeply")]) from None


def convert_strict(value: Any, model: Any, prefix: str = "") -> Any:
    """Convert already-decoded builtins into `model` with the same error naming."""
    try:
        return msgspec.convert(value, type=model, strict=True)
    except msgspec.ValidationError as exc:
        raise InvalidInput([field_error_from_msgspec(exc, prefix)]) from None
    except RecursionError:
        raise InvalidInput(
            [FieldError(prefix.rstrip(".") or "body", "nests objects or arrays too deeply")]
        ) from None


class StrictBody(AbstractDTO[Any]):
    """A data DTO: `dto=StrictBody.of(Model)` on a handler whose `data` is annotated `Model`."""

    config = DTOConfig()
    body_type: Any = None

    @classmethod
    def of(cls, model: Any) -> type[StrictBody]:
        # Not StrictBody[Model]: AbstractDTO refuses union type arguments, and the tagged
        # union of target kinds is exactly what we want to decode.
        return type(
            f"StrictBody_{getattr(model, '__name__', 'union')}",
            (cls,),
            {"body_type": model, "model_type": object, "config": DTOConfig()},
        )

    def decode_bytes(self, value: bytes) -> Any:
        return decode_strict(value, self.body_type)

    def decode_builtins(self, value: dict[str, Any]) -> Any:
        return convert_strict(value, self.body_type)

    @classmethod
    def create_for_field_definition(
        cls, field_definition: FieldDefinition, handler_id: str, backend_cls: Any = None
    ) -> None:
        # No transfer backend: decoding is done by msgspec directly.
        return None

    @classmethod
    def create_openapi_schema(
        cls, field_definition: FieldDefinition, handler_id: str, schema_creator: Any
    ) -> Any:
        return schema_creator.for_field_definition(FieldDefinition.from_annotation(cls.body_type))

    @classmethod
    def generate_field_definitions(
        cls, model_type: type[Any]
    ) -> Generator[DTOFieldDefinition, None, None]:
        yield from ()

    @classmethod
    def detect_nested_field(cls, field_definition: FieldDefinition) -> bool:
        return False

"""The rule registry: every rule class, in code order."""
from typing import Dict, List, Type

from ..model import Rule
from .golden import GoldenClassMoved
from .loading import DeserializationUnknownOrigin, UntrustedDeserialization
from .processes import LocalClassPickled, UnguardedProcessStart, UnpicklableProcessCallable
from .records import MarshalPersistence, PickleProtocolTooNew, UnversionedRecord
from .state import LocalReconstructor, UnpicklableResourceAttribute

ALL_RULES: List[Type[Rule]] = sorted(
    [
        UnpicklableProcessCallable,
        UnpicklableResourceAttribute,
        LocalClassPickled,
        LocalReconstructor,
        UnversionedRecord,
        UntrustedDeserialization,
        MarshalPersistence,
        PickleProtocolTooNew,
        UnguardedProcessStart,
        GoldenClassMoved,
        DeserializationUnknownOrigin,
    ],
    key=lambda rule: rule.CODE,
)
RULES_BY_CODE: Dict[str, Type[Rule]] = {rule.CODE: rule for rule in ALL_RULES}

__all__ = ["ALL_RULES", "RULES_BY_CODE"]

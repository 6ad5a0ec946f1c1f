"""Reference geography: the shipped jurisdiction dataset (ct/), the rules that fill its gaps,
the idempotent loader and the administrators' correction service.

    load_reference(path=DEFAULT_DATASET) -> LoadReport      `despp load-reference`
    set_town_assignment(town, *, troop=, psap=, policing=, police_agency=, reason, actor,
                        request=None) -> Town
"""

from despp.core.reference.assignments import clean_town_assignment, set_town_assignment
from despp.core.reference.dataset import DEFAULT_DATASET, ReferenceDataError, read_dataset
from despp.core.reference.loader import REFERENCE_STREAM, LoadReport, load_reference

__all__ = [
    "DEFAULT_DATASET",
    "REFERENCE_STREAM",
    "LoadReport",
    "ReferenceDataError",
    "clean_town_assignment",
    "load_reference",
    "read_dataset",
    "set_town_assignment",
]

"""ON_TYPE_CHANGE=widen: an existing column that the sampled values no longer fit gets a wider type,
decided in the plan, before anything is loaded.

The widening is exact, one step up the chain integer -> bigint -> decimal -> text, and only as far
as the samples need: a 32-bit integer column that meets ``3000000000`` becomes a 64-bit one; an
integer column that meets ``2.75`` an exact decimal wide enough for every integer it held and the
new fractions; a decimal column with more digits than it holds a wider decimal; a number column
that meets ``n/a`` text, where the database's own cast writes every number it held as the plain
number it is (``12``, ``1.50``).  Where the database has no exact decimal type (SQLite) the next
step is text.  A float, date or timestamp column that the samples do not fit is refused: its
values as text would be written differently from the files (``1e+20``, a session's date style).
Other columns (boolean, text, types the importer does not plan) are not assessed: a value they do
not hold stays a rejected row, as with ``ON_TYPE_CHANGE=fail``, and so does any value past the
samples that the widened type does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from processor.errors import SchemaError
from processor.kinds import INT64_MAX, INT64_MIN, TEXT, ColumnProfile, ColumnType, Kind, integer_range
from processor.plan.schema import merge_profiles

if TYPE_CHECKING:
    from processor.backends import Backend
    from processor.plan.schema import FileProfile
    from processor.records import TablePlan

#: The kinds whose misfits widening assesses; a misfit of the others is a rejected row.
ASSESSED = (Kind.INTEGER, Kind.DECIMAL, Kind.FLOAT, Kind.DATE, Kind.TIMESTAMP)
#: The kinds a widening starts from; the other assessed ones are refused.
WIDENED = (Kind.INTEGER, Kind.DECIMAL)


@dataclass(frozen=True)
class Widening:
    """One existing column's change: its type, the wider one, and why (with a sampled value)."""

    name: str
    old: ColumnType
    new: ColumnType
    reason: str


def misfits(column: ColumnType, profile: ColumnProfile) -> bool:
    """Whether a sample (``profile``) holds a value the existing ``column`` cannot, as far as the
    profile tells (trailing zeros after the point do not count: ``1.500`` fits a scale of 2)."""
    if profile.empty or column.kind not in ASSESSED or column.nonnegative:
        return False
    if column.kind is Kind.INTEGER:
        inside = (
            profile.least is not None
            and profile.greatest is not None
            and column.low <= profile.least
            and profile.greatest <= column.high
        )
        return not (profile.integer and inside)
    if column.kind is Kind.DECIMAL:
        if column.precision is None:
            return not profile.decimal
        scale = column.scale or 0
        if not 0 <= scale <= column.precision:  # PostgreSQL's NUMERIC(2,5), NUMERIC(5,-2): not assessed
            return False
        wide = profile.whole_digits > column.precision - scale or profile.significant_scale > scale
        return not profile.decimal or wide
    if column.kind is Kind.FLOAT:
        return not profile.float
    if column.kind is Kind.DATE:
        return not profile.date
    return not profile.timestamp


def widen_plan(
    plan: TablePlan,
    profiles: Mapping[str, FileProfile],
    backend: Backend,
    table: str,
) -> tuple[TablePlan, tuple[Widening, ...], dict[str, tuple[str, ...]]]:
    """The plan of an existing ``table`` with each column the samples do not fit widened, the
    widenings, and by file (``profiles``: each file to load's, in ``plan.names``' order) the
    columns its own sample needs widened.  A column that cannot be widened exactly is a
    SchemaError naming it: nothing is loaded (``check_alterable`` asks the database next)."""
    merged = merge_profiles(profiles.values(), len(plan.names))
    types, reasons = list(plan.types), list(plan.reasons)
    widenings = []
    for i, (name, old) in enumerate(zip(plan.names, plan.types, strict=True)):
        if not misfits(old, merged[i]):
            continue
        new, detail = _wider(old, merged[i], backend)
        if new is None:
            raise SchemaError(
                f"ON_TYPE_CHANGE=widen: column {name!r} of table {table!r} is {old.describe()}, and the "
                f"samples hold {detail}; as text its values would read differently from the files "
                f"({backend.name}'s cast writes them its own way); nothing was loaded. Change the "
                "column's type first, or set ON_TYPE_CHANGE=fail to reject the rows that do not fit"
            )
        types[i] = new
        reasons[i] = f"widened (ON_TYPE_CHANGE=widen) from {old.describe()}: {detail}"
        widenings.append(Widening(name, old, new, reasons[i]))
    by_file = {
        source: tuple(w.name for w in widenings if misfits(w.old, profile[plan.names.index(w.name)]))
        for source, profile in profiles.items()
    }
    widened = replace(plan, types=tuple(types), reasons=tuple(reasons))
    return widened, tuple(widenings), {k: v for k, v in by_file.items() if v}


def _wider(old: ColumnType, profile: ColumnProfile, backend: Backend) -> tuple[ColumnType | None, str]:
    """The narrowest exact type holding ``old``'s values and the sample's, and what in the sample
    needs it; None where the next step, text, would not hold ``old``'s values as written."""
    if old.kind not in WIDENED:
        return None, f"`{profile.unfit or profile.not_date or profile.not_float or profile.example}`"
    if old.kind is Kind.INTEGER and profile.integer and old.low >= INT64_MIN and old.high <= INT64_MAX:
        assert profile.least is not None  # an integer profile has its bounds
        assert profile.greatest is not None
        beyond = profile.greatest if profile.greatest > old.high else profile.least
        return replace(integer_range(64), nullable=old.nullable), f"`{beyond}` is beyond its range"
    if profile.decimal:
        whole = max(_whole_digits(old), profile.whole_digits)
        scale = max(old.scale or 0, profile.scale)
        detail = f"numbers of up to {whole} digits before the point and {scale} after"
        found = backend.types.decimal_type(whole, scale)
        if found is not None and _holds(found, whole, scale):
            return replace(found, nullable=old.nullable), detail
    else:
        detail = f"`{profile.not_integer or profile.unfit or profile.example}`, which is not a number"
    return replace(backend.types.holds(TEXT), nullable=old.nullable), detail


def _whole_digits(column: ColumnType) -> int:
    """The most digits before the point a value of the INTEGER or DECIMAL ``column`` has."""
    if column.kind is Kind.INTEGER:
        return max(len(str(column.low).lstrip("-")), len(str(column.high)))
    assert column.precision is not None  # an unbounded decimal holds every decimal: never widened to one
    return column.precision - (column.scale or 0)


def _holds(column: ColumnType, whole: int, scale: int) -> bool:
    """Whether the DECIMAL ``column`` holds ``whole`` digits before the point and ``scale`` after."""
    if column.precision is None:
        return True
    return column.precision - (column.scale or 0) >= whole and (column.scale or 0) >= scale


def check_alterable(widenings: Sequence[Widening], backend: Backend, table: str) -> None:
    """Raise SchemaError where the database has no statement that changes a column's type in
    place (``features.alters_column_types``; SQLite's would be a rebuild of the table)."""
    if not widenings or backend.features.alters_column_types:
        return
    shown = ", ".join(repr(w.name) for w in widenings)
    raise SchemaError(
        f"ON_TYPE_CHANGE=widen: table {table!r} would widen the columns {shown}, but {backend.name} "
        "cannot change a column's type in place (its ALTER TABLE has no ALTER COLUMN ... TYPE); "
        "nothing was loaded. Change the columns' types first, or load with IF_EXISTS=replace"
    )

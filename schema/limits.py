"""What a valid document may ask before anything runs: bounded variables, codes that fit their columns,
subscriptions only over the websocket, and a cost within the budget.

The checks run at the end of validation (after the validation cache has validated the document), so
an operation they refuse is a pre-execution error: over HTTP nothing executes, over the websocket the
subscriber gets an `error` message. Variables are coerced here once (graphql-core coerces them again
when it executes; both agree), so a variable of the wrong type or a missing one is a typed
`BAD_USER_INPUT` answer on both transports.

The cost model (docs/graphql.md has it for clients): an object field costs 1 plus its selection; a
list multiplies its selection by its expected length (its page size or the number of codes given,
else `ASSUMED_LIST`); an analysis over a range is priced by the work its resolver does whatever is
selected: stations x max(windows, days) x `ANALYSIS_UNIT`, where windows is the range length divided
by the aggregate window.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from strawberry.extensions import SchemaExtension

from models.codes import CAUSE_CODE_MAX, CODE_MAX
from models.ranges import RangeError, resolve_range
from models.timefmt import utc_now

# The largest cost one operation may have by default (ANDON_GRAPHQL_MAX_COST sets another).
MAX_COST = 100_000
# The expected length of a list whose length the arguments do not tell.
ASSUMED_LIST = 10
# The stations an analysis covers when no codes are given (the plant's; unknown before it runs).
ASSUMED_STATIONS = 10
# The price of one station-window of an analysis: worked out from issues, calendars and window sums.
ANALYSIS_UNIT = 10
# Variables: nesting and number of values (a dashboard sends a list of codes: depth 2).
MAX_VARIABLE_DEPTH = 8
MAX_VARIABLE_VALUES = 10_000
# Items in one list argument (the largest page; SQL `IN` lists stay bounded).
MAX_LIST_ARGUMENT = 1000

BAD_USER_INPUT = "BAD_USER_INPUT"
QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
SUBSCRIPTION_OVER_HTTP = "SUBSCRIPTION_NOT_OVER_WEBSOCKET"

_WINDOW_SECONDS = {"hour": 3600, "day": 86_400, "week": 7 * 86_400, "shift": 8 * 3600}
# Arguments naming a code, and the column each must fit; cause codes are longer than the others.
_CAUSE_CODE_ARGUMENTS = {("causes", "codes"), ("upsertCause", "code"), ("deleteCause", "code")}
_CAUSE_CODE_NAMES = {"causeCode", "parentCauseCode"}
_CODE_NAMES = {"code", "codes", "plantCode", "stationCode", "stationCodes", "skuCodes"}
# Root lists whose length is the number of codes given.
_LISTS_BY_CODES = {
    "stations": "stationCodes",
    "ongoingIssues": "stationCodes",
    "unreportedDowntimeCounts": "stationCodes",
    "stationWindows": "stationCodes",
    "causes": "codes",
}
_ANALYSES = {"downtimeAnalysis"}


def _error(message: str, code: str, **extensions: object) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, **extensions})


def variables_problem(variables: object) -> str | None:
    """Why the raw variables are too deep or too many (walked without recursion), or None."""
    stack: list[tuple[object, int]] = [(variables, 1)]
    count = 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_VARIABLE_VALUES:
            return f"variables hold more than {MAX_VARIABLE_VALUES} values"
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, (dict, list)) and depth + 1 > MAX_VARIABLE_DEPTH:
                return f"variables are nested deeper than {MAX_VARIABLE_DEPTH} levels"
            stack.append((child, depth + 1))
    return None


def _code_limit(field: str, argument: str) -> int | None:
    if (field, argument) in _CAUSE_CODE_ARGUMENTS or argument in _CAUSE_CODE_NAMES:
        return CAUSE_CODE_MAX
    return CODE_MAX if argument in _CODE_NAMES else None


def argument_problem(field: str, arguments: dict[str, Any]) -> GraphQLError | None:
    """A code longer than its column or a list argument longer than the bound, as a typed error."""
    for name, value in arguments.items():
        values = value if isinstance(value, list) else [value]
        if len(values) > MAX_LIST_ARGUMENT:
            return _error(
                f"`{name}` of `{field}` has {len(values)} items; at most {MAX_LIST_ARGUMENT}",
                BAD_USER_INPUT,
                field=name,
            )
        limit = _code_limit(field, name)
        if limit is None:
            continue
        long = next((v for v in values if isinstance(v, str) and len(v) > limit), None)
        if long is not None:
            return _error(
                f"`{name}` of `{field}`: a code is at most {limit} characters ({len(long)} given)",
                BAD_USER_INPUT,
                field=name,
            )
    return None


def analysis_units(arguments: dict[str, Any]) -> int:
    """Station-windows an analysis works out: stations x max(windows, days of the range)."""
    codes = arguments.get("stationCodes") or ()
    stations = len(codes) or ASSUMED_STATIONS
    try:
        # The plant's zone moves a range by hours at most: UTC prices it closely enough.
        span = resolve_range(str(arguments.get("rangeCode") or ""), now=utc_now(), timezone="UTC")
        seconds = max(0.0, (span.end - span.start).total_seconds())
    except (RangeError, ValueError, OverflowError):
        seconds = 0.0  # the resolver refuses the range: nothing to price beyond the minimum
    window = _WINDOW_SECONDS.get(str(arguments.get("aggregateWindow") or "none"))
    windows = math.ceil(seconds / window) if window else 1
    days = math.ceil(seconds / timedelta(days=1).total_seconds())
    return stations * max(1, windows, days)


class _Pricer:
    """Walks one operation once; fragments are priced once each (their cost does not depend on where
    they are spread), so a document that spreads a fragment many times is priced in linear time."""

    def __init__(self, schema: Any, fragments: dict[str, FragmentDefinitionNode], variables: VariableValues):
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.fragment_costs: dict[str, int] = {}
        self.problem: GraphQLError | None = None

    def fields(self, selection_set: SelectionSetNode) -> Iterator[FieldNode | FragmentSpreadNode]:
        for selection in selection_set.selections:
            if isinstance(selection, InlineFragmentNode):
                yield from self.fields(selection.selection_set)
            elif isinstance(selection, (FieldNode, FragmentSpreadNode)):
                yield selection

    def cost(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, root: bool = False
    ) -> int:
        if selection_set is None or not isinstance(parent, GraphQLObjectType):
            return 0
        total = 0
        for node in self.fields(selection_set):
            if isinstance(node, FragmentSpreadNode):
                total += self.fragment(node.name.value, root)
            else:
                total += self.field(node, parent, root)
        return total

    def fragment(self, name: str, root: bool) -> int:
        if name not in self.fragment_costs:
            self.fragment_costs[name] = 0  # validation refuses cycles; this guards the walk anyway
            definition = self.fragments.get(name)
            if definition is not None:
                parent = self.schema.get_type(definition.type_condition.name.value)
                self.fragment_costs[name] = self.cost(definition.selection_set, parent, root)
        return self.fragment_costs[name]

    def field(self, node: FieldNode, parent: GraphQLObjectType, root: bool) -> int:
        name = node.name.value
        definition = parent.fields.get(name)
        if definition is None:
            return 0  # __typename and introspection
        nullable = get_nullable_type(definition.type)
        named = get_named_type(definition.type)
        if not isinstance(named, GraphQLObjectType):
            return 0
        length = ASSUMED_LIST if isinstance(nullable, GraphQLList) else 1
        base = 1
        if root and definition.args:
            try:
                arguments = get_argument_values(definition, node, self.variables)
            except GraphQLError as exc:
                self.problem = self.problem or _error(exc.message, BAD_USER_INPUT)
                return 0
            self.problem = self.problem or argument_problem(name, arguments)
            if name == "issues":
                # At least one: a negative `first` (refused by the resolver) must not offset other fields.
                length = max(1, int(arguments.get("first") or 1))
            elif name in _LISTS_BY_CODES and arguments.get(_LISTS_BY_CODES[name]):
                length = len(arguments[_LISTS_BY_CODES[name]])
            elif name in _ANALYSES:
                base += analysis_units(arguments) * ANALYSIS_UNIT
        return base + length * self.cost(node.selection_set, named)


def _pricer(schema: Any, document: Any, variables: VariableValues) -> _Pricer:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    return _Pricer(schema, fragments, variables)


def operation_cost(
    schema: Any, document: Any, operation: OperationDefinitionNode, variables: dict[str, Any]
) -> int:
    """The price of `operation` with these (raw, valid) variables; ValueError when they do not coerce."""
    coerced = get_variable_values(schema, operation.variable_definitions or (), variables)
    if isinstance(coerced, list):
        raise ValueError("; ".join(e.message for e in coerced))
    return _pricer(schema, document, coerced).cost(
        operation.selection_set, schema.get_root_type(operation.operation), root=True
    )


def operation_problems(
    schema: Any,
    document: Any,
    operation: OperationDefinitionNode,
    raw_variables: object,
    over_websocket: bool,
    max_cost: int = MAX_COST,
) -> list[GraphQLError]:
    """The typed errors that refuse `operation` before it runs (empty when it may run)."""
    if operation.operation == OperationType.SUBSCRIPTION and not over_websocket:
        return [
            _error(
                "subscriptions run over a websocket at /graphql (graphql-transport-ws), not over HTTP",
                SUBSCRIPTION_OVER_HTTP,
            )
        ]
    if raw_variables is not None and not isinstance(raw_variables, dict):
        return [_error("`variables` must be a JSON object", BAD_USER_INPUT)]
    problem = variables_problem(raw_variables or {})
    if problem:
        return [_error(problem, BAD_USER_INPUT)]
    coerced = get_variable_values(schema, operation.variable_definitions or (), raw_variables or {})
    if isinstance(coerced, list):
        return [_error(e.message, BAD_USER_INPUT) for e in coerced]
    pricer = _pricer(schema, document, coerced)
    cost = pricer.cost(operation.selection_set, schema.get_root_type(operation.operation), root=True)
    if pricer.problem is not None:
        return [pricer.problem]
    if cost > max_cost:
        return [
            _error(
                f"the query costs {cost}, over the budget of {max_cost}: ask for fewer stations, a shorter "
                "range, a coarser aggregateWindow or fewer aliases",
                QUERY_TOO_COSTLY,
                cost=cost,
                budget=max_cost,
            )
        ]
    return []


class OperationLimits(SchemaExtension):
    """Refuses, before execution, an operation that `operation_problems` finds fault with."""

    def __init__(self, max_cost: int = MAX_COST) -> None:
        super().__init__()
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        # Before the yield, after the validation cache (placed after it): the document is validated
        # and `pre_execution_errors` is a list; errors set after the yield would come too late.
        context = self.execution_context
        document = context.graphql_document
        if (
            document is not None
            and context.pre_execution_errors is not None
            and not context.pre_execution_errors
        ):
            operation = _operation(document, context._provided_operation_name)
            if operation is not None:
                # The live-change hub: websocket contexts (and shared feeds' contexts) have one.
                live = getattr(context.context, "hub", None) is not None
                problems = operation_problems(
                    self._schema(), document, operation, context.variables, live, self.max_cost
                )
                if problems:
                    context.pre_execution_errors = problems
        yield

    def _schema(self) -> Any:
        return self.execution_context.schema._schema


def _operation(document: Any, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == name), None)

"""Windowed aggregations of batch feature views (the same rules as the control plane's
``AggregationDefinition``).

At every schedule boundary B inside a job's window the view emits, per entity, each aggregate
over the transformed rows with event time in [B - window, B); the row's event time is B - 1 µs, so
a training row at time t sees the aggregate of the newest boundary at or before t and never a
later event. Entities that had rows in [B - longest window - schedule, B) are emitted even when
their windows are empty (count 0, the others null), so an online value decays instead of staying
stale. Like SQL aggregates, all functions skip null values: count counts non-null values and last is
the value of the newest row that has one.
"""

from __future__ import annotations

SQL_TYPES = {"int64": "BIGINT", "float64": "DOUBLE", "string": "VARCHAR", "bool": "BOOLEAN"}
_UNITS = {"m": 60, "h": 3600, "d": 86_400}


def duration_seconds(text: str) -> int:
    """`15m`, `1h`, `7d` in seconds."""
    if len(text) < 2 or text[-1] not in _UNITS or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        raise ValueError(f"'{text}' must be a count and m, h or d, like 7d")
    return int(text[:-1]) * _UNITS[text[-1]]


def output_name(aggregation: dict) -> str:
    return aggregation.get("name") or f"{aggregation['column']}_{aggregation['function']}_{aggregation['window']}"


def output_type(aggregation: dict, input_type: str) -> str:
    return {"count": "int64", "mean": "float64"}.get(aggregation["function"], input_type)


def served_features(view: dict) -> list[tuple[str, str]]:
    """(name, type) of the features a batch view serves: its aggregates, or its columns."""
    columns = {f["name"]: f["type"] for f in view["features"]}
    aggregations = view.get("aggregations") or []
    if not aggregations:
        return list(columns.items())
    return [(output_name(a), output_type(a, columns[a["column"]])) for a in aggregations]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_FUNCTIONS = {"count": "COUNT", "sum": "SUM", "mean": "AVG", "min": "MIN", "max": "MAX"}


def aggregation_sql(view: dict, keys: list[str], base: str, start: int, end: int, schedule: int) -> str:
    """The query of a job window's aggregates; `base` is a relation with the key columns, the
    feature columns and `_t` (event time, µs); all times in µs."""
    columns = {f["name"]: f["type"] for f in view["features"]}
    aggregations = view["aggregations"]
    longest = max(duration_seconds(a["window"]) for a in aggregations) * 1_000_000
    selects = []
    for a in aggregations:
        window = duration_seconds(a["window"]) * 1_000_000
        column, function = _quote(a["column"]), a["function"]
        in_window = f"FILTER (WHERE _t >= _b - {window})"
        if function == "last":
            expression = f"arg_max({column}, _t) {in_window}"
        else:
            expression = f"{_FUNCTIONS[function]}({column}) {in_window}"
        kind = SQL_TYPES[output_type(a, columns[a["column"]])]
        if function == "count":
            expression = f"COALESCE({expression}, 0)"
        selects.append(f"CAST({expression} AS {kind}) AS {_quote(output_name(a))}")
    key_list = ", ".join(_quote(k) for k in keys)
    return f"""
        SELECT {key_list}, _b - 1 AS _event_time_micros, {', '.join(selects)}
        FROM (SELECT * FROM {base} WHERE _t >= {start - longest - schedule} AND _t < {end}) rows
        JOIN (SELECT unnest(range({start + schedule}::BIGINT, {end + 1}::BIGINT, {schedule}::BIGINT)) AS _b) bounds
          ON rows._t < bounds._b AND rows._t >= bounds._b - {longest + schedule}
        GROUP BY {key_list}, _b"""

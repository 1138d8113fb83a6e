"""The street office's memory of merger groups against grouping afresh, under every kind of change."""

from types import SimpleNamespace

import numpy as np
import pytest

from sim.policies.merge import GROUP_FIELDS, MergeGroupMemory, merge_groups_by_block

SETTINGS = SimpleNamespace(merge_max_group=4, merge_max_distance_m=250.0, merge_fee_tolerance=0.6,
                           merge_quality_tolerance=0.15)


def district(rng: np.random.Generator, n: int = 80) -> dict:
    block = rng.integers(0, 6, n)
    return {
        "area_id": [f"A{i}" for i in range(n)],
        "households": rng.integers(30, 250, n).astype(np.int64),
        "block": block.astype(np.int64),
        "housing_type": rng.integers(0, 2, n).astype(np.int64),
        "x_m": block * 2000.0 + rng.uniform(0, 600, n),
        "y_m": rng.uniform(0, 600, n),
        "estates": rng.integers(1, 3, n).astype(np.int64),
        "fee_yuan_per_m2": rng.uniform(1.0, 2.5, n),
        "quality": rng.uniform(0.4, 0.9, n),
        "eligible": rng.random(n) < 0.8,
    }


def merged(columns: dict, members: list[int], new_id: str, at_first: bool) -> dict:
    """The members become one area: in the first member's row, or appended at the end."""
    keep = np.ones(len(columns["area_id"]), dtype=bool)
    keep[members] = False
    new = {"households": sum(columns["households"][members]), "estates": sum(columns["estates"][members]),
           "eligible": False}
    out = {}
    for name, values in columns.items():
        values = list(values) if name == "area_id" else values
        one = new_id if name == "area_id" else new.get(name, values[members[0]])
        rest = [v for v, k in zip(values, keep, strict=True) if k] if name == "area_id" else values[keep]
        if at_first:
            position = int(np.count_nonzero(keep[:members[0]]))
            out[name] = (rest[:position] + [one] + rest[position:] if name == "area_id"
                         else np.insert(rest, position, one))
        else:
            out[name] = rest + [one] if name == "area_id" else np.append(rest, one)
    return out


@pytest.mark.parametrize("seed", range(6))
def test_remembered_groups_are_the_groups_found_afresh_after_any_change(seed):
    rng = np.random.default_rng(seed)
    columns = district(rng)
    memory = MergeGroupMemory()
    merges = moves = found = 0
    for step in range(150):
        n = len(columns["area_id"])
        kind = rng.integers(0, 6)
        changing = rng.choice(n, size=int(rng.integers(1, 4)), replace=False)
        if kind == 0:
            columns["eligible"][changing] = ~columns["eligible"][changing]
        elif kind == 1:
            columns["quality"][changing] += rng.normal(0, 0.1, len(changing))
        elif kind == 2:
            columns["fee_yuan_per_m2"][changing] += rng.normal(0, 0.4, len(changing))
        elif kind == 3 and n > 10:  # a merger of up to three areas of a block
            block = columns["block"][changing[0]]
            same = np.flatnonzero(columns["block"] == block)
            members = sorted(rng.choice(same, size=min(len(same), int(rng.integers(2, 4))), replace=False))
            columns = merged(columns, [int(m) for m in members], f"M{step}", bool(rng.integers(2)))
            merges += 1
        elif kind == 4:  # an area (one in a group, if any) moves to another block, or is gone
            groups = merge_groups_by_block(SimpleNamespace(**columns), columns["eligible"], SETTINGS)
            row = groups[0][-1] if groups else int(changing[0])
            if step % 3 == 0:  # two areas swap rows (the engines keep the order; the memory copes)
                order = np.arange(n)
                order[[row, changing[0]]] = order[[changing[0], row]]
                columns = {name: [values[i] for i in order] if name == "area_id" else values[order]
                           for name, values in columns.items()}
            elif step % 3 == 1:
                columns["block"][row] = (columns["block"][row] + 1) % 6
                columns["x_m"][row] += 2000.0
            else:
                keep = np.arange(n) != row
                columns = {name: [x for x, k in zip(values, keep, strict=True) if k] if name == "area_id"
                           else values[keep] for name, values in columns.items()}
            moves += 1
        elif kind == 5:  # a group's areas stop being eligible together (a case opened on them)
            areas = SimpleNamespace(**columns)
            groups = merge_groups_by_block(areas, columns["eligible"], SETTINGS)
            if groups:
                columns["eligible"][groups[int(rng.integers(len(groups)))]] = False
        areas = SimpleNamespace(**{name: values.copy() if name != "area_id" else list(values)
                                   for name, values in columns.items()})
        expected = merge_groups_by_block(areas, areas.eligible, SETTINGS)
        assert memory.groups(areas, areas.eligible, SETTINGS) == expected, step
        found += len(expected)
        if step % 25 == 0:  # new areas become eligible now and then, so that groups keep forming
            columns["eligible"] |= rng.random(len(columns["eligible"])) < 0.2
    assert merges > 10 and moves > 10 and found > 100, (merges, moves, found)
    assert set(GROUP_FIELDS) <= set(columns)

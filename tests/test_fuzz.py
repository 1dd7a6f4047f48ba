"""Byte-level fuzzing with hypothesis: workbook readers and the plan loader never fail unclearly.

(a) A small calculated workbook's bytes, mutated (bytes flipped, truncated, inserted, one
zip member's XML damaged), go through ``FileBook`` + ``calculate(write=False)`` and
``CalamineBook`` + ``calculate(write=False)``: each succeeds or raises
``WorkbookFileError``, nothing else.  (b) Mutations of the embedded plan's YAML, and
arbitrary text and bytes, go through ``parse_plan`` / ``load_plan``: a ``Plan`` or a
``PlanError``, nothing else.

Runs are derandomized and small here (CI); ``tools/fuzz.py --minutes N`` runs the same
targets with fresh seeds for longer.  Exceptions that escape today are reported bugs
(``fuzz_targets.KNOWN_BUGS``): the properties tolerate exactly those signatures, so a
*new* kind of escape still fails, and each known one has a deterministic strict xfail below.
"""

from __future__ import annotations

import pytest
from fuzz_targets import (
    damaged_deflate,
    edit_text,
    known_bug,
    load_bytes_or_plan_error,
    mutate,
    mutations,
    parse_or_plan_error,
    plan_text,
    read_with_calamine,
    read_with_filebook,
    small_workbook,
    text_edits,
    undefined_entity,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbook.formats.files import WorkbookFileError

CI = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def contract(read) -> None:
    """``read()`` returns or raises WorkbookFileError; a known bug's escape is tolerated."""
    try:
        read()
    except WorkbookFileError as exc:
        assert exc.message_zh and exc.message_en
    except Exception as exc:
        if known_bug(exc) is None:
            raise


@pytest.fixture(scope="module")
def seed_bytes() -> bytes:
    return small_workbook()


def test_the_seed_workbook_reads_cleanly(seed_bytes, tmp_path):
    read_with_filebook(seed_bytes, tmp_path)
    read_with_calamine(seed_bytes)


@CI
@given(steps=mutations)
def test_filebook_reads_mutated_bytes_or_says_why(steps, seed_bytes, tmp_path):
    contract(lambda: read_with_filebook(mutate(seed_bytes, steps), tmp_path))


@CI
@given(steps=mutations)
def test_calamine_reads_mutated_bytes_or_says_why(steps, seed_bytes):
    contract(lambda: read_with_calamine(mutate(seed_bytes, steps)))


@settings(CI, max_examples=100)
@given(edits=text_edits)
def test_mutated_plan_is_a_plan_or_a_plan_error(edits):
    try:
        parse_or_plan_error(edit_text(plan_text(), edits))
    except Exception as exc:
        if known_bug(exc) is None:
            raise


@settings(CI, max_examples=100)
@given(text=st.text(max_size=400))
def test_arbitrary_text_is_a_plan_or_a_plan_error(text):
    parse_or_plan_error(text)


@settings(CI, max_examples=60)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_are_a_plan_or_a_plan_error(data, tmp_path):
    load_bytes_or_plan_error(data, tmp_path)


# -- the known escapes, deterministically -------------------------------------------------------


def test_damaged_deflate_stream_is_a_workbook_file_error(seed_bytes, tmp_path):
    data = damaged_deflate(seed_bytes)
    with pytest.raises(WorkbookFileError):
        read_with_filebook(data, tmp_path)


def test_undefined_entity_is_a_workbook_file_error_for_calamine(seed_bytes, tmp_path):
    data = undefined_entity(seed_bytes)
    with pytest.raises(WorkbookFileError):
        read_with_filebook(data, tmp_path)  # openpyxl (defusedxml) refuses it cleanly
    # calamine parses the sheets calculate reads (here the first indicator sheet, sheet3):
    # its error there is the file's; a sheet nothing is read from is not parsed (test_collect_read)
    with pytest.raises(WorkbookFileError):
        read_with_calamine(undefined_entity(seed_bytes, "xl/worksheets/sheet3.xml"))


def test_a_tab_libyaml_accepts_is_a_plan_error():
    from kpi_engine import PlanError, parse_plan

    with pytest.raises(PlanError):
        parse_plan("a: b\nc:\td\n")

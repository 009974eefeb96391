"""Partition input is refused before any request: one line naming the bad value and the format."""

import pytest

from binance_assets.errors import InvalidInputError, NotRetryable
from binance_assets.lib.partitions import hourly_partitions, hours_between, parse_hour, split_range
from binance_assets_tests.harness import failure_message, step_retries


@pytest.mark.parametrize(
    ("check", "message"),
    [
        (lambda: parse_hour("2024-13-01"), "Partition key '2024-13-01' is not an hour: write YYYY-MM-DD-HH:00 (UTC)"),
        (lambda: parse_hour("2024-03-01-00:30"), "Partition key '2024-03-01-00:30' is not an hour"),
        (
            lambda: hours_between("2017-12-31-23:00", "2024-01-01-01:00"),
            f"Partition key '2017-12-31-23:00' is outside the partitions: they run from "
            f"{hourly_partitions.get_first_partition_key()} (PARTITIONS_START) to ",
        ),
        (lambda: hours_between("2024-01-01-00:00", "2999-01-01-00:00"), "Partition key '2999-01-01-00:00' is outside"),
        (
            lambda: hours_between("2024-03-02-00:00", "2024-03-01-00:00"),
            "Partition range 2024-03-02-00:00...2024-03-01-00:00 is reversed: write the earlier hour first, "
            "2024-03-01-00:00...2024-03-02-00:00",
        ),
        (
            lambda: split_range("2024-03-01-00:00..2024-03-02-00:00"),
            "Partition range '2024-03-01-00:00..2024-03-02-00:00' is not START...END",
        ),
    ],
    ids=["malformed", "minute-30", "before-start", "in-the-future", "reversed", "no-separator"],
)
def test_bad_partition_input_is_one_line_naming_the_value_and_the_format(check, message):
    with pytest.raises(InvalidInputError) as refused:
        check()
    assert isinstance(refused.value, NotRetryable)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_a_range_is_every_hour_from_start_to_end():
    hours = hours_between("2024-02-29-22:00", "2024-03-01-01:00")
    assert [f"{h:%d %H}" for h in hours] == ["29 22", "29 23", "01 00", "01 01"]


def test_a_reversed_range_fails_the_first_step_at_once_before_any_request(pipeline, stand_in):
    # Dagster creates a run for a reversed range (it checks each end, not their order).
    result = pipeline.materialize("2024-02-29-23:00", last="2024-02-29-20:00", raise_on_error=False)

    assert not result.success and step_retries(result) == 0
    assert failure_message(result).splitlines()[0] == (
        "binance_assets.errors.InvalidInputError: Partition range 2024-02-29-23:00...2024-02-29-20:00 is reversed: "
        "write the earlier hour first, 2024-02-29-20:00...2024-02-29-23:00 (START...END, each YYYY-MM-DD-HH:00 UTC)."
    )
    assert stand_in.count() == 0  # not even exchangeInfo

import pytest


@pytest.fixture(autouse=True)
def klines_from_rest(request):
    """The faults here are injected into the exchange's REST API, so klines come from REST, not the
    bulk archive the default ``auto`` source takes ended days from."""
    if "pipeline" in request.fixturenames:
        request.getfixturevalue("pipeline").klines_source = "rest"
    if "s3_flow" in request.fixturenames:
        request.getfixturevalue("s3_flow").pipeline.klines_source = "rest"

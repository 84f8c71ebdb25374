"""Both OpenAPI documents are valid OpenAPI 3.0."""

import pathlib

import pytest
import yaml
from openapi_spec_validator import validate

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["control-plane.yaml", "data-plane.yaml"])
def test_document_is_valid(name):
    validate(yaml.safe_load((ROOT / "docs/openapi" / name).read_text()))

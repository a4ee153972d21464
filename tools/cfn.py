"""Reading template.yaml as CloudFormation means it: short-form tags (``!Ref``, ``!Sub``,
``!If``...) become their long forms (``{"Ref": ...}``, ``{"Fn::Sub": ...}``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[1] / "template.yaml"


class CfnLoader(yaml.SafeLoader):
    """A SafeLoader that reads CloudFormation's short-form tags as their long forms."""


def _construct_short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> Any:
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node!r}")
    return {name: value}


CfnLoader.add_multi_constructor("!", _construct_short_form)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    loaded = yaml.load(path.read_text(encoding="utf-8"), Loader=CfnLoader)  # noqa: S506
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: not a template (no top-level mapping)")
    return loaded

"""Each stage takes the options it needs, built from Settings in one place, never Settings itself.

The records (records.PlanOptions, LoadOptions, PublishOptions, DryRunOptions) are copies of the
settings a stage reads; these tests check that every field carries the value of the setting it is
named after, and that no module below run.py imports processor.settings (lazy imports too).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from test_layers import _graph_module

from processor.env_file import EnvFile, read_env_file
from processor.records import DryRunOptions, IfExists, LoadOptions, PlanOptions, PublishOptions
from processor.settings import Settings

#: Packages and modules above the stages: only they may read Settings.
ABOVE_THE_STAGES = {"processor", "processor.run", "processor.api", "processor.cli", "processor.settings"}


def _unusual_settings(tmp_path: Path) -> Settings:
    """Settings whose values differ from every default, so that a field copied from the wrong
    setting (or left at its default) shows."""
    env = tmp_path / "run.env"
    env.write_text("CHUNK_SIZE=77\n")
    return Settings(
        dest_sql="postgresql://user:pw-secret@db.example/base",
        dest_table="t",
        if_exists=IfExists.MERGE,
        primary_key=("id",),
        indexes=(("a", "b"), ("c",)),
        sample_rows=123,
        split_bytes=4567,
        chunk_size=77,
        max_errors=9,
        max_shrink=0.25,
        transform="m:f",
        write_schema=tmp_path / "plan.json",
        src_columns=("id", "a"),
        src_path_column="path",
        on_new_columns="add",
        on_missing_columns="null",
        reload_changed=True,
        dry_run=True,
        quiet=True,
        log_format="json",
        progress_bar=False,
        progress_seconds=3.5,
        report_path=tmp_path / "report.json",
        notify_url="https://hooks.example/path-secret",
        env_file=EnvFile(env, read_env_file(env), frozenset({"CHUNK_SIZE"})),
    )


def test_every_option_is_the_setting_of_its_name(tmp_path):
    settings = _unusual_settings(tmp_path)
    built: list[PlanOptions | LoadOptions | PublishOptions | DryRunOptions] = [
        settings.plan_options(),
        settings.load_options("t"),
        settings.publish_options(),
        settings.dry_run_options(),
    ]
    assert [type(b) for b in built] == [PlanOptions, LoadOptions, PublishOptions, DryRunOptions]
    for options in built:
        for field in dataclasses.fields(options):
            value = getattr(options, field.name)
            if field.name == "rejects_path":  # resolved for the table: beside the report
                assert value == tmp_path / "report.rejects.csv"
            else:
                assert value == getattr(settings, field.name), (type(options).__name__, field.name)
    # The secrets of DEST_SQL and NOTIFY_URL reach the stages that write outputs.
    load, dry_run = settings.load_options("t"), settings.dry_run_options()
    assert "pw-secret" in load.secrets
    assert any("path-secret" in s for s in dry_run.secrets)
    assert "pw-secret" not in dry_run.masked_url


def test_the_key_from_a_schema_file_reaches_every_stage(tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text('{"columns": {"id": "integer"}, "primary_key": ["id"]}')
    from processor.plan.schema_file import read_schema_file

    settings = Settings(schema_file=read_schema_file(schema), if_exists=IfExists.MERGE)
    assert settings.plan_options().key == ("id",)
    assert settings.load_options("t").key == ("id",)
    assert settings.publish_options().key == ("id",)
    assert settings.dry_run_options().key == ("id",)


def test_options_are_frozen(tmp_path):
    options = _unusual_settings(tmp_path).publish_options()
    try:
        options.max_shrink = 1.0  # type: ignore[misc]
    except dataclasses.FrozenInstanceError:
        pass
    else:
        raise AssertionError("PublishOptions can be changed")


def test_no_stage_imports_settings():
    edges = _graph_module().graph()
    readers = sorted(name for name, targets in edges.items() if "processor.settings" in targets)
    assert readers  # the graph sees the imports of Settings that are there
    assert set(readers) <= ABOVE_THE_STAGES, readers

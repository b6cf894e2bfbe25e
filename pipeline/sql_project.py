"""The dbt project under ``sql/``: its models, rendered and ordered as dbt parses and runs them.

``sql/dbt_project.yml`` names the folders of ``sql/models/`` and each folder's schema (``+schema``, used as it
stands: ``sql/macros/generate_schema_name.sql``), the hooks run before and after the models and the project's
vars (:mod:`pipeline.project`). A model is a Jinja template rendered with dbt's context: ``{{ ref('name') }}``
is the relation another model builds (``schema.alias``, the alias from the model's ``config(alias=...)``, else
its name), ``{{ source('lake', 'dataset') }}`` a lake dataset (the ``meta: external_location`` of
``models/*/sources.yml``, dbt-duckdb's idiom for external Parquet), ``{{ this }}`` the model's own relation,
``is_incremental()`` whether an incremental model updates its table in a copy of the published warehouse
(dbt: the table exists), and the Jinja macros of ``sql/macros/`` are callable.

Each model is one ``SELECT``, materialized as dbt does (:meth:`Model.statements`): a view, a table, an
``incremental`` model's rows appended in an incremental build after its ``pre_hook`` deleted what it redoes,
or (``ddl``, the project's materialization for the tables the build's Python fills) its DDL as written.

A model's dependencies are the ``ref()`` calls its rendering records with ``is_incremental()`` false, as dbt's
parse records them: a model whose incremental branch reads a model its full branch does not names it in a
``-- depends_on: {{ ref('name') }}`` comment (dbt's idiom). Rendering a model for a build that refers to a
model its parse did not record is an error, as in dbt. ``tests/test_dbt_project.py`` checks that dbt's own
parse of the project finds the same models with the same dependencies.
"""

from __future__ import annotations

import graphlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import yaml

from pipeline import project

PROJECT_FILE = "dbt_project.yml"
PROJECT_NAME = "socialrank"
INCREMENTAL_BUILD_VAR = "incremental_build"
"""The run var the hooks read (``dbt build --vars '{incremental_build: true}'``): an incremental build."""
MATERIALIZATIONS = frozenset({"view", "table", "incremental", "ddl"})
"""dbt's view, table and incremental, and the project's ``ddl`` (``sql/macros/materializations/``): a table
the build's Python fills, created by the model's own DDL."""
_NO_DEFAULT = object()


class ProjectError(ValueError):
    """A model, ``ref()`` or ``source()`` the project does not define, or a dependency dbt could not see."""


@dataclass(frozen=True)
class Relation:
    """What ``ref()``, ``source()`` and ``this`` render as."""

    text: str

    def __str__(self) -> str:
        return self.text


@dataclass
class Recorder:
    """What one rendering of a model called: its ``ref()``s, ``source()``s and ``config()``."""

    refs: set[str] = field(default_factory=set)
    sources: set[tuple[str, str]] = field(default_factory=set)
    config: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Model:
    name: str
    """dbt's name of the model: its file's stem, unique in the project."""
    path: Path
    sql: str
    schema: str
    alias: str
    depends_on: frozenset[str]
    """The models it ``ref()``s (as dbt's parse records them)."""
    sources: frozenset[tuple[str, str]]
    folder_materialized: str
    """Its folder's ``+materialized``, which a ``config(materialized=...)`` overrides."""
    project: Project = field(repr=False, compare=False)

    @property
    def relation(self) -> str:
        """What it builds: ``schema.alias``."""
        return f"{self.schema}.{self.alias}"

    def statements(self, incremental: bool) -> list[str]:
        """The SQL a build runs for the model, as dbt's materializations run it: its ``pre_hook``s, then its
        ``SELECT`` as a view, a table or, in an incremental build of an ``incremental`` model, rows appended
        to the table the build started with (the ``append`` strategy: what a model redoes, its pre-hook
        deletes first), then its ``post_hook``s. An error if it ``ref()``s a model its parse did not
        record."""
        recorder = Recorder(config={"materialized": self.folder_materialized})
        body = self.project.render(self.sql, recorder, self.schema, self.name, incremental=incremental)
        # config() may choose by a var: a scratch model is a view in full builds, a table in incremental ones.
        materialized = recorder.config["materialized"]
        if materialized not in MATERIALIZATIONS:
            raise ProjectError(
                f"{self.path}: materialized={materialized!r}; one of {', '.join(sorted(MATERIALIZATIONS))}"
            )
        appending = incremental and materialized == "incremental"
        if materialized == "ddl":
            main = body
        elif materialized == "view":
            main = f"CREATE OR REPLACE VIEW {self.relation} AS (\n{body}\n)"
        elif appending:
            main = f"INSERT INTO {self.relation} BY NAME SELECT * FROM (\n{body}\n)"
        else:
            main = f"CREATE OR REPLACE TABLE {self.relation} AS (\n{body}\n)"
        hooks = {
            kind: [
                self.project.render(hook, recorder, self.schema, self.name, incremental=incremental)
                for hook in _listed(recorder.config.get(kind))
            ]
            for kind in ("pre_hook", "post_hook")
        }
        unseen = recorder.refs - self.depends_on
        if unseen:
            raise ProjectError(
                f"{self.path}: its incremental branch refers to {', '.join(sorted(unseen))}, which dbt's "
                "parse does not see; name each in a '-- depends_on: {{ ref(...) }}' comment"
            )
        # A hook that only acts in incremental builds renders empty in a full one.
        return [sql for sql in (*hooks["pre_hook"], main, *hooks["post_hook"]) if sql.strip()]

    def run(self, con: duckdb.DuckDBPyConnection, incremental: bool) -> None:
        """Build the model on ``con``."""
        for statement in self.statements(incremental):
            con.execute(statement)


def _listed(hooks: str | list[str] | None) -> list[str]:
    """A ``pre_hook`` or ``post_hook`` config: one SQL string or a list of them (dbt takes both)."""
    if hooks is None:
        return []
    return [hooks] if isinstance(hooks, str) else list(hooks)


@dataclass
class Project:
    root: Path
    settings: Mapping[str, Any]
    sources: dict[tuple[str, str], str]
    """``(source, table)``: the SQL a ``source()`` of it renders as."""
    models: list[Model] = field(default_factory=list)
    """Dependencies first."""
    run_vars: dict[str, Any] = field(default_factory=dict)
    """The run's vars (``dbt run --vars``): ``as_of``, ``site_timezone``, ... (the build sets them)."""
    _templates: jinja2.Environment = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._templates = jinja2.Environment(
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
        )
        self._templates.globals["var"] = project.var
        for path in sorted((self.root / self._setting("macro-paths")[0]).glob("*.sql")):
            module = self._templates.from_string(path.read_text(encoding="utf-8")).module
            macros = {
                name: value for name, value in vars(module).items() if isinstance(value, jinja2.runtime.Macro)
            }
            self._templates.globals.update(macros)

    def _setting(self, key: str) -> Any:
        if key not in self.settings:
            raise ProjectError(f"{self.root / PROJECT_FILE}: no {key!r}")
        return self.settings[key]

    def model(self, name: str) -> Model:
        for model in self.models:
            if model.name == name:
                return model
        raise ProjectError(f"no model {name!r} in {self.root}")

    def files(self) -> list[Path]:
        """What a build reads of the project: ``dbt_project.yml`` and the ``.sql`` and ``.yml`` files under
        its model and macro paths; not what running dbt here writes (``target/``, ``logs/``)."""
        folders = [self.root / path for key in ("model-paths", "macro-paths") for path in self._setting(key)]
        found = (path for folder in folders for path in folder.rglob("*") if path.suffix in {".sql", ".yml"})
        return sorted([self.root / PROJECT_FILE, *found])

    def macro_sql(self, name: str, **arguments: Any) -> str:
        """What one of the project's Jinja macros renders."""
        macro = self._templates.globals[name]
        if not isinstance(macro, jinja2.runtime.Macro):
            raise ProjectError(f"no macro {name!r} in {self.root / self._setting('macro-paths')[0]}")
        return str(macro(**arguments))

    def hooks(self, kind: str, incremental: bool) -> list[str]:
        """The SQL of ``on-run-start`` or ``on-run-end``, each hook rendered (empty ones left out)."""
        rendered = (
            self.render(hook, Recorder(), "main", None, incremental=incremental)
            for hook in self.settings.get(kind, [])
        )
        return [sql for sql in rendered if sql.strip()]

    def render(self, text: str, recorder: Recorder, schema: str, model: str | None, incremental: bool) -> str:
        relations = {model.name: model.relation for model in self.models}

        def ref(name: str) -> Relation:
            recorder.refs.add(name)
            if name not in relations:
                raise ProjectError(f"ref({name!r}): no such model")
            return Relation(relations[name])

        def source(source_name: str, table: str) -> Relation:
            recorder.sources.add((source_name, table))
            if (source_name, table) not in self.sources:
                raise ProjectError(f"source({source_name!r}, {table!r}): not declared")
            return Relation(self.sources[source_name, table])

        def config(**settings: Any) -> str:
            recorder.config.update(settings)
            return ""

        def var(name: str, default: Any = _NO_DEFAULT) -> Any:
            if name == INCREMENTAL_BUILD_VAR:
                return incremental
            if name in self.run_vars:
                return self.run_vars[name]
            return project.var(name) if default is _NO_DEFAULT else project.var(name, default)

        def is_incremental() -> bool:
            # dbt's rule: an incremental model whose table the build already has (it started from a copy).
            return incremental and recorder.config.get("materialized") == "incremental"

        this = _This(schema, model, recorder) if model else None
        return self._templates.from_string(text).render(
            ref=ref,
            source=source,
            config=config,
            var=var,
            this=this,
            is_incremental=is_incremental,
        )


@dataclass(frozen=True)
class _This:
    """``{{ this }}``: the model's own relation, its alias from a ``config()`` called before."""

    schema: str
    name: str
    recorder: Recorder

    def __str__(self) -> str:
        return f"{self.schema}.{self.recorder.config.get('alias', self.name)}"


def load(sql_dir: Path) -> Project:
    """The project, its models parsed and ordered (dependencies first)."""
    settings = yaml.safe_load((sql_dir / PROJECT_FILE).read_text(encoding="utf-8"))
    if not isinstance(settings, dict) or settings.get("name") != PROJECT_NAME:
        raise ProjectError(f"{sql_dir / PROJECT_FILE}: not the {PROJECT_NAME} dbt project")
    model_dir = sql_dir / settings["model-paths"][0]
    result = Project(sql_dir, settings, _sources(model_dir))
    folders: dict[str, dict[str, Any]] = settings.get("models", {}).get(PROJECT_NAME, {})
    parsed: dict[str, _Parsed] = {}
    for folder, folder_config in folders.items():
        for path in sorted((model_dir / folder).glob("*.sql")):
            if path.stem in parsed:
                raise ProjectError(f"{path}: another model is named {path.stem!r} ({parsed[path.stem].path})")
            sql = path.read_text(encoding="utf-8")
            materialized = folder_config.get("+materialized", "view")  # dbt's default
            parsed[path.stem] = _Parsed(path, sql, folder_config["+schema"], materialized, Recorder())
    # Parse as dbt does: every model rendered once with is_incremental() false, recording what it calls.
    # Relations are known only after every config(alias=...) is: a parse's ref() renders a placeholder.
    placeholder = Project(sql_dir, settings, result.sources)
    placeholder.models = [entry.model(name, placeholder, frozenset()) for name, entry in parsed.items()]
    for name, entry in parsed.items():
        entry.recorder.config["materialized"] = entry.folder_materialized
        placeholder.render(entry.sql, entry.recorder, entry.schema, name, incremental=False)
    models = {
        name: entry.model(name, result, frozenset(entry.recorder.refs)) for name, entry in parsed.items()
    }
    graph = {name: set(model.depends_on) for name, model in models.items()}
    result.models = [models[name] for name in graphlib.TopologicalSorter(graph).static_order()]
    return result


@dataclass(frozen=True)
class _Parsed:
    """A model file, and what its parse recorded."""

    path: Path
    sql: str
    schema: str
    folder_materialized: str
    recorder: Recorder

    def model(self, name: str, owner: Project, depends_on: frozenset[str]) -> Model:
        alias = str(self.recorder.config.get("alias", name))
        sources = frozenset(self.recorder.sources)
        return Model(
            name,
            self.path,
            self.sql,
            self.schema,
            alias,
            depends_on,
            sources,
            self.folder_materialized,
            owner,
        )


def _sources(model_dir: Path) -> dict[tuple[str, str], str]:
    """Every declared source table and the SQL it renders as: its ``external_location`` (``{name}`` filled),
    else ``schema.identifier``."""
    sources: dict[tuple[str, str], str] = {}
    for path in sorted(model_dir.glob("*/*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for source in document.get("sources", []):
            for table in source["tables"]:
                location = {**source.get("meta", {}), **table.get("meta", {})}.get("external_location")
                if location is None:  # a table in the warehouse: schema.identifier, as dbt renders it
                    location = f"{source.get('schema', source['name'])}.{table.get('identifier', '{name}')}"
                sources[source["name"], table["name"]] = str(location).format_map({"name": table["name"]})
    return sources

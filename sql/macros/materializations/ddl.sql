{#- The `ddl` materialization: a table the build's Python steps fill (the impact estimates, the correlations,
    the build's own row), created by the model's DDL as written; its CREATE says whether a base build's
    rows are kept (IF NOT EXISTS) or replaced. Apart from the Jinja macros of sql/macros/ (dbt's syntax for a
    materialization is not plain Jinja): pipeline/sql_project.py runs such a model's SQL as it stands. -#}
{% materialization ddl, adapter='duckdb' %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {{ run_hooks(pre_hooks) }}
  {% call statement('main') -%}
    {{ sql }}
  {%- endcall %}
  {{ run_hooks(post_hooks) }}
  {{ adapter.commit() }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

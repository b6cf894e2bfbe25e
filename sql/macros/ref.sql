{#- ref() without the database: a view keeps working when its file is renamed or copied. dbt-duckdb names the
    database after the file, and a view stores the names its query uses: a build file's views would otherwise
    read "warehouse-<version>".core.x, and break once the file is published as warehouse.duckdb. dbt's
    documented override of a builtin; pipeline/sql_project.py renders ref() so already. -#}
{% macro ref() %}
  {%- set relation = builtins.ref(*varargs, **kwargs) -%}
  {{- return(relation.include(database=false)) -}}
{% endmacro %}

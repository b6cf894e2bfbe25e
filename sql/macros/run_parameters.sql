{#- The run's parameters, from its vars, as the one row of meta.run_parameters. Models read them as DuckDB
    variables (getvariable('as_of')): a variable belongs to one connection, and dbt-duckdb gives every model a
    cursor of its own, so each connection sets them from this row when it opens (pipeline/run_variables.py;
    under dbt, the dbt-duckdb plugin pipeline/dbt_plugin.py in profiles.yml). A model that sets a parameter for
    later ones updates the row (meta.build_deliveries: new_deliveries). The row stays in the warehouse: what the
    build ran with.
    The values are the run's settings (a date, a time zone, the owned-site pattern computed from the configured
    sites, a number of weeks), rendered as SQL literals with quotes doubled. -#}
{% macro run_parameters(as_of, base_as_of, site_timezone, owned_url_pattern, impact_window_weeks) %}
CREATE SCHEMA IF NOT EXISTS meta;
CREATE OR REPLACE TABLE meta.run_parameters AS
SELECT {{ sql_date_literal(as_of) }} AS as_of,
       {{ sql_date_literal(base_as_of) }} AS base_as_of,
       {{ sql_text_literal(site_timezone) }} AS site_timezone,
       {{ sql_text_literal(owned_url_pattern) }} AS owned_url_pattern,
       {{ impact_window_weeks | int }}::INTEGER AS impact_window_weeks,
       NULL::VARCHAR[] AS new_deliveries;
{% endmacro %}

{% macro sql_text_literal(value) %}'{{ value | string | replace("'", "''") }}'{% endmacro %}

{% macro sql_date_literal(value) -%}
{% if value is none %}NULL::DATE{% else %}DATE {{ sql_text_literal(value) }}{% endif %}
{%- endmacro %}

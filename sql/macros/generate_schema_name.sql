{#- A model's schema is its folder's +schema in dbt_project.yml (staging, core, mart, meta) as it stands, not
    prefixed with the target's schema: the relations analysts query keep their names (dbt's documented pattern,
    "Use custom schema names as is"). pipeline/sql_project.py follows the same rule. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}

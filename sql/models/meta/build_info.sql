-- What this warehouse file is: one row written by the build, read by the gate, the report and analysts.
{{ config(materialized='ddl') }}
CREATE OR REPLACE TABLE {{ this }} (
    version VARCHAR NOT NULL,
    run_date DATE NOT NULL,
    as_of DATE NOT NULL,
    built_at TIMESTAMPTZ NOT NULL,
    site_timezone VARCHAR NOT NULL,
    owned_sites VARCHAR[] NOT NULL,
    lake_rows STRUCT(dataset VARCHAR, row_count BIGINT)[] NOT NULL,
    mode VARCHAR NOT NULL,  -- full or incremental
    base_version VARCHAR,  -- the published build an incremental build started from
    fingerprint VARCHAR NOT NULL,  -- of the SQL and settings: an incremental build needs the same
    started_from VARCHAR  -- the version published when the build began (NULL: none); publish compares it
);

-- The checksum of the estimator's inputs behind mart.impact_estimates (pipeline.impact.mart): an
-- incremental build whose inputs match keeps the estimates instead of computing them again.
{{ config(materialized='ddl') }}
CREATE TABLE IF NOT EXISTS {{ this }} (
    checksum VARCHAR NOT NULL
);

-- Which lake table version each staging table was last loaded from, written in the load's own
-- transaction. A later run of the same date whose lake table is still at that version (same table
-- id: a table re-created at the same path has a new one) would stage the same rows again and change
-- nothing: it stages none instead (e.g. a complaints run after that date's dimension run).
CREATE TABLE loaded_lake_versions (
    staging_table text NOT NULL,
    lake_table_id text NOT NULL,
    lake_version  bigint NOT NULL,
    run_date      date NOT NULL,
    run_id        text NOT NULL,
    CONSTRAINT loaded_lake_versions_pk PRIMARY KEY (staging_table)
);

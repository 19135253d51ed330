-- A run whose inputs were partly refused (a file or table with the wrong structure, a dimension
-- snapshot that shrank too much) loads the rest and ends as 'rejected_input' (exit code 4).

ALTER TABLE pipeline_runs DROP CONSTRAINT pipeline_runs_status_check;
ALTER TABLE pipeline_runs ADD CONSTRAINT pipeline_runs_status_check
    CHECK (status IN ('running', 'succeeded', 'not_ready', 'rejected_input', 'failed'));

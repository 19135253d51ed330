-- JDBC landing tables: Spark truncates and fills them, then one transaction merges them into the
-- model. UNLOGGED (no WAL: fast, and emptied after a crash, which is fine for scratch data) and
-- without constraints, so that a bad row is reported by the merge, which knows the run.
-- Columns are the model's minus what the load derives from the run (updated_run, first/last seen,
-- times_seen, status); orphan records arrive as JSON text and are cast to jsonb by the load.
CREATE SCHEMA staging;

CREATE UNLOGGED TABLE staging.customers (
    customer_id   text,
    name          text,
    gender        text,
    date_of_birth date,
    signup_date   date,
    email         text,
    address       text,
    state_code    text,
    state_name    text,
    zip_code      text,
    row_hash      text,
    valid_from    date
);

CREATE UNLOGGED TABLE staging.customers_history (
    customer_id   text,
    valid_from    date,
    valid_to      date,
    is_current    boolean,
    name          text,
    gender        text,
    date_of_birth date,
    signup_date   date,
    email         text,
    address       text,
    state_code    text,
    state_name    text,
    zip_code      text,
    row_hash      text
);

CREATE UNLOGGED TABLE staging.agents (
    agent_id   integer,
    name       text,
    experience text,
    state      text,
    row_hash   text,
    valid_from date
);

CREATE UNLOGGED TABLE staging.agents_history (
    agent_id   integer,
    valid_from date,
    valid_to   date,
    is_current boolean,
    name       text,
    experience text,
    state      text,
    row_hash   text
);

CREATE UNLOGGED TABLE staging.call_logs (
    call_id                   text,
    customer_id               text,
    agent_id                  integer,
    complaint_category        text,
    resolution_status         text,
    call_start_time           timestamp,
    call_end_time             timestamp,
    call_logs_generation_date date,
    row_hash                  text
);

CREATE UNLOGGED TABLE staging.sm_complaints (
    complaint_id                    text,
    customer_id                     text,
    agent_id                        integer,
    complaint_category              text,
    resolution_status               text,
    request_date                    timestamp,
    resolution_date                 timestamp,
    media_channel                   text,
    media_complaint_generation_date date,
    row_hash                        text
);

CREATE UNLOGGED TABLE staging.web_complaints (
    request_id               text,
    customer_id              text,
    agent_id                 integer,
    complaint_category       text,
    resolution_status        text,
    request_date             timestamp,
    resolution_date          timestamp,
    web_form_generation_date date,
    row_hash                 text
);

CREATE UNLOGGED TABLE staging.complaint_status_history (
    channel                text,
    complaint_id           text,
    observed_run_date      date,
    resolution_status      text,
    agent_id               integer,
    resolution_date        timestamp,
    source_generation_date date,
    customer_id            text
);

CREATE UNLOGGED TABLE staging.orphaned_complaints (
    channel      text,
    complaint_id text,
    customer_id  text,
    agent_id     integer,
    reason       text,
    record       text
);

CREATE UNLOGGED TABLE staging.resolved_orphans (
    channel       text,
    complaint_id  text,
    resolved_run  text,
    resolved_date date
);

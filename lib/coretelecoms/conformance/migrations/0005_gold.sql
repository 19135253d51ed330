-- Gold: the complaint lifecycle (an accumulating snapshot, built in the lake and upserted by each
-- run's load in the same transaction) and the unified complaints view over the three fact tables.
-- Milestone dates and durations are source (file) dates; see gold/lifecycle.py for the definitions.

CREATE TABLE complaint_lifecycle (
    channel                text NOT NULL,
    complaint_id           text NOT NULL,
    customer_id            text NOT NULL,
    agent_id               integer NOT NULL,
    complaint_category     text,
    request_date           timestamp,
    current_status         text NOT NULL,
    current_status_since   date NOT NULL,
    backlog_date           date,
    in_progress_date       date,
    blocked_date           date,
    resolved_date          date,
    backlog_days           integer NOT NULL,
    in_progress_days       integer NOT NULL,
    blocked_days           integer NOT NULL,
    resolved_days          integer NOT NULL,
    resolution_date        timestamp,
    days_to_resolution     double precision,
    met_sla                boolean,
    sla_days               integer NOT NULL,
    first_observed_date    date NOT NULL,
    last_observed_date     date NOT NULL,
    observations           integer NOT NULL,
    status_changes         integer NOT NULL,
    reopened               integer NOT NULL,
    last_observed_run_date date NOT NULL,
    updated_date           date NOT NULL,
    row_hash               text NOT NULL,
    updated_run            text NOT NULL,
    CONSTRAINT complaint_lifecycle_pk PRIMARY KEY (channel, complaint_id),
    CONSTRAINT complaint_lifecycle_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (customer_id),
    CONSTRAINT complaint_lifecycle_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (agent_id),
    CONSTRAINT complaint_lifecycle_channel_check CHECK (channel IN ('call_logs', 'sm_complaints', 'web_complaints')),
    CONSTRAINT complaint_lifecycle_status_check
        CHECK (current_status IN ('Resolved', 'In-Progress', 'Backlog', 'Blocked')),
    CONSTRAINT complaint_lifecycle_days_check
        CHECK (LEAST(backlog_days, in_progress_days, blocked_days, resolved_days) >= 0),
    -- Resolution facts exist exactly while the complaint is Resolved.
    CONSTRAINT complaint_lifecycle_resolution_check
        CHECK ((current_status = 'Resolved') = (resolution_date IS NOT NULL))
);

CREATE INDEX complaint_lifecycle_customer_idx ON complaint_lifecycle (customer_id);
CREATE INDEX complaint_lifecycle_agent_idx ON complaint_lifecycle (agent_id);

-- Staging: the model's columns without constraints (see 0004_staging.sql), filled by Spark.
CREATE UNLOGGED TABLE staging.complaint_lifecycle (
    channel                text,
    complaint_id           text,
    customer_id            text,
    agent_id               integer,
    complaint_category     text,
    request_date           timestamp,
    current_status         text,
    current_status_since   date,
    backlog_date           date,
    in_progress_date       date,
    blocked_date           date,
    resolved_date          date,
    backlog_days           integer,
    in_progress_days       integer,
    blocked_days           integer,
    resolved_days          integer,
    resolution_date        timestamp,
    days_to_resolution     double precision,
    met_sla                boolean,
    sla_days               integer,
    first_observed_date    date,
    last_observed_date     date,
    observations           integer,
    status_changes         integer,
    reopened               integer,
    last_observed_run_date date,
    updated_date           date,
    row_hash               text
);

CREATE VIEW complaints AS
    SELECT 'call_logs'::text AS channel, call_id AS complaint_id, customer_id, agent_id, complaint_category,
           resolution_status, call_start_time AS request_date, NULL::timestamp AS resolution_date,
           NULL::text AS media_channel, call_logs_generation_date AS generation_date, first_seen_date, last_changed_date
      FROM call_logs
    UNION ALL
    SELECT 'sm_complaints', complaint_id, customer_id, agent_id, complaint_category, resolution_status,
           request_date, resolution_date, media_channel, media_complaint_generation_date, first_seen_date,
           last_changed_date
      FROM sm_complaints
    UNION ALL
    SELECT 'web_complaints', request_id, customer_id, agent_id, complaint_category, resolution_status,
           request_date, resolution_date, NULL, web_form_generation_date, first_seen_date, last_changed_date
      FROM web_complaints;

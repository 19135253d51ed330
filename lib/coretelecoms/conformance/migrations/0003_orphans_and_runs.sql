-- Quarantine: complaints whose customer or agent did not exist when they were checked (SPEC §5).
CREATE TABLE orphaned_complaints (
    channel         text NOT NULL,
    complaint_id    text NOT NULL,
    customer_id     text,
    agent_id        integer,
    reason          text NOT NULL,
    record          jsonb NOT NULL,
    first_seen_run  text NOT NULL,
    first_seen_date date NOT NULL,
    last_seen_run   text NOT NULL,
    last_seen_date  date NOT NULL,
    times_seen      integer NOT NULL,
    status          text NOT NULL,
    resolved_run    text,
    resolved_date   date,
    CONSTRAINT orphaned_complaints_pk PRIMARY KEY (channel, complaint_id),
    CONSTRAINT orphaned_complaints_channel_check CHECK (channel IN ('call_logs', 'sm_complaints', 'web_complaints')),
    CONSTRAINT orphaned_complaints_reason_check CHECK (reason IN ('missing_customer', 'missing_agent', 'both')),
    CONSTRAINT orphaned_complaints_status_check CHECK (status IN ('open', 'resolved')),
    CONSTRAINT orphaned_complaints_times_seen_check CHECK (times_seen >= 1),
    -- A resolved orphan always says which run resolved it; an open one never does.
    CONSTRAINT orphaned_complaints_resolution_check
        CHECK ((status = 'resolved') = (resolved_run IS NOT NULL AND resolved_date IS NOT NULL))
);

CREATE INDEX orphaned_complaints_open_idx ON orphaned_complaints (first_seen_date) WHERE status = 'open';

-- Audit: one row per run (SPEC §3, §6).
CREATE TABLE pipeline_runs (
    run_id       text NOT NULL,
    run_date     date NOT NULL,
    status       text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    stage_counts jsonb NOT NULL DEFAULT '{}',
    timings      jsonb NOT NULL DEFAULT '{}',
    error        text,
    CONSTRAINT pipeline_runs_pk PRIMARY KEY (run_id),
    CONSTRAINT pipeline_runs_status_check CHECK (status IN ('running', 'succeeded', 'not_ready', 'failed'))
);

CREATE INDEX pipeline_runs_run_date_idx ON pipeline_runs (run_date);

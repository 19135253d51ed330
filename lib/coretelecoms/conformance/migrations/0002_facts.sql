-- Facts: the current state of every complaint, one table per channel, guarded by foreign keys to
-- both dimensions (the last line of defence: orphans are quarantined before the load).
-- first_seen_date / last_changed_date are run dates; the *_generation_date columns are file dates.

CREATE TABLE call_logs (
    call_id                   text NOT NULL,
    customer_id               text NOT NULL,
    agent_id                  integer NOT NULL,
    complaint_category        text,
    resolution_status         text,
    call_start_time           timestamp,
    call_end_time             timestamp,
    call_logs_generation_date date,
    row_hash                  text NOT NULL,
    first_seen_date           date NOT NULL,
    last_changed_date         date NOT NULL,
    updated_run               text NOT NULL,
    CONSTRAINT call_logs_pk PRIMARY KEY (call_id),
    CONSTRAINT call_logs_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (customer_id),
    CONSTRAINT call_logs_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (agent_id),
    CONSTRAINT call_logs_category_check
        CHECK (complaint_category IN ('Technician Support', 'Payments', 'Router Delivery', 'Network Failure')),
    CONSTRAINT call_logs_status_check CHECK (resolution_status IN ('Resolved', 'In-Progress', 'Backlog', 'Blocked')),
    CONSTRAINT call_logs_end_after_start_check CHECK (call_end_time >= call_start_time)
);

CREATE TABLE sm_complaints (
    complaint_id                    text NOT NULL,
    customer_id                     text NOT NULL,
    agent_id                        integer NOT NULL,
    complaint_category              text,
    resolution_status               text,
    request_date                    timestamp,
    resolution_date                 timestamp,
    media_channel                   text,
    media_complaint_generation_date date,
    row_hash                        text NOT NULL,
    first_seen_date                 date NOT NULL,
    last_changed_date               date NOT NULL,
    updated_run                     text NOT NULL,
    CONSTRAINT sm_complaints_pk PRIMARY KEY (complaint_id),
    CONSTRAINT sm_complaints_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (customer_id),
    CONSTRAINT sm_complaints_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (agent_id),
    CONSTRAINT sm_complaints_category_check
        CHECK (complaint_category IN ('Technician Support', 'Payments', 'Router Delivery', 'Network Failure')),
    CONSTRAINT sm_complaints_status_check
        CHECK (resolution_status IN ('Resolved', 'In-Progress', 'Backlog', 'Blocked')),
    CONSTRAINT sm_complaints_resolution_after_request_check CHECK (resolution_date >= request_date),
    CONSTRAINT sm_complaints_media_channel_check
        CHECK (media_channel IN ('Facebook', 'Twitter', 'Instagram', 'LinkedIn'))
);

CREATE TABLE web_complaints (
    request_id               text NOT NULL,
    customer_id              text NOT NULL,
    agent_id                 integer NOT NULL,
    complaint_category       text,
    resolution_status        text,
    request_date             timestamp,
    resolution_date          timestamp,
    web_form_generation_date date,
    row_hash                 text NOT NULL,
    first_seen_date          date NOT NULL,
    last_changed_date        date NOT NULL,
    updated_run              text NOT NULL,
    CONSTRAINT web_complaints_pk PRIMARY KEY (request_id),
    CONSTRAINT web_complaints_customer_fk FOREIGN KEY (customer_id) REFERENCES customers (customer_id),
    CONSTRAINT web_complaints_agent_fk FOREIGN KEY (agent_id) REFERENCES agents (agent_id),
    CONSTRAINT web_complaints_category_check
        CHECK (complaint_category IN ('Technician Support', 'Payments', 'Router Delivery', 'Network Failure')),
    CONSTRAINT web_complaints_status_check
        CHECK (resolution_status IN ('Resolved', 'In-Progress', 'Backlog', 'Blocked')),
    CONSTRAINT web_complaints_resolution_after_request_check CHECK (resolution_date >= request_date)
);

-- PostgreSQL does not index the referencing side of a foreign key; gold and per-customer queries need it.
CREATE INDEX call_logs_customer_idx ON call_logs (customer_id);
CREATE INDEX call_logs_agent_idx ON call_logs (agent_id);
CREATE INDEX sm_complaints_customer_idx ON sm_complaints (customer_id);
CREATE INDEX sm_complaints_agent_idx ON sm_complaints (agent_id);
CREATE INDEX web_complaints_customer_idx ON web_complaints (customer_id);
CREATE INDEX web_complaints_agent_idx ON web_complaints (agent_id);

-- One row per observed status of each complaint: the input of the lifecycle snapshot.
CREATE TABLE complaint_status_history (
    channel                text NOT NULL,
    complaint_id           text NOT NULL,
    observed_run_date      date NOT NULL,
    resolution_status      text,
    agent_id               integer,
    resolution_date        timestamp,
    source_generation_date date,
    customer_id            text,
    CONSTRAINT complaint_status_history_pk PRIMARY KEY (channel, complaint_id, observed_run_date),
    CONSTRAINT complaint_status_history_channel_check
        CHECK (channel IN ('call_logs', 'sm_complaints', 'web_complaints')),
    CONSTRAINT complaint_status_history_status_check
        CHECK (resolution_status IN ('Resolved', 'In-Progress', 'Backlog', 'Blocked'))
);

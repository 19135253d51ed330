-- Derived tables carry no foreign keys to the dimensions: their rows come from facts that passed theirs.
-- The load checks their staged rows' customers and agents set-wise in the same transaction instead
-- (conformance/load.py), which costs one anti-join per parent rather than a lookup and a lock per row.
ALTER TABLE complaint_lifecycle
    DROP CONSTRAINT complaint_lifecycle_customer_fk,
    DROP CONSTRAINT complaint_lifecycle_agent_fk;

-- The unified `complaints` becomes a table loaded from gold, like complaint_lifecycle, instead of a view
-- that restated gold's union of the channels in SQL: the union is defined once, in gold/complaints.py.
DROP VIEW complaints;

CREATE TABLE complaints (
    channel            text NOT NULL,
    complaint_id       text NOT NULL,
    customer_id        text NOT NULL,
    agent_id           integer NOT NULL,
    complaint_category text,
    resolution_status  text,
    request_date       timestamp,
    resolution_date    timestamp,
    media_channel      text,
    generation_date    date,
    first_seen_date    date,
    last_changed_date  date,
    updated_date       date NOT NULL,
    row_hash           text NOT NULL,
    updated_run        text NOT NULL,
    CONSTRAINT complaints_pk PRIMARY KEY (channel, complaint_id),
    CONSTRAINT complaints_channel_check CHECK (channel IN ('call_logs', 'sm_complaints', 'web_complaints'))
);

CREATE INDEX complaints_customer_idx ON complaints (customer_id);
CREATE INDEX complaints_agent_idx ON complaints (agent_id);

CREATE UNLOGGED TABLE staging.complaints (
    channel            text,
    complaint_id       text,
    customer_id        text,
    agent_id           integer,
    complaint_category text,
    resolution_status  text,
    request_date       timestamp,
    resolution_date    timestamp,
    media_channel      text,
    generation_date    date,
    first_seen_date    date,
    last_changed_date  date,
    updated_date       date,
    row_hash           text
);

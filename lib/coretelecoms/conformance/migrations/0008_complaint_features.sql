-- Gold: complaint_features, one row per customer and calendar month (gold/features.py defines each
-- column). A derived table: no foreign keys, its customers are checked set-wise by the load. Model
-- serving reads a customer's months (the primary key's prefix) or one month across customers.

CREATE TABLE complaint_features (
    customer_id                   text NOT NULL,
    month                         date NOT NULL,
    complaints                    integer NOT NULL,
    call_complaints               integer NOT NULL,
    social_media_complaints       integer NOT NULL,
    web_form_complaints           integer NOT NULL,
    technician_support_complaints integer NOT NULL,
    payments_complaints           integer NOT NULL,
    router_delivery_complaints    integer NOT NULL,
    network_failure_complaints    integer NOT NULL,
    distinct_agents               integer NOT NULL,
    resolved                      integer NOT NULL,
    open_at_month_end             integer NOT NULL,
    blocked_at_month_end          integer NOT NULL,
    resolution_rate               double precision,
    mean_days_to_resolution       double precision,
    p90_days_to_resolution        double precision,
    sla_met_share                 double precision,
    mean_call_minutes             double precision,
    max_call_minutes              double precision,
    weekday_complaints            integer NOT NULL,
    weekend_complaints            integer NOT NULL,
    most_frequent_complaint_day   text,
    preferred_channel             text,
    preferred_platform            text,
    complaints_3m                 integer NOT NULL,
    complaints_6m                 integer NOT NULL,
    complaints_12m                integer NOT NULL,
    complaints_change             integer NOT NULL,
    months_since_first_complaint  integer NOT NULL,
    rising_trend                  boolean NOT NULL,
    updated_date                  date NOT NULL,
    row_hash                      text NOT NULL,
    updated_run                   text NOT NULL,
    CONSTRAINT complaint_features_pk PRIMARY KEY (customer_id, month),
    CONSTRAINT complaint_features_month_check CHECK (EXTRACT(DAY FROM month) = 1),  -- a month is its first day
    CONSTRAINT complaint_features_counts_check CHECK (
        LEAST(complaints, distinct_agents, resolved, open_at_month_end, blocked_at_month_end,
              weekday_complaints, weekend_complaints, complaints_3m, months_since_first_complaint) >= 0
        AND complaints_3m <= complaints_6m AND complaints_6m <= complaints_12m
        AND blocked_at_month_end <= open_at_month_end
        AND weekday_complaints + weekend_complaints <= complaints)
);

CREATE INDEX complaint_features_month_idx ON complaint_features (month);

CREATE UNLOGGED TABLE staging.complaint_features (
    customer_id                   text,
    month                         date,
    complaints                    integer,
    call_complaints               integer,
    social_media_complaints       integer,
    web_form_complaints           integer,
    technician_support_complaints integer,
    payments_complaints           integer,
    router_delivery_complaints    integer,
    network_failure_complaints    integer,
    distinct_agents               integer,
    resolved                      integer,
    open_at_month_end             integer,
    blocked_at_month_end          integer,
    resolution_rate               double precision,
    mean_days_to_resolution       double precision,
    p90_days_to_resolution        double precision,
    sla_met_share                 double precision,
    mean_call_minutes             double precision,
    max_call_minutes              double precision,
    weekday_complaints            integer,
    weekend_complaints            integer,
    most_frequent_complaint_day   text,
    preferred_channel             text,
    preferred_platform            text,
    complaints_3m                 integer,
    complaints_6m                 integer,
    complaints_12m                integer,
    complaints_change             integer,
    months_since_first_complaint  integer,
    rising_trend                  boolean,
    updated_date                  date,
    row_hash                      text
);

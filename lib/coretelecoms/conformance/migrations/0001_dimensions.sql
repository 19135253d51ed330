-- Dimensions: the current version of each customer and agent, plus every SCD2 version.
-- row_hash (computed in Spark over the attributes) is how the load tells a change from a re-delivery.

CREATE TABLE customers (
    customer_id   text NOT NULL,
    name          text,
    gender        text,
    date_of_birth date,
    signup_date   date,
    email         text,
    address       text,
    state_code    text,
    state_name    text,
    zip_code      text,
    row_hash      text NOT NULL,
    valid_from    date NOT NULL,
    updated_run   text NOT NULL,
    CONSTRAINT customers_pk PRIMARY KEY (customer_id),
    CONSTRAINT customers_gender_check CHECK (gender IN ('F', 'M'))
);

CREATE TABLE customers_history (
    customer_id   text NOT NULL,
    valid_from    date NOT NULL,
    valid_to      date,
    is_current    boolean NOT NULL,
    name          text,
    gender        text,
    date_of_birth date,
    signup_date   date,
    email         text,
    address       text,
    state_code    text,
    state_name    text,
    zip_code      text,
    row_hash      text NOT NULL,
    updated_run   text NOT NULL,
    CONSTRAINT customers_history_pk PRIMARY KEY (customer_id, valid_from),
    CONSTRAINT customers_history_gender_check CHECK (gender IN ('F', 'M')),
    CONSTRAINT customers_history_validity_check CHECK (valid_to >= valid_from)
);

CREATE TABLE agents (
    agent_id    integer NOT NULL,
    name        text,
    experience  text,
    state       text,
    row_hash    text NOT NULL,
    valid_from  date NOT NULL,
    updated_run text NOT NULL,
    CONSTRAINT agents_pk PRIMARY KEY (agent_id),
    CONSTRAINT agents_experience_check CHECK (experience IN ('intern', 'Junior', 'Mid-level', 'Senior'))
);

CREATE TABLE agents_history (
    agent_id    integer NOT NULL,
    valid_from  date NOT NULL,
    valid_to    date,
    is_current  boolean NOT NULL,
    name        text,
    experience  text,
    state       text,
    row_hash    text NOT NULL,
    updated_run text NOT NULL,
    CONSTRAINT agents_history_pk PRIMARY KEY (agent_id, valid_from),
    CONSTRAINT agents_history_experience_check CHECK (experience IN ('intern', 'Junior', 'Mid-level', 'Senior')),
    CONSTRAINT agents_history_validity_check CHECK (valid_to >= valid_from)
);

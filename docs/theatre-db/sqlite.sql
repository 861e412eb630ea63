-- Theatre DB v1 (docs/theatre-db.md) for SQLite (the demo's embedded theatre database).
-- Rendered from adapters/theatre/db_tables.py by `python -m adapters.theatre.db_scripts`:
-- change the tables there, not this file. All times are UTC, stored without a zone.

-- cinemas: The chain's cinemas; timezone is an IANA name.
CREATE TABLE cinemas (
    id VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    city VARCHAR(100) NOT NULL,
    latitude DOUBLE NOT NULL,
    longitude DOUBLE NOT NULL,
    timezone VARCHAR(64) NOT NULL,
    address VARCHAR(300) NOT NULL,
    PRIMARY KEY (id)
);

-- movies: Films.
CREATE TABLE movies (
    id VARCHAR(64) NOT NULL,
    title VARCHAR(200) NOT NULL,
    runtime_minutes INTEGER NOT NULL,
    age_rating VARCHAR(8) NOT NULL,
    language VARCHAR(16) NOT NULL,
    synopsis TEXT NOT NULL,
    PRIMARY KEY (id)
);

-- halls: Halls, by stable id.
CREATE TABLE halls (
    id VARCHAR(64) NOT NULL,
    cinema_id VARCHAR(64) NOT NULL,
    name VARCHAR(100) NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(cinema_id) REFERENCES cinemas (id)
);

-- seats: Each hall's layout: row_index 0 is the front row, col counts aisles too.
CREATE TABLE seats (
    hall_id VARCHAR(64) NOT NULL,
    row_label VARCHAR(8) NOT NULL,
    number INTEGER NOT NULL,
    row_index INTEGER NOT NULL,
    col INTEGER NOT NULL,
    category VARCHAR(32) NOT NULL,
    PRIMARY KEY (hall_id, row_label, number),
    FOREIGN KEY(hall_id) REFERENCES halls (id)
);

-- shows: Screenings; every write of a show's seats bumps its version (docs/theatre-db.md).
CREATE TABLE shows (
    id VARCHAR(64) NOT NULL,
    cinema_id VARCHAR(64) NOT NULL,
    hall_id VARCHAR(64) NOT NULL,
    movie_id VARCHAR(64) NOT NULL,
    starts_at DATETIME NOT NULL,
    currency CHAR(3) NOT NULL,
    version BIGINT DEFAULT 1 NOT NULL,
    PRIMARY KEY (id),
    FOREIGN KEY(cinema_id) REFERENCES cinemas (id),
    FOREIGN KEY(hall_id) REFERENCES halls (id),
    FOREIGN KEY(movie_id) REFERENCES movies (id)
);
CREATE INDEX ix_shows_starts_at ON shows (starts_at);

-- seat_locks: Locks; state is live, released or committed (a live lock past expires_at holds nothing).
CREATE TABLE seat_locks (
    id VARCHAR(64) NOT NULL,
    show_id VARCHAR(64) NOT NULL,
    application VARCHAR(64) NOT NULL,
    reference VARCHAR(200) NOT NULL,
    request_key VARCHAR(200) NOT NULL,
    seats VARCHAR(1000) NOT NULL,
    amount INTEGER NOT NULL,
    currency CHAR(3) NOT NULL,
    expires_at DATETIME NOT NULL,
    state VARCHAR(16) NOT NULL,
    ticket_id VARCHAR(64),
    created_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT ck_seat_locks_state CHECK (state IN ('live', 'released', 'committed')),
    CONSTRAINT uq_seat_locks_request UNIQUE (application, request_key),
    FOREIGN KEY(show_id) REFERENCES shows (id)
);

-- show_prices: One price per seat category of the show's hall, in minor units of the show's currency.
CREATE TABLE show_prices (
    show_id VARCHAR(64) NOT NULL,
    category VARCHAR(32) NOT NULL,
    amount INTEGER NOT NULL,
    PRIMARY KEY (show_id, category),
    CONSTRAINT ck_show_prices_amount CHECK (amount >= 0),
    FOREIGN KEY(show_id) REFERENCES shows (id)
);

-- tickets: Sales; id is the theatre's ticket id.
CREATE TABLE tickets (
    id VARCHAR(64) NOT NULL,
    show_id VARCHAR(64) NOT NULL,
    application VARCHAR(64) NOT NULL,
    reference VARCHAR(200) NOT NULL,
    seats VARCHAR(1000) NOT NULL,
    amount INTEGER NOT NULL,
    currency CHAR(3) NOT NULL,
    cancelled BOOLEAN DEFAULT 0 NOT NULL,
    created_at DATETIME NOT NULL,
    PRIMARY KEY (id),
    CONSTRAINT uq_tickets_reference UNIQUE (application, reference),
    FOREIGN KEY(show_id) REFERENCES shows (id)
);
CREATE INDEX ix_tickets_show ON tickets (show_id);

-- seat_claims: The one row that takes a seat of a show: a lock's (lock_id, expires_at) or a ticket's (ticket_id).
CREATE TABLE seat_claims (
    show_id VARCHAR(64) NOT NULL,
    seat VARCHAR(16) NOT NULL,
    lock_id VARCHAR(64),
    ticket_id VARCHAR(64),
    expires_at DATETIME,
    PRIMARY KEY (show_id, seat),
    CONSTRAINT ck_seat_claims_holder CHECK ((lock_id IS NOT NULL AND ticket_id IS NULL AND expires_at IS NOT NULL) OR (lock_id IS NULL AND ticket_id IS NOT NULL AND expires_at IS NULL)),
    FOREIGN KEY(show_id) REFERENCES shows (id),
    FOREIGN KEY(lock_id) REFERENCES seat_locks (id),
    FOREIGN KEY(ticket_id) REFERENCES tickets (id)
);
CREATE INDEX ix_seat_claims_lock ON seat_claims (lock_id);
CREATE INDEX ix_seat_claims_ticket ON seat_claims (ticket_id);

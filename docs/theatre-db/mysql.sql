-- Theatre DB v1 (docs/theatre-db.md) for MariaDB and MySQL (InnoDB). All times are UTC, without a zone.
CREATE TABLE cinemas (
    id VARCHAR(64) PRIMARY KEY,
    name VARCHAR(200) NOT NULL,
    city VARCHAR(100) NOT NULL,
    latitude DOUBLE NOT NULL,
    longitude DOUBLE NOT NULL,
    timezone VARCHAR(64) NOT NULL,
    address VARCHAR(300) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE halls (
    id VARCHAR(64) PRIMARY KEY,
    cinema_id VARCHAR(64) NOT NULL REFERENCES cinemas (id),
    name VARCHAR(100) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE seats (
    hall_id VARCHAR(64) NOT NULL REFERENCES halls (id),
    row_label VARCHAR(8) NOT NULL,
    number INTEGER NOT NULL,
    row_index INTEGER NOT NULL,
    col INTEGER NOT NULL,
    category VARCHAR(32) NOT NULL,
    PRIMARY KEY (hall_id, row_label, number)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE movies (
    id VARCHAR(64) PRIMARY KEY,
    title VARCHAR(200) NOT NULL,
    runtime_minutes INTEGER NOT NULL,
    age_rating VARCHAR(8) NOT NULL,
    language VARCHAR(16) NOT NULL,
    synopsis TEXT NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE shows (
    id VARCHAR(64) PRIMARY KEY,
    cinema_id VARCHAR(64) NOT NULL REFERENCES cinemas (id),
    hall_id VARCHAR(64) NOT NULL REFERENCES halls (id),
    movie_id VARCHAR(64) NOT NULL REFERENCES movies (id),
    starts_at TIMESTAMP(6) NOT NULL,
    currency CHAR(3) NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_shows_starts_at ON shows (starts_at);
CREATE TABLE show_prices (
    show_id VARCHAR(64) NOT NULL REFERENCES shows (id),
    category VARCHAR(32) NOT NULL,
    amount INTEGER NOT NULL CHECK (amount >= 0),
    PRIMARY KEY (show_id, category)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- state: live, released, committed (a live lock past expires_at holds nothing).
CREATE TABLE seat_locks (
    id VARCHAR(64) PRIMARY KEY,
    show_id VARCHAR(64) NOT NULL REFERENCES shows (id),
    application VARCHAR(64) NOT NULL,
    reference VARCHAR(200) NOT NULL,
    request_key VARCHAR(200) NOT NULL,
    seats VARCHAR(1000) NOT NULL,
    amount INTEGER NOT NULL,
    currency CHAR(3) NOT NULL,
    expires_at TIMESTAMP(6) NOT NULL,
    state VARCHAR(16) NOT NULL CHECK (state IN ('live', 'released', 'committed')),
    ticket_id VARCHAR(64),
    created_at TIMESTAMP(6) NOT NULL,
    UNIQUE (application, request_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE TABLE tickets (
    id VARCHAR(64) PRIMARY KEY,
    show_id VARCHAR(64) NOT NULL REFERENCES shows (id),
    application VARCHAR(64) NOT NULL,
    reference VARCHAR(200) NOT NULL,
    seats VARCHAR(1000) NOT NULL,
    amount INTEGER NOT NULL,
    currency CHAR(3) NOT NULL,
    cancelled BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP(6) NOT NULL,
    UNIQUE (application, reference)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
-- The one row that takes a seat of a show: a lock's (lock_id, expires_at) or a ticket's (ticket_id).
CREATE TABLE seat_claims (
    show_id VARCHAR(64) NOT NULL REFERENCES shows (id),
    seat VARCHAR(16) NOT NULL,
    lock_id VARCHAR(64) REFERENCES seat_locks (id),
    ticket_id VARCHAR(64) REFERENCES tickets (id),
    expires_at TIMESTAMP(6),
    PRIMARY KEY (show_id, seat),
    CHECK ((lock_id IS NOT NULL AND ticket_id IS NULL AND expires_at IS NOT NULL)
        OR (lock_id IS NULL AND ticket_id IS NOT NULL AND expires_at IS NULL))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
CREATE INDEX ix_seat_claims_lock ON seat_claims (lock_id);
CREATE INDEX ix_seat_claims_ticket ON seat_claims (ticket_id);

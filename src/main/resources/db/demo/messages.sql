-- Demo schema of the embedded default, database "messages": the new side of seed 001.
CREATE SEQUENCE IF NOT EXISTS messages_id_seq START WITH 10000000000;
CREATE TABLE IF NOT EXISTS messages (
    id                      bigint       PRIMARY KEY DEFAULT nextval('messages_id_seq'),
    sender_id               integer      NOT NULL,
    recipient_id            integer      NOT NULL,
    content                 text         NOT NULL,
    type                    varchar(50)  NOT NULL DEFAULT 'text',
    is_read                 boolean      NOT NULL DEFAULT false,
    is_deleted              boolean      NOT NULL DEFAULT false,
    is_deleted_by_sender    boolean      NOT NULL DEFAULT false,
    is_deleted_by_recipient boolean      NOT NULL DEFAULT false,
    reply_to_id             bigint       REFERENCES messages (id) ON DELETE SET NULL,
    file_url                varchar(500),
    file_name               varchar(255),
    file_size               integer,
    file_type               varchar(100),
    created_at              timestamp    NOT NULL DEFAULT now(),
    updated_at              timestamp    NOT NULL DEFAULT now(),
    read_at                 timestamp,
    deleted_at              timestamp
);
CREATE INDEX IF NOT EXISTS idx_messages_sender_recipient ON messages (sender_id, recipient_id);
CREATE INDEX IF NOT EXISTS idx_messages_recipient_unread ON messages (recipient_id, is_read, is_deleted_by_recipient);
CREATE INDEX IF NOT EXISTS idx_messages_conversation_pair ON messages (sender_id, recipient_id, created_at);

package io.turnout.store;

import io.turnout.domain.Record;

/**
 * What a write did: the record's state afterwards (null when deleted or absent), whether a record
 * was there to change, and the outbox entry recorded with it, if one was asked for.
 */
public record Written(Record state, boolean changed, Long outboxId) {}

package io.turnout.store;

/**
 * What else a write must do in the same statement as itself: record its key in the outbox
 * ({@link OutboxNote}), or write the same record to the other store of the same database
 * ({@link MirrorNote}). Either way both happen or neither does.
 */
public sealed interface Companion permits OutboxNote, MirrorNote {}

package io.turnout.store;

import java.util.Set;

/**
 * Asks a store to write the resulting record into {@code target}, in the same database, in the same
 * statement: the {@code copied} fields from the written record, and the values only the target holds
 * from the client's write.
 */
public record MirrorNote(String domain, Store target, Set<String> copied, Owned owned) implements Companion {}

package io.turnout.store;

/** Asks a store to write the resulting record into {@code target}, in the same database, in the same statement. */
public record MirrorNote(String domain, Store target) implements Companion {}

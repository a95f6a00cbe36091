package io.turnout.store;

/**
 * The next key range of a store and its summary: {@code upTo} is the last of the next keys in key
 * order, or null when there were none (the range is then open to the end), and {@code summary} is
 * the count and checksum of the records in the range.
 */
public record NextRange(Object upTo, RangeSummary summary) {}

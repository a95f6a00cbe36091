package io.turnout.store;

import java.math.BigDecimal;

/** Row count and checksum of one key range of a store, in API shape. */
public record RangeSummary(long count, BigDecimal checksum) {}

package io.turnout.store;

/**
 * The stage a client write is routed by, checked inside the write's own statement against the
 * domain's fence in the database it writes ({@code turnout_enter}, see io.turnout.fleet.StoreFence):
 * a write routed by a stage the fleet has left is refused by the database and changes nothing.
 */
public record Guard(String domain, String stage) {}

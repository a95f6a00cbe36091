package io.turnout.db;

import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.SqlClient;

/**
 * A named PostgreSQL database and its connections: {@code pool} for client writes and everything
 * that takes a transaction, {@code reads} for client reads (a few connections that pipeline their
 * statements, so a burst of reads costs PostgreSQL a few busy backends rather than one per
 * request), {@code compare} for shadow comparisons (one pipelined connection of their own, so a
 * comparison that waits on a hung store never holds up a served read), and {@code work} for
 * background work (mirror, outbox relay, backfill, repair, verification, stage changes). Each has
 * its own wait bounds, and none can starve another of connections.
 */
public record Database(String name, Pool pool, SqlClient reads, SqlClient compare, Pool work) {
    /** A database whose reads share the write pool (tests that build one by hand). */
    public Database(String name, Pool pool, Pool work) {
        this(name, pool, pool, pool, work);
    }
}

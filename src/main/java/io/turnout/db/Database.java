package io.turnout.db;

import io.vertx.sqlclient.Pool;

/**
 * A named PostgreSQL database and its two pools: {@code pool} for client requests, {@code work} for
 * background work (mirror, outbox relay, backfill, repair, verification, stage changes). Each has
 * its own statement and lock timeouts, and neither can starve the other of connections.
 */
public record Database(String name, Pool pool, Pool work) {}

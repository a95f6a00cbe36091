package io.turnout.db;

import io.vertx.sqlclient.Pool;

/** A named PostgreSQL database and its connection pool. */
public record Database(String name, Pool pool) {}

package io.turnout.domain;

import io.turnout.db.Database;

/** A query counting a domain's problem rows before a backfill; a blocking one holds the backfill while it finds any. */
public record PreflightCheck(String name, Database database, String sql, boolean blocking) {}

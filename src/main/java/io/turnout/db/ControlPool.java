package io.turnout.db;

import io.quarkus.reactive.pg.client.PgPoolCreator;
import io.vertx.sqlclient.Pool;
import jakarta.inject.Singleton;

/**
 * Builds the pool Hibernate Reactive uses for the control records: in the control database, with
 * its url, credentials and bounds (or the embedded server's port), as the data path connects.
 */
@Singleton
public class ControlPool implements PgPoolCreator {
    private final Databases databases;

    public ControlPool(Databases databases) {
        this.databases = databases;
    }

    @Override
    public Pool create(Input input) {
        return databases.controlRecordsPool(input.vertx(), input.poolOptions().getMaxSize());
    }
}

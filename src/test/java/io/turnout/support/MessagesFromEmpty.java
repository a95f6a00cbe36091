package io.turnout.support;

import io.turnout.db.Databases;
import io.turnout.routing.Stage;
import jakarta.inject.Inject;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Tests that take domain messages from dual_write with an empty new table and outbox
 * ({@link Sql#messagesAtDualWriteFromEmpty()}), and leave it at legacy with no outbox entry of it.
 */
public abstract class MessagesFromEmpty {
    @Inject
    protected Databases databases;

    protected Sql sql;

    @BeforeEach
    protected void messagesAtDualWriteFromEmpty() {
        sql = new Sql(databases);
        sql.messagesAtDualWriteFromEmpty();
    }

    @AfterEach
    protected void messagesBackAtLegacy() {
        for (String db : List.of("main", "messages")) sql.exec(db, "DELETE FROM turnout_outbox WHERE domain = 'messages'");
        Flags.stage("messages", Stage.LEGACY);
    }
}

package io.turnout.db;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/**
 * A database's read connections: two per event loop unless configured, so every loop has
 * connections of its own; a configured count is kept, and one below 1 stops the start naming
 * the setting.
 */
class ReadConnectionsSettingTest {
    @Test
    void unsetIsTwoPerEventLoop() {
        assertThat(Databases.readConnections("main", OptionalInt.empty(), 1)).isEqualTo(2);
        assertThat(Databases.readConnections("main", OptionalInt.empty(), 2)).isEqualTo(4);
        assertThat(Databases.readConnections("main", OptionalInt.empty(), 8)).isEqualTo(16);
    }

    @Test
    void aConfiguredCountIsKept() {
        assertThat(Databases.readConnections("main", OptionalInt.of(1), 8)).isEqualTo(1);
        assertThat(Databases.readConnections("main", OptionalInt.of(3), 2)).isEqualTo(3);
    }

    @Test
    void fewerThanOneIsRefusedNamingTheSetting() {
        for (int bad : new int[] {0, -2}) {
            assertThatThrownBy(() -> Databases.readConnections("messages", OptionalInt.of(bad), 2))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("Database 'messages'")
                    .hasMessageContaining("read-connections must be at least 1")
                    .hasMessageContaining("TURNOUT_DATABASES_MESSAGES_READ_CONNECTIONS");
        }
    }
}

package io.turnout.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Flyway reads migrations by the names {@link Schema} lists, not by scanning: a migration file
 * added without its name in the list would never run. Every file is listed, in version order.
 */
class SchemaListTest {
    @Test
    void everyBundledMigrationIsListedInVersionOrder() throws IOException {
        for (Schema.Set set : List.of(Schema.STORE, Schema.CONTROL)) {
            List<String> files;
            try (Stream<Path> s = Files.list(Path.of("src/main/resources", set.location()))) {
                files = s.map(p -> p.getFileName().toString()).sorted((a, b) -> Integer.compare(version(a), version(b))).toList();
            }
            assertThat(set.migrations()).as(set.location()).isEqualTo(files);
        }
    }

    private static int version(String name) {
        return Integer.parseInt(name.substring(1, name.indexOf("__")));
    }
}

package io.turnout.flags;

import static org.assertj.core.api.Assertions.assertThat;

import io.getunleash.event.ClientFeaturesResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A flag file that is not valid JSON is ignored: the client keeps the flags it loaded before. */
class FlagFileParseTest {

    @TempDir
    Path dir;

    @Test
    void anEditThatBreaksTheJsonKeepsTheFlagsLoadedBefore() throws Exception {
        Path file = dir.resolve("flags.json");
        Files.writeString(file, "{\"version\":2,\"features\":[]}");
        FlagFile flags = new FlagFile(file);
        ClientFeaturesResponse first = flags.fetchFeatures();
        assertThat(first.getStatus()).isEqualTo(ClientFeaturesResponse.Status.CHANGED);

        Files.writeString(file, "{\"version\":2,\"features\":[,]}");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));
        assertThat(flags.fetchFeatures().getStatus()).isEqualTo(ClientFeaturesResponse.Status.NOT_CHANGED);

        Files.writeString(file, "{\"version\":2,\"features\":[]}");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(10)));
        ClientFeaturesResponse fixed = flags.fetchFeatures();
        assertThat(fixed.getStatus()).isEqualTo(ClientFeaturesResponse.Status.CHANGED);
        assertThat(fixed.getClientFeatures()).contains("{\"version\":2,\"features\":[]}");
    }
}
